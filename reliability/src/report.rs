// SPDX-License-Identifier: BSD-2-Clause
//! The summary table, in Markdown (so that a run can be pasted into the
//! README as it is).

use crate::scenario::Outcome;
use crate::tally::{Figures, STACK_GOAL};

/// The table, the errors by errno, the must-be-zero line and the notes.
#[must_use]
pub fn table(outcomes: &[Outcome], title: &str) -> String {
    let mut s = String::new();
    let mut total = Figures::default();
    line(&mut s, format!("{title}\n"));
    line(
        &mut s,
        "| scenario | operations | faults injected | errors | leaks | kernel panics | torn reads \
         | lock violations | other violations | disclosures | panic paths from I/O | result | time |",
    );
    line(
        &mut s,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    );
    let row = |s: &mut String, name: &str, f: &Figures, result: &str, time: String| {
        line(
            s,
            format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {result} | {time} |",
                f.ops,
                f.faults,
                f.error_total(),
                f.leaks,
                f.kernel_panics,
                f.torn_reads,
                f.lock_violations,
                f.other_violations,
                f.disclosures,
                f.io_panic_paths,
            ),
        );
    };
    let mut time = std::time::Duration::ZERO;
    let mut failed = 0;
    for o in outcomes {
        total.add(&o.figures);
        time += o.time;
        let result = if o.passed() {
            "pass"
        } else {
            failed += 1;
            "FAIL"
        };
        row(
            &mut s,
            o.name,
            &o.figures,
            result,
            format!("{:.1?}", o.time),
        );
    }
    let verdict = if failed == 0 && total.must_be_zero() == 0 {
        "pass"
    } else {
        "FAIL"
    };
    row(
        &mut s,
        "**total**",
        &total,
        &format!("**{verdict}**"),
        format!("{time:.1?}"),
    );
    let errors: Vec<String> = total
        .errors
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    line(
        &mut s,
        format!(
            "\nErrors returned, by errno (all expected by the checks): {}.",
            if errors.is_empty() {
                String::from("none")
            } else {
                errors.join(", ")
            }
        ),
    );
    line(
        &mut s,
        format!(
            "Must be zero: leaks {}, kernel panics {}, torn reads {}, lock violations {}, other \
         violations {}, disclosures {}, panic paths from read/write/ioctl/open/close {}, failed \
         scenarios {failed}. Panic paths from other entry points (each would be listed): {}.",
            total.leaks,
            total.kernel_panics,
            total.torn_reads,
            total.lock_violations,
            total.other_violations,
            total.disclosures,
            total.io_panic_paths,
            total.other_panic_paths,
        ),
    );
    let peaks: Vec<String> = total
        .stack_peaks
        .iter()
        .map(|(entry, bytes)| format!("{entry} {bytes}"))
        .collect();
    line(
        &mut s,
        format!(
            "Peak kernel stack use in bytes, by entry point (a 16 KiB kernel stack; must be under \
             {STACK_GOAL}, entry points over it {}): {}.",
            total.stack_over_goal(),
            if peaks.is_empty() {
                String::from("none measured")
            } else {
                peaks.join(", ")
            }
        ),
    );
    line(&mut s, "");
    for o in outcomes {
        for n in &o.notes {
            line(&mut s, format!("- {n}"));
        }
    }
    for o in outcomes.iter().filter(|o| o.failure.is_some()) {
        line(
            &mut s,
            format!(
                "\n{} FAILED: {}",
                o.name,
                o.failure.as_deref().unwrap_or_default()
            ),
        );
    }
    s
}

/// Whether every scenario passed and every must-be-zero figure is zero.
#[must_use]
pub fn passed(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(Outcome::passed)
}

/// Appends `text` and a newline.
fn line(s: &mut String, text: impl AsRef<str>) {
    s.push_str(text.as_ref());
    s.push('\n');
}
