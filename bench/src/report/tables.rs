// SPDX-License-Identifier: BSD-2-Clause
//! The body of each region of the report but the targets
//! ([`super::verdicts`]).

use super::{Counts, Report, amplification, band, code, count, met, ratio, size_label, verdicts};
use crate::callgrind::{self, ModuleCost};
use crate::sizes::{self, ModuleSize};
use crate::stats::noise_level;
use crate::targets::{BOTH, FIFO_PAIR, SIZE_PAIRS, SIZES};
use std::collections::HashMap;
use std::fmt::{Result, Write as _};

/// Rows of the per-function tables.
const TOP: usize = 12;

/// The machine, tools, tree and what the run measured.
pub(super) fn run(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let (p, i) = (&r.plan, &r.info);
    let mut o = String::new();
    let w = &mut o;
    if p.quick {
        writeln!(
            w,
            "_Quick run (`--quick`): tiny counts, a smoke test of every code path. \
             Its figures are not measurements._\n"
        )?;
    }
    let load = i.load.as_ref().map_or_else(String::new, |l| {
        format!("; load average {l} when the run started")
    });
    writeln!(w, "- Machine: {}{load}.", i.machine)?;
    writeln!(w, "- Tools: {}.", i.tools.join("; "))?;
    if let Some(t) = &i.tree {
        writeln!(w, "- Tree: {t}.")?;
    }
    writeln!(
        w,
        "- Harness counters: {} round trips per row after {} warm-up ones.",
        p.count_iters, p.warmup
    )?;
    if p.callgrind {
        writeln!(
            w,
            "- Instructions: {} round trips per module, size and phase (write, read) after {} warm-up ones, under callgrind.",
            p.cg_iters,
            callgrind::WARMUP
        )?;
    }
    writeln!(
        w,
        "- Time: {} rounds, each a separate process with a fresh kernel; in each, {} Rust/C pairs of samples of about {} ms per message size.",
        p.rounds,
        p.pairs,
        p.sample_time.as_millis()
    )?;
    writeln!(
        w,
        "- Concurrency: in each round, one run of {} ms per module and thread count, with {} B messages.",
        p.conc_time.as_millis(),
        p.conc_size
    )?;
    writeln!(
        w,
        "- The measurements took {:.0} s.",
        r.elapsed.as_secs_f64()
    )?;
    Ok(o)
}

/// Instructions per round trip inside each module.
pub(super) fn instructions(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    let cg = match &r.callgrind {
        Ok(cg) => cg,
        Err(e) => {
            writeln!(w, "Not measured: {e}.")?;
            return Ok(o);
        }
    };
    instruction_rows(w, &cg.cost)?;
    writeln!(
        w,
        "\n\"All code\" adds the emulated kernel (harness) and the syscall layer: context only.\n\
         Calibration: a `rep movsb` of {} bytes measured as {} bytes. Layout check (function names): \
         {:.1}% / {:.1}% of the Rust / C executable bytes that relocations leave alone found where \
         the layout puts them.\n\
         Command: `{}`",
        cg.calibration.1,
        cg.calibration.0,
        cg.layout_match[0] * 100.0,
        cg.layout_match[1] * 100.0,
        cg.command
    )?;
    Ok(o)
}

/// The rows of an instructions-per-round-trip table, Rust against C at each
/// size (`cost[0]` Rust, `cost[1]` C), with its header: the echo and the
/// FIFO tables share them.
pub(super) fn instruction_rows(w: &mut String, cost: &[[ModuleCost; 3]; 2]) -> Result {
    writeln!(
        w,
        "| size | Rust | C | Rust/C | Rust write + read | C write + read | all code, Rust | all code, C |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    let split = |m: &ModuleCost| {
        let it = m.iters.max(1) as f64;
        format!(
            "{} + {}",
            count((m.write.ir as f64 / it).round()),
            count((m.read.ir as f64 / it).round())
        )
    };
    let all = |m: &ModuleCost| format!("{:.0}", m.all as f64 / m.iters.max(1) as f64);
    for (si, s) in SIZES.iter().enumerate() {
        let (a, b) = (&cost[0][si], &cost[1][si]);
        writeln!(
            w,
            "| {} | {} | {} | {:.2} | {} | {} | {} | {} |",
            size_label(*s),
            count(a.ir_per_rt()),
            count(b.ir_per_rt()),
            a.ir_per_rt() / b.ir_per_rt().max(1.0),
            split(a),
            split(b),
            all(a),
            all(b)
        )?;
    }
    Ok(())
}

/// Instructions per function, 16 B round trip, both modules side by side.
pub(super) fn instructions_by_function(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let Some(cg) = r.cg() else {
        return Ok("Not measured (no callgrind run).".to_owned());
    };
    let rust = per_func(&cg.cost[0][0]);
    let c = per_func(&cg.cost[1][0]);
    let mut o = String::new();
    side_by_side(
        &mut o,
        [
            &format!("{} ({}.ko)", BOTH[0].label, BOTH[0].module),
            &format!("{} ({}.ko)", BOTH[1].label, BOTH[1].module),
        ],
        "instructions",
        [&rust, &c],
    )?;
    Ok(o)
}

/// A module's instructions per round trip by function (write and read
/// together), most first, as table cells.
pub(super) fn per_func(m: &ModuleCost) -> Vec<(String, String)> {
    let mut f: HashMap<&str, u64> = HashMap::new();
    for a in [&m.write, &m.read] {
        for (name, n) in &a.funcs {
            *f.entry(name.as_str()).or_default() += n;
        }
    }
    let it = m.iters.max(1) as f64;
    let mut v: Vec<(&str, f64)> = f
        .into_iter()
        .map(|(name, n)| (name, n as f64 / it))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .map(|(name, n)| (name.to_owned(), format!("{n:.1}")))
        .collect()
}

/// Two ranked lists in one table.
pub(super) fn side_by_side(
    w: &mut String,
    heads: [&str; 2],
    unit: &str,
    lists: [&[(String, String)]; 2],
) -> Result {
    writeln!(w, "| # | {} | {unit} | {} | {unit} |", heads[0], heads[1])?;
    writeln!(w, "|---:|---|---:|---|---:|")?;
    let rows = lists[0].len().max(lists[1].len()).min(TOP);
    for i in 0..rows {
        let cell = |l: &[(String, String)]| {
            l.get(i)
                .map_or_else(|| " | ".to_owned(), |(n, v)| format!("{} | {v}", code(n)))
        };
        writeln!(w, "| {} | {} | {} |", i + 1, cell(lists[0]), cell(lists[1]))?;
    }
    Ok(())
}

/// Time per round trip over the rounds, and how noisy it was.
pub(super) fn time(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    let rounds = r.timing.first().map_or(0, |t| t.rounds);
    writeln!(
        w,
        "| size | Rust, ns | C, ns | Rust/C | range over rounds | max/min | Rust loaded first | C loaded first | single pairs | rounds above 1.00 | round trips per sample |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for (t, s) in r.timing.iter().zip(SIZES) {
        writeln!(
            w,
            "| {} | {} | {} | {:.2} | {:.2}–{:.2} | {:.2}× | {} | {} | {:.2}–{:.2} | {} of {} | {} |",
            size_label(s),
            band(&t.ns[0], ""),
            band(&t.ns[1], ""),
            t.ratio.median,
            t.ratio.min,
            t.ratio.max,
            t.ratio.factor(),
            ratio(&t.by_load_order[0]),
            ratio(&t.by_load_order[1]),
            t.pair_ratio.min,
            t.pair_ratio.max,
            t.rounds_above_one,
            t.rounds,
            t.per_sample
        )?;
    }
    writeln!(
        w,
        "\nEach round is a separate process with a fresh kernel; even rounds load Rust first, odd \
         rounds C first. A round's figure is the median of its pairs of adjacent Rust and C \
         samples (the order swapped every pair). The table gives the median of the {rounds} \
         rounds' figures, their range, the largest over the smallest, the same by load order \
         (median [range]), and the range of single pairs. ns: median [min–max] of the rounds' \
         medians."
    )?;
    if let Some((t, s)) = r
        .timing
        .iter()
        .zip(SIZES)
        .max_by(|a, b| a.0.ratio.factor().total_cmp(&b.0.ratio.factor()))
    {
        let pairs = r
            .timing
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), t| {
                (lo.min(t.pair_ratio.min), hi.max(t.pair_ratio.max))
            });
        writeln!(
            w,
            "\n**Noise: {}.** Between rounds the Rust/C time ratio moved by up to a factor of \
             {:.2} (at {}: {:.2} to {:.2}); single sample pairs ranged from {:.2} to {:.2}. A \
             difference between Rust and C smaller than that is not a difference on this machine. \
             Where the two load orders disagree, the place of the modules and their buffers in \
             memory decides the time, not their code. The instruction counts are exact and the \
             same on every run: they are the figure to compare. The times are the harness's, in \
             userspace, not FreeBSD's.",
            noise_level(t.ratio.factor()),
            t.ratio.factor(),
            size_label(s),
            t.ratio.min,
            t.ratio.max,
            pairs.0,
            pairs.1
        )?;
    }
    Ok(o)
}

/// Copies and allocations per round trip.
pub(super) fn copies(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(
        w,
        "| size | module | from user | to user | copies in module (write + read) | amplification in / out | malloc calls | frees of own type |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for (si, s) in SIZES.iter().enumerate() {
        for (ti, t) in BOTH.iter().enumerate() {
            let m = r.cg().map(|cg| &cg.cost[ti][si]);
            copies_row(w, *s, t.label, &r.counts[ti][si], m)?;
        }
    }
    writeln!(
        w,
        "\n{} round trips counted per row, after {} warm-up ones.{}",
        r.plan.count_iters,
        r.plan.warmup,
        if r.cg().is_none() {
            " Copies inside the modules need callgrind and were not measured."
        } else {
            ""
        }
    )?;
    Ok(o)
}

/// Sizes of every module, the Rust/C ratios and the size target.
/// One row of a copies table: a module at one size, the copies the
/// harness counted (`k`) and those callgrind attributed inside the module
/// (`m`, if it ran).
pub(super) fn copies_row(
    w: &mut String,
    size: usize,
    label: &str,
    k: &Counts,
    m: Option<&ModuleCost>,
) -> Result {
    let (ai, ao, approx) = amplification(k, m, size);
    let inside = m.map_or_else(
        || "n/a".to_owned(),
        |m| {
            let it = m.iters.max(1) as f64;
            format!(
                "{} + {}",
                count(m.write.copied as f64 / it),
                count(m.read.copied as f64 / it)
            )
        },
    );
    writeln!(
        w,
        "| {} | {} | {} | {} | {} | {:.3} / {:.3}{} | {} | {} |",
        size_label(size),
        label,
        count(k.from_user),
        count(k.to_user),
        inside,
        ai,
        ao,
        if approx { " (upper bound)" } else { "" },
        count(k.allocs),
        count(k.frees)
    )
}

pub(super) fn size(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(
        w,
        "| module | text | rodata | data | bss | text+rodata | total |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|")?;
    for m in r.sizes.iter().flatten() {
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
    writeln!(
        w,
        "\n| Rust / C | what | text+rodata | total | extra text+rodata (bytes) |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|")?;
    for (p, pair) in SIZE_PAIRS.iter().zip(&r.sizes) {
        writeln!(
            w,
            "| {}.ko / {}.ko | {} | {:.2}× | {:.2}× | {} |",
            p.rust,
            p.c,
            p.what,
            sizes::text_rodata_ratio(pair),
            sizes::total_ratio(pair),
            i128::from(pair[0].text_rodata()) - i128::from(pair[1].text_rodata())
        )?;
    }
    let (ok, line) = verdicts::size(r);
    writeln!(
        w,
        "\nTarget, {}: {} ({line}).",
        verdicts::SIZE_TARGET,
        met(ok)
    )?;
    arm64_size(w, r)?;
    Ok(o)
}

/// The largest functions of each module of each pair.
pub(super) fn size_by_function(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    for (p, pair) in SIZE_PAIRS.iter().zip(&r.sizes) {
        let list = |m: &ModuleSize| -> Vec<(String, String)> {
            m.funcs
                .iter()
                .map(|(n, b)| (n.clone(), b.to_string()))
                .collect()
        };
        writeln!(
            o,
            "{}.ko against {}.ko, {}: {}.\n",
            p.rust,
            p.c,
            p.what,
            describe(pair)
        )?;
        side_by_side(
            &mut o,
            [&format!("{}.ko", p.rust), &format!("{}.ko", p.c)],
            "bytes",
            [&list(&pair[0]), &list(&pair[1])],
        )?;
        writeln!(o)?;
    }
    Ok(o)
}

/// `N functions, X of Y text bytes` for each module of a pair.
fn describe(pair: &[ModuleSize; 2]) -> String {
    pair.iter()
        .map(|m| {
            format!(
                "{}.ko has {} functions, {} of its {} bytes of text",
                m.module,
                m.funcs.len(),
                m.funcs_total(),
                m.sections.text
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Concurrency over the rounds.
pub(super) fn concurrency(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(w, "| N | message | Rust | C | Rust/C |")?;
    writeln!(w, "|---:|---|---:|---:|---:|")?;
    for (n, t) in &r.concurrency {
        writeln!(
            w,
            "| {n} | {} | {} | {} | {} |",
            size_label(r.plan.conc_size),
            band(&t.ops[0], ""),
            band(&t.ops[1], ""),
            ratio(&t.ratio)
        )?;
    }
    let worst = r
        .concurrency
        .iter()
        .map(|(_, t)| t.ratio.factor())
        .fold(1.0, f64::max);
    writeln!(
        w,
        "\nMedian [min–max] over {} rounds, one run per module in each; Rust/C per round. \
         **Noise: {}** (the ratio moved by up to a factor of {:.2} between rounds). Only the \
         ratio within a round means something: the rates are the harness's on a machine shared \
         with other work.",
        r.timing.first().map_or(0, |t| t.rounds),
        noise_level(worst),
        worst
    )?;
    Ok(o)
}

/// The README's short table.
pub(super) fn summary(r: &Report) -> std::result::Result<String, std::fmt::Error> {
    let mut o = String::new();
    let w = &mut o;
    writeln!(w, "| per write-then-read round trip | Rust | C |")?;
    writeln!(w, "| --- | ---: | ---: |")?;
    let instr = |ti: usize| {
        r.cg().map_or_else(
            || "not measured".to_owned(),
            |cg| {
                let v: Vec<String> = cg.cost[ti].iter().map(|m| count(m.ir_per_rt())).collect();
                if v.iter().all(|x| *x == v[0]) {
                    v[0].clone()
                } else {
                    v.join(" / ")
                }
            },
        )
    };
    writeln!(
        w,
        "| instructions inside the module (callgrind, exact) | {} | {} |",
        instr(0),
        instr(1)
    )?;
    let rounds = r.timing.first().map_or(0, |t| t.rounds);
    let times: Vec<String> = r.timing.iter().map(|t| ratio(&t.ratio)).collect();
    writeln!(
        w,
        "| time, Rust/C: median [range] of {rounds} rounds ({}) | {} | 1 |",
        SIZES.map(size_label).join(", "),
        times.join(", ")
    )?;
    let amp = |ti: usize| {
        SIZES
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let (i, o, _) =
                    amplification(&r.counts[ti][si], r.cg().map(|cg| &cg.cost[ti][si]), *s);
                i.max(o)
            })
            .fold(0.0, f64::max)
    };
    writeln!(
        w,
        "| copies per payload byte, each way (most at any size) | {:.3} | {:.3} |",
        amp(0),
        amp(1)
    )?;
    let allocs = |ti: usize| r.counts[ti].iter().map(|c| c.allocs).fold(0.0, f64::max);
    writeln!(
        w,
        "| allocations in steady state (most at any size) | {} | {} |",
        count(allocs(0)),
        count(allocs(1))
    )?;
    for (p, pair) in SIZE_PAIRS.iter().zip(&r.sizes) {
        writeln!(
            w,
            "| text+rodata of {}, {}.ko and {}.ko (bytes) | {} | {} |",
            p.what,
            p.rust,
            p.c,
            pair[0].text_rodata(),
            pair[1].text_rodata()
        )?;
    }
    let fifo_instr = |ti: usize| {
        r.cg().map_or_else(
            || "not measured".to_owned(),
            |cg| count(cg.fifo_cost[ti][1].ir_per_rt()),
        )
    };
    writeln!(
        w,
        "| rustfifo.ko and cfifo.ko: instructions per 4 KiB write and read (callgrind, exact) | {} | {} |",
        fifo_instr(0),
        fifo_instr(1)
    )?;
    let fifo_amp = |ti: usize| {
        SIZES
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let (i, o, _) = amplification(
                    &r.fifo_counts[ti][si],
                    r.cg().map(|cg| &cg.fifo_cost[ti][si]),
                    *s,
                );
                i.max(o)
            })
            .fold(0.0, f64::max)
    };
    writeln!(
        w,
        "| rustfifo.ko and cfifo.ko: copies per payload byte, each way (most at any size) | {:.3} | {:.3} |",
        fifo_amp(0),
        fifo_amp(1)
    )?;
    writeln!(
        w,
        "| text+rodata of {}, {}.ko and {}.ko (bytes) | {} | {} |",
        FIFO_PAIR.what,
        FIFO_PAIR.rust,
        FIFO_PAIR.c,
        r.fifo_sizes[0].text_rodata(),
        r.fifo_sizes[1].text_rodata()
    )?;
    let (ok, line) = verdicts::size(r);
    let worst = r
        .timing
        .iter()
        .map(|t| t.ratio.factor())
        .fold(1.0, f64::max);
    writeln!(
        w,
        "\nSize target ({}): {} ({line}). Noise in the time ratios: {} (they moved by up to a \
         factor of {:.2} between rounds of one run; `BENCHMARKS.md` shows them by load order); \
         the instruction counts are exact.{}",
        verdicts::SIZE_TARGET,
        met(ok),
        noise_level(worst),
        worst,
        r.info
            .tree
            .as_ref()
            .map_or_else(String::new, |t| format!(" Measured on {t}."))
    )?;
    Ok(o)
}

/// The arm64 line of the size region: rustecho.ko against cecho.ko, both
/// built by `make ARCH=arm64` with kmod.mk's arm64 flags (reported, no
/// target; the amd64 figures above are the ones the target judges).
fn arm64_size(w: &mut String, r: &Report) -> std::fmt::Result {
    let p = &SIZE_PAIRS[0];
    match &r.arm64_sizes {
        Some(pair) => writeln!(
            w,
            "\narm64 (`make ARCH=arm64`, both with kmod.mk's arm64 flags): {}.ko \
             text+rodata {} against {}.ko {} bytes ({:.2}×); total {} against {} \
             ({:.2}×).",
            p.rust,
            pair[0].text_rodata(),
            p.c,
            pair[1].text_rodata(),
            sizes::text_rodata_ratio(pair),
            pair[0].sections.total(),
            pair[1].sections.total(),
            sizes::total_ratio(pair)
        ),
        None => writeln!(
            w,
            "\narm64: not measured ({}.ko and {}.ko not built; `make ARCH=arm64`).",
            p.rust, p.c
        ),
    }
}
