// SPDX-License-Identifier: BSD-2-Clause
//! Register-interface fuzzing: random sequences of operations on
//! `rustedu0`, each case in a fresh kernel, checked against a small
//! model of what the driver must answer, while the edu model checks
//! every register access the driver makes (`devmodels::edu`: a write of
//! the factorial register while the device computes is lost, and is a
//! violation the test kernel records; so is an access outside BAR 0, of
//! a width the device rejects, or to a register that is not there).
//!
//! The operations: writes of n from 0 to 15 (13 and up: `EINVAL`),
//! reads of the result, the device hung and revived
//! ([`harness::Kernel::pci_edu_hang`]), interrupts raised and strays,
//! and reloads (detach and attach; the device keeps its state, a hung
//! computation included).
//!
//! The model: a write of a valid n on an idle, working device computes
//! n!; on a hung device the first write times out (`timeouts` counts
//! it) and leaves the device computing, and later writes are refused
//! without writing the register; once revived, a computation left
//! running may finish at any time (the interrupt thread's next pass or
//! the driver's next status poll), so the next write may be refused
//! once. Refusals are the errnos [`super::concurrent_write_ok`] allows
//! (the queued writer will make a hung device's `ETIMEDOUT`). A raised
//! interrupt is acknowledged. After each operation the result and the
//! timeout count are the model's, and the kernel recorded no violation.

use super::{
    absorb, attached, concurrent_write_ok, eventually, factorial, finish, kernel, load, uint,
};
use crate::Params;
use crate::fifo::next;
use crate::tally::Tally;
use harness::{Errno, Kernel};

/// One operation.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Write n to `factorial`.
    Write(u64),
    /// Read `result`.
    Result,
    /// Hang (true) or revive the device.
    Hang(bool),
    /// Raise these (non-factorial) status bits.
    Raise(u32),
    /// Assert the line spuriously.
    Stray,
    /// Unload and load again.
    Reload,
}

/// What the driver must show.
#[derive(Debug, Default)]
struct Model {
    hung: bool,
    /// A computation may be running (started on a hung device).
    pending: bool,
    result: u64,
    timeouts: u64,
}

fn pick(seed: &mut u64) -> Op {
    let r = next(seed);
    match r % 32 {
        0..=16 => Op::Write((r >> 8) % 16),
        17..=20 => Op::Result,
        // A write to a hung device polls until its timeout: rare.
        21 => Op::Hang(r & 0x100 != 0),
        22..=26 => Op::Raise(0x1000 << ((r >> 8) % 16)),
        27..=29 => Op::Stray,
        _ => Op::Reload,
    }
}

/// Applies `op` to the kernel and the model, and checks the answer.
fn step(t: &Tally, k: &Kernel, slot: u8, id: &mut i32, m: &mut Model, op: Op) {
    match op {
        Op::Write(n) => {
            // Virtual time passes only for a hung device, whose waits must time
            // out; a live one answers by itself (letting time pass there
            // would time out a computation the model expects to finish).
            let r = if m.hung {
                super::write_factorial_timed(t, k, 0, n)
            } else {
                super::write_factorial(t, k, 0, n)
            };
            if n > super::MAX_N {
                assert!(matches!(&r, Err(e) if *e == Errno::EINVAL), "{r:?}");
            } else if m.hung && !m.pending {
                assert!(
                    r.is_err() && concurrent_write_ok(&r),
                    "a hung device: {r:?}"
                );
                m.timeouts += 1;
                m.pending = true;
            } else if m.hung {
                assert!(
                    r.is_err() && concurrent_write_ok(&r),
                    "still computing: {r:?}"
                );
            } else if m.pending {
                assert!(concurrent_write_ok(&r), "revived: {r:?}");
                m.pending = false;
                if r.is_ok() {
                    m.result = factorial(n);
                }
            } else {
                assert!(r.is_ok(), "an idle device: {r:?}");
                m.result = factorial(n);
            }
        }
        Op::Result => {}
        Op::Hang(h) => {
            assert!(k.pci_edu_hang(slot, h));
            t.faults(u64::from(h));
            m.hung = h;
        }
        Op::Raise(bits) => {
            assert!(k.pci_edu_raise(slot, bits));
            t.faults(1);
            eventually("a raised interrupt acknowledged", || {
                k.pci_edu_irq_status(slot).unwrap_or(0) & bits == 0
            });
        }
        Op::Stray => {
            assert!(k.pci_intr_stray(slot));
            t.faults(1);
        }
        Op::Reload => {
            finish(t, k, *id);
            *id = load(t, k);
            assert!(attached(k, 0), "reload: not attached\n{}", k.dmesg());
            m.result = 0;
            m.timeouts = 0;
        }
    }
    assert_eq!(uint(k, 0, super::RESULT), m.result, "result");
    assert_eq!(uint(k, 0, super::TIMEOUTS), m.timeouts, "timeouts");
    let v = k.violations();
    assert!(v.is_empty(), "the kernel recorded: {v:?}");
}

/// The scenario.
///
/// # Panics
/// On the first failed check, with the case's operations.
pub fn run(p: &Params, t: &Tally) {
    let mut seed = p.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let (mut ops, mut timeouts) = (0usize, 0u64);
    for case in 0..p.edu_fuzz_cases {
        let (k, slot) = kernel();
        let mut id = load(t, &k);
        let mut m = Model::default();
        let len = 1 + usize::try_from(next(&mut seed) % 24).unwrap_or(0);
        let mut done = Vec::new();
        for _ in 0..len {
            let op = pick(&mut seed);
            done.push(op);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                step(t, &k, slot, &mut id, &mut m, op);
            }));
            if let Err(e) = r {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let recorded = t.absorb_kernel(&k);
                panic!(
                    "case {case} (seed {}): after {done:?}: {msg}; recorded: {recorded:?}\n{}",
                    p.seed,
                    k.dmesg()
                );
            }
        }
        ops += len;
        timeouts += m.timeouts;
        assert!(k.pci_edu_hang(slot, false));
        finish(t, &k, id);
        absorb(t, &k);
    }
    t.note(format!(
        "edu-fuzz: {} random sequences, {ops} operations (writes of 0 to 15, results, hangs, \
         raises, strays, reloads) against the driver's model, {timeouts} timeouts on a hung \
         device; the edu model saw no register written while busy and no bad access",
        p.edu_fuzz_cases
    ));
}
