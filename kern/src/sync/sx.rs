// SPDX-License-Identifier: BSD-2-Clause
//! [`SxLock`]: data protected by a shared/exclusive lock, `sx(9)`.
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
//!     // Sleeping under an sx lock is allowed: M_WAITOK and uiomove.
//!     log.try_reserve(uio.resid(), cx.waitok())?;
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

use crate::alloc::Box;
use crate::context::{Sleepable, SxSleepable};
use crate::error::Result;
use crate::opaque::Opaque;
use crate::sync::{self, LOCK_FILE, LOCK_LINE};
use alloc_kernel::{Allocator, Flags};
use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::marker::{PhantomData, PhantomPinned};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;

/// Data of type `T` protected by an `sx(9)` shared/exclusive lock.
///
/// Built in place in kernel memory by [`SxLock::try_new`] and used through
/// `Pin<Box<SxLock<T>>>`.
///
/// # Invariants
/// `sx` was initialised with `sx_init_flags(9)` at its current address,
/// which never changes (the value is pinned), and is destroyed only by
/// `Drop`. `data` is accessed only through a guard (shared access under a
/// shared lock, exclusive access under the exclusive lock) or through
/// `&mut SxLock` (no guard can exist).
pub struct SxLock<T> {
    sx: Opaque<sys::sx>,
    data: UnsafeCell<T>,
    _pin: PhantomPinned,
}

// SAFETY: the lock may be destroyed on another thread than the one that
// initialised it, and owns a `T`, which moves with it.
unsafe impl<T: Send> Send for SxLock<T> {}

// SAFETY: the exclusive lock gives `&mut T` to one thread at a time (so
// `T: Send`), and shared locks give `&T` to several threads at once (so
// `T: Sync`), as for `std::sync::RwLock`.
unsafe impl<T: Send + Sync> Sync for SxLock<T> {}

impl<T> SxLock<T> {
    /// Allocates an `sx` lock holding `value` and initialises it in place,
    /// with `name` as its name for `WITNESS` and `lockstat`.
    ///
    /// # Errors
    /// `ENOMEM` if the allocation fails (`value` is then dropped).
    ///
    /// # Context
    /// May sleep if `flags` comes from a context token (`cx.waitok()`).
    pub fn try_new(
        name: &'static CStr,
        value: T,
        flags: impl Into<Flags>,
    ) -> Result<Pin<Box<Self>>> {
        Self::try_new_in(name, value, crate::malloc::KernelAllocator, flags)
    }

    /// [`SxLock::try_new`] with a given allocator.
    pub(crate) fn try_new_in<A: Allocator>(
        name: &'static CStr,
        value: T,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Pin<alloc_kernel::Box<Self, A>>> {
        let data = |block: *mut Self| {
            // SAFETY: `block` is the (uninitialised) block for a `Self`; this
            // only computes the field's address (`&raw mut` makes no
            // reference).
            unsafe { &raw mut (*block).data }
        };
        let init = |lock: &Self| {
            // SAFETY: `sx` is a zeroed `struct sx` at its final address (the
            // block never moves: it is pinned right after); `name` is a
            // NUL-terminated string that outlives the lock. No option flags:
            // not recursive.
            unsafe { sys::shim_sx_init(lock.sx.get(), name.as_ptr(), 0) };
        };
        // SAFETY: `data` projects to the `UnsafeCell<T>` field; the others,
        // `sx` (an `Opaque`: any bytes, here zero) and the `PhantomPinned`
        // (no bytes), are valid zeroed; `init` runs sx_init_flags(9), which
        // establishes the type invariant.
        unsafe { sync::try_pin_zeroed_in(value, alloc, flags.into(), data, init) }
    }

    /// Takes the lock exclusively (`sx_xlock(9)`), sleeping until it is
    /// free.
    ///
    /// The guard borrows `cx` and gives back an [`SxSleepable`] through
    /// [`SxXGuard::split`].
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    pub fn xlock<'a>(&'a self, cx: &'a mut Sleepable) -> SxXGuard<'a, T> {
        let _ = cx;
        // SAFETY: `sx` is initialised (type invariant). The thread holds no
        // kern lock (`cx` is not borrowed by a guard), so this neither
        // recurses nor sleeps under a mutex.
        // As sx_xlock(9) expands in a module; without SX_INTERRUPTIBLE it
        // cannot fail.
        unsafe { sys::_sx_xlock(self.sx.get(), 0, LOCK_FILE.as_ptr(), LOCK_LINE) };
        // INVARIANT: this thread holds the lock exclusively.
        SxXGuard {
            lock: self,
            // SAFETY: the guard borrows the `Sleepable` for its whole life
            // and hands out only `&mut` to this token.
            cx: unsafe { SxSleepable::new() },
            _borrow: PhantomData,
        }
    }

    /// Takes the lock exclusively if it is free (`sx_try_xlock(9)`).
    ///
    /// # Context
    /// Does not sleep. Needs the entry point's [`Sleepable`], which the guard
    /// borrows as for [`SxLock::xlock`].
    pub fn try_xlock<'a>(&'a self, cx: &'a mut Sleepable) -> Option<SxXGuard<'a, T>> {
        let _ = cx;
        // SAFETY: `sx` is initialised (type invariant).
        if unsafe { sys::shim_sx_try_xlock(self.sx.get()) } == 0 {
            return None;
        }
        // INVARIANT: this thread holds the lock exclusively.
        Some(SxXGuard {
            lock: self,
            // SAFETY: as in `xlock`.
            cx: unsafe { SxSleepable::new() },
            _borrow: PhantomData,
        })
    }

    /// Takes the lock shared (`sx_slock(9)`), sleeping while a thread holds
    /// it exclusively.
    ///
    /// # Context
    /// May sleep. Needs the entry point's [`Sleepable`] (no lock held).
    pub fn slock<'a>(&'a self, cx: &'a mut Sleepable) -> SxSGuard<'a, T> {
        let _ = cx;
        // SAFETY: `sx` is initialised (type invariant); no kern lock is
        // held by this thread (as in `xlock`).
        // As sx_slock(9) expands in a module; cannot fail without
        // SX_INTERRUPTIBLE.
        unsafe { sys::_sx_slock(self.sx.get(), 0, LOCK_FILE.as_ptr(), LOCK_LINE) };
        // INVARIANT: this thread holds a shared lock.
        SxSGuard {
            lock: self,
            // SAFETY: as in `xlock`.
            cx: unsafe { SxSleepable::new() },
            _borrow: PhantomData,
        }
    }

    /// The data, without locking: `&mut` proves that no guard exists.
    #[must_use]
    pub fn data_mut(self: Pin<&mut Self>) -> &mut T {
        // SAFETY: `data` is not structurally pinned, so handing out `&mut T`
        // does not move the lock.
        let this = unsafe { self.get_unchecked_mut() };
        this.data.get_mut()
    }
}

impl<T> Drop for SxLock<T> {
    fn drop(&mut self) {
        // SAFETY: `sx` is initialised (type invariant) and not held: guards
        // borrow the lock, and `&mut self` proves none exists.
        unsafe { sys::shim_sx_destroy(self.sx.get()) };
    }
}

/// Exclusive access to the data of an [`SxLock`]; unlocks when dropped.
///
/// Not `Send`: `sx(9)` must be released by the thread that holds it.
///
/// # Invariants
/// The current thread holds `lock` exclusively.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SxXGuard<'a, T> {
    lock: &'a SxLock<T>,
    cx: SxSleepable,
    _borrow: PhantomData<&'a mut Sleepable>,
}

// SAFETY: a shared guard gives only `&T` to other threads.
unsafe impl<T: Sync> Sync for SxXGuard<'_, T> {}

impl<T> SxXGuard<'_, T> {
    /// The data and a token that allows sleeping (and taking a mutex) while
    /// the lock is held.
    pub fn split(&mut self) -> (&mut T, &mut SxSleepable) {
        // SAFETY: the lock is held exclusively (type invariant) and
        // `&mut self` makes this access exclusive.
        let data = unsafe { &mut *self.lock.data.get() };
        (data, &mut self.cx)
    }
}

impl<T> Deref for SxXGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the lock is held exclusively (type invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SxXGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held exclusively (type invariant) and
        // `&mut self` makes this access exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SxXGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock exclusively (type invariant)
        // and gives it up here, once.
        // As sx_xunlock(9) expands in a module.
        unsafe { sys::_sx_xunlock(self.lock.sx.get(), LOCK_FILE.as_ptr(), LOCK_LINE) };
    }
}

/// Shared access to the data of an [`SxLock`]; unlocks when dropped.
///
/// Not `Send`: `sx(9)` must be released by the thread that holds it.
///
/// # Invariants
/// The current thread holds a shared lock on `lock`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SxSGuard<'a, T> {
    lock: &'a SxLock<T>,
    cx: SxSleepable,
    _borrow: PhantomData<&'a mut Sleepable>,
}

// SAFETY: the guard gives only `&T`.
unsafe impl<T: Sync> Sync for SxSGuard<'_, T> {}

impl<T> SxSGuard<'_, T> {
    /// The data and a token that allows sleeping (and taking a mutex) while
    /// the lock is held.
    pub fn split(&mut self) -> (&T, &mut SxSleepable) {
        // SAFETY: a shared lock is held (type invariant): no thread has
        // exclusive access.
        let data = unsafe { &*self.lock.data.get() };
        (data, &mut self.cx)
    }
}

impl<T> Deref for SxSGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a shared lock is held (type invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> Drop for SxSGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds a shared lock (type invariant) and gives
        // it up here, once.
        // As sx_sunlock(9) expands in a module.
        unsafe { sys::_sx_sunlock(self.lock.sx.get(), LOCK_FILE.as_ptr(), LOCK_LINE) };
    }
}
