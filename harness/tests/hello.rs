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
fn root_zeroes_the_counter_and_only_root_writes() {
    let k = Kernel::new();
    let id = load(&k);
    assert_eq!(
        k.sysctl_set("hw.hello.repeat", "0").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(uint(&k, "hw.hello.rejected"), 1);
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(
        user.sysctl_set("hw.hello.rejected", "0").unwrap_err(),
        Errno::EPERM
    );
    // sysctl_handle_counter_u64: any write zeroes it, whatever the value.
    k.sysctl_set("hw.hello.rejected", "5").unwrap();
    assert_eq!(uint(&k, "hw.hello.rejected"), 0);
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
fn the_per_cpu_counter_loses_no_add_across_threads_and_is_freed() {
    // Each thread is a CPU of its own (its %gs, its copy of the counter):
    // counter_u64_add's plain addq on %gs:(c) loses nothing, and
    // counter_u64_fetch sums the copies.
    let k = Kernel::new();
    let id = load(&k);
    assert_eq!(k.counters_live(), 1);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let k = k.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    assert_eq!(
                        k.sysctl_set("hw.hello.repeat", "11").unwrap_err(),
                        Errno::EINVAL
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(uint(&k, "hw.hello.rejected"), 2000);
    k.kldunload(id, false).unwrap();
    assert_eq!(k.counters_live(), 0, "counter_u64_free at unload");
    // A new load starts from zero.
    let id = load(&k);
    assert_eq!(uint(&k, "hw.hello.rejected"), 0);
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
fn load_never_fails_for_memory() {
    // Every allocation of the load is M_WAITOK, which FreeBSD never fails
    // (the harness neither): with each M_NOWAIT allocation failed in turn
    // there is none to fail, and the first load succeeds.
    let failed = fail_each_load_allocation(
        "hello",
        |k, n, e| panic!("allocation {n} failed the load: {e:?}\n{}", k.dmesg()),
        |k, id| {
            assert_eq!(uint(k, "hw.hello.repeat"), 1);
            k.kldunload(id, false).unwrap();
            k.check().unwrap();
        },
    );
    assert_eq!(failed, 0, "no M_NOWAIT allocation at load");
}

#[test]
fn a_taken_sysctl_node_fails_the_load_and_leaves_nothing() {
    // The load step that can fail: hw.hello is another module's leaf.
    let k = Kernel::new();
    let squat = k.kldload(module_path("namesquat")).unwrap();
    k.sysctl_set("debug.namesquat_sysctl", "hello").unwrap();
    assert_eq!(k.kldload(module_path("hello")).unwrap_err(), Errno::ENOEXEC);
    assert!(
        k.dmesg().contains("MOD_LOAD (hello,") && k.dmesg().contains("error 17"),
        "EEXIST from the module: {}",
        k.dmesg()
    );
    assert!(k.malloc_stats("hello").is_none(), "the malloc type is gone");
    assert!(
        k.sysctl_get("hw.hello").is_ok(),
        "the other module's leaf stays"
    );
    k.kldunload(squat, false).unwrap();
    assert_eq!(k.sysctl_get("hw.hello").unwrap_err(), Errno::ENOENT);
    let id = load(&k);
    assert_eq!(uint(&k, "hw.hello.repeat"), 1);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_loader_tunable_sets_repeat_at_load_when_valid() {
    // TUNABLE_QUAD_FETCH (getenv_quad): one number, one optional suffix.
    for (value, repeat) in [
        ("3", 3),
        ("0x2", 2),
        ("10", 10),
        ("11", 1),
        ("1k", 1),
        ("-2", 1),
        ("4 ", 1),
        ("abc", 1),
    ] {
        let k = Kernel::new();
        k.kenv_set("hw.hello.repeat", value);
        let id = load(&k);
        assert_eq!(uint(&k, "hw.hello.repeat"), repeat, "{value}");
        k.kldunload(id, false).unwrap();
        k.check().unwrap();
    }
}
