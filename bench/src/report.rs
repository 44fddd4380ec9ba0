// SPDX-License-Identifier: BSD-2-Clause
//! The printed report: Markdown tables (pasted into BENCHMARKS.md) and
//! the targets of issue 8, each met or not.

use crate::callgrind::{ModuleCost, Results};
use crate::measure::{Band, Counts, Throughput, Timing};
use crate::targets::{BOTH, SIZES};
use kolink::SizeReport;
use std::fmt::Write as _;

/// Everything measured.
#[derive(Debug)]
pub(crate) struct Report {
    /// Quick (smoke) mode: tiny counts, figures not meaningful.
    pub(crate) quick: bool,
    /// `.ko` sizes, [`BOTH`] order.
    pub(crate) sizes: [SizeReport; 2],
    /// Harness counters, `[target][size]`.
    pub(crate) counts: [[Counts; 3]; 2],
    /// Time per round trip, per size.
    pub(crate) timing: Vec<Timing>,
    /// Concurrency: (N, size, throughput).
    pub(crate) concurrency: Vec<(usize, usize, Throughput)>,
    /// The callgrind results, or why there are none.
    pub(crate) callgrind: Result<Results, String>,
}

fn size_label(s: usize) -> String {
    match s {
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

fn band(b: &Band, unit: &str) -> String {
    format!("{:.0}{unit} [{:.0}–{:.0}]", b.median, b.min, b.max)
}

fn ratio(b: &Band) -> String {
    format!("{:.2} [{:.2}–{:.2}]", b.median, b.min, b.max)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// Copy amplification (write, read) per payload byte: bytes through
/// uiomove/copyin/copyout plus the module's own copies, over the payload.
fn amplification(c: &Counts, cg: Option<&ModuleCost>, size: usize) -> (f64, f64, bool) {
    let size = size as f64;
    let per = |a: &crate::callgrind::Attributed, it: u64| a.copied as f64 / it.max(1) as f64;
    let (w_mod, r_mod, approx) = cg.map_or((0.0, 0.0, false), |m| {
        (
            per(&m.write, m.iters),
            per(&m.read, m.iters),
            m.write.approx || m.read.approx,
        )
    });
    (
        (c.from_user + w_mod) / size,
        (c.to_user + r_mod) / size,
        approx,
    )
}

impl Report {
    fn cg(&self) -> Option<&Results> {
        self.callgrind.as_ref().ok()
    }

    /// The whole report as Markdown.
    #[allow(clippy::too_many_lines, reason = "one table after another")]
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        let mut o = String::new();
        let w = &mut o;
        let (r, c) = (0, 1);
        writeln!(w, "## rustecho.ko (Rust) against cecho.ko (C)\n")?;
        if self.quick {
            writeln!(
                w,
                "_Quick mode: tiny iteration counts; the figures are a smoke test, not a measurement._\n"
            )?;
        }
        writeln!(w, "Machine: {}\n", machine())?;

        // Instructions.
        writeln!(
            w,
            "### Instructions per round trip inside each module (callgrind, exact)\n"
        )?;
        match &self.callgrind {
            Ok(cg) => {
                writeln!(
                    w,
                    "| size | Rust | C | Rust/C | Rust write + read | C write + read | all code, Rust | all code, C |"
                )?;
                writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
                for (si, s) in SIZES.iter().enumerate() {
                    let (a, b) = (&cg.cost[r][si], &cg.cost[c][si]);
                    let split = |m: &ModuleCost| {
                        let it = m.iters.max(1) as f64;
                        format!(
                            "{:.0} + {:.0}",
                            m.write.ir as f64 / it,
                            m.read.ir as f64 / it
                        )
                    };
                    let all =
                        |m: &ModuleCost| format!("{:.0}", m.all as f64 / m.iters.max(1) as f64);
                    writeln!(
                        w,
                        "| {} | {:.1} | {:.1} | {:.2} | {} | {} | {} | {} |",
                        size_label(*s),
                        a.ir_per_rt(),
                        b.ir_per_rt(),
                        a.ir_per_rt() / b.ir_per_rt().max(1.0),
                        split(a),
                        split(b),
                        all(a),
                        all(b)
                    )?;
                }
                writeln!(
                    w,
                    "\n\"All code\" adds the emulated kernel (harness) and the syscall layer: context only.\n\
                     Calibration: a `rep movsb` of {} bytes measured as {} bytes. Layout check (function names): {:.1}% / {:.1}% of \
                     the Rust / C executable bytes that relocations leave alone found where the layout puts them.\n\
                     Command: `{}`\n",
                    cg.calibration.1,
                    cg.calibration.0,
                    cg.layout_match[r] * 100.0,
                    cg.layout_match[c] * 100.0,
                    cg.command
                )?;
            }
            Err(e) => {
                writeln!(w, "Not measured: {e}\n")?;
            }
        }

        // Time.
        writeln!(
            w,
            "### Time per round trip (wall clock, median [min–max])\n"
        )?;
        writeln!(w, "| size | Rust | C | Rust/C | samples × round trips |")?;
        writeln!(w, "|---|---:|---:|---:|---:|")?;
        for (t, s) in self.timing.iter().zip(SIZES) {
            writeln!(
                w,
                "| {} | {} | {} | {} | {} × {} |",
                size_label(s),
                band(&t.ns[r], " ns"),
                band(&t.ns[c], " ns"),
                ratio(&t.ratio),
                t.samples,
                t.per_sample
            )?;
        }

        // Copies and allocations.
        writeln!(
            w,
            "\n### Copies and allocations per round trip (steady state)\n"
        )?;
        writeln!(
            w,
            "| size | module | from user | to user | copies in module (write + read) | amplification in / out | malloc calls | frees of own type |"
        )?;
        writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|")?;
        for (si, s) in SIZES.iter().enumerate() {
            for (ti, t) in BOTH.iter().enumerate() {
                let k = &self.counts[ti][si];
                let m = self.cg().map(|cg| &cg.cost[ti][si]);
                let (ai, ao, approx) = amplification(k, m, *s);
                let inside = m.map_or_else(
                    || "n/a".to_owned(),
                    |m| {
                        let it = m.iters.max(1) as f64;
                        format!(
                            "{:.0} + {:.0}",
                            m.write.copied as f64 / it,
                            m.read.copied as f64 / it
                        )
                    },
                );
                writeln!(
                    w,
                    "| {} | {} | {:.0} | {:.0} | {} | {:.3} / {:.3}{} | {:.2} | {:.2} |",
                    size_label(*s),
                    t.label,
                    k.from_user,
                    k.to_user,
                    inside,
                    ai,
                    ao,
                    if approx { " (upper bound)" } else { "" },
                    k.allocs,
                    k.frees
                )?;
            }
        }
        if let Some(k) = self.counts.first().and_then(|v| v.first()) {
            writeln!(w, "\n({} round trips counted per row.)", k.iters)?;
        }

        // Sizes.
        writeln!(w, "\n### Size of the .ko by section (bytes)\n")?;
        writeln!(
            w,
            "| module | text | rodata | data | bss | text+rodata | total |"
        )?;
        writeln!(w, "|---|---:|---:|---:|---:|---:|---:|")?;
        for (t, z) in BOTH.iter().zip(&self.sizes) {
            writeln!(
                w,
                "| {}.ko | {} | {} | {} | {} | {} | {} |",
                t.module,
                z.text,
                z.rodata,
                z.data,
                z.bss,
                z.text + z.rodata,
                z.total()
            )?;
        }
        let tr = self.text_rodata_ratio();
        let total = self.sizes[0].total() as f64 / self.sizes[1].total().max(1) as f64;
        writeln!(w, "\ntext+rodata Rust/C: {tr:.2}; total Rust/C: {total:.2}")?;

        // Concurrency.
        writeln!(
            w,
            "\n### Concurrency: N writers + N readers, operations per second (median [min–max])\n"
        )?;
        writeln!(w, "| N | message | Rust | C | Rust/C |")?;
        writeln!(w, "|---:|---|---:|---:|---:|")?;
        for (n, s, t) in &self.concurrency {
            writeln!(
                w,
                "| {n} | {} | {} | {} | {} |",
                size_label(*s),
                band(&t.ops[r], ""),
                band(&t.ops[c], ""),
                ratio(&t.ratio)
            )?;
        }

        writeln!(w, "\n### Targets (issue 8)\n")?;
        for line in self.targets() {
            writeln!(w, "- {line}")?;
        }
        if let Some(cg) = self.cg() {
            writeln!(
                w,
                "\n### Where the instructions go (16 B round trip, per round trip)\n"
            )?;
            for (ti, t) in BOTH.iter().enumerate() {
                let m = &cg.cost[ti][0];
                let mut f: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
                for a in [&m.write, &m.read] {
                    for (name, n) in &a.funcs {
                        *f.entry(name.as_str()).or_default() += n;
                    }
                }
                let mut v: Vec<_> = f.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                writeln!(w, "{} ({}.ko):\n", t.label, t.module)?;
                for (name, n) in v.iter().take(12) {
                    writeln!(w, "    {:>8.1}  {name}", *n as f64 / m.iters.max(1) as f64)?;
                }
                writeln!(w)?;
            }
        }
        Ok(o)
    }

    fn text_rodata_ratio(&self) -> f64 {
        let tr = |z: &SizeReport| (z.text + z.rodata) as f64;
        tr(&self.sizes[0]) / tr(&self.sizes[1]).max(1.0)
    }

    /// The targets, one line each.
    fn targets(&self) -> Vec<String> {
        let mut v = Vec::new();
        match self.cg() {
            Some(cg) => {
                let worse: Vec<String> = SIZES
                    .iter()
                    .enumerate()
                    .filter(|(si, _)| cg.cost[0][*si].ir_per_rt() > cg.cost[1][*si].ir_per_rt())
                    .map(|(_, s)| size_label(*s))
                    .collect();
                v.push(format!(
                    "Instructions per round trip at most C's at every size: {}{}",
                    met(worse.is_empty()),
                    if worse.is_empty() {
                        String::new()
                    } else {
                        format!(" (above C at {})", worse.join(", "))
                    }
                ));
            }
            None => v.push(
                "Instructions per round trip at most C's: not measured (no callgrind)".to_owned(),
            ),
        }
        let time: Vec<String> = self
            .timing
            .iter()
            .zip(SIZES)
            .map(|(t, s)| {
                // Met: the median pair ratio is at most 1.00; within
                // noise: at most 1.05 with some pair at or below 1.00.
                let verdict = if t.ratio.median <= 1.0 {
                    "met"
                } else if t.ratio.median <= 1.05 && t.ratio.min <= 1.0 {
                    "met within noise"
                } else {
                    "NOT met"
                };
                format!("{} {:.2} {verdict}", size_label(s), t.ratio.median)
            })
            .collect();
        v.push(format!(
            "Rust/C time ratio at most 1.00 within the noise band: {}",
            time.join("; ")
        ));
        let amp: Vec<(String, f64, f64)> = SIZES
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let (i, o, _) =
                    amplification(&self.counts[0][si], self.cg().map(|cg| &cg.cost[0][si]), *s);
                (size_label(*s), i, o)
            })
            .collect();
        let exact = amp
            .iter()
            .all(|(_, i, o)| (*i - 1.0).abs() < 1e-9 && (*o - 1.0).abs() < 1e-9);
        v.push(format!(
            "Copy amplification exactly 1.0 each way for Rust: {}{} ({})",
            met(exact),
            if self.cg().is_none() {
                " (uiomove/copyin/copyout only: no callgrind)"
            } else {
                ""
            },
            amp.iter()
                .map(|(s, i, o)| format!("{s} {i:.3}/{o:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let allocs: Vec<String> = SIZES
            .iter()
            .enumerate()
            .map(|(si, s)| format!("{} {:.2}", size_label(*s), self.counts[0][si].allocs))
            .collect();
        let zero = SIZES
            .iter()
            .enumerate()
            .all(|(si, _)| self.counts[0][si].allocs == 0.0);
        v.push(format!(
            "Zero allocations per steady-state round trip for Rust: {} ({})",
            met(zero),
            allocs.join(", ")
        ));
        let tr = self.text_rodata_ratio();
        v.push(format!(
            "rustecho.ko text+rodata at most 1.5 × cecho.ko's: {} ({tr:.2}×)",
            met(tr <= 1.5)
        ));
        v
    }
}

/// The machine, for the report.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let n = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| String::new(), |s| format!(", Linux {}", s.trim()));
    format!(
        "{cpu}, {n} CPUs available{kernel}; modules run in the harness (userspace FreeBSD kernel emulation)"
    )
}
