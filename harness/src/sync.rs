// SPDX-License-Identifier: BSD-2-Clause
//! Locking the harness's own mutexes.
//!
//! A `std` mutex is poisoned when a thread panics while holding it. In the
//! harness a panic is a failed test (an assertion in a test thread, a
//! strict kernel's teardown report), and the state behind every mutex here
//! stays consistent between statements; refusing to lock afterwards would
//! turn the first failure into a cascade of unrelated ones and keep the
//! kernel's teardown checks from running. So poisoning is ignored.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks `m`, whether or not a panicking thread poisoned it.
pub(crate) fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv` for at most `timeout`, whether or not the mutex was
/// poisoned meanwhile; returns the guard (the caller re-checks its
/// condition, so a timeout and a wake-up are alike).
pub(crate) fn wait_ignoring_poison<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    cv.wait_timeout(guard, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0
}
