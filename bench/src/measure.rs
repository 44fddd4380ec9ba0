// SPDX-License-Identifier: BSD-2-Clause
//! Native measurements: data movement and allocations per round trip
//! (the harness's counters, exact), time per round trip (wall clock,
//! noisy), and throughput with concurrent readers and writers.

use crate::targets::{BOTH, Loaded, Target, payload, round_trip};
use harness::{Kernel, O_RDWR};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What the harness counted over a number of steady-state round trips.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    /// Round trips counted.
    pub(crate) iters: u64,
    /// Bytes the module took from user memory (`uiomove` from user,
    /// `copyin`), per round trip.
    pub(crate) from_user: f64,
    /// Bytes the module gave to user memory (`uiomove` to user,
    /// `copyout`), per round trip.
    pub(crate) to_user: f64,
    /// `malloc(9)` calls (all types), per round trip.
    pub(crate) allocs: f64,
    /// `free(9)` of the module's own type, per round trip.
    pub(crate) frees: f64,
}

/// Counts `iters` round trips of `size` bytes on `t` after `warmup` ones.
pub(crate) fn counts(
    l: &Loaded,
    which: usize,
    size: usize,
    warmup: u64,
    iters: u64,
) -> Result<Counts, String> {
    let (k, fd, t) = (&l.k, l.fds[which], &BOTH[which]);
    let data = payload(size);
    let mut back = vec![0u8; size];
    for _ in 0..warmup {
        round_trip(k, fd, &data, &mut back)?;
    }
    if back != data {
        return Err(format!(
            "{}: the message read back differs from the one written ({size} bytes)",
            t.module
        ));
    }
    let (u0, a0, f0) = (k.uio_stats(), k.malloc_count(), frees(k, t));
    for _ in 0..iters {
        round_trip(k, fd, &data, &mut back)?;
    }
    let (u1, a1, f1) = (k.uio_stats(), k.malloc_count(), frees(k, t));
    let per = |d: u64| d as f64 / iters.max(1) as f64;
    Ok(Counts {
        iters,
        from_user: per(
            (u1.uiomove_from_user + u1.copyin_bytes) - (u0.uiomove_from_user + u0.copyin_bytes)
        ),
        to_user: per(
            (u1.uiomove_to_user + u1.copyout_bytes) - (u0.uiomove_to_user + u0.copyout_bytes)
        ),
        allocs: per(a1 - a0),
        frees: per(f1 - f0),
    })
}

fn frees(k: &Kernel, t: &Target) -> u64 {
    k.malloc_stats(t.mtype).map_or(0, |s| s.total_frees)
}

/// Summary of samples: median, minimum, maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Band {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Band {
    /// The band of `samples` (empty: all zero).
    pub(crate) fn of(samples: &[f64]) -> Band {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Band::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Band {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

/// Wall-clock time per round trip.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timing {
    /// ns per round trip for each target ([`BOTH`] order).
    pub(crate) ns: [Band; 2],
    /// Rust/C of each pair of adjacent samples.
    pub(crate) ratio: Band,
    /// Samples per target, round trips per sample.
    pub(crate) samples: usize,
    pub(crate) per_sample: u64,
}

/// Times round trips of `size` bytes: `samples` samples per target, Rust
/// and C alternating (so that both see the same machine state), each
/// sample about `sample_time` long.
pub(crate) fn timing(
    l: &Loaded,
    size: usize,
    samples: usize,
    sample_time: Duration,
) -> Result<Timing, String> {
    let data = payload(size);
    let mut back = vec![0u8; size];
    // Calibrate on C: how many round trips fill a sample.
    let probe = 20u64;
    let t0 = Instant::now();
    for _ in 0..probe {
        round_trip(&l.k, l.fds[1], &data, &mut back)?;
    }
    let each = t0.elapsed().as_secs_f64() / probe as f64;
    let per_sample = ((sample_time.as_secs_f64() / each.max(1e-9)) as u64).clamp(5, 1_000_000);
    let mut ns: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for s in 0..samples {
        // Alternate which module goes first.
        let order = if s % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut pair = [0.0; 2];
        for which in order {
            let fd = l.fds[which];
            let t = Instant::now();
            for _ in 0..per_sample {
                round_trip(&l.k, fd, &data, &mut back)?;
            }
            pair[which] = t.elapsed().as_nanos() as f64 / per_sample as f64;
            ns[which].push(pair[which]);
        }
        ratios.push(pair[0] / pair[1]);
    }
    Ok(Timing {
        ns: [Band::of(&ns[0]), Band::of(&ns[1])],
        ratio: Band::of(&ratios),
        samples,
        per_sample,
    })
}

/// Throughput with `n` writers and `n` readers on one module.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Throughput {
    /// Operations (writes plus reads) per second, over the runs.
    pub(crate) ops: [Band; 2],
    /// Rust/C of each pair of runs.
    pub(crate) ratio: Band,
}

/// Runs `n` writer threads (each writing `size`-byte messages) and `n`
/// reader threads (each reading the whole message at offset 0) on each
/// module for `duration`, `runs` times, modules alternating.
pub(crate) fn concurrency(
    l: &Loaded,
    n: usize,
    size: usize,
    duration: Duration,
    runs: usize,
) -> Result<Throughput, String> {
    let mut ops: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for r in 0..runs {
        let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut pair = [0.0; 2];
        for which in order {
            pair[which] = one_run(&l.k, &BOTH[which], n, size, duration)?;
            ops[which].push(pair[which]);
        }
        ratios.push(pair[0] / pair[1]);
    }
    Ok(Throughput {
        ops: [Band::of(&ops[0]), Band::of(&ops[1])],
        ratio: Band::of(&ratios),
    })
}

fn one_run(
    k: &Kernel,
    t: &Target,
    n: usize,
    size: usize,
    duration: Duration,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(2 * n + 1));
    let mut threads = Vec::new();
    for i in 0..2 * n {
        let (k, stop, done, start) = (
            k.clone(),
            Arc::clone(&stop),
            Arc::clone(&done),
            Arc::clone(&start),
        );
        let dev = t.dev;
        let writer = i % 2 == 0;
        threads.push(std::thread::spawn(move || -> Result<(), String> {
            let opened = k.open(dev, O_RDWR).map_err(|e| format!("open {dev}: {e}"));
            start.wait();
            let fd = opened?;
            let data = payload(size);
            let mut back = vec![0u8; size];
            let mut count = 0u64;
            let mut result = Ok(());
            while !stop.load(Ordering::Relaxed) {
                let r = if writer {
                    k.write(fd, &data)
                } else {
                    k.pread(fd, &mut back, 0)
                };
                if let Err(e) = r {
                    result = Err(format!("{dev}: {e}"));
                    break;
                }
                count += 1;
            }
            done.fetch_add(count, Ordering::Relaxed);
            k.close(fd).map_err(|e| format!("close: {e}"))?;
            result
        }));
    }
    start.wait();
    let t0 = Instant::now();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut result = Ok(());
    for th in threads {
        let r = th
            .join()
            .map_err(|_| "a benchmark thread panicked".to_owned())?;
        if result.is_ok() {
            result = r;
        }
    }
    // Operations that started before the stop count; so does their time.
    let elapsed = t0.elapsed().as_secs_f64();
    result.map(|()| done.load(Ordering::Relaxed) as f64 / elapsed)
}

#[cfg(test)]
mod tests {
    use super::Band;

    #[test]
    fn band_has_median_min_max() {
        assert_eq!(
            Band::of(&[3.0, 1.0, 2.0]),
            Band {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Band::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Band::of(&[]), Band::default());
    }
}
