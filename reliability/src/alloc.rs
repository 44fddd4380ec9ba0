// SPDX-License-Identifier: BSD-2-Clause
//! Allocation-failure sweep.
//!
//! For each operation a user can make (open, writes of several sizes with
//! and without a spare buffer, reads, each ioctl, close, the `maxlen`
//! sysctl), on a fresh kernel prepared the same way each time:
//!
//! 1. count its `M_NOWAIT` allocations with the harness's counters (and
//!    check that it makes no `M_WAITOK` one);
//! 2. for each of them, repeat the operation with exactly that one failing
//!    (`FailPolicy::NthFromNow`): it must return `ENOMEM`; the message,
//!    `RUSTECHO_GETINFO` and every counter are as before except
//!    `hw.rustecho.enomem` (+1); the module's live allocations are back
//!    to the baseline; and the same operation then succeeds;
//! 3. repeat it with every allocation failing (`FailPolicy::All`): an
//!    operation that allocates fails as above, one that does not succeeds.
//!
//! [`run_rate`] runs the "1 in N" workload of [`crate::fuzz`].

use crate::Params;
use crate::device::{Dev, State, pattern};
use crate::tally::Tally;
use echo_testkit::DEFAULT_MAXLEN;
use harness::freebsd::{FIOASYNC, FIONBIO, FIONREAD};
use harness::{Errno, FailPolicy, O_RDONLY, O_RDWR, SysResult};

/// How the file is prepared before the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Just loaded: no file open.
    Nothing,
    /// One file open `O_RDWR`.
    Open,
    /// One file open, after two writes of 2 bytes (a 2-byte spare buffer).
    SmallSpare,
    /// One file open, after two writes of `maxlen` bytes (a spare that
    /// fits every write).
    BigSpare,
    /// One file open `O_RDONLY`, that has read the message once.
    ReadOnce,
}

/// An operation of the sweep.
#[derive(Clone, Copy, Debug)]
enum Action {
    Open(u32),
    Close,
    Write(usize),
    Writev(usize),
    Pread(i64),
    Readv,
    Ioctl(u64, i32),
    Getinfo,
    Clear,
    Maxlen,
}

struct Case {
    name: &'static str,
    setup: Setup,
    action: Action,
    /// What it returns with no fault.
    expect: Option<Errno>,
}

const MAXLEN: usize = DEFAULT_MAXLEN as usize;

fn cases() -> Vec<Case> {
    let case = |name, setup, action, expect| Case {
        name,
        setup,
        action,
        expect,
    };
    vec![
        case("open O_RDWR", Setup::Nothing, Action::Open(O_RDWR), None),
        case(
            "open O_RDONLY",
            Setup::Nothing,
            Action::Open(O_RDONLY),
            None,
        ),
        case("write 0 bytes", Setup::Open, Action::Write(0), None),
        case(
            "write 1 byte, no spare",
            Setup::Open,
            Action::Write(1),
            None,
        ),
        case(
            "write 4 KiB, no spare",
            Setup::Open,
            Action::Write(4096),
            None,
        ),
        case(
            "write maxlen, no spare",
            Setup::Open,
            Action::Write(MAXLEN),
            None,
        ),
        case(
            "writev 3 iovecs 4 KiB",
            Setup::Open,
            Action::Writev(4096),
            None,
        ),
        case(
            "write 1 byte, 2-byte spare",
            Setup::SmallSpare,
            Action::Write(1),
            None,
        ),
        case(
            "write 4 KiB, 2-byte spare",
            Setup::SmallSpare,
            Action::Write(4096),
            None,
        ),
        case(
            "write maxlen, 2-byte spare",
            Setup::SmallSpare,
            Action::Write(MAXLEN),
            None,
        ),
        case(
            "write 4 KiB, maxlen spare",
            Setup::BigSpare,
            Action::Write(4096),
            None,
        ),
        case(
            "write maxlen, maxlen spare",
            Setup::BigSpare,
            Action::Write(MAXLEN),
            None,
        ),
        case(
            "read at 0 (first read)",
            Setup::Open,
            Action::Pread(0),
            None,
        ),
        case(
            "read at 5 (snapshot held)",
            Setup::ReadOnce,
            Action::Pread(5),
            None,
        ),
        case(
            "read at 0 (new snapshot)",
            Setup::ReadOnce,
            Action::Pread(0),
            None,
        ),
        case("readv 3 iovecs", Setup::Open, Action::Readv, None),
        case(
            "ioctl FIONREAD",
            Setup::ReadOnce,
            Action::Ioctl(u64::from(FIONREAD), 0),
            None,
        ),
        case("ioctl RUSTECHO_GETINFO", Setup::Open, Action::Getinfo, None),
        case("ioctl RUSTECHO_CLEAR", Setup::Open, Action::Clear, None),
        case(
            "ioctl RUSTECHO_CLEAR, 2-byte spare",
            Setup::SmallSpare,
            Action::Clear,
            None,
        ),
        case(
            "ioctl FIONBIO 1",
            Setup::Open,
            Action::Ioctl(u64::from(FIONBIO), 1),
            None,
        ),
        case(
            "ioctl FIOASYNC 0",
            Setup::Open,
            Action::Ioctl(u64::from(FIOASYNC), 0),
            None,
        ),
        case(
            "ioctl FIOASYNC 1",
            Setup::Open,
            Action::Ioctl(u64::from(FIOASYNC), 1),
            Some(Errno::EINVAL),
        ),
        case(
            "ioctl unknown",
            Setup::Open,
            Action::Ioctl(harness::ioccom::ior(b'E', 9, 8).unwrap_or_default(), 0),
            Some(Errno::ENOTTY),
        ),
        case("close", Setup::ReadOnce, Action::Close, None),
        case("sysctl maxlen=1000", Setup::Open, Action::Maxlen, None),
    ]
}

/// A kernel prepared for a case: the module loaded and the file set up.
struct Prepared<'t> {
    dev: Dev<'t>,
    id: i32,
    fd: Option<i32>,
}

fn prepare(t: &Tally, setup: Setup) -> Prepared<'_> {
    let (dev, id) = Dev::loaded(t);
    let k = &dev.k;
    let fd = match setup {
        Setup::Nothing => None,
        Setup::Open => Some(k.open(echo_testkit::DEV, O_RDWR).unwrap()),
        Setup::SmallSpare | Setup::BigSpare => {
            let fd = k.open(echo_testkit::DEV, O_RDWR).unwrap();
            let n = if setup == Setup::SmallSpare {
                2
            } else {
                MAXLEN
            };
            for tag in 0..2 {
                assert_eq!(k.write(fd, &pattern(tag, n)).unwrap(), n);
            }
            Some(fd)
        }
        Setup::ReadOnce => {
            let fd = k.open(echo_testkit::DEV, O_RDONLY).unwrap();
            echo_testkit::cat(k, fd, 4096);
            Some(fd)
        }
    };
    Prepared { dev, id, fd }
}

/// The bytes a write of the sweep stores.
fn payload(len: usize) -> Vec<u8> {
    pattern(0x5eed, len)
}

/// Runs the action; returns a new descriptor to close (from an open).
fn act(p: &Prepared<'_>, action: Action) -> SysResult<Option<i32>> {
    let d = &p.dev;
    let fd = p.fd.unwrap_or(-1);
    match action {
        Action::Open(flags) => d.open(flags).map(Some),
        Action::Close => d.close(fd).map(|()| None),
        Action::Write(n) => {
            let data = payload(n);
            let w = d.write(fd, &data)?;
            assert_eq!(w, n, "short write");
            Ok(None)
        }
        Action::Writev(n) => {
            let data = payload(n);
            let (a, rest) = data.split_at(n / 3);
            let (b, c) = rest.split_at(rest.len() / 2);
            assert_eq!(d.writev(fd, &[a, b, c])?, n, "short writev");
            Ok(None)
        }
        Action::Pread(off) => d.pread(fd, &mut [0u8; 4096], off).map(|_| None),
        Action::Readv => {
            let (mut a, mut b, mut c) = ([0u8; 3], [0u8; 0], [0u8; 64]);
            d.readv(fd, &mut [&mut a, &mut b, &mut c]).map(|_| None)
        }
        Action::Ioctl(cmd, arg) => d.ioctl(fd, cmd, &mut arg.to_le_bytes()).map(|()| None),
        Action::Getinfo => d
            .ioctl(
                fd,
                echo_testkit::header().getinfo,
                &mut [0u8; echo_testkit::INFO_SIZE],
            )
            .map(|()| None),
        Action::Clear => d
            .ioctl_raw(fd, echo_testkit::header().clear, 0)
            .map(|()| None),
        Action::Maxlen => d.sysctl_set("maxlen", "1000").map(|()| None),
    }
}

/// After a successful action: what the message must be now (writes).
fn check_success(p: &Prepared<'_>, action: Action, name: &str) {
    let msg = echo_testkit::message(&p.dev.k);
    match action {
        Action::Write(n) | Action::Writev(n) => {
            assert!(msg == payload(n), "{name}: the message is not the write's");
        }
        Action::Clear => assert!(msg.is_empty(), "{name}: not cleared"),
        _ => {}
    }
}

/// Closes what is open, unloads, and moves the kernel's records into `t`.
fn finish(p: Prepared<'_>, extra: Option<i32>, name: &str) {
    let k = &p.dev.k;
    k.set_malloc_failures(FailPolicy::Never);
    for fd in [p.fd, extra].into_iter().flatten() {
        // A closed descriptor (the close case) is EBADF: fine.
        drop(k.close(fd));
    }
    k.kldunload(p.id, false)
        .unwrap_or_else(|e| panic!("{name}: unload: {e:?}"));
    let v = p.dev.t.absorb_kernel(k);
    assert!(v.is_empty(), "{name}: {v:?}");
}

/// Sweeps one case; returns its number of allocations. Failures that
/// left fewer live allocations than before (a spare released) are added
/// to `released`.
fn sweep(t: &Tally, c: &Case, released: &mut Vec<String>) -> u64 {
    // 1. Count.
    let p = prepare(t, c.setup);
    let (nowait0, all0) = (p.dev.k.malloc_nowait_count(), p.dev.k.malloc_count());
    let r = act(&p, c.action);
    let n = p.dev.k.malloc_nowait_count() - nowait0;
    let waitok = p.dev.k.malloc_count() - all0 - n;
    assert_eq!(
        waitok, 0,
        "{}: M_WAITOK allocations in a user operation",
        c.name
    );
    assert_eq!(
        r.as_ref().err().and_then(harness::Error::errno),
        c.expect,
        "{}",
        c.name
    );
    if r.is_ok() {
        check_success(&p, c.action, c.name);
    }
    finish(p, r.ok().flatten(), c.name);
    // 2. Fail each allocation in turn; 3. (i = 0) fail all of them.
    for i in (1..=n).chain([0]) {
        let what = if i == 0 {
            format!("{}, every allocation failing", c.name)
        } else {
            format!("{}, allocation {i} of {n} failing", c.name)
        };
        let p = prepare(t, c.setup);
        let k = &p.dev.k;
        let before = State::capture(k);
        k.set_malloc_failures(if i == 0 {
            FailPolicy::All
        } else {
            FailPolicy::NthFromNow(i)
        });
        let r = act(&p, c.action);
        k.set_malloc_failures(FailPolicy::Never);
        let after = State::capture(k);
        if n == 0 {
            // Nothing to fail: the operation is not affected.
            assert_eq!(
                r.as_ref().err().and_then(harness::Error::errno),
                c.expect,
                "{what}"
            );
            finish(p, r.ok().flatten(), &what);
            continue;
        }
        t.faults(1);
        assert!(
            matches!(&r, Err(e) if *e == Errno::ENOMEM),
            "{what}: got {r:?}, want ENOMEM"
        );
        let write = matches!(c.action, Action::Write(_) | Action::Writev(_));
        before
            .expect_same_or_less(&after, &[("enomem", 1)], t, write)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if after.live_allocs < before.live_allocs {
            released.push(format!(
                "{what}: {} -> {}",
                before.live_allocs, after.live_allocs
            ));
        }
        // The next operation works.
        let again = act(&p, c.action);
        assert_eq!(
            again.as_ref().err().and_then(harness::Error::errno),
            c.expect,
            "{what}: the next operation: {again:?}"
        );
        if again.is_ok() {
            check_success(&p, c.action, &what);
        }
        finish(p, again.ok().flatten(), &what);
    }
    n
}

/// The sweep.
///
/// # Panics
/// On the first failed check.
pub fn run(_params: &Params, t: &Tally) {
    let mut counts = Vec::new();
    let mut released = Vec::new();
    for c in cases() {
        let n = sweep(t, &c, &mut released);
        counts.push(format!("{} {n}", c.name));
    }
    t.note(format!(
        "alloc: M_NOWAIT allocations per operation (each failed in turn, then all): {}",
        counts.join("; ")
    ));
    if !released.is_empty() {
        t.note(format!(
            "alloc: failed writes that released a too-small spare (fewer live allocations, \
             allowed): {}",
            released.join("; ")
        ));
    }
}

/// "1 in N": the fuzzing strategy's steps, with every Nth allocation
/// failing for the whole run, for several N.
///
/// # Panics
/// On the first difference from the model.
pub fn run_rate(params: &Params, t: &Tally) {
    let mut fired = Vec::new();
    for (i, n) in [2u64, 3, 5, 8, 13].into_iter().enumerate() {
        let seed = params.seed.wrapping_add(i as u64);
        let f = crate::fuzz::rate_workload(n, params.rate_steps, seed, t)
            .unwrap_or_else(|e| panic!("1 in {n} (seed {seed}): {e}"));
        fired.push(format!("1 in {n}: {f} ENOMEM"));
    }
    t.note(format!(
        "alloc-rate: {} steps per run, model-checked: {}",
        params.rate_steps,
        fired.join(", ")
    ));
}
