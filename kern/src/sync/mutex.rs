// SPDX-License-Identifier: BSD-2-Clause
//! [`Mutex`]: data protected by a sleep mutex, `mtx(9)` (`MTX_DEF`).
//!
//! C header: `sys/sys/mutex.h`. Manual page: `mutex(9)`.
//!
//! A thread must not sleep while it holds a mutex. [`Mutex::lock`] borrows
//! the caller's context token for as long as the guard lives, so nothing
//! that sleeps (and nothing that takes another lock) compiles while the
//! mutex is held.
//!
//! # Context
//! Locking may block (spin, then wait on a turnstile) but never sleeps; it
//! needs a context token (no spin lock held, not in an interrupt filter).
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::alloc::Box;
//! use kern::sync::Mutex;
//! use core::pin::Pin;
//!
//! fn example(cx: &mut Sleepable) -> Result {
//!     let hits: Pin<Box<Mutex<u64>>> = Mutex::try_new(c"example hits", 0, cx.waitok())?;
//!     *hits.lock(cx) += 1;
//!     Ok(())
//! }
//! ```
//!
//! `uiomove(9)` under a mutex does not compile (the guard holds the token):
//!
//! ```compile_fail,E0499
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//! use kern::uio::UioWriter;
//!
//! fn read(msg: &Mutex<[u8; 16]>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
//!     let guard = msg.lock(cx);
//!     uio.move_out(&guard[..], cx)?;
//!     Ok(())
//! }
//! ```
//!
//! Neither does an allocation that may sleep:
//!
//! ```compile_fail,E0502
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn grow(v: &Mutex<kern::alloc::Vec<u8>>, cx: &mut Sleepable) -> Result {
//!     let mut guard = v.lock(cx);
//!     guard.try_push(0, cx.waitok())?;
//!     Ok(())
//! }
//! ```
//!
//! What compiles is copying out under the lock and sleeping after it:
//!
//! ```
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//! use kern::uio::UioWriter;
//!
//! fn read(msg: &Mutex<[u8; 16]>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
//!     let copy = *msg.lock(cx);
//!     uio.move_out(&copy, cx)?;
//!     Ok(())
//! }
//! ```
//!
//! A guard cannot be sent to another thread (`mtx(9)` must be released by
//! its owner):
//!
//! ```compile_fail,E0277
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn assert_send<T: Send>(_: &T) {}
//!
//! fn example(m: &Mutex<u32>, cx: &mut Sleepable) {
//!     let guard = m.lock(cx);
//!     assert_send(&guard);
//! }
//! ```

use crate::alloc::Box;
use crate::context::MaySleep;
use crate::error::Result;
use crate::opaque::Opaque;
use crate::sync::{self, LOCK_FILE, LOCK_LINE};
use alloc_kernel::{Allocator, Flags};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_int};
use core::marker::{PhantomData, PhantomPinned};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;

/// Data of type `T` protected by an `mtx(9)` sleep mutex.
///
/// Built in place in kernel memory by [`Mutex::try_new`] and used through
/// `Pin<Box<Mutex<T>>>` (deref gives `&Mutex<T>`).
///
/// # Invariants
/// `mtx` was initialised with `mtx_init(9)` at its current address, which
/// never changes (the value is pinned), and is destroyed only by `Drop`.
/// `data` is accessed only through a [`MutexGuard`] (which holds the mutex)
/// or through `&mut Mutex` (no guard can exist).
pub struct Mutex<T> {
    mtx: Opaque<sys::mtx>,
    data: UnsafeCell<T>,
    _pin: PhantomPinned,
}

// SAFETY: the mutex may be destroyed on another thread than the one that
// initialised it (mtx(9) does not care), and owns a `T`, which moves with it.
// (`Opaque` and `UnsafeCell<T: Send>` are `Send`; `PhantomPinned` too.)
unsafe impl<T: Send> Send for Mutex<T> {}

// SAFETY: `&Mutex` gives access to `T` only under the lock, one thread at a
// time, so `T` need only be `Send` (as for `std::sync::Mutex`).
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Allocates a mutex holding `value` and initialises it in place, with
    /// `name` as its name for `WITNESS` and `lockstat`.
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

    /// [`Mutex::try_new`] with a given allocator.
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
        let init = |mutex: &Self| {
            // SAFETY: `mtx` is a zeroed `struct mtx` at its final address
            // (the block never moves: it is pinned right after); `name` is a
            // NUL-terminated string that outlives the lock.
            unsafe { sys::shim_mtx_init(mutex.mtx.get(), name.as_ptr(), MTX_DEF) };
        };
        // SAFETY: `data` projects to the `UnsafeCell<T>` field; the others,
        // `mtx` (an `Opaque`: any bytes, here zero) and the `PhantomPinned`
        // (no bytes), are valid zeroed; `init` runs mtx_init(9), which
        // establishes the type invariant.
        unsafe { sync::try_pin_zeroed_in(value, alloc, flags.into(), data, init) }
    }

    /// Locks the mutex, waiting for it if another thread holds it.
    ///
    /// The guard borrows `cx`, so while it lives nothing that needs a
    /// context token compiles: no sleeping, no other lock.
    ///
    /// # Context
    /// Does not sleep. Needs a context token (any [`MaySleep`]).
    pub fn lock<'a, C: MaySleep>(&'a self, cx: &'a mut C) -> MutexGuard<'a, T> {
        let _ = cx;
        // SAFETY: `mtx` is initialised (type invariant). The thread does not
        // hold it already: a guard borrows the token it was locked with, and
        // a thread's tokens form one chain (its entry point's `Sleepable`,
        // and at most one `SxSleepable` borrowed from it), so while a guard
        // lives no token is left to call `lock` with.
        // This is what mtx_lock(9) expands to in a module: the lock word's
        // address (`&m->mtx_lock`), no options.
        unsafe { sys::__mtx_lock_flags(self.lock_word(), 0, LOCK_FILE.as_ptr(), LOCK_LINE) };
        // INVARIANT: the mutex is held by this thread.
        MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        }
    }

    /// This mutex's address, which identifies it (see `LockedBy`).
    pub(crate) fn as_ptr(&self) -> *const Self {
        self
    }

    /// `&m->mtx_lock`, the lock word the `mtx_*` functions take.
    fn lock_word(&self) -> *mut usize {
        // The field is `volatile uintptr_t`; only its address is taken.
        let mtx = self.mtx.get();
        // SAFETY: `mtx` points to this mutex's `struct mtx` (valid for the
        // life of `self`); `&raw mut` makes no reference.
        unsafe { (&raw mut (*mtx).mtx_lock).cast::<usize>() }
    }

    /// Locks the mutex if no other thread holds it (`mtx_trylock(9)`).
    ///
    /// # Context
    /// Does not sleep or wait. Needs a context token, which the guard
    /// borrows as for [`Mutex::lock`].
    pub fn try_lock<'a, C: MaySleep>(&'a self, cx: &'a mut C) -> Option<MutexGuard<'a, T>> {
        let _ = cx;
        // SAFETY: `mtx` is initialised (type invariant).
        if unsafe { sys::shim_mtx_trylock(self.mtx.get()) } == 0 {
            return None;
        }
        // INVARIANT: the mutex is held by this thread.
        Some(MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        })
    }

    /// The data, without locking: `&mut` proves that no guard exists.
    #[must_use]
    pub fn data_mut(self: Pin<&mut Self>) -> &mut T {
        // SAFETY: `data` is not structurally pinned (it is never pinned
        // projected), so handing out `&mut T` does not move the mutex.
        let this = unsafe { self.get_unchecked_mut() };
        this.data.get_mut()
    }
}

impl<T> Drop for Mutex<T> {
    fn drop(&mut self) {
        // SAFETY: `mtx` is initialised (type invariant) and not held: a
        // guard borrows the mutex, and `&mut self` proves none exists.
        unsafe { sys::shim_mtx_destroy(self.mtx.get()) };
    }
}

/// `MTX_DEF`: a sleep mutex (as opposed to `MTX_SPIN`).
const MTX_DEF: c_int = 0;
const _: () = assert!(sys::MTX_DEF == 0);

/// Access to the data of a locked [`Mutex`]; unlocks when dropped.
///
/// Not `Send`: `mtx(9)` must be released by the thread that holds it.
///
/// # Invariants
/// The current thread holds `mutex`.
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    _not_send: PhantomData<*mut ()>,
}

// SAFETY: a shared guard gives only `&T` to other threads.
unsafe impl<T: Sync> Sync for MutexGuard<'_, T> {}

impl<T> MutexGuard<'_, T> {
    /// The mutex this guard holds.
    pub(crate) fn mutex(&self) -> *const Mutex<T> {
        self.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the mutex is held (type invariant), so no other thread
        // accesses the data; `&self` allows shared access only.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the mutex is held (type invariant), so no other thread
        // accesses the data, and `&mut self` makes this access exclusive.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the mutex (type invariant) and gives
        // it up here, once.
        // As mtx_unlock(9) expands in a module.
        unsafe {
            sys::__mtx_unlock_flags(self.mutex.lock_word(), 0, LOCK_FILE.as_ptr(), LOCK_LINE);
        };
    }
}
