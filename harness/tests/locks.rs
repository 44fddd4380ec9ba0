// SPDX-License-Identifier: BSD-2-Clause
//! The WITNESS-like checks on mutex(9) and sx(9), with kldtest_sleep.

use harness::ioccom::{io, ior, iow};
use harness::testing::module_path;
use harness::{Kernel, O_RDWR, ViolationKind};

const DEV: &str = "/dev/kldtest_sleep";

fn setup() -> (Kernel, i32) {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_sleep")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd)
}

fn only_violation(k: &Kernel) -> String {
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Lock);
    v[0].message.clone()
}

#[test]
fn uiomove_under_a_mutex_is_reported_with_its_name() {
    let (k, fd) = setup();
    let mut buf = [0u8; 64];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 23);
    let m = only_violation(&k);
    assert!(
        m.starts_with("Calling uiomove() with the following non-sleepable locks held:"),
        "{m}"
    );
    assert!(m.contains("kldtest_sleep a"), "{m}");
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn malloc_waitok_copyout_and_sx_under_a_mutex() {
    let (k, fd) = setup();
    k.ioctl_raw(fd, io(b'W', 1), 0).unwrap();
    assert!(only_violation(&k).starts_with("malloc(M_WAITOK) with"));
    k.ioctl_raw(fd, io(b'W', 6), 0).unwrap();
    assert!(only_violation(&k).contains("Acquiring sx lock \"kldtest_sleep sx\""));
    let out = k.user_buf(vec![0; 4]);
    k.ioctl(fd, iow(b'W', 7, 8).unwrap(), &mut out.addr().to_le_bytes())
        .unwrap();
    assert!(only_violation(&k).starts_with("copyout with"));
    assert_eq!(out.bytes(), b"slee");
    // Under Giant it is fine: Giant may be held across sleeps.
    k.ioctl_raw(fd, io(b'W', 8), 0).unwrap();
    assert!(k.violations().is_empty());
    k.close(fd).unwrap();
}

#[test]
fn lock_order_reversal() {
    let (k, fd) = setup();
    k.ioctl_raw(fd, io(b'W', 2), 0).unwrap();
    let m = only_violation(&k);
    assert!(
        m.contains("lock order reversal")
            && m.contains("1st kldtest_sleep b")
            && m.contains("2nd kldtest_sleep a"),
        "{m}"
    );
    k.close(fd).unwrap();
}

#[test]
fn unlocking_an_unowned_mutex_and_returning_with_one_held() {
    let (k, fd) = setup();
    k.ioctl_raw(fd, io(b'W', 4), 0).unwrap();
    assert!(only_violation(&k).starts_with("mutex kldtest_sleep a not owned at"));
    k.ioctl_raw(fd, io(b'W', 5), 0).unwrap();
    assert!(only_violation(&k).contains("userret: Returning with 1 locks held: kldtest_sleep a"));
    // Released by the check: others can take it again.
    let mut r = [0u8; 4];
    k.ioctl(fd, ior(b'W', 9, 4).unwrap(), &mut r).unwrap();
    assert_eq!(i32::from_le_bytes(r), 11, "both trylocks succeed");
    k.close(fd).unwrap();
}

#[test]
fn recursing_on_a_non_recursive_mutex_panics() {
    let (k, fd) = setup();
    let e = k.ioctl_raw(fd, io(b'W', 3), 0).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("recursed on non-recursive mutex kldtest_sleep a"),
        "{msg}"
    );
    assert!(k.expect_panic().is_some());
    assert!(
        k.take_violations()
            .iter()
            .any(|v| v.message.contains("recursed"))
    );
    // The kernel is dead: every call fails with the panic.
    assert!(matches!(k.open(DEV, O_RDWR), Err(harness::Error::Panic(_))));
}

/// The INVARIANTS rules of `lock_init` and destroyed locks, with
/// kldtest_lockinit: each mistake panics the kernel with FreeBSD's
/// message; the correct way to do the same thing passes.
mod lock_init {
    use harness::ioccom::io;
    use harness::testing::module_path;
    use harness::{Error, Kernel, O_RDWR};

    const DEV: &str = "/dev/kldtest_lockinit";

    /// Runs ioctl `n` on a fresh kernel; returns the kernel and the
    /// result.
    fn run(n: u8) -> (Kernel, harness::SysResult<()>) {
        let k = Kernel::new();
        k.kldload(module_path("kldtest_lockinit")).unwrap();
        let fd = k.open(DEV, O_RDWR).unwrap();
        let r = k.ioctl_raw(fd, io(b'L', n), 0);
        if r.is_ok() {
            k.close(fd).unwrap();
        }
        (k, r)
    }

    /// Ioctl `n` panics with a message that starts with `start` and
    /// contains `rest`.
    fn panics(n: u8, start: &str, rest: &str) -> String {
        let (k, r) = run(n);
        let Err(Error::Panic(msg)) = r else {
            panic!("ioctl {n} did not panic: {r:?}\n{}", k.dmesg());
        };
        assert!(msg.starts_with(start) && msg.contains(rest), "{msg}");
        assert_eq!(k.expect_panic().as_deref(), Some(msg.as_str()));
        assert!(k.dmesg().contains(&format!("panic: {msg}\n")));
        k.take_violations();
        msg
    }

    fn passes(n: u8) {
        let (k, r) = run(n);
        r.unwrap_or_else(|e| panic!("ioctl {n}: {e}\n{}", k.dmesg()));
        k.check().unwrap();
    }

    #[test]
    fn mtx_init_on_unzeroed_malloc_memory_panics() {
        let m = panics(
            1,
            "lock \"kldtest_lockinit poisoned\" 0x",
            " already initialized",
        );
        assert!(!m.contains("(null)"), "{m}");
    }

    #[test]
    fn sx_init_on_unzeroed_malloc_memory_panics() {
        panics(
            2,
            "lock \"kldtest_lockinit poisoned sx\" 0x",
            " already initialized",
        );
    }

    /// Freeing memory that holds locks never destroyed: both are reported
    /// (by name), and forgotten, so the memory's next user starts afresh.
    #[test]
    fn freeing_initialised_locks_is_reported() {
        let (k, r) = run(8);
        r.unwrap();
        let v = k.take_violations();
        assert_eq!(v.len(), 2, "{v:?}");
        for (v, name) in v.iter().zip([
            "\"kldtest_lockinit freed\" (sleep mutex)",
            "\"kldtest_lockinit freed sx\" (sx)",
        ]) {
            assert_eq!(v.kind, harness::ViolationKind::Lock, "{v:?}");
            assert!(
                v.message.starts_with(&format!("lock {name} at 0x"))
                    && v.message.ends_with(
                        "still initialised when its memory was freed \
                         (missing mtx_destroy/sx_destroy)"
                    ),
                "{v:?}"
            );
        }
        k.check().unwrap();
    }

    /// The same memory with its locks destroyed first is no violation.
    #[test]
    fn freeing_destroyed_locks_passes() {
        passes(10);
    }

    #[test]
    fn mtx_init_twice_panics() {
        panics(
            3,
            "lock \"kldtest_lockinit twice\" 0x",
            " already initialized",
        );
    }

    #[test]
    fn destroying_a_held_sx_lock_panics() {
        let (k, r) = run(4);
        assert_eq!(r.unwrap_err(), Error::Panic("sx lock still held".into()));
        let v = k.take_violations();
        assert!(
            v.iter()
                .any(|v| v.message == "sx_destroy: sx lock kldtest_lockinit held sx still held"),
            "{v:?}"
        );
        k.expect_panic();
    }

    #[test]
    fn locking_a_destroyed_mutex_panics() {
        panics(5, "mtx_lock() of destroyed mutex @ ", "kldtest_lockinit.c:");
    }

    #[test]
    fn locking_a_destroyed_sx_panics() {
        panics(6, "sx_xlock() of destroyed sx @ ", "kldtest_lockinit.c:");
    }

    #[test]
    fn unlocking_a_destroyed_mutex_panics() {
        panics(
            7,
            "mtx_unlock() of destroyed mutex @ ",
            "kldtest_lockinit.c:",
        );
    }

    #[test]
    fn locks_on_zeroed_memory_pass() {
        passes(10);
    }

    #[test]
    fn mtx_new_and_sx_new_on_unzeroed_memory_pass() {
        passes(11);
    }

    #[test]
    fn a_destroyed_lock_may_be_initialised_again() {
        passes(12);
    }

    #[test]
    fn destroying_a_mutex_the_thread_holds_passes() {
        passes(13);
    }
}
