// SPDX-License-Identifier: BSD-2-Clause
//! Soak: load/unload cycles of `rustecho.ko` in one kernel, with I/O in
//! each (open, a write of 1 to 4096 bytes, a read that must return it,
//! `RUSTECHO_GETINFO`, close), as a module kept for months is loaded,
//! used and unloaded many times.
//!
//! About a hundred times during the run it samples: the live allocations
//! and bytes of every malloc type (between cycles the module's type is
//! gone, so these are the kernel's own: they must be exactly the same at
//! every sample), devices, sysctl nodes and loaded files (the same), and
//! this process's resident memory (`/proc/self/statm`), whose growth after
//! a warm-up must stay within a small bound. It prints the first and last
//! values and the slope.

use crate::Params;
use crate::device::pattern;
use crate::tally::Tally;
use echo_testkit::DEV;
use harness::testing::module_path;
use harness::{Config, Kernel, O_RDWR};
use std::time::Instant;

/// The process's resident memory in bytes.
pub(crate) fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// What is sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) allocs: Vec<(String, u64, u64)>,
    devices: usize,
    hw: Vec<String>,
    files: usize,
}

pub(crate) fn kept(k: &Kernel) -> Kept {
    Kept {
        allocs: k
            .malloc_types()
            .into_iter()
            .map(|t| (t.name, t.live_allocs, t.live_bytes))
            .collect(),
        devices: k.devices().len(),
        hw: k.sysctl_children("hw").unwrap_or_default(),
        files: k.kldstat().len(),
    }
}

/// The least-squares slope of `ys` over `xs`.
#[allow(clippy::cast_precision_loss, reason = "a trend, not an exact figure")]
pub(crate) fn slope(xs: &[u64], ys: &[u64]) -> f64 {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<u64>() as f64 / n;
    let my = ys.iter().sum::<u64>() as f64 / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (&x, &y) in xs.iter().zip(ys) {
        num += (x as f64 - mx) * (y as f64 - my);
        den += (x as f64 - mx) * (x as f64 - mx);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// The message buffer's size during the soak: 32 KiB (the module's load
/// line is 63 bytes: full after about 520 cycles).
pub(crate) const MSGBUF: usize = 32 << 10;

/// Allowed resident-memory growth after the warm-up: 8 MiB (the host
/// allocator's arenas settle in steps; a leak of even a few bytes per
/// cycle exceeds it within a million cycles, and the malloc statistics
/// catch any leak of kernel memory exactly).
pub(crate) const RSS_BOUND: u64 = 8 << 20;

/// The scenario.
///
/// # Panics
/// If a cycle fails or memory grows.
#[allow(clippy::cast_precision_loss, reason = "rates for the report")]
pub fn run(params: &Params, t: &Tally) {
    let cycles = params.soak_cycles;
    let every = (cycles / 100).max(1);
    // A small message buffer, so that it is full (and wraps, as FreeBSD's
    // msgbuf does) before the warm-up ends: the module logs a line per
    // load, and a filling buffer would look like growth.
    let k = Kernel::with_config(Config {
        msgbuf_size: MSGBUF,
        ..Config::default()
    });
    let ko = module_path(echo_testkit::MODULE);
    let base = kept(&k);
    let (mut xs, mut rss_samples) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 4096];
    let start = Instant::now();
    for i in 0..cycles {
        let id = k
            .kldload(&ko)
            .unwrap_or_else(|e| panic!("cycle {i}: kldload: {e:?}\n{}", k.dmesg()));
        let fd = k.open(DEV, O_RDWR).unwrap();
        let len = 1 + usize::try_from(i % 4096).unwrap_or(0);
        let msg = pattern(i, len);
        assert_eq!(k.write(fd, &msg).unwrap(), len, "cycle {i}");
        let n = k.pread(fd, &mut buf, 0).unwrap();
        assert!(buf[..n] == msg, "cycle {i}: read back something else");
        if i % 16 == 0 {
            assert_eq!(echo_testkit::info(&k, fd).generation, 1, "cycle {i}");
        }
        k.close(fd).unwrap();
        k.kldunload(id, false)
            .unwrap_or_else(|e| panic!("cycle {i}: kldunload: {e:?}"));
        if i % every == 0 || i + 1 == cycles {
            let now = kept(&k);
            if now.allocs != base.allocs {
                t.leak(1);
            }
            assert_eq!(now, base, "cycle {i}: the kernel kept something");
            xs.push(i);
            rss_samples.push(rss());
            let v = t.absorb_kernel(&k);
            assert!(v.is_empty(), "cycle {i}: {v:?}");
        }
    }
    let elapsed = start.elapsed();
    t.ops_ok(cycles * 6);
    let warm = xs.len() / 10;
    let (first, last) = (rss_samples[warm], rss_samples[rss_samples.len() - 1]);
    let per_1000 = slope(&xs[warm..], &rss_samples[warm..]) * 1000.0;
    let rate = cycles as f64 / elapsed.as_secs_f64();
    t.note(format!(
        "soak: {cycles} load/unload cycles with I/O in {elapsed:.1?} ({rate:.0} cycles/s; \
         1,000,000 would take {:.0} s); kernel malloc statistics identical at all {} samples; \
         RSS first {} KiB (after {} cycles), last {} KiB, slope {per_1000:+.1} bytes per 1000 \
         cycles",
        1e6 / rate,
        xs.len(),
        first / 1024,
        xs[warm],
        last / 1024,
    ));
    assert!(
        last <= first + RSS_BOUND,
        "resident memory grew from {first} to {last} bytes"
    );
}

#[cfg(test)]
mod tests {
    use super::slope;

    #[test]
    fn slope_of_a_line() {
        let xs = [0, 10, 20, 30];
        assert!((slope(&xs, &[5, 25, 45, 65]) - 2.0).abs() < 1e-9);
        assert!(slope(&xs, &[7, 7, 7, 7]).abs() < 1e-9);
    }
}
