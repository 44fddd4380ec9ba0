// SPDX-License-Identifier: BSD-2-Clause
//! How much to measure: the full run of `make bench` and the smoke run
//! of `make test`.

use std::time::Duration;

/// How much to measure.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Smoke run: tiny counts, figures not meaningful.
    pub(crate) quick: bool,
    /// Whether to count instructions under callgrind.
    pub(crate) callgrind: bool,
    /// Round trips per harness-counter row, after `warmup` ones.
    pub(crate) count_iters: u64,
    pub(crate) warmup: u64,
    /// Timed rounds: each a separate process with a fresh kernel.
    pub(crate) rounds: usize,
    /// Rust/C sample pairs per message size in each round.
    pub(crate) pairs: usize,
    /// Length of one timing sample.
    pub(crate) sample_time: Duration,
    /// Concurrency: thread counts, message size, length of each module's
    /// run (one Rust and one C run per thread count in each round).
    pub(crate) threads: &'static [usize],
    pub(crate) conc_size: usize,
    pub(crate) conc_time: Duration,
    /// Round trips per callgrind phase.
    pub(crate) cg_iters: u64,
}

impl Plan {
    /// `make bench`: about half a minute of timing on an idle machine.
    pub(crate) fn full() -> Self {
        Plan {
            quick: false,
            callgrind: true,
            count_iters: 200,
            warmup: 20,
            rounds: 9,
            pairs: 8,
            sample_time: Duration::from_millis(20),
            threads: &[1, 2, 8],
            conc_size: 16,
            conc_time: Duration::from_millis(200),
            cg_iters: 50,
        }
    }

    /// `--quick`: every code path once, in a few seconds.
    pub(crate) fn quick() -> Self {
        Plan {
            quick: true,
            callgrind: true,
            count_iters: 10,
            warmup: 5,
            rounds: 2,
            pairs: 2,
            sample_time: Duration::from_millis(2),
            threads: &[1, 2, 8],
            conc_size: 16,
            conc_time: Duration::from_millis(10),
            cg_iters: 3,
        }
    }

    /// Whether the figures may go into the tracked documents: a full run
    /// with instruction counts, the headline figure.
    pub(crate) fn publishable(&self) -> bool {
        !self.quick && self.callgrind
    }
}
