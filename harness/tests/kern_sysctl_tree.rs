// SPDX-License-Identifier: BSD-2-Clause
//! `kern::sysctl::SysctlTree` (a `static` table of leaves over module
//! statics), `kern::cdev::File` (the per-open value, looked up on demand)
//! and `LockedBy::access_with_owner`, on the built `kselftest.ko`.
//!
//! kselftest has the tree `hw.kselftest`: `cases` (a counter of the cases
//! run) and `knob` (a tunable that accepts 1 to 100). rustecho's
//! `hw.rustecho` is the same kind of tree; its tests and the reliability
//! suite cover it too. `namesquat.ko` (`reliability/namesquat`) takes
//! names first, to show what happens when the node or a leaf exists.

use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, O_RDWR, SysctlValue};

const DEV: &str = "/dev/kselftest";
/// `_IOWR('K', 1, struct kselftest_case)`.
const KSELFTEST_RUN: u64 = 0xc010_4b01;
// The case numbers of `selftest/src/abi.rs`.
const KC_PING: u32 = 0;
const KC_LOCKED_BY: u32 = 17;
const KC_FILE_OPEN: u32 = 18;

/// Runs a case that must pass (`struct kselftest_case`); returns its value.
fn passes(k: &Kernel, fd: i32, case: u32) -> u64 {
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&case.to_ne_bytes());
    b[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
    k.ioctl(fd, KSELFTEST_RUN, &mut b)
        .unwrap_or_else(|e| panic!("case {case}: {e:?}\n{}", k.dmesg()));
    let result = i32::from_ne_bytes(b[4..8].try_into().unwrap());
    assert_eq!(result, 0, "case {case} failed\n{}", k.dmesg());
    u64::from_ne_bytes(b[8..16].try_into().unwrap())
}

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

fn children(k: &Kernel, name: &str) -> Vec<String> {
    let mut v = k.sysctl_children(name).unwrap();
    v.sort();
    v
}

/// After unload: no leak, no violation.
fn clean(k: &Kernel) {
    if let Some(stats) = k.malloc_stats("kselftest") {
        assert_eq!(stats.live_allocs, 0, "{stats:?}");
    }
    k.check().unwrap();
}

#[test]
fn the_table_becomes_a_node_with_its_leaves_in_order() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    assert_eq!(
        k.sysctl_get("hw.kselftest").unwrap(),
        SysctlValue::Node(
            [
                "cases",
                "knob",
                "answer",
                "level",
                "version",
                "mode",
                "level2",
                "last_closes"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(uint(&k, "hw.kselftest.cases"), 0);
    assert_eq!(uint(&k, "hw.kselftest.knob"), 50);
    k.kldunload(id, false).unwrap();
    assert_eq!(k.sysctl_get("hw.kselftest").unwrap_err(), Errno::ENOENT);
    clean(&k);
}

#[test]
fn the_counter_shows_the_static_and_is_read_only() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    for _ in 0..3 {
        passes(&k, fd, KC_PING);
    }
    assert_eq!(uint(&k, "hw.kselftest.cases"), 3);
    assert_eq!(
        k.sysctl_set("hw.kselftest.cases", "0").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(uint(&k, "hw.kselftest.cases"), 3);
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(uint(&user, "hw.kselftest.cases"), 3, "anyone may read");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    // The statics start afresh with the next load.
    let id = k.kldload(module_path("kselftest")).unwrap();
    assert_eq!(uint(&k, "hw.kselftest.cases"), 0);
    k.kldunload(id, false).unwrap();
    clean(&k);
}

#[test]
fn the_tunable_is_validated_and_root_only() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    k.sysctl_set("hw.kselftest.knob", "100").unwrap();
    assert_eq!(uint(&k, "hw.kselftest.knob"), 100);
    k.sysctl_set("hw.kselftest.knob", "1").unwrap();
    for bad in ["0", "101", "18446744073709551615"] {
        assert_eq!(
            k.sysctl_set("hw.kselftest.knob", bad).unwrap_err(),
            Errno::EINVAL,
            "{bad}"
        );
        assert_eq!(uint(&k, "hw.kselftest.knob"), 1, "unchanged after {bad}");
    }
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(
        user.sysctl_set("hw.kselftest.knob", "7").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(uint(&user, "hw.kselftest.knob"), 1);
    k.kldunload(id, false).unwrap();
    clean(&k);
}

#[test]
fn another_modules_node_is_shared_and_left_to_it() {
    let k = Kernel::new();
    let squat = k.kldload(module_path("namesquat")).unwrap();
    // namesquat adds the node hw.kselftest and a leaf of its own in it.
    k.sysctl_set("debug.namesquat_sysctl", "kselftest.other")
        .unwrap();
    let id = k.kldload(module_path("kselftest")).unwrap();
    assert_eq!(
        children(&k, "hw.kselftest"),
        [
            "answer",
            "cases",
            "knob",
            "last_closes",
            "level",
            "level2",
            "mode",
            "other",
            "version"
        ]
    );
    assert_eq!(uint(&k, "hw.kselftest.knob"), 50);
    k.kldunload(id, false).unwrap();
    // kselftest's leaves are gone, the shared node and namesquat's leaf
    // stay...
    assert_eq!(children(&k, "hw.kselftest"), ["other"]);
    // ...until namesquat goes.
    k.kldunload(squat, false).unwrap();
    assert_eq!(k.sysctl_get("hw.kselftest").unwrap_err(), Errno::ENOENT);
    clean(&k);
}

#[test]
fn a_taken_name_fails_the_load_and_leaves_nothing() {
    for (taken, what) in [
        ("kselftest", "the node's name is a leaf"),
        ("kselftest.knob", "a leaf's name is taken"),
    ] {
        let k = Kernel::new();
        let squat = k.kldload(module_path("namesquat")).unwrap();
        k.sysctl_set("debug.namesquat_sysctl", taken).unwrap();
        let hw = children(&k, "hw");
        k.clear_dmesg();
        assert_eq!(
            k.kldload(module_path("kselftest")).unwrap_err(),
            Errno::ENOEXEC,
            "{what}"
        );
        assert!(
            k.dmesg().contains("error 17"),
            "{what}: EEXIST expected in\n{}",
            k.dmesg()
        );
        assert_eq!(children(&k, "hw"), hw, "{what}");
        assert!(!k.devices().iter().any(|d| d.name == "kselftest"), "{what}");
        k.kldunload(squat, false).unwrap();
        assert_eq!(k.sysctl_get("hw.kselftest").unwrap_err(), Errno::ENOENT);
        clean(&k);
    }
}

#[test]
fn file_open_finds_the_callers_per_open_value() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDWR).unwrap();
    let (sa, sb) = (passes(&k, a, KC_FILE_OPEN), passes(&k, b, KC_FILE_OPEN));
    assert_eq!((sa, sb), (1, 2), "serials in the order of the opens");
    assert_eq!(passes(&k, a, KC_FILE_OPEN), sa);
    assert_eq!(passes(&k, b, KC_FILE_OPEN), sb);
    k.close(a).unwrap();
    k.close(b).unwrap();
    k.kldunload(id, false).unwrap();
    clean(&k);
}

#[test]
fn locked_by_takes_only_its_owners_guard() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDWR).unwrap();
    // Each file's value, updated under the device's mutex.
    assert_eq!(passes(&k, a, KC_LOCKED_BY), 1);
    assert_eq!(passes(&k, a, KC_LOCKED_BY), 2);
    assert_eq!(passes(&k, b, KC_LOCKED_BY), 1);
    k.close(a).unwrap();
    k.close(b).unwrap();
    k.kldunload(id, false).unwrap();
    clean(&k);
}
