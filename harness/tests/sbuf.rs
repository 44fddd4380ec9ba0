// SPDX-License-Identifier: BSD-2-Clause
//! sbuf(9) with kldtest_sbuf: the sticky `ENOMEM` of a fixed buffer, a
//! growing buffer's allocations (malloc type `sbuf`), a sysctl handler
//! draining into the request, `SBUF_NOWAIT` under fault injection, and
//! the `INVARIANTS` checks.

use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, SysctlValue};

fn loaded() -> Kernel {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_sbuf")).unwrap();
    k
}

fn string(k: &Kernel, name: &str) -> String {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::String(s) => s,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn a_fixed_sbuf_keeps_what_fits_and_a_sticky_enomem() {
    let k = loaded();
    // "hello" fits 8 bytes; " world" does not: " w" is kept, sbuf_cat
    // returns -1, the error is ENOMEM (12), sbuf_len -1, sbuf_finish 12.
    // sbuf_clear forgets the error: "ok", finished with 0.
    assert_eq!(
        string(&k, "debug.kldtest_sbuf.fixed"),
        "hello w|0|-1|12|-1|12|ok|0"
    );
    // Nothing was allocated: the buffer and the sbuf are the handler's.
    assert_eq!(k.malloc_stats("sbuf").unwrap().total_allocs, 0);
    k.check().unwrap();
}

#[test]
fn an_auto_sbuf_grows_by_powers_of_two_from_malloc() {
    let k = loaded();
    // 100 x's, cut to 10, "[7]", trailing white space trimmed, a newline
    // added: 14 bytes, finished without error.
    assert_eq!(
        string(&k, "debug.kldtest_sbuf.auto"),
        "xxxxxxxxxx[7]\n14 0 1"
    );
    // The struct sbuf, then buffers of 16, 32, 64 and 128 bytes as each
    // byte overflowed (sbuf_extendsize), all freed by sbuf_delete; twice,
    // as sysctl(8) runs the handler for the size, then for the value.
    let s = k.malloc_stats("sbuf").unwrap();
    assert_eq!((s.total_allocs, s.total_frees, s.live_allocs), (10, 10, 0));
    k.check().unwrap();
}

#[test]
fn a_sysctl_sbuf_drains_into_the_request() {
    let k = loaded();
    let mut want = String::new();
    for i in 0..20 {
        want.push_str(&format!("line {i:02}: kldtest\n"));
    }
    want.push_str("end.\n");
    // Longer than the 64-byte sbuf: drained as it filled, under a mutex,
    // which sysctl_wire_old_buffer allows.
    assert_eq!(string(&k, "debug.kldtest_sbuf.report"), want);
    // The size as sysctl(3) reports it counts the NUL (SBUF_INCLUDENUL).
    assert_eq!(
        k.sysctl_raw("debug.kldtest_sbuf.report", None, None)
            .unwrap(),
        want.len() + 1
    );
    // A buffer too small: what fits, and ENOMEM.
    let mut small = [0u8; 10];
    assert_eq!(
        k.sysctl_raw("debug.kldtest_sbuf.report", Some(&mut small), None),
        Err(Errno::ENOMEM.into())
    );
    assert_eq!(&small, b"line 00: k");
    let s = k.malloc_stats("sbuf").unwrap();
    assert_eq!(s.live_allocs, 0);
    k.check().unwrap();
}

#[test]
fn drains_take_the_full_buffer_and_their_error_sticks() {
    let k = loaded();
    // sbuf_count_drain counted all 110 bytes through a 16-byte buffer;
    // the module's drain took 5 bytes twice, then failed with -EIO: the
    // append returned -1, sbuf_finish EIO (5), no further drain call.
    assert_eq!(string(&k, "debug.kldtest_sbuf.drains"), "110 0 -1 5 3");
    k.check().unwrap();
}

#[test]
fn a_nowait_sbuf_fails_when_malloc_does() {
    let k = loaded();
    assert_eq!(string(&k, "debug.kldtest_sbuf.nowait"), "nowait");
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(
        k.sysctl_get("debug.kldtest_sbuf.nowait"),
        Err(Errno::ENOMEM.into())
    );
    k.set_malloc_failures(FailPolicy::Never);
    assert!(k.malloc_stats("sbuf").unwrap().failures > 0);
    k.check().unwrap();
}

fn misuse(case: &str) -> String {
    let k = loaded();
    assert!(k.sysctl_set("debug.kldtest_sbuf.misuse", case).is_err());
    k.expect_panic().unwrap()
}

#[test]
fn invariants_catch_reading_an_unfinished_sbuf() {
    assert_eq!(
        misuse("1"),
        "sbuf_data called with unfinished or corrupt sbuf"
    );
}

#[test]
fn invariants_catch_appending_to_a_finished_sbuf() {
    assert_eq!(
        misuse("2"),
        "sbuf_put_bytes called with finished or corrupt sbuf"
    );
}

#[test]
fn invariants_catch_a_buffer_too_small() {
    assert_eq!(misuse("3"), "sbuf buffer 1 smaller than minimum 2 bytes");
}
