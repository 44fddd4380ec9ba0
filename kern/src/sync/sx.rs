// SPDX-License-Identifier: BSD-2-Clause
//! [`SxLock`]: data protected by a shared/exclusive lock, `sx(9)`: the
//! [`Lock`] core with the [`SxBackend`].
//!
//! C header: `sys/sys/sx.h`. Manual page: `sx(9)`.
//!
//! An `sx` lock may be held while sleeping, but may not be acquired while a
//! mutex is held (the acquiring thread may have to sleep). Acquisition
//! therefore takes the entry point's [`Sleepable`] token, and the guard gives
//! back an [`SxSleepable`] through `split`: with it the holder may sleep
//! (`uiomove(9)`, `M_WAITOK`) and take a [`Mutex`](super::Mutex), but not
//! another `sx` lock. This also rules out acquiring the same lock twice,
//! which `sx(9)` would turn into silent recursion on a kernel built without
//! `INVARIANTS`.
//!
//! [`SxLock::xlock_sig`] and [`SxLock::slock_sig`] wait interruptibly
//! (`sx_xlock_sig(9)`): a signal ends the wait with `EINTR` or `ERESTART`.
//!
//! # Context
//! Acquisition may sleep; it needs a [`Sleepable`] (no lock held).
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::alloc::{Box, Vec};
//! use kern::sync::SxLock;
//! use kern::uio::UioReader;
//! use core::pin::Pin;
//!
//! fn append(log: &SxLock<Vec<u8>>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
//!     let mut guard = log.xlock(cx);
//!     let (log, cx) = guard.split();
//!     // Sleeping under an sx lock is allowed: M_WAITOK and uiomove. A
//!     // size the user chose is M_NOWAIT all the same (it may be huge).
//!     log.reserve(16, cx.waitok());
//!     log.try_reserve(uio.resid(), M_NOWAIT)?;
//!     uio.move_in_vec(log, cx)?;
//!     Ok(())
//! }
//! ```
//!
//! Taking a second `sx` lock under the first does not compile:
//!
//! ```compile_fail,E0499
//! use kern::prelude::*;
//! use kern::sync::SxLock;
//!
//! fn twice(a: &SxLock<u32>, b: &SxLock<u32>, cx: &mut Sleepable) -> u32 {
//!     let ga = a.xlock(cx);
//!     let gb = b.slock(cx);
//!     *ga + *gb
//! }
//! ```
//!
//! A shared guard reads; it does not write:
//!
//! ```compile_fail,E0594
//! use kern::prelude::*;
//! use kern::sync::SxLock;
//!
//! fn bump(count: &SxLock<u32>, cx: &mut Sleepable) {
//!     let guard = count.slock(cx);
//!     *guard += 1;
//! }
//! ```
//!
//! and several threads may hold one at once, so data that is not `Sync`
//! can only be taken exclusively:
//!
//! ```compile_fail,E0277
//! use core::cell::Cell;
//! use kern::prelude::*;
//! use kern::sync::SxLock;
//!
//! fn peek(count: &SxLock<Cell<u32>>, cx: &mut Sleepable) -> u32 {
//!     count.slock(cx).get()
//! }
//! ```

use crate::context::{Sleepable, SxSleepable};
use crate::error::{Error, Result};
use crate::sync::lock::{Backend, Exclusive, Guard, Lock, Shared, SharedBackend};
use crate::sync::{LOCK_FILE, LOCK_LINE, LockSite};
use core::ffi::CStr;

/// Data of type `T` protected by an `sx(9)` shared/exclusive lock.
///
/// Built in place: in an allocation of its own by [`SxLock::new`] (or
/// [`SxLock::try_new`]), used through `Pin<Box<SxLock<T>>>`, or inside its
/// owner's memory by [`SxLock::new_in_place`] (see [`init`](crate::init)).
/// Taken with [`SxLock::xlock`], [`SxLock::try_xlock`] and
/// [`SxLock::slock`].
///
/// # Invariants
/// Those of [`Lock`]: the `struct sx` was initialised with
/// `sx_init_flags(9)` at its current address and is destroyed only by
/// `Drop`; the data is accessed only through a guard (shared access under
/// a shared lock, exclusive access under the exclusive lock) or through
/// `&mut SxLock`.
pub type SxLock<T> = Lock<T, SxBackend>;

/// Exclusive access to the data of an [`SxLock`]; unlocks when dropped.
///
/// Not `Send`: `sx(9)` must be released by the thread that holds it.
pub type SxXGuard<'a, T> = Guard<'a, T, SxBackend, Exclusive>;

/// Shared access to the data of an [`SxLock`]; unlocks when dropped.
///
/// Not `Send`: `sx(9)` must be released by the thread that holds it.
pub type SxSGuard<'a, T> = Guard<'a, T, SxBackend, Shared>;

/// The [`Backend`] of [`SxLock`]: `sx(9)`, not recursive, not
/// interruptible.
///
/// A guard keeps the [`SxSleepable`] it lends its holder (see
/// [`SxXGuard::split`]).
#[derive(Debug)]
pub enum SxBackend {}

/// `SX_NEW`: the memory is not an initialised lock; skip the double-init
/// check, which would read it (see `SxBackend::init`).
const SX_NEW: core::ffi::c_int = 0x40;
const _: () = assert!(sys::SX_NEW == 0x40);

// SAFETY: sx(9) admits one exclusive owner and no shared owner, or shared
// owners and no exclusive one; sx_init_flags with `SX_NEW` on a `struct
// sx` of any bytes makes a lock the other calls accept (see `init`), and sx_destroy undoes it; none of them
// cares which thread initialised or destroys the lock.
unsafe impl Backend for SxBackend {
    type State = sys::sx;
    type GuardState = SxSleepable;

    #[inline]
    unsafe fn init(ptr: *mut sys::sx, name: &'static CStr) {
        // SAFETY: `ptr` is a `struct sx` at its final address, never
        // initialised as a lock (the caller's contract); `name` is a
        // NUL-terminated string that outlives the lock. Not recursive;
        // `SX_NEW`: the memory need not be zeroed (FreeBSD 15, read for
        // this): it becomes `LO_NEW`, so `lock_init`
        // (`sys/kern/subr_lock.c`) skips its double-init check, the only
        // read of the old bytes, and sets `lo_flags`, `lo_name` and (with
        // `WITNESS`) `lo_witness`; `sx_init_flags` (`sys/kern/kern_sx.c`)
        // sets `sx_lock` to `SX_LOCK_UNLOCKED` and `sx_recurse`
        // (`lo_data`) to 0: every field. `sx_init_flags` is the kernel
        // function `sx_init` expands to.
        unsafe { sys::sx_init_flags(ptr, name.as_ptr(), SX_NEW) };
    }

    #[inline]
    unsafe fn destroy(ptr: *mut sys::sx) {
        // SAFETY: an initialised lock that no thread holds (the caller's
        // contract).
        unsafe { sys::sx_destroy(ptr) };
    }

    #[inline]
    unsafe fn lock(ptr: *mut sys::sx, site: LockSite) -> SxSleepable {
        // SAFETY: an initialised lock that this thread does not hold, in a
        // context that may sleep (the caller's contract). As sx_xlock(9)
        // expands in a module; without SX_INTERRUPTIBLE it cannot fail.
        unsafe { sys::_sx_xlock(ptr, 0, site.file(), site.line()) };
        // SAFETY: the token goes into a guard that borrows the `Sleepable`
        // for its whole life (the caller's contract) and hands out only
        // `&mut` to it.
        unsafe { SxSleepable::new() }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut sys::sx) -> Option<SxSleepable> {
        // SAFETY: an initialised lock (the caller's contract).
        if unsafe { sys::shim_sx_try_xlock(ptr) } == 0 {
            return None;
        }
        // SAFETY: as in `lock`.
        Some(unsafe { SxSleepable::new() })
    }

    #[inline]
    unsafe fn unlock(ptr: *mut sys::sx, _state: &SxSleepable) {
        // SAFETY: this thread holds the lock exclusively and gives it up
        // once (the caller's contract). As sx_xunlock(9) expands in a
        // module.
        unsafe { sys::_sx_xunlock(ptr, LOCK_FILE.as_ptr(), LOCK_LINE) };
    }
}

// SAFETY: as for `Backend`: shared owners exclude an exclusive one.
unsafe impl SharedBackend for SxBackend {
    #[inline]
    unsafe fn lock_shared(ptr: *mut sys::sx, site: LockSite) -> SxSleepable {
        // SAFETY: as in `lock`. As sx_slock(9) expands in a module; cannot
        // fail without SX_INTERRUPTIBLE.
        unsafe { sys::_sx_slock(ptr, 0, site.file(), site.line()) };
        // SAFETY: as in `lock`.
        unsafe { SxSleepable::new() }
    }

    #[inline]
    unsafe fn unlock_shared(ptr: *mut sys::sx, _state: &SxSleepable) {
        // SAFETY: this thread holds a shared lock and gives it up once (the
        // caller's contract). As sx_sunlock(9) expands in a module.
        unsafe { sys::_sx_sunlock(ptr, LOCK_FILE.as_ptr(), LOCK_LINE) };
    }
}

impl<T> SxLock<T> {
    /// Takes the lock exclusively (`sx_xlock(9)`), sleeping until it is
    /// free.
    ///
    /// The guard borrows `cx` and gives back an [`SxSleepable`] through
    /// [`SxXGuard::split`].
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    #[inline]
    #[track_caller]
    pub fn xlock<'a>(&'a self, cx: &'a mut Sleepable) -> SxXGuard<'a, T> {
        let _ = cx;
        // SAFETY: the lock is initialised (type invariant). The thread holds
        // no kern lock (`cx` is not borrowed by a guard), so this neither
        // recurses nor sleeps under a mutex, and the guard borrows `cx` for
        // its whole life.
        unsafe { self.acquire() }
    }

    /// Takes the lock exclusively (`sx_xlock_sig(9)`), sleeping until it
    /// is free or a signal arrives.
    ///
    /// What a device method that may wait long behind another thread
    /// should use: the user can interrupt the wait.
    ///
    /// # Errors
    /// `EINTR` or `ERESTART` (if the signal's handler restarts system
    /// calls): a signal arrived before the lock was free. Return it from
    /// the device method.
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    #[inline]
    #[track_caller]
    pub fn xlock_sig<'a>(&'a self, cx: &'a mut Sleepable) -> Result<SxXGuard<'a, T>> {
        let _ = cx;
        let site = LockSite::caller();
        // SAFETY: the lock is initialised (type invariant); the thread holds
        // no kern lock and may sleep (as in `xlock`). As sx_xlock_sig(9)
        // expands in a module.
        let ret =
            unsafe { sys::_sx_xlock(self.state(), SX_INTERRUPTIBLE, site.file(), site.line()) };
        Error::from_ret(ret)?;
        // SAFETY: the token goes into a guard that borrows `cx` for its
        // whole life and hands out only `&mut` to it.
        let token = unsafe { SxSleepable::new() };
        // SAFETY: `_sx_xlock` returned 0: this thread holds the lock
        // exclusively, and the guard releases it; it borrows `cx`.
        Ok(unsafe { self.assume_held(token) })
    }

    /// Takes the lock shared (`sx_slock_sig(9)`), sleeping while a thread
    /// holds it exclusively, or until a signal arrives.
    ///
    /// # Errors
    /// `EINTR` or `ERESTART`, as for [`xlock_sig`](Self::xlock_sig).
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    #[inline]
    #[track_caller]
    pub fn slock_sig<'a>(&'a self, cx: &'a mut Sleepable) -> Result<SxSGuard<'a, T>>
    where
        T: Sync,
    {
        let _ = cx;
        let site = LockSite::caller();
        // SAFETY: as in `xlock_sig`. As sx_slock_sig(9) expands.
        let ret =
            unsafe { sys::_sx_slock(self.state(), SX_INTERRUPTIBLE, site.file(), site.line()) };
        Error::from_ret(ret)?;
        // SAFETY: as in `xlock_sig`.
        let token = unsafe { SxSleepable::new() };
        // SAFETY: `_sx_slock` returned 0: this thread holds the lock
        // shared (`T: Sync`), and the guard releases it; it borrows `cx`.
        Ok(unsafe { self.assume_held(token) })
    }

    /// Takes the lock exclusively if it is free (`sx_try_xlock(9)`).
    ///
    /// # Context
    /// Does not sleep. Needs the entry point's [`Sleepable`], which the guard
    /// borrows as for [`SxLock::xlock`].
    #[inline]
    pub fn try_xlock<'a>(&'a self, cx: &'a mut Sleepable) -> Option<SxXGuard<'a, T>> {
        let _ = cx;
        // SAFETY: as in `xlock`.
        unsafe { self.try_acquire() }
    }

    /// Takes the lock shared (`sx_slock(9)`), sleeping while a thread holds
    /// it exclusively.
    ///
    /// Several threads may hold it shared at once, each with `&T`, so `T`
    /// must be `Sync`.
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    #[inline]
    #[track_caller]
    pub fn slock<'a>(&'a self, cx: &'a mut Sleepable) -> SxSGuard<'a, T>
    where
        T: Sync,
    {
        let _ = cx;
        // SAFETY: as in `xlock`.
        unsafe { self.acquire_shared() }
    }
}

/// `SX_INTERRUPTIBLE`: `_sx_xlock`/`_sx_slock` give up at a signal.
const SX_INTERRUPTIBLE: core::ffi::c_int = {
    assert!(sys::SX_INTERRUPTIBLE <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::SX_INTERRUPTIBLE as core::ffi::c_int;
    v
};

impl<T> SxXGuard<'_, T> {
    /// The data and a token that allows sleeping (and taking a mutex) while
    /// the lock is held.
    #[inline]
    pub fn split(&mut self) -> (&mut T, &mut SxSleepable) {
        self.parts_mut()
    }
}

impl<T> SxSGuard<'_, T> {
    /// The data and a token that allows sleeping (and taking a mutex) while
    /// the lock is held.
    #[inline]
    pub fn split(&mut self) -> (&T, &mut SxSleepable) {
        self.parts()
    }
}
