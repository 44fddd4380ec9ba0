// SPDX-License-Identifier: BSD-2-Clause
//! Where and with what the figures were measured: the machine, its load,
//! the tools and the tree, as the report states them.

use std::path::Path;
use std::process::Command;

/// The circumstances of a run.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunInfo {
    /// CPU model, CPUs available, host kernel.
    pub(crate) machine: String,
    /// The 1-minute load average when the run started (Linux).
    pub(crate) load: Option<String>,
    /// One line per tool: rustc, the C compiler, valgrind.
    pub(crate) tools: Vec<String>,
    /// The commit and whether the tree differs from it.
    pub(crate) tree: Option<String>,
}

impl RunInfo {
    /// Collects what can be found; what cannot is left out or says so.
    pub(crate) fn collect(root: &Path, valgrind: Option<&Path>) -> Self {
        let mut tools = vec![
            first_line("rustc", &["--version"], root)
                .unwrap_or_else(|| "rustc: version unknown".to_owned()),
        ];
        tools.push(match std::env::var_os("BENCH_CC") {
            Some(cc) => first_line(&cc.to_string_lossy(), &["--version"], root)
                .unwrap_or_else(|| format!("{}: version unknown", cc.to_string_lossy())),
            None => "C compiler: not given (`cargo xtask bench` names it in BENCH_CC)".to_owned(),
        });
        if let Some(v) = valgrind {
            tools.push(
                first_line(&v.to_string_lossy(), &["--version"], root)
                    .unwrap_or_else(|| "valgrind: version unknown".to_owned()),
            );
        }
        RunInfo {
            machine: machine(),
            load: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|s| s.split_whitespace().next().map(str::to_owned)),
            tools,
            tree: tree(root),
        }
    }
}

/// The first line a command prints, if it runs and succeeds.
fn first_line(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}

/// The documents the benchmark rewrites, which do not make the tree count
/// as changed.
const GENERATED: [&str; 2] = ["BENCHMARKS.md", "README.md"];

/// `commit abc1234`, with the number of other tracked files that differ
/// from it.
fn tree(root: &Path) -> Option<String> {
    let commit = first_line("git", &["rev-parse", "--short", "HEAD"], root)?;
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .ok()?;
    let changed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !GENERATED.iter().any(|g| l.get(3..) == Some(*g)))
        .count();
    Some(if changed == 0 {
        format!("commit `{commit}`")
    } else {
        format!("commit `{commit}` with uncommitted changes to {changed} tracked files")
    })
}

/// The machine: CPU model, CPUs available, host kernel.
fn machine() -> String {
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
    format!("{cpu}, {n} CPUs available{kernel}")
}
