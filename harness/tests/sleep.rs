// SPDX-License-Identifier: BSD-2-Clause
//! sleep(9) and condvar(9): blocking, wakeups, signals (`EINTR`,
//! `ERESTART` and the restarted call), timeouts on the virtual clock,
//! `d_purge` at `destroy_dev`, and the rules a sleep must follow, with
//! kldtest_block.

use harness::ioccom::{io, ior, iow, iowr};
use harness::testing::module_path;
use harness::{Errno, Error, Kernel, O_NONBLOCK, O_RDWR, ViolationKind};
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/kldtest_block";
const WAIT: Duration = Duration::from_secs(10);

fn setup() -> (Kernel, i32) {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_block")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd)
}

/// `struct kb_stats`: sleeps, EINTR, ERESTART, EWOULDBLOCK seen by read.
fn stats(k: &Kernel, fd: i32) -> [i32; 4] {
    let mut b = [0u8; 16];
    k.ioctl(fd, ior(b'B', 1, 16).unwrap(), &mut b).unwrap();
    let mut s = [0i32; 4];
    for (i, v) in s.iter_mut().enumerate() {
        *v = i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
    }
    s
}

fn int_ioctl(k: &Kernel, fd: i32, cmd: u64, v: i32) -> Result<i32, Error> {
    let mut b = v.to_le_bytes();
    k.ioctl(fd, cmd, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// A reader thread blocked in read(2); returns its handle.
fn blocked_reader(k: &Kernel, fd: i32) -> thread::JoinHandle<Result<Vec<u8>, Error>> {
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let mut buf = [0u8; 16];
        k2.read(fd, &mut buf).map(|n| buf[..n].to_vec())
    });
    assert!(k.wait_for_sleepers("kbread", 1, WAIT), "{:?}", k.sleepers());
    h
}

/// The one violation of the sleep rules (a panic in module code may
/// also leave a lock behind, which `userret` reports as well).
fn only_violation(k: &Kernel) -> String {
    let v: Vec<_> = k
        .take_violations()
        .into_iter()
        .filter(|v| !v.message.starts_with("userret:"))
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Sleep, "{v:?}");
    v[0].message.clone()
}

#[test]
fn a_read_sleeps_until_a_write_wakes_it() {
    let (k, fd) = setup();
    let h = blocked_reader(&k, fd);
    let s = k.sleepers();
    assert_eq!(s.len(), 1);
    assert!(s[0].interruptible && !s[0].timed);
    assert_eq!(s[0].thread, h.thread().id());
    assert_eq!(k.dev_threads("kldtest_block"), Some(1));
    k.write(fd, b"hello").unwrap();
    assert_eq!(h.join().unwrap().unwrap(), b"hello");
    assert_eq!(stats(&k, fd)[0], 1);
    assert!(k.wakeup_count() >= 1);
    // Non-blocking: EAGAIN (EWOULDBLOCK) without sleeping.
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    assert_eq!(
        k.read(nb, &mut [0u8; 4]).unwrap_err(),
        Error::Errno(Errno::EAGAIN)
    );
    k.check().unwrap();
}

#[test]
fn wakeup_wakes_every_sleeper_and_wakeup_one_the_oldest() {
    let (k, fd) = setup();
    let a = blocked_reader(&k, fd);
    let k2 = k.clone();
    let b = thread::spawn(move || {
        let mut buf = [0u8; 16];
        k2.read(fd, &mut buf).map(|n| buf[..n].to_vec())
    });
    assert!(k.wait_for_sleepers("kbread", 2, WAIT));
    // wakeup_one: only the oldest sleeper wakes and takes the byte.
    int_ioctl(&k, fd, iow(b'B', 3, 4).unwrap(), 1).unwrap();
    k.write(fd, b"1").unwrap();
    assert_eq!(a.join().unwrap().unwrap(), b"1");
    assert_eq!(stats(&k, fd)[0], 2, "the other reader did not wake");
    assert_eq!(k.sleepers().len(), 1);
    // wakeup: everyone wakes.
    int_ioctl(&k, fd, iow(b'B', 3, 4).unwrap(), 0).unwrap();
    k.write(fd, b"2").unwrap();
    assert_eq!(b.join().unwrap().unwrap(), b"2");
    k.check().unwrap();
}

#[test]
fn a_signal_without_sa_restart_interrupts_with_eintr() {
    let (k, fd) = setup();
    let h = blocked_reader(&k, fd);
    assert!(k.post_signal(h.thread().id(), false));
    assert_eq!(h.join().unwrap().unwrap_err(), Error::Errno(Errno::EINTR));
    assert_eq!(stats(&k, fd), [1, 1, 0, 0]);
    // A thread outside the kernel takes the signal in user space.
    assert!(!k.post_signal(thread::current().id(), false));
    k.check().unwrap();
}

#[test]
fn a_signal_with_sa_restart_restarts_the_read() {
    let (k, fd) = setup();
    let h = blocked_reader(&k, fd);
    assert!(k.post_signal(h.thread().id(), true));
    // msleep returned ERESTART, the read was restarted and sleeps again.
    let t0 = std::time::Instant::now();
    while stats(&k, fd)[0] < 2 {
        assert!(t0.elapsed() < WAIT, "the read was not restarted");
        thread::sleep(Duration::from_millis(2));
    }
    assert!(k.wait_for_sleepers("kbread", 1, WAIT));
    assert_eq!(stats(&k, fd), [2, 0, 1, 0]);
    k.write(fd, b"again").unwrap();
    assert_eq!(h.join().unwrap().unwrap(), b"again");
    k.check().unwrap();
}

#[test]
fn a_timed_sleep_ends_with_ewouldblock_when_the_clock_reaches_it() {
    let (k, fd) = setup();
    int_ioctl(&k, fd, iow(b'B', 2, 4).unwrap(), 10).unwrap();
    let h = blocked_reader(&k, fd);
    assert!(k.sleepers()[0].timed);
    // Five ticks are not enough.
    k.advance_clock(Duration::from_millis(5));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(k.sleepers().len(), 1);
    k.advance_clock(Duration::from_millis(10));
    assert_eq!(h.join().unwrap().unwrap_err(), Error::Errno(Errno::EAGAIN));
    assert_eq!(stats(&k, fd), [1, 0, 0, 1]);
    k.check().unwrap();
}

#[test]
fn destroy_dev_wakes_sleepers_through_d_purge_at_unload() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_block")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let h = blocked_reader(&k, fd);
    k.kldunload(id, false).unwrap();
    assert_eq!(h.join().unwrap().unwrap_err(), Error::Errno(Errno::ENXIO));
    assert!(k.devices().iter().all(|d| d.name != "kldtest_block"));
    assert_eq!(
        k.read(fd, &mut [0u8; 1]).unwrap_err(),
        Error::Errno(Errno::ENXIO)
    );
    k.close(fd).unwrap();
    k.check().unwrap();
}

/// `KB_CVWAIT` with `how` on a thread; returns its handle.
fn cv_waiter(k: &Kernel, fd: i32, how: i32) -> thread::JoinHandle<Result<i32, Error>> {
    let k2 = k.clone();
    let h = thread::spawn(move || int_ioctl(&k2, fd, iowr(b'B', 4, 4).unwrap(), how));
    assert!(k.wait_for_sleepers("kbcv", 1, WAIT), "{:?}", k.sleepers());
    h
}

#[test]
fn condition_variables_signal_broadcast_and_their_errors() {
    let (k, fd) = setup();
    let signal = iow(b'B', 5, 4).unwrap();
    // cv_wait, cv_signal.
    let h = cv_waiter(&k, fd, 0);
    int_ioctl(&k, fd, signal, 0).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 0);
    // cv_wait_unlock returns without the mutex.
    let h = cv_waiter(&k, fd, 4);
    int_ioctl(&k, fd, signal, 0).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 0);
    // cv_wait_sig: EINTR, ERESTART (the ioctl is restarted).
    let h = cv_waiter(&k, fd, 1);
    assert!(k.post_signal(h.thread().id(), false));
    assert_eq!(h.join().unwrap().unwrap(), Errno::EINTR.0);
    // cv_wait_sig with SA_RESTART: ERESTART.
    let h = cv_waiter(&k, fd, 1);
    assert!(k.post_signal(h.thread().id(), true));
    assert_eq!(h.join().unwrap().unwrap(), Errno::ERESTART.0);
    // An ioctl that returns ERESTART runs again (the argument copied in
    // again), and waits until the condition holds.
    let k2 = k.clone();
    let h = thread::spawn(move || int_ioctl(&k2, fd, iow(b'B', 8, 4).unwrap(), 1));
    assert!(k.wait_for_sleepers("kbcv", 1, WAIT));
    assert!(k.post_signal(h.thread().id(), true));
    let t0 = std::time::Instant::now();
    while !(k.sleepers().len() == 1 && k.sleepers()[0].wmesg == "kbcv" && !h.is_finished()) {
        assert!(t0.elapsed() < WAIT);
        thread::sleep(Duration::from_millis(2));
    }
    thread::sleep(Duration::from_millis(20));
    assert!(!h.is_finished(), "the ioctl was restarted");
    int_ioctl(&k, fd, signal, 0).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), 1);
    // cv_timedwait: EWOULDBLOCK after 10 ticks.
    let h = cv_waiter(&k, fd, 2);
    k.advance_clock(Duration::from_millis(10));
    assert_eq!(h.join().unwrap().unwrap(), Errno::EAGAIN.0);
    // cv_timedwait_sig interrupted.
    let h = cv_waiter(&k, fd, 3);
    assert!(k.post_signal(h.thread().id(), false));
    assert_eq!(h.join().unwrap().unwrap(), Errno::EINTR.0);
    // cv_broadcast wakes both waiters.
    let a = cv_waiter(&k, fd, 0);
    let k2 = k.clone();
    let b = thread::spawn(move || int_ioctl(&k2, fd, iowr(b'B', 4, 4).unwrap(), 0));
    assert!(k.wait_for_sleepers("kbcv", 2, WAIT));
    int_ioctl(&k, fd, signal, 1).unwrap();
    assert_eq!(a.join().unwrap().unwrap(), 0);
    assert_eq!(b.join().unwrap().unwrap(), 0);
    k.check().unwrap();
}

#[test]
fn pdrop_leaves_the_mutex_released_and_sx_sleep_retakes_the_sx() {
    let (k, fd) = setup();
    let h = {
        let k2 = k.clone();
        thread::spawn(move || int_ioctl(&k2, fd, ior(b'B', 6, 4).unwrap(), 0))
    };
    assert!(k.wait_for_sleepers("kbdrop", 1, WAIT));
    k.advance_clock(Duration::from_millis(1));
    assert_eq!(h.join().unwrap().unwrap(), 0, "mtx_owned after PDROP");
    let h = {
        let k2 = k.clone();
        thread::spawn(move || int_ioctl(&k2, fd, ior(b'B', 7, 4).unwrap(), 0))
    };
    assert!(k.wait_for_sleepers("kbsx", 1, WAIT));
    k.advance_clock(Duration::from_millis(5));
    assert_eq!(h.join().unwrap().unwrap(), Errno::EAGAIN.0);
    k.check().unwrap();
}

#[test]
fn sleeping_with_another_mutex_held_is_reported() {
    let (k, fd) = setup();
    let h = {
        let k2 = k.clone();
        thread::spawn(move || k2.ioctl_raw(fd, io(b'B', 10), 0))
    };
    assert!(k.wait_for_sleepers("kbheld", 1, WAIT));
    k.advance_clock(Duration::from_millis(1));
    h.join().unwrap().unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Lock);
    let m = &v[0].message;
    assert!(
        m.starts_with("Sleeping on \"kbheld\" with the following non-sleepable locks held:"),
        "{m}"
    );
    // The interlock itself is excused, the other mutex is not.
    assert!(
        m.contains("kldtest_block other") && !m.contains("(kldtest_block)"),
        "{m}"
    );
}

#[test]
fn sleeping_without_a_lock_or_timeout_panics() {
    let (k, fd) = setup();
    assert!(k.ioctl_raw(fd, io(b'B', 11), 0).is_err());
    assert!(only_violation(&k).starts_with("sleeping without a lock"));
    assert!(
        k.expect_panic()
            .unwrap()
            .starts_with("sleeping without a lock")
    );
}

#[test]
fn sleeping_on_a_null_channel_panics() {
    let (k, fd) = setup();
    assert!(k.ioctl_raw(fd, io(b'B', 14), 0).is_err());
    assert_eq!(only_violation(&k), "_sleep: NULL ident");
    k.expect_panic();
}

#[test]
fn cv_wait_without_its_mutex_panics() {
    let (k, fd) = setup();
    assert!(k.ioctl_raw(fd, io(b'B', 12), 0).is_err());
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].message.starts_with("mutex kldtest_block not owned")
            && v[0].message.contains("_cv_wait"),
        "{v:?}"
    );
    k.expect_panic();
}

#[test]
fn cv_destroy_with_a_waiter_panics_and_wakes_it() {
    let (k, fd) = setup();
    let h = cv_waiter(&k, fd, 0);
    assert!(k.ioctl_raw(fd, io(b'B', 13), 0).is_err());
    assert!(only_violation(&k).starts_with("cv_destroy: associated sleep queue non-empty"),);
    assert!(
        h.join().unwrap().is_err(),
        "the waiter leaves with the panic"
    );
    k.expect_panic();
}

#[test]
fn interruptible_sx_acquires_end_with_eintr_or_restart() {
    let (k, fd) = setup();
    let hold = {
        let k2 = k.clone();
        thread::spawn(move || k2.ioctl_raw(fd, io(b'B', 15), 0))
    };
    assert!(k.wait_for_sleepers("kbsxhold", 1, WAIT));
    let waiter = |shared: i32| {
        let k2 = k.clone();
        let h = thread::spawn(move || int_ioctl(&k2, fd, iow(b'B', 17, 4).unwrap(), shared));
        thread::sleep(Duration::from_millis(50));
        assert!(!h.is_finished(), "waits for the sx lock");
        h
    };
    // sx_xlock_sig and sx_slock_sig: EINTR.
    let signal = |t: thread::ThreadId, restart: bool| {
        let t0 = std::time::Instant::now();
        while !k.post_signal(t, restart) {
            assert!(t0.elapsed() < WAIT, "the thread never entered the kernel");
            thread::sleep(Duration::from_millis(2));
        }
    };
    for shared in [0, 1] {
        let h = waiter(shared);
        signal(h.thread().id(), false);
        assert_eq!(h.join().unwrap(), Err(Error::Errno(Errno::EINTR)));
    }
    // With SA_RESTART the ioctl starts again and gets the lock once free.
    let h = waiter(0);
    signal(h.thread().id(), true);
    thread::sleep(Duration::from_millis(50));
    assert!(!h.is_finished(), "restarted, waiting again");
    k.ioctl_raw(fd, io(b'B', 16), 0).unwrap();
    hold.join().unwrap().unwrap();
    assert_eq!(h.join().unwrap(), Ok(0));
    k.check().unwrap();
}

// --- Lost wakeups: sleepq_add's interlock rule, and the report ---

/// Runs ioctl `num` of kldtest_block in a thread (it may sleep).
fn ioctl_thread(k: &Kernel, fd: i32, num: u8) -> thread::JoinHandle<Result<(), Error>> {
    let k2 = k.clone();
    thread::spawn(move || k2.ioctl_raw(fd, io(b'B', num), 0).map(|_| ()))
}

#[test]
fn a_wakeup_lost_by_a_condition_tested_without_the_interlock_is_reported() {
    let (k, fd) = setup();
    let h = ioctl_thread(&k, fd, 18);
    assert!(k.wait_for_sleepers("kbgate", 1, WAIT), "{:?}", k.sleepers());
    // The waker sets the flag under kb_mtx and wakes after unlocking:
    // nobody sleeps on the channel yet.
    k.ioctl_raw(fd, io(b'B', 19), 0).unwrap();
    k.ioctl_raw(fd, io(b'B', 20), 0).unwrap();
    assert!(k.wait_for_sleepers("kblost", 1, WAIT), "{:?}", k.sleepers());
    let r = k.sleep_report();
    assert!(
        r.contains("asleep on \"kblost\"") && r.contains("interlock \"kldtest_block\""),
        "{r}"
    );
    assert!(
        r.contains("before it slept, wakeup(")
            && r.contains(") from kb_ioctl+0x")
            && r.contains("found no sleeper, holding no lock; not the sleeper's interlock"),
        "{r}"
    );
    // Another wakeup ends the sleep; nothing is a violation.
    k.ioctl_raw(fd, io(b'B', 19), 0).unwrap();
    h.join().unwrap().unwrap();
    assert!(k.sleep_report().is_empty());
    k.check().unwrap();
}

#[test]
fn a_condition_tested_under_the_interlock_loses_no_wakeup() {
    let (k, fd) = setup();
    let h = ioctl_thread(&k, fd, 21);
    assert!(k.wait_for_sleepers("kbok", 1, WAIT), "{:?}", k.sleepers());
    let r = k.sleep_report();
    assert!(
        r.contains("asleep on \"kbok\"")
            && r.contains("no wakeup on this channel found it empty before this sleep"),
        "{r}"
    );
    k.ioctl_raw(fd, io(b'B', 19), 0).unwrap();
    h.join().unwrap().unwrap();
    // Set before the test: the sleeper sees it under the lock and does
    // not sleep.
    k.ioctl_raw(fd, io(b'B', 21), 0).unwrap();
    k.check().unwrap();
}

#[test]
fn sleepers_of_one_channel_with_different_interlocks_panic() {
    let (k, fd) = setup();
    let h = ioctl_thread(&k, fd, 21);
    assert!(k.wait_for_sleepers("kbok", 1, WAIT), "{:?}", k.sleepers());
    // Without the check the second sleeper would block for good: wait
    // for the panic with a deadline instead of in the ioctl.
    let other = ioctl_thread(&k, fd, 22);
    let end = std::time::Instant::now() + WAIT;
    while k.panicked().is_none() && std::time::Instant::now() < end {
        thread::sleep(Duration::from_millis(2));
    }
    assert!(k.panicked().is_some(), "{:?}", k.sleepers());
    assert!(matches!(other.join().unwrap(), Err(Error::Panic(_))));
    let m = only_violation(&k);
    assert!(
        m.starts_with("sleepq_add: MPASS(lock == sq->sq_lock): _sleep on wchan ")
            && m.contains("(\"kbother\") with interlock \"kldtest_block other\" while its sleepers use \"kldtest_block\""),
        "{m}"
    );
    assert_eq!(k.expect_panic().as_deref(), Some(m.as_str()));
    assert!(h.join().unwrap().is_err());
}

#[test]
fn one_channel_may_change_interlocks_once_its_sleepers_are_gone() {
    let (k, fd) = setup();
    let h = ioctl_thread(&k, fd, 21);
    assert!(k.wait_for_sleepers("kbok", 1, WAIT), "{:?}", k.sleepers());
    k.ioctl_raw(fd, io(b'B', 19), 0).unwrap();
    h.join().unwrap().unwrap();
    k.ioctl_raw(fd, io(b'B', 23), 0).unwrap();
    let h = ioctl_thread(&k, fd, 22);
    assert!(
        k.wait_for_sleepers("kbother", 1, WAIT),
        "{:?}",
        k.sleepers()
    );
    k.ioctl_raw(fd, io(b'B', 19), 0).unwrap();
    h.join().unwrap().unwrap();
    k.check().unwrap();
}
