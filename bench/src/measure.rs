// SPDX-License-Identifier: BSD-2-Clause
//! Native measurements: data movement and allocations per round trip
//! (the harness's counters, exact), and the wall-clock samples of one
//! timed round (`rounds` repeats them): time per round trip, and
//! throughput with concurrent readers and writers.

use crate::targets::{Loaded, Target, payload, round_trip};
use harness::{Kernel, O_RDWR};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What the harness counted over a number of steady-state round trips.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
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
    let (k, fd, t) = (&l.k, l.fds[which], &l.targets[which]);
    let data = payload(size);
    let mut back = vec![0u8; size];
    for _ in 0..warmup {
        round_trip(k, t, fd, &data, &mut back)?;
    }
    if back != data {
        return Err(format!(
            "{}: the message read back differs from the one written ({size} bytes)",
            t.module
        ));
    }
    let (u0, a0, f0) = (k.uio_stats(), k.malloc_count(), frees(k, t));
    for _ in 0..iters {
        round_trip(k, t, fd, &data, &mut back)?;
    }
    let (u1, a1, f1) = (k.uio_stats(), k.malloc_count(), frees(k, t));
    let per = |d: u64| d as f64 / iters.max(1) as f64;
    Ok(Counts {
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

/// Alternating Rust/C timing samples of one message size in one round.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Samples {
    /// Round trips per sample.
    pub(crate) per_sample: u64,
    /// ns per round trip, `[Rust, C]`, one entry per pair of samples.
    pub(crate) pairs: Vec<[f64; 2]>,
}

/// Times round trips of `size` bytes: `pairs` pairs of samples, one Rust
/// and one C sample each, adjacent so that both see the same machine
/// state, with the order swapped every pair (`rust_first` says which comes
/// first in the first pair); each sample about `sample_time` long.
pub(crate) fn time_pairs(
    l: &Loaded,
    size: usize,
    pairs: usize,
    sample_time: Duration,
    rust_first: bool,
) -> Result<Samples, String> {
    let data = payload(size);
    let mut back = vec![0u8; size];
    // Calibrate on C: how many round trips fill a sample.
    let probe = 20u64;
    let t0 = Instant::now();
    for _ in 0..probe {
        round_trip(&l.k, &l.targets[1], l.fds[1], &data, &mut back)?;
    }
    let each = t0.elapsed().as_secs_f64() / probe as f64;
    let per_sample = ((sample_time.as_secs_f64() / each.max(1e-9)) as u64).clamp(5, 1_000_000);
    let mut out = Samples {
        per_sample,
        pairs: Vec::with_capacity(pairs),
    };
    for p in 0..pairs {
        let order = if p.is_multiple_of(2) == rust_first {
            [0, 1]
        } else {
            [1, 0]
        };
        let mut pair = [0.0; 2];
        for which in order {
            let fd = l.fds[which];
            let t = Instant::now();
            for _ in 0..per_sample {
                round_trip(&l.k, &l.targets[which], fd, &data, &mut back)?;
            }
            pair[which] = t.elapsed().as_nanos() as f64 / per_sample as f64;
        }
        out.pairs.push(pair);
    }
    Ok(out)
}

/// Operations (writes plus reads) per second with `n` writers and `n`
/// readers on each module, `[Rust, C]`: one run each, `rust_first` saying
/// which runs first.
pub(crate) fn concurrency_pair(
    l: &Loaded,
    n: usize,
    size: usize,
    duration: Duration,
    rust_first: bool,
) -> Result<[f64; 2], String> {
    let order = if rust_first { [0, 1] } else { [1, 0] };
    let mut pair = [0.0; 2];
    for which in order {
        pair[which] = one_run(&l.k, &l.targets[which], n, size, duration)?;
    }
    Ok(pair)
}

/// Runs `n` writer threads (each writing `size`-byte messages) and `n`
/// reader threads (each reading the whole message at offset 0) on one
/// module for `duration`; returns the completed operations per second.
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
