// SPDX-License-Identifier: BSD-2-Clause
//! The regions of rustfifo.ko against cfifo.ko: its targets, instructions
//! (by size and by function), copies and allocations, and size.
//!
//! A round trip is a `write(2)` of the message and a `read(2)` of all of
//! it on one open file, so the FIFO is empty again after each. The targets
//! (the benchmark of rustfifo's issue): instructions inside the module per
//! 4 KiB round trip at most C's; copies exactly 1.0 per payload byte each
//! way; no allocation in steady state; text+rodata reported beside C's.

use super::tables::{copies_row, instruction_rows, per_func, side_by_side};
use super::{Report, amplification, count, met, size_label};
use crate::callgrind::ModuleCost;
use crate::targets::{FIFO_PAIR, FIFOS, SIZES};
use std::fmt::{Error, Write as _};

/// The message size the instruction target is judged at: 4 KiB.
const TARGET_SIZE: usize = 1;

/// Rows of the per-function tables.
const TOP: usize = 12;

impl Report {
    /// The FIFOs' callgrind costs, `[target][size]`.
    fn fifo_cg(&self) -> Option<&[[ModuleCost; 3]; 2]> {
        self.cg().map(|cg| &cg.fifo_cost)
    }
}

/// The instruction target at 4 KiB: whether it is met, and the figures.
pub(super) fn instructions_verdict(r: &Report) -> Option<(bool, String)> {
    let cost = r.fifo_cg()?;
    let (a, b) = (
        cost[0][TARGET_SIZE].ir_per_rt(),
        cost[1][TARGET_SIZE].ir_per_rt(),
    );
    Some((
        a <= b,
        format!(
            "{} against {} ({:.2}×) at {}",
            count(a),
            count(b),
            a / b.max(1.0),
            size_label(SIZES[TARGET_SIZE])
        ),
    ))
}

/// The targets of the FIFO benchmark.
pub(super) fn targets(r: &Report) -> Result<String, Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(w, "| target | result |")?;
    writeln!(w, "|---|---|")?;
    let instr = match instructions_verdict(r) {
        Some((ok, line)) => {
            let others: Vec<String> = r
                .fifo_cg()
                .map(|cost| {
                    SIZES
                        .iter()
                        .enumerate()
                        .filter(|(si, _)| *si != TARGET_SIZE)
                        .map(|(si, s)| {
                            format!(
                                "{} {} against {}",
                                size_label(*s),
                                count(cost[0][si].ir_per_rt()),
                                count(cost[1][si].ir_per_rt())
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("{}: {line} (also {})", met(ok), others.join("; "))
        }
        None => "not measured (no callgrind)".to_owned(),
    };
    writeln!(
        w,
        "| Instructions per 4 KiB round trip at most C's | {instr} |"
    )?;
    let mut exact = true;
    let mut amps = Vec::new();
    for (si, s) in SIZES.iter().enumerate() {
        let m = r.fifo_cg().map(|c| &c[0][si]);
        let (i, o, approx) = amplification(&r.fifo_counts[0][si], m, *s);
        exact &= (i - 1.0).abs() < 1e-9 && (o - 1.0).abs() < 1e-9 && !approx;
        amps.push(format!("{} {i:.3} / {o:.3}", size_label(*s)));
    }
    let copies = if r.fifo_cg().is_some() {
        format!("{}: {}", met(exact), amps.join(", "))
    } else {
        format!(
            "not measured inside the module (no callgrind): {}",
            amps.join(", ")
        )
    };
    writeln!(w, "| Copy amplification exactly 1.0 each way | {copies} |")?;
    let allocs: Vec<String> = SIZES
        .iter()
        .zip(&r.fifo_counts[0])
        .map(|(s, c)| {
            format!(
                "{} {} allocations and {} frees",
                size_label(*s),
                count(c.allocs),
                count(c.frees)
            )
        })
        .collect();
    let none = r.fifo_counts[0]
        .iter()
        .all(|c| c.allocs == 0.0 && c.frees == 0.0);
    writeln!(
        w,
        "| No allocation per steady-state round trip | {}: {} |",
        met(none),
        allocs.join(", ")
    )?;
    let [rust, c] = &r.fifo_sizes;
    writeln!(
        w,
        "| text+rodata beside C's (reported, no limit) | {} against {} bytes ({:.2}×) |",
        rust.text_rodata(),
        c.text_rodata(),
        crate::sizes::text_rodata_ratio(&r.fifo_sizes)
    )?;
    Ok(o)
}

/// Instructions per round trip inside each FIFO, at each size.
pub(super) fn instructions(r: &Report) -> Result<String, Error> {
    let mut o = String::new();
    let w = &mut o;
    let (Some(cost), Some(cg)) = (r.fifo_cg(), r.cg()) else {
        writeln!(w, "Not measured (no callgrind run).")?;
        return Ok(o);
    };
    instruction_rows(w, cost)?;
    writeln!(
        w,
        "\nMeasured in the same callgrind run as the echo devices, in a kernel of their own. \
         Layout check (function names): {:.1}% / {:.1}% of the Rust / C executable bytes that \
         relocations leave alone found where the layout puts them.",
        cg.fifo_layout_match[0] * 100.0,
        cg.fifo_layout_match[1] * 100.0
    )?;
    Ok(o)
}

/// Instructions per function, 4 KiB round trip, both FIFOs side by side.
pub(super) fn instructions_by_function(r: &Report) -> Result<String, Error> {
    let Some(cost) = r.fifo_cg() else {
        return Ok("Not measured (no callgrind run).".to_owned());
    };
    let mut o = String::new();
    side_by_side(
        &mut o,
        [
            &format!("{} ({}.ko)", FIFOS[0].label, FIFOS[0].module),
            &format!("{} ({}.ko)", FIFOS[1].label, FIFOS[1].module),
        ],
        "instructions",
        [
            &per_func(&cost[0][TARGET_SIZE]),
            &per_func(&cost[1][TARGET_SIZE]),
        ],
    )?;
    Ok(o)
}

/// Copies and allocations per round trip of each FIFO.
pub(super) fn copies(r: &Report) -> Result<String, Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(
        w,
        "| size | module | from user | to user | copies in module (write + read) | amplification in / out | malloc calls | frees of own type |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for (si, s) in SIZES.iter().enumerate() {
        for (ti, t) in FIFOS.iter().enumerate() {
            let m = r.fifo_cg().map(|c| &c[ti][si]);
            copies_row(w, *s, t.label, &r.fifo_counts[ti][si], m)?;
        }
    }
    writeln!(
        w,
        "\n{} round trips counted per row, after {} warm-up ones.",
        r.plan.count_iters, r.plan.warmup
    )?;
    Ok(o)
}

/// The sections and largest functions of both FIFOs.
pub(super) fn size(r: &Report) -> Result<String, Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(
        w,
        "| module | text | rodata | data | bss | text+rodata | total |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|")?;
    for m in &r.fifo_sizes {
        let z = &m.sections;
        writeln!(
            w,
            "| {}.ko | {} | {} | {} | {} | {} | {} |",
            m.module,
            z.text,
            z.rodata,
            z.data,
            z.bss,
            m.text_rodata(),
            z.total()
        )?;
    }
    let [rust, c] = &r.fifo_sizes;
    writeln!(
        w,
        "\n{}.ko / {}.ko, {}: text+rodata {:.2}×, total {:.2}×, {} bytes more text+rodata.\n",
        FIFO_PAIR.rust,
        FIFO_PAIR.c,
        FIFO_PAIR.what,
        crate::sizes::text_rodata_ratio(&r.fifo_sizes),
        crate::sizes::total_ratio(&r.fifo_sizes),
        i128::from(rust.text_rodata()) - i128::from(c.text_rodata())
    )?;
    let list = |m: &crate::sizes::ModuleSize| -> Vec<(String, String)> {
        m.funcs
            .iter()
            .take(TOP)
            .map(|(n, b)| (n.clone(), b.to_string()))
            .collect()
    };
    side_by_side(
        w,
        [&format!("{}.ko", rust.module), &format!("{}.ko", c.module)],
        "bytes",
        [&list(rust), &list(c)],
    )?;
    Ok(o)
}
