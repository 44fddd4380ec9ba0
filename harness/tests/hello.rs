// SPDX-License-Identifier: BSD-2-Clause
//! `hello.ko`: the sysctl-only Rust module (`hw.hello.repeat`, a validated
//! tunable, and `hw.hello.rejected`, a counter), on the built `.ko`.
//!
//! Each test checks one rule of kern's sysctl, malloc and module layers.

use harness::testing::{fail_each_load_allocation, module_path};
use harness::{Cred, Errno, Kernel, SysctlValue};

fn load(k: &Kernel) -> i32 {
    k.kldload(module_path("hello")).unwrap()
}

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn load_greets_and_creates_the_nodes() {
    let k = Kernel::new();
    let id = load(&k);
    assert!(
        k.dmesg().contains("hello: Hello from Rust, FreeBSD 15\n"),
        "{}",
        k.dmesg()
    );
    let mut children = k.sysctl_children("hw.hello").unwrap();
    children.sort();
    assert_eq!(children, ["rejected", "repeat"]);
    assert_eq!(uint(&k, "hw.hello.repeat"), 1);
    assert_eq!(uint(&k, "hw.hello.rejected"), 0);
    k.kldunload(id, false).unwrap();
    assert!(
        k.dmesg().contains("hello: Goodbye (1/1)\n"),
        "{}",
        k.dmesg()
    );
    k.check().unwrap();
}

#[test]
fn the_tunable_accepts_valid_values_and_the_module_uses_them() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("hw.hello.repeat", "3").unwrap();
    assert_eq!(uint(&k, "hw.hello.repeat"), 3);
    k.sysctl_set("hw.hello.repeat", "10").unwrap();
    k.sysctl_set("hw.hello.repeat", "2").unwrap();
    assert_eq!(uint(&k, "hw.hello.rejected"), 0);
    k.clear_dmesg();
    k.kldunload(id, false).unwrap();
    assert_eq!(
        k.dmesg(),
        "hello: Goodbye (1/2)\nhello: Goodbye (2/2)\n",
        "one line per repeat"
    );
    k.check().unwrap();
}

#[test]
fn invalid_values_are_einval_leave_the_value_and_are_counted() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("hw.hello.repeat", "4").unwrap();
    for bad in ["0", "11", "18446744073709551615"] {
        let e = k.sysctl_set("hw.hello.repeat", bad).unwrap_err();
        assert_eq!(e, Errno::EINVAL, "{bad}");
        assert_eq!(uint(&k, "hw.hello.repeat"), 4, "unchanged after {bad}");
    }
    assert_eq!(uint(&k, "hw.hello.rejected"), 3);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_counter_is_read_only_and_the_tunable_root_only() {
    let k = Kernel::new();
    let id = load(&k);
    assert_eq!(
        k.sysctl_set("hw.hello.rejected", "5").unwrap_err(),
        Errno::EPERM
    );
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(uint(&user, "hw.hello.repeat"), 1, "anyone may read");
    assert_eq!(
        user.sysctl_set("hw.hello.repeat", "2").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(uint(&k, "hw.hello.repeat"), 1);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn unload_removes_the_nodes_and_frees_everything() {
    let k = Kernel::new();
    let id = load(&k);
    assert!(k.malloc_stats("hello").unwrap().live_allocs > 0);
    k.kldunload(id, false).unwrap();
    assert_eq!(k.sysctl_get("hw.hello").unwrap_err(), Errno::ENOENT);
    assert_eq!(k.sysctl_get("hw.hello.repeat").unwrap_err(), Errno::ENOENT);
    if let Some(stats) = k.malloc_stats("hello") {
        assert_eq!(stats.live_allocs, 0, "{stats:?}");
    }
    // Loading again works: nothing of the first load is left.
    let id = load(&k);
    assert_eq!(uint(&k, "hw.hello.repeat"), 1);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn every_failed_allocation_at_load_fails_cleanly() {
    // Fail the 1st, 2nd, ... allocation of the load in turn (M_WAITOK ones
    // too): each load fails with ENOEXEC and leaves no node and no memory.
    let failed = fail_each_load_allocation(
        "hello",
        |k, n, e| {
            assert_eq!(e, Errno::ENOEXEC, "allocation {n}");
            assert_eq!(
                k.sysctl_get("hw.hello").unwrap_err(),
                Errno::ENOENT,
                "allocation {n}"
            );
            if let Some(stats) = k.malloc_stats("hello") {
                assert_eq!(stats.live_allocs, 0, "allocation {n}: {stats:?}");
            }
            k.check().unwrap();
        },
        |k, id| {
            k.kldunload(id, false).unwrap();
            k.check().unwrap();
        },
    );
    assert!(failed >= 2, "the arc and the sysctl context at least");
}
