// SPDX-License-Identifier: BSD-2-Clause
//! The report: a run's figures as Markdown, one named region each.
//!
//! Every run prints the regions; `make bench` also writes them between the
//! markers of `BENCHMARKS.md` and `README.md` ([`crate::docs`]), so no
//! figure in those files is typed by hand. The prose around the markers
//! explains the method and states no figure of its own.

mod fifo;
mod tables;
mod verdicts;

use crate::callgrind::{ModuleCost, Results};
use crate::measure::Counts;
use crate::meta::RunInfo;
use crate::plan::Plan;
use crate::rounds::{Throughput, Timing};
use crate::sizes::ModuleSize;
use crate::stats::Band;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Everything measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) plan: Plan,
    pub(crate) info: RunInfo,
    /// How long the measurements took.
    pub(crate) elapsed: Duration,
    /// `.ko` sizes, per [`SIZE_PAIRS`](crate::targets::SIZE_PAIRS) entry,
    /// `[Rust, C]`.
    pub(crate) sizes: [[ModuleSize; 2]; 2],
    /// Harness counters, `[target][size]`.
    pub(crate) counts: [[Counts; 3]; 2],
    /// rustecho and cecho as built for arm64 (`build/arm64/`), `[Rust, C]`,
    /// if they were built.
    pub(crate) arm64_sizes: Option<[ModuleSize; 2]>,
    /// `.ko` sizes of the FIFOs ([`FIFO_PAIR`](crate::targets::FIFO_PAIR)),
    /// `[Rust, C]`.
    pub(crate) fifo_sizes: [ModuleSize; 2],
    /// Harness counters of the FIFOs, `[target][size]`.
    pub(crate) fifo_counts: [[Counts; 3]; 2],
    /// Time per round trip, per size, over the rounds.
    pub(crate) timing: Vec<Timing>,
    /// Concurrency per thread count, over the rounds.
    pub(crate) concurrency: Vec<(usize, Throughput)>,
    /// The callgrind results, or why there are none.
    pub(crate) callgrind: Result<Results, String>,
}

/// The regions, in the order the printed report shows them, with their
/// headings there (the documents have their own headings).
pub(crate) const REGIONS: [(&str, &str); 15] = [
    ("run", "The run"),
    ("targets", "Targets"),
    (
        "instructions",
        "Instructions per round trip inside each module (callgrind, exact)",
    ),
    (
        "instructions-by-function",
        "Where the instructions go (16 B round trip, per round trip)",
    ),
    (
        "time",
        "Time per round trip (wall clock, over repeated rounds)",
    ),
    (
        "copies",
        "Copies and allocations per round trip (steady state)",
    ),
    ("size", "Size of the .ko files by section (bytes)"),
    ("size-by-function", "The largest functions of each module"),
    (
        "concurrency",
        "Concurrency: N writers + N readers, operations per second",
    ),
    ("fifo-targets", "rustfifo against cfifo: targets"),
    (
        "fifo-instructions",
        "rustfifo against cfifo: instructions per write-then-read round trip (callgrind, exact)",
    ),
    (
        "fifo-instructions-by-function",
        "rustfifo against cfifo: where the instructions go (4 KiB round trip)",
    ),
    (
        "fifo-copies",
        "rustfifo against cfifo: copies and allocations per round trip (steady state)",
    ),
    ("fifo-size", "rustfifo against cfifo: size of the .ko files"),
    ("summary", "In short (README.md)"),
];

impl Report {
    fn cg(&self) -> Option<&Results> {
        self.callgrind.as_ref().ok()
    }

    /// The body of every region, by name.
    pub(crate) fn regions(&self) -> Result<BTreeMap<&'static str, String>, fmt::Error> {
        let mut m = BTreeMap::new();
        for (name, _) in REGIONS {
            let body = match name {
                "run" => tables::run(self)?,
                "targets" => verdicts::table(self)?,
                "instructions" => tables::instructions(self)?,
                "instructions-by-function" => tables::instructions_by_function(self)?,
                "time" => tables::time(self)?,
                "copies" => tables::copies(self)?,
                "size" => tables::size(self)?,
                "size-by-function" => tables::size_by_function(self)?,
                "concurrency" => tables::concurrency(self)?,
                "fifo-targets" => fifo::targets(self)?,
                "fifo-instructions" => fifo::instructions(self)?,
                "fifo-instructions-by-function" => fifo::instructions_by_function(self)?,
                "fifo-copies" => fifo::copies(self)?,
                "fifo-size" => fifo::size(self)?,
                _ => tables::summary(self)?,
            };
            m.insert(name, body);
        }
        Ok(m)
    }

    /// The whole report as one Markdown text, for the terminal.
    pub(crate) fn render(&self) -> Result<String, fmt::Error> {
        let regions = self.regions()?;
        let mut o = String::from("## rustecho.ko (Rust) against cecho.ko (C)\n\n");
        for (name, title) in REGIONS {
            let body = regions.get(name).map_or("", String::as_str);
            o.push_str(&format!("### {title}\n\n{}\n\n", body.trim_end()));
        }
        Ok(o)
    }
}

/// `16 B`, `4 KiB`.
fn size_label(s: usize) -> String {
    match s {
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

/// `1234 [1200–1300]` with a unit after the median.
fn band(b: &Band, unit: &str) -> String {
    format!("{:.0}{unit} [{:.0}–{:.0}]", b.median, b.min, b.max)
}

/// `0.80 [0.78–0.82]`.
fn ratio(b: &Band) -> String {
    format!("{:.2} [{:.2}–{:.2}]", b.median, b.min, b.max)
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**NOT met**" }
}

/// A per-round-trip figure: whole numbers without decimals.
fn count(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A symbol name as Markdown code in a table cell.
fn code(name: &str) -> String {
    format!("`{}`", name.replace('`', "'").replace('|', "\\|"))
}

/// Copy amplification (write, read) per payload byte: bytes through
/// uiomove/copyin/copyout plus the module's own copies, over the payload;
/// and whether the module's copies are an upper bound.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{self, DOCS};
    use crate::measure::Samples;
    use crate::rounds::{Round, throughput, timing};
    use crate::targets::{SIZE_PAIRS, SIZES};
    use kolink::SizeReport;

    #[test]
    fn the_documents_take_exactly_the_regions_the_report_makes() {
        let mut made: Vec<&str> = REGIONS.iter().map(|(n, _)| *n).collect();
        let mut wanted: Vec<&str> = DOCS.iter().flat_map(|(_, n)| n.iter().copied()).collect();
        made.sort_unstable();
        wanted.sort_unstable();
        assert_eq!(made, wanted);
    }

    fn module(name: &'static str, text: u64, rodata: u64) -> ModuleSize {
        ModuleSize {
            module: name,
            sections: SizeReport {
                text,
                rodata,
                ..SizeReport::default()
            },
            funcs: vec![
                (format!("{name}_f|<T>"), text / 2),
                (format!("{name}_g"), text / 4),
            ]
            .into_iter()
            .take(if name.starts_with('c') { 1 } else { 2 })
            .collect(),
        }
    }

    /// A report of a run with rounds whose Rust/C time ratios are
    /// `ratios`, sizes of `echo` (rustecho, cecho) text, no callgrind.
    fn sample(ratios: &[f64], echo: [u64; 2]) -> Report {
        let rounds: Vec<Round> = ratios
            .iter()
            .map(|r| Round {
                time: SIZES
                    .iter()
                    .map(|_| Samples {
                        per_sample: 10,
                        pairs: vec![[r * 1000.0, 1000.0]],
                    })
                    .collect(),
                conc: vec![(1, [1.0, 1.0])],
            })
            .collect();
        let counts = Counts {
            from_user: 16.0,
            to_user: 16.0,
            allocs: 0.0,
            frees: 0.0,
        };
        let mut c = [[counts; 3]; 2];
        for row in &mut c {
            for (k, s) in row.iter_mut().zip(SIZES) {
                k.from_user = s as f64;
                k.to_user = s as f64;
            }
        }
        Report {
            plan: Plan::full(),
            info: RunInfo::default(),
            elapsed: Duration::from_secs(1),
            sizes: [
                [
                    module(SIZE_PAIRS[0].rust, echo[0], 0),
                    module(SIZE_PAIRS[0].c, echo[1], 0),
                ],
                [
                    module(SIZE_PAIRS[1].rust, 500, 0),
                    module(SIZE_PAIRS[1].c, 100, 0),
                ],
            ],
            counts: c,
            arm64_sizes: Some([
                module(SIZE_PAIRS[0].rust, echo[0] * 2, 0),
                module(SIZE_PAIRS[0].c, echo[1] * 2, 0),
            ]),
            fifo_sizes: [
                module(crate::targets::FIFO_PAIR.rust, 700, 0),
                module(crate::targets::FIFO_PAIR.c, 600, 0),
            ],
            fifo_counts: c,
            timing: (0..SIZES.len()).map(|si| timing(&rounds, si)).collect(),
            concurrency: vec![(1, throughput(&rounds, 1))],
            callgrind: Err("skipped".to_owned()),
        }
    }

    #[test]
    fn every_region_is_rendered_and_fits_the_markers() {
        let r = sample(&[0.5, 0.9, 1.2], [300, 100]);
        let regions = r.regions().unwrap();
        assert_eq!(regions.len(), REGIONS.len());
        for (name, body) in &regions {
            assert!(!body.trim().is_empty(), "{name}");
            assert!(!body.contains("bench:"), "{name}: a marker in a body");
            // Every row of a table has its header's number of cells.
            let mut cells = None;
            for line in body.lines() {
                if !line.starts_with('|') {
                    cells = None;
                    continue;
                }
                let n = line.replace("\\|", "").matches('|').count();
                assert_eq!(*cells.get_or_insert(n), n, "{name}: {line}");
            }
        }
        for (_, names) in DOCS {
            let doc: String = names
                .iter()
                .map(|n| format!("<!-- bench:begin {n} -->\n<!-- bench:end {n} -->\n"))
                .collect();
            docs::replace(&doc, &regions, names).unwrap();
        }
        assert!(r.render().unwrap().contains("### Targets"));
    }

    #[test]
    fn the_size_target_is_judged_on_the_figures() {
        let over = sample(&[0.9], [302, 200]).regions().unwrap();
        assert!(
            over["size"].contains("**NOT met** (1.51×, 302 against 200 bytes)"),
            "{}",
            over["size"]
        );
        assert!(over["summary"].contains("**NOT met**"));
        let at = sample(&[0.9], [300, 200]).regions().unwrap();
        assert!(at["size"].contains("**met** (1.50×"), "{}", at["size"]);
        assert!(
            at["targets"].contains("**met**: 1.50×, 300 against 200 bytes"),
            "{}",
            at["targets"]
        );
    }

    #[test]
    fn the_time_regions_say_how_noisy_the_ratios_were() {
        let noisy = sample(&[0.5, 0.9, 1.2], [300, 100]).regions().unwrap();
        assert!(
            noisy["time"].contains("**Noise: high.**"),
            "{}",
            noisy["time"]
        );
        assert!(
            noisy["time"].contains(
                "| 0.90 | 0.50–1.20 | 2.40× | 0.85 [0.50–1.20] | 0.90 [0.90–0.90] | 0.50–1.20 | 1 of 3 | 10 |"
            ),
            "{}",
            noisy["time"]
        );
        assert!(noisy["targets"].contains("median, not in every round"));
        // Rust-first rounds 0.5 and 1.2 against C-first 0.9: close enough.
        assert!(!noisy["targets"].contains("load order decides"));
        let layout = sample(&[0.1, 0.9, 0.1, 0.9], [300, 100]).regions().unwrap();
        assert!(
            layout["targets"].contains(
                "the load order decides it: 0.10 with Rust loaded first, 0.90 with C first"
            ),
            "{}",
            layout["targets"]
        );
        let quiet = sample(&[0.80, 0.81, 0.80], [300, 100]).regions().unwrap();
        assert!(
            quiet["time"].contains("**Noise: low.**"),
            "{}",
            quiet["time"]
        );
        assert!(quiet["targets"].contains("met in every round"));
        let slow = sample(&[1.2, 1.3, 1.25], [300, 100]).regions().unwrap();
        assert!(slow["targets"].contains("**NOT met**: 16 B 1.25"));
    }

    #[test]
    fn the_fifo_instruction_target_is_judged_at_4_kib() {
        use crate::callgrind::{Attributed, ModuleCost, Results};
        let cost = |write: u64, read: u64| ModuleCost {
            write: Attributed {
                ir: write,
                ..Attributed::default()
            },
            read: Attributed {
                ir: read,
                ..Attributed::default()
            },
            all: 0,
            iters: 10,
        };
        let with = |rust_4k: u64| {
            let mut cg = Results::default();
            for si in 0..SIZES.len() {
                cg.fifo_cost[1][si] = cost(1000, 1000);
                // Above C at 16 B and 64 KiB: only 4 KiB decides.
                cg.fifo_cost[0][si] = cost(3000, 3000);
            }
            cg.fifo_cost[0][1] = cost(rust_4k, rust_4k);
            let mut r = sample(&[0.9], [300, 100]);
            r.callgrind = Ok(cg);
            r.regions().unwrap()
        };
        let slow = with(1500);
        assert!(
            slow["fifo-targets"].contains("**NOT met**: 300 against 200 (1.50×) at 4 KiB"),
            "{}",
            slow["fifo-targets"]
        );
        let fast = with(900);
        assert!(
            fast["fifo-targets"].contains("**met**: 180 against 200 (0.90×) at 4 KiB"),
            "{}",
            fast["fifo-targets"]
        );
        assert!(fast["fifo-instructions"].contains("| 4 KiB | 180 | 200 | 0.90 |"));
        assert!(
            fast["summary"].contains("per 4 KiB write and read (callgrind, exact) | 180 | 200 |")
        );
    }

    #[test]
    fn names_are_safe_in_a_table_cell() {
        assert_eq!(code("a|b`c"), "`a\\|b'c`");
        assert_eq!(count(0.0), "0");
        assert_eq!(count(0.25), "0.25");
        assert_eq!(size_label(16), "16 B");
        assert_eq!(size_label(65536), "64 KiB");
    }
}
