// SPDX-License-Identifier: BSD-2-Clause
//! `kern::sync`: `SxLock` and `Mutex` exclude other threads.
//!
//! Each lock protects a counter, and a [`Section`] outside the lock counts
//! the threads inside the critical section, so a thread that gets in while
//! another is inside sees it.
//!
//! * The handoff cases run one round `r` (`kc_value`, nonzero) from two
//!   threads: the holder takes the lock, announces round `r`, and keeps the
//!   lock until the waiter of round `r` has tried it (`try_xlock` /
//!   `try_lock`, which must fail) and is about to block; the waiter then
//!   blocks until the holder leaves, and finds the section empty and the
//!   holder's increment done. The outcome does not depend on timing.
//! * The critical-section cases read the counter, spin, and write it back
//!   plus one: run from several threads at once, any overlap loses an
//!   update or is seen in the section.
//!
//! Waiting for the other thread spins a bounded number of times, so a
//! broken test fails with `EAGAIN` instead of hanging.

use super::fail;
use crate::device::{Section, SelfTest};
use core::hint::spin_loop;
use core::sync::atomic::Ordering;
use kern::cdev::File;
use kern::prelude::*;
use kern::sync::{LockedBy, Mutex};

/// How long to wait for the other thread of a round (spin iterations).
const WAIT_SPINS: u32 = 1 << 27;
/// How long the holder keeps the lock once the waiter is about to block.
const HOLD_SPINS: u32 = 1 << 16;
/// How long a critical section lasts.
const CRIT_SPINS: u32 = 1 << 8;

fn spin(n: u32) {
    for _ in 0..n {
        spin_loop();
    }
}

/// Spins until `cond` holds; false if it never did within [`WAIT_SPINS`].
fn spin_until(cond: impl Fn() -> bool) -> bool {
    for _ in 0..WAIT_SPINS {
        if cond() {
            return true;
        }
        spin_loop();
    }
    false
}

/// The holder's side of a round, with the lock held: enter, announce,
/// keep the lock until the waiter is about to block, bump the counter.
fn hold(case: &str, section: &Section, round: u64, counter: &mut u64) -> Result<u64> {
    if round == 0 {
        return fail(case, "round 0", EINVAL);
    }
    let inside = section.enter()?;
    section.holder.store(round, Ordering::Release);
    if !spin_until(|| section.waiter.load(Ordering::Acquire) == round) {
        return fail(case, "the waiter never came", EAGAIN);
    }
    // Give the waiter time to block on the lock.
    spin(HOLD_SPINS);
    if !inside.alone() {
        return fail(case, "another thread got in", EBUSY);
    }
    *counter = counter.wrapping_add(1);
    Ok(*counter)
}

/// The waiter's side before it takes the lock: wait for the holder of
/// `round` (who then holds the lock until [`announce`]).
fn await_holder(case: &str, section: &Section, round: u64) -> Result {
    if round == 0 {
        return fail(case, "round 0", EINVAL);
    }
    if !spin_until(|| section.holder.load(Ordering::Acquire) == round) {
        return fail(case, "the holder never came", EAGAIN);
    }
    Ok(())
}

/// Tells the holder that the waiter tried the lock and will now block.
fn announce(section: &Section, round: u64) {
    section.waiter.store(round, Ordering::Release);
}

/// The waiter's side with the lock held: the holder has left.
fn after_wait(case: &str, section: &Section, counter: &mut u64) -> Result<u64> {
    let inside = section.enter()?;
    if !inside.alone() {
        return fail(case, "another thread got in", EBUSY);
    }
    *counter = counter.wrapping_add(1);
    Ok(*counter)
}

/// One pass through the critical section, with the lock held.
fn critical(case: &str, section: &Section, counter: &mut u64) -> Result<u64> {
    let inside = section.enter()?;
    let before = *counter;
    spin(CRIT_SPINS);
    if !inside.alone() {
        return fail(case, "another thread got in", EBUSY);
    }
    *counter = before.wrapping_add(1);
    Ok(*counter)
}

/// Rule (`kern::sync::sx`): `xlock` excludes every other thread until the
/// guard is dropped. The holder of round `r`; the value is the counter
/// after its increment.
pub(super) fn sx_hold(dev: &SelfTest, round: u64, cx: &mut Sleepable) -> Result<u64> {
    let mut guard = dev.sx.xlock(cx);
    hold("sx_hold", &dev.sx_section, round, &mut guard)
}

/// Rule (`kern::sync::sx`): `try_xlock` fails while another thread holds
/// the lock, and `xlock` sleeps until it is released. The waiter of round
/// `r`; the value is the counter after its increment (the holder's + 1).
pub(super) fn sx_wait(dev: &SelfTest, round: u64, cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "sx_wait";
    await_holder(CASE, &dev.sx_section, round)?;
    if dev.sx.try_xlock(cx).is_some() {
        return fail(
            CASE,
            "try_xlock succeeded while another thread held the lock",
            EBUSY,
        );
    }
    announce(&dev.sx_section, round);
    let mut guard = dev.sx.xlock(cx);
    after_wait(CASE, &dev.sx_section, &mut guard)
}

/// Rule (`kern::sync::mutex`): `lock` excludes every other thread until
/// the guard is dropped. As [`sx_hold`], for the mutex.
pub(super) fn mtx_hold(dev: &SelfTest, round: u64, cx: &mut Sleepable) -> Result<u64> {
    let mut guard = dev.mtx.lock(cx);
    hold("mtx_hold", &dev.mtx_section, round, &mut guard)
}

/// Rule (`kern::sync::mutex`): `try_lock` fails while another thread holds
/// the mutex, and `lock` waits until it is released. As [`sx_wait`], for
/// the mutex.
pub(super) fn mtx_wait(dev: &SelfTest, round: u64, cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "mtx_wait";
    await_holder(CASE, &dev.mtx_section, round)?;
    if dev.mtx.try_lock(cx).is_some() {
        return fail(
            CASE,
            "try_lock succeeded while another thread held the mutex",
            EBUSY,
        );
    }
    announce(&dev.mtx_section, round);
    let mut guard = dev.mtx.lock(cx);
    after_wait(CASE, &dev.mtx_section, &mut guard)
}

/// Rule (`kern::sync::sx`): read-modify-write under `xlock` loses no
/// update. The value is the counter after this pass.
pub(super) fn sx_crit(dev: &SelfTest, cx: &mut Sleepable) -> Result<u64> {
    let mut guard = dev.sx.xlock(cx);
    critical("sx_crit", &dev.sx_section, &mut guard)
}

/// Rule (`kern::sync::mutex`): read-modify-write under `lock` loses no
/// update. The value is the counter after this pass.
pub(super) fn mtx_crit(dev: &SelfTest, cx: &mut Sleepable) -> Result<u64> {
    let mut guard = dev.mtx.lock(cx);
    critical("mtx_crit", &dev.mtx_section, &mut guard)
}

/// Rule (`kern::sync::LockedBy`): data protected by a mutex that lives
/// elsewhere is reached only with a guard of that mutex, checked by
/// address. A value owned by the file's mutex (`kept`) is reached with its
/// guard. With a guard of another `Mutex<u64>` held, the file's `seen`
/// (owned by the device's `Mutex<u64>`) is refused by `access`,
/// `access_mut` and `access_with_owner` with `EINVAL`, and nothing is
/// touched. With the device's mutex held, `access_with_owner` hands out
/// `seen` and the device's counter together, and `access` sees the update.
///
/// The value is `seen` afterwards: how many times this case ran on the
/// file.
pub(super) fn locked_by(
    dev: &SelfTest,
    file: &File<'_, SelfTest>,
    cx: &mut Sleepable,
) -> Result<u64> {
    const CASE: &str = "locked_by";
    let open = file.open()?;
    {
        let local = LockedBy::new(&open.kept, 7u8);
        let guard = open.kept.lock(cx);
        if local.access(&guard) != Ok(&7) {
            return fail(CASE, "the owner's guard was refused", EIO);
        }
    }
    {
        let other = Mutex::try_new(c"kselftest other", 0u64, M_NOWAIT)?;
        let mut guard = other.lock(cx);
        if open.seen.access(&guard).is_ok()
            || open.seen.access_mut(&mut guard).is_ok()
            || open.seen.access_with_owner(&mut guard).is_ok()
        {
            return fail(CASE, "a guard of another mutex was accepted", EIO);
        }
        if *guard != 0 {
            return fail(CASE, "the other mutex's data changed", EIO);
        }
    }
    let mut guard = dev.mtx.lock(cx);
    let (seen, counter) = open.seen.access_with_owner(&mut guard)?;
    *counter = counter.wrapping_add(1);
    *seen = seen.wrapping_add(1);
    Ok(*open.seen.access(&guard)?)
}

/// `KC_MTX_LEAK`: takes the device mutex and leaks the guard. Leaking is
/// safe Rust; the kernel's lock debugging reports the mutex still held at
/// the return to user space, naming this line (kern passes the caller's
/// file and line to `mtx_lock`, as C's macros do).
pub(crate) fn mtx_leak(dev: &SelfTest, cx: &mut Sleepable) -> u64 {
    let guard = dev.mtx.lock(cx);
    #[allow(clippy::mem_forget, reason = "the mistake this case makes on purpose")]
    core::mem::forget(guard);
    0
}
