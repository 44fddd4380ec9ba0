// SPDX-License-Identifier: BSD-2-Clause
//! Bad input: each gets its documented errno (`rustecho(4)`, and the
//! system calls' own pages for what the kernel refuses before the driver)
//! and changes nothing but its counter.
//!
//! Writes of zero bytes, of `maxlen + 1` and more, in one and in several
//! iovecs; `IOV_MAX` (`UIO_MAXIOV`) and `IOV_MAX + 1` iovecs; a total above
//! `IOSIZE_MAX`; reads at offsets past the end, huge and negative; unknown
//! and malformed ioctls (wrong size, wrong direction bits, no direction,
//! `IOCPARM_MAX + 1`, a short or NULL argument); `maxlen` values out of
//! range or not numbers, of the wrong size, from a non-root user; opens
//! with each access mode and odd flags (`O_NONBLOCK`, `O_APPEND`,
//! `O_TRUNC`, ...), and calls the mode forbids.

use crate::Params;
use crate::device::{Dev, State, pattern};
use crate::tally::Tally;
use echo_testkit::{DEFAULT_MAXLEN, DEV};
use harness::freebsd::{
    FIOASYNC, FIONBIO, FIONREAD, IOC_IN, IOC_OUT, IOC_VOID, IOCPARM_MASK, IOCPARM_MAX, O_ACCMODE,
    O_APPEND, O_CREAT, O_DIRECT, O_FSYNC, O_NOFOLLOW, O_TRUNC, UIO_MAXIOV,
};
use harness::ioccom::{io, ior, iow, iowr};
use harness::{Cred, Errno, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SysResult, Whence};

const MAXLEN: usize = DEFAULT_MAXLEN as usize;

/// Runs bad inputs and counts them.
struct Checker<'a, 't> {
    d: &'a Dev<'t>,
    cases: usize,
}

impl Checker<'_, '_> {
    /// `op` must return `want` (`None`: success) and leave the device as it
    /// was, but for `deltas` on the counters.
    fn same(
        &mut self,
        what: &str,
        want: Option<Errno>,
        deltas: &[(&str, u64)],
        op: impl FnOnce(&Dev<'_>) -> SysResult<()>,
    ) {
        self.cases += 1;
        let before = State::capture(&self.d.k);
        let r = op(self.d);
        assert_eq!(
            r.as_ref().err().and_then(harness::Error::errno),
            want,
            "{what}: {r:?}"
        );
        let after = State::capture(&self.d.k);
        before
            .expect_same(&after, deltas, self.d.t)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }

    /// `op` must succeed and leave `message` as the message, one generation
    /// later, with `deltas` on the counters.
    fn changes(
        &mut self,
        what: &str,
        message: &[u8],
        deltas: &[(&str, u64)],
        op: impl FnOnce(&Dev<'_>) -> SysResult<()>,
    ) {
        self.cases += 1;
        let before = State::capture(&self.d.k);
        op(self.d).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let after = State::capture(&self.d.k);
        assert!(after.message == message, "{what}: wrong message");
        assert_eq!(after.generation, before.generation + 1, "{what}");
        assert_eq!(
            after.counters,
            before.counters_after.plus_all(deltas),
            "{what}: {}",
            after.counters.diff(&before.counters_after)
        );
    }
}

fn ok<T>(r: SysResult<T>) -> SysResult<()> {
    r.map(drop)
}

/// A raw ioctl command: `inout | len << 16 | group << 8 | num`, with no
/// check of `len` (so that it can overflow into the direction bits).
fn raw_cmd(inout: u32, len: u32, num: u8) -> u64 {
    u64::from(inout | (len << 16) | (u32::from(b'E') << 8) | u32::from(num))
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
#[allow(clippy::too_many_lines, reason = "one list of cases")]
pub fn run(_params: &Params, t: &Tally) {
    let (d, id) = Dev::loaded(t);
    let k = &d.k;
    let rw = k.open(DEV, O_RDWR).unwrap();
    let ro = k.open(DEV, O_RDONLY).unwrap();
    let wo = k.open(DEV, O_WRONLY).unwrap();
    let base = pattern(7, 1000);
    k.write(rw, &base).unwrap();
    let mut c = Checker { d: &d, cases: 0 };
    let efbig = [("efbig", 1)];

    // Writes.
    let big = pattern(8, 2 * MAXLEN);
    c.same("write maxlen + 1", Some(Errno::EFBIG), &efbig, |d| {
        ok(d.write(rw, &big[..=MAXLEN]))
    });
    c.same("write 2 * maxlen", Some(Errno::EFBIG), &efbig, |d| {
        ok(d.write(rw, &big))
    });
    c.same("writev maxlen + 1 in 2", Some(Errno::EFBIG), &efbig, |d| {
        ok(d.writev(rw, &[&big[..MAXLEN / 2], &big[MAXLEN / 2..=MAXLEN]]))
    });
    let one = [b'x'; 1];
    let too_many: Vec<&[u8]> = vec![&one; UIO_MAXIOV as usize + 1];
    c.same("writev IOV_MAX + 1 iovecs", Some(Errno::EINVAL), &[], |d| {
        ok(d.writev(rw, &too_many))
    });
    // Above IOSIZE_MAX (INT_MAX) in total: refused before any copy (the
    // pages of this buffer are never touched).
    let huge = vec![0u8; 1 << 30];
    c.same("writev 3 GiB in total", Some(Errno::EINVAL), &[], |d| {
        ok(d.writev(rw, &[&huge, &huge, &huge]))
    });
    drop(huge);
    let iov_max: Vec<u8> = pattern(9, UIO_MAXIOV as usize);
    let singles: Vec<&[u8]> = iov_max.chunks(1).collect();
    c.changes(
        "writev IOV_MAX iovecs",
        &iov_max,
        &[("writes", 1), ("bytes_in", u64::from(UIO_MAXIOV))],
        |d| ok(d.writev(rw, &singles)),
    );
    let empties: Vec<&[u8]> = vec![&[]; UIO_MAXIOV as usize];
    c.changes("writev IOV_MAX empty iovecs", b"", &[("writes", 1)], |d| {
        ok(d.writev(rw, &empties))
    });
    c.changes("write 0 bytes", b"", &[("writes", 1)], |d| {
        ok(d.write(rw, b""))
    });
    k.write(rw, &base).unwrap();
    let appended = pattern(10, 10);
    let app = k.open(DEV, O_WRONLY | O_APPEND).unwrap();
    c.changes(
        "write on O_APPEND (replaces)",
        &appended,
        &[("writes", 1), ("bytes_in", 10)],
        |d| ok(d.write(app, &appended)),
    );
    k.close(app).unwrap();
    k.write(rw, &base).unwrap();

    // Reads.
    let len = base.len() as i64;
    for off in [len, len + 1, 4096, 1 << 31, 1 << 32, i64::MAX - 1, i64::MAX] {
        c.same(
            &format!("pread at {off} (past the end)"),
            None,
            &[("reads", 1)],
            |d| {
                let n = d.pread(ro, &mut [0u8; 64], off)?;
                assert_eq!(n, 0, "pread at {off}");
                Ok(())
            },
        );
    }
    for off in [-1, -4096, i64::MIN] {
        c.same(&format!("pread at {off}"), Some(Errno::EINVAL), &[], |d| {
            ok(d.pread(ro, &mut [0u8; 64], off))
        });
    }
    c.same("read after lseek(-5)", Some(Errno::EINVAL), &[], |d| {
        d.lseek(ro, -5, Whence::Set)?;
        ok(d.read(ro, &mut [0u8; 64]))
    });
    k.lseek(ro, 0, Whence::Set).unwrap();
    c.same("read of 0 bytes", None, &[], |d| ok(d.read(ro, &mut [])));
    let mut cells = vec![[0u8; 1]; UIO_MAXIOV as usize + 1];
    c.same("readv IOV_MAX + 1 iovecs", Some(Errno::EINVAL), &[], |d| {
        let mut refs: Vec<&mut [u8]> = cells.iter_mut().map(|b| b.as_mut_slice()).collect();
        ok(d.readv(ro, &mut refs))
    });
    c.same(
        "readv IOV_MAX iovecs",
        None,
        &[("reads", 1), ("bytes_out", base.len() as u64)],
        |d| {
            let mut refs: Vec<&mut [u8]> = cells[..UIO_MAXIOV as usize]
                .iter_mut()
                .map(|b| b.as_mut_slice())
                .collect();
            d.k.lseek(ro, 0, Whence::Set)?;
            let n = d.readv(ro, &mut refs)?;
            assert_eq!(n, base.len().min(UIO_MAXIOV as usize));
            Ok(())
        },
    );
    assert!(
        cells[..base.len()]
            .iter()
            .map(|c| c[0])
            .eq(base.iter().copied()),
        "readv IOV_MAX iovecs: wrong bytes"
    );

    // Ioctls: unknown, malformed, refused.
    let h = echo_testkit::header();
    let enotty: [(&str, u64); 13] = [
        ("_IO('E', 3)", io(b'E', 3)),
        ("GETINFO without size (_IO('E', 2))", io(b'E', 2)),
        (
            "CLEAR with data (_IOW('E', 1, int))",
            iow(b'E', 1, 4).unwrap_or(0),
        ),
        ("GETINFO of 16 bytes", ior(b'E', 2, 16).unwrap_or(0)),
        ("GETINFO of 32 bytes", ior(b'E', 2, 32).unwrap_or(0)),
        ("GETINFO as _IOW", iow(b'E', 2, 24).unwrap_or(0)),
        ("GETINFO as _IOWR", iowr(b'E', 2, 24).unwrap_or(0)),
        ("GETINFO of another group", ior(b'F', 2, 24).unwrap_or(0)),
        ("no direction bits", raw_cmd(0, 24, 2)),
        ("IOC_VOID with 8 bytes", raw_cmd(IOC_VOID, 8, 1)),
        ("IOC_OUT with 0 bytes", raw_cmd(IOC_OUT, 0, 2)),
        (
            "IOCPARM_MAX + 1 bytes",
            raw_cmd(IOC_OUT, IOCPARM_MAX + 1, 2),
        ),
        (
            "IOCPARM_MASK bytes, unknown",
            raw_cmd(IOC_IN, IOCPARM_MASK, 9),
        ),
    ];
    for (what, cmd) in enotty {
        assert!(cmd != 0 && cmd != h.getinfo && cmd != h.clear, "{what}");
        c.same(&format!("ioctl {what}"), Some(Errno::ENOTTY), &[], |d| {
            ok(d.ioctl(rw, cmd, &mut vec![0u8; 8192]))
        });
    }
    c.same("ioctl CLEAR on O_RDONLY", Some(Errno::EBADF), &[], |d| {
        ok(d.ioctl_raw(ro, h.clear, 0))
    });
    c.same("ioctl FIOASYNC 1", Some(Errno::EINVAL), &[], |d| {
        ok(d.ioctl(rw, u64::from(FIOASYNC), &mut 1i32.to_le_bytes()))
    });
    c.same(
        "ioctl GETINFO, 16-byte buffer",
        Some(Errno::EFAULT),
        &[],
        |d| ok(d.ioctl(rw, h.getinfo, &mut [0u8; 16])),
    );
    c.same("ioctl FIONREAD, NULL", Some(Errno::EFAULT), &[], |d| {
        ok(d.ioctl_raw(rw, u64::from(FIONREAD), 0))
    });
    c.same("ioctl FIONBIO, NULL", Some(Errno::EFAULT), &[], |d| {
        ok(d.ioctl_raw(rw, u64::from(FIONBIO), 0))
    });
    c.same("ioctl GETINFO on O_WRONLY", None, &[], |d| {
        ok(d.ioctl(wo, h.getinfo, &mut [0u8; echo_testkit::INFO_SIZE]))
    });

    // sysctl hw.rustecho.maxlen.
    for v in [
        "0",
        "16777217",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "abc",
        "",
        "1.5",
        "1e3",
        "64k",
    ] {
        c.same(&format!("maxlen={v:?}"), Some(Errno::EINVAL), &[], |d| {
            d.sysctl_set("maxlen", v)
        });
    }
    c.same("maxlen, a 4-byte value", Some(Errno::EINVAL), &[], |d| {
        let r =
            d.k.sysctl_raw("hw.rustecho.maxlen", None, Some(&100u32.to_le_bytes()));
        d.t.op(&r);
        ok(r)
    });
    let wheel = d.k.with_cred(Cred {
        uid: 1001,
        gid: 1001,
        groups: vec![1001, 0],
    });
    c.same(
        "maxlen=100 by a wheel member",
        Some(Errno::EPERM),
        &[],
        |d| {
            let r = wheel.sysctl_set("hw.rustecho.maxlen", "100");
            d.t.op(&r);
            r
        },
    );
    c.same("writes=0 (read-only)", Some(Errno::EPERM), &[], |d| {
        d.sysctl_set("writes", "0")
    });

    // Opens.
    let flags = [
        ("O_RDONLY", O_RDONLY),
        ("O_WRONLY", O_WRONLY),
        ("O_RDWR", O_RDWR),
        ("O_RDWR | O_NONBLOCK", O_RDWR | O_NONBLOCK),
        ("O_WRONLY | O_APPEND", O_WRONLY | O_APPEND),
        ("O_WRONLY | O_TRUNC", O_WRONLY | O_TRUNC),
        ("O_RDWR | O_TRUNC | O_APPEND", O_RDWR | O_TRUNC | O_APPEND),
        ("O_RDWR | O_DIRECT", O_RDWR | O_DIRECT),
        ("O_RDWR | O_FSYNC", O_RDWR | O_FSYNC),
        ("O_RDWR | O_CREAT", O_RDWR | O_CREAT),
        ("O_RDONLY | O_NOFOLLOW", O_RDONLY | O_NOFOLLOW),
    ];
    for (what, f) in flags {
        c.same(&format!("open {what}"), None, &[("opens", 1)], |d| {
            let fd = d.open(f)?;
            d.close(fd)
        });
    }
    c.same("open O_ACCMODE", Some(Errno::EINVAL), &[], |d| {
        ok(d.open(O_ACCMODE))
    });
    let other = d.k.with_cred(Cred::user(1001, 1001));
    c.same(
        "open by a user outside wheel",
        Some(Errno::EACCES),
        &[],
        |d| {
            let r = other.open(DEV, O_RDONLY);
            d.t.op(&r);
            ok(r)
        },
    );
    c.same("write on O_RDONLY", Some(Errno::EBADF), &[], |d| {
        ok(d.write(ro, b"x"))
    });
    c.same("writev on O_RDONLY", Some(Errno::EBADF), &[], |d| {
        ok(d.writev(ro, &[b"x", b"y"]))
    });
    c.same("read on O_WRONLY", Some(Errno::EBADF), &[], |d| {
        ok(d.read(wo, &mut [0u8; 8]))
    });
    c.same("pread on O_WRONLY", Some(Errno::EBADF), &[], |d| {
        ok(d.pread(wo, &mut [0u8; 8], 0))
    });
    c.same("readv on O_WRONLY", Some(Errno::EBADF), &[], |d| {
        let mut b = [0u8; 8];
        ok(d.readv(wo, &mut [&mut b]))
    });
    c.same(
        "write on a closed descriptor",
        Some(Errno::EBADF),
        &[],
        |d| ok(d.write(9999, b"x")),
    );
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    c.changes(
        "write on O_NONBLOCK",
        b"nb",
        &[("writes", 1), ("bytes_in", 2)],
        |d| ok(d.write(nb, b"nb")),
    );
    k.close(nb).unwrap();

    for fd in [rw, ro, wo] {
        k.close(fd).unwrap();
    }
    k.kldunload(id, false).unwrap();
    let v = t.absorb_kernel(k);
    assert!(v.is_empty(), "{v:?}");
    t.note(format!(
        "input: {} bad inputs, each with its errno",
        c.cases
    ));
}
