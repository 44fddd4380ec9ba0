// SPDX-License-Identifier: BSD-2-Clause
//! No panic reachable from I/O: `kolink::panic_paths` on the built
//! `rustecho.ko` (call graph from relocations and disassembly, from the
//! `cdevsw` entry points and the module event handler to the panic
//! machinery) must find no path from read, write, ioctl, open or close.
//! Paths from elsewhere (the event handler, sysctl handlers) are listed
//! with their source.
//!
//! The analysis is conservative: an indirect call is assumed to reach
//! every address-taken function of a matching kind, so a reported path
//! may be infeasible, but no real path is missed.

use crate::Params;
use crate::tally::Tally;
use harness::testing::module_path;
use kolink::reach::{EntryClass, ReachOptions, ReachReport, panic_paths};

/// Analyses `build/rustecho.ko`.
///
/// # Panics
/// If the file cannot be read or analysed.
#[must_use]
pub fn report() -> ReachReport {
    let path = module_path(echo_testkit::MODULE);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    panic_paths(&data, &ReachOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One line per remaining path: class, entry, the steps, the sink and its
/// source location.
#[must_use]
pub fn paths(report: &ReachReport) -> Vec<String> {
    let mut out = Vec::new();
    for e in &report.entries {
        for p in &e.paths {
            let steps: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
            out.push(format!(
                "{}: {} -> {} (at {})",
                e.class.name(),
                steps.join(" -> "),
                p.sink,
                p.location.as_deref().unwrap_or("unknown source")
            ));
        }
    }
    out
}

/// The scenario.
///
/// # Panics
/// If an I/O entry point can reach a panic.
pub fn run(_params: &Params, t: &Tally) {
    let r = report();
    let io: usize = EntryClass::IO.iter().map(|&c| r.paths_from(c)).sum();
    let all: usize = r.entries.iter().map(|e| e.paths.len()).sum();
    let listed = paths(&r);
    t.panic_paths(io as u64, (all - io) as u64);
    let per_class: Vec<String> = EntryClass::ALL
        .iter()
        .map(|&c| {
            let s = r.class_summary(c);
            format!("{} {} ({} entries)", c.name(), s.paths, s.entries)
        })
        .collect();
    t.note(format!(
        "panics: kolink::panic_paths on rustecho.ko: {} functions, {} address-taken, {} indirect \
         call sites, sinks present: {}; paths by entry class: {}. The analysis is conservative: \
         an indirect call is taken to reach every address-taken function of its kind, so a \
         listed path may be infeasible, but none is missed.",
        r.functions,
        r.address_taken,
        r.indirect_sites,
        if r.sinks.is_empty() {
            String::from("none")
        } else {
            r.sinks.join(", ")
        },
        per_class.join(", ")
    ));
    for p in &listed {
        t.note(format!("panics: remaining path: {p}"));
    }
    assert_eq!(
        io,
        0,
        "panic paths from I/O entry points:\n{}",
        listed.join("\n")
    );
}
