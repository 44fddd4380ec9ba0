// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask bench`: rustecho.ko against cecho.ko, its C equivalent
//! (`bench/`, figures in `BENCHMARKS.md`), on the modules in the build
//! folder (`make bench` builds them first).

use crate::workspace::{Workspace, run};
use std::process::Command;

/// Runs the benchmark binary in release mode; `args` are passed on
/// (`--quick`, `--no-callgrind`).
pub(crate) fn bench(ws: &Workspace, args: &[String]) -> crate::Result {
    run(bench_cmd(ws, true).args(args))
}

/// The smoke run at the end of `cargo xtask test`: tiny counts, callgrind
/// only if valgrind is installed; it prints and never asserts a time. The
/// dev profile reuses what the tests just built.
pub(crate) fn smoke(ws: &Workspace) -> crate::Result {
    run(bench_cmd(ws, false).arg("--quick"))
}

fn bench_cmd(ws: &Workspace, release: bool) -> Command {
    let mut c = Command::new(&ws.cargo);
    c.current_dir(&ws.root)
        .args(["run", "--quiet", "--package", "bench"]);
    if release {
        c.arg("--release");
    }
    c.arg("--").env("KMOD_BUILD_DIR", &ws.build_dir);
    c
}
