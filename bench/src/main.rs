// SPDX-License-Identifier: BSD-2-Clause
//! `bench`: rustecho.ko against cecho.ko, its C equivalent
//! (`bench/c-echo`), both loaded into one harness kernel (issue 8).
//!
//! ```text
//! bench                 the full run (make bench; figures in BENCHMARKS.md)
//! bench --quick         a smoke test: tiny counts, callgrind only if
//!                       valgrind is installed; prints, never asserts a time
//! bench --no-callgrind  skip the instruction counts
//! ```
//!
//! For 16 B, 4 KiB and 64 KiB messages a round trip is a `write(2)` of the
//! message and a `pread(2)` of it at offset 0 on one open file, Rust and C
//! alternating. Measured: instructions inside each module (callgrind, see
//! `callgrind`), wall-clock time (median and band of alternating
//! samples), bytes moved by uiomove/copyin/copyout (the harness's
//! counters) plus `rep movs` copies inside the module (callgrind),
//! allocations (the harness's malloc statistics), the `.ko` sections, and
//! throughput with N writers and N readers.
//!
//! Where `unsafe` lives: the callgrind client requests (inline assembly)
//! and reading the modules' mappings in the child run (`callgrind`).

mod callgrind;
mod image;
mod measure;
mod report;
mod targets;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use targets::{BOTH, Loaded, SIZES};

/// How much to measure.
struct Plan {
    quick: bool,
    callgrind: bool,
    /// Round trips per harness-counter row.
    count_iters: u64,
    /// Timing samples per module and size.
    samples: usize,
    sample_time: Duration,
    /// Concurrency: thread counts, message size, run length, runs.
    threads: &'static [usize],
    conc_size: usize,
    conc_time: Duration,
    conc_runs: usize,
    /// Round trips per callgrind phase.
    cg_iters: u64,
}

impl Plan {
    fn full() -> Self {
        Plan {
            quick: false,
            callgrind: true,
            count_iters: 200,
            samples: 15,
            sample_time: Duration::from_millis(30),
            threads: &[1, 2, 8],
            conc_size: 16,
            conc_time: Duration::from_millis(300),
            conc_runs: 3,
            cg_iters: 50,
        }
    }

    fn quick() -> Self {
        Plan {
            quick: true,
            callgrind: true,
            count_iters: 10,
            samples: 3,
            sample_time: Duration::from_millis(2),
            threads: &[1, 2, 8],
            conc_size: 16,
            conc_time: Duration::from_millis(20),
            conc_runs: 1,
            cg_iters: 3,
        }
    }
}

fn usage() -> String {
    "usage: bench [--quick] [--no-callgrind]".to_owned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    if let [flag, dir, iters] = args
        && flag == "--callgrind-child"
    {
        let iters = iters.parse().map_err(|_| usage())?;
        return callgrind::child(&PathBuf::from(dir), iters);
    }
    let mut plan = Plan::full();
    let mut no_callgrind = false;
    for a in args {
        match a.as_str() {
            "--quick" => plan = Plan::quick(),
            "--no-callgrind" => no_callgrind = true,
            _ => return Err(usage()),
        }
    }
    plan.callgrind &= !no_callgrind;
    let report = measure_all(&plan)?;
    print!("{}", report.render().map_err(|e| e.to_string())?);
    Ok(())
}

fn measure_all(plan: &Plan) -> Result<report::Report, String> {
    let mut sizes = [kolink::SizeReport::default(); 2];
    for (t, z) in BOTH.iter().zip(&mut sizes) {
        *z = kolink::size_file(&t.path()).map_err(|e| format!("{}: {e}", t.path().display()))?;
    }
    let l = Loaded::new()?;
    let mut counts = [[measure::Counts::default(); 3]; 2];
    for (si, &size) in SIZES.iter().enumerate() {
        for (ti, row) in counts.iter_mut().enumerate() {
            row[si] = measure::counts(&l, ti, size, 20, plan.count_iters)?;
        }
    }
    let mut timing = Vec::new();
    for &size in &SIZES {
        timing.push(measure::timing(&l, size, plan.samples, plan.sample_time)?);
    }
    let mut concurrency = Vec::new();
    for &n in plan.threads {
        let t = measure::concurrency(&l, n, plan.conc_size, plan.conc_time, plan.conc_runs)?;
        concurrency.push((n, plan.conc_size, t));
    }
    l.finish()?;
    let callgrind = if !plan.callgrind {
        Err("skipped (--no-callgrind)".to_owned())
    } else {
        match callgrind::valgrind() {
            Some(v) => callgrind::run(&v, plan.cg_iters),
            None => Err("valgrind is not installed".to_owned()),
        }
    };
    if let Err(e) = &callgrind
        && !plan.quick
        && plan.callgrind
    {
        return Err(format!("callgrind: {e}"));
    }
    Ok(report::Report {
        quick: plan.quick,
        sizes,
        counts,
        timing,
        concurrency,
        callgrind,
    })
}
