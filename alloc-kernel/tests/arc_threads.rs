// SPDX-License-Identifier: BSD-2-Clause
//! Concurrency test of [`Arc`]: clones made, sent and dropped on several
//! threads; the value is dropped exactly once, by the last owner, and sees
//! every write made before the other owners let go.
#![allow(
    clippy::std_instead_of_alloc,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::large_stack_frames,
    reason = "a host test: std is the model, and a panic is a failed test"
)]

use alloc_kernel::testing::FailingAllocator;
use alloc_kernel::{Arc, HostAllocator, M_NOWAIT};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

const THREADS: usize = 8;
const ROUNDS: usize = 2_000;

/// Counts its drops and checks, when dropped, that it saw every increment.
struct Witness<'a> {
    sum: Mutex<usize>,
    expected: usize,
    drops: &'a AtomicUsize,
}

impl Drop for Witness<'_> {
    fn drop(&mut self) {
        let sum = *self
            .sum
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(sum, self.expected, "the last owner must see every write");
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn clones_across_threads_drop_once() {
    let drops = AtomicUsize::new(0);
    let alloc = FailingAllocator::new();
    let witness = Witness {
        sum: Mutex::new(0),
        expected: THREADS * ROUNDS,
        drops: &drops,
    };
    let shared = Arc::try_new_in(witness, alloc.clone(), M_NOWAIT).unwrap();
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let mine = shared.clone();
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    let extra = mine.clone();
                    *extra.sum.lock().unwrap() += 1;
                    drop(extra);
                }
            });
        }
        drop(shared);
    });
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert!(alloc.is_clean(), "{:?}", alloc.violations());
}

#[test]
fn racing_into_inner_returns_the_value_once() {
    for _ in 0..200 {
        let a: Arc<usize, HostAllocator> = Arc::try_new(7, M_NOWAIT).unwrap();
        let b = a.clone();
        let results = thread::scope(|scope| {
            let first = scope.spawn(move || Arc::into_inner(a));
            let second = scope.spawn(move || Arc::into_inner(b));
            [first.join().unwrap(), second.join().unwrap()]
        });
        assert_eq!(results.iter().flatten().count(), 1);
    }
}

#[test]
fn strong_count_settles_after_threads() {
    let a: Arc<u8, HostAllocator> = Arc::try_new(1, M_NOWAIT).unwrap();
    let kept = Mutex::new(std::vec::Vec::new());
    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                let clones: std::vec::Vec<_> = (0..100).map(|_| a.clone()).collect();
                kept.lock().unwrap().extend(clones.into_iter().take(10));
            });
        }
    });
    assert_eq!(Arc::strong_count(&a), 1 + THREADS * 10);
    drop(kept);
    assert_eq!(Arc::strong_count(&a), 1);
    assert_eq!(Arc::try_unwrap(a), Ok(1));
}
