// SPDX-License-Identifier: BSD-2-Clause
//! `bench`: rustecho.ko against cecho.ko, its C equivalent
//! (`bench/c-echo`), both loaded into one harness kernel; rustfifo.ko
//! against cfifo.ko (`bench/c-fifo`) the same way (instructions, copies,
//! allocations, size); and the size of hello.ko against chello.ko
//! (`bench/c-hello`), a module's fixed cost.
//!
//! ```text
//! bench                     the full run; prints the report
//! bench --quick             a smoke test: tiny counts, callgrind only if
//!                           valgrind is installed; prints, never asserts a time
//! bench --no-callgrind      skip the instruction counts
//! bench --write-docs DIR    also write BENCHMARKS.md and README.md, with
//!                           this run's figures in their generated regions,
//!                           into DIR: the repository root only for a full
//!                           run (`make bench`), any other folder for a trial
//! ```
//!
//! For 16 B, 4 KiB and 64 KiB messages a round trip is a `write(2)` of the
//! message and a `pread(2)` of it at offset 0 on one open file (a `read(2)`
//! on the FIFOs). Measured:
//! instructions inside each module (callgrind, see `callgrind`),
//! wall-clock time in repeated rounds (`rounds`), bytes moved by
//! uiomove/copyin/copyout (the harness's counters) plus `rep movs` copies
//! inside the module (callgrind), allocations (the harness's malloc
//! statistics), the `.ko` sections and functions (`sizes`), and
//! throughput with N writers and N readers.
//!
//! Where `unsafe` lives: the callgrind client requests (inline assembly)
//! and reading the modules' mappings in the child run (`callgrind`).

mod callgrind;
mod docs;
mod image;
mod measure;
mod meta;
mod plan;
mod report;
mod rounds;
mod sizes;
mod stats;
mod targets;

use plan::Plan;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use targets::{FIFO_PAIR, FIFOS, Loaded, SIZE_PAIRS, SIZES};

fn usage() -> String {
    "usage: bench [--quick] [--no-callgrind] [--write-docs DIR]".to_owned()
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

/// The repository root: the documents are read from there.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[String]) -> Result<(), String> {
    match args.split_first() {
        Some((flag, rest)) if flag == "--callgrind-child" => {
            let [dir, iters] = rest else {
                return Err(usage());
            };
            let iters = iters.parse().map_err(|_| usage())?;
            return callgrind::child(&PathBuf::from(dir), iters);
        }
        Some((flag, rest)) if flag == "--round-child" => {
            return rounds::child(&rounds::Spec::from_args(rest)?);
        }
        _ => {}
    }
    let mut plan = Plan::full();
    let mut no_callgrind = false;
    let mut write_docs = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => plan = Plan::quick(),
            "--no-callgrind" => no_callgrind = true,
            "--write-docs" => write_docs = Some(PathBuf::from(it.next().ok_or_else(usage)?)),
            _ => return Err(usage()),
        }
    }
    plan.callgrind &= !no_callgrind;
    let root = repo_root();
    if let Some(dir) = &write_docs {
        refuse_unpublishable(&plan, &root, dir)?;
    }
    let report = measure_all(plan, &root)?;
    print!("{}", report.render().map_err(|e| e.to_string())?);
    if let Some(dir) = &write_docs {
        let regions = report.regions().map_err(|e| e.to_string())?;
        for f in docs::write_all(&root, dir, &regions)? {
            eprintln!("bench: wrote {}", f.display());
        }
    }
    Ok(())
}

/// Only a full run with instruction counts may rewrite the tracked
/// documents; a smoke or partial run writes its copies elsewhere.
fn refuse_unpublishable(plan: &Plan, root: &Path, dir: &Path) -> Result<(), String> {
    let same = match (root.canonicalize(), dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same && !plan.publishable() {
        return Err(format!(
            "--write-docs {}: the tracked documents take the figures of a full run with \
             callgrind only; write a trial run's copies into another folder",
            dir.display()
        ));
    }
    Ok(())
}

/// The harness's counters for both modules of `l` at every size; then
/// unloads them.
fn all_counts(l: Loaded, plan: &Plan) -> Result<[[measure::Counts; 3]; 2], String> {
    let mut counts = [[measure::Counts::default(); 3]; 2];
    for (si, &size) in SIZES.iter().enumerate() {
        for (ti, row) in counts.iter_mut().enumerate() {
            row[si] = measure::counts(&l, ti, size, plan.warmup, plan.count_iters)?;
        }
    }
    l.finish()?;
    Ok(counts)
}

fn measure_all(plan: Plan, root: &Path) -> Result<report::Report, String> {
    let start = Instant::now();
    let valgrind = callgrind::valgrind();
    let info = meta::RunInfo::collect(root, valgrind.as_deref());
    let sizes = [
        sizes::measure_pair(&SIZE_PAIRS[0])?,
        sizes::measure_pair(&SIZE_PAIRS[1])?,
    ];
    let fifo_sizes = sizes::measure_pair(&FIFO_PAIR)?;
    let arm64_sizes = sizes::measure_arm64_pair(&SIZE_PAIRS[0])?;
    let counts = all_counts(Loaded::new(true)?, &plan)?;
    let fifo_counts = all_counts(Loaded::of(FIFOS, true)?, &plan)?;
    let rounds = rounds::run(&plan)?;
    let timing = (0..SIZES.len())
        .map(|si| rounds::timing(&rounds, si))
        .collect();
    let concurrency = plan
        .threads
        .iter()
        .map(|&n| (n, rounds::throughput(&rounds, n)))
        .collect();
    let callgrind = if !plan.callgrind {
        Err("skipped (--no-callgrind)".to_owned())
    } else {
        match &valgrind {
            Some(v) => callgrind::run(v, plan.cg_iters),
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
        plan,
        info,
        elapsed: start.elapsed(),
        sizes,
        counts,
        arm64_sizes,
        fifo_sizes,
        fifo_counts,
        timing,
        concurrency,
        callgrind,
    })
}
