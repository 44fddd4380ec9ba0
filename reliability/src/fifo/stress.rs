// SPDX-License-Identifier: BSD-2-Clause
//! Stress: at least 8 threads on one small FIFO, under the deadlock
//! [`Watchdog`]: blocking writers of multi-word records, a writer that
//! waits in `poll(2)` and one that waits in `kevent(2)` before
//! non-blocking writes, blocking readers of random sizes, a reader that
//! waits in `poll(2)` and one in `kevent(2)` before non-blocking reads;
//! meanwhile the capacity changes (lowered below what is queued too).
//!
//! Checks: the checksummed streams ([`super::stream::check`]): nothing
//! lost, duplicated, reordered or interleaved, across several writers and
//! readers; every thread finishes (a missed wakeup or a deadlock stops the
//! progress, and the watchdog fails the run with the sleepers' list);
//! the counters `reads`, `writes`, `bytes_in` and `bytes_out` are what the
//! threads saw; no leak, no violation. The wakeup counters are printed:
//! module wakeups per blocked call show a thundering herd.
//!
//! A first, short run has one reader and one checksummed stream per
//! writer in a single reader's order (the one-reader case of the same
//! check).

use super::stream::{Segment, WORD, check, record};
use super::{
    DEV, EV_CLEAR, EVFILT_READ, EVFILT_WRITE, POLLIN, POLLOUT, counters, finish, live_allocs,
    loaded, next,
};
use crate::Params;
use crate::stress::Watchdog;
use crate::tally::Tally;
use harness::{Errno, Kernel, O_NONBLOCK, O_RDWR, PollFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a thread works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Blocking writes of records of 1 to 96 words.
    Writer,
    /// `poll(2)` for `POLLOUT`, then non-blocking one-word records.
    PollWriter,
    /// `kevent(2)` for `EVFILT_WRITE`, then non-blocking one-word records.
    KqWriter,
    /// Blocking reads of 1 to 80 words.
    Reader,
    /// `poll(2)` for `POLLIN`, then non-blocking reads.
    PollReader,
    /// `kevent(2)` for `EVFILT_READ`, then non-blocking reads.
    KqReader,
}

impl Role {
    fn writes(self) -> bool {
        matches!(self, Self::Writer | Self::PollWriter | Self::KqWriter)
    }
}

/// The roles of 8 threads; more threads repeat them.
const ROLES: [Role; 8] = [
    Role::Writer,
    Role::Writer,
    Role::PollWriter,
    Role::KqWriter,
    Role::Reader,
    Role::Reader,
    Role::PollReader,
    Role::KqReader,
];

/// What the threads share.
struct Shared {
    k: Kernel,
    /// The blocking file and the non-blocking one.
    fd: i32,
    nb: i32,
    /// The clock of the [`Segment`]s.
    tick: AtomicU64,
    /// Words read so far, and how many there will be.
    words_read: AtomicU64,
    total_words: u64,
    /// The readers may stop (everything was read).
    done: AtomicBool,
    /// Successful calls and bytes moved, as the threads saw them.
    reads: AtomicU64,
    writes: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// What each thread is doing, for the watchdog's dump.
    status: Vec<Mutex<String>>,
    progress: Arc<AtomicU64>,
}

impl Shared {
    fn set(&self, me: usize, what: String) {
        *self.status[me].lock().unwrap_or_else(|e| e.into_inner()) = what;
    }
}

fn wait_poll(s: &Shared, t: &Tally, events: i16) -> bool {
    let mut fds = [PollFd {
        fd: s.fd,
        events,
        revents: 0,
    }];
    let r = s.k.poll(&mut fds, None);
    t.op(&r);
    match r {
        Ok(_) => true,
        Err(e) if e == Errno::EINTR => false,
        Err(e) => panic!("poll: {e:?}"),
    }
}

fn wait_kq(s: &Shared, t: &Tally, kq: i32) -> bool {
    let r = s.k.kevent_wait(kq, 1, None);
    t.op(&r);
    match r {
        Ok(_) => true,
        Err(e) if e == Errno::EINTR => false,
        Err(e) => panic!("kevent: {e:?}"),
    }
}

/// A writer: writes `plan` (record lengths in words) in order.
fn writer(s: &Shared, t: &Tally, me: usize, role: Role, plan: &[u16]) {
    let k = &s.k;
    let w = u8::try_from(me).unwrap_or(u8::MAX);
    let kq = (role == Role::KqWriter).then(|| {
        let kq = k.kqueue().unwrap_or_else(|e| panic!("kqueue: {e:?}"));
        k.kevent_add(kq, s.fd, EVFILT_WRITE, EV_CLEAR)
            .unwrap_or_else(|e| panic!("EVFILT_WRITE: {e:?}"));
        kq
    });
    let mut seq = 0usize;
    while seq < plan.len() {
        let rec = record(w, u32::try_from(seq).unwrap_or(u32::MAX), plan[seq]);
        if role == Role::Writer {
            s.set(me, format!("write record {seq} ({} bytes)", rec.len()));
            let r = k.write(s.fd, &rec);
            t.op(&r);
            let n = r.unwrap_or_else(|e| panic!("thread {me}: write: {e:?}"));
            assert_eq!(
                n,
                rec.len(),
                "thread {me}: a blocking write came back short"
            );
        } else {
            s.set(me, format!("wait to write record {seq}"));
            let woke = match kq {
                Some(kq) => wait_kq(s, t, kq),
                None => wait_poll(s, t, POLLOUT),
            };
            assert!(woke, "thread {me}: a writer's wait was interrupted");
            s.set(me, format!("non-blocking write of record {seq}"));
            let r = k.write(s.nb, &rec);
            t.op(&r);
            match r {
                Ok(n) => assert_eq!(n, rec.len(), "thread {me}: a word was split"),
                // Another writer took the room first.
                Err(e) if e == Errno::EAGAIN => continue,
                Err(e) => panic!("thread {me}: non-blocking write: {e:?}"),
            }
        }
        s.writes.fetch_add(1, Ordering::Relaxed);
        s.bytes_in.fetch_add(rec.len() as u64, Ordering::Relaxed);
        s.progress.fetch_add(1, Ordering::Relaxed);
        seq += 1;
    }
    if let Some(kq) = kq {
        k.kqueue_close(kq)
            .unwrap_or_else(|e| panic!("kqueue close: {e:?}"));
    }
    s.set(me, String::from("done"));
}

/// A reader: reads until every word was read, then stops at the signal
/// that ends its last call.
fn reader(s: &Shared, t: &Tally, me: usize, role: Role, seed: u64) -> Vec<Segment> {
    let k = &s.k;
    let mut seed = seed | 1;
    let mut out = Vec::new();
    let kq = (role == Role::KqReader).then(|| {
        let kq = k.kqueue().unwrap_or_else(|e| panic!("kqueue: {e:?}"));
        k.kevent_add(kq, s.fd, EVFILT_READ, EV_CLEAR)
            .unwrap_or_else(|e| panic!("EVFILT_READ: {e:?}"));
        kq
    });
    'run: while !s.done.load(Ordering::Acquire) {
        let fd = if role == Role::Reader {
            s.fd
        } else {
            s.set(me, String::from("wait to read"));
            let woke = match kq {
                Some(kq) => wait_kq(s, t, kq),
                None => wait_poll(s, t, POLLIN),
            };
            if !woke {
                continue;
            }
            s.nb
        };
        // A non-blocking reader reads until the FIFO is empty, as
        // EV_CLEAR requires.
        loop {
            let words = 1 + usize::try_from(next(&mut seed) % 80).unwrap_or(0);
            let mut buf = vec![0u8; words * WORD];
            s.set(me, format!("read {} bytes", buf.len()));
            let start = s.tick.fetch_add(1, Ordering::AcqRel);
            let r = k.read(fd, &mut buf);
            let end = s.tick.fetch_add(1, Ordering::AcqRel);
            t.op(&r);
            match r {
                Ok(n) => {
                    buf.truncate(n);
                    s.reads.fetch_add(1, Ordering::Relaxed);
                    s.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                    s.words_read.fetch_add((n / WORD) as u64, Ordering::AcqRel);
                    s.progress.fetch_add(1, Ordering::Relaxed);
                    out.push(Segment {
                        start,
                        end,
                        bytes: buf,
                    });
                }
                Err(e) if e == Errno::EAGAIN && fd == s.nb => break,
                Err(e) if e == Errno::EINTR && s.done.load(Ordering::Acquire) => break 'run,
                Err(e) => panic!("thread {me}: read: {e:?}"),
            }
            if fd == s.fd {
                break;
            }
        }
    }
    if let Some(kq) = kq {
        k.kqueue_close(kq)
            .unwrap_or_else(|e| panic!("kqueue close: {e:?}"));
    }
    s.set(me, String::from("done"));
    out
}

/// One run: a thread per role, `records` records per writer; returns the
/// note.
#[allow(clippy::too_many_lines, reason = "setup, threads, checks, in order")]
fn run_once(p: &Params, t: &Tally, roles: &[Role], records: usize) -> String {
    let threads = roles.len();
    let (k, id) = loaded(t);
    k.sysctl_set("hw.rustfifo.capacity", "1024")
        .unwrap_or_else(|e| panic!("capacity: {e:?}"));
    let fd = k.open(DEV, O_RDWR).unwrap_or_else(|e| panic!("{e:?}"));
    let nb = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("{e:?}"));
    t.ops_ok(3);
    let mut seed = p.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let plan: Vec<Vec<u16>> = roles
        .iter()
        .map(|r| match r {
            Role::Writer => (0..records)
                .map(|_| 1 + u16::try_from(next(&mut seed) % 96).unwrap_or(0))
                .collect(),
            Role::PollWriter | Role::KqWriter => vec![1; records],
            _ => Vec::new(),
        })
        .collect();
    let total_words: u64 = plan.iter().flatten().map(|&n| u64::from(n)).sum();
    let before = counters(&k);
    let s = Shared {
        k: k.clone(),
        fd,
        nb,
        tick: AtomicU64::new(0),
        words_read: AtomicU64::new(0),
        total_words,
        done: AtomicBool::new(false),
        reads: AtomicU64::new(0),
        writes: AtomicU64::new(0),
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
        status: (0..threads).map(|_| Mutex::new(String::new())).collect(),
        progress: Arc::new(AtomicU64::new(0)),
    };
    let s = Arc::new(s);
    let dump = {
        let s = Arc::clone(&s);
        move || {
            let status: Vec<String> = s
                .status
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    format!(
                        "  thread {i}: {}",
                        m.lock().unwrap_or_else(|e| e.into_inner())
                    )
                })
                .collect();
            format!(
                "rustfifo stress: {} of {} words read\n{}\nsleepers: {:?}",
                s.words_read.load(Ordering::Relaxed),
                s.total_words,
                status.join("\n"),
                s.k.sleepers()
            )
        }
    };
    let watchdog = Watchdog::start(
        Arc::clone(&s.progress),
        Duration::from_secs(p.watchdog_secs),
        dump,
        Watchdog::exit,
    );
    let segments: Vec<Segment> = std::thread::scope(|sc| {
        let mut readers = Vec::new();
        let mut writers = Vec::new();
        for (me, &role) in roles.iter().enumerate() {
            let s = &*s;
            if role.writes() {
                let plan = &plan[me];
                writers.push(sc.spawn(move || writer(s, t, me, role, plan)));
            } else {
                let seed = next(&mut seed);
                readers.push(sc.spawn(move || reader(s, t, me, role, seed)));
            }
        }
        // Meanwhile the capacity changes, sometimes below what is queued.
        let mut caps = seed;
        while writers.iter().any(|h| !h.is_finished()) {
            let cap = [64u64, 256, 1024, 4096][usize::try_from(next(&mut caps) % 4).unwrap_or(0)];
            s.k.sysctl_set("hw.rustfifo.capacity", &cap.to_string())
                .unwrap_or_else(|e| panic!("capacity {cap}: {e:?}"));
            std::thread::sleep(Duration::from_millis(3));
        }
        for h in writers {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
        // Until every word was read, or nothing is left to read (words
        // lost: the check says which) for a while.
        let mut idle_since = std::time::Instant::now();
        let mut last = 0;
        loop {
            let read = s.words_read.load(Ordering::Acquire);
            if read >= s.total_words || readers.iter().any(|h| h.is_finished()) {
                break;
            }
            if read != last || super::queued(&s.k, s.nb) > 0 {
                last = read;
                idle_since = std::time::Instant::now();
            } else if idle_since.elapsed() > Duration::from_millis(500) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // Everything was read: stop the readers still waiting.
        s.done.store(true, Ordering::Release);
        while readers.iter().any(|h| !h.is_finished()) {
            for h in &readers {
                if !h.is_finished() {
                    s.k.post_signal(h.thread().id(), false);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        readers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    drop(watchdog);
    let words = check(&segments, &plan).unwrap_or_else(|e| {
        t.torn();
        panic!("checksummed streams: {e}")
    });
    assert_eq!(words, total_words);
    let after = counters(&k);
    let delta = |i: usize| after[i] - before[i];
    let seen = [
        s.reads.load(Ordering::Relaxed),
        s.writes.load(Ordering::Relaxed),
        s.bytes_in.load(Ordering::Relaxed),
        s.bytes_out.load(Ordering::Relaxed),
    ];
    assert_eq!(
        [delta(0), delta(1), delta(2), delta(3)],
        seen,
        "hw.rustfifo reads, writes, bytes_in, bytes_out against what the threads saw"
    );
    let kernel_wakeups = k.wakeup_count();
    for f in [fd, nb] {
        k.close(f).unwrap_or_else(|e| panic!("close: {e:?}"));
    }
    t.ops_ok(2);
    assert!(live_allocs(&k) > 0, "the device's state is allocated");
    finish(t, &k, id);
    let (blocked_r, blocked_w, wakeups) = (delta(4), delta(5), delta(6));
    let herd = (wakeups as f64) / ((blocked_r + blocked_w).max(1) as f64);
    format!(
        "fifo-stress: {threads} threads ({} writers, {} readers), {} words in {} reads: \
         blocked reads {blocked_r}, blocked writes {blocked_w}, module wakeups {wakeups} \
         ({herd:.2} per blocked call), kernel wakeups that woke a thread {kernel_wakeups}, \
         idle_frees {}",
        roles.iter().filter(|r| r.writes()).count(),
        roles.iter().filter(|r| !r.writes()).count(),
        words,
        segments.len(),
        after[8],
    )
}

/// Runs the stress: first three blocking writers and one blocking
/// reader, then `max(8, stress_threads)` threads of every role.
pub fn run(p: &Params, t: &Tally) {
    // Bounded: every byte read is kept for the check.
    let records = (p.stress_ops / 4).min(10_000);
    let one = [Role::Writer, Role::Writer, Role::Writer, Role::Reader];
    t.note(run_once(p, t, &one, records / 2));
    let roles: Vec<Role> = (0..p.stress_threads.max(8))
        .map(|i| ROLES[i % ROLES.len()])
        .collect();
    t.note(run_once(p, t, &roles, records));
}
