// SPDX-License-Identifier: BSD-2-Clause
//! Execution-context tokens: the proof, checked by the compiler, of what the
//! current thread may do: sleep, block on a mutex, or neither.
//!
//! C headers: `sys/sys/mutex.h`, `sys/sys/sx.h`, `sys/sys/malloc.h`,
//! `sys/sys/callout.h`, `sys/sys/bus.h` (interrupt filters and threads).
//! Manual pages: `locking(9)` (which locks may be held while sleeping, and
//! what each context may do), `mutex(9)`, `sx(9)`, `malloc(9)` (`M_WAITOK`
//! may sleep), `uio(9)` (`uiomove` may sleep), `callout(9)` (handlers may
//! not sleep), `bus_setup_intr(9)` (filters may not block).
//!
//! FreeBSD has three kinds of context, and kern a token for each:
//!
//! | Token | Where | Sleep (`msleep`, `M_WAITOK`, `uiomove`, `sx`) | Block on a mutex |
//! | --- | --- | --- | --- |
//! | [`Sleepable`] | module load and unload, device methods, task handlers | yes | yes |
//! | [`NoSleep`] | callout handlers, interrupt threads | no | yes |
//! | [`Filter`] | interrupt filters | no | no |
//!
//! (and [`SxSleepable`], what an `sx` guard lends: sleeping and a mutex,
//! not a second `sx`). Only `kern` creates tokens, at the entry points of
//! each context, and hands them out as `&mut` for the duration of the
//! call; they are neither `Send` nor `Sync`. A [`Sleepable`] lends a
//! [`NoSleep`] ([`Sleepable::no_sleep`]): whatever may be done without
//! sleeping may also be done where sleeping is allowed.
//!
//! A kernel built with `WITNESS` and `INVARIANTS` catches violations at run
//! time; `kern` catches them at compile time instead:
//!
//! * Every operation that may sleep takes a token that allows it
//!   ([`MaySleep`]): `uiomove(9)` through [`UioReader`](crate::uio::UioReader)
//!   and [`UioWriter`](crate::uio::UioWriter), `M_WAITOK` allocation
//!   through [`Sleepable::waitok`], waiting on a
//!   [`CondVar`](crate::sync::CondVar), draining a callout or a task,
//!   `destroy_dev(9)` through
//!   [`Registration::unregister`](crate::cdev::Registration::unregister);
//!   `sx(9)` acquisition needs a [`Sleepable`] itself.
//! * [`Mutex::lock`](crate::sync::Mutex::lock) takes any token that may
//!   block ([`MayBlock`]: a [`NoSleep`], or one that lends it) and borrows it
//!   mutably for as long as the guard lives, so nothing that needs the
//!   token (sleeping, taking an `sx`, taking a second mutex) compiles while
//!   a mutex is held.
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
//! ```compile_fail,E0624
//! let cx = unsafe { kern::context::NoSleep::new() };
//! ```
//!
//! and there is no free-standing `M_WAITOK`:
//!
//! ```compile_fail,E0432
//! use kern::malloc::M_WAITOK;
//! ```
//!
//! ## The non-sleeping context
//!
//! A callout handler or an interrupt thread may take a mutex:
//!
//! ```
//! use kern::context::NoSleep;
//! use kern::sync::Mutex;
//!
//! fn tick(counter: &Mutex<u64>, cx: &mut NoSleep) {
//!     *counter.lock(cx) += 1;
//! }
//! ```
//!
//! and a sleepable context lends its non-sleeping token to code written
//! for both:
//!
//! ```
//! use kern::context::NoSleep;
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn tick(counter: &Mutex<u64>, cx: &mut NoSleep) {
//!     *counter.lock(cx) += 1;
//! }
//!
//! fn read(counter: &Mutex<u64>, cx: &mut Sleepable) {
//!     tick(counter, cx.no_sleep());
//! }
//! ```
//!
//! but it may not allocate with `M_WAITOK`:
//!
//! ```compile_fail,E0599
//! use kern::context::NoSleep;
//! use kern::prelude::*;
//!
//! fn grow(cx: &mut NoSleep) -> Result<kern::alloc::Vec<u8>> {
//!     Ok(kern::alloc::Vec::try_with_capacity(64, cx.waitok())?)
//! }
//! ```
//!
//! nor call `uiomove(9)`:
//!
//! ```compile_fail,E0277
//! use kern::context::NoSleep;
//! use kern::prelude::*;
//! use kern::uio::UioWriter;
//!
//! fn out(uio: &mut UioWriter<'_>, cx: &mut NoSleep) -> Result {
//!     uio.move_out(b"late", cx)?;
//!     Ok(())
//! }
//! ```
//!
//! nor take an `sx` lock (which may sleep):
//!
//! ```compile_fail,E0308
//! use kern::context::NoSleep;
//! use kern::sync::SxLock;
//!
//! fn peek(config: &SxLock<u32>, cx: &mut NoSleep) -> u32 {
//!     *config.xlock(cx)
//! }
//! ```
//!
//! nor be turned back into a sleepable one:
//!
//! ```compile_fail,E0599
//! use kern::context::NoSleep;
//!
//! fn escalate(cx: &mut NoSleep) {
//!     let _ = cx.sleepable();
//! }
//! ```
//!
//! ## The interrupt filter
//!
//! A filter may not even block on a mutex (`mtx(9)` sleep mutexes may
//! block; filters run on borrowed stacks with interrupts masked):
//!
//! ```compile_fail,E0277
//! use kern::context::Filter;
//! use kern::sync::Mutex;
//!
//! fn intr(counter: &Mutex<u64>, cx: &mut Filter) {
//!     *counter.lock(cx) += 1;
//! }
//! ```
//!
//! and certainly not sleep:
//!
//! ```compile_fail,E0277
//! use kern::context::Filter;
//! use kern::prelude::*;
//! use kern::uio::UioWriter;
//!
//! fn out(uio: &mut UioWriter<'_>, cx: &mut Filter) -> Result {
//!     uio.move_out(b"late", cx)?;
//!     Ok(())
//! }
//! ```

use crate::malloc::WaitOk;
use core::marker::PhantomData;

pub(crate) mod private {
    /// Seals [`MaySleep`](super::MaySleep) and [`MayBlock`](super::MayBlock):
    /// only `kern`'s tokens implement them.
    pub trait Sealed {}
}

/// Proof that the current code runs in a thread, not in an interrupt
/// filter: any token but [`Filter`], or a lock guard (which exists only
/// where such a token did). Taken by shared reference, by operations that
/// do not block but use a sleep mutex inside, as enqueueing a task on
/// `taskqueue_thread`. Sealed.
pub trait InThread: private::Sealed {}

impl<T: private::Sealed + ?Sized> InThread for T {}

/// A context token that allows blocking on a mutex: [`NoSleep`], and the
/// tokens that lend one ([`Sleepable`], [`SxSleepable`]).
///
/// [`Mutex::lock`](crate::sync::Mutex::lock) takes `cx: &mut impl
/// MayBlock`. The trait is sealed: only `kern` implements it.
pub trait MayBlock: private::Sealed {
    /// The non-sleeping token this one lends, borrowed mutably (so that
    /// what it is lent to excludes every other use of this token).
    fn no_sleep(&mut self) -> &mut NoSleep;
}

/// A context token that allows sleeping: [`Sleepable`] or [`SxSleepable`].
///
/// Sleeping operations take `cx: &mut impl MaySleep` (or a specific token
/// where the rule is stricter, as for `sx(9)` acquisition, which needs a
/// [`Sleepable`]). Every token that may sleep may also block
/// ([`MayBlock`]). The trait is sealed: only `kern` implements it.
pub trait MaySleep: MayBlock {
    /// Flags for an allocation that may sleep (`M_WAITOK`), borrowing the
    /// token. See [`Sleepable::waitok`].
    fn waitok(&self) -> WaitOk<'_>;
}

/// Proof that the current thread may block on a mutex but must not sleep:
/// a callout handler, an interrupt thread, or code lent the token by a
/// sleepable context ([`Sleepable::no_sleep`]).
///
/// It allows taking a [`Mutex`](crate::sync::Mutex), waking sleepers, and
/// scheduling callouts and tasks; not `M_WAITOK`, `uiomove(9)`, `sx(9)` or
/// waiting on a condition variable. A callout handler that runs with its
/// mutex held gets that mutex's guard instead, which has borrowed the
/// token (see [`Callout`](crate::callout::Callout)).
///
/// # Invariants
/// The thread that holds a `&mut NoSleep` is not in an interrupt filter or
/// a critical section and holds no spin lock, no `kern` mutex (guards
/// borrow the token) and no `sx` lock taken through a token lent from it.
pub struct NoSleep {
    /// Not `Send`, not `Sync`: the proof is about the current thread.
    _not_send: PhantomData<*mut ()>,
}

impl NoSleep {
    /// Creates the token for a non-sleeping entry point.
    ///
    /// # Safety
    /// The caller is a kernel entry point where the current thread may
    /// block on a sleep mutex, holds no `kern` lock (see the type's
    /// invariants), or a token that owns this one; the token does not
    /// outlive that call (pass it on as `&mut`).
    #[must_use]
    pub(crate) const unsafe fn new() -> Self {
        // INVARIANT: the caller's contract.
        Self {
            _not_send: PhantomData,
        }
    }
}

impl private::Sealed for NoSleep {}

impl MayBlock for NoSleep {
    fn no_sleep(&mut self) -> &mut NoSleep {
        self
    }
}

/// Proof that the current thread is an interrupt filter
/// (`bus_setup_intr(9)`'s `filter`): it may neither sleep nor block on a
/// mutex. It implements neither [`MaySleep`] nor [`MayBlock`]; what a
/// filter may do (acknowledge the device, enqueue on a fast taskqueue,
/// return `FILTER_SCHEDULE_THREAD`) takes it explicitly.
///
/// # Invariants
/// The thread that holds a `&mut Filter` runs an interrupt filter.
pub struct Filter {
    /// Not `Send`, not `Sync`: the proof is about the current thread.
    _not_send: PhantomData<*mut ()>,
}

impl Filter {
    /// Creates the token for an interrupt filter.
    ///
    /// # Safety
    /// The caller is an interrupt filter's entry point; the token does not
    /// outlive that call.
    #[must_use]
    pub(crate) const unsafe fn new() -> Self {
        // INVARIANT: the caller's contract.
        Self {
            _not_send: PhantomData,
        }
    }
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
    /// The non-sleeping token it lends ([`Sleepable::no_sleep`]).
    no_sleep: NoSleep,
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
            // SAFETY: a thread that may sleep may block on a mutex; the
            // token lives inside this one and is lent only as `&mut`.
            no_sleep: unsafe { NoSleep::new() },
        }
    }

    /// Lends the non-sleeping token, for code that only needs to block on
    /// a mutex (`fn f(cx: &mut NoSleep)`). While it is lent this token
    /// cannot be used.
    #[must_use]
    pub fn no_sleep(&mut self) -> &mut NoSleep {
        &mut self.no_sleep
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

impl MayBlock for Sleepable {
    fn no_sleep(&mut self) -> &mut NoSleep {
        &mut self.no_sleep
    }
}

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
    /// The non-sleeping token it lends.
    no_sleep: NoSleep,
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
            // SAFETY: a thread that may sleep may block on a mutex; the
            // token lives inside this one and is lent only as `&mut`.
            no_sleep: unsafe { NoSleep::new() },
        }
    }

    /// Lends the non-sleeping token; see [`Sleepable::no_sleep`].
    #[must_use]
    pub fn no_sleep(&mut self) -> &mut NoSleep {
        &mut self.no_sleep
    }

    /// Flags for an allocation that may sleep (`M_WAITOK`); see
    /// [`Sleepable::waitok`].
    #[must_use]
    pub fn waitok(&self) -> WaitOk<'_> {
        WaitOk::new()
    }
}

impl private::Sealed for SxSleepable {}

impl MayBlock for SxSleepable {
    fn no_sleep(&mut self) -> &mut NoSleep {
        &mut self.no_sleep
    }
}

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
        assert_eq!(size_of::<NoSleep>(), 0);
        assert_eq!(size_of::<Filter>(), 0);
        let cx = sleepable();
        assert!(alloc_kernel::Flags::from(cx.waitok()).may_sleep());
    }
}
