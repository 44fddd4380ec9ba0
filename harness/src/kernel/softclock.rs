// SPDX-License-Identifier: BSD-2-Clause
//! The softclock thread and letting time pass: callouts fire on a thread
//! of their own, with their lock held and sleeping forbidden, when the
//! clock reaches them (`sys/kern/kern_timeout.c`, `softclock_thread` and
//! `softclock_call_cc`; the wheel is `crate::kpi::callout`).
//!
//! With the virtual clock, [`KernelInner::advance_to`] moves time from
//! one callout expiry to the next and lets the softclock thread run
//! what is due at each, so that a periodic callout fires as often as it
//! would have in the time passed; with the real clock the softclock
//! thread wakes up at the next expiry by itself.

use super::KernelInner;
use crate::kpi::callout::Due;
use crate::kpi::clock::Sbt;
use crate::thread::{self, witness};
use std::time::Duration;

/// How long [`KernelInner::advance_to`] waits for the callouts due at one
/// instant (real time) before moving on.
const RUN_LIMIT: Duration = Duration::from_secs(10);

/// The softclock thread's loop.
pub(super) fn softclock(k: &KernelInner) {
    loop {
        let now = k.clock.now();
        if let Some(due) = k.callouts.take_due(now) {
            k.enter(|| run(k, &due));
            k.callouts.finish();
            continue;
        }
        let wait = match (k.clock.is_real(), k.callouts.next_deadline()) {
            (true, Some(d)) => crate::kpi::clock::sbt_to_duration(d.saturating_sub(now))
                .min(Duration::from_millis(50)),
            _ => Duration::from_millis(50),
        };
        if !k.callouts.wait_for_work(wait) {
            return;
        }
    }
}

/// `softclock_call_cc` for one callout.
fn run(k: &KernelInner, due: &Due) {
    if k.core.is_dead() {
        return;
    }
    let file = c"kern_timeout.c".as_ptr();
    if !due.lock.is_null() {
        if k.locks.xlock(&k.core, due.lock, false, file, 0).is_err() {
            return;
        }
        if k.callouts.cancelled_after_lock() {
            // The lock is the callout's, initialised: its release cannot
            // panic, and a panic would end the thread's work anyway.
            if k.locks.xunlock(&k.core, due.lock, file, 0).is_err() {
                return;
            }
            return;
        }
    } else {
        // An MP-safe callout cannot be cancelled once taken.
        let _started = k.callouts.cancelled_after_lock();
    }
    let r = witness::no_sleeping("callout handler", || {
        // SAFETY: the module's callout handler with its argument, as
        // softclock_call_cc calls it.
        unsafe { thread::call(&k.core, None, due.func, [due.arg.arg(), 0, 0, 0, 0, 0]) }
    });
    if r.is_err() {
        return;
    }
    if !due.lock.is_null()
        && !due.return_unlocked
        && k.locks.xunlock(&k.core, due.lock, file, 0).is_err()
    {
        return;
    }
    // A handler must not leave other locks held (the softclock thread
    // would keep them); userret-like check.
    k.locks.userret(&k.core);
}

impl KernelInner {
    /// Lets time pass until uptime `target`, firing the callouts due on
    /// the way; `wait` waits for each batch to run (a test's
    /// `advance_clock`; a sleep in module code does not wait, since its
    /// caller may hold a lock a handler needs). Returns the uptime after.
    pub(super) fn advance_to(&self, target: Sbt, wait: bool) -> Sbt {
        if wait && !self.clock.is_real() {
            while let Some(d) = self.callouts.next_deadline() {
                if d > target || self.core.is_dead() {
                    break;
                }
                let now = self.clock.advance_to(&self.core, d);
                self.sleepq.notify();
                self.callouts.kick();
                if !self.callouts.wait_idle(&self.core, now, RUN_LIMIT) {
                    break;
                }
            }
        }
        let now = self.clock.advance_to(&self.core, target);
        self.sleepq.notify();
        self.select.notify();
        self.kqueues.notify();
        self.callouts.kick();
        if wait && !self.clock.is_real() {
            self.callouts.wait_idle(&self.core, now, RUN_LIMIT);
        }
        now
    }
}

impl KernelInner {
    /// Starts the kernel's own threads (once the kernel is in its `Arc`).
    pub(super) fn start_workers(&self) {
        self.workers
            .spawn(self, "softclock", |k: &KernelInner| softclock(k));
        self.start_system_taskqueues();
        self.start_intr_thread();
    }

    /// Stops and joins the kernel's own threads (at its end).
    pub(super) fn stop_workers(&self) {
        self.callouts.stop_thread();
        self.taskqueues.stop_threads();
        self.newbus.kick.stop();
        self.workers.join_all(self, Duration::from_secs(10));
    }
}
