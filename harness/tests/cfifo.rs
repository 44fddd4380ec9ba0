// SPDX-License-Identifier: BSD-2-Clause
//! cfifo.ko (bench/c-fifo), the C baseline of the rustfifo benchmarks:
//! the semantics the manual page gives rustfifo(4) (`fifo/rustfifo.4`),
//! checked on both modules with the same code, so that the benchmark
//! compares equivalent devices and the C twin cannot rot.

use harness::testing::module_path;
use harness::{Errno, Kernel, O_NONBLOCK, O_RDWR, PollFd, SysctlValue};
use std::thread;
use std::time::{Duration, Instant};

/// One of the two equivalent modules.
struct Fifo {
    /// `build/NAME.ko`, and the name to unload.
    module: &'static str,
    /// The device path.
    dev: &'static str,
    /// The sysctl node (`hw.NAME`).
    node: &'static str,
    /// The malloc type of its storage.
    mtype: &'static str,
    /// The wait message of a reader asleep for data.
    rmsg: &'static str,
}

const CFIFO: Fifo = Fifo {
    module: "cfifo",
    dev: "/dev/cfifo",
    node: "hw.cfifo",
    mtype: "cfifo",
    rmsg: "cfiford",
};

const RUSTFIFO: Fifo = Fifo {
    module: "rustfifo",
    dev: "/dev/rustfifo",
    node: "hw.rustfifo",
    mtype: "rustfifo",
    rmsg: "fiford",
};

const BOTH: [Fifo; 2] = [CFIFO, RUSTFIFO];
const WAIT: Duration = Duration::from_secs(10);
const POLLIN: i16 = 0x0001;
const POLLOUT: i16 = 0x0004;
const POLLRDNORM: i16 = 0x0040;

impl Fifo {
    fn setup(&self) -> (Kernel, i32) {
        let k = Kernel::new();
        k.kldload(module_path(self.module)).unwrap();
        let fd = k.open(self.dev, O_RDWR).unwrap();
        (k, fd)
    }

    fn counter(&self, k: &Kernel, name: &str) -> u64 {
        match k.sysctl_get(&format!("{}.{name}", self.node)).unwrap() {
            SysctlValue::Uint(v) => v,
            SysctlValue::Int(v) => u64::try_from(v).unwrap(),
            v => panic!("{}.{name}: {v:?}", self.node),
        }
    }

    /// Closes, unloads and checks that nothing is left behind.
    fn finish(&self, k: Kernel, fd: i32) {
        k.close(fd).unwrap();
        k.kldunload(self.module, false).unwrap();
        assert!(k.malloc_stats(self.mtype).is_none_or(|s| s.live_bytes == 0));
        k.check().unwrap();
    }
}

#[test]
fn a_write_then_a_read_returns_the_bytes_in_order() {
    for f in &BOTH {
        let (k, fd) = f.setup();
        assert_eq!(k.write(fd, b"hello, ").unwrap(), 7, "{}", f.module);
        assert_eq!(k.write(fd, b"fifo").unwrap(), 4);
        let mut buf = [0u8; 32];
        assert_eq!(k.read(fd, &mut buf[..5]).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(k.read(fd, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b", fifo");
        assert_eq!(f.counter(&k, "bytes_in"), 11);
        assert_eq!(f.counter(&k, "bytes_out"), 11);
        f.finish(k, fd);
    }
}

#[test]
fn bytes_come_out_in_order_across_the_ring_edge_and_a_full_fifo_is_eagain() {
    for f in &BOTH {
        let (k, fd) = f.setup();
        k.sysctl_set(&format!("{}.capacity", f.node), "10").unwrap();
        let (mut expect, mut got) = (Vec::new(), Vec::new());
        for round in 0u8..50 {
            let data: Vec<u8> = (0..7).map(|i| round.wrapping_mul(7) ^ i).collect();
            assert_eq!(k.write(fd, &data).unwrap(), 7, "{}", f.module);
            expect.extend_from_slice(&data);
            let mut buf = [0u8; 7];
            let n = k.read(fd, &mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, expect, "{}", f.module);
        let nb = k.open(f.dev, O_RDWR | O_NONBLOCK).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(k.read(nb, &mut buf).unwrap_err(), Errno::EAGAIN);
        assert_eq!(k.write(nb, b"0123456789abc").unwrap(), 10, "a short write");
        assert_eq!(k.write(nb, b"x").unwrap_err(), Errno::EAGAIN);
        assert_eq!(k.read(nb, &mut buf).unwrap(), 10);
        k.close(nb).unwrap();
        f.finish(k, fd);
    }
}

#[test]
fn a_blocked_read_is_woken_by_a_write() {
    for f in &BOTH {
        let (k, fd) = f.setup();
        let k2 = k.clone();
        let h = thread::spawn(move || {
            let mut buf = vec![0u8; 64];
            k2.read(fd, &mut buf).map(|n| buf[..n].to_vec())
        });
        assert!(k.wait_for_sleepers(f.rmsg, 1, WAIT), "{:?}", k.sleepers());
        assert!(k.sleepers()[0].interruptible, "{}: PCATCH", f.module);
        k.write(fd, b"wake up").unwrap();
        assert_eq!(h.join().unwrap().unwrap(), b"wake up", "{}", f.module);
        assert_eq!(f.counter(&k, "blocked_reads"), 1);
        assert!(f.counter(&k, "wakeups") >= 1);
        f.finish(k, fd);
    }
}

#[test]
fn poll_and_kqueue_report_readiness() {
    let read = harness::freebsd::EVFILT_READ as i16;
    for f in &BOTH {
        let (k, fd) = f.setup();
        let pfd = |events| PollFd {
            fd,
            events,
            revents: 0,
        };
        let zero = Some(Duration::ZERO);
        let mut fds = [pfd(POLLIN | POLLRDNORM), pfd(POLLOUT)];
        assert_eq!(k.poll(&mut fds, zero).unwrap(), 1, "{}", f.module);
        assert_eq!([fds[0].revents, fds[1].revents], [0, POLLOUT]);
        let kq = k.kqueue().unwrap();
        k.kevent_add(kq, fd, read, 0).unwrap();
        assert_eq!(k.kevent_wait(kq, 4, zero).unwrap(), []);
        k.write(fd, b"abc").unwrap();
        let mut fds = [pfd(POLLIN | POLLRDNORM)];
        assert_eq!(k.poll(&mut fds, zero).unwrap(), 1);
        assert_eq!(fds[0].revents, POLLIN | POLLRDNORM);
        let ev = k.kevent_wait(kq, 4, zero).unwrap();
        assert_eq!(ev.len(), 1, "{}: {ev:?}", f.module);
        assert_eq!((ev[0].filter, ev[0].data), (read, 3));
        // Full: not writable.
        k.sysctl_set(&format!("{}.capacity", f.node), "3").unwrap();
        let mut fds = [pfd(POLLOUT)];
        assert_eq!(k.poll(&mut fds, zero).unwrap(), 0);
        k.kqueue_close(kq).unwrap();
        f.finish(k, fd);
    }
}

#[test]
fn an_idle_fifo_frees_its_storage_and_a_forced_unload_wakes_a_sleeper() {
    for f in &BOTH {
        let (k, fd) = f.setup();
        let before = k.malloc_stats(f.mtype).map_or(0, |s| s.live_bytes);
        k.write(fd, b"some bytes").unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(k.read(fd, &mut buf).unwrap(), 10);
        assert!(k.malloc_stats(f.mtype).unwrap().live_bytes >= before + 4096);
        k.advance_clock(Duration::from_millis(1100));
        // The task counts and frees in some order: wait for both.
        let end = Instant::now() + WAIT;
        let live = || k.malloc_stats(f.mtype).unwrap().live_bytes;
        while f.counter(&k, "idle_frees") == 0 || live() != before {
            assert!(
                Instant::now() < end,
                "{}: the storage stayed ({} live bytes, {before} before)",
                f.module,
                live()
            );
            thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(f.counter(&k, "idle_frees"), 1);
        assert_eq!(k.kldunload(f.module, false).unwrap_err(), Errno::EBUSY);
        let k2 = k.clone();
        let h = thread::spawn(move || k2.read(fd, &mut [0u8; 8]));
        assert!(k.wait_for_sleepers(f.rmsg, 1, WAIT), "{:?}", k.sleepers());
        k.kldunload(f.module, true).unwrap();
        assert_eq!(h.join().unwrap().unwrap_err(), Errno::ENXIO, "{}", f.module);
        k.close(fd).unwrap();
        k.check().unwrap();
    }
}
