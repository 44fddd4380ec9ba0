// SPDX-License-Identifier: BSD-2-Clause
//! The targets rustecho.ko is held to, each judged met or not on the
//! run's figures.
//!
//! - Instructions per round trip inside the module at most C's, at every
//!   message size (the headline: exact and repeatable).
//! - Time per round trip at most C's: the median of the rounds' Rust/C
//!   ratios at most 1.00, with how many rounds were above.
//! - Copy amplification exactly 1.0 each way: the payload crosses the
//!   user/kernel boundary once and the module copies nothing itself.
//! - No allocation per steady-state round trip.
//! - text+rodata at most 1.5 times cecho.ko's.

use super::{Report, amplification, count, met, size_label};
use crate::targets::SIZES;
use std::fmt::Write as _;

/// The size target, as the report names it.
pub(super) const SIZE_TARGET: &str = "rustecho.ko's text+rodata at most 1.5 × cecho.ko's";

/// From how far apart the medians of the two load orders are said to
/// decide a time ratio (the "high" noise threshold of
/// [`noise_level`](crate::stats::noise_level)).
const LOAD_ORDER_FACTOR: f64 = 1.25;

/// The most text+rodata rustecho.ko may have, relative to cecho.ko.
const SIZE_LIMIT: f64 = 1.5;

/// Whether the size target is met, and the figures that decide it.
pub(super) fn size(r: &Report) -> (bool, String) {
    let [rust, c] = &r.sizes[0];
    let ratio = crate::sizes::text_rodata_ratio(&r.sizes[0]);
    let ok = rust.text_rodata() as f64 <= SIZE_LIMIT * c.text_rodata() as f64;
    (
        ok,
        format!(
            "{ratio:.2}×, {} against {} bytes",
            rust.text_rodata(),
            c.text_rodata()
        ),
    )
}

/// The targets table.
pub(super) fn table(r: &Report) -> Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(w, "| target | result |")?;
    writeln!(w, "|---|---|")?;
    let row = |w: &mut String, target: &str, result: String| writeln!(w, "| {target} | {result} |");

    let instr = match r.cg() {
        Some(cg) => {
            let per: Vec<(f64, f64)> = (0..SIZES.len())
                .map(|si| (cg.cost[0][si].ir_per_rt(), cg.cost[1][si].ir_per_rt()))
                .collect();
            let ok = per.iter().all(|(a, b)| a <= b);
            let same = per.iter().all(|p| *p == per[0]);
            let shown = if same {
                format!(
                    "{} against {} ({:.2}×) at every size",
                    count(per[0].0),
                    count(per[0].1),
                    per[0].0 / per[0].1.max(1.0)
                )
            } else {
                per.iter()
                    .zip(SIZES)
                    .map(|((a, b), s)| {
                        format!("{} {} against {}", size_label(s), count(*a), count(*b))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            format!("{}: {shown}", met(ok))
        }
        None => "not measured (no callgrind)".to_owned(),
    };
    row(
        w,
        "Instructions per round trip at most C's at every size",
        instr,
    )?;

    let ok = r.timing.iter().all(|t| t.ratio.median <= 1.0);
    let each: Vec<String> = r
        .timing
        .iter()
        .zip(SIZES)
        .map(|(t, s)| {
            let how = if t.ratio.max <= 1.0 {
                "met in every round"
            } else if t.ratio.median <= 1.0 {
                "met by the median, not in every round"
            } else {
                "not met"
            };
            let [first, second] = t.by_load_order;
            let (lo, hi) = (
                first.median.min(second.median),
                first.median.max(second.median),
            );
            let order = if lo > 0.0 && hi / lo >= LOAD_ORDER_FACTOR {
                format!(
                    "; the load order decides it: {:.2} with Rust loaded first, {:.2} with C first",
                    first.median, second.median
                )
            } else {
                String::new()
            };
            format!(
                "{} {:.2} [{:.2}–{:.2}], {how} ({} of {} rounds above 1.00{order})",
                size_label(s),
                t.ratio.median,
                t.ratio.min,
                t.ratio.max,
                t.rounds_above_one,
                t.rounds
            )
        })
        .collect();
    row(
        w,
        "Rust/C time per round trip at most 1.00 (median of the rounds)",
        format!("{}: {}", met(ok), each.join("; ")),
    )?;

    let amp: Vec<(usize, f64, f64)> = SIZES
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let (i, o, _) = amplification(&r.counts[0][si], r.cg().map(|cg| &cg.cost[0][si]), *s);
            (*s, i, o)
        })
        .collect();
    let exact = amp
        .iter()
        .all(|(_, i, o)| (*i - 1.0).abs() < 1e-9 && (*o - 1.0).abs() < 1e-9);
    row(
        w,
        "Copy amplification exactly 1.0 each way",
        format!(
            "{}: {}{}",
            met(exact),
            amp.iter()
                .map(|(s, i, o)| format!("{} {i:.3} / {o:.3}", size_label(*s)))
                .collect::<Vec<_>>()
                .join(", "),
            if r.cg().is_none() {
                " (uiomove/copyin/copyout only: no callgrind)"
            } else {
                ""
            }
        ),
    )?;

    let zero = r.counts[0]
        .iter()
        .all(|c| c.allocs == 0.0 && c.frees == 0.0);
    row(
        w,
        "No allocation per steady-state round trip",
        format!(
            "{}: {}",
            met(zero),
            r.counts[0]
                .iter()
                .zip(SIZES)
                .map(|(c, s)| format!(
                    "{} {} allocations and {} frees",
                    size_label(s),
                    count(c.allocs),
                    count(c.frees)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;

    let (ok, line) = size(r);
    row(w, SIZE_TARGET, format!("{}: {line}", met(ok)))?;
    Ok(o)
}
