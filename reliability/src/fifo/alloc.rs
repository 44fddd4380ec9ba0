// SPDX-License-Identifier: BSD-2-Clause
//! Allocation-failure sweep of `rustfifo.ko`.
//!
//! **Load.** `kldload` is counted for its `M_NOWAIT` allocations; each
//! is made to fail in turn (`FailPolicy::NthFromNow`) on a fresh kernel:
//! the load either succeeds (the allocation was the kernel's and it
//! recovered) or fails with `ENOEXEC` (`MOD_LOAD` failed) and leaves
//! nothing: no device, no `hw.rustfifo`, no memory of the module's type.
//! Then with every allocation failing. (rustfifo's load allocates with
//! `M_WAITOK` only, which never fails, in FreeBSD as in the harness, so
//! the sweep finds none today; it stays for a load that would.)
//!
//! **I/O.** For each operation (writes that need the first storage, that
//! need it to grow and that fit in it, `writev`, reads, `FIONREAD`,
//! `poll`, `kevent`, open, close, the capacity), on a fresh kernel
//! prepared the same way each time:
//! 1. its `M_NOWAIT` allocations are counted;
//! 2. each fails in turn, then all: a write returns `ENOMEM` (nothing
//!    queued by it, `hw.rustfifo.enomem` + 1) or a short count (what it
//!    queued); any other operation succeeds or fails with `ENOMEM`;
//! 3. then the FIFO holds exactly what was queued before, followed by
//!    what the write reported queued: nothing already queued is lost; the
//!    same operation succeeds again; and unloading reports no leak.

use super::{DEV, MALLOC_TYPE, drain, finish, loaded, sysctl};
use crate::Params;
use crate::device::pattern;
use crate::tally::Tally;
use harness::freebsd::FIONREAD;
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, O_NONBLOCK, O_RDWR, PollFd, SysResult};

/// An operation of the sweep.
#[derive(Clone, Copy, Debug)]
enum Op {
    Write(usize),
    Writev(usize),
    Read(usize),
    Fionread,
    Poll,
    Kevent,
    Open,
    Close,
    Capacity(u64),
}

/// A case: bytes queued first (with the capacity), then the operation.
struct Case {
    name: &'static str,
    queued: usize,
    capacity: u64,
    op: Op,
}

fn cases() -> Vec<Case> {
    let c = |name, queued, capacity, op| Case {
        name,
        queued,
        capacity,
        op,
    };
    let big = super::DEFAULT_CAPACITY;
    vec![
        c("write 1 byte, no storage", 0, big, Op::Write(1)),
        c("write 600 bytes, no storage", 0, big, Op::Write(600)),
        c("write 10000 bytes, no storage", 0, big, Op::Write(10_000)),
        c(
            "write 300 bytes, storage to grow",
            3900,
            big,
            Op::Write(300),
        ),
        c("write 100 bytes that fit", 100, big, Op::Write(100)),
        c("write 50 bytes, 60-byte capacity", 0, 60, Op::Write(50)),
        c("writev 3 iovecs, no storage", 0, big, Op::Writev(900)),
        c("read 100 of 300 queued", 300, big, Op::Read(100)),
        c("ioctl FIONREAD", 10, big, Op::Fionread),
        c("poll", 10, big, Op::Poll),
        c("kevent EVFILT_READ", 10, big, Op::Kevent),
        c("open", 10, big, Op::Open),
        c("close", 10, big, Op::Close),
        c("sysctl capacity=1000", 10, big, Op::Capacity(1000)),
    ]
}

/// A kernel prepared for a case.
struct Prepared {
    k: Kernel,
    id: i32,
    fd: i32,
    /// What was queued.
    queued: Vec<u8>,
}

fn prepare(t: &Tally, case: &Case) -> Prepared {
    let (k, id) = loaded(t);
    k.sysctl_set("hw.rustfifo.capacity", &case.capacity.to_string())
        .unwrap_or_else(|e| panic!("{}: capacity: {e:?}", case.name));
    let fd = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let queued = pattern(1, case.queued);
    if !queued.is_empty() {
        assert_eq!(k.write(fd, &queued), Ok(queued.len()), "{}", case.name);
    }
    t.ops_ok(3);
    Prepared { k, id, fd, queued }
}

/// Failed allocations of every type so far.
fn failures(k: &Kernel) -> u64 {
    k.malloc_types().iter().map(|s| s.failures).sum()
}

/// Runs the operation; for a write, returns what it reported queued and
/// the bytes.
fn act(p: &Prepared, op: Op) -> (SysResult<usize>, Vec<u8>) {
    let k = &p.k;
    let data = pattern(
        2,
        match op {
            Op::Write(n) | Op::Writev(n) => n,
            _ => 0,
        },
    );
    let r = match op {
        Op::Write(_) => k.write(p.fd, &data),
        Op::Writev(n) => {
            let (a, rest) = data.split_at(n / 3);
            let (b, c) = rest.split_at(rest.len() / 2);
            k.writev(p.fd, &[a, b, c])
        }
        Op::Read(n) => {
            let mut buf = vec![0u8; n];
            k.read(p.fd, &mut buf)
        }
        Op::Fionread => {
            let mut arg = [0u8; 4];
            k.ioctl(p.fd, u64::from(FIONREAD), &mut arg).map(|()| 0)
        }
        Op::Poll => {
            let mut fds = [PollFd {
                fd: p.fd,
                events: super::POLLIN | super::POLLOUT,
                revents: 0,
            }];
            k.poll(&mut fds, Some(std::time::Duration::ZERO))
        }
        Op::Kevent => k.kqueue().and_then(|kq| {
            let r = k.kevent_add(kq, p.fd, super::EVFILT_READ, 0);
            k.kqueue_close(kq).unwrap_or_else(|e| panic!("{e:?}"));
            r.map(|()| 0)
        }),
        Op::Open => k.open(DEV, O_RDWR).and_then(|fd| k.close(fd).map(|()| 0)),
        Op::Close => k.close(p.fd).map(|()| 0),
        Op::Capacity(c) => k
            .sysctl_set("hw.rustfifo.capacity", &c.to_string())
            .map(|()| 0),
    };
    (r, data)
}

/// One run of `case` with `policy`; returns whether an allocation failed.
fn once(t: &Tally, case: &Case, policy: FailPolicy) -> bool {
    let p = prepare(t, case);
    let k = &p.k;
    let enomem = sysctl(k, "enomem");
    let failed = failures(k);
    k.set_malloc_failures(policy);
    let (r, data) = act(&p, case.op);
    k.set_malloc_failures(FailPolicy::Never);
    t.op(&r);
    let fired = failures(k) - failed;
    t.faults(fired);
    let what = format!("{} ({policy:?})", case.name);
    let mut want = p.queued.clone();
    match (case.op, &r) {
        (Op::Write(_) | Op::Writev(_), Ok(n)) => {
            assert!(*n == data.len() || fired > 0, "{what}: short write {n}");
            want.extend_from_slice(&data[..*n]);
        }
        (Op::Write(_) | Op::Writev(_), Err(e)) if *e == Errno::ENOMEM && fired > 0 => {
            assert_eq!(
                sysctl(k, "enomem"),
                enomem + 1,
                "{what}: hw.rustfifo.enomem"
            );
        }
        (Op::Read(n), Ok(got)) => {
            assert_eq!(*got, n, "{what}: read");
            want.drain(..n);
        }
        (_, Ok(_)) => {}
        (_, Err(e)) if *e == Errno::ENOMEM && fired > 0 => {}
        (_, Err(e)) => panic!("{what}: {e:?}"),
    }
    if !matches!(case.op, Op::Close) {
        k.close(p.fd)
            .unwrap_or_else(|e| panic!("{what}: close: {e:?}"));
    }
    let got = drain(k);
    assert!(
        got == want,
        "{what}: the FIFO holds {} bytes, want {} (queued before, then what the call reported)",
        got.len(),
        want.len()
    );
    // The same operation works again.
    let again = prepare(t, case);
    let (r, _) = act(&again, case.op);
    t.op(&r);
    assert!(r.is_ok(), "{what}: the operation fails afterwards: {r:?}");
    if !matches!(case.op, Op::Close) {
        again.k.close(again.fd).unwrap_or_else(|e| panic!("{e:?}"));
    }
    finish(t, &again.k, again.id);
    finish(t, k, p.id);
    fired > 0
}

/// Counts the `M_NOWAIT` allocations of `case`'s operation.
fn count(t: &Tally, case: &Case) -> u64 {
    let p = prepare(t, case);
    let before = p.k.malloc_nowait_count();
    let (r, _) = act(&p, case.op);
    let n = p.k.malloc_nowait_count() - before;
    assert!(r.is_ok(), "{}: {r:?}", case.name);
    if !matches!(case.op, Op::Close) {
        p.k.close(p.fd).unwrap_or_else(|e| panic!("{e:?}"));
    }
    finish(t, &p.k, p.id);
    n
}

/// The load sweep; returns the `M_NOWAIT` allocations of a load.
fn load(t: &Tally) -> u64 {
    let k = Kernel::new();
    let before = k.malloc_nowait_count();
    let id = k
        .kldload(module_path(super::MODULE))
        .unwrap_or_else(|e| panic!("kldload: {e:?}"));
    let n = k.malloc_nowait_count() - before;
    t.ops_ok(1);
    finish(t, &k, id);
    let policies = (1..=n).map(FailPolicy::NthFromNow).chain([FailPolicy::All]);
    for policy in policies {
        let k = Kernel::new();
        let failed = failures(&k);
        k.set_malloc_failures(policy);
        let r = k.kldload(module_path(super::MODULE));
        k.set_malloc_failures(FailPolicy::Never);
        t.op(&r);
        t.faults(failures(&k) - failed);
        match r {
            Ok(id) => finish(t, &k, id),
            Err(e) => {
                assert!(e == Errno::ENOEXEC, "load ({policy:?}): {e:?}");
                assert!(
                    !k.devices().iter().any(|d| d.name == "rustfifo"),
                    "load ({policy:?}): the device is left"
                );
                assert!(
                    k.sysctl_get("hw.rustfifo.capacity").is_err(),
                    "load ({policy:?}): hw.rustfifo is left"
                );
                assert_eq!(
                    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_allocs),
                    0,
                    "load ({policy:?}): memory is left"
                );
                super::absorb(t, &k);
            }
        }
    }
    n
}

/// Runs the sweep.
pub fn run(_p: &Params, t: &Tally) {
    let on_load = load(t);
    let mut counted = Vec::new();
    let mut failed = 0u64;
    for case in cases() {
        let n = count(t, &case);
        counted.push(format!("{} {n}", case.name));
        for i in 1..=n {
            failed += u64::from(once(t, &case, FailPolicy::NthFromNow(i)));
        }
        once(t, &case, FailPolicy::All);
    }
    assert!(failed > 0, "no operation's allocation was made to fail");
    t.note(format!(
        "fifo-alloc: M_NOWAIT allocations of a load {on_load}; per operation: {}",
        counted.join(", ")
    ));
}
