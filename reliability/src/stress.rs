// SPDX-License-Identifier: BSD-2-Clause
//! Concurrency stress: threads doing random opens, reads, writes, ioctls
//! and closes on `/dev/rustmodule` for a bounded number of operations,
//! watched by a [`Watchdog`] that fails the run with a dump if no thread
//! makes progress for a while (a deadlock).
//!
//! Each writer writes self-describing messages (writer, sequence number,
//! length, a payload derived from them, and a checksum), so a reader can
//! tell whether a message it read whole is exactly one that was written.
//! Invariants:
//! - every complete read (`cat` from offset 0, in small pieces) is the
//!   empty message, the default one, or exactly one written message: no
//!   torn or mixed message, no byte from elsewhere, never the allocator's
//!   poison;
//! - per-open consistency: a later read at an offset in the same file
//!   returns that message's bytes, and `FIONREAD` what is left of it;
//! - `RUSTECHO_GETINFO`'s generation never goes back;
//! - the counters add up: `opens`, `reads`, `writes`, `bytes_in`,
//!   `bytes_out`, `efbig` and `enomem` are the sums of what the threads saw
//!   succeed or fail, and the generation is the number of writes and
//!   clears;
//! - no leak (the module's allocations at the end, then `malloc_uninit`
//!   at unload) and no lock-order or sleep violation.
//!
//! The second run makes every 7th allocation fail: opens and writes may
//! then fail with `ENOMEM` (and are counted), nothing else may.

use crate::Params;
use crate::device::{Counters, has_poison, live_allocs, pattern};
use crate::tally::Tally;
use echo_testkit::{DEFAULT_MESSAGE, DEV, DEV_NAME};
use harness::freebsd::FIONREAD;
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, O_RDONLY, O_RDWR, O_WRONLY, Whence};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `hw.rustecho.maxlen` during the run: writes up to 4200 bytes, so some
/// are too long.
const MAXLEN: usize = 4096;
/// Header: `R`, `E`, writer, 0, sequence (u32), length (u32).
const HEADER: usize = 12;
/// Trailer: FNV-1a 64 of everything before it.
const TRAILER: usize = 8;

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The message number `seq` of `writer`, `len` bytes (at least 20).
#[must_use]
pub fn message(writer: u8, seq: u32, len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&[b'R', b'E', writer, 0]);
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    m.extend(pattern(
        (u64::from(writer) << 32) | u64::from(seq),
        len - HEADER - TRAILER,
    ));
    let sum = fnv(&m);
    m.extend_from_slice(&sum.to_le_bytes());
    m
}

/// What a complete read returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The empty message (a clear or a zero-length write).
    Empty,
    /// The message at load.
    Default,
    /// Message `seq` of `writer`.
    Written(u8, u32),
    /// Anything else: torn, mixed, or not written.
    Torn,
}

/// Classifies a complete read; `started[w]` is how many writes writer `w`
/// has begun.
#[must_use]
pub fn classify(m: &[u8], started: &[AtomicU32]) -> Read {
    if m.is_empty() {
        return Read::Empty;
    }
    if m == DEFAULT_MESSAGE {
        return Read::Default;
    }
    if m.len() < HEADER + TRAILER || m[..2] != *b"RE" {
        return Read::Torn;
    }
    let writer = m[2];
    let seq = u32::from_le_bytes([m[4], m[5], m[6], m[7]]);
    let len = u32::from_le_bytes([m[8], m[9], m[10], m[11]]);
    let begun = started
        .get(usize::from(writer))
        .is_some_and(|s| seq < s.load(Ordering::Acquire));
    if !begun || usize::try_from(len).ok() != Some(m.len()) {
        return Read::Torn;
    }
    if message(writer, seq, m.len()) == m {
        Read::Written(writer, seq)
    } else {
        Read::Torn
    }
}

/// A deadlock watchdog: if the progress counter does not move for
/// `limit`, it calls `on_stall` with a dump (by default: print it and exit
/// the process with status 3, since a deadlocked thread cannot be joined).
pub struct Watchdog {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching `progress`; `dump` describes the state when it
    /// stalls.
    pub fn start(
        progress: Arc<AtomicU64>,
        limit: Duration,
        dump: impl Fn() -> String + Send + 'static,
        on_stall: impl FnOnce(String) + Send + 'static,
    ) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&done);
        let thread = std::thread::spawn(move || {
            let mut last = progress.load(Ordering::Relaxed);
            let mut since = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let now = progress.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() >= limit {
                    on_stall(format!(
                        "watchdog: no progress for {limit:?} (at {now} operations)\n{}",
                        dump()
                    ));
                    return;
                }
            }
        });
        Self {
            done,
            thread: Some(thread),
        }
    }

    /// Prints the dump and exits the process with status 3.
    pub fn exit(dump: String) {
        eprintln!("{dump}");
        std::process::exit(3);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            drop(t.join());
        }
    }
}

/// What one thread saw succeed or fail.
#[derive(Default, Debug, Clone, Copy)]
struct Seen {
    opens: u64,
    reads: u64,
    writes: u64,
    clears: u64,
    bytes_in: u64,
    bytes_out: u64,
    efbig: u64,
    enomem: u64,
    complete_reads: u64,
}

impl Seen {
    fn add(&mut self, o: &Seen) {
        self.opens += o.opens;
        self.reads += o.reads;
        self.writes += o.writes;
        self.clears += o.clears;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.efbig += o.efbig;
        self.enomem += o.enomem;
        self.complete_reads += o.complete_reads;
    }
}

struct Shared {
    k: Kernel,
    started: Vec<AtomicU32>,
    progress: Arc<AtomicU64>,
    status: Vec<Mutex<String>>,
    rate: bool,
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// One thread's work.
#[allow(clippy::too_many_lines, reason = "one random walk over the operations")]
fn worker(s: &Shared, t: &Tally, me: u8, ops: usize, seed: u64) -> Seen {
    let k = &s.k;
    let clear = echo_testkit::header().clear;
    let getinfo = echo_testkit::header().getinfo;
    let mut seed = seed | 1;
    let mut seen = Seen::default();
    let mut fds: Vec<(i32, bool, bool)> = Vec::new();
    let mut last_generation = 0;
    let set = |what: String| {
        *s.status[usize::from(me)]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = what;
    };
    // ENOMEM is allowed only where memory is allocated, under the rate.
    let enomem = |r: &Result<usize, harness::Error>, seen: &mut Seen| -> bool {
        if s.rate && matches!(r, Err(e) if *e == Errno::ENOMEM) {
            seen.enomem += 1;
            t.faults(1);
            true
        } else {
            false
        }
    };
    for _ in 0..ops {
        s.progress.fetch_add(1, Ordering::Relaxed);
        let r = next(&mut seed);
        let choice = r % 10;
        if fds.is_empty() || (choice == 0 && fds.len() < 3) {
            let (flags, rd, wr) = match (r >> 8) % 3 {
                0 => (O_RDONLY, true, false),
                1 => (O_WRONLY, false, true),
                _ => (O_RDWR, true, true),
            };
            set(format!("open {flags:#x}"));
            let res = k.open(DEV, flags);
            t.op(&res);
            if enomem(&res.clone().map(|_| 0), &mut seen) {
                continue;
            }
            let fd = res.unwrap_or_else(|e| panic!("thread {me}: open: {e:?}"));
            seen.opens += 1;
            fds.push((fd, rd, wr));
            continue;
        }
        let (fd, rd, wr) = fds[usize::try_from(r >> 16).unwrap_or(0) % fds.len()];
        match choice {
            1 if fds.len() > 1 => {
                set(format!("close {fd}"));
                fds.retain(|&(f, _, _)| f != fd);
                let res = k.close(fd);
                t.op(&res);
                res.unwrap_or_else(|e| panic!("thread {me}: close: {e:?}"));
            }
            2..=4 if wr => {
                let len = 20 + usize::try_from(r >> 20).unwrap_or(0) % (MAXLEN + 104 - 20);
                let seq = s.started[usize::from(me)].fetch_add(1, Ordering::AcqRel);
                let m = message(me, seq, len);
                set(format!("write {len}"));
                let res = if r & 1 == 0 {
                    k.write(fd, &m)
                } else {
                    let (a, rest) = m.split_at(len / 3);
                    let (b, c) = rest.split_at(rest.len() / 2);
                    k.writev(fd, &[a, b, c])
                };
                t.op(&res);
                if len > MAXLEN {
                    assert!(
                        matches!(&res, Err(e) if *e == Errno::EFBIG),
                        "thread {me}: write {len}: {res:?}"
                    );
                    seen.efbig += 1;
                } else if !enomem(&res, &mut seen) {
                    let n = res.unwrap_or_else(|e| panic!("thread {me}: write {len}: {e:?}"));
                    assert_eq!(n, len, "thread {me}: short write");
                    seen.writes += 1;
                    seen.bytes_in += len as u64;
                }
            }
            5 if wr => {
                if r & 2 == 0 {
                    set(String::from("clear"));
                    let res = k.ioctl_raw(fd, clear, 0);
                    t.op(&res);
                    res.unwrap_or_else(|e| panic!("thread {me}: clear: {e:?}"));
                    seen.clears += 1;
                } else {
                    set(String::from("write 0"));
                    let res = k.write(fd, b"");
                    t.op(&res);
                    res.unwrap_or_else(|e| panic!("thread {me}: write 0: {e:?}"));
                    seen.writes += 1;
                }
            }
            6..=7 if rd => {
                let bs = [7usize, 64, 512, 4096][usize::try_from(r >> 24).unwrap_or(0) % 4];
                set(format!("cat bs={bs}"));
                k.lseek(fd, 0, Whence::Set).unwrap();
                let mut m = Vec::new();
                let mut buf = vec![0u8; bs];
                loop {
                    let res = k.read(fd, &mut buf);
                    t.op(&res);
                    let n = res.unwrap_or_else(|e| panic!("thread {me}: read: {e:?}"));
                    seen.reads += 1;
                    seen.bytes_out += n as u64;
                    if n == 0 {
                        break;
                    }
                    m.extend_from_slice(&buf[..n]);
                }
                seen.complete_reads += 1;
                if has_poison(&m) {
                    t.disclosure();
                }
                if classify(&m, &s.started) == Read::Torn {
                    t.torn();
                    continue;
                }
                // The same file, later, at an offset: the same message.
                if m.len() > 1 {
                    let off = 1 + usize::try_from(r >> 32).unwrap_or(0) % (m.len() - 1);
                    set(format!("pread {off} after cat"));
                    let mut part = [0u8; 100];
                    let res = k.pread(fd, &mut part, off as i64);
                    t.op(&res);
                    let n = res.unwrap_or_else(|e| panic!("thread {me}: pread: {e:?}"));
                    seen.reads += 1;
                    seen.bytes_out += n as u64;
                    let want = &m[off..(off + 100).min(m.len())];
                    if part[..n] != *want {
                        t.torn();
                        continue;
                    }
                    let mut left = [0u8; 4];
                    let res = k.ioctl(fd, u64::from(FIONREAD), &mut left);
                    t.op(&res);
                    res.unwrap_or_else(|e| panic!("thread {me}: FIONREAD: {e:?}"));
                    assert_eq!(
                        usize::try_from(i32::from_le_bytes(left)).ok(),
                        Some(m.len() - off - n),
                        "thread {me}: FIONREAD after a read at {off}"
                    );
                }
            }
            8 => {
                set(String::from("getinfo"));
                let mut info = [0u8; echo_testkit::INFO_SIZE];
                let res = k.ioctl(fd, getinfo, &mut info);
                t.op(&res);
                res.unwrap_or_else(|e| panic!("thread {me}: GETINFO: {e:?}"));
                let word = |i: usize| {
                    u64::from_le_bytes(info[i * 8..i * 8 + 8].try_into().unwrap_or_default())
                };
                let (length, generation) = (word(0), word(2));
                assert!(
                    length <= MAXLEN as u64 || length == DEFAULT_MESSAGE.len() as u64,
                    "thread {me}: length {length}"
                );
                assert!(
                    generation >= last_generation,
                    "thread {me}: generation went back: {last_generation} -> {generation}"
                );
                last_generation = generation;
            }
            _ if rd => {
                let off = i64::try_from((r >> 12) % 5000).unwrap_or(0);
                set(format!("pread {off}"));
                let mut buf = [0u8; 256];
                let res = k.pread(fd, &mut buf, off);
                t.op(&res);
                let n = res.unwrap_or_else(|e| panic!("thread {me}: pread {off}: {e:?}"));
                seen.reads += 1;
                seen.bytes_out += n as u64;
                if has_poison(&buf[..n]) {
                    t.disclosure();
                }
            }
            _ => {}
        }
    }
    set(String::from("closing"));
    for (fd, _, _) in fds {
        let res = k.close(fd);
        t.op(&res);
        res.unwrap_or_else(|e| panic!("thread {me}: close: {e:?}"));
    }
    set(String::from("done"));
    seen
}

/// One run: `threads` threads of `ops` operations; with `rate`, every 7th
/// allocation fails.
fn stress(params: &Params, t: &Tally, rate: bool) -> Seen {
    let threads = params.stress_threads;
    let k = Kernel::new();
    let id = k.kldload(module_path(echo_testkit::MODULE)).unwrap();
    k.sysctl_set("hw.rustecho.maxlen", &MAXLEN.to_string())
        .unwrap();
    t.ops_ok(2);
    let live0 = live_allocs(&k);
    let shared = Arc::new(Shared {
        k: k.clone(),
        started: (0..threads).map(|_| AtomicU32::new(0)).collect(),
        progress: Arc::new(AtomicU64::new(0)),
        status: (0..threads).map(|_| Mutex::new(String::new())).collect(),
        rate,
    });
    if rate {
        k.set_malloc_failures(FailPolicy::EveryNth(7));
    }
    let watchdog = {
        let s = Arc::clone(&shared);
        Watchdog::start(
            Arc::clone(&shared.progress),
            Duration::from_secs(params.watchdog_secs),
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
                    "threads inside the device: {:?}\n{}\nviolations: {:?}\nasleep:\n{}dmesg:\n{}",
                    s.k.dev_threads(DEV_NAME),
                    status.join("\n"),
                    s.k.violations(),
                    s.k.sleep_report(),
                    s.k.dmesg()
                )
            },
            Watchdog::exit,
        )
    };
    let mut total = Seen::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let s = &*shared;
                let me = u8::try_from(i).unwrap_or(u8::MAX);
                let seed = params.seed.wrapping_mul(31).wrapping_add(i as u64 + 1);
                scope.spawn(move || worker(s, t, me, params.stress_ops, seed))
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(seen) => total.add(&seen),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    });
    drop(watchdog);
    k.set_malloc_failures(FailPolicy::Never);
    let c = Counters::read(&k);
    let want = Counters([
        total.opens,
        total.reads,
        total.writes,
        total.bytes_in,
        total.bytes_out,
        total.enomem,
        total.efbig,
        0,
    ]);
    assert_eq!(c, want, "counters do not add up: {}", c.diff(&want));
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let info = echo_testkit::info(&k, fd);
    k.close(fd).unwrap();
    assert_eq!(
        info.generation,
        total.writes + total.clears,
        "one generation per write and clear"
    );
    // The current message and at most a spare and a pending one, each an
    // Arc block and its bytes, besides what the module had at the start.
    let live = live_allocs(&k);
    if live > live0 + 6 {
        t.leak(live - live0 - 6);
        panic!("live allocations {live0} at the start, {live} at the end");
    }
    k.kldunload(id, false).unwrap();
    t.ops_ok(1);
    let v = t.absorb_kernel(&k);
    assert!(v.is_empty(), "{v:?}");
    total
}

/// The scenario.
///
/// # Panics
/// On a failed check (the watchdog exits the process instead).
pub fn run(params: &Params, t: &Tally) {
    for rate in [false, true] {
        let start = Instant::now();
        let seen = stress(params, t, rate);
        t.note(format!(
            "stress{}: {} threads x {} operations in {:.1?}: {} complete reads checked, \
             {} writes, {} clears, {} EFBIG, {} ENOMEM",
            if rate {
                " (1 in 7 allocations failing)"
            } else {
                ""
            },
            params.stress_threads,
            params.stress_ops,
            start.elapsed(),
            seen.complete_reads,
            seen.writes,
            seen.clears,
            seen.efbig,
            seen.enomem
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_message_is_detected() {
        let started = [AtomicU32::new(3), AtomicU32::new(1)];
        let a = message(0, 2, 100);
        assert_eq!(classify(&a, &started), Read::Written(0, 2));
        assert_eq!(classify(&message(0, 3, 100), &started), Read::Torn);
        assert_eq!(classify(&a[..99], &started), Read::Torn);
        let mut mixed = a.clone();
        mixed[50..].copy_from_slice(&message(1, 0, 100)[50..]);
        assert_eq!(classify(&mixed, &started), Read::Torn);
        assert_eq!(classify(b"", &started), Read::Empty);
        assert_eq!(classify(DEFAULT_MESSAGE, &started), Read::Default);
    }

    #[test]
    fn the_watchdog_reports_a_stall() {
        let (tx, rx) = std::sync::mpsc::channel();
        let progress = Arc::new(AtomicU64::new(5));
        let w = Watchdog::start(
            Arc::clone(&progress),
            Duration::from_millis(100),
            || String::from("the dump"),
            move |d| tx.send(d).unwrap(),
        );
        let dump = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(
            dump.contains("no progress") && dump.contains("the dump"),
            "{dump}"
        );
        drop(w);
    }
}
