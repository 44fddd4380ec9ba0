// SPDX-License-Identifier: BSD-2-Clause
//! No missed wakeup in `rustfifo.ko`: rounds in which several threads
//! block in the module, all of them in the kernel's sleep queues before
//! the event that must wake them, and every one of them must return, with
//! the right bytes, before the deadlock [`Watchdog`] fires (it dumps the
//! sleepers and fails the run).
//!
//! - **herd**: `n` readers block on an empty FIFO (one sleeps for data,
//!   the others for the readers' lock); one write of `n` words wakes
//!   them; each returns one word, all words distinct.
//! - **trickle**: the same, with `n` writes of one word each, one after
//!   the other.
//! - **writers**: `n` writers block on a full FIFO (capacity one word);
//!   reads of one word each let them all finish, in FIFO order per
//!   writer.
//! - **signal**: of `n` blocked readers, one is interrupted (`EINTR`),
//!   the others still get the data.
//! - **idle**: a reader blocks after the idle callout was armed; the
//!   callout fires (the virtual clock moves) and must not free the
//!   storage under the sleeper; a write then wakes it.
//!
//! Each round prints the module's `wakeups`, `blocked_reads` and
//! `blocked_writes` deltas and the kernel's wakeups that woke a thread:
//! a thundering herd shows as many more wakeups than blocked calls.

use super::stream::{WORD, word};
use super::{DEV, READ_WAIT, WAIT, WRITE_WAIT, counter_diff, counters, drain, finish, loaded};
use crate::Params;
use crate::stress::Watchdog;
use crate::tally::Tally;
use harness::{Errno, Kernel, O_RDWR, SysResult};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Waits until `n` threads are inside the device and one of them sleeps
/// with `wmesg` (the others wait for the readers' or writers' lock).
pub(super) fn wait_asleep(k: &Kernel, n: usize, wmesg: &str) {
    let end = std::time::Instant::now() + WAIT;
    let inside = || k.dev_threads(super::DEV_NAME).unwrap_or(0);
    while inside() < n || !k.sleepers().iter().any(|s| s.wmesg == wmesg) {
        assert!(
            std::time::Instant::now() < end,
            "{} of {n} threads inside the device, sleepers {:?}",
            inside(),
            k.sleepers()
        );
        thread::sleep(Duration::from_millis(1));
    }
    // Let the last ones reach their lock.
    thread::sleep(Duration::from_millis(2));
}

/// A round of [`run`].
type RoundFn<'f> = dyn Fn(&Round<'_>) + 'f;

struct Round<'a> {
    t: &'a Tally,
    k: Kernel,
    fd: i32,
    progress: Arc<AtomicU64>,
}

impl Round<'_> {
    fn reader(&self, n: usize) -> JoinHandle<SysResult<Vec<u8>>> {
        let (k, fd, progress) = (self.k.clone(), self.fd, Arc::clone(&self.progress));
        thread::spawn(move || {
            let mut buf = vec![0u8; n];
            let r = k.read(fd, &mut buf).map(|got| buf[..got].to_vec());
            progress.fetch_add(1, Ordering::Relaxed);
            r
        })
    }

    fn writer(&self, data: Vec<u8>) -> JoinHandle<SysResult<usize>> {
        let (k, fd, progress) = (self.k.clone(), self.fd, Arc::clone(&self.progress));
        thread::spawn(move || {
            let r = k.write(fd, &data);
            progress.fetch_add(1, Ordering::Relaxed);
            r
        })
    }

    fn write(&self, data: &[u8]) {
        let r = self.k.write(self.fd, data);
        self.t.op(&r);
        assert_eq!(r, Ok(data.len()), "write");
    }

    /// Joins readers and returns the words they read, checked distinct.
    fn words(&self, readers: Vec<JoinHandle<SysResult<Vec<u8>>>>) -> BTreeSet<Vec<u8>> {
        let mut got = BTreeSet::new();
        for h in readers {
            let r = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            self.t.op(&r);
            let b = r.unwrap_or_else(|e| panic!("a woken reader failed: {e:?}"));
            assert_eq!(b.len(), WORD, "a reader of one word");
            assert!(got.insert(b), "two readers got the same word");
        }
        got
    }
}

fn herd(r: &Round<'_>, n: usize, trickle: bool) {
    let readers: Vec<_> = (0..n).map(|_| r.reader(WORD)).collect();
    wait_asleep(&r.k, n, READ_WAIT);
    let words: Vec<u8> = (0..n)
        .flat_map(|i| word(1, u32::try_from(i).unwrap_or(0), 0, true))
        .collect();
    if trickle {
        for w in words.chunks(WORD) {
            r.write(w);
        }
    } else {
        r.write(&words);
    }
    let got = r.words(readers);
    let want: BTreeSet<Vec<u8>> = words.chunks(WORD).map(<[u8]>::to_vec).collect();
    assert!(
        got == want,
        "the readers did not get exactly the words written"
    );
}

fn writers(r: &Round<'_>, n: usize) {
    r.k.sysctl_set("hw.rustfifo.capacity", &WORD.to_string())
        .unwrap_or_else(|e| panic!("{e:?}"));
    r.write(&word(9, 0, 0, true));
    let writers: Vec<_> = (0..n)
        .map(|i| r.writer(word(2, u32::try_from(i).unwrap_or(0), 0, true).to_vec()))
        .collect();
    wait_asleep(&r.k, n, WRITE_WAIT);
    let mut got = BTreeSet::new();
    for _ in 0..=n {
        let mut buf = [0u8; WORD];
        let res = r.k.read(r.fd, &mut buf);
        r.t.op(&res);
        assert_eq!(res, Ok(WORD), "read");
        assert!(got.insert(buf), "a word read twice");
    }
    for h in writers {
        let res = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        r.t.op(&res);
        assert_eq!(res, Ok(WORD), "a woken writer");
    }
    assert_eq!(got.len(), n + 1);
    r.k.sysctl_set("hw.rustfifo.capacity", "65536")
        .unwrap_or_else(|e| panic!("{e:?}"));
}

fn signal(r: &Round<'_>, n: usize) {
    let readers: Vec<_> = (0..n).map(|_| r.reader(WORD)).collect();
    wait_asleep(&r.k, n, READ_WAIT);
    let victim = readers[n / 2].thread().id();
    assert!(
        r.k.post_signal(victim, false),
        "the reader was not in the kernel"
    );
    let mut rest = Vec::new();
    let mut interrupted = 0;
    for h in readers {
        if h.thread().id() == victim {
            let res = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            r.t.op(&res);
            assert!(matches!(&res, Err(e) if *e == Errno::EINTR), "{res:?}");
            interrupted += 1;
        } else {
            rest.push(h);
        }
    }
    assert_eq!(interrupted, 1);
    let words: Vec<u8> = (0..rest.len())
        .flat_map(|i| word(3, u32::try_from(i).unwrap_or(0), 0, true))
        .collect();
    r.write(&words);
    assert_eq!(r.words(rest).len(), n - 1);
}

fn idle(r: &Round<'_>) {
    r.k.sysctl_set("hw.rustfifo.idle_ms", "10")
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Storage allocated, then empty: the idle callout is armed.
    r.write(&[7u8; 64]);
    assert_eq!(drain(&r.k).len(), 64);
    let reader = r.reader(WORD);
    wait_asleep(&r.k, 1, READ_WAIT);
    r.k.advance_clock(Duration::from_millis(50));
    let w = word(4, 0, 0, true);
    r.write(&w);
    let got = r.words(vec![reader]);
    assert!(got.contains(w.as_slice()));
    r.k.sysctl_set("hw.rustfifo.idle_ms", "1000")
        .unwrap_or_else(|e| panic!("{e:?}"));
}

/// Runs the rounds.
pub fn run(p: &Params, t: &Tally) {
    let (k, id) = loaded(t);
    let fd = k.open(DEV, O_RDWR).unwrap_or_else(|e| panic!("{e:?}"));
    let progress = Arc::new(AtomicU64::new(0));
    let dump = {
        let k = k.clone();
        move || format!("rustfifo wakeup: sleepers {:?}", k.sleepers())
    };
    let watchdog = Watchdog::start(
        Arc::clone(&progress),
        Duration::from_secs(p.watchdog_secs),
        dump,
        Watchdog::exit,
    );
    let r = Round {
        t,
        k: k.clone(),
        fd,
        progress,
    };
    let n = p.stress_threads.max(8);
    let rounds: [(&str, &RoundFn<'_>); 5] = [
        ("herd", &|r| herd(r, n, false)),
        ("trickle", &|r| herd(r, n, true)),
        ("writers", &|r| writers(r, n)),
        ("signal", &|r| signal(r, n)),
        ("idle", &idle),
    ];
    let mut lines = Vec::new();
    for (name, f) in rounds {
        let before = counters(&k);
        let kw = k.wakeup_count();
        f(&r);
        let after = counters(&k);
        lines.push(format!(
            "{name}: {} ({} kernel wakeups woke a thread)",
            counter_diff(&before, &after),
            k.wakeup_count() - kw
        ));
    }
    drop(watchdog);
    assert!(drain(&k).is_empty(), "bytes left over");
    k.close(fd).unwrap_or_else(|e| panic!("{e:?}"));
    finish(t, &k, id);
    t.note(format!(
        "fifo-wakeup, {n} threads per round: {}",
        lines.join("; ")
    ));
}
