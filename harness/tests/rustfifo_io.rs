// SPDX-License-Identifier: BSD-2-Clause
//! `rustfifo.ko` (`fifo/`): blocking reads and writes, `O_NONBLOCK`,
//! signals (`EINTR`, `ERESTART` and the restarted call, the partial count),
//! `FIONREAD`, the capacity, and the idle callout and task on the virtual
//! clock.

use harness::freebsd::FIONREAD;
use harness::testing::module_path;
use harness::{Errno, Error, FailPolicy, Kernel, O_NONBLOCK, O_RDWR, SysctlValue};
use std::thread;
use std::time::{Duration, Instant};

const DEV: &str = "/dev/rustfifo";
const WAIT: Duration = Duration::from_secs(10);

fn setup() -> (Kernel, i32) {
    let k = Kernel::new();
    k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd)
}

fn counter(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(&format!("hw.rustfifo.{name}")).unwrap() {
        SysctlValue::Uint(v) => v,
        SysctlValue::Int(v) => u64::try_from(v).unwrap(),
        v => panic!("hw.rustfifo.{name}: {v:?}"),
    }
}

/// A reader thread blocked in read(2) for up to `n` bytes.
fn blocked_reader(k: &Kernel, fd: i32, n: usize) -> thread::JoinHandle<Result<Vec<u8>, Error>> {
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let mut buf = vec![0u8; n];
        k2.read(fd, &mut buf).map(|got| buf[..got].to_vec())
    });
    assert!(k.wait_for_sleepers("fiford", 1, WAIT), "{:?}", k.sleepers());
    h
}

/// `FIONREAD`: the bytes queued.
fn fionread(k: &Kernel, fd: i32) -> usize {
    let mut n = [0u8; 4];
    k.ioctl(fd, u64::from(FIONREAD), &mut n).unwrap();
    usize::try_from(i32::from_le_bytes(n)).unwrap()
}

fn finish(k: Kernel, fd: i32) {
    k.close(fd).unwrap();
    k.kldunload("rustfifo", false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_read_sleeps_until_a_write_wakes_it() {
    let (k, fd) = setup();
    let h = blocked_reader(&k, fd, 64);
    let s = k.sleepers();
    assert_eq!(s.len(), 1);
    assert!(s[0].interruptible);
    k.write(fd, b"hello").unwrap();
    assert_eq!(h.join().unwrap().unwrap(), b"hello");
    assert_eq!(counter(&k, "blocked_reads"), 1);
    assert_eq!(counter(&k, "bytes_in"), 5);
    assert_eq!(counter(&k, "bytes_out"), 5);
    assert!(counter(&k, "wakeups") >= 1);
    finish(k, fd);
}

#[test]
fn bytes_come_out_in_order_across_the_ring_edge() {
    let (k, fd) = setup();
    k.sysctl_set("hw.rustfifo.capacity", "10").unwrap();
    let mut expect = Vec::new();
    let mut got = Vec::new();
    for round in 0u8..50 {
        let data: Vec<u8> = (0..7)
            .map(|i| round.wrapping_mul(7).wrapping_add(i))
            .collect();
        assert_eq!(k.write(fd, &data).unwrap(), 7);
        expect.extend_from_slice(&data);
        let mut buf = [0u8; 7];
        let n = k.read(fd, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, expect);
    finish(k, fd);
}

#[test]
fn nonblocking_reads_and_writes_do_not_sleep() {
    let (k, fd) = setup();
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    assert_eq!(k.read(nb, &mut [0u8; 4]).unwrap_err(), Errno::EAGAIN);
    k.sysctl_set("hw.rustfifo.capacity", "8").unwrap();
    // A short write, then EAGAIN once nothing fits.
    assert_eq!(k.write(nb, b"0123456789").unwrap(), 8);
    assert_eq!(k.write(nb, b"x").unwrap_err(), Errno::EAGAIN);
    let mut n = [0u8; 4];
    k.ioctl(fd, u64::from(FIONREAD), &mut n).unwrap();
    assert_eq!(i32::from_le_bytes(n), 8);
    let mut buf = [0u8; 16];
    assert_eq!(k.read(nb, &mut buf).unwrap(), 8);
    assert_eq!(&buf[..8], b"01234567");
    assert!(k.sleepers().is_empty());
    assert_eq!(counter(&k, "blocked_reads"), 0);
    k.close(nb).unwrap();
    finish(k, fd);
}

#[test]
fn a_write_sleeps_while_full_until_a_read_makes_room() {
    let (k, fd) = setup();
    k.sysctl_set("hw.rustfifo.capacity", "4").unwrap();
    let k2 = k.clone();
    let w = thread::spawn(move || k2.write(fd, b"abcdefgh"));
    assert!(k.wait_for_sleepers("fifowr", 1, WAIT), "{:?}", k.sleepers());
    let mut got = Vec::new();
    while got.len() < 8 {
        let mut buf = [0u8; 3];
        let n = k.read(fd, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(w.join().unwrap().unwrap(), 8);
    assert_eq!(got, b"abcdefgh");
    assert!(counter(&k, "blocked_writes") >= 1);
    finish(k, fd);
}

#[test]
fn a_signal_interrupts_a_sleeping_reader() {
    let (k, fd) = setup();
    let h = blocked_reader(&k, fd, 8);
    assert!(k.post_signal(h.thread().id(), false));
    assert_eq!(h.join().unwrap().unwrap_err(), Errno::EINTR);
    // The interrupted reader no longer counts as waiting: an idle FIFO
    // (empty, no waiter) frees its storage.
    k.write(fd, b"ab").unwrap();
    assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap(), 2);
    k.advance_clock(Duration::from_millis(1100));
    let end = Instant::now() + WAIT;
    while counter(&k, "idle_frees") == 0 {
        assert!(Instant::now() < end, "a stale waiter kept the storage");
        thread::sleep(Duration::from_millis(2));
    }
    // A restarting handler: the read starts again and sleeps again.
    let h = blocked_reader(&k, fd, 8);
    assert!(k.post_signal(h.thread().id(), true));
    let end = Instant::now() + WAIT;
    while k.sleepers().is_empty() || h.is_finished() {
        assert!(
            Instant::now() < end && !h.is_finished(),
            "the read did not restart"
        );
        thread::sleep(Duration::from_millis(2));
    }
    k.write(fd, b"late").unwrap();
    assert_eq!(h.join().unwrap().unwrap(), b"late");
    finish(k, fd);
}

#[test]
fn a_signal_after_progress_returns_the_count_written() {
    let (k, fd) = setup();
    k.sysctl_set("hw.rustfifo.capacity", "4").unwrap();
    let k2 = k.clone();
    let w = thread::spawn(move || k2.write(fd, b"0123456789"));
    assert!(k.wait_for_sleepers("fifowr", 1, WAIT), "{:?}", k.sleepers());
    assert!(k.post_signal(w.thread().id(), false));
    assert_eq!(w.join().unwrap().unwrap(), 4);
    let mut buf = [0u8; 8];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"0123");
    finish(k, fd);
}

#[test]
fn the_capacity_is_validated() {
    let (k, fd) = setup();
    assert_eq!(counter(&k, "capacity"), 64 * 1024);
    assert_eq!(
        k.sysctl_set("hw.rustfifo.capacity", "0").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.sysctl_set("hw.rustfifo.capacity", "16777217")
            .unwrap_err(),
        Errno::EINVAL
    );
    k.sysctl_set("hw.rustfifo.capacity", "16777216").unwrap();
    finish(k, fd);
}

#[test]
fn an_idle_fifo_frees_its_storage_from_a_callout_and_a_task() {
    let (k, fd) = setup();
    let before = k.malloc_stats("rustfifo").unwrap().live_bytes;
    k.write(fd, b"some bytes").unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 10);
    let with_storage = k.malloc_stats("rustfifo").unwrap().live_bytes;
    assert!(with_storage >= before + 4096, "{before} -> {with_storage}");
    // Not yet: the callout waits hw.rustfifo.idle_ms (1000).
    k.advance_clock(Duration::from_millis(500));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(counter(&k, "idle_frees"), 0);
    k.advance_clock(Duration::from_millis(600));
    let end = Instant::now() + WAIT;
    while counter(&k, "idle_frees") == 0 {
        assert!(Instant::now() < end, "the storage was not freed");
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(k.malloc_stats("rustfifo").unwrap().live_bytes, before);
    // It grows again on the next write.
    k.write(fd, b"again").unwrap();
    assert_eq!(k.read(fd, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"again");
    finish(k, fd);
}

#[test]
fn a_writer_queued_behind_a_sleeping_writer_can_be_interrupted() {
    let (k, fd) = setup();
    k.sysctl_set("hw.rustfifo.capacity", "2").unwrap();
    // The first writer holds the writers' sx while it sleeps for room.
    let k2 = k.clone();
    let first = thread::spawn(move || k2.write(fd, b"abcd"));
    assert!(k.wait_for_sleepers("fifowr", 1, WAIT), "{:?}", k.sleepers());
    // The second waits for the sx (sx_xlock_sig): a signal ends the wait.
    let k2 = k.clone();
    let second = thread::spawn(move || k2.write(fd, b"zz"));
    thread::sleep(Duration::from_millis(50));
    assert!(!second.is_finished(), "waits for the writers' lock");
    // On a loaded machine the thread may not be in its system call yet: a
    // signal to a thread in user space changes nothing, so retry.
    let end = Instant::now() + WAIT;
    while !k.post_signal(second.thread().id(), false) {
        assert!(Instant::now() < end, "the writer never entered the kernel");
        thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(second.join().unwrap().unwrap_err(), Errno::EINTR);
    // The first is unaffected and completes once a reader makes room.
    let mut got = Vec::new();
    while got.len() < 4 {
        let mut buf = [0u8; 4];
        let n = k.read(fd, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(first.join().unwrap().unwrap(), 4);
    assert_eq!(got, b"abcd");
    finish(k, fd);
}

#[test]
fn a_failed_growth_is_enomem_and_loses_nothing_queued() {
    let (k, fd) = setup();
    // The first storage holds 4096 bytes.
    let first: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    assert_eq!(k.write(fd, &first).unwrap(), 4000);
    k.set_malloc_failures(FailPolicy::All);
    // What fits in the storage still goes in; then nothing can grow.
    assert_eq!(k.write(fd, &[7u8; 96]).unwrap(), 96);
    assert_eq!(k.write(fd, b"more").unwrap_err(), Errno::ENOMEM);
    k.set_malloc_failures(FailPolicy::Never);
    assert_eq!(counter(&k, "enomem"), 1);
    let mut got = vec![0u8; 8192];
    let n = k.read(fd, &mut got).unwrap();
    let mut want = first.clone();
    want.extend_from_slice(&[7u8; 96]);
    assert_eq!(&got[..n], &want[..]);
    finish(k, fd);
}

/// `rustfifo` copies with one `uiomove(9)` per contiguous part of its
/// ring and commits what `uiomove` reports as moved. `uiomove_faultflag()`
/// (`sys/kern/subr_uio.c`) advances the request only by the `iovec` steps
/// that succeeded, so a fault in a part leaves that whole part uncounted:
/// into an empty ring (one part), a faulting write queues nothing and a
/// faulting read takes nothing, wherever the fault is.
#[test]
fn a_fault_at_any_byte_loses_or_duplicates_nothing_queued() {
    let (k, fd) = setup();
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    let data: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    for at in (0..data.len()).step_by(37) {
        // A write that faults at byte `at` queues nothing.
        k.inject_efault(Some(at));
        assert_eq!(k.write(fd, &data).unwrap_err(), Errno::EFAULT);
        let mut got = vec![0u8; 1024];
        assert_eq!(
            k.read(nb, &mut got).unwrap_err(),
            Errno::EAGAIN,
            "write faulting at {at}"
        );
        // A read that faults at byte `at` takes nothing: all stays queued.
        assert_eq!(k.write(fd, &data).unwrap(), data.len());
        k.inject_efault(Some(at));
        assert_eq!(k.read(fd, &mut got).unwrap_err(), Errno::EFAULT);
        let n = k.read(nb, &mut got).unwrap();
        assert_eq!(&got[..n], &data[..], "read faulting at {at}");
    }
    k.close(nb).unwrap();
    finish(k, fd);
}

/// Queues `n` bytes of `fill` and reads `m` bytes back, so that the
/// ring's head moves by `m` (the storage keeps its size); returns what
/// stays queued of the `n` (all of it were queued before).
fn queue_and_drain(k: &Kernel, fd: i32, n: usize, m: usize, fill: u8) -> Vec<u8> {
    let before = fionread(k, fd);
    assert_eq!(k.write(fd, &vec![fill; n]).unwrap(), n);
    let mut got = vec![0u8; m];
    assert_eq!(k.read(fd, &mut got).unwrap(), m);
    vec![fill; (before + n).saturating_sub(m).min(n)]
}

/// A write into a ring whose free bytes wrap is copied in two parts (from
/// the tail to the end of the storage, then from its start); a fault in
/// the second part commits exactly the first, which `uiomove(9)` reported
/// as moved, and nothing already queued is lost or reordered.
#[test]
fn a_fault_in_the_middle_of_a_write_commits_exactly_the_bytes_copied() {
    let (k, fd) = setup();
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    // Storage of 8192 bytes (4096, doubled), 2000 queued at 6000..8000.
    assert_eq!(k.write(fd, &[1u8; 4000]).unwrap(), 4000);
    let queued = queue_and_drain(&k, fd, 4000, 6000, 2);
    assert_eq!(queued, [2u8; 2000]);
    assert_eq!(fionread(&k, fd), 2000);
    // 6000 bytes: 192 fit before the end (8000..8192), 5808 wrap to 0.
    let big: Vec<u8> = (0..6000u32).map(|i| (i % 253) as u8).collect();
    k.inject_efault(Some(5000));
    assert_eq!(k.write(fd, &big).unwrap_err(), Errno::EFAULT);
    assert_eq!(fionread(&k, fd), 2000 + 192);
    let mut got = vec![0u8; 16384];
    let n = k.read(nb, &mut got).unwrap();
    let mut want = queued.clone();
    want.extend_from_slice(&big[..192]);
    assert_eq!(&got[..n], &want[..]);

    // writev: a fault in the second iovec commits all of the first (its
    // uiomove step finished), into a ring that is now empty.
    let a = vec![b'a'; 1000];
    let b = vec![b'b'; 1000];
    k.inject_efault(Some(1500));
    assert_eq!(k.writev(fd, &[&a, &b]).unwrap_err(), Errno::EFAULT);
    let n = k.read(nb, &mut got).unwrap();
    assert_eq!(&got[..n], &a[..]);
    assert_eq!(
        counter(&k, "bytes_in"),
        4000 + 4000,
        "failed writes are not counted"
    );
    k.close(nb).unwrap();
    finish(k, fd);
}

/// A read of queued bytes that wrap around the end of the storage gets
/// them in order, in one call (two `uiomove(9)` parts); a fault in the
/// second part removes exactly the first.
#[test]
fn a_reader_sees_bytes_in_order_across_the_wrap_point() {
    let (k, fd) = setup();
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    // 4096 bytes of storage, the head at 3000, 1000 queued, then 2500
    // more: 96 at the end, 2404 from the start.
    let mut want = queue_and_drain(&k, fd, 4000, 3000, 9);
    let more: Vec<u8> = (0..2500u32).map(|i| (i % 241) as u8).collect();
    assert_eq!(k.write(fd, &more).unwrap(), more.len());
    want.extend_from_slice(&more);
    let uio_before = k.uio_stats().uiomove_calls;
    let mut got = vec![0u8; 8192];
    let n = k.read(fd, &mut got).unwrap();
    assert_eq!(n, 3500);
    assert_eq!(&got[..n], &want[..]);
    assert_eq!(k.uio_stats().uiomove_calls - uio_before, 2, "one per part");

    // Again, with a fault in the second part of the read: the first part
    // (1096 bytes, to the end of the storage) is read, the rest stays.
    let mut want = queue_and_drain(&k, fd, 4000, 3000, 5);
    assert_eq!(k.write(fd, &more).unwrap(), more.len());
    want.extend_from_slice(&more);
    k.inject_efault(Some(2000));
    assert_eq!(k.read(fd, &mut got).unwrap_err(), Errno::EFAULT);
    assert_eq!(fionread(&k, fd), 3500 - 1096);
    let n = k.read(nb, &mut got).unwrap();
    assert_eq!(&got[..n], &want[1096..]);
    k.close(nb).unwrap();
    finish(k, fd);
}

/// The idle callout is armed by the read that empties the FIFO and not
/// stopped by writes: when it runs after a read emptied the FIFO again,
/// the FIFO has not been empty for `idle_ms` yet, so it waits a full
/// delay more instead of freeing the storage early.
#[test]
fn storage_is_freed_only_after_idle_ms_of_emptiness() {
    let (k, fd) = setup();
    let mut buf = [0u8; 8];
    k.write(fd, b"one").unwrap();
    assert_eq!(k.read(fd, &mut buf).unwrap(), 3); // armed, for t = 1000
    k.advance_clock(Duration::from_millis(600));
    k.write(fd, b"two").unwrap();
    assert_eq!(k.read(fd, &mut buf).unwrap(), 3); // empty again at t = 600
    // At t = 1000 it has been empty for 400 ms only: kept.
    k.advance_clock(Duration::from_millis(600));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(counter(&k, "idle_frees"), 0, "freed before idle_ms");
    // Empty since t = 600, and the callout runs again at t = 2000.
    k.advance_clock(Duration::from_millis(900));
    let end = Instant::now() + WAIT;
    while counter(&k, "idle_frees") == 0 {
        assert!(Instant::now() < end, "the storage was not freed");
        thread::sleep(Duration::from_millis(2));
    }
    finish(k, fd);
}
