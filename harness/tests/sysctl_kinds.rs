// SPDX-License-Identifier: BSD-2-Clause
//! kern's sysctl leaves beside counters and 64-bit tunables, on
//! `kselftest.ko`'s `hw.kselftest`: a read-only `int`, an `int` tunable, a
//! constant string, a string tunable, a custom handler; and loader
//! tunables (`CTLFLAG_TUN`), set from the kernel environment at load as
//! `sysctl_load_tunable_by_oid_locked` (`sys/kern/kern_sysctl.c`,
//! FreeBSD 15) sets them, with `getenv_array`'s parsing
//! (`sys/kern/kern_environment.c`).

use harness::sim::Shell;
use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, SysctlValue};

fn load(k: &Kernel) {
    k.kldload(module_path("kselftest")).unwrap();
}

fn get(k: &Kernel, name: &str) -> String {
    k.sysctl_get(name).unwrap().to_string()
}

#[test]
fn int_string_and_handler_leaves_read_and_write() {
    let k = Kernel::new();
    load(&k);
    assert_eq!(
        k.sysctl_get("hw.kselftest.answer").unwrap(),
        SysctlValue::Int(42)
    );
    assert_eq!(
        k.sysctl_set("hw.kselftest.answer", "1").unwrap_err(),
        Errno::EPERM
    );
    // int tunable: validated.
    assert_eq!(get(&k, "hw.kselftest.level"), "0");
    k.sysctl_set("hw.kselftest.level", "-5").unwrap();
    assert_eq!(get(&k, "hw.kselftest.level"), "-5");
    assert_eq!(
        k.sysctl_set("hw.kselftest.level", "6").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(get(&k, "hw.kselftest.level"), "-5");
    // The handler shows twice the level, and sets it through its own rule.
    assert_eq!(get(&k, "hw.kselftest.level2"), "-10");
    k.sysctl_set("hw.kselftest.level2", "8").unwrap();
    assert_eq!(get(&k, "hw.kselftest.level"), "4");
    assert_eq!(
        k.sysctl_set("hw.kselftest.level2", "3").unwrap_err(),
        Errno::EINVAL
    );
    // Only root writes.
    assert_eq!(
        k.with_cred(Cred::user(1001, 1001))
            .sysctl_set("hw.kselftest.level", "1")
            .unwrap_err(),
        Errno::EPERM
    );
    // Strings: oldlen counts the NUL (sysctl_handle_string).
    assert_eq!(get(&k, "hw.kselftest.version"), "1.0");
    assert_eq!(k.sysctl_raw("hw.kselftest.version", None, None).unwrap(), 4);
    assert_eq!(
        k.sysctl_set("hw.kselftest.version", "2.0").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(get(&k, "hw.kselftest.mode"), "fast");
    assert_eq!(k.sysctl_raw("hw.kselftest.mode", None, None).unwrap(), 5);
    k.sysctl_set("hw.kselftest.mode", "safe").unwrap();
    assert_eq!(get(&k, "hw.kselftest.mode"), "safe");
    // Refused by the validation, then too long for the 8-byte buffer
    // (7 bytes and the NUL fit; 8 do not): EINVAL, value unchanged.
    assert_eq!(
        k.sysctl_set("hw.kselftest.mode", "slow").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.sysctl_set("hw.kselftest.mode", "fastfast").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(get(&k, "hw.kselftest.mode"), "safe");
    // A too-small old buffer: ENOMEM, with the size needed reported.
    let mut small = [0u8; 2];
    assert_eq!(
        k.sysctl_raw("hw.kselftest.mode", Some(&mut small), None)
            .unwrap_err(),
        Errno::ENOMEM
    );
    k.check().unwrap();
}

#[test]
fn loader_tunables_come_from_the_kernel_environment_at_load() {
    let k = Kernel::new();
    k.kenv_set("hw.kselftest.knob", "0x20");
    k.kenv_set("hw.kselftest.level", "-3");
    k.kenv_set("hw.kselftest.mode", "safe");
    load(&k);
    assert_eq!(get(&k, "hw.kselftest.knob"), "32");
    assert_eq!(get(&k, "hw.kselftest.level"), "-3");
    assert_eq!(get(&k, "hw.kselftest.mode"), "safe");
    assert!(!k.dmesg().contains("Setting sysctl"), "{}", k.dmesg());
    k.check().unwrap();
}

#[test]
fn malformed_or_refused_environment_values_are_ignored() {
    for (name, value, default, refused) in [
        // getenv_array refuses: garbage after the number, a negative
        // number for an unsigned leaf, out of int range, no number.
        ("hw.kselftest.knob", "12abc", "50", false),
        ("hw.kselftest.knob", "-1", "50", false),
        ("hw.kselftest.level", "2147483648", "0", false),
        ("hw.kselftest.level", "", "0", false),
        // Parsed, then refused by the leaf's validation: reported.
        ("hw.kselftest.knob", "1k", "50", true),
        ("hw.kselftest.level", "9", "0", true),
        ("hw.kselftest.mode", "slow", "fast", true),
        // Too long for the string's buffer (sysctl_handle_string: EINVAL).
        ("hw.kselftest.mode", "verylongmode", "fast", true),
    ] {
        let k = Kernel::new();
        k.kenv_set(name, value);
        load(&k);
        assert_eq!(get(&k, name), default, "{name}={value}");
        assert_eq!(
            k.dmesg()
                .contains(&format!("Setting sysctl {name} failed: 22")),
            refused,
            "{name}={value}: {}",
            k.dmesg()
        );
        k.check().unwrap();
    }
}

#[test]
fn kldsim_sets_the_environment_and_shows_every_kind() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut sh = Shell::new(&mut out, &mut err);
    let ko = module_path("kselftest");
    sh.run_script(&format!(
        "kenv hw.kselftest.level=2\nkenv hw.kselftest.level\nkldload {}\n\
         sysctl hw.kselftest.answer hw.kselftest.level hw.kselftest.level2 \
         hw.kselftest.version hw.kselftest.mode\nkenv nosuch\n",
        ko.display()
    ));
    let status = sh.status;
    drop(sh);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(status, 255, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        out,
        "hw.kselftest.level=\"2\"\n2\n\
         hw.kselftest.answer: 42\nhw.kselftest.level: 2\nhw.kselftest.level2: 4\n\
         hw.kselftest.version: 1.0\nhw.kselftest.mode: fast\n"
    );
    assert_eq!(err, "kenv: unable to get nosuch\n");
}
