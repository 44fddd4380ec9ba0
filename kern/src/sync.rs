// SPDX-License-Identifier: BSD-2-Clause
//! Kernel locks: [`Mutex`] over `mtx(9)` and [`SxLock`] over `sx(9)`.
//!
//! C headers: `sys/sys/mutex.h`, `sys/sys/sx.h`, `sys/sys/lock.h`. Manual
//! pages: `locking(9)`, `mutex(9)`, `sx(9)`.
//!
//! Both own the data they protect and hand it out through guards
//! (`#[must_use]`, not `Send`: a lock is released by the thread that took
//! it). Both embed the C lock, which is address-sensitive (`WITNESS` and the
//! lock profiler keep pointers to it): they are only ever built in place in
//! kernel memory and handed out pinned (`Pin<Box<_>>`), initialised there
//! with `mtx_init`/`sx_init_flags`, and destroyed on drop.
//!
//! Which lock to use is the usual FreeBSD choice: an `sx` lock may be held
//! while sleeping (across `uiomove(9)` or an `M_WAITOK` allocation), a mutex
//! may not. The rules are checked at compile time with context tokens; see
//! [`context`](crate::context).
//!
//! # Context
//! Acquiring either lock needs a context token: a
//! [`Sleepable`](crate::context::Sleepable) for an `sx` lock (it may have to
//! wait), any [`MaySleep`](crate::context::MaySleep) token for a mutex.
//! Neither may be acquired in an interrupt filter or under a spin lock.

pub mod locked_by;
pub mod mutex;
pub mod sx;

pub use locked_by::LockedBy;
pub use mutex::{Mutex, MutexGuard};
pub use sx::{SxLock, SxSGuard, SxXGuard};

use crate::error::Result;
use alloc_kernel::{Allocator, Flags, M_ZERO};
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_int};
use core::pin::Pin;

/// `LOCK_FILE`/`LOCK_LINE` for lock operations made from Rust.
///
/// In a module (`LOCK_DEBUG > 0`, `sys/sys/_lock.h`) the `mtx_lock`/
/// `sx_xlock` macros expand to calls of `__mtx_lock_flags`, `_sx_xlock`
/// and friends with the caller's `__FILE__` and `__LINE__`, which only
/// diagnostics (`WITNESS`, `KTR`, lock profiling) read. kern calls those
/// functions directly on its hot paths (a C wrapper per call cost a
/// measurable share of a read or write), and names itself as the site.
pub(crate) const LOCK_FILE: &CStr = c"kern/src/sync.rs";

/// See [`LOCK_FILE`]: no line number is meaningful for Rust callers.
pub(crate) const LOCK_LINE: c_int = 0;

/// Allocates a lock of type `L` holding `value`, built in place: a zeroed
/// block from `alloc`, `value` written into the data field that `data`
/// projects to, then `init` called on the lock at its final address to
/// initialise the C lock; the block is returned pinned.
///
/// The block is allocated before the lock value exists: were the
/// allocation to fail after it, an `L` would be dropped, and its `Drop`
/// destroys a lock that its `*_init` never initialised. On failure only
/// `value` is dropped. The block is zeroed (`M_ZERO`) because the C lock
/// must be zeroed before `mtx_init(9)`/`sx_init_flags(9)`; only the data
/// is written.
///
/// # Errors
/// `ENOMEM` if the allocation fails (`value` is then dropped).
///
/// # Safety
/// - `data` returns the address of `L`'s `UnsafeCell<T>` field within the
///   block it is given, without creating a reference (`&raw mut`);
/// - every other field of `L` is valid as zero bytes (an `Opaque` C lock,
///   `PhantomPinned`);
/// - `init` initialises the C lock of the `L` it is given in place, which
///   establishes `L`'s invariants.
pub(crate) unsafe fn try_pin_zeroed_in<L, T, A: Allocator>(
    value: T,
    alloc: A,
    flags: Flags,
    data: impl FnOnce(*mut L) -> *mut UnsafeCell<T>,
    init: impl FnOnce(&L),
) -> Result<Pin<alloc_kernel::Box<L, A>>> {
    let mut block = alloc_kernel::Box::<L, A>::try_new_uninit_in(alloc, flags | M_ZERO)?;
    let field = data(block.as_mut_ptr());
    // SAFETY: the data field's place in the block (caller's contract),
    // valid for writes.
    unsafe { field.write(UnsafeCell::new(value)) };
    // SAFETY: every field is initialised: the data just above, the others
    // by `M_ZERO` (valid as zero bytes by the caller's contract).
    let block = unsafe { block.assume_init() };
    init(&block);
    // INVARIANT: the caller's `init` established `L`'s invariants, at the
    // block's address, which `Pin` keeps; nothing could drop the lock
    // between its creation and `init`.
    Ok(alloc_kernel::Box::into_pin(block))
}
