// SPDX-License-Identifier: BSD-2-Clause
//! firmware(9) with kldtest_firmware (a driver) and kldtest_fwimage (a
//! firmware module): images by name, references, loading the module
//! named after a missing image and unloading it again, and FreeBSD's
//! messages when an image cannot be had.

use harness::testing::{build_dir, module_path};
use harness::{Cred, Errno, FirmwareImage, Kernel, SysctlValue, ViolationKind};

/// A kernel with the driver loaded (after the image it takes at load),
/// whose module path holds the built modules.
fn loaded() -> Kernel {
    let k = Kernel::new();
    k.set_module_path(vec![build_dir()]);
    k.firmware_register("kldtest_fwboot", b"boot".to_vec(), 1)
        .unwrap();
    k.kldload(module_path("kldtest_firmware")).unwrap();
    k
}

fn image(k: &Kernel) -> String {
    match k.sysctl_get("debug.kldtest_firmware.image").unwrap() {
        SysctlValue::String(s) => s,
        other => panic!("{other:?}"),
    }
}

fn refs(k: &Kernel) -> Vec<(String, i32, bool)> {
    k.firmware_images()
        .into_iter()
        .map(
            |FirmwareImage {
                 name,
                 refs,
                 autoloaded,
                 ..
             }| (name, refs, autoloaded),
        )
        .collect()
}

fn loaded_files(k: &Kernel) -> Vec<String> {
    k.kldstat().into_iter().map(|f| f.name).collect()
}

#[test]
fn a_missing_image_loads_the_module_named_after_it_and_unloads_it() {
    let k = loaded();
    k.sysctl_set("debug.kldtest_firmware.get", "kldtest_fwimage")
        .unwrap();
    assert_eq!(image(&k), "kldtest_fwimage 7 16 4b4c4454");
    assert!(loaded_files(&k).contains(&"kldtest_fwimage.ko".to_owned()));
    assert_eq!(
        refs(&k),
        [
            ("kldtest_fwboot".to_owned(), 1, false),
            ("kldtest_fwimage".to_owned(), 1, true),
            ("kldtest_fwimage_sub".to_owned(), 0, false),
        ]
    );
    // Each image: its struct priv_fw and its name, type "firmware".
    assert_eq!(k.malloc_stats("firmware").unwrap().live_allocs, 6);
    // The last reference, with FIRMWARE_UNLOAD: the firmware taskqueue
    // unloads the module, whose MOD_UNLOAD unregisters its images.
    k.sysctl_set("debug.kldtest_firmware.put", "1").unwrap();
    assert!(!loaded_files(&k).contains(&"kldtest_fwimage.ko".to_owned()));
    assert_eq!(refs(&k), [("kldtest_fwboot".to_owned(), 1, false)]);
    assert_eq!(k.malloc_stats("firmware").unwrap().live_allocs, 2);
    k.check().unwrap();
}

#[test]
fn a_child_image_holds_its_parent() {
    let k = loaded();
    k.kldload(module_path("kldtest_fwimage")).unwrap();
    k.sysctl_set("debug.kldtest_firmware.get", "KLDTEST_FWIMAGE_SUB")
        .unwrap();
    assert_eq!(image(&k), "kldtest_fwimage_sub 3 4 deadbeef");
    let r = refs(&k);
    assert_eq!(r[1], ("kldtest_fwimage".to_owned(), 1, false));
    assert_eq!(r[2], ("kldtest_fwimage_sub".to_owned(), 1, false));
    // In use: the module refuses to unload (firmware_unregister: EBUSY).
    assert_eq!(
        k.kldunload("kldtest_fwimage", false),
        Err(Errno::EBUSY.into())
    );
    k.sysctl_set("debug.kldtest_firmware.put", "0").unwrap();
    assert_eq!(refs(&k)[1].1, 0);
    k.kldunload("kldtest_fwimage", false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_missing_image_fails_with_freebsds_messages() {
    let k = loaded();
    k.clear_dmesg();
    k.sysctl_set("debug.kldtest_firmware.get", "nosuchfw")
        .unwrap();
    assert_eq!(image(&k), "(null)");
    // No module nosuchfw.ko (ENOENT), then no /boot/firmware/nosuchfw;
    // FreeBSD 14.0 to 15.0 say the latter only with FIRMWARE_GET_NOWARN.
    assert_eq!(
        k.dmesg(),
        "nosuchfw: could not load firmware image, error 2\n"
    );
    k.clear_dmesg();
    k.sysctl_set("debug.kldtest_firmware.get_nowarn", "nosuchfw")
        .unwrap();
    assert_eq!(image(&k), "(null)");
    assert_eq!(
        k.dmesg(),
        "nosuchfw: could not load binary firmware /boot/firmware/nosuchfw either\n"
    );
    k.check().unwrap();
}

#[test]
fn only_privileged_callers_may_load_firmware() {
    let k = loaded();
    k.firmware_register("userfw", b"user".to_vec(), 2).unwrap();
    let user = k.with_cred(Cred::user(1001, 1001));
    user.sysctl_set("debug.kldtest_firmware.get", "kldtest_fwimage")
        .unwrap();
    assert_eq!(image(&k), "(null)");
    assert!(
        k.dmesg().contains(
            "firmware_get_flags: insufficient privileges to load firmware image kldtest_fwimage\n"
        ),
        "{}",
        k.dmesg()
    );
    assert!(!loaded_files(&k).contains(&"kldtest_fwimage.ko".to_owned()));
    // An image already registered needs no privilege.
    user.sysctl_set("debug.kldtest_firmware.get", "userfw")
        .unwrap();
    assert_eq!(image(&k), "userfw 2 4 75736572");
    k.check().unwrap();
}

#[test]
fn registered_names_are_unique_ignoring_case() {
    let k = Kernel::new();
    k.firmware_register("KLDTEST_FWIMAGE", vec![0; 8], 1)
        .unwrap();
    assert_eq!(
        k.firmware_register("kldtest_fwimage", vec![0; 8], 1),
        Err(Errno::EEXIST.into())
    );
    assert_eq!(
        k.kldload(module_path("kldtest_fwimage")),
        Err(Errno::ENOEXEC.into())
    );
    assert!(
        k.dmesg()
            .contains("firmware_register: image kldtest_fwimage already registered!\n"),
        "{}",
        k.dmesg()
    );
    k.firmware_unregister("kldtest_fwimage").unwrap();
    assert!(k.firmware_images().is_empty());
    k.check().unwrap();
}

#[test]
fn an_image_in_use_cannot_be_unregistered() {
    let k = loaded();
    assert_eq!(
        k.firmware_unregister("kldtest_fwboot"),
        Err(Errno::EBUSY.into())
    );
    k.kldunload("kldtest_firmware", false).unwrap();
    k.firmware_unregister("kldtest_fwboot").unwrap();
    assert_eq!(k.malloc_stats("firmware").unwrap().live_allocs, 0);
    k.check().unwrap();
}

#[test]
fn loading_a_missing_image_from_mod_load_would_deadlock() {
    let k = Kernel::new();
    k.set_module_path(vec![build_dir()]);
    // kldtest_fwboot is not registered: the driver's MOD_LOAD asks the
    // linker, whose lock the loading thread holds.
    assert_eq!(
        k.kldload(module_path("kldtest_firmware")),
        Err(Errno::ENOEXEC.into())
    );
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Module);
    assert!(
        v[0].message
            .starts_with("firmware_get(\"kldtest_fwboot\"): ")
            && v[0].message.ends_with("this deadlocks on FreeBSD"),
        "{}",
        v[0].message
    );
    k.check().unwrap();
}
