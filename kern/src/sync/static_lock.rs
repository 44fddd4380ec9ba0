// SPDX-License-Identifier: BSD-2-Clause
//! [`StaticLock`]: a [`Lock`] in a module `static`, as a C driver declares
//! `static struct mtx foo_mtx;`, initialised at load and destroyed at
//! unload, with no allocation.
//!
//! C headers: `sys/sys/mutex.h`, `sys/sys/sx.h`. Manual pages: `mutex(9)`
//! (`mtx_init`, `mtx_destroy`), `sx(9)`.
//!
//! In C, a static lock can be used before `mtx_init` or after
//! `mtx_destroy`; `INVARIANTS` catches some of it at run time. Here the
//! `static` itself gives no access at all. [`StaticLock::init`]
//! initialises the C lock in place (once: a second call is the bug that
//! `lock_init`'s `INVARIANTS` assertion "already initialized" catches in
//! C, and calls `panic(9)` as that assertion does) and returns the only
//! handle to it, a [`StaticLockRef`], through which the lock is
//! taken (it dereferences to the [`Lock`]). Dropping the handle destroys
//! the C lock and drops the data; the static can then never be initialised
//! again. So use before init and use after destroy do not compile. A module keeps the handle in its state, which
//! it drops at unload; a new load gets a fresh copy of the module's data,
//! and so a fresh static.
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::sync::{MutexBackend, StaticLock, StaticLockRef};
//!
//! static HITS: StaticLock<u64, MutexBackend> = StaticLock::new();
//!
//! fn load(cx: &mut Sleepable) -> StaticLockRef<u64, MutexBackend> {
//!     let hits = HITS.init(c"example hits", 0);
//!     *hits.lock(cx) += 1;
//!     hits // kept by the module; dropped (destroyed) at unload
//! }
//! ```
//!
//! There is no way to the lock without the handle:
//!
//! ```compile_fail,E0599
//! use kern::prelude::*;
//! use kern::sync::{MutexBackend, StaticLock};
//!
//! static HITS: StaticLock<u64, MutexBackend> = StaticLock::new();
//!
//! fn bump(cx: &mut Sleepable) {
//!     *HITS.lock(cx) += 1;
//! }
//! ```

use super::lock::{Backend, Lock};
use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::ops::Deref;
use core::sync::atomic::{AtomicU8, Ordering};

/// Never initialised: zero bytes, no access.
const FRESH: u8 = 0;
/// Initialised; its one [`StaticLockRef`] exists.
const LIVE: u8 = 1;
/// Destroyed by the handle's drop; never initialised again.
const DESTROYED: u8 = 2;

/// Room for a [`Lock`] in a `static`, initialised by
/// [`init`](Self::init) (see the [module](self) documentation).
///
/// # Invariants
/// While `state` is `FRESH`, `slot` is all zero bytes. It holds an
/// initialised `Lock<T, B>` exactly while `state` is `LIVE`, and then the
/// one [`StaticLockRef`] to it exists. Once `DESTROYED`, the lock was
/// dropped in place and nothing accesses `slot` again.
pub struct StaticLock<T, B: Backend> {
    slot: UnsafeCell<MaybeUninit<Lock<T, B>>>,
    state: AtomicU8,
}

// SAFETY: the slot is reached only through the one `StaticLockRef`, which
// gives `&Lock` (`Sync` for `T: Send`); `init` is serialised by the atomic
// state.
unsafe impl<T: Send, B: Backend> Sync for StaticLock<T, B> {}

impl<T, B: Backend> StaticLock<T, B> {
    /// An uninitialised lock for a `static` (zero bytes: `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        // INVARIANT: `FRESH` and zeroed.
        Self {
            slot: UnsafeCell::new(MaybeUninit::zeroed()),
            state: AtomicU8::new(FRESH),
        }
    }

    /// Initialises the C lock in place, named `name` (for `WITNESS` and
    /// `lockstat`), holding `value`, and returns the only handle to it.
    ///
    /// # Panics
    /// Calls `panic(9)` if this static was initialised before, as
    /// `lock_init` does under `INVARIANTS` ("lock \"%s\" %p already
    /// initialized", `sys/kern/subr_lock.c`): a module that does so has a
    /// bug, and the data must not be overwritten under a live handle.
    pub fn init(&'static self, name: &'static CStr, value: T) -> StaticLockRef<T, B> {
        if self.state.swap(LIVE, Ordering::Acquire) != FRESH {
            initialised_twice();
        }
        // SAFETY: this call moved the state from `FRESH`, so the slot is
        // zeroed and no one else accesses it; it is writable (`UnsafeCell`)
        // and stays at this address for the rest of the module's life (a
        // `static`).
        unsafe { Lock::init_in_place(self.lock_ptr(), name, value) };
        // INVARIANT: `LIVE`, the slot holds the initialised lock, and this
        // is its one handle.
        StaticLockRef { owner: self }
    }

    /// The slot as a lock (inside the `UnsafeCell`: writable through it).
    fn lock_ptr(&self) -> *mut Lock<T, B> {
        self.slot.get().cast::<Lock<T, B>>()
    }
}

/// `panic(9)` for a second [`StaticLock::init`]: out of line and cold.
#[cold]
#[inline(never)]
fn initialised_twice() -> ! {
    // SAFETY: a constant NUL-terminated message without conversions;
    // panic(9) does not return.
    unsafe { sys::panic(c"kern: static lock initialised twice".as_ptr()) }
}

impl<T, B: Backend> Default for StaticLock<T, B> {
    fn default() -> Self {
        Self::new()
    }
}

/// The one handle to an initialised [`StaticLock`]: dereferences to its
/// [`Lock`]; dropping it destroys the C lock and drops the data.
///
/// # Invariants
/// `owner` is `LIVE`: its slot holds an initialised lock, and this is its
/// only handle.
pub struct StaticLockRef<T: 'static, B: Backend + 'static> {
    owner: &'static StaticLock<T, B>,
}

// SAFETY: the handle is a `&'static Lock<T, B>` that may drop the lock in
// place: sending it may drop `T` on another thread (`T: Send`), and the
// backend allows destruction on any thread (`Backend`'s contract).
unsafe impl<T: Send, B: Backend> Send for StaticLockRef<T, B> {}

// SAFETY: `&StaticLockRef` gives only `&Lock<T, B>`, which is `Sync` for
// `T: Send`.
unsafe impl<T: Send, B: Backend> Sync for StaticLockRef<T, B> {}

impl<T, B: Backend> Deref for StaticLockRef<T, B> {
    type Target = Lock<T, B>;

    #[inline]
    fn deref(&self) -> &Lock<T, B> {
        // SAFETY: the lock is initialised and lives until this handle drops
        // it (type invariant); the reference is bound to `&self`.
        unsafe { &*self.owner.lock_ptr() }
    }
}

impl<T, B: Backend> Drop for StaticLockRef<T, B> {
    /// Destroys the C lock and drops the data (`Lock`'s own drop, in
    /// place); the static is then never initialised again.
    fn drop(&mut self) {
        // SAFETY: the lock is initialised and this is its only handle (type
        // invariant); `&mut self` proves no reference from `deref` and so
        // no guard is alive. It is dropped once, here.
        unsafe { self.owner.lock_ptr().drop_in_place() };
        // INVARIANT: nothing accesses the slot again.
        self.owner.state.store(DESTROYED, Ordering::Release);
    }
}
