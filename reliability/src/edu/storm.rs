// SPDX-License-Identifier: BSD-2-Clause
//! Interrupt storms and strays: while two threads compute factorials on
//! `rustedu0` (one checks each result, one keeps writing 12 to contend
//! with it), four threads raise the device's interrupt through its raise
//! register (each its own status bit, raised again as soon as the
//! filter acknowledged it) and one asserts the line spuriously (a
//! stray: the status is clear, or holds someone else's bits).
//!
//! Checked, exactly, once the interrupt thread is idle:
//!
//! - every raise was acknowledged (a raiser waits for its bit to clear;
//!   one that never clears is a lost interrupt);
//! - the driver's counters are what the interrupt thread saw its filter
//!   return ([`harness::Kernel::intr_stats`]): `interrupts` = filters
//!   that handled or scheduled, `stray` = filters that returned
//!   `FILTER_STRAY`, and every filter call is one or the other;
//!   `completions` = ithread runs = filters that scheduled the ithread;
//! - the status is clear at the end; no factorial result is wrong; every
//!   refused write is one [`super::concurrent_write_ok`] allows;
//! - completions are at most the successful writes, and at least one.
//!   Today the writer polls and returns before the completion interrupt,
//!   so two completions can coalesce into one status bit; the queued
//!   writer (waiting for the completion interrupt) makes it exact:
//!   completions = successful writes;
//! - the model saw no register written while busy, the kernel no
//!   violation (a sleep in the filter, a lock held across it).

use super::{WAIT, concurrent_write_ok, factorial, finish, kernel, load, uint, write_factorial};
use crate::Params;
use crate::tally::Tally;
use harness::{IntrStats, Kernel};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Raiser threads; raiser j owns status bit `0x1000 << j` (above the
/// factorial (0x1) and DMA (0x100) bits, which wake the driver's waiters).
const RAISERS: u32 = 4;

/// The driver's counters and the interrupt thread's, read together.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Counts {
    interrupts: u64,
    stray: u64,
    completions: u64,
    stats: IntrStats,
    status: Option<u32>,
}

fn counts(k: &Kernel, slot: u8) -> Counts {
    Counts {
        interrupts: uint(k, 0, super::INTERRUPTS),
        stray: uint(k, 0, super::STRAY),
        completions: uint(k, 0, super::COMPLETIONS),
        stats: k.intr_stats(),
        status: k.pci_edu_irq_status(slot),
    }
}

/// Whether the counts add up.
fn consistent(c: &Counts) -> bool {
    c.interrupts == c.stats.handled + c.stats.scheduled
        && c.stray == c.stats.stray
        && c.stats.filters == c.stats.handled + c.stats.scheduled + c.stats.stray
        && c.completions == c.stats.ithreads
        && c.stats.ithreads == c.stats.scheduled
        && c.status == Some(0)
}

/// The writers: the checked one (n from 0 to 11) and the contending one
/// (n = 12); the successful writes of each.
fn writers(t: &Arc<Tally>, k: &Kernel, ops: usize) -> Vec<std::thread::JoinHandle<u64>> {
    let mut hs = Vec::new();
    for contend in [false, true] {
        let (t, k) = (Arc::clone(t), k.clone());
        hs.push(std::thread::spawn(move || {
            let mut ok = 0;
            for i in 0..ops {
                let n = if contend { 12 } else { (i % 12) as u64 };
                let r = write_factorial(&t, &k, 0, n);
                assert!(concurrent_write_ok(&r), "factorial={n}: {r:?}");
                if r.is_ok() {
                    ok += 1;
                    if !contend {
                        // The other writer may have finished since.
                        let got = uint(&k, 0, super::RESULT);
                        assert!(
                            got == factorial(n) || got == factorial(12),
                            "{n}! read back as {got}"
                        );
                    }
                }
            }
            ok
        }));
    }
    hs
}

/// The raisers and the stray thread, until `stop`; raises and strays
/// made.
fn storm(
    k: &Kernel,
    slot: u8,
    stop: &Arc<AtomicBool>,
    raised: &Arc<AtomicU64>,
    strays: &Arc<AtomicU64>,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut hs = Vec::new();
    for j in 0..RAISERS {
        let (k, stop, raised) = (k.clone(), Arc::clone(stop), Arc::clone(raised));
        let bit = 0x1000u32 << j;
        hs.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(k.pci_edu_raise(slot, bit));
                raised.fetch_add(1, Ordering::Relaxed);
                let end = Instant::now() + WAIT;
                while k.pci_edu_irq_status(slot).unwrap_or(0) & bit != 0 {
                    assert!(
                        Instant::now() < end,
                        "raise of {bit:#x} never acknowledged: {:?}, status {:?}, asleep {:?}",
                        k.intr_stats(),
                        k.pci_edu_irq_status(slot),
                        k.sleepers()
                    );
                    std::thread::yield_now();
                }
            }
        }));
    }
    let (k, stop, strays) = (k.clone(), Arc::clone(stop), Arc::clone(strays));
    hs.push(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            assert!(k.pci_intr_stray(slot));
            strays.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_micros(50));
        }
    }));
    hs
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(p: &Params, t: &Tally) {
    let (k, slot) = kernel();
    let id = load(t, &k);
    let shared = Arc::new(Tally::new());
    let stop = Arc::new(AtomicBool::new(false));
    let (raised, strays) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stormers = storm(&k, slot, &stop, &raised, &strays);
    let ws = writers(&shared, &k, p.edu_storm_ops);
    let ok: u64 = ws
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .sum();
    stop.store(true, Ordering::Relaxed);
    for h in stormers {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
    t.merge(&shared.figures());
    let (raised, strays) = (
        raised.load(Ordering::Relaxed),
        strays.load(Ordering::Relaxed),
    );
    // Idle: the counts stop moving (the last strays and completions
    // delivered) and add up.
    let end = Instant::now() + WAIT;
    let mut last = counts(&k, slot);
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let now = counts(&k, slot);
        if now == last && consistent(&now) && now.stats.filters >= strays {
            break;
        }
        assert!(
            Instant::now() < end,
            "the counts do not add up: {now:?} (raised {raised}, strays {strays})"
        );
        last = now;
    }
    let c = last;
    assert!(
        c.completions >= 1 && c.completions <= ok,
        "completions {} for {ok} successful writes",
        c.completions
    );
    let timeouts = uint(&k, 0, super::TIMEOUTS);
    t.ops_ok(raised + strays);
    t.faults(raised + strays);
    // The device computes again once the storm is over.
    super::check_works(t, &k, 10, "after the storm");
    finish(t, &k, id);
    t.note(format!(
        "edu-storm: {ok} factorials while {RAISERS} threads raised {raised} interrupts and one \
         made {strays} strays: {} filters ({} handled, {} scheduled the ithread, {} stray), \
         equal to the driver's counters; {} completions; {timeouts} polling timeouts",
        c.stats.filters, c.stats.handled, c.stats.scheduled, c.stats.stray, c.completions
    ));
}
