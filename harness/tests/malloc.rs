// SPDX-License-Identifier: BSD-2-Clause
//! malloc(9): statistics, poisoning, alignment, leaks at unload, fault
//! injection (every M_NOWAIT allocation of a load failed in turn).

use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, SysctlValue, ViolationKind};

#[test]
fn statistics_poison_zero_alignment_realloc() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_malloc")).unwrap();
    let s = k.malloc_stats("kldtest_malloc").unwrap();
    // 24 -> 32, 300 -> 384, 5000 -> 8192, 70000 -> 73728 (pages), + 64.
    assert_eq!(s.live_allocs, 5);
    assert_eq!(s.live_bytes, 32 + 384 + 8192 + 73728 + 64);
    assert_eq!(s.total_allocs, 8, "plus malloc_aligned, malloc and realloc");
    assert_eq!(s.total_frees, 3);
    // INVARIANTS-style junk in memory not asked zeroed.
    let junk = 0xdead_c0de_u32.cast_signed();
    assert_eq!(
        k.sysctl_get("debug.kldtest_malloc_junk").unwrap(),
        SysctlValue::Int(junk.into())
    );
    for ok in ["zero_ok", "align_ok", "realloc_ok"] {
        assert_eq!(
            k.sysctl_get(&format!("debug.kldtest_malloc_{ok}")).unwrap(),
            SysctlValue::Int(1),
            "{ok}"
        );
    }
    k.kldunload(id, false).unwrap();
    assert!(k.malloc_stats("kldtest_malloc").is_none());
    k.check().unwrap();
}

#[test]
fn a_leak_is_reported_at_malloc_uninit() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_malloc")).unwrap();
    k.sysctl_set("debug.kldtest_malloc_leak", "1").unwrap();
    k.kldunload(id, false).unwrap();
    let msg = "Warning: memory type kldtest_malloc leaked memory on destroy (1 allocations, 32 bytes leaked).";
    assert!(k.dmesg().contains(msg), "{}", k.dmesg());
    let v = k.take_violations();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].kind, v[0].message.as_str()),
        (ViolationKind::Leak, msg)
    );
}

#[test]
fn every_nowait_allocation_of_the_load_can_fail() {
    // Count first...
    let k = Kernel::new();
    let before = k.malloc_nowait_count();
    k.kldload(module_path("kldtest_malloc")).unwrap();
    let n = k.malloc_nowait_count() - before;
    assert_eq!(n, 4);
    // ...then fail each one in turn: the load fails cleanly every time.
    for i in 1..=n {
        let k = Kernel::new();
        k.set_malloc_failures(FailPolicy::NthFromNow(i));
        assert_eq!(
            k.kldload(module_path("kldtest_malloc")).unwrap_err(),
            Errno::ENOEXEC,
            "failure {i}"
        );
        assert!(k.dmesg().contains("MOD_LOAD (kldtest_malloc,"));
        assert!(k.dmesg().contains("error 12"), "ENOMEM from the module");
        k.check().unwrap();
        // The kernel is fine afterwards: the next load works.
        k.kldload(module_path("kldtest_malloc")).unwrap();
    }
    let k = Kernel::new();
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(
        k.kldload(module_path("kldtest_malloc")).unwrap_err(),
        Errno::ENOEXEC
    );
    k.set_malloc_failures(FailPolicy::EveryNth(2));
    assert_eq!(
        k.kldload(module_path("kldtest_malloc")).unwrap_err(),
        Errno::ENOEXEC
    );
    k.set_malloc_failures(FailPolicy::Never);
    k.kldload(module_path("kldtest_malloc")).unwrap();
}

#[test]
fn waitok_allocations_never_fail() {
    // FreeBSD (sys/kern/kern_malloc.c): malloc() asserts that M_WAITOK
    // never returns NULL, and MALLOC_MAKE_FAILURES fails only M_NOWAIT
    // requests. kldtest_cdev allocates its buffer with M_WAITOK and, as a
    // C driver may, does not check it; make_dev's cdev is M_WAITOK too.
    for policy in [
        FailPolicy::All,
        FailPolicy::EveryNth(1),
        FailPolicy::NthFromNow(1),
    ] {
        let k = Kernel::new();
        k.set_malloc_failures(policy);
        let (nowait0, all0) = (k.malloc_nowait_count(), k.malloc_count());
        let id = k.kldload(module_path("kldtest_cdev")).unwrap();
        assert!(k.malloc_count() > all0, "{policy:?}: the load allocated");
        assert_eq!(k.malloc_nowait_count(), nowait0, "{policy:?}");
        let s = k.malloc_stats("kldtest_cdev").unwrap();
        assert_eq!((s.live_allocs, s.failures), (1, 0), "{policy:?}");
        assert!(
            k.malloc_types().iter().all(|t| t.failures == 0),
            "{policy:?}"
        );
        k.kldunload(id, false).unwrap();
        k.check().unwrap();
    }
    // The same policy still fails M_NOWAIT: kldtest_malloc's first buffer.
    let k = Kernel::new();
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(
        k.kldload(module_path("kldtest_malloc")).unwrap_err(),
        Errno::ENOEXEC
    );
    assert!(k.dmesg().contains("error 12"), "ENOMEM from the module");
    k.check().unwrap();
}

#[test]
fn misuse_is_recorded() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_malloc")).unwrap();
    k.sysctl_set("debug.kldtest_malloc_misuse", "1").unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1);
    assert!(
        v[0].message.starts_with("free: address 0x")
            && v[0].message.ends_with("has not been allocated")
    );
    k.sysctl_set("debug.kldtest_malloc_misuse", "2").unwrap();
    let v = k.take_violations();
    assert_eq!(
        v[0].message
            .split(": ")
            .last()
            .unwrap()
            .split(", ")
            .collect::<Vec<_>>()
            .len(),
        2
    );
    assert!(
        v[0].message
            .contains("allocated as type kldtest_malloc, freed as type temp"),
        "{v:?}"
    );
    k.sysctl_set("debug.kldtest_malloc_misuse", "3").unwrap();
    let v = k.take_violations();
    // malloc(9)'s macro strips a constant M_ZERO (and bzeroes itself).
    assert!(
        v[0].message.starts_with("malloc: bad malloc flags 0x0"),
        "{v:?}"
    );
    assert!(k.dmesg().contains("Bad malloc flags: 0\n"));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
