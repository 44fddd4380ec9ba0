// SPDX-License-Identifier: BSD-2-Clause
//! [`LockedBy`]: data protected by a [`Mutex`] (or another kernel lock)
//! that lives elsewhere.
//!
//! C analogue: a field documented "protected by `sc_mtx`" and checked with
//! `mtx_assert(&sc->sc_mtx, MA_OWNED)` (`mutex(9)`). Here the check is a
//! type and an address comparison: access needs a guard of the owning
//! mutex, so the data can only be reached while that mutex is held.
//!
//! This lets one mutex cover state spread over several allocations, for
//! example the per-open state of every file of a device together with the
//! device's own state, so that a path takes one lock instead of several
//! (kern's tokens allow only one mutex at a time).
//!
//! # Context
//! As for [`Mutex`]: access happens under the owner's lock and may not
//! sleep.
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::sync::{LockedBy, Mutex};
//!
//! struct Device { opens: u32 }
//! struct PerOpen { reads: LockedBy<u64, Device> }
//!
//! fn read(dev: &Mutex<Device>, file: &PerOpen, cx: &mut Sleepable) -> Result {
//!     let mut guard = dev.lock(cx);
//!     *file.reads.access_mut(&mut guard)? += 1;
//!     Ok(())
//! }
//! ```

use crate::error::{Result, code};
#[cfg(doc)]
use crate::sync::Mutex;
use crate::sync::MutexBackend;
use crate::sync::lock::{Backend, Guard, Lock};
use core::cell::UnsafeCell;

/// A `T` that may only be used while the lock it was created for, a
/// [`Mutex<U>`] unless `B` names another [`Backend`], is held exclusively.
///
/// # Invariants
/// `data` is accessed only through [`LockedBy::access`],
/// [`LockedBy::access_mut`] or [`LockedBy::access_with_owner`], with an
/// exclusive guard of the lock at address `owner` (checked), or through
/// `&mut self`.
pub struct LockedBy<T, U, B: Backend = MutexBackend> {
    owner: *const Lock<U, B>,
    data: UnsafeCell<T>,
}

// SAFETY: the value moves with `LockedBy`; `owner` is only compared, never
// dereferenced.
unsafe impl<T: Send, U, B: Backend> Send for LockedBy<T, U, B> {}

// SAFETY: shared access reaches `T` only under the owner's exclusive
// lock, one thread at a time (by the invariants), so `T: Send` suffices,
// as for `Mutex`.
unsafe impl<T: Send, U, B: Backend> Sync for LockedBy<T, U, B> {}

impl<T, U, B: Backend> LockedBy<T, U, B> {
    /// Wraps `data`, to be protected by `owner`.
    pub fn new(owner: &Lock<U, B>, data: T) -> Self {
        Self {
            owner: core::ptr::from_ref(owner),
            data: UnsafeCell::new(data),
        }
    }

    /// The data, under the owner's lock.
    ///
    /// # Errors
    /// `EINVAL` if `guard` is not a guard of the owner (a programming
    /// error; nothing is accessed).
    pub fn access<'a>(&'a self, guard: &'a Guard<'_, U, B>) -> Result<&'a T> {
        self.check(guard)?;
        // SAFETY: the owner's lock is held (the guard proves it) and the
        // guard is borrowed shared for `'a`, so no `access_mut` through it
        // can overlap; other threads cannot hold the lock meanwhile.
        Ok(unsafe { &*self.data.get() })
    }

    /// The data, mutably, under the owner's lock.
    ///
    /// # Errors
    /// `EINVAL` if `guard` is not a guard of the owner (nothing is
    /// accessed).
    pub fn access_mut<'a>(&'a self, guard: &'a mut Guard<'_, U, B>) -> Result<&'a mut T> {
        self.check(guard)?;
        // SAFETY: the owner's lock is held and the guard is borrowed
        // exclusively for `'a`: no other access through this guard, and no
        // other thread holds the lock, until the reference ends.
        Ok(unsafe { &mut *self.data.get() })
    }

    /// The data and the owner's data, both mutably, under the owner's
    /// lock: one check for a section that updates both (say, a file's
    /// snapshot from the device's current state).
    ///
    /// # Errors
    /// `EINVAL` if `guard` is not a guard of the owner (nothing is
    /// accessed).
    ///
    /// # Examples
    ///
    /// ```
    /// use kern::prelude::*;
    /// use kern::sync::{LockedBy, Mutex};
    ///
    /// struct Device { generation: u64 }
    /// struct PerOpen { seen: LockedBy<u64, Device> }
    ///
    /// fn catch_up(dev: &Mutex<Device>, file: &PerOpen, cx: &mut Sleepable) -> Result {
    ///     let mut guard = dev.lock(cx);
    ///     let (seen, device) = file.seen.access_with_owner(&mut guard)?;
    ///     device.generation += 1;
    ///     *seen = device.generation;
    ///     Ok(())
    /// }
    /// ```
    pub fn access_with_owner<'a>(
        &'a self,
        guard: &'a mut Guard<'_, U, B>,
    ) -> Result<(&'a mut T, &'a mut U)> {
        self.check(guard)?;
        // SAFETY: as for `access_mut`: the owner's lock is held and the guard
        // is borrowed exclusively for `'a`. The two references do not
        // overlap: `self` is borrowed for `'a` too, so it cannot have been
        // reached through the guard (it is not part of `U`), and `U` is not
        // part of `T` (the owner is reachable only through a guard or
        // `&mut Mutex`, and `T` only with the owner locked or through
        // `&mut self`).
        let data = unsafe { &mut *self.data.get() };
        Ok((data, &mut **guard))
    }

    /// The data, without the lock: `&mut self` proves exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn check(&self, guard: &Guard<'_, U, B>) -> Result {
        if core::ptr::eq(guard.lock(), self.owner) {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }
}
