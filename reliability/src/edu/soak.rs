// SPDX-License-Identifier: BSD-2-Clause
//! Soak: load/unload cycles of `rustedu.ko` in one kernel with one edu
//! device (10,000 under `make soak`, fewer in `make test`): each load
//! probes and attaches (BAR 0, the IRQ, the interrupt handler, the
//! sysctl nodes), computes a factorial whose completion interrupt the
//! filter acknowledges and the ithread handler counts, and each unload
//! detaches; every 16th cycle also raises an interrupt and a stray.
//!
//! About a hundred times it samples what the kernel keeps between cycles
//! ([`super::World`]: the live allocations and bytes of every kernel
//! malloc type, the device's driver and resources, the `dev` sysctl
//! nodes, the loaded files: exactly the same each time, the device
//! unattached and holding nothing), that no interrupt handler is left
//! (the kernel records one left at unload, and a raise after it stays
//! unacknowledged), and this process's resident memory (bounded growth
//! after a warm-up), as the rustecho soak does ([`crate::soak`]).

use super::{World, absorb, attached, eventually, factorial, uint, write_factorial};
use crate::Params;
use crate::soak::{MSGBUF, RSS_BOUND, rss, slope};
use crate::tally::Tally;
use harness::testing::module_path;
use harness::{Config, Kernel};
use std::time::Instant;

/// A bit of the interrupt status no computation raises.
const RAISED: u32 = 0x0400_0000;

/// One cycle.
fn cycle(t: &Tally, k: &Kernel, slot: u8, ko: &std::path::Path, i: u64) {
    let r = k.kldload(ko);
    t.op(&r);
    let id = r.unwrap_or_else(|e| panic!("cycle {i}: kldload: {e:?}\n{}", k.dmesg()));
    assert!(attached(k, 0), "cycle {i}: not attached\n{}", k.dmesg());
    let n = i % 13;
    write_factorial(t, k, 0, n).unwrap_or_else(|e| panic!("cycle {i}: factorial={n}: {e:?}"));
    assert_eq!(uint(k, 0, super::RESULT), factorial(n), "cycle {i}: {n}!");
    if i % 16 == 15 {
        let before = uint(k, 0, super::INTERRUPTS);
        assert!(k.pci_edu_raise(slot, RAISED));
        assert!(k.pci_intr_stray(slot));
        eventually("the raised interrupt acknowledged", || {
            uint(k, 0, super::INTERRUPTS) > before && k.pci_edu_irq_status(slot) == Some(0)
        });
        t.ops_ok(2);
    }
    let r = k.kldunload(id, false);
    t.op(&r);
    r.unwrap_or_else(|e| panic!("cycle {i}: kldunload: {e:?}\n{}", k.dmesg()));
}

/// The scenario.
///
/// # Panics
/// If a cycle fails, the kernel keeps something, or memory grows.
#[allow(clippy::cast_precision_loss, reason = "rates for the report")]
pub fn run(p: &Params, t: &Tally) {
    let cycles = p.edu_soak_cycles;
    let every = (cycles / 100).max(1);
    let k = Kernel::with_config(Config {
        msgbuf_size: MSGBUF,
        ..Config::default()
    });
    let slot = k.pci_add_edu();
    let ko = module_path(super::MODULE);
    let base = World::capture(&k);
    let (mut xs, mut rss_samples) = (Vec::new(), Vec::new());
    let start = Instant::now();
    for i in 0..cycles {
        cycle(t, &k, slot, &ko, i);
        if i % every == 0 || i + 1 == cycles {
            let now = World::capture(&k);
            if now.kernel_allocs != base.kernel_allocs {
                t.leak(1);
            }
            assert_eq!(now, base, "cycle {i}: the kernel kept something");
            // No handler left: a raise stays unacknowledged.
            assert!(k.pci_edu_raise(slot, RAISED));
            let filters = k.intr_stats().filters;
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert_eq!(
                k.intr_stats().filters,
                filters,
                "cycle {i}: a filter ran after detach"
            );
            // (A completion's bit may be pending too: the unload does not
            // wait for the completion interrupt.)
            let status = k.pci_edu_irq_status(slot).unwrap_or(0);
            assert_ne!(status & RAISED, 0, "cycle {i}: acknowledged after detach");
            // It stays pending: the next attach's filter acknowledges it
            // with the next completion.
            xs.push(i);
            rss_samples.push(rss());
            absorb(t, &k);
        }
    }
    let elapsed = start.elapsed();
    let warm = xs.len() / 10;
    let (first, last) = (rss_samples[warm], rss_samples[rss_samples.len() - 1]);
    let per_1000 = slope(&xs[warm..], &rss_samples[warm..]) * 1000.0;
    t.note(format!(
        "edu-soak: {cycles} attach/detach (load/unload) cycles with a factorial each in \
         {elapsed:.1?} ({:.0} cycles/s; every 16th a raised and a stray interrupt); kernel \
         malloc statistics, device resources and sysctl nodes identical at all {} samples, \
         no handler left; RSS first {} KiB, last {} KiB, slope {per_1000:+.1} bytes per 1000 \
         cycles",
        cycles as f64 / elapsed.as_secs_f64(),
        xs.len(),
        first / 1024,
        last / 1024,
    ));
    assert!(
        last <= first + RSS_BOUND,
        "resident memory grew from {first} to {last} bytes"
    );
}
