// SPDX-License-Identifier: BSD-2-Clause
//! [`CondVar`]: sleeping until a condition on a [`Mutex`]'s data holds, and
//! waking the sleepers (`msleep(9)`, `wakeup(9)`, `wakeup_one(9)`).
//!
//! C header: `sys/sys/systm.h` (`_sleep`, `msleep_sbt`, `wakeup`,
//! `wakeup_one`). Manual pages: `sleep(9)`, `condvar(9)`, `locking(9)`.
//! Implementation: `sys/kern/kern_synch.c`, `sys/kern/subr_sleepqueue.c`.
//!
//! A condition variable is a wait channel: an address the sleepers and
//! the wakers agree on. The sleeper checks its condition with the mutex
//! held and, while it holds, sleeps with the mutex as the interlock
//! (`msleep(9)`): the kernel puts the thread on the channel's sleep queue
//! before it releases the mutex, so a waker that changes the data under
//! the mutex and then wakes the channel cannot be missed. The mutex is
//! taken back before the sleeper looks at the data again.
//!
//! The channel is the address of the `CondVar` itself. It needs no
//! initialisation or destruction (unlike `cv_init(9)`): a thread sleeps on
//! it only inside [`CondVar::wait_while`], which borrows it, so the value
//! can neither move nor be freed while a thread sleeps on its address.
//!
//! # Context
//! Waiting sleeps: it needs a token that may sleep ([`MaySleep`]), and
//! cannot be called with a mutex held (the guard would hold the token).
//! Waking ([`notify_one`](CondVar::notify_one),
//! [`notify_all`](CondVar::notify_all)) never sleeps and needs no token: a
//! callout handler or an interrupt thread may wake sleepers.
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::sync::{CondVar, Mutex, Wait};
//!
//! struct Queue {
//!     items: Mutex<u32>,
//!     nonempty: CondVar,
//! }
//!
//! impl Queue {
//!     /// Takes one item, sleeping until there is one; a signal ends the
//!     /// wait with `EINTR` or `ERESTART`.
//!     fn take(&self, cx: &mut Sleepable) -> Result {
//!         let mut items = self.nonempty.wait_while(&self.items, cx, Wait::INTERRUPTIBLE, |n| *n == 0)?;
//!         *items -= 1;
//!         Ok(())
//!     }
//!
//!     /// Adds one, from any context that may block on the mutex.
//!     fn put(&self, cx: &mut NoSleep) {
//!         *self.items.lock(cx) += 1;
//!         self.nonempty.notify_one();
//!     }
//! }
//! ```
//!
//! Waiting is sleeping, so it does not compile in a callout handler or an
//! interrupt thread:
//!
//! ```compile_fail,E0277
//! use kern::prelude::*;
//! use kern::sync::{CondVar, Mutex, Wait};
//!
//! fn take(items: &Mutex<u32>, cv: &CondVar, cx: &mut NoSleep) -> Result {
//!     let _g = cv.wait_while(items, cx, Wait::INTERRUPTIBLE, |n| *n == 0)?;
//!     Ok(())
//! }
//! ```
//!
//! nor with another mutex held:
//!
//! ```compile_fail,E0499
//! use kern::prelude::*;
//! use kern::sync::{CondVar, Mutex, Wait};
//!
//! fn take(other: &Mutex<u32>, items: &Mutex<u32>, cv: &CondVar, cx: &mut Sleepable) -> Result {
//!     let held = other.lock(cx);
//!     let _g = cv.wait_while(items, cx, Wait::INTERRUPTIBLE, |n| *n == 0)?;
//!     drop(held);
//!     Ok(())
//! }
//! ```

use crate::context::MaySleep;
use crate::error::{Error, Result};
use crate::sync::{Mutex, MutexGuard};
use core::ffi::{CStr, c_int, c_void};

/// A wait channel for sleepers on a [`Mutex`]'s data; see the
/// [module documentation](self).
///
/// # Invariants
/// Threads sleep on the address of `chan` only during a
/// [`wait_while`](Self::wait_while) call, which borrows the value.
pub struct CondVar {
    /// The channel: only its address is used. One byte, so that two
    /// condition variables never share an address.
    chan: u8,
    /// The wait message (`wmesg`, what `ps -l` shows in `MWCHAN`).
    name: &'static CStr,
}

impl CondVar {
    /// A condition variable with `name` as its wait message (at most 6
    /// characters show in `ps(1)`).
    #[must_use]
    pub const fn new(name: &'static CStr) -> Self {
        // INVARIANT: nothing sleeps on it yet.
        Self { chan: 0, name }
    }

    /// The wait channel.
    fn chan(&self) -> *const c_void {
        (&raw const self.chan).cast::<c_void>()
    }

    /// Locks `mutex` and, while `cond` holds on its data, sleeps on this
    /// channel with the mutex as the interlock (`msleep_sbt(9)`); returns
    /// the guard once `cond` is false.
    ///
    /// `cond` is checked with the mutex held, before the first sleep and
    /// after each wakeup (wakeups may be spurious, or for another
    /// sleeper's condition).
    ///
    /// # Errors
    /// - `EINTR` or `ERESTART` ([`Wait::INTERRUPTIBLE`], `PCATCH`): a signal
    ///   arrived; `ERESTART` if its handler restarts system calls. Return
    ///   it from the device method: the kernel restarts the call or returns
    ///   `EINTR`, or the count of what was already moved.
    /// - [`EWOULDBLOCK`](crate::error::code::EWOULDBLOCK): the timeout of
    ///   [`Wait::timeout_ms`] passed.
    ///
    /// On error the mutex has been released again.
    ///
    /// # Context
    /// Sleeps: needs a [`MaySleep`] token, which the guard borrows. An
    /// `sx` lock may be held ([`SxSleepable`](crate::context::SxSleepable)).
    pub fn wait_while<'a, T, C: MaySleep>(
        &self,
        mutex: &'a Mutex<T>,
        cx: &'a mut C,
        how: Wait,
        mut cond: impl FnMut(&mut T) -> bool,
    ) -> Result<MutexGuard<'a, T>> {
        let mut guard = mutex.lock(cx);
        while cond(&mut guard) {
            // SAFETY: `chan` is this value's address, which stays valid and
            // in place while `&self` is borrowed, that is until this call
            // returns (and the sleep ends before). The interlock is the
            // mutex this thread holds through `guard`; `_sleep` releases it
            // after queueing the thread and takes it back before returning
            // (no `PDROP`), so the guard holds it again afterwards, and no
            // reference into the data lives across the call. The thread may
            // sleep (the `MaySleep` token, borrowed by the guard) and holds
            // no other mutex (a guard would hold the token). `wmesg` is a
            // NUL-terminated string that outlives the sleep.
            let ret = unsafe {
                sys::_sleep(
                    self.chan(),
                    mutex.lock_object(),
                    how.pri,
                    self.name.as_ptr(),
                    how.sbt,
                    0,
                    0,
                )
            };
            Error::from_ret(ret)?;
        }
        Ok(guard)
    }

    /// Wakes one thread sleeping on this channel, the one of highest
    /// priority that has slept longest (`wakeup_one(9)`).
    ///
    /// Change the data under the mutex first: a thread about to sleep is
    /// queued before it releases the mutex, so it cannot miss the wakeup.
    ///
    /// # Context
    /// Any context but an interrupt filter; does not sleep.
    pub fn notify_one(&self) {
        // SAFETY: any address is a valid channel; wakeup_one only compares
        // it with the sleepers' channels.
        unsafe { sys::wakeup_one(self.chan()) };
    }

    /// Wakes every thread sleeping on this channel (`wakeup(9)`).
    ///
    /// # Context
    /// As for [`notify_one`](Self::notify_one).
    pub fn notify_all(&self) {
        // SAFETY: as in `notify_one`.
        unsafe { sys::wakeup(self.chan()) };
    }
}

impl core::fmt::Debug for CondVar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CondVar")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// How [`CondVar::wait_while`] sleeps: whether a signal ends the sleep
/// (`PCATCH`), and for how long at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The `pri` argument of `_sleep`: `PCATCH` or 0 (keep the priority).
    pri: c_int,
    /// The timeout, relative, in `sbintime_t`; 0 for none.
    sbt: i64,
}

/// `PCATCH` as the `int` of `_sleep`'s `pri`.
const PCATCH: c_int = {
    assert!(sys::PCATCH <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::PCATCH as c_int;
    v
};

impl Wait {
    /// Sleep until woken; signals are held until the sleep ends. For short
    /// waits the thread must not be interrupted in.
    pub const UNINTERRUPTIBLE: Wait = Wait { pri: 0, sbt: 0 };

    /// Sleep until woken or until a signal arrives (`PCATCH`): the wait
    /// then fails with `EINTR` or `ERESTART`. What a wait on behalf of a
    /// user's system call should be.
    pub const INTERRUPTIBLE: Wait = Wait {
        pri: PCATCH,
        sbt: 0,
    };

    /// The same, but sleeping at most `ms` milliseconds: the wait then
    /// fails with [`EWOULDBLOCK`](crate::error::code::EWOULDBLOCK). 0 is no
    /// timeout.
    #[must_use]
    pub const fn timeout_ms(self, ms: u32) -> Wait {
        // CAST: u32 to i64 and `SBT_1MS` (a u32) to i64 are lossless
        // (`From` is not `const`). No overflow: u32::MAX milliseconds are
        // about 2^54 sbt units.
        #[allow(clippy::as_conversions, reason = "lossless, see CAST")]
        let sbt = (ms as i64).saturating_mul(sys::SBT_1MS as i64);
        Wait { pri: self.pri, sbt }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits() {
        assert_eq!(Wait::INTERRUPTIBLE.pri, 256);
        assert_eq!(Wait::UNINTERRUPTIBLE.timeout_ms(1000).sbt, 1000 * 4_294_967);
        assert_eq!(Wait::INTERRUPTIBLE.timeout_ms(1).pri, 256);
    }

    #[test]
    fn channels_are_distinct() {
        let a = [CondVar::new(c"a"), CondVar::new(c"b")];
        assert_ne!(a[0].chan(), a[1].chan());
    }
}
