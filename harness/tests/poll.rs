// SPDX-License-Identifier: BSD-2-Clause
//! poll(2) through `d_poll` and `selrecord`/`selwakeup`, and kqueue(2)
//! through `d_kqfilter`, knlists and `knote`, with kldtest_poll: readiness,
//! waiting, timeouts on the virtual clock, signals, `kn_data`, and what
//! pollers and knotes see when the device goes away.

use harness::freebsd::{EV_CLEAR, EV_EOF, EVFILT_READ, EVFILT_VNODE, EVFILT_WRITE};
use harness::ioccom::io;
use harness::testing::module_path;
use harness::{Errno, Error, KEvent, Kernel, O_RDWR, PollFd, ViolationKind};
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/kldtest_poll";
const POLLIN: i16 = 0x0001;
const POLLOUT: i16 = 0x0004;
const POLLHUP: i16 = 0x0010;
const POLLNVAL: i16 = 0x0020;
const ZERO: Option<Duration> = Some(Duration::ZERO);

fn setup() -> (Kernel, i32, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_poll")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd, id)
}

/// Posts a signal once the thread is in the kernel (it may not have got
/// there yet on a loaded machine).
fn signal(k: &Kernel, t: thread::ThreadId, restart: bool) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if k.post_signal(t, restart) {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    false
}

fn pfd(fd: i32, events: i16) -> PollFd {
    PollFd {
        fd,
        events,
        revents: 0,
    }
}

/// A poll for `POLLIN` on a thread, checked to be still waiting.
fn blocked_poll(
    k: &Kernel,
    fd: i32,
    timeout: Option<Duration>,
) -> thread::JoinHandle<(Result<usize, Error>, i16)> {
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let mut fds = [pfd(fd, POLLIN)];
        let r = k2.poll(&mut fds, timeout);
        (r, fds[0].revents)
    });
    thread::sleep(Duration::from_millis(60));
    assert!(!h.is_finished(), "the poll did not wait");
    h
}

#[test]
fn poll_reports_readiness_and_waits_for_selwakeup() {
    let (k, fd, _) = setup();
    let mut fds = [pfd(fd, POLLIN), pfd(fd, POLLOUT), pfd(99, POLLIN)];
    assert_eq!(k.poll(&mut fds, ZERO).unwrap(), 2);
    assert_eq!(
        [fds[0].revents, fds[1].revents, fds[2].revents],
        [0, POLLOUT, POLLNVAL]
    );
    let h = blocked_poll(&k, fd, None);
    k.write(fd, b"abc").unwrap();
    let (r, rev) = h.join().unwrap();
    assert_eq!(r.unwrap(), 1);
    assert_eq!(rev, POLLIN);
    k.check().unwrap();
}

#[test]
fn a_poll_times_out_on_the_virtual_clock_and_a_signal_interrupts_it() {
    let (k, fd, _) = setup();
    let h = blocked_poll(&k, fd, Some(Duration::from_millis(100)));
    k.advance_clock(Duration::from_millis(50));
    thread::sleep(Duration::from_millis(60));
    assert!(!h.is_finished());
    k.advance_clock(Duration::from_millis(50));
    assert_eq!(h.join().unwrap(), (Ok(0), 0));
    let h = blocked_poll(&k, fd, None);
    assert!(signal(&k, h.thread().id(), true));
    // poll is never restarted: EINTR even for SA_RESTART.
    assert_eq!(h.join().unwrap().0, Err(Error::Errno(Errno::EINTR)));
    k.check().unwrap();
}

fn ev(fd: i32, filter: i32, flags: u16, data: i64) -> KEvent {
    KEvent {
        fd,
        filter: i16::try_from(filter).unwrap(),
        flags,
        fflags: 0,
        data,
    }
}

#[test]
fn kqueue_read_and_write_filters_report_kn_data() {
    let (k, fd, _) = setup();
    let kq = k.kqueue().unwrap();
    let read = i16::try_from(EVFILT_READ).unwrap();
    let write = i16::try_from(EVFILT_WRITE).unwrap();
    k.kevent_add(kq, fd, read, 0).unwrap();
    assert!(k.kevent_wait(kq, 8, ZERO).unwrap().is_empty());
    k.kevent_add(kq, fd, write, 0).unwrap();
    assert_eq!(
        k.kevent_wait(kq, 8, ZERO).unwrap(),
        [ev(fd, EVFILT_WRITE, 0, 8)]
    );
    k.kevent_delete(kq, fd, write).unwrap();
    k.write(fd, b"abc").unwrap();
    // Level-triggered: reported while it holds.
    for _ in 0..2 {
        assert_eq!(
            k.kevent_wait(kq, 8, ZERO).unwrap(),
            [ev(fd, EVFILT_READ, 0, 3)]
        );
    }
    k.read(fd, &mut [0u8; 8]).unwrap();
    assert!(k.kevent_wait(kq, 8, ZERO).unwrap().is_empty());
    // A filter the device does not support.
    assert_eq!(
        k.kevent_add(kq, fd, i16::try_from(EVFILT_VNODE).unwrap(), 0),
        Err(Error::Errno(Errno::EINVAL))
    );
    k.kqueue_close(kq).unwrap();
    k.check().unwrap();
}

#[test]
fn kevent_waits_for_knote_and_ev_clear_reports_once() {
    let (k, fd, _) = setup();
    let kq = k.kqueue().unwrap();
    let read = i16::try_from(EVFILT_READ).unwrap();
    k.kevent_add(kq, fd, read, u16::try_from(EV_CLEAR).unwrap())
        .unwrap();
    let k2 = k.clone();
    let h = thread::spawn(move || k2.kevent_wait(kq, 8, None));
    thread::sleep(Duration::from_millis(60));
    assert!(!h.is_finished());
    k.write(fd, b"xy").unwrap();
    let clear = u16::try_from(EV_CLEAR).unwrap();
    assert_eq!(h.join().unwrap().unwrap(), [ev(fd, EVFILT_READ, clear, 2)]);
    assert!(k.kevent_wait(kq, 8, ZERO).unwrap().is_empty(), "EV_CLEAR");
    // A timeout on the virtual clock.
    let k2 = k.clone();
    let h = thread::spawn(move || k2.kevent_wait(kq, 8, Some(Duration::from_millis(10))));
    thread::sleep(Duration::from_millis(30));
    k.advance_clock(Duration::from_millis(10));
    assert!(h.join().unwrap().unwrap().is_empty());
    k.kqueue_close(kq).unwrap();
    k.check().unwrap();
}

#[test]
fn unload_wakes_pollers_and_ends_knotes_with_eof() {
    let (k, fd, id) = setup();
    let kq = k.kqueue().unwrap();
    k.kevent_add(kq, fd, i16::try_from(EVFILT_READ).unwrap(), 0)
        .unwrap();
    let h = blocked_poll(&k, fd, None);
    k.kldunload(id, false).unwrap();
    let (r, rev) = h.join().unwrap();
    assert_eq!(r.unwrap(), 1);
    assert_eq!(rev, POLLHUP | POLLIN, "the device is gone");
    let e = k.kevent_wait(kq, 8, ZERO).unwrap();
    assert_eq!(e.len(), 1);
    assert_ne!(u32::from(e[0].flags) & EV_EOF, 0, "{e:?}");
    assert!(k.kevent_wait(kq, 8, ZERO).unwrap().is_empty());
    k.kqueue_close(kq).unwrap();
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn knlist_empty_without_its_lock_panics() {
    let (k, fd, _) = setup();
    assert!(k.ioctl_raw(fd, io(b'P', 1), 0).is_err());
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].message.contains("the knlist's lock must be held"),
        "{v:?}"
    );
    k.expect_panic();
}

#[test]
fn knotes_and_pollers_left_at_unload_are_reported() {
    let (k, fd, id) = setup();
    let kq = k.kqueue().unwrap();
    k.kevent_add(kq, fd, i16::try_from(EVFILT_READ).unwrap(), 0)
        .unwrap();
    let h = blocked_poll(&k, fd, None);
    k.ioctl_raw(fd, io(b'P', 2), 0).unwrap();
    k.kldunload(id, false).unwrap();
    let (r, _) = h.join().unwrap();
    assert_eq!(r.unwrap(), 1, "the poller is woken anyway");
    let v = k.take_violations();
    assert!(v.iter().all(|v| v.kind == ViolationKind::Sleep), "{v:?}");
    assert!(
        v.iter().any(|v| v.message.contains("missing knlist_clear"))
            && v.iter().any(|v| v.message.contains("missing seldrain")),
        "{v:?}"
    );
    k.kqueue_close(kq).unwrap();
    k.close(fd).unwrap();
}
