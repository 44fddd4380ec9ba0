// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask soak`: the long reliability runs (`reliability/`, the
//! table in the README's "Reliability" section), and the quick run that
//! `cargo xtask test` makes, both on the modules in the build folder.

use crate::workspace::{Workspace, run};
use std::process::Command;

/// The long variants (`reliability --soak`: 1,000,000 load/unload cycles,
/// every `EFAULT` offset, more fuzzing, stress and unload races), in
/// release mode; `args` are passed on (`--only NAME`, ...).
///
/// Without `args`, it first makes the quick run too, and both write their
/// summary into the README's "Reliability" tables.
pub(crate) fn soak(ws: &Workspace, args: &[String]) -> crate::Result {
    if !args.is_empty() {
        return run(reliability(ws, true).arg("--soak").args(args));
    }
    let readme = ws.root.join("README.md");
    run(reliability(ws, false).arg("--readme").arg(&readme))?;
    run(reliability(ws, true)
        .arg("--soak")
        .arg("--readme")
        .arg(&readme))
}

/// The quick variants, at the end of `cargo xtask test`: seconds per
/// scenario. The dev profile reuses what the tests just built.
pub(crate) fn quick(ws: &Workspace) -> crate::Result {
    run(&mut reliability(ws, false))
}

fn reliability(ws: &Workspace, release: bool) -> Command {
    let mut c = Command::new(&ws.cargo);
    c.current_dir(&ws.root)
        .args(["run", "--quiet", "--package", "reliability"]);
    if release {
        c.arg("--release");
    }
    c.arg("--").env("KMOD_BUILD_DIR", &ws.build_dir);
    c
}
