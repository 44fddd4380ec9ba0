// SPDX-License-Identifier: BSD-2-Clause
//! `devctl(8)` on `rustedu.ko`'s device: detach and attach again, disable
//! and enable, suspend and resume (the driver's `DEVICE_SUSPEND` and
//! `DEVICE_RESUME` through kern's trampolines, with the PCI bus saving
//! and restoring the configuration around them), the errors of
//! `devctl2_ioctl`, the shutdown of the devices, and `kldsim`'s `devctl`,
//! `devinfo -v` and `pciconf -lv`.

use harness::testing::module_path;
use harness::{Devctl, Errno, Kernel, SysctlValue};
use std::time::{Duration, Instant};

/// `PCIR_COMMAND`.
const COMMAND: u16 = 0x04;

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

/// 7! on the device, and its completion interrupt.
fn works(k: &Kernel) {
    let before = uint(k, "dev.rustedu.0.completions");
    k.sysctl_set("dev.rustedu.0.factorial", "7").unwrap();
    assert_eq!(uint(k, "dev.rustedu.0.result"), 5040);
    let end = Instant::now() + Duration::from_secs(10);
    while uint(k, "dev.rustedu.0.completions") != before + 1 {
        assert!(Instant::now() < end, "no completion interrupt");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn err(r: harness::SysResult<()>) -> Errno {
    r.unwrap_err().errno().unwrap()
}

#[test]
fn detach_and_attach_again_by_pci_selector() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let sel = format!("pci0:0:{slot}:0");
    let id = k.kldload(module_path("rustedu")).unwrap();
    works(&k);
    k.devctl(Devctl::Detach, "rustedu0").unwrap();
    let d = &k.pci_devices()[0];
    assert_eq!((d.name.as_deref(), d.attached), (None, false));
    assert_eq!(d.resources, 0, "BAR 0 and the interrupt released");
    assert_eq!(k.pci_msi_allocated(slot), Some(0), "the message released");
    assert!(
        k.sysctl_get("dev.rustedu.0.result").is_err(),
        "sysctls gone"
    );
    k.check().unwrap();
    // The name went with the detach; the selector still finds it.
    assert_eq!(err(k.devctl(Devctl::Detach, "rustedu0")), Errno::ENOENT);
    assert_eq!(err(k.devctl(Devctl::Detach, &sel)), Errno::ENXIO);
    k.devctl(Devctl::Attach, &sel).unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    assert_eq!(uint(&k, "dev.rustedu.0.result"), 0, "sysctls back, fresh");
    works(&k);
    assert_eq!(err(k.devctl(Devctl::Attach, "rustedu0")), Errno::EBUSY);
    for _ in 0..3 {
        k.devctl(Devctl::Detach, "rustedu0").unwrap();
        k.devctl(Devctl::Attach, &sel).unwrap();
    }
    works(&k);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn disable_keeps_the_name_and_enable_attaches_again() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    k.devctl(Devctl::Disable, "rustedu0").unwrap();
    let d = &k.pci_devices()[0];
    assert_eq!(d.name.as_deref(), Some("rustedu0"), "DF_FIXEDCLASS");
    assert!(!d.attached && !d.enabled);
    assert!(k.sysctl_get("dev.rustedu.0.result").is_err());
    k.check().unwrap();
    assert_eq!(err(k.devctl(Devctl::Disable, "rustedu0")), Errno::ENXIO);
    assert_eq!(err(k.devctl(Devctl::Attach, "rustedu0")), Errno::ENXIO);
    k.devctl(Devctl::Enable, "rustedu0").unwrap();
    assert!(k.pci_devices()[0].attached);
    works(&k);
    assert_eq!(err(k.devctl(Devctl::Enable, "rustedu0")), Errno::EBUSY);
    // A disabled device is not probed when the driver comes back.
    k.devctl(Devctl::Disable, "rustedu0").unwrap();
    k.kldunload(id, false).unwrap();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(!k.pci_devices()[0].attached, "disabled: not probed");
    k.devctl(Devctl::Enable, &format!("pci0:0:{slot}:0"))
        .unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    works(&k);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn suspend_and_resume_reach_the_driver_and_the_configuration_is_restored() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    let cmd = k.pci_config_read(slot, COMMAND, 2).unwrap();
    k.devctl(Devctl::Suspend, "rustedu0").unwrap();
    assert!(k.pci_devices()[0].suspended);
    assert_eq!(err(k.devctl(Devctl::Suspend, "rustedu0")), Errno::EBUSY);
    // The device lost its configuration while suspended (as in D3):
    // pci_resume_child restores it before the driver's resume, whose
    // liveness check then reaches the registers.
    assert!(k.pci_config_write(slot, COMMAND, 2, 0));
    assert!(k.pci_config_write(slot, 0x42, 2, 0));
    k.devctl(Devctl::Resume, "rustedu0").unwrap();
    assert!(!k.pci_devices()[0].suspended);
    assert_eq!(k.pci_config_read(slot, COMMAND, 2), Some(cmd));
    assert_eq!(err(k.devctl(Devctl::Resume, "rustedu0")), Errno::EINVAL);
    works(&k);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_driver_vetoes_a_suspend_while_the_device_computes() {
    let k = std::sync::Arc::new(Kernel::new());
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(k.pci_edu_hang(slot, true));
    // The computation never finishes: the write times out (a second of
    // virtual time), the device still computes.
    let w = {
        let k = std::sync::Arc::clone(&k);
        std::thread::spawn(move || k.sysctl_set("dev.rustedu.0.factorial", "5"))
    };
    assert!(
        k.wait_for_sleepers("edufac", 1, std::time::Duration::from_secs(10)),
        "{:?}",
        k.sleepers()
    );
    k.advance_clock(std::time::Duration::from_secs(2));
    assert_eq!(err(w.join().unwrap()), Errno::ETIMEDOUT);
    assert_eq!(err(k.devctl(Devctl::Suspend, "rustedu0")), Errno::EBUSY);
    assert!(!k.pci_devices()[0].suspended, "the veto stands");
    assert!(k.pci_edu_hang(slot, false));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn devctl_errors_are_devctl2_ioctls() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    assert_eq!(err(k.devctl(Devctl::Detach, "rustedu0")), Errno::ENOENT);
    assert_eq!(err(k.devctl(Devctl::Detach, "pci0:0:31:0")), Errno::ENOENT);
    let sel = format!("pci0:0:{slot}:0");
    // No driver loaded: nothing attaches, nothing to detach or resume.
    assert_eq!(err(k.devctl(Devctl::Attach, &sel)), Errno::ENXIO);
    assert_eq!(err(k.devctl(Devctl::Detach, &sel)), Errno::ENXIO);
    assert_eq!(err(k.devctl(Devctl::Resume, &sel)), Errno::EINVAL);
    k.check().unwrap();
}

#[test]
fn shutdown_calls_every_attached_driver() {
    let k = Kernel::new();
    k.pci_add_edu();
    k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    // rustedu's shutdown is kern's default (nothing to stop): no error.
    assert_eq!(k.shutdown_devices(), Vec::new());
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn kldsim_devctl_pciconf_and_devinfo() {
    let dir = harness::testing::build_dir();
    assert!(module_path("rustedu").is_file());
    let db = std::env::temp_dir().join(format!("rustedu-pci-vendors-{}", std::process::id()));
    std::fs::write(
        &db,
        "# test database\n1234  Technical Corp.\n\t1111  Emulated VGA\n\t11e8  QEMU edu\n\
         \t\t1af4 1100  a subsystem line\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kldsim"))
        .current_dir(&dir)
        .env("PCICONF_VENDOR_DATABASE", &db)
        .args([
            "--pci",
            "edu",
            "-c",
            "pciconf -lv; kldload ./rustedu.ko; pciconf -l; devctl detach rustedu0; \
             devctl detach rustedu0; devinfo -v; devctl attach pci0:0:4:0; devinfo; \
             devctl disable rustedu0; devinfo -v; devctl enable rustedu0; \
             devctl suspend rustedu0; devctl resume rustedu0; kldunload rustedu",
        ])
        .output()
        .unwrap();
    drop(std::fs::remove_file(&db));
    let out = String::from_utf8_lossy(&o.stdout);
    let errout = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the second detach failed: {errout}"
    );
    assert_eq!(
        errout,
        "devctl: Failed to detach rustedu0: No such file or directory\n"
    );
    let ids = "class=0xff0000 rev=0x10 hdr=0x00 vendor=0x1234 device=0x11e8 \
               subvendor=0x1af4 subdevice=0x1100";
    let pnp = "pnpinfo vendor=0x1234 device=0x11e8 subvendor=0x1af4 subdevice=0x1100 \
               class=0xff0000 at slot=4 function=0 dbsf=pci0:0:4:0";
    assert_eq!(
        out,
        format!(
            "none0@pci0:0:4:0:\t{ids}\n    vendor     = 'Technical Corp.'\n    device     = \
             'QEMU edu'\n\
             rustedu0@pci0:0:4:0:\t{ids}\n\
             nexus0\n  pci0\n    unknown {pnp}\n\
             nexus0\n  pci0\n    rustedu0\n\
             nexus0\n  pci0\n    rustedu0 {pnp}\n"
        )
    );
}
