// SPDX-License-Identifier: BSD-2-Clause
//! libkern's `strlcat(3)`, `vsnprintf(9)` and `strdup(9)` (with its malloc
//! type's statistics and leak check), with kldtest_text.

use harness::testing::module_path;
use harness::{Kernel, SysctlValue, ViolationKind};

fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_text")).unwrap();
    (k, id)
}

fn string(k: &Kernel, name: &str) -> String {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::String(s) => s,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn strlcat_truncates_and_returns_the_length_it_tried_to_make() {
    let (k, _) = loaded();
    // "abc" + "de" = "abcde" (5); + "fghij" in 8 bytes = "abcdefg" (10
    // wanted); a 4-byte buffer with no NUL is left alone, 4 + 1 returned.
    assert_eq!(string(&k, "debug.kldtest_text.strlcat"), "abcdefg 5 10 5 z");
    k.check().unwrap();
}

#[test]
fn vsnprintf_truncates_and_counts_the_whole_output() {
    let (k, _) = loaded();
    // "42-abc-ff" into 6 bytes: "42-ab", 9; size 0 writes nothing, 3.
    assert_eq!(string(&k, "debug.kldtest_text.vsnprintf"), "42-ab 9 3");
    k.check().unwrap();
}

#[test]
fn strdup_allocates_from_the_callers_type() {
    let (k, id) = loaded();
    k.sysctl_set("debug.kldtest_text.strdup", "3").unwrap();
    let s = k.malloc_stats("kldtest_text").unwrap();
    // "kldtest" and its NUL: 8 bytes, the 16-byte bucket.
    assert_eq!((s.live_allocs, s.live_bytes, s.total_allocs), (3, 48, 3));
    k.sysctl_set("debug.kldtest_text.strdup", "0").unwrap();
    let s = k.malloc_stats("kldtest_text").unwrap();
    assert_eq!((s.live_allocs, s.total_frees), (0, 3));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn strdup_copies_left_at_unload_are_a_leak() {
    let (k, id) = loaded();
    k.sysctl_set("debug.kldtest_text.strdup", "2").unwrap();
    k.sysctl_set("debug.kldtest_text.leak", "1").unwrap();
    k.kldunload(id, false).unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Leak);
    assert_eq!(
        v[0].message,
        "Warning: memory type kldtest_text leaked memory on destroy (2 allocations, 32 bytes leaked)."
    );
}

#[test]
fn strdup_with_a_mutex_held_is_reported() {
    let (k, _) = loaded();
    k.sysctl_set("debug.kldtest_text.strdup_locked", "1")
        .unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Lock);
    assert!(
        v[0].message
            .starts_with("malloc(M_WAITOK) with the following non-sleepable locks held:"),
        "{}",
        v[0].message
    );
    k.check().unwrap();
}
