// SPDX-License-Identifier: BSD-2-Clause
//! Execution-context tokens: the proof, checked by the compiler, that the
//! current thread may sleep.
//!
//! C headers: `sys/sys/mutex.h`, `sys/sys/sx.h`, `sys/sys/malloc.h`.
//! Manual pages: `locking(9)` (which locks may be held while sleeping),
//! `mutex(9)`, `sx(9)`, `malloc(9)` (`M_WAITOK` may sleep), `uio(9)`
//! (`uiomove` may sleep).
//!
//! FreeBSD forbids sleeping while a mutex (`mtx(9)`) is held, and forbids
//! acquiring an `sx(9)` lock while a mutex is held (the `sx` may have to be
//! waited for). A kernel built with `WITNESS` catches violations at run time;
//! `kern` catches them at compile time instead:
//!
//! * Every operation that may sleep takes a context token: `uiomove(9)`
//!   through [`UioReader`](crate::uio::UioReader) and
//!   [`UioWriter`](crate::uio::UioWriter), `M_WAITOK` allocation through
//!   [`Sleepable::waitok`], `sx(9)` acquisition, `destroy_dev(9)` through
//!   [`Registration::unregister`](crate::cdev::Registration::unregister).
//! * Only `kern` creates a [`Sleepable`], at the entry points where FreeBSD
//!   allows sleeping: module load and the character-device methods (open,
//!   read, write, ioctl). It is passed as `&mut Sleepable`, so it cannot be
//!   kept past the call, and it is neither `Send` nor `Sync`.
//! * [`Mutex::lock`](crate::sync::Mutex::lock) borrows the token mutably for
//!   as long as the guard lives, so nothing that needs the token (sleeping,
//!   taking an `sx`, taking a second mutex) compiles while a mutex is held.
//! * [`SxLock`](crate::sync::SxLock) acquisition borrows the [`Sleepable`]
//!   token mutably for as long as the guard lives too, and the guard hands
//!   out an [`SxSleepable`] instead: it allows sleeping and taking a mutex,
//!   but not taking another `sx`. At most one `sx` and one mutex are held at
//!   a time, always in that order, so `kern` locks cannot deadlock against
//!   each other and a lock is never taken recursively (which `mtx(9)` and
//!   `sx(9)` would silently allow on a kernel without `INVARIANTS`, handing
//!   out two `&mut` to the same data).
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn bump(counter: &Mutex<u64>, cx: &mut Sleepable) -> Result<kern::alloc::Vec<u8>> {
//!     // Allocation that may sleep: allowed, no lock is held.
//!     let buf = kern::alloc::Vec::with_capacity(64, cx.waitok());
//!     let mut guard = counter.lock(cx);
//!     *guard += 1;
//!     drop(guard);
//!     Ok(buf)
//! }
//! # Ok::<(), Error>(())
//! ```
//!
//! The token is borrowed by the guard, so waiting allocation under a mutex
//! does not compile:
//!
//! ```compile_fail,E0502
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn bump(counter: &Mutex<u64>, cx: &mut Sleepable) -> Result<kern::alloc::Vec<u8>> {
//!     let mut guard = counter.lock(cx);
//!     let buf = kern::alloc::Vec::with_capacity(64, cx.waitok());
//!     *guard += 1;
//!     Ok(buf)
//! }
//! ```
//!
//! A module cannot make a token of its own:
//!
//! ```compile_fail,E0624
//! let cx = unsafe { kern::Sleepable::new() };
//! ```
//!
//! and there is no free-standing `M_WAITOK`:
//!
//! ```compile_fail,E0432
//! use kern::malloc::M_WAITOK;
//! ```

use crate::malloc::WaitOk;
use core::marker::PhantomData;

mod private {
    /// Seals [`MaySleep`](super::MaySleep): only `kern`'s tokens implement it.
    pub trait Sealed {}
}

/// A context token that allows sleeping: [`Sleepable`] or [`SxSleepable`].
///
/// Sleeping operations take `cx: &mut impl MaySleep` (or a specific token
/// where the rule is stricter, as for `sx(9)` acquisition, which needs a
/// [`Sleepable`]). The trait is sealed: only `kern` implements it.
pub trait MaySleep: private::Sealed {
    /// Flags for an allocation that may sleep (`M_WAITOK`), borrowing the
    /// token. See [`Sleepable::waitok`].
    fn waitok(&self) -> WaitOk<'_>;
}

/// Proof that the current thread may sleep and holds no `kern` lock.
///
/// Created only by `kern`, at entry points where FreeBSD allows sleeping
/// (module load; a character device's open, read, write and ioctl), and
/// handed to the module as `&mut Sleepable` for the duration of the call.
/// Not `Copy`, not `Clone`, not `Send`, not `Sync`.
///
/// # Examples
///
/// ```
/// use kern::prelude::*;
///
/// fn table(cx: &mut Sleepable) -> kern::alloc::Box<[u64; 32]> {
///     kern::alloc::Box::new([0; 32], cx.waitok() | M_ZERO)
/// }
/// ```
///
/// # Invariants
/// The thread that holds a `&mut Sleepable` may sleep: it is not in an
/// interrupt or a critical section and holds no spin lock, no `kern` mutex
/// and no `kern` `sx` lock (guards borrow the token).
pub struct Sleepable {
    /// Not `Send`, not `Sync`: the proof is about the current thread.
    _not_send: PhantomData<*mut ()>,
}

impl Sleepable {
    /// Creates the token for an entry point.
    ///
    /// # Safety
    /// The caller is a kernel entry point where the current thread may
    /// sleep and holds no lock other than `Giant` (see the type's
    /// invariants); the token must not outlive that call (pass it on as
    /// `&mut`).
    #[must_use]
    pub(crate) const unsafe fn new() -> Self {
        // INVARIANT: the caller's contract.
        Self {
            _not_send: PhantomData,
        }
    }

    /// Flags for an allocation that may sleep until memory is available
    /// (`M_WAITOK` in `malloc(9)`); combine with `M_ZERO` with `|`. Such an
    /// allocation cannot fail: `Box::new(x, cx.waitok())` returns the box
    /// (see [`malloc`](crate::malloc)).
    ///
    /// The value borrows the token, so it cannot be used while a mutex
    /// guard holds the token.
    #[must_use]
    pub fn waitok(&self) -> WaitOk<'_> {
        WaitOk::new()
    }
}

impl private::Sealed for Sleepable {}

impl MaySleep for Sleepable {
    fn waitok(&self) -> WaitOk<'_> {
        Sleepable::waitok(self)
    }
}

/// Proof that the current thread may sleep while it holds one `kern`
/// [`SxLock`](crate::sync::SxLock) (shared or exclusive) and no mutex.
///
/// Handed out by the `sx` guards ([`split`](crate::sync::SxXGuard::split)).
/// It allows what `sx(9)` allows while the lock is held (sleeping, `uiomove`,
/// `M_WAITOK`, taking a [`Mutex`](crate::sync::Mutex)) but not taking
/// another `sx` lock, which needs a [`Sleepable`].
///
/// # Invariants
/// As for [`Sleepable`], except that the thread holds exactly one `kern`
/// `sx` lock.
pub struct SxSleepable {
    /// Not `Send`, not `Sync`: the proof is about the current thread.
    _not_send: PhantomData<*mut ()>,
}

impl SxSleepable {
    /// Creates the token for an `sx` guard.
    ///
    /// # Safety
    /// The caller is an `sx` guard created from a [`Sleepable`] that it
    /// borrows mutably for its whole life, and it keeps this token inside
    /// (handing out only `&mut` to it).
    #[must_use]
    pub(crate) const unsafe fn new() -> Self {
        // INVARIANT: the caller's contract.
        Self {
            _not_send: PhantomData,
        }
    }

    /// Flags for an allocation that may sleep (`M_WAITOK`); see
    /// [`Sleepable::waitok`].
    #[must_use]
    pub fn waitok(&self) -> WaitOk<'_> {
        WaitOk::new()
    }
}

impl private::Sealed for SxSleepable {}

impl MaySleep for SxSleepable {
    fn waitok(&self) -> WaitOk<'_> {
        SxSleepable::waitok(self)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A token for host unit tests, where nothing really sleeps.
    pub(crate) fn sleepable() -> Sleepable {
        // SAFETY: host unit tests run in an ordinary thread that may block.
        unsafe { Sleepable::new() }
    }

    #[test]
    fn tokens_are_zero_sized() {
        assert_eq!(size_of::<Sleepable>(), 0);
        assert_eq!(size_of::<SxSleepable>(), 0);
        let cx = sleepable();
        assert!(alloc_kernel::Flags::from(cx.waitok()).may_sleep());
    }
}
