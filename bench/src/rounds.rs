// SPDX-License-Identifier: BSD-2-Clause
//! Timed rounds: the wall-clock measurements, repeated in separate
//! processes so that their spread shows.
//!
//! One round is one run of this program in a child mode
//! (`--round-child`): a fresh kernel with both modules loaded (Rust first
//! in even rounds, C first in odd ones, so that neither always gets the
//! same place in memory), then for every message size a number of
//! adjacent Rust/C sample pairs, then one Rust and one C concurrency run
//! per thread count. The child prints one line per measurement; the parent
//! runs the rounds one after the other and summarises them: the figure of
//! a round is the median of its pairs, and the report gives the median and
//! the range of the rounds' figures.
//!
//! Two runs of one process agree better with each other than two
//! processes do (heap layout, address-space layout, whatever else the
//! machine is doing at the time), so a spread measured inside one process
//! would understate the noise.

use crate::measure::{Samples, concurrency_pair, time_pairs};
use crate::plan::Plan;
use crate::stats::Band;
use crate::targets::{Loaded, SIZES};
use std::process::Command;
use std::time::Duration;

/// What one round does (its command line).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spec {
    /// Its number: the order of the modules (load and first sample).
    pub(crate) index: usize,
    pub(crate) pairs: usize,
    pub(crate) sample_time: Duration,
    pub(crate) threads: Vec<usize>,
    pub(crate) conc_size: usize,
    pub(crate) conc_time: Duration,
}

impl Spec {
    /// Round `index` of `plan`.
    pub(crate) fn of(plan: &Plan, index: usize) -> Self {
        Spec {
            index,
            pairs: plan.pairs,
            sample_time: plan.sample_time,
            threads: plan.threads.to_vec(),
            conc_size: plan.conc_size,
            conc_time: plan.conc_time,
        }
    }

    /// The arguments after `--round-child`.
    pub(crate) fn to_args(&self) -> Vec<String> {
        vec![
            self.index.to_string(),
            self.pairs.to_string(),
            self.sample_time.as_micros().to_string(),
            self.threads
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            self.conc_size.to_string(),
            self.conc_time.as_micros().to_string(),
        ]
    }

    /// Parses [`to_args`](Self::to_args).
    pub(crate) fn from_args(args: &[String]) -> Result<Self, String> {
        let [index, pairs, sample_us, threads, conc_size, conc_us] = args else {
            return Err(format!("--round-child: 6 arguments expected, got {args:?}"));
        };
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|e| format!("--round-child: {s:?}: {e}"))
        };
        let count = |s: &str| num(s).and_then(|v| usize::try_from(v).map_err(|e| e.to_string()));
        Ok(Spec {
            index: count(index)?,
            pairs: count(pairs)?,
            sample_time: Duration::from_micros(num(sample_us)?),
            threads: threads
                .split(',')
                .map(count)
                .collect::<Result<Vec<_>, _>>()?,
            conc_size: count(conc_size)?,
            conc_time: Duration::from_micros(num(conc_us)?),
        })
    }

    fn rust_first(&self) -> bool {
        Self::rust_first_in(self.index)
    }

    /// Whether round `index` loads Rust first (and starts with a Rust
    /// sample).
    pub(crate) fn rust_first_in(index: usize) -> bool {
        index.is_multiple_of(2)
    }
}

/// What one round measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Round {
    /// Per message size, [`SIZES`] order.
    pub(crate) time: Vec<Samples>,
    /// Per thread count: operations per second, `[Rust, C]`.
    pub(crate) conc: Vec<(usize, [f64; 2])>,
}

/// The child: measures one round and prints it.
pub(crate) fn child(spec: &Spec) -> Result<(), String> {
    let l = Loaded::new(spec.rust_first())?;
    let mut round = Round::default();
    for &size in &SIZES {
        round.time.push(time_pairs(
            &l,
            size,
            spec.pairs,
            spec.sample_time,
            spec.rust_first(),
        )?);
    }
    for &n in &spec.threads {
        let ops = concurrency_pair(&l, n, spec.conc_size, spec.conc_time, spec.rust_first())?;
        round.conc.push((n, ops));
    }
    l.finish()?;
    print!("{}", render(&round));
    Ok(())
}

/// A round as lines of text: `time SIZE PER_SAMPLE RUST_NS C_NS` per
/// pair, `conc N RUST_OPS C_OPS` per thread count.
pub(crate) fn render(r: &Round) -> String {
    let mut o = String::new();
    for (s, size) in r.time.iter().zip(SIZES) {
        for [a, b] in &s.pairs {
            o.push_str(&format!("time {size} {} {a} {b}\n", s.per_sample));
        }
    }
    for (n, [a, b]) in &r.conc {
        o.push_str(&format!("conc {n} {a} {b}\n"));
    }
    o
}

/// Parses [`render`]'s output (other lines are ignored).
pub(crate) fn parse(text: &str) -> Result<Round, String> {
    let mut r = Round {
        time: vec![Samples::default(); SIZES.len()],
        conc: Vec::new(),
    };
    let float = |s: &str| s.parse::<f64>().map_err(|e| format!("{s:?}: {e}"));
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["time", size, per, a, b] => {
                let si = SIZES
                    .iter()
                    .position(|s| s.to_string() == *size)
                    .ok_or_else(|| format!("unknown size in {line:?}"))?;
                let s = &mut r.time[si];
                s.per_sample = per.parse().map_err(|e| format!("{line:?}: {e}"))?;
                s.pairs.push([float(a)?, float(b)?]);
            }
            ["conc", n, a, b] => {
                let n = n.parse().map_err(|e| format!("{line:?}: {e}"))?;
                r.conc.push((n, [float(a)?, float(b)?]));
            }
            ["time" | "conc", ..] => return Err(format!("bad line {line:?}")),
            _ => {}
        }
    }
    if r.time.iter().any(|s| s.pairs.is_empty()) {
        return Err("a message size has no samples".to_owned());
    }
    Ok(r)
}

/// Runs the rounds of `plan`, one child process after the other.
pub(crate) fn run(plan: &Plan) -> Result<Vec<Round>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut rounds = Vec::with_capacity(plan.rounds);
    for i in 0..plan.rounds {
        let out = Command::new(&exe)
            .arg("--round-child")
            .args(Spec::of(plan, i).to_args())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if !out.status.success() {
            return Err(format!(
                "timed round {i} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        rounds.push(parse(&String::from_utf8_lossy(&out.stdout))?);
    }
    Ok(rounds)
}

/// Time per round trip of one message size over all rounds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timing {
    /// ns per round trip of each module ([`BOTH`](crate::targets::BOTH)
    /// order): the rounds' medians.
    pub(crate) ns: [Band; 2],
    /// Rust/C: the rounds' figures, each the median of the round's
    /// pair ratios.
    pub(crate) ratio: Band,
    /// Rust/C of single pairs, over every pair of every round.
    pub(crate) pair_ratio: Band,
    /// Rust/C of the rounds that loaded Rust first, and of those that
    /// loaded C first: a difference between the two is the modules' place
    /// in memory, not their code.
    pub(crate) by_load_order: [Band; 2],
    /// Rounds above 1.00.
    pub(crate) rounds_above_one: usize,
    pub(crate) rounds: usize,
    /// Round trips per sample (the median over rounds; each round
    /// calibrates its own).
    pub(crate) per_sample: u64,
}

/// Summarises size `si` of `rounds`.
pub(crate) fn timing(rounds: &[Round], si: usize) -> Timing {
    let mut med = [Vec::new(), Vec::new()];
    let (mut ratios, mut all, mut per) = (Vec::new(), Vec::new(), Vec::new());
    let mut by_order = [Vec::new(), Vec::new()];
    for (i, s) in rounds
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.time.get(si)?)))
    {
        let pr: Vec<f64> = s.pairs.iter().map(|[a, b]| a / b).collect();
        for (which, m) in med.iter_mut().enumerate() {
            let v: Vec<f64> = s.pairs.iter().map(|p| p[which]).collect();
            m.push(Band::of(&v).median);
        }
        let ratio = Band::of(&pr).median;
        ratios.push(ratio);
        by_order[usize::from(!Spec::rust_first_in(i))].push(ratio);
        all.extend(pr);
        per.push(s.per_sample as f64);
    }
    Timing {
        ns: [Band::of(&med[0]), Band::of(&med[1])],
        ratio: Band::of(&ratios),
        pair_ratio: Band::of(&all),
        by_load_order: [Band::of(&by_order[0]), Band::of(&by_order[1])],
        rounds_above_one: ratios.iter().filter(|r| **r > 1.0).count(),
        rounds: ratios.len(),
        per_sample: Band::of(&per).median as u64,
    }
}

/// Throughput with N writers and N readers over all rounds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Throughput {
    /// Operations per second of each module.
    pub(crate) ops: [Band; 2],
    /// Rust/C of each round's pair of runs.
    pub(crate) ratio: Band,
}

/// Summarises the concurrency runs with `n` threads of each kind.
pub(crate) fn throughput(rounds: &[Round], n: usize) -> Throughput {
    let mut ops = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for r in rounds {
        for (_, pair) in r.conc.iter().filter(|(m, _)| *m == n) {
            ops[0].push(pair[0]);
            ops[1].push(pair[1]);
            ratios.push(pair[0] / pair[1]);
        }
    }
    Throughput {
        ops: [Band::of(&ops[0]), Band::of(&ops[1])],
        ratio: Band::of(&ratios),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_through_its_arguments() {
        let spec = Spec::of(&Plan::full(), 3);
        assert_eq!(Spec::from_args(&spec.to_args()).unwrap(), spec);
        assert!(!spec.rust_first());
        assert!(Spec::from_args(&["1".to_owned()]).is_err());
    }

    fn round(ratio_16: f64) -> Round {
        Round {
            time: SIZES
                .iter()
                .map(|_| Samples {
                    per_sample: 100,
                    pairs: vec![[ratio_16 * 1000.0, 1000.0], [ratio_16 * 2000.0, 2000.0]],
                })
                .collect(),
            conc: vec![(1, [2.0, 1.0]), (8, [1.0, 4.0])],
        }
    }

    #[test]
    fn rounds_survive_the_text_form() {
        let r = round(0.5);
        assert_eq!(parse(&render(&r)).unwrap(), r);
        assert!(parse("time 16 1 2\n").is_err());
        assert!(parse("conc 1 2 3\n").is_err(), "no time samples");
    }

    #[test]
    fn each_round_is_one_figure_and_the_band_is_over_rounds() {
        let rounds = [round(0.5), round(0.8), round(1.1)];
        let t = timing(&rounds, 1);
        assert_eq!(t.rounds, 3);
        assert_eq!(t.per_sample, 100);
        assert!((t.ratio.median - 0.8).abs() < 1e-9);
        assert!((t.ratio.min - 0.5).abs() < 1e-9);
        assert!((t.ratio.max - 1.1).abs() < 1e-9);
        assert_eq!(t.rounds_above_one, 1);
        // Rounds 0 and 2 load Rust first, round 1 C first.
        assert!((t.by_load_order[0].median - 0.8).abs() < 1e-9);
        assert!((t.by_load_order[1].median - 0.8).abs() < 1e-9);
        assert!((t.by_load_order[0].max - 1.1).abs() < 1e-9);
        // Medians of each round: C's are 1500 in every round.
        assert_eq!(t.ns[1].median, 1500.0);
        let c = throughput(&rounds, 8);
        assert_eq!(c.ratio.median, 0.25);
        assert_eq!(c.ops[1].max, 4.0);
    }
}
