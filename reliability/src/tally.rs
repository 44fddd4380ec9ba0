// SPDX-License-Identifier: BSD-2-Clause
//! [`Tally`]: what a scenario did (operations, faults injected, errors by
//! errno) and the figures that must stay zero.
//!
//! Threads of one scenario share a tally (`&Tally`, atomics and short
//! mutex sections), and [`Tally::absorb_kernel`] moves what a test kernel
//! recorded (violations, a panic) into it when the scenario is done with
//! that kernel, so that dropping the kernel does not panic a second time.

use harness::{Error, Kernel, ViolationKind};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The figures of one scenario.
#[derive(Default, Debug)]
pub struct Tally {
    ops: AtomicU64,
    faults: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    leaks: AtomicU64,
    kernel_panics: AtomicU64,
    torn_reads: AtomicU64,
    lock_violations: AtomicU64,
    other_violations: AtomicU64,
    disclosures: AtomicU64,
    io_panic_paths: AtomicU64,
    other_panic_paths: AtomicU64,
    stack_peaks: Mutex<BTreeMap<String, usize>>,
    notes: Mutex<Vec<String>>,
}

/// A copy of a [`Tally`]'s figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Operations on the device (system calls, loads and unloads) made by
    /// the scenario, not counting the reads of its own checks.
    pub ops: u64,
    /// Injected faults that fired: failed allocations, `EFAULT`s, load
    /// steps made to fail.
    pub faults: u64,
    /// Errors the operations returned, by errno name.
    pub errors: BTreeMap<String, u64>,
    /// Memory left behind: `malloc_uninit` leak reports and live
    /// allocations that did not return to their baseline.
    pub leaks: u64,
    /// Kernel panics.
    pub kernel_panics: u64,
    /// Reads that returned a mix of messages or a part of one.
    pub torn_reads: u64,
    /// WITNESS-like violations: lock order, sleeping with a mutex held.
    pub lock_violations: u64,
    /// Other rule violations the harness recorded (malloc misuse, devices
    /// or sysctls left behind, uio misuse).
    pub other_violations: u64,
    /// Reads that returned bytes no write stored (the allocator's poison
    /// pattern, or another buffer's bytes).
    pub disclosures: u64,
    /// Panic paths reachable from read, write, ioctl, open or close.
    pub io_panic_paths: u64,
    /// Panic paths reachable from other entry points (listed, allowed).
    pub other_panic_paths: u64,
    /// Peak kernel stack use, in bytes, by entry point into the module
    /// (`Kernel::stack_usage`; the kernel stack is 16 KiB).
    pub stack_peaks: BTreeMap<String, usize>,
}

/// The most kernel stack an entry point may use: the goal of 2 KiB, an
/// eighth of the 16 KiB kernel stack.
pub const STACK_GOAL: usize = 2048;

/// Merges peak stack figures, keeping the larger.
fn merge_peaks(
    into: &mut BTreeMap<String, usize>,
    from: impl IntoIterator<Item = (String, usize)>,
) {
    for (k, v) in from {
        let e = into.entry(k).or_default();
        *e = (*e).max(v);
    }
}

impl Figures {
    /// The sum of the figures that must be zero.
    #[must_use]
    pub fn must_be_zero(&self) -> u64 {
        self.leaks
            + self.kernel_panics
            + self.torn_reads
            + self.lock_violations
            + self.other_violations
            + self.disclosures
            + self.io_panic_paths
            + self.stack_over_goal()
    }

    /// Entry points that used more than [`STACK_GOAL`] bytes of stack.
    #[must_use]
    pub fn stack_over_goal(&self) -> u64 {
        let n = self
            .stack_peaks
            .values()
            .filter(|&&b| b > STACK_GOAL)
            .count();
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// Adds `other` to these figures.
    pub fn add(&mut self, other: &Figures) {
        self.ops += other.ops;
        self.faults += other.faults;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        self.leaks += other.leaks;
        self.kernel_panics += other.kernel_panics;
        self.torn_reads += other.torn_reads;
        self.lock_violations += other.lock_violations;
        self.other_violations += other.other_violations;
        self.disclosures += other.disclosures;
        self.io_panic_paths += other.io_panic_paths;
        self.other_panic_paths += other.other_panic_paths;
        merge_peaks(
            &mut self.stack_peaks,
            other.stack_peaks.iter().map(|(k, v)| (k.clone(), *v)),
        );
    }

    /// Errors returned, all errnos together.
    #[must_use]
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

fn bump(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}

impl Tally {
    /// An empty tally.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one operation and, if it failed, its errno.
    pub fn op<T>(&self, r: &Result<T, Error>) {
        bump(&self.ops, 1);
        if let Err(e) = r {
            self.error(e);
        }
    }

    /// Counts `n` operations that succeeded.
    pub fn ops_ok(&self, n: u64) {
        bump(&self.ops, n);
    }

    /// Counts an error by errno (or a panic as `panic`).
    pub fn error(&self, e: &Error) {
        let name = match e {
            Error::Errno(e) => e
                .name()
                .map_or_else(|| format!("errno {}", e.0), str::to_owned),
            Error::Panic(_) => String::from("panic"),
        };
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        *errors.entry(name).or_default() += 1;
    }

    /// Counts `n` injected faults that fired.
    pub fn faults(&self, n: u64) {
        bump(&self.faults, n);
    }

    /// Counts leaked allocations (a live count above its baseline).
    pub fn leak(&self, n: u64) {
        bump(&self.leaks, n);
    }

    /// Counts a torn read.
    pub fn torn(&self) {
        bump(&self.torn_reads, 1);
    }

    /// Counts a read that returned bytes no write stored.
    pub fn disclosure(&self) {
        bump(&self.disclosures, 1);
    }

    /// Records the panic paths found (I/O ones must be zero).
    pub fn panic_paths(&self, io: u64, other: u64) {
        bump(&self.io_panic_paths, io);
        bump(&self.other_panic_paths, other);
    }

    /// A line printed under the table (what a scenario measured).
    pub fn note(&self, line: impl Into<String>) {
        self.notes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.into());
    }

    /// The notes so far.
    #[must_use]
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Moves what `k` recorded into the tally: each violation by kind
    /// (`malloc_uninit` leak reports count as leaks), a kernel panic, and
    /// the peak kernel stack use of each entry point.
    /// The kernel's records are then acknowledged, so dropping it does not
    /// fail a second time. Returns the violations, for the caller's
    /// message.
    pub fn absorb_kernel(&self, k: &Kernel) -> Vec<String> {
        merge_peaks(
            &mut self.stack_peaks.lock().unwrap_or_else(|p| p.into_inner()),
            k.stack_usage().into_iter().map(|u| (u.entry, u.peak)),
        );
        let violations = k.take_violations();
        for v in &violations {
            match v.kind {
                ViolationKind::Lock => bump(&self.lock_violations, 1),
                ViolationKind::Leak => bump(&self.leaks, 1),
                _ => bump(&self.other_violations, 1),
            }
        }
        let mut out: Vec<String> = violations.iter().map(ToString::to_string).collect();
        if let Some(p) = k.expect_panic() {
            bump(&self.kernel_panics, 1);
            out.push(format!("kernel panicked: {p}"));
        }
        out
    }

    /// Adds figures gathered elsewhere (another tally's).
    pub fn merge(&self, f: &Figures) {
        bump(&self.ops, f.ops);
        bump(&self.faults, f.faults);
        {
            let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            for (k, v) in &f.errors {
                *errors.entry(k.clone()).or_default() += v;
            }
        }
        bump(&self.leaks, f.leaks);
        bump(&self.kernel_panics, f.kernel_panics);
        bump(&self.torn_reads, f.torn_reads);
        bump(&self.lock_violations, f.lock_violations);
        bump(&self.other_violations, f.other_violations);
        bump(&self.disclosures, f.disclosures);
        bump(&self.io_panic_paths, f.io_panic_paths);
        bump(&self.other_panic_paths, f.other_panic_paths);
        merge_peaks(
            &mut self.stack_peaks.lock().unwrap_or_else(|p| p.into_inner()),
            f.stack_peaks.iter().map(|(k, v)| (k.clone(), *v)),
        );
    }

    /// A copy of the figures.
    #[must_use]
    pub fn figures(&self) -> Figures {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Figures {
            ops: g(&self.ops),
            faults: g(&self.faults),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            leaks: g(&self.leaks),
            kernel_panics: g(&self.kernel_panics),
            torn_reads: g(&self.torn_reads),
            lock_violations: g(&self.lock_violations),
            other_violations: g(&self.other_violations),
            disclosures: g(&self.disclosures),
            io_panic_paths: g(&self.io_panic_paths),
            other_panic_paths: g(&self.other_panic_paths),
            stack_peaks: self
                .stack_peaks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::Errno;

    #[test]
    fn errors_are_counted_by_name_and_zero_figures_add_up() {
        let t = Tally::new();
        t.op::<()>(&Ok(()));
        t.op::<()>(&Err(Errno::ENOMEM.into()));
        t.op::<()>(&Err(Errno::ENOMEM.into()));
        t.op::<()>(&Err(Error::Panic(String::from("x"))));
        let f = t.figures();
        assert_eq!(f.ops, 4);
        assert_eq!(f.errors["ENOMEM"], 2);
        assert_eq!(f.errors["panic"], 1);
        assert_eq!(f.must_be_zero(), 0);
        t.torn();
        t.leak(2);
        assert_eq!(t.figures().must_be_zero(), 3);
        let mut sum = Figures::default();
        sum.add(&f);
        sum.add(&t.figures());
        assert_eq!(sum.ops, 8);
        assert_eq!(sum.errors["ENOMEM"], 4);
    }
}
