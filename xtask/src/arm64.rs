// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask check-arm64` (run by `make test` on any host): builds every
//! module for arm64 into `build/arm64/`, runs the arm64 artifact checks
//! (`kolink::arm64::check`) and prints the per-architecture sizes.
//!
//! Two modules are known not to pass, and the check says so instead of
//! failing `make test` for them: they format integers or strings with
//! `core::fmt`, whose code comes precompiled with the Rust target and writes
//! x18 (rustc applies `+reserve-x18` only to the crates cargo compiles;
//! rebuilding `core` needs a nightly-only cargo option). Their `.ko` must
//! not be loaded on FreeBSD/arm64. The check fails if one of them starts
//! passing (take it off [`PRECOMPILED_CORE_X18`]), fails for any other
//! reason, or if any other module fails at all.

use crate::link;
use crate::modules;
use crate::workspace::Workspace;
use kbuild::Arch;
use std::path::Path;
use std::time::Instant;

/// Modules whose only arm64 failures are x18 writes in precompiled
/// `core::fmt` (`<u32 as Display>::fmt`, `<str as Display>::fmt`, ...).
pub(crate) const PRECOMPILED_CORE_X18: &[&str] = &["kselftest"];

/// The marker `kolink::arm64` puts on a finding in precompiled code.
const PRECOMPILED: &str = "[precompiled standard library";

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
    let mut known = Vec::new();
    for (ko, failures) in link::arm64_failures(&ws, &allowlist, &all, &all)? {
        let name = stem(&ko);
        let expected = PRECOMPILED_CORE_X18.contains(&name.as_str());
        let unexpected: Vec<&String> = failures
            .iter()
            .filter(|f| !(expected && f.contains(PRECOMPILED) && f.contains("writes x18")))
            .collect();
        for f in &unexpected {
            problems.push(format!("{}: {f}", ko.display()));
        }
        if expected {
            if failures.is_empty() {
                problems.push(format!(
                    "{name}.ko passes the arm64 checks now: take it off \
                     PRECOMPILED_CORE_X18 (xtask/src/arm64.rs)"
                ));
            } else {
                known.push(format!("{name}.ko ({} x18 writes)", failures.len()));
            }
        }
    }
    link::print_sizes(&all)?;
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    println!(
        "check-arm64: {} of {} modules pass; known not loadable on arm64 \
         (precompiled core::fmt writes x18): {}; {:.1} s",
        all.len().saturating_sub(known.len()),
        all.len(),
        known.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stem(ko: &Path) -> String {
    ko.file_stem()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
