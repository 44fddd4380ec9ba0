// SPDX-License-Identifier: BSD-2-Clause
//! [`Lock`]: the lock core every kernel lock of `kern` shares, with a
//! [`Backend`] per kind of C lock.
//!
//! C header: `sys/sys/lock.h`. Manual page: `locking(9)`.
//!
//! A lock owns the data it protects and hands it out through a [`Guard`]
//! (`#[must_use]`, not `Send`: a lock is released by the thread that took
//! it). What differs between `mtx(9)`, `sx(9)` and the kinds to come (an
//! interruptible `sx`, a spin mutex) is only the C lock and the calls that
//! take and release it; that is a [`Backend`]. Construction, data access,
//! the guard and destruction are written once, here.
//!
//! Which context may take a lock differs per kind (see
//! [`context`](crate::context)), so the methods that acquire one are
//! written per backend, next to it: [`Mutex::lock`](super::Mutex::lock)
//! takes any context token, [`SxLock::xlock`](super::SxLock::xlock) needs a
//! [`Sleepable`](crate::context::Sleepable). Each checks its rule in its
//! signature and calls the core's acquisition, which makes the guard.
//!
//! A lock may be held exclusively ([`Exclusive`], the default) or, if its
//! backend allows it ([`SharedBackend`]), shared ([`Shared`]); the guard's
//! mode says which, and only an exclusive guard gives `&mut T`.
//!
//! # Initialisation in place
//! The C lock is address-sensitive (`WITNESS` and the lock profiler keep
//! pointers to it), so it is initialised where it stays, by
//! [`Backend::init`] (on memory of any bytes: the backends pass
//! `MTX_NEW`/`SX_NEW`), and destroyed there by `Drop`.
//! [`Lock::new`] (`M_WAITOK`, which cannot fail) and [`Lock::try_new`]
//! do this in an allocation of their own,
//! [`StaticLock::init`](super::StaticLock::init) in a module `static`,
//! and [`Lock::new_in_place`] wherever its owner puts it: an initialiser
//! ([`PinInit`]) for a field of a larger structure, which is then one
//! allocation for all its locks (see [`init`](crate::init)).

use crate::alloc::Box;
use crate::error::Result;
use crate::init::PinInit;
use crate::malloc::WaitOk;
use crate::opaque::Opaque;
use crate::sync::LockSite;
use alloc_kernel::Flags;
use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::marker::{PhantomData, PhantomPinned};
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;

/// One kind of C lock: its structure and the calls that initialise, take,
/// release and destroy it.
///
/// Implemented in `kern` for `mtx(9)` ([`MutexBackend`](super::MutexBackend))
/// and `sx(9)` ([`SxBackend`](super::SxBackend)).
///
/// # Safety
/// Implementers guarantee that:
/// - between a [`lock`](Self::lock) (or a [`try_lock`](Self::try_lock)
///   that returns `Some`) and the matching [`unlock`](Self::unlock), no
///   other thread holds the lock, in any mode;
/// - [`init`](Self::init) on memory of any bytes makes a lock that the other
///   functions accept, and [`destroy`](Self::destroy) releases what `init`
///   set up;
/// - a lock may be initialised, used and destroyed by different threads
///   (so a [`Lock`] is `Send` if its data is).
pub unsafe trait Backend {
    /// The C lock (`struct mtx`, `struct sx`).
    type State;

    /// What a guard keeps from [`lock`](Self::lock) to
    /// [`unlock`](Self::unlock): nothing for a mutex; for an `sx` lock, the
    /// context token the guard lends its holder.
    type GuardState;

    /// Initialises the lock at `ptr`, with `name` for `WITNESS` and
    /// `lockstat`.
    ///
    /// # Safety
    /// `ptr` points to a `State` (any bytes, not an initialised lock) at the
    /// address where it stays until [`destroy`](Self::destroy).
    unsafe fn init(ptr: *mut Self::State, name: &'static CStr);

    /// Destroys the lock at `ptr`.
    ///
    /// # Safety
    /// `ptr` points to a lock initialised by [`init`](Self::init) that no
    /// thread holds; it is not used afterwards.
    unsafe fn destroy(ptr: *mut Self::State);

    /// Takes the lock exclusively, waiting for it if need be.
    ///
    /// # Safety
    /// `ptr` points to an initialised lock; the current thread does not
    /// hold it and may wait for it as this kind of lock waits (the
    /// caller's context token proves it); the returned state is kept in a
    /// [`Guard`] that borrows that token for its whole life. `site` is the
    /// module code that asked, for the kernel's lock diagnostics.
    unsafe fn lock(ptr: *mut Self::State, site: LockSite) -> Self::GuardState;

    /// Takes the lock exclusively if no other thread holds it.
    ///
    /// # Safety
    /// As for [`lock`](Self::lock).
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState>;

    /// Releases an exclusive hold.
    ///
    /// # Safety
    /// The current thread holds the lock at `ptr` exclusively, through the
    /// guard that kept `state`; it gives it up once.
    unsafe fn unlock(ptr: *mut Self::State, state: &Self::GuardState);
}

/// A [`Backend`] whose lock may also be held shared, by several threads at
/// once (`sx_slock(9)`).
///
/// # Safety
/// As for [`Backend`], and: while any thread holds the lock shared, no
/// thread holds it exclusively.
pub unsafe trait SharedBackend: Backend {
    /// Takes the lock shared, waiting while a thread holds it exclusively.
    ///
    /// # Safety
    /// As for [`Backend::lock`].
    unsafe fn lock_shared(ptr: *mut Self::State, site: LockSite) -> Self::GuardState;

    /// Releases a shared hold.
    ///
    /// # Safety
    /// The current thread holds the lock at `ptr` shared, through the guard
    /// that kept `state`; it gives it up once.
    unsafe fn unlock_shared(ptr: *mut Self::State, state: &Self::GuardState);
}

mod private {
    /// Seals [`Mode`](super::Mode): the modes are [`Exclusive`](super::Exclusive)
    /// and [`Shared`](super::Shared).
    pub trait Sealed {}
}

/// How a [`Guard`] holds its lock: [`Exclusive`] or [`Shared`]. Sealed.
pub trait Mode<B: Backend>: private::Sealed {
    /// Releases a hold of this mode.
    ///
    /// # Safety
    /// The current thread holds the lock at `ptr` in this mode, through the
    /// guard that kept `state`; it gives it up once.
    #[doc(hidden)]
    unsafe fn release(ptr: *mut B::State, state: &B::GuardState);
}

/// The lock is held by one thread, which may change the data.
#[derive(Debug)]
pub enum Exclusive {}

/// The lock is held by one or more threads, which may only read the data.
#[derive(Debug)]
pub enum Shared {}

impl private::Sealed for Exclusive {}
impl private::Sealed for Shared {}

impl<B: Backend> Mode<B> for Exclusive {
    #[inline]
    unsafe fn release(ptr: *mut B::State, state: &B::GuardState) {
        // SAFETY: the caller's contract: held exclusively, released once.
        unsafe { B::unlock(ptr, state) };
    }
}

impl<B: SharedBackend> Mode<B> for Shared {
    #[inline]
    unsafe fn release(ptr: *mut B::State, state: &B::GuardState) {
        // SAFETY: the caller's contract: held shared, released once.
        unsafe { B::unlock_shared(ptr, state) };
    }
}

/// Data of type `T` protected by a kernel lock of kind `B`.
///
/// Used through the names of its kinds: [`Mutex`](super::Mutex) and
/// [`SxLock`](super::SxLock).
///
/// # Invariants
/// `state` was initialised by `B::init` at its current address, which
/// never changes (the value is pinned), and is destroyed only by `Drop`.
/// `data` is accessed only through a [`Guard`] (which holds the lock: for
/// `&mut T` exclusively) or through `&mut Lock` (no guard can exist).
pub struct Lock<T, B: Backend> {
    state: Opaque<B::State>,
    data: UnsafeCell<T>,
    _pin: PhantomPinned,
}

// SAFETY: the lock may be destroyed on another thread than the one that
// initialised it (`Backend`'s contract), and owns a `T`, which moves with
// it.
unsafe impl<T: Send, B: Backend> Send for Lock<T, B> {}

// SAFETY: `&Lock` gives `&mut T` only under an exclusive hold, to one
// thread at a time, so `T: Send` suffices (as for `std::sync::Mutex`).
// Shared holds give `&T` to several threads at once; the methods that take
// one require `T: Sync` themselves.
unsafe impl<T: Send, B: Backend> Sync for Lock<T, B> {}

impl<T, B: Backend> Lock<T, B> {
    /// Allocates a lock holding `value` (`M_WAITOK`, so it cannot fail) and
    /// initialises it in place, with `name` as its name for `WITNESS` and
    /// `lockstat`.
    ///
    /// # Context
    /// May sleep (the flags come from a context token, `cx.waitok()`).
    pub fn new(name: &'static CStr, value: T, flags: WaitOk<'_>) -> Pin<Box<Self>> {
        Self::build(Box::<Self>::new_uninit(flags), name, value)
    }

    /// Allocates a lock holding `value` and initialises it in place, with
    /// `name` as its name for `WITNESS` and `lockstat`.
    ///
    /// # Errors
    /// `ENOMEM` if the allocation fails (`value` is then dropped).
    ///
    /// # Context
    /// May sleep if `flags` comes from a context token (`cx.waitok()`);
    /// with `M_NOWAIT` it does not.
    pub fn try_new(
        name: &'static CStr,
        value: T,
        flags: impl Into<Flags>,
    ) -> Result<Pin<Box<Self>>> {
        // The block is allocated before the lock value exists: were the
        // allocation to fail after it, a `Lock` would be dropped, and its
        // `Drop` destroys a C lock that `init` never initialised. On
        // failure only `value` is dropped.
        let block = Box::<Self>::try_new_uninit(flags)?;
        Ok(Self::build(block, name, value))
    }

    /// An initialiser of a lock holding `value`, named `name` (for
    /// `WITNESS` and `lockstat`), for a place its owner chooses: a field
    /// of the owner's structure, initialised with
    /// [`pin_init!`](crate::init::pin_init), so that the lock costs no
    /// allocation of its own. The C lock is initialised (`mtx_init`,
    /// `sx_init`) where it stays, and destroyed there by `Drop`.
    ///
    /// Cannot fail and does not sleep.
    pub fn new_in_place(name: &'static CStr, value: T) -> impl PinInit<Self> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes and is not a live lock (a
            // place being initialised), and it is pinned: it stays there
            // until dropped in place (the initialiser's contract). Its bytes
            // need not be zero (`Backend::init`).
            unsafe { Self::init_in_place(slot, name, value) };
            Ok(())
        };
        // SAFETY: the closure initialises every field of `*slot` (`state`
        // and `data` by `init_in_place`, `_pin` has no bytes) and never
        // fails; it does not move the value afterwards.
        unsafe { pinned_init::pin_init_from_closure(init) }
    }

    /// Builds the lock in `block`, a new allocation.
    fn build(mut block: Box<MaybeUninit<Self>>, name: &'static CStr, value: T) -> Pin<Box<Self>> {
        // SAFETY: the block is writable, new (not a lock), and never moves
        // again (it is pinned below, and
        // nothing moves it before).
        unsafe { Self::init_in_place(block.as_mut_ptr(), name, value) };
        // SAFETY: every field is initialised: `state` and `data` by
        // `init_in_place`, `_pin` has no bytes.
        let lock = unsafe { block.assume_init() };
        Box::into_pin(lock)
    }

    /// Builds a lock at `slot`: writes `value` into its data and initialises
    /// the C lock there. The one step every way of making a lock goes
    /// through; a lock embedded in a larger value calls it at the lock's
    /// final place.
    ///
    /// # Safety
    /// `slot` is valid for writes and not a live lock (its bytes may be
    /// anything), and the lock stays at `slot` until dropped there (it is
    /// pinned from now on).
    pub(super) unsafe fn init_in_place(slot: *mut Self, name: &'static CStr, value: T) {
        // SAFETY: `slot` is valid for writes (the caller's contract); this
        // only computes the field's address (`&raw mut` makes no reference).
        let data = unsafe { &raw mut (*slot).data };
        // SAFETY: the data field's place, valid for writes.
        unsafe { data.write(UnsafeCell::new(value)) };
        // SAFETY: as for `data`, only the field's address.
        let state = unsafe { &raw mut (*slot).state };
        // SAFETY: the C lock's place: not a live lock, and where it stays
        // (the caller's contract).
        unsafe { B::init(Opaque::raw_get(state), name) };
        // INVARIANT: the C lock is initialised at its final address; nothing
        // could drop the lock before.
    }

    /// The C lock, for the backend's functions.
    #[inline]
    pub(crate) fn state(&self) -> *mut B::State {
        self.state.get()
    }

    /// Takes the lock exclusively, waiting for it if need be.
    ///
    /// # Safety
    /// The current thread does not hold this lock and may wait for it as
    /// `B` waits; the guard borrows, for its whole life, the context token
    /// that proves it (the per-kind method that calls this takes the token
    /// with the guard's lifetime).
    #[inline]
    #[track_caller]
    pub(crate) unsafe fn acquire(&self) -> Guard<'_, T, B> {
        // SAFETY: the lock is initialised (type invariant); the rest is the
        // caller's contract.
        let state = unsafe { B::lock(self.state(), LockSite::caller()) };
        // INVARIANT: held exclusively, with `state`.
        Guard {
            lock: self,
            state,
            _mode: PhantomData,
        }
    }

    /// Takes the lock exclusively if no other thread holds it.
    ///
    /// # Safety
    /// As for [`acquire`](Self::acquire).
    #[inline]
    pub(crate) unsafe fn try_acquire(&self) -> Option<Guard<'_, T, B>> {
        // SAFETY: the lock is initialised (type invariant); the rest is the
        // caller's contract.
        let state = unsafe { B::try_lock(self.state()) }?;
        // INVARIANT: held exclusively, with `state`.
        Some(Guard {
            lock: self,
            state,
            _mode: PhantomData,
        })
    }

    /// Takes the lock shared, waiting while a thread holds it exclusively.
    ///
    /// # Safety
    /// As for [`acquire`](Self::acquire).
    #[inline]
    #[track_caller]
    pub(crate) unsafe fn acquire_shared(&self) -> Guard<'_, T, B, Shared>
    where
        B: SharedBackend,
        T: Sync,
    {
        // SAFETY: the lock is initialised (type invariant); the rest is the
        // caller's contract.
        let state = unsafe { B::lock_shared(self.state(), LockSite::caller()) };
        // INVARIANT: held shared, with `state`. Other threads may hold it
        // shared too and read the data at the same time: `T: Sync`.
        Guard {
            lock: self,
            state,
            _mode: PhantomData,
        }
    }

    /// The guard of a hold the caller took itself, through `B`'s C calls
    /// (an acquisition that can fail, as `sx_xlock_sig(9)`).
    ///
    /// # Safety
    /// The current thread holds this lock in mode `M`, taken with the
    /// state `state`, and gives the hold to the guard (which releases it);
    /// the guard borrows, for its whole life, the context token that
    /// allowed taking it (as for [`acquire`](Self::acquire)); for
    /// [`Shared`], `T: Sync`.
    #[inline]
    pub(crate) unsafe fn assume_held<M: Mode<B>>(
        &self,
        state: B::GuardState,
    ) -> Guard<'_, T, B, M> {
        // INVARIANT: the caller's contract.
        Guard {
            lock: self,
            state,
            _mode: PhantomData,
        }
    }

    /// The data, without locking: `&mut` proves that no guard exists.
    #[must_use]
    pub fn data_mut(self: Pin<&mut Self>) -> &mut T {
        // SAFETY: `data` is not structurally pinned (it is never pinned
        // projected), so handing out `&mut T` does not move the lock.
        let this = unsafe { self.get_unchecked_mut() };
        this.data.get_mut()
    }
}

impl<T, B: Backend> Drop for Lock<T, B> {
    fn drop(&mut self) {
        // SAFETY: the lock is initialised (type invariant) and not held: a
        // guard borrows the lock, and `&mut self` proves none exists.
        unsafe { B::destroy(self.state()) };
    }
}

impl<T, B: Backend, M: Mode<B>> crate::context::private::Sealed for Guard<'_, T, B, M> {}

/// Access to the data of a held [`Lock`]; releases the lock when dropped.
///
/// Named after its kind: [`MutexGuard`](super::MutexGuard),
/// [`SxXGuard`](super::SxXGuard), [`SxSGuard`](super::SxSGuard). Gives
/// `&T`, and `&mut T` if the hold is [`Exclusive`].
///
/// Not `Send`: the kernel's locks must be released by the thread that
/// holds them.
///
/// # Invariants
/// The current thread holds `lock` in mode `M`; `state` is what taking it
/// returned.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct Guard<'a, T, B: Backend, M: Mode<B> = Exclusive> {
    lock: &'a Lock<T, B>,
    state: B::GuardState,
    _mode: PhantomData<(M, *mut ())>,
}

// SAFETY: a shared guard gives only `&T` to other threads; the guard state
// is reachable only through `&mut Guard`.
unsafe impl<T: Sync, B: Backend, M: Mode<B>> Sync for Guard<'_, T, B, M> {}

impl<'a, T, B: Backend, M: Mode<B>> Guard<'a, T, B, M> {
    /// The lock this guard holds.
    #[inline]
    pub(crate) fn lock(&self) -> &'a Lock<T, B> {
        self.lock
    }

    /// The data and the guard state (a context token the guard lends, for
    /// an `sx` lock).
    #[inline]
    pub(crate) fn parts(&mut self) -> (&T, &mut B::GuardState) {
        // SAFETY: the lock is held (type invariant): no thread has
        // exclusive access but, if the hold is exclusive, this one, through
        // this guard, which is borrowed here.
        let data = unsafe { &*self.lock.data.get() };
        (data, &mut self.state)
    }
}

impl<T, B: Backend> Guard<'_, T, B, Exclusive> {
    /// The data, mutably, and the guard state.
    #[inline]
    pub(crate) fn parts_mut(&mut self) -> (&mut T, &mut B::GuardState) {
        // SAFETY: the lock is held exclusively (type invariant) and
        // `&mut self` makes this access exclusive.
        let data = unsafe { &mut *self.lock.data.get() };
        (data, &mut self.state)
    }
}

impl<T, B: Backend, M: Mode<B>> Deref for Guard<'_, T, B, M> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the lock is held (type invariant), so no other thread
        // changes the data; `&self` allows shared access only.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T, B: Backend> DerefMut for Guard<'_, T, B, Exclusive> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held exclusively (type invariant), so no
        // other thread accesses the data, and `&mut self` makes this access
        // exclusive.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T, B: Backend, M: Mode<B>> Drop for Guard<'_, T, B, M> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock in mode `M` through this guard,
        // with `state` (type invariant), and gives it up here, once.
        unsafe { M::release(self.lock.state(), &self.state) };
    }
}
