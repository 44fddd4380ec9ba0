// SPDX-License-Identifier: BSD-2-Clause
//! Kernel locks: [`Mutex`] over `mtx(9)` and [`SxLock`] over `sx(9)`, and
//! [`CondVar`], sleeping on a mutex until a condition holds (`msleep(9)`).
//!
//! C headers: `sys/sys/mutex.h`, `sys/sys/sx.h`, `sys/sys/lock.h`. Manual
//! pages: `locking(9)`, `mutex(9)`, `sx(9)`.
//!
//! Both are the one lock core, [`Lock`], with a backend each
//! ([`MutexBackend`], [`SxBackend`]; see [`lock`]). They own the data they
//! protect and hand it out through guards (`#[must_use]`, not `Send`: a
//! lock is released by the thread that took it). Both embed the C lock,
//! which is address-sensitive (`WITNESS` and the lock profiler keep
//! pointers to it): they are only ever built in place, in kernel memory
//! (handed out pinned, `Pin<Box<_>>`) or in a module `static`
//! ([`StaticLock`], used through the handle its `init` returns),
//! initialised there with `mtx_init`/`sx_init_flags`, and destroyed on
//! drop.
//!
//! Which lock to use is the usual FreeBSD choice: an `sx` lock may be held
//! while sleeping (across `uiomove(9)` or an `M_WAITOK` allocation), a mutex
//! may not. The rules are checked at compile time with context tokens; see
//! [`context`](crate::context).
//!
//! # Context
//! Acquiring either lock needs a context token: a
//! [`Sleepable`](crate::context::Sleepable) for an `sx` lock (it may have to
//! wait), any [`MayBlock`](crate::context::MayBlock) token for a mutex
//! (a [`NoSleep`](crate::context::NoSleep), or a sleepable token).
//! Neither may be acquired in an interrupt filter or under a spin lock.

pub mod condvar;
pub mod lock;
pub mod locked_by;
pub mod mutex;
pub mod static_lock;
pub mod sx;

pub use condvar::{CondVar, Wait};
pub use lock::{Backend, Guard, Lock};
pub use locked_by::LockedBy;
pub use mutex::{Mutex, MutexBackend, MutexGuard};
pub use static_lock::{StaticLock, StaticLockRef};
pub use sx::{SxBackend, SxLock, SxSGuard, SxXGuard};

use core::ffi::{CStr, c_int};

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
