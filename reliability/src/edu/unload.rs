// SPDX-License-Identifier: BSD-2-Clause
//! Interrupts during detach: `kldunload rustedu` while other threads
//! raise the device's interrupt (edu's raise register), assert its line
//! spuriously (strays) and write factorials, round after round in one
//! kernel.
//!
//! Each round the unload must succeed (nothing is open) or be refused
//! with `EBUSY` while a factorial runs (allowed for the queued writer to
//! come; it is retried), and then:
//!
//! - no filter or ithread handler runs after the unload returned: the
//!   interrupt thread's counts ([`harness::Kernel::intr_stats`]) stay as
//!   they were while the raisers go on, and the raised bits stay
//!   unacknowledged (the test kernel also never calls a handler whose
//!   cookie `bus_teardown_intr` removed, and waits in the teardown for a
//!   running one, as `intr_event_remove_handler` does);
//! - the kernel recorded no violation: a handler left set up at unload,
//!   a leak at `malloc_uninit`, a sleep in the filter;
//! - the device is unattached and holds nothing, and the kernel's
//!   memory, devices and sysctl nodes are as before the load
//!   ([`super::World`]).

use super::{World, absorb, attached, concurrent_write_ok, load};
use crate::Params;
use crate::tally::Tally;
use harness::{Errno, Kernel};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A bit of the interrupt status no computation raises.
const RAISED: u32 = 0x0200_0000;

/// Threads that raise, stray and write until `stop`; the operations they
/// made.
fn spawn(
    k: &Kernel,
    slot: u8,
    stop: &Arc<AtomicBool>,
    ops: &Arc<AtomicU64>,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut hs = Vec::new();
    for j in 0..3u32 {
        let (k, stop, ops) = (k.clone(), Arc::clone(stop), Arc::clone(ops));
        hs.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let ok = if j == 2 {
                    k.pci_intr_stray(slot)
                } else {
                    k.pci_edu_raise(slot, RAISED << j)
                };
                assert!(ok, "no device in slot {slot}");
                ops.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
        }));
    }
    let (k, stop, ops) = (k.clone(), Arc::clone(stop), Arc::clone(ops));
    hs.push(std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let r = k.sysctl_set(&super::leaf(0, super::FACTORIAL), &(n % 13).to_string());
            // Gone (the unload removed the node), woken by the detach
            // (ENXIO), or a refusal while another computation runs.
            assert!(
                concurrent_write_ok(&r)
                    || matches!(&r, Err(e) if *e == Errno::ENOENT || *e == Errno::ENXIO),
                "factorial={}: {r:?}\n{}",
                n % 13,
                k.dmesg()
            );
            ops.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    }));
    hs
}

/// One round: load, threads, unload among them, checks.
fn round(t: &Tally, k: &Kernel, slot: u8, base: &World, i: usize) {
    let id = load(t, k);
    assert!(attached(k, 0), "round {i}: not attached");
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let hs = spawn(k, slot, &stop, &ops);
    // Let the storm start, then unload in its middle.
    while ops.load(Ordering::Relaxed) < 20 {
        std::thread::yield_now();
    }
    let mut tries = 0;
    loop {
        let r = k.kldunload(id, false);
        t.op(&r);
        match r {
            Ok(()) => break,
            // The queued writer may veto an unload while it waits.
            Err(e) if e == Errno::EBUSY && tries < 1000 => {
                tries += 1;
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(e) => panic!("round {i}: kldunload: {e:?}\n{}", k.dmesg()),
        }
    }
    // The raisers go on: nothing may reach a handler now.
    let after = k.intr_stats();
    std::thread::sleep(Duration::from_millis(1));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
    // And one more raise, which nobody may acknowledge.
    assert!(k.pci_edu_raise(slot, RAISED));
    std::thread::sleep(Duration::from_millis(1));
    assert_eq!(
        k.intr_stats(),
        after,
        "round {i}: a handler ran after the unload returned"
    );
    let status = k.pci_edu_irq_status(slot).unwrap_or(0);
    assert_ne!(
        status & RAISED,
        0,
        "round {i}: acknowledged after detach: status {status:#x}"
    );
    t.ops_ok(ops.load(Ordering::Relaxed));
    let now = World::capture(k);
    if now.kernel_allocs != base.kernel_allocs {
        t.leak(1);
    }
    assert_eq!(&now, base, "round {i}: the kernel kept something");
    absorb(t, k);
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(p: &Params, t: &Tally) {
    let k = Kernel::with_config(harness::Config {
        msgbuf_size: crate::soak::MSGBUF,
        ..harness::Config::default()
    });
    let slot = k.pci_add_edu();
    let base = World::capture(&k);
    let before = k.intr_stats();
    for i in 0..p.edu_unload_rounds {
        round(t, &k, slot, &base, i);
    }
    let s = k.intr_stats();
    t.note(format!(
        "edu-unload: {} unloads while 3 threads raised and strayed the interrupt and one wrote \
         factorials; {} filters ran ({} stray), {} ithread handlers, none after an unload \
         returned; nothing kept",
        p.edu_unload_rounds,
        s.filters - before.filters,
        s.stray - before.stray,
        s.ithreads - before.ithreads
    ));
}
