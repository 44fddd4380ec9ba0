// SPDX-License-Identifier: BSD-2-Clause
//! No disclosure: a read returns only bytes of the message it reads, never
//! the harness's poison pattern (`0xdeadc0de`, what fresh and freed
//! memory holds, as in an `INVARIANTS` kernel) nor bytes of another
//! buffer.
//!
//! Buffers are reused (a spare takes turns with the current message), so
//! the dangerous states are set up on purpose: a short message in a long
//! buffer, a long buffer half-filled by a write that faulted, a buffer a
//! write could not grow (`ENOMEM`), a cleared message in a used buffer,
//! and files holding snapshots of older messages. In each, reads at every
//! offset (every 97th under `make test`, every one under `--soak`) past
//! the message and the buffer must return exactly the message's bytes.
//! The model-based fuzzing and the stress test check every read's bytes
//! too, and count any disclosure in this scenario's column of their rows.

use crate::Params;
use crate::device::{Dev, has_poison, pattern};
use crate::tally::Tally;
use echo_testkit::DEV;
use harness::{Errno, FailPolicy, O_RDONLY, O_RDWR};

/// The scenario.
///
/// # Panics
/// On the first read that returns other bytes.
pub fn run(params: &Params, t: &Tally) {
    let (d, id) = Dev::loaded(t);
    let k = &d.k;
    let step = if params.soak { 1 } else { 97 };
    let w = k.open(DEV, O_RDWR).unwrap();
    let mut reads = 0u64;
    let mut check = |d: &Dev<'_>, fd: i32, want: &[u8], what: &str| {
        let mut buf = vec![0x5a_u8; 70_000];
        for off in (0..70_000).step_by(step) {
            buf.fill(0x5a);
            let n = d.pread(fd, &mut buf, off as i64).unwrap();
            reads += 1;
            let expect = want.get(off.min(want.len())..).unwrap_or_default();
            if &buf[..n] != expect || has_poison(&buf[..n]) || buf[n..].iter().any(|&b| b != 0x5a) {
                d.t.disclosure();
                panic!("{what}: a read at {off} returned bytes that are not the message's");
            }
        }
    };
    // A short message in a long buffer.
    let long_a = pattern(1, 60_000);
    let long_b = pattern(2, 60_000);
    d.write(w, &long_a).unwrap();
    d.write(w, &long_b).unwrap();
    d.write(w, b"short").unwrap();
    check(&d, w, b"short", "a short message in a reused buffer");
    // A write that faulted halfway through a long buffer.
    let holder = k.open(DEV, O_RDONLY).unwrap();
    d.pread(holder, &mut [0u8; 1], 0).unwrap();
    k.inject_efault(Some(30_000));
    assert_eq!(d.write(w, &pattern(3, 60_000)).unwrap_err(), Errno::EFAULT);
    t.faults(1);
    check(&d, w, b"short", "after a write that faulted at 30000");
    check(&d, holder, b"short", "a snapshot, after a faulted write");
    // A write that could not get memory.
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(d.write(w, &pattern(4, 65_536)).unwrap_err(), Errno::ENOMEM);
    k.set_malloc_failures(FailPolicy::Never);
    t.faults(1);
    check(&d, w, b"short", "after a write that got ENOMEM");
    // A cleared message in a used buffer, with older snapshots around.
    let old = k.open(DEV, O_RDONLY).unwrap();
    d.pread(old, &mut [0u8; 1], 0).unwrap();
    d.write(w, &long_a).unwrap();
    let mid = k.open(DEV, O_RDONLY).unwrap();
    d.pread(mid, &mut [0u8; 1], 0).unwrap();
    d.ioctl_raw(w, echo_testkit::header().clear, 0).unwrap();
    check(&d, w, b"", "a cleared message");
    // Each file reads its own snapshot (pread at offsets other than 0
    // keeps it; offset 0 would take the newest message).
    let mut snapshot_reads = |fd: i32, want: &[u8], what: &str| {
        let mut buf = vec![0x5a_u8; 70_000];
        for off in (1..70_000).step_by(step) {
            buf.fill(0x5a);
            let n = d.pread(fd, &mut buf, off as i64).unwrap();
            reads += 1;
            let expect = want.get(off.min(want.len())..).unwrap_or_default();
            if &buf[..n] != expect || has_poison(&buf[..n]) {
                t.disclosure();
                panic!("{what}: a read at {off} returned bytes that are not the snapshot's");
            }
        }
    };
    snapshot_reads(old, b"short", "a snapshot of an older message");
    snapshot_reads(mid, &long_a, "a snapshot of the previous message");
    for fd in [w, holder, old, mid] {
        k.close(fd).unwrap();
    }
    k.kldunload(id, false).unwrap();
    let v = t.absorb_kernel(k);
    assert!(v.is_empty(), "{v:?}");
    t.note(format!(
        "disclosure: {reads} reads at offsets 0 to 70000 (every {step}) over reused, faulted, \
         cleared and snapshot buffers: only message bytes"
    ));
}
