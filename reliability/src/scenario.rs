// SPDX-License-Identifier: BSD-2-Clause
//! The list of scenarios, their sizes ([`Params`]: the quick variant of
//! `make test` and the long one of `make soak`), and the runner.

use crate::tally::{Figures, Tally};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// How much each scenario does.
#[derive(Clone, Debug)]
pub struct Params {
    /// The long variants (`make soak`).
    pub soak: bool,
    /// `EFAULT` at every byte offset of a `maxlen` write and read (else:
    /// every offset up to 64, then the boundaries and powers of two).
    pub efault_every_offset: bool,
    /// Load/unload cycles with I/O in between.
    pub soak_cycles: u64,
    /// Threads of the concurrency stress.
    pub stress_threads: usize,
    /// Operations per thread.
    pub stress_ops: usize,
    /// Seconds without progress after which the watchdog fails the run.
    pub watchdog_secs: u64,
    /// Rounds of unload races.
    pub unload_rounds: usize,
    /// Proptest cases of the model-based fuzzing.
    pub fuzz_cases: u32,
    /// Steps per case, at most.
    pub fuzz_steps: usize,
    /// Steps of each "1 in N" allocation-failure workload.
    pub rate_steps: usize,
    /// Load/unload cycles of the rustfifo soak.
    pub fifo_soak_cycles: u64,
    /// Proptest cases of the rustfifo model-based fuzzing.
    pub fifo_fuzz_cases: u32,
    /// Load/unload (attach/detach) cycles of the rustedu soak.
    pub edu_soak_cycles: u64,
    /// Rounds of the rustedu unload-with-interrupts race.
    pub edu_unload_rounds: usize,
    /// Factorials of each writer of the rustedu interrupt storm.
    pub edu_storm_ops: usize,
    /// Random sequences of the rustedu register-interface fuzzing.
    pub edu_fuzz_cases: u32,
    /// Seed of the random choices (fuzzing, stress, workloads).
    pub seed: u64,
}

impl Params {
    /// `make test`: seconds per scenario.
    #[must_use]
    pub fn quick() -> Self {
        Self {
            soak: false,
            efault_every_offset: false,
            soak_cycles: 10_000,
            stress_threads: 8,
            stress_ops: 6_000,
            watchdog_secs: 60,
            unload_rounds: 40,
            fuzz_cases: 1_000,
            fuzz_steps: 48,
            rate_steps: 2_000,
            fifo_soak_cycles: 200,
            fifo_fuzz_cases: 300,
            edu_soak_cycles: 2_000,
            edu_unload_rounds: 100,
            edu_storm_ops: 5_000,
            edu_fuzz_cases: 100,
            seed: 9,
        }
    }

    /// `make soak`: the long variants.
    #[must_use]
    pub fn soak() -> Self {
        Self {
            soak: true,
            efault_every_offset: true,
            soak_cycles: 1_000_000,
            stress_threads: 16,
            stress_ops: 200_000,
            watchdog_secs: 120,
            unload_rounds: 2_000,
            fuzz_cases: 100_000,
            fuzz_steps: 96,
            rate_steps: 50_000,
            fifo_soak_cycles: 10_000,
            fifo_fuzz_cases: 20_000,
            edu_soak_cycles: 10_000,
            edu_unload_rounds: 2_000,
            edu_storm_ops: 50_000,
            edu_fuzz_cases: 2_000,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs()),
        }
    }

    /// Overrides from the environment: `RELIABILITY_SOAK_CYCLES`,
    /// `RELIABILITY_FUZZ_CASES`, `RELIABILITY_STRESS_OPS`,
    /// `RELIABILITY_FIFO_SOAK_CYCLES`, `RELIABILITY_FIFO_FUZZ_CASES`,
    /// `RELIABILITY_EDU_SOAK_CYCLES`, `RELIABILITY_EDU_FUZZ_CASES`,
    /// `RELIABILITY_SEED`.
    #[must_use]
    pub fn with_env(mut self) -> Self {
        let var = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.replace('_', "")
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
            })
        };
        if let Some(v) = var("RELIABILITY_SOAK_CYCLES") {
            self.soak_cycles = v;
        }
        if let Some(v) = var("RELIABILITY_FUZZ_CASES") {
            self.fuzz_cases = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = var("RELIABILITY_STRESS_OPS") {
            self.stress_ops = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = var("RELIABILITY_FIFO_SOAK_CYCLES") {
            self.fifo_soak_cycles = v;
        }
        if let Some(v) = var("RELIABILITY_FIFO_FUZZ_CASES") {
            self.fifo_fuzz_cases = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = var("RELIABILITY_EDU_SOAK_CYCLES") {
            self.edu_soak_cycles = v;
        }
        if let Some(v) = var("RELIABILITY_EDU_FUZZ_CASES") {
            self.edu_fuzz_cases = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = var("RELIABILITY_SEED") {
            self.seed = v;
        }
        self
    }
}

/// One scenario.
pub struct Scenario {
    /// Its name (`--only NAME`).
    pub name: &'static str,
    /// What it does, in a few words.
    pub what: &'static str,
    /// Runs it; a panic is a failed check.
    pub run: fn(&Params, &Tally),
}

/// Every scenario, in the order they run.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "panics",
        what: "no panic reachable from read/write/ioctl/open/close",
        run: crate::panics::run,
    },
    Scenario {
        name: "alloc",
        what: "each M_NOWAIT allocation of each operation fails in turn; all fail",
        run: crate::alloc::run,
    },
    Scenario {
        name: "alloc-rate",
        what: "1 in N allocations fail during a mixed workload",
        run: crate::alloc::run_rate,
    },
    Scenario {
        name: "load",
        what: "each load step fails: device, sysctl node and leaves, allocations",
        run: crate::load::run,
    },
    Scenario {
        name: "efault",
        what: "EFAULT at each byte offset and iovec boundary of writes and reads",
        run: crate::efault::run,
    },
    Scenario {
        name: "input",
        what: "bad sizes, iovec counts, offsets, ioctls, sysctl values, open flags",
        run: crate::input::run,
    },
    Scenario {
        name: "disclosure",
        what: "reads return only written bytes, never the allocator's poison",
        run: crate::disclosure::run,
    },
    Scenario {
        name: "stress",
        what: "threads at random with a watchdog; then with 1 in N allocations failing",
        run: crate::stress::run,
    },
    Scenario {
        name: "unload",
        what: "kldunload while threads are inside read and write",
        run: crate::unload::run,
    },
    Scenario {
        name: "fuzz",
        what: "proptest sequences with faults against a model of the device",
        run: crate::fuzz::run,
    },
    Scenario {
        name: "soak",
        what: "load/unload cycles with I/O; malloc statistics and RSS stay flat",
        run: crate::soak::run,
    },
    Scenario {
        name: "fifo-alloc",
        what: "rustfifo: each M_NOWAIT allocation of load and of each operation fails in turn",
        run: crate::fifo::alloc::run,
    },
    Scenario {
        name: "fifo-efault",
        what: "rustfifo: EFAULT at each byte of writes, writevs, reads and readvs",
        run: crate::fifo::efault::run,
    },
    Scenario {
        name: "fifo-input",
        what: "rustfifo: bad ioctls, capacities and idle delays, O_NONBLOCK",
        run: crate::fifo::input::run,
    },
    Scenario {
        name: "fifo-stress",
        what: "rustfifo: 8+ blocking, poll and kqueue threads, checksummed streams, watchdog",
        run: crate::fifo::stress::run,
    },
    Scenario {
        name: "fifo-wakeup",
        what: "rustfifo: every blocked reader and writer wakes (watchdog); wakeup counts",
        run: crate::fifo::wakeup::run,
    },
    Scenario {
        name: "fifo-unload",
        what: "rustfifo: forced unload with sleepers, pollers and knotes; callout drained",
        run: crate::fifo::unload::run,
    },
    Scenario {
        name: "fifo-fuzz",
        what: "rustfifo: proptest sequences against a model with blocked threads in it",
        run: crate::fifo::fuzz::run,
    },
    Scenario {
        name: "fifo-soak",
        what: "rustfifo: load/unload cycles with a blocked reader each; memory flat",
        run: crate::fifo::soak::run,
    },
    Scenario {
        name: "edu-attach",
        what: "rustedu: each injectable call of attach fails in turn; nothing kept; next load works",
        run: crate::edu::attach::run,
    },
    Scenario {
        name: "edu-storm",
        what: "rustedu: interrupt storms and strays from other threads during factorials; exact counts",
        run: crate::edu::storm::run,
    },
    Scenario {
        name: "edu-unload",
        what: "rustedu: interrupts raised while the module unloads; no handler called after teardown",
        run: crate::edu::unload::run,
    },
    Scenario {
        name: "edu-fuzz",
        what: "rustedu: random writes, hangs, raises, strays, reloads; no register written while busy",
        run: crate::edu::fuzz::run,
    },
    Scenario {
        name: "edu-soak",
        what: "rustedu: attach/detach (load/unload) cycles with a factorial each; nothing kept",
        run: crate::edu::soak::run,
    },
];

/// What one scenario did and found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario's name.
    pub name: &'static str,
    /// Its figures.
    pub figures: Figures,
    /// The failed check, if any.
    pub failure: Option<String>,
    /// What it measured.
    pub notes: Vec<String>,
    /// How long it took.
    pub time: Duration,
}

impl Outcome {
    /// Whether the scenario passed: no failed check and every figure that
    /// must be zero is zero.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.figures.must_be_zero() == 0
    }
}

/// Runs the scenarios named in `only` (all if empty), each on its own;
/// `progress` is told each one's name before it starts.
#[must_use]
pub fn run_all(params: &Params, only: &[String], progress: &dyn Fn(&Scenario)) -> Vec<Outcome> {
    SCENARIOS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
        .map(|s| {
            progress(s);
            let tally = Tally::new();
            let start = Instant::now();
            let r = catch_unwind(AssertUnwindSafe(|| (s.run)(params, &tally)));
            let failure = r.err().map(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| String::from("(a panic without a message)"))
            });
            Outcome {
                name: s.name,
                figures: tally.figures(),
                failure,
                notes: tally.notes(),
                time: start.elapsed(),
            }
        })
        .collect()
}
