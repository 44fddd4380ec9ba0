// SPDX-License-Identifier: BSD-2-Clause
//! Unload of `rustfifo.ko` under load, with sleepers (rustfifo(4),
//! "Unloading").
//!
//! Each round: readers asleep on an empty FIFO (even rounds) or writers
//! asleep on a full one, having queued part of their write (odd rounds);
//! a `poll(2)` waiter and a `kevent(2)` waiter for what would wake them;
//! the idle callout armed (reader rounds: the FIFO is empty). Then:
//! - an unforced `kldunload` fails with `EBUSY`, and the device works;
//! - a forced one returns once `destroy_dev(9)` has woken everyone: a
//!   sleeping reader returns `ENXIO`; a writer returns the count it
//!   queued, or `ENXIO` if none; the poller returns (`POLLHUP`), the
//!   kqueue waiter gets its event (with `EV_EOF`);
//! - every later call on the open files fails with `ENXIO`, and they
//!   close;
//! - the callout and task were drained and the module's memory freed:
//!   nothing pending, no malloc type left, no leak or violation.
//!
//! The [`Watchdog`] fails the run if a sleeper is not woken.

use super::{
    DEV, EVFILT_READ, EVFILT_WRITE, MALLOC_TYPE, POLLHUP, POLLIN, POLLOUT, READ_WAIT, WAIT,
    WRITE_WAIT, loaded,
};
use crate::Params;
use crate::stress::Watchdog;
use crate::tally::Tally;
use harness::{Errno, O_NONBLOCK, O_RDWR, PollFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Threads asleep in read or write per round.
const SLEEPERS: usize = 4;

/// What a round saw: readers woken with `ENXIO`, writers that returned a
/// partial count.
fn round(t: &Tally, progress: &AtomicU64, n: usize) -> (u64, u64) {
    let (k, id) = loaded(t);
    let writers = n % 2 == 1;
    k.sysctl_set("hw.rustfifo.capacity", "100")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let fd = k.open(DEV, O_RDWR).unwrap_or_else(|e| panic!("{e:?}"));
    let nb = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Storage allocated and the idle callout armed, then (writers) full
    // but for 10 bytes.
    assert_eq!(k.write(nb, &[1u8; 50]), Ok(50));
    assert_eq!(k.read(nb, &mut [0u8; 50]), Ok(50));
    if writers {
        assert_eq!(k.write(nb, &[2u8; 90]), Ok(90));
    }
    t.ops_ok(5);
    let (ready, filter) = if writers {
        (POLLOUT, EVFILT_WRITE)
    } else {
        (POLLIN, EVFILT_READ)
    };
    std::thread::scope(|sc| {
        let sleepers: Vec<_> = (0..SLEEPERS)
            .map(|i| {
                let k = k.clone();
                sc.spawn(move || {
                    let r = if writers {
                        k.write(fd, &[3u8; 30])
                    } else {
                        k.read(fd, &mut [0u8; 30])
                    };
                    progress.fetch_add(1, Ordering::Relaxed);
                    (i, r)
                })
            })
            .collect();
        let wmesg = if writers { WRITE_WAIT } else { READ_WAIT };
        super::wakeup::wait_asleep(&k, SLEEPERS, wmesg);
        let poller = {
            let k = k.clone();
            sc.spawn(move || {
                let mut fds = [PollFd {
                    fd,
                    events: ready,
                    revents: 0,
                }];
                let r = k.poll(&mut fds, None).map(|_| fds[0].revents);
                progress.fetch_add(1, Ordering::Relaxed);
                r
            })
        };
        let kq = k.kqueue().unwrap_or_else(|e| panic!("{e:?}"));
        k.kevent_add(kq, fd, filter, 0)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let waiter = {
            let k = k.clone();
            sc.spawn(move || {
                let r = k.kevent_wait(kq, 1, None);
                progress.fetch_add(1, Ordering::Relaxed);
                r
            })
        };
        // Everyone waits: the sleepers (one on the FIFO, the others on
        // its lock), the poller and the kqueue waiter.
        super::wakeup::wait_asleep(&k, SLEEPERS, wmesg);
        let end = std::time::Instant::now() + WAIT;
        while k.pollers_recorded() == 0 {
            assert!(std::time::Instant::now() < end, "the poller did not wait");
            std::thread::sleep(Duration::from_millis(1));
        }
        let r = k.kldunload(id, false);
        t.op(&r);
        assert!(
            matches!(&r, Err(e) if *e == Errno::EBUSY),
            "unforced: {r:?}"
        );
        assert_eq!(super::queued(&k, nb), if writers { 100 } else { 0 });
        let pending = k.pending_callouts();
        let r = k.kldunload(id, true);
        t.op(&r);
        r.unwrap_or_else(|e| panic!("forced unload: {e:?}"));
        let (mut enxio, mut partial) = (0, 0);
        for h in sleepers {
            let (i, r) = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            t.op(&r);
            match r {
                Err(e) if e == Errno::ENXIO => enxio += 1,
                // The writer that had queued its first 10 bytes.
                Ok(10) if writers => partial += 1,
                r => panic!("sleeper {i}: {r:?}"),
            }
        }
        assert_eq!(enxio + partial, SLEEPERS as u64);
        // rustfifo(4): "a writer that had queued bytes returns their
        // count".
        assert_eq!(partial, u64::from(writers), "writers that returned a count");
        let revents = poller
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
            .unwrap_or_else(|e| panic!("poll: {e:?}"));
        assert!(
            revents & POLLHUP != 0,
            "poll after destroy_dev: {revents:#x}"
        );
        let ev = waiter
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
            .unwrap_or_else(|e| panic!("kevent: {e:?}"));
        assert!(!ev.is_empty(), "the kqueue waiter got no event");
        t.ops_ok(2);
        let r = k.read(nb, &mut [0u8; 4]);
        assert!(matches!(&r, Err(e) if *e == Errno::ENXIO), "after: {r:?}");
        let r = k.write(fd, b"x");
        assert!(matches!(&r, Err(e) if *e == Errno::ENXIO), "after: {r:?}");
        t.op(&r);
        k.kqueue_close(kq).unwrap_or_else(|e| panic!("{e:?}"));
        for f in [fd, nb] {
            k.close(f).unwrap_or_else(|e| panic!("close: {e:?}"));
        }
        // Empty with storage: the idle callout was pending (a full FIFO
        // has none).
        assert!(writers || pending > 0, "the idle callout was not armed");
        assert_eq!(k.pending_callouts(), 0, "a callout is left");
        assert!(
            k.malloc_stats(MALLOC_TYPE).is_none(),
            "the module's malloc type is left"
        );
        super::absorb(t, &k);
        (enxio, partial)
    })
}

/// Runs the rounds.
pub fn run(p: &Params, t: &Tally) {
    let progress = Arc::new(AtomicU64::new(0));
    let watchdog = Watchdog::start(
        Arc::clone(&progress),
        Duration::from_secs(p.watchdog_secs),
        || String::from("rustfifo unload: a sleeper was not woken by destroy_dev"),
        Watchdog::exit,
    );
    let rounds = p.unload_rounds;
    let (mut enxio, mut partial) = (0, 0);
    for n in 0..rounds {
        let (e, w) = round(t, &progress, n);
        enxio += e;
        partial += w;
    }
    drop(watchdog);
    t.note(format!(
        "fifo-unload: {rounds} rounds, {SLEEPERS} sleepers and a poller and a kqueue waiter \
         each: unforced unloads vetoed with EBUSY; forced unloads woke them all: {enxio} ENXIO, \
         {partial} writers returned their partial count; callout drained, nothing left"
    ));
}
