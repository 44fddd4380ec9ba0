// SPDX-License-Identifier: BSD-2-Clause
//! [`Mutex`]: data protected by a sleep mutex, `mtx(9)` (`MTX_DEF`): the
//! [`Lock`] core with the [`MutexBackend`].
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
//!     let hits: Pin<Box<Mutex<u64>>> = Mutex::new(c"example hits", 0, cx.waitok());
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
//!     guard.push(0, cx.waitok());
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

use crate::context::MayBlock;
use crate::sync::lock::{Backend, Guard, Lock};
use crate::sync::{LOCK_FILE, LOCK_LINE, LockSite};
use core::ffi::{CStr, c_int};

/// Data of type `T` protected by an `mtx(9)` sleep mutex.
///
/// Built in place: in an allocation of its own by [`Mutex::new`] (or
/// [`Mutex::try_new`]), used through `Pin<Box<Mutex<T>>>`, or inside its
/// owner's memory by [`Mutex::new_in_place`] (see [`init`](crate::init)).
/// Locked with [`Mutex::lock`] and [`Mutex::try_lock`].
///
/// # Invariants
/// Those of [`Lock`]: the `struct mtx` was initialised with `mtx_init(9)`
/// at its current address and is destroyed only by `Drop`; the data is
/// accessed only under the mutex or through `&mut Mutex`.
pub type Mutex<T> = Lock<T, MutexBackend>;

/// Access to the data of a locked [`Mutex`]; unlocks when dropped.
///
/// Not `Send`: `mtx(9)` must be released by the thread that holds it.
pub type MutexGuard<'a, T> = Guard<'a, T, MutexBackend>;

/// The [`Backend`] of [`Mutex`]: `mtx(9)`, `MTX_DEF`.
#[derive(Debug)]
pub enum MutexBackend {}

// SAFETY: mtx(9) admits one owner at a time, between mtx_lock (or a
// successful mtx_trylock) and mtx_unlock; mtx_init with `MTX_NEW` on a
// `struct mtx` of any bytes makes a mutex the other calls accept (see
// `init`), and mtx_destroy undoes it; none of
// them cares which thread initialised or destroys the mutex.
unsafe impl Backend for MutexBackend {
    type State = sys::mtx;
    type GuardState = ();

    #[inline]
    unsafe fn init(ptr: *mut sys::mtx, name: &'static CStr) {
        // SAFETY: `ptr` is a `struct mtx` at its final address, never
        // initialised as a lock (the caller's contract); `name` is a
        // NUL-terminated string that outlives the mutex. This is what
        // `mtx_init(m, name, NULL, MTX_DEF | MTX_NEW)` expands to
        // (`sys/sys/mutex.h`): called directly, the kernel function needs
        // no C wrapper in every module. The memory need not be zeroed
        // (FreeBSD 15, read for this): `MTX_NEW` becomes `LO_NEW`, so
        // `lock_init` (`sys/kern/subr_lock.c`) skips its double-init check,
        // the only read of the old bytes (`lo_flags`); it then sets
        // `lo_flags` (`i << LO_CLASSSHIFT`, then `|= flags |
        // LO_INITIALIZED`) and `lo_name`, and `WITNESS_INIT` `lo_witness`;
        // `_mtx_init` (`sys/kern/kern_mutex.c`) sets `mtx_lock` to
        // `MTX_UNOWNED` and `mtx_recurse` (`lo_data`) to 0: every field.
        unsafe {
            sys::_mtx_init(
                lock_word(ptr),
                name.as_ptr(),
                core::ptr::null(),
                MTX_DEF | MTX_NEW,
            );
        };
    }

    #[inline]
    unsafe fn destroy(ptr: *mut sys::mtx) {
        // SAFETY: an initialised mutex that no thread holds (the caller's
        // contract). As `mtx_destroy(m)` expands.
        unsafe { sys::_mtx_destroy(lock_word(ptr)) };
    }

    #[inline]
    unsafe fn lock(ptr: *mut sys::mtx, site: LockSite) {
        // SAFETY: an initialised mutex that this thread does not hold (the
        // caller's contract). This is what mtx_lock(9) expands to in a
        // module: the lock word's address, no options, the caller's file
        // and line.
        unsafe { sys::__mtx_lock_flags(lock_word(ptr), 0, site.file(), site.line()) };
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut sys::mtx) -> Option<()> {
        // SAFETY: an initialised mutex (the caller's contract).
        let taken = unsafe { sys::shim_mtx_trylock(ptr) };
        (taken != 0).then_some(())
    }

    #[inline]
    unsafe fn unlock(ptr: *mut sys::mtx, _state: &()) {
        // SAFETY: this thread holds the mutex and gives it up once (the
        // caller's contract). As mtx_unlock(9) expands in a module.
        unsafe { sys::__mtx_unlock_flags(lock_word(ptr), 0, LOCK_FILE.as_ptr(), LOCK_LINE) };
    }
}

impl<T> Mutex<T> {
    /// Locks the mutex, waiting for it if another thread holds it.
    ///
    /// The guard borrows `cx`, so while it lives nothing that needs a
    /// context token compiles: no sleeping, no other lock.
    ///
    /// # Context
    /// Does not sleep, but may block. Needs a token that allows blocking
    /// ([`MayBlock`]: a [`NoSleep`](crate::context::NoSleep), or a
    /// sleepable token, which lends one); not an interrupt filter.
    #[inline]
    #[track_caller]
    pub fn lock<'a, C: MayBlock>(&'a self, cx: &'a mut C) -> MutexGuard<'a, T> {
        let _ = cx;
        // SAFETY: the mutex is initialised (type invariant). The thread does
        // not hold it already: a guard borrows the token it was locked with,
        // and a thread's tokens form one chain (its entry point's
        // `Sleepable` or `NoSleep`, at most one `SxSleepable` borrowed from
        // a `Sleepable`, and the `NoSleep` each lends), so
        // while a guard lives no token is left to call `lock` with. Waiting
        // for a mutex needs a blocking token (not in an interrupt filter, no spin
        // lock held), and the guard borrows `cx` for its whole life.
        unsafe { self.acquire() }
    }

    /// Locks the mutex if no other thread holds it (`mtx_trylock(9)`).
    ///
    /// # Context
    /// Does not sleep or wait. Needs a context token, which the guard
    /// borrows as for [`Mutex::lock`].
    #[inline]
    pub fn try_lock<'a, C: MayBlock>(&'a self, cx: &'a mut C) -> Option<MutexGuard<'a, T>> {
        let _ = cx;
        // SAFETY: as in `lock`.
        unsafe { self.try_acquire() }
    }
}

impl<T> Mutex<T> {
    /// `&m->lock_object`, the interlock that `_sleep` and `callout(9)` take
    /// (only its address is computed).
    #[inline]
    pub(crate) fn lock_object(&self) -> *mut sys::lock_object {
        self.state()
            .wrapping_byte_add(core::mem::offset_of!(sys::mtx, lock_object))
            .cast::<sys::lock_object>()
    }
}

/// `&m->mtx_lock`, the lock word the `mtx_*` functions take (the field is
/// a `volatile uintptr_t`; only its address is computed).
#[inline]
fn lock_word(mtx: *mut sys::mtx) -> *mut usize {
    mtx.wrapping_byte_add(core::mem::offset_of!(sys::mtx, mtx_lock))
        .cast::<usize>()
}

/// `MTX_DEF`: a sleep mutex (as opposed to `MTX_SPIN`).
const MTX_DEF: c_int = 0;
const _: () = assert!(sys::MTX_DEF == 0);

/// `MTX_NEW`: the memory is not an initialised lock; skip the double-init
/// check, which would read it (see `MutexBackend::init`).
const MTX_NEW: c_int = 0x40;
const _: () = assert!(sys::MTX_NEW == 0x40);
