// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask bench`: rustecho.ko against cecho.ko, its C equivalent,
//! and hello.ko against chello.ko (`bench/`), on the modules in the build
//! folder (`make bench` builds them first; this builds the arm64 ones,
//! whose sizes the report shows too).
//!
//! A full run writes its figures into the generated regions of
//! `BENCHMARKS.md` and `README.md`. Any other run (`--quick`, the smoke
//! run of `cargo xtask test`, `--no-callgrind`) writes its copies of the
//! two files under `target/bench-docs/` instead, so that it checks the
//! documents' markers and leaves the tracked files alone.

use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use std::path::PathBuf;
use std::process::Command;

/// Runs the benchmark binary in release mode; `args` are passed on
/// (`--quick`, `--no-callgrind`).
pub(crate) fn bench(ws: &Workspace, args: &[String]) -> crate::Result {
    // rustecho and cecho for arm64, whose sizes the report compares too
    // (built only: arm64 modules do not run in the test kernel yet).
    let arm64 = Workspace::find_for(kbuild::Arch::Arm64)?;
    crate::modules::link_all(&arm64)?;
    let docs = if args.is_empty() {
        ws.root.clone()
    } else {
        trial_docs(ws)
    };
    run(bench_cmd(ws, true)?
        .args(args)
        .arg("--write-docs")
        .arg(docs))
}

/// The smoke run at the end of `cargo xtask test`: tiny counts, callgrind
/// only if valgrind is installed; it prints and never asserts a time. The
/// dev profile reuses what the tests just built.
pub(crate) fn smoke(ws: &Workspace) -> crate::Result {
    run(bench_cmd(ws, false)?
        .arg("--quick")
        .arg("--write-docs")
        .arg(trial_docs(ws)))
}

/// Where runs other than the full one write their copies of the documents.
fn trial_docs(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("bench-docs")
}

fn bench_cmd(ws: &Workspace, release: bool) -> crate::Result<Command> {
    let mut c = Command::new(&ws.cargo);
    c.current_dir(&ws.root)
        .args(["run", "--quiet", "--package", "bench"]);
    if release {
        c.arg("--release");
    }
    // The C compiler the modules were built with, for the report.
    let cc = Tools::find()?.clang;
    c.arg("--")
        .env("KMOD_BUILD_DIR", &ws.build_dir)
        .env("BENCH_CC", cc);
    Ok(c)
}
