// SPDX-License-Identifier: BSD-2-Clause
//! Bad input to `rustfifo.ko`, each refused as rustfifo(4) says, with the
//! FIFO's bytes and counters unchanged:
//! - ioctls: unknown commands (`ENOTTY`), `FIOASYNC` on (`EINVAL`),
//!   `FIOASYNC` off and `FIONBIO` accepted, `FIONREAD` exact;
//! - `hw.rustfifo.capacity`: 0 and above 16 MiB refused (`EINVAL`), as
//!   are values that do not parse; 1 and 16 MiB accepted; an unprivileged
//!   set refused (`EPERM`); lowered below the bytes queued, it keeps them
//!   all, and the FIFO accepts no byte until it is below the capacity
//!   again;
//! - `hw.rustfifo.idle_ms` above one hour refused;
//! - `O_NONBLOCK`: a read of an empty FIFO and a write to a full one fail
//!   with `EAGAIN` (and `poll` agrees), a write that partly fits is short;
//!   zero-byte reads and writes return 0 without blocking.

use super::{DEV, POLLIN, POLLOUT, counters, drain, finish, loaded, queued};
use crate::Params;
use crate::device::pattern;
use crate::tally::Tally;
use harness::freebsd::{FIOASYNC, FIONBIO};
use harness::{Cred, Errno, Kernel, O_NONBLOCK, O_RDWR, PollFd, SysResult};
use std::time::Duration;

fn expect<T: std::fmt::Debug>(t: &Tally, what: &str, r: SysResult<T>, want: Option<Errno>) {
    t.op(&r);
    match (want, &r) {
        (None, Ok(_)) => {}
        (Some(w), Err(e)) if *e == w => {}
        _ => panic!("{what}: {r:?}, want {want:?}"),
    }
}

fn ioctl(k: &Kernel, fd: i32, cmd: u64, arg: i32) -> SysResult<()> {
    // Room for any size the command says (the kernel copies that much).
    let mut a = [0u8; 32];
    a[..4].copy_from_slice(&arg.to_ne_bytes());
    k.ioctl(fd, cmd, &mut a)
}

fn poll(k: &Kernel, fd: i32) -> i16 {
    let mut fds = [PollFd {
        fd,
        events: POLLIN | POLLOUT,
        revents: 0,
    }];
    k.poll(&mut fds, Some(Duration::ZERO))
        .unwrap_or_else(|e| panic!("poll: {e:?}"));
    fds[0].revents
}

fn ioctls(t: &Tally, k: &Kernel, fd: i32) {
    use harness::ioccom::{io, ior, iow, iowr};
    let unknown = [
        0,
        io(b'f', 200),
        // FIONWRITE, FIONSPACE and FIOSETOWN (sys/filio.h): not rustfifo's.
        ior(b'f', 119, 4).unwrap_or_default(),
        ior(b'f', 118, 4).unwrap_or_default(),
        iow(b'f', 124, 4).unwrap_or_default(),
        // FIOASYNC with the wrong size.
        iow(b'f', 125, 8).unwrap_or_default(),
        iowr(b'E', 1, 24).unwrap_or_default(),
        ior(b'r', 1, 4).unwrap_or_default(),
    ];
    for cmd in unknown {
        expect(
            t,
            &format!("ioctl {cmd:#x}"),
            ioctl(k, fd, cmd, 0),
            Some(Errno::ENOTTY),
        );
    }
    expect(
        t,
        "FIOASYNC 1",
        ioctl(k, fd, u64::from(FIOASYNC), 1),
        Some(Errno::EINVAL),
    );
    expect(
        t,
        "FIOASYNC -1",
        ioctl(k, fd, u64::from(FIOASYNC), -1),
        Some(Errno::EINVAL),
    );
    expect(t, "FIOASYNC 0", ioctl(k, fd, u64::from(FIOASYNC), 0), None);
    expect(t, "FIONBIO 1", ioctl(k, fd, u64::from(FIONBIO), 1), None);
    expect(t, "FIONBIO 0", ioctl(k, fd, u64::from(FIONBIO), 0), None);
}

fn sysctls(t: &Tally, k: &Kernel) {
    let cap = "hw.rustfifo.capacity";
    for bad in [
        "0",
        "16777217",
        "4294967296",
        "18446744073709551615",
        "-1",
        "x",
        "",
    ] {
        expect(
            t,
            &format!("{cap}={bad}"),
            k.sysctl_set(cap, bad),
            Some(Errno::EINVAL),
        );
        assert_eq!(
            super::sysctl(k, "capacity"),
            super::DEFAULT_CAPACITY,
            "{cap}={bad}"
        );
    }
    for good in ["1", "16777216"] {
        expect(t, &format!("{cap}={good}"), k.sysctl_set(cap, good), None);
    }
    let user = k.with_cred(Cred::user(1001, 1001));
    expect(
        t,
        "capacity as a user",
        user.sysctl_set(cap, "100"),
        Some(Errno::EPERM),
    );
    assert_eq!(super::sysctl(k, "capacity"), 16_777_216);
    let idle = "hw.rustfifo.idle_ms";
    for bad in ["3600001", "-5", "y"] {
        expect(
            t,
            &format!("{idle}={bad}"),
            k.sysctl_set(idle, bad),
            Some(Errno::EINVAL),
        );
    }
    expect(t, "idle_ms 0", k.sysctl_set(idle, "0"), None);
    expect(t, "idle_ms 1000", k.sysctl_set(idle, "1000"), None);
    expect(t, "capacity back", k.sysctl_set(cap, "65536"), None);
}

/// The capacity lowered below what is queued.
fn below(t: &Tally, k: &Kernel, nb: i32) {
    let data = pattern(3, 100);
    expect(t, "write 100", k.write(nb, &data), None);
    expect(
        t,
        "capacity 10",
        k.sysctl_set("hw.rustfifo.capacity", "10"),
        None,
    );
    assert_eq!(
        queued(k, nb),
        100,
        "lowering the capacity must keep what is queued"
    );
    expect(
        t,
        "write to an over-full FIFO",
        k.write(nb, b"z"),
        Some(Errno::EAGAIN),
    );
    assert_eq!(poll(k, nb), POLLIN, "over full: readable, not writable");
    let mut buf = [0u8; 95];
    expect(t, "read 95", k.read(nb, &mut buf), None);
    assert_eq!(buf[..], data[..95]);
    expect(t, "still at 5 of 10", k.write(nb, &[9u8; 8]), None);
    let got = drain(k);
    assert_eq!(got.len(), 10, "a write to 5 queued of 10 is short: 5 bytes");
    assert_eq!(got[..5], data[95..]);
    assert_eq!(got[5..], [9u8; 5]);
    expect(
        t,
        "capacity back",
        k.sysctl_set("hw.rustfifo.capacity", "65536"),
        None,
    );
}

fn nonblocking(t: &Tally, k: &Kernel, nb: i32) {
    let mut buf = [0u8; 16];
    expect(t, "read empty", k.read(nb, &mut buf), Some(Errno::EAGAIN));
    assert_eq!(poll(k, nb), POLLOUT);
    assert_eq!(
        k.read(nb, &mut []),
        Ok(0),
        "a zero-byte read of an empty FIFO"
    );
    assert_eq!(k.write(nb, &[]), Ok(0), "a zero-byte write");
    t.ops_ok(2);
    expect(
        t,
        "capacity 64",
        k.sysctl_set("hw.rustfifo.capacity", "64"),
        None,
    );
    assert_eq!(k.write(nb, &[1u8; 50]), Ok(50));
    assert_eq!(
        k.write(nb, &[2u8; 50]),
        Ok(14),
        "a write that partly fits is short"
    );
    t.ops_ok(2);
    expect(t, "write full", k.write(nb, &[3u8; 1]), Some(Errno::EAGAIN));
    expect(
        t,
        "writev full",
        k.writev(nb, &[b"a", b"b"]),
        Some(Errno::EAGAIN),
    );
    assert_eq!(k.write(nb, &[]), Ok(0), "a zero-byte write to a full FIFO");
    assert_eq!(poll(k, nb), POLLIN);
    let got = drain(k);
    assert_eq!(got.len(), 64);
    assert!(got[..50].iter().all(|&b| b == 1) && got[50..].iter().all(|&b| b == 2));
    expect(
        t,
        "capacity back",
        k.sysctl_set("hw.rustfifo.capacity", "65536"),
        None,
    );
}

/// Runs the scenario.
pub fn run(_p: &Params, t: &Tally) {
    let (k, id) = loaded(t);
    let fd = k.open(DEV, O_RDWR).unwrap_or_else(|e| panic!("{e:?}"));
    let nb = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("{e:?}"));
    t.ops_ok(2);
    assert_eq!(k.write(fd, b"kept"), Ok(4));
    let c0 = counters(&k);
    ioctls(t, &k, fd);
    sysctls(t, &k);
    assert_eq!(queued(&k, fd), 4, "FIONREAD");
    assert_eq!(counters(&k), c0, "refused input moved a counter");
    assert_eq!(drain(&k), b"kept", "refused input changed the FIFO");
    below(t, &k, nb);
    nonblocking(t, &k, nb);
    for f in [fd, nb] {
        k.close(f).unwrap_or_else(|e| panic!("{e:?}"));
    }
    finish(t, &k, id);
}
