// SPDX-License-Identifier: BSD-2-Clause
//! `EFAULT` sweep of `rustfifo.ko`: a fault at each byte offset of a
//! `write(2)`, `writev(2)` (three iovecs), `read(2)` and `readv(2)`, with
//! bytes queued before and without.
//!
//! FreeBSD's `dofilewrite` and `dofileread` (`sys/kern/sys_generic.c`,
//! FreeBSD 15) turn an error into the partial count only for `ERESTART`,
//! `EINTR` and `EWOULDBLOCK`: an `EFAULT` reaches the caller even after
//! bytes moved, as for a pipe. So each faulting call must fail with
//! `EFAULT`, and then:
//! - write: the FIFO holds what was queued before, then a prefix of the
//!   write no longer than the offset of the fault (nothing of the bytes
//!   after the fault, nothing lost, nothing twice);
//! - read: the FIFO holds a suffix of what was queued that starts at or
//!   before the offset of the fault (what the caller did not receive
//!   stays queued).
//!
//! A call whose fault is past its end succeeds whole. Every offset is
//! swept (quick and soak alike: each call is cheap), and the module's
//! memory is all freed at unload.

use super::{DEV, drain, finish, loaded};
use crate::Params;
use crate::device::pattern;
use crate::tally::Tally;
use harness::{Errno, Kernel, O_NONBLOCK, O_RDWR};

/// Bytes per write and read: several of rustfifo's rounds, and across
/// the storage's first size when bytes are queued first.
const LEN: usize = 700;

fn split3(n: usize) -> [std::ops::Range<usize>; 3] {
    [0..n / 4, n / 4..n / 2 + 7, n / 2 + 7..n]
}

/// A faulting write or writev at `at`, after `before` was queued.
fn write(t: &Tally, k: &Kernel, fd: i32, before: &[u8], at: usize, vec: bool) {
    let data = pattern(u64::try_from(at).unwrap_or(0) + 7, LEN);
    if !before.is_empty() {
        assert_eq!(k.write(fd, before), Ok(before.len()));
    }
    k.inject_efault(Some(at));
    let r = if vec {
        let [a, b, c] = split3(LEN);
        k.writev(fd, &[&data[a], &data[b], &data[c]])
    } else {
        k.write(fd, &data)
    };
    k.inject_efault(None);
    t.op(&r);
    let what = format!("{} faulting at {at}", if vec { "writev" } else { "write" });
    let got = drain(k);
    if at >= LEN {
        assert_eq!(r, Ok(LEN), "{what}");
        assert!(
            got.len() == before.len() + LEN,
            "{what}: {} bytes queued",
            got.len()
        );
        return;
    }
    t.faults(1);
    assert!(matches!(&r, Err(e) if *e == Errno::EFAULT), "{what}: {r:?}");
    assert!(
        got.len() >= before.len() && got[..before.len()] == *before,
        "{what}: bytes queued before were lost"
    );
    let added = &got[before.len()..];
    assert!(
        added.len() <= at && *added == data[..added.len()],
        "{what}: queued {} bytes that are not the write's first {at}",
        added.len()
    );
}

/// A faulting read or readv at `at` of everything queued.
fn read(t: &Tally, k: &Kernel, fd: i32, at: usize, vec: bool) {
    let data = pattern(u64::try_from(at).unwrap_or(0) + 99, LEN);
    assert_eq!(k.write(fd, &data), Ok(LEN));
    let mut buf = vec![0u8; LEN];
    k.inject_efault(Some(at));
    let r = if vec {
        let [a, b, c] = split3(LEN);
        let (x, rest) = buf.split_at_mut(a.end);
        let (y, z) = rest.split_at_mut(b.end - b.start);
        debug_assert_eq!(z.len(), c.end - c.start);
        k.readv(fd, &mut [x, y, z])
    } else {
        k.read(fd, &mut buf)
    };
    k.inject_efault(None);
    t.op(&r);
    let what = format!("{} faulting at {at}", if vec { "readv" } else { "read" });
    let left = drain(k);
    if at >= LEN {
        assert_eq!(r, Ok(LEN), "{what}");
        assert_eq!(buf, data, "{what}");
        assert!(left.is_empty(), "{what}: {} bytes left", left.len());
        return;
    }
    t.faults(1);
    assert!(matches!(&r, Err(e) if *e == Errno::EFAULT), "{what}: {r:?}");
    let from = LEN - left.len();
    assert!(
        from <= at && left == data[from..],
        "{what}: {} bytes left queued, not the read's bytes from at most {at}",
        left.len()
    );
}

/// Runs the sweep.
pub fn run(_p: &Params, t: &Tally) {
    let (k, id) = loaded(t);
    let fd = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let before = pattern(5, 4000);
    for at in 0..=LEN {
        for vec in [false, true] {
            write(t, &k, fd, &[], at, vec);
            write(t, &k, fd, &before, at, vec);
            read(t, &k, fd, at, vec);
        }
    }
    k.close(fd).unwrap_or_else(|e| panic!("{e:?}"));
    finish(t, &k, id);
}
