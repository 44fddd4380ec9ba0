// SPDX-License-Identifier: BSD-2-Clause
//! The factorial unit of the edu device, behind `dev.rustedu.<unit>.factorial`.
//!
//! A write of n (0 to [`MAX`]) runs [`Factorial::compute`] in the writer's
//! `sysctl(3)` call, which may sleep:
//!
//! 1. It queues for the device: computations are serialised, so a writer
//!    sleeps (interruptibly, wait message `edubsy`) until no other one
//!    owns the device.
//! 2. A computation that an earlier writer left running (it timed out, or
//!    a signal interrupted its wait) may still be in progress: writing the
//!    operand now would be lost (edu.rst; the test kernel's model flags
//!    it). The writer waits for that computation's completion interrupt
//!    first, as long as for its own; if the device is still computing
//!    then, the write fails with `EBUSY` and the device is not touched.
//! 3. It asks for the completion interrupt (status bit 0x80), writes n to
//!    the factorial register, and sleeps (interruptibly, at most
//!    [`TIMEOUT_MS`] per sleep, wait message `edufac`) until the interrupt
//!    thread has counted a completion and the status register no longer
//!    says "computing"; then it reads the result. Nothing polls: the
//!    status register is read once per completion.
//!
//! Errors: `EINVAL` above [`MAX`] (13! overflows the 32-bit register);
//! `ETIMEDOUT` if no completion came in time (counted in `timeouts`; the
//! device keeps computing, see step 2); `EINTR` or `ERESTART` if a
//! signal interrupted a sleep (`ERESTART` restarts the `sysctl(3)` call);
//! `ENXIO` once the device is being detached ([`Factorial::shut_down`]
//! wakes every sleeper).

use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use kern::alloc::Box;
use kern::driver::Memory;
use kern::prelude::*;
use kern::sync::{CondVar, Mutex, Wait};

use crate::regs;

/// The largest n whose factorial fits the 32-bit register (13! does not).
pub(crate) const MAX: u64 = 12;

/// How long one sleep for a completion lasts at most, in milliseconds.
pub(crate) const TIMEOUT_MS: u32 = 1000;

/// What the writers and the interrupt thread share, under the mutex.
struct State {
    /// A writer owns the device (it may write the factorial register).
    busy: bool,
    /// Completions the interrupt thread has counted.
    completions: u64,
    /// The device is being detached: every sleeper fails with `ENXIO`.
    gone: bool,
}

/// The factorial unit: its serialisation, its completion and its
/// counters.
pub(crate) struct Factorial {
    /// Under a sleep mutex: an ithread handler may block on one (a filter
    /// may not), and the writers sleep with it as the interlock.
    state: Pin<Box<Mutex<State>>>,
    /// Signalled when the device is free again (writers queue on it).
    idle: CondVar,
    /// Signalled by the interrupt thread after each completion.
    completed: CondVar,
    /// `result`: the last n! the device computed.
    pub(crate) result: AtomicU64,
    /// `timeouts`: computations whose completion never came in time.
    pub(crate) timeouts: AtomicU64,
    /// `completions`: completions seen by the interrupt thread.
    pub(crate) completions: AtomicU64,
}

impl Factorial {
    /// An idle unit.
    pub(crate) fn new(cx: &mut Sleepable) -> Self {
        Factorial {
            state: Mutex::new(
                c"rustedu factorial",
                State {
                    busy: false,
                    completions: 0,
                    gone: false,
                },
                cx.waitok(),
            ),
            idle: CondVar::new(c"edubsy"),
            completed: CondVar::new(c"edufac"),
            result: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            completions: AtomicU64::new(0),
        }
    }

    /// A computation finished (the interrupt thread): counts it and wakes
    /// the writer waiting for it.
    pub(crate) fn complete(&self, cx: &mut NoSleep) {
        let mut s = self.state.lock(cx);
        s.completions = s.completions.wrapping_add(1);
        self.completions.store(s.completions, Ordering::Relaxed);
        drop(s);
        self.completed.notify_all();
    }

    /// The device is going away: wakes every writer, queued or waiting
    /// for a completion; they and any later one fail with `ENXIO`.
    pub(crate) fn shut_down(&self, cx: &mut Sleepable) {
        self.state.lock(cx).gone = true;
        self.idle.notify_all();
        self.completed.notify_all();
    }

    /// Computes `n!` on the device behind `bar`, keeps it as the result
    /// and returns it; see the [module documentation](self) for the steps and the
    /// errors.
    pub(crate) fn compute(&self, bar: &Memory, n: u64, cx: &mut Sleepable) -> Result<u64> {
        let n = u32::try_from(n)
            .ok()
            .filter(|&n| u64::from(n) <= MAX)
            .ok_or(EINVAL)?;
        let seen = self.acquire(cx)?;
        let r = self.run(bar, n, seen, cx);
        self.release(cx);
        let v = u64::from(r?);
        self.result.store(v, Ordering::Relaxed);
        Ok(v)
    }

    /// Sleeps until the device is free and takes it; the completions
    /// counted so far.
    fn acquire(&self, cx: &mut Sleepable) -> Result<u64> {
        let mut s = self
            .idle
            .wait_while(&self.state, cx, Wait::INTERRUPTIBLE, |s| s.busy && !s.gone)?;
        if s.gone {
            return Err(ENXIO);
        }
        s.busy = true;
        Ok(s.completions)
    }

    /// Gives the device up and wakes the queued writers (all of them: one
    /// woken by a signal at the same time would not pass the turn on).
    fn release(&self, cx: &mut Sleepable) {
        self.state.lock(cx).busy = false;
        self.idle.notify_all();
    }

    /// Steps 2 and 3 for the owner of the device; `seen` is the number
    /// of completions counted when it took the device.
    fn run(&self, bar: &Memory, n: u32, mut seen: u64, cx: &mut Sleepable) -> Result<u32> {
        while computing(bar)? {
            seen = self
                .wait_completion(seen, cx)
                .map_err(|e| if e == EWOULDBLOCK { EBUSY } else { e })?;
        }
        bar.write32(regs::STATUS, regs::STATUS_IRQFACT)?;
        bar.write32(regs::FACTORIAL, n)?;
        // A completion counted meanwhile may be a leftover computation's
        // (its interrupt came late): ours is done when the status says so.
        loop {
            seen = match self.wait_completion(seen, cx) {
                Ok(c) => c,
                Err(e) if e == EWOULDBLOCK => {
                    self.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(ETIMEDOUT);
                }
                Err(e) => return Err(e),
            };
            if !computing(bar)? {
                return bar.read32(regs::FACTORIAL);
            }
        }
    }

    /// Sleeps until a completion after the `seen`th is counted (at most
    /// [`TIMEOUT_MS`]: `EWOULDBLOCK`); the completions counted now.
    fn wait_completion(&self, seen: u64, cx: &mut Sleepable) -> Result<u64> {
        let how = Wait::INTERRUPTIBLE.timeout_ms(TIMEOUT_MS);
        let s = self
            .completed
            .wait_while(&self.state, cx, how, |s| s.completions == seen && !s.gone)?;
        if s.gone {
            return Err(ENXIO);
        }
        Ok(s.completions)
    }
}

/// Whether the status register says "computing".
fn computing(bar: &Memory) -> Result<bool> {
    Ok(bar.read32(regs::STATUS)? & regs::STATUS_COMPUTING != 0)
}
