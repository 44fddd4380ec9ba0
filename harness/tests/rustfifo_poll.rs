// SPDX-License-Identifier: BSD-2-Clause
//! `rustfifo.ko` (`fifo/`) with poll(2) and kqueue(2): readiness, a poller
//! woken by a write, `kn_data` for `EVFILT_READ` (bytes queued) and
//! `EVFILT_WRITE` (room), and pollers and knotes at a forced unload.

use harness::freebsd;
use harness::testing::module_path;
use harness::{Kernel, O_RDWR, PollFd};
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/rustfifo";
const EVFILT_READ: i16 = freebsd::EVFILT_READ as i16;
const EVFILT_WRITE: i16 = freebsd::EVFILT_WRITE as i16;
const POLLIN: i16 = 0x0001;
const POLLOUT: i16 = 0x0004;
const POLLRDNORM: i16 = 0x0040;
const POLLHUP: i16 = 0x0010;
const ZERO: Option<Duration> = Some(Duration::ZERO);
const WAIT: Option<Duration> = Some(Duration::from_secs(10));

fn setup() -> (Kernel, i32, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd, id)
}

fn pfd(fd: i32, events: i16) -> PollFd {
    PollFd {
        fd,
        events,
        revents: 0,
    }
}

#[test]
fn poll_says_readable_once_bytes_are_queued_and_writable_while_there_is_room() {
    let (k, fd, id) = setup();
    let mut fds = [pfd(fd, POLLIN | POLLRDNORM), pfd(fd, POLLOUT)];
    assert_eq!(k.poll(&mut fds, ZERO).unwrap(), 1);
    assert_eq!([fds[0].revents, fds[1].revents], [0, POLLOUT]);
    k.write(fd, b"abc").unwrap();
    let mut fds = [pfd(fd, POLLIN | POLLRDNORM)];
    assert_eq!(k.poll(&mut fds, ZERO).unwrap(), 1);
    assert_eq!(fds[0].revents, POLLIN | POLLRDNORM);
    // Full: not writable.
    k.sysctl_set("hw.rustfifo.capacity", "3").unwrap();
    let mut fds = [pfd(fd, POLLOUT)];
    assert_eq!(k.poll(&mut fds, ZERO).unwrap(), 0);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_write_wakes_a_waiting_poller() {
    let (k, fd, id) = setup();
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let mut fds = [pfd(fd, POLLIN)];
        let r = k2.poll(&mut fds, WAIT);
        (r, fds[0].revents)
    });
    thread::sleep(Duration::from_millis(60));
    assert!(!h.is_finished(), "the poll did not wait");
    k.write(fd, b"x").unwrap();
    let (r, revents) = h.join().unwrap();
    assert_eq!(r.unwrap(), 1);
    assert_eq!(revents, POLLIN);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn kqueue_reports_bytes_readable_and_room_in_kn_data() {
    let (k, fd, id) = setup();
    k.sysctl_set("hw.rustfifo.capacity", "10").unwrap();
    let kq = k.kqueue().unwrap();
    k.kevent_add(kq, fd, EVFILT_READ, 0).unwrap();
    k.kevent_add(kq, fd, EVFILT_WRITE, 0).unwrap();
    let ev = k.kevent_wait(kq, 4, ZERO).unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!((ev[0].filter, ev[0].data), (EVFILT_WRITE, 10));
    k.write(fd, b"1234").unwrap();
    let mut ev = k.kevent_wait(kq, 4, ZERO).unwrap();
    ev.sort_by_key(|e| e.filter);
    let got: Vec<(i16, i64)> = ev.iter().map(|e| (e.filter, e.data)).collect();
    let mut want = vec![(EVFILT_READ, 4), (EVFILT_WRITE, 6)];
    want.sort_by_key(|e| e.0);
    assert_eq!(got, want);
    k.kqueue_close(kq).unwrap();
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_forced_unload_wakes_pollers_and_detaches_knotes() {
    let (k, fd, id) = setup();
    let kq = k.kqueue().unwrap();
    k.kevent_add(kq, fd, EVFILT_READ, 0).unwrap();
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let mut fds = [pfd(fd, POLLIN)];
        let r = k2.poll(&mut fds, WAIT);
        (r, fds[0].revents)
    });
    thread::sleep(Duration::from_millis(60));
    assert!(!h.is_finished(), "the poll did not wait");
    k.kldunload(id, true).unwrap();
    let (r, revents) = h.join().unwrap();
    assert_eq!(r.unwrap(), 1);
    assert_ne!(revents & (POLLIN | POLLHUP), 0, "{revents:#x}");
    // The device's knlist_clear (knlist_cleardel without killkn:
    // sys/sys/event.h, sys/kern/kern_event.c) left the knote detached
    // with EV_EOF: the waiter learns once that the device went away, and
    // no filter of the unloaded module runs.
    let ev = k.kevent_wait(kq, 4, ZERO).unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_ne!(u32::from(ev[0].flags) & freebsd::EV_EOF, 0, "{ev:?}");
    assert_eq!(k.kevent_wait(kq, 4, ZERO).unwrap(), []);
    k.kqueue_close(kq).unwrap();
    k.close(fd).unwrap();
    k.check().unwrap();
}
