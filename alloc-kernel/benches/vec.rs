// SPDX-License-Identifier: BSD-2-Clause
//! Benchmarks of `Vec` against `std::vec::Vec` on the same data, in the same
//! run: `cargo bench -p alloc-kernel`.
//!
//! Both use the system allocator (`HostAllocator` here, the default global
//! allocator for `std`). After criterion's own report, a summary line per
//! case gives the ratio of medians, ours/std, measured by interleaving the
//! two so that drift in the machine's speed affects both alike.
#![allow(
    clippy::float_arithmetic,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    clippy::as_conversions,
    clippy::std_instead_of_alloc,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::large_stack_frames,
    reason = "a host benchmark: it computes and prints medians, and a panic is a failed run"
)]

use alloc_kernel::{AllocError, HostAllocator, M_NOWAIT, Vec};
use core::hint::black_box;
use core::time::Duration;
use criterion::Criterion;
use std::time::Instant;

type OurVec<T> = Vec<T, HostAllocator>;

/// Elements pushed one by one, from an empty vector.
const PUSH_LEN: usize = 1024;
/// Bytes appended at once, to an empty vector.
const EXTEND_LEN: usize = 4096;
/// Capacity allocated (and freed).
const CAPACITY: usize = 1024;

fn push_ours(data: &[u64]) -> Result<OurVec<u64>, AllocError> {
    let mut v = OurVec::new();
    for &x in data {
        v.try_push(x, M_NOWAIT)?;
    }
    Ok(v)
}

fn push_std(data: &[u64]) -> std::vec::Vec<u64> {
    let mut v = std::vec::Vec::new();
    for &x in data {
        v.push(x);
    }
    v
}

fn extend_ours(data: &[u8]) -> Result<OurVec<u8>, AllocError> {
    let mut v = OurVec::new();
    v.try_extend_from_slice(data, M_NOWAIT)?;
    Ok(v)
}

fn extend_std(data: &[u8]) -> std::vec::Vec<u8> {
    let mut v = std::vec::Vec::new();
    v.extend_from_slice(data);
    v
}

fn with_capacity_ours(capacity: usize) -> Result<OurVec<u64>, AllocError> {
    OurVec::try_with_capacity(capacity, M_NOWAIT)
}

fn with_capacity_std(capacity: usize) -> std::vec::Vec<u64> {
    std::vec::Vec::with_capacity(capacity)
}

/// One benchmark case: a name and the two sides, each run once per call.
struct Case {
    name: &'static str,
    ours: Box<dyn Fn()>,
    std: Box<dyn Fn()>,
}

fn cases() -> std::vec::Vec<Case> {
    let words: std::vec::Vec<u64> = (0..PUSH_LEN as u64).collect();
    let bytes: std::vec::Vec<u8> = (0..EXTEND_LEN).map(|i| i as u8).collect();
    let words_std = words.clone();
    let bytes_std = bytes.clone();
    vec![
        Case {
            name: "try_push",
            ours: Box::new(move || drop(black_box(push_ours(black_box(&words))))),
            std: Box::new(move || drop(black_box(push_std(black_box(&words_std))))),
        },
        Case {
            name: "try_extend_from_slice",
            ours: Box::new(move || drop(black_box(extend_ours(black_box(&bytes))))),
            std: Box::new(move || drop(black_box(extend_std(black_box(&bytes_std))))),
        },
        Case {
            name: "try_with_capacity",
            ours: Box::new(|| drop(black_box(with_capacity_ours(black_box(CAPACITY))))),
            std: Box::new(|| drop(black_box(with_capacity_std(black_box(CAPACITY))))),
        },
    ]
}

fn criterion_groups(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.name);
        group.bench_function("alloc-kernel", |b| b.iter(|| (case.ours)()));
        group.bench_function("std", |b| b.iter(|| (case.std)()));
        group.finish();
    }
}

/// Nanoseconds per call of `f`, over a batch of `iterations` calls.
fn time_batch(f: &dyn Fn(), iterations: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn median(mut samples: std::vec::Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Interleaved medians of both sides of each case, and their ratio.
fn summary(cases: &[Case]) {
    const ROUNDS: usize = 41;
    const BATCH_TIME: Duration = Duration::from_millis(20);
    for case in cases {
        // Calibrate a batch to about BATCH_TIME.
        let per_call = time_batch(&*case.std, 1000).max(1.0);
        let iterations = ((BATCH_TIME.as_nanos() as f64 / per_call) as u32).max(10);
        let (mut ours, mut theirs) = (std::vec::Vec::new(), std::vec::Vec::new());
        for round in 0..ROUNDS {
            // Alternate which side goes first.
            if round % 2 == 0 {
                ours.push(time_batch(&*case.ours, iterations));
                theirs.push(time_batch(&*case.std, iterations));
            } else {
                theirs.push(time_batch(&*case.std, iterations));
                ours.push(time_batch(&*case.ours, iterations));
            }
        }
        let (ours, theirs) = (median(ours), median(theirs));
        println!(
            "summary {:<22} alloc-kernel {:>9.1} ns  std {:>9.1} ns  ratio ours/std {:.3}",
            case.name,
            ours,
            theirs,
            ours / theirs
        );
    }
}

fn main() {
    let cases = cases();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args();
    criterion_groups(&mut c, &cases);
    c.final_summary();
    // `cargo bench` passes `--bench`; a `cargo test` run of the benchmark
    // (`--all-targets`) only checks that each case runs.
    if std::env::args().any(|arg| arg == "--bench") {
        summary(&cases);
    }
}
