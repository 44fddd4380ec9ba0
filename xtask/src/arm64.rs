// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask check-arm64` (run by `make test` on any host): builds every
//! module for arm64 into `build/arm64/`, runs the arm64 artifact checks
//! (`kolink::arm64::check`) and prints the per-architecture sizes.
//!
//! Every module must pass: one that does not fails the check, like
//! `make ARCH=arm64`. (`kern::println!` formats with kern's own code, so
//! no module links the integer and string formatting of rustc's
//! precompiled `core::fmt`, which writes x18.)

use crate::link;
use crate::modules;
use crate::workspace::Workspace;
use kbuild::Arch;
use std::time::Instant;

/// Builds and checks every module for arm64.
pub(crate) fn check() -> crate::Result {
    let started = Instant::now();
    let ws = Workspace::find_for(Arch::Arm64)?;
    let built = modules::link_all(&ws)?;
    let all = built.all();
    if all.is_empty() {
        return Err(format!("no module was built in {}", ws.build_dir.display()));
    }
    let allowlist = link::read_allowlist(&ws)?;
    let mut problems = Vec::new();
    for (ko, failures) in link::arm64_failures(&ws, &allowlist, &all, &all)? {
        for f in &failures {
            problems.push(format!("{}: {f}", ko.display()));
        }
    }
    link::print_sizes(&all)?;
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    println!(
        "check-arm64: {} modules pass; {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
