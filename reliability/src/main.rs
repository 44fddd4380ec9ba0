// SPDX-License-Identifier: BSD-2-Clause
//! `reliability`: runs every scenario on `build/rustecho.ko`,
//! `build/rustfifo.ko` (the `fifo-*` scenarios) and `build/rustedu.ko`
//! (the `edu-*` scenarios) and prints
//! the summary table; exits non-zero if a check failed or a figure that
//! must be zero is not.
//!
//! ```text
//! reliability [--soak] [--only NAME[,NAME...]] [--list] [--readme FILE]
//! ```
//!
//! `--readme FILE` also writes the summary (without its title) into the
//! region `quick` or `soak` of FILE (`<!-- reliability:begin NAME -->`):
//! `make soak` keeps the README's tables generated.
//!
//! `make test` runs it as it is (the quick variants, seconds each);
//! `make soak` runs it with `--soak` (1,000,000 load/unload cycles, every
//! `EFAULT` offset, more fuzzing, more stress). `KMOD_BUILD_DIR` says where
//! the modules are; `RELIABILITY_SEED`, `RELIABILITY_FUZZ_CASES`,
//! `RELIABILITY_SOAK_CYCLES`, `RELIABILITY_STRESS_OPS`,
//! `RELIABILITY_FIFO_SOAK_CYCLES`, `RELIABILITY_FIFO_FUZZ_CASES`,
//! `RELIABILITY_EDU_SOAK_CYCLES` and `RELIABILITY_EDU_FUZZ_CASES`
//! override sizes.

use reliability::scenario::{SCENARIOS, run_all};
use reliability::{Params, report};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut soak = false;
    let mut only: Vec<String> = Vec::new();
    let mut readme = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--soak" => soak = true,
            "--only" => {
                let Some(list) = args.next() else {
                    eprintln!("reliability: --only needs a list of scenarios");
                    return ExitCode::from(2);
                };
                only.extend(list.split(',').map(str::to_owned));
            }
            "--readme" => {
                let Some(path) = args.next() else {
                    eprintln!("reliability: --readme needs a file");
                    return ExitCode::from(2);
                };
                readme = Some(std::path::PathBuf::from(path));
            }
            "--list" => {
                for s in SCENARIOS {
                    println!("{:<12} {}", s.name, s.what);
                }
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!(
                    "usage: reliability [--soak] [--only NAME[,NAME...]] [--list] [--readme FILE]"
                );
                return ExitCode::from(2);
            }
        }
    }
    if let Some(bad) = only
        .iter()
        .find(|o| !SCENARIOS.iter().any(|s| s.name == o.as_str()))
    {
        eprintln!("reliability: no scenario {bad} (--list)");
        return ExitCode::from(2);
    }
    let params = if soak {
        Params::soak()
    } else {
        Params::quick()
    }
    .with_env();
    let outcomes = run_all(&params, &only, &|s| {
        eprintln!("reliability: {} ({})", s.name, s.what);
    });
    let title = format!(
        "Reliability of rustecho.ko, rustfifo.ko and rustedu.ko ({} run, seed {})",
        if soak {
            "soak: make soak"
        } else {
            "quick: make test"
        },
        params.seed
    );
    let summary = report::table(&outcomes, &title);
    println!("{summary}");
    if let Some(path) = readme {
        // The region holds what follows the title and its blank line.
        let body = summary.split_once("\n\n").map_or("", |(_, rest)| rest);
        let region = if soak { "soak" } else { "quick" };
        if let Err(e) = reliability::doc::write_region(&path, region, body) {
            eprintln!("reliability: {e}");
            return ExitCode::FAILURE;
        }
    }
    if report::passed(&outcomes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
