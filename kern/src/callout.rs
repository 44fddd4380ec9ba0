// SPDX-License-Identifier: BSD-2-Clause
//! [`Callout`]: a function the kernel calls later, from its timer, with a
//! [`Mutex`] held (`callout(9)`, `callout_init_mtx`).
//!
//! C header: `sys/sys/callout.h`. Manual page: `callout(9)`.
//! Implementation: `sys/kern/kern_timeout.c`.
//!
//! A callout is tied to a mutex when it is created, as `callout_init_mtx`
//! ties it: the kernel takes that mutex before it calls the handler and
//! releases it after, and scheduling or stopping the callout needs the
//! mutex held. Stopping under the mutex is then free of races: either the
//! handler has already run, or it will not run (a handler waiting for the
//! mutex is cancelled).
//!
//! * The handler is a [`CalloutHandler`]: it owns what it needs (usually a
//!   clone of an `Arc` holding the mutex), names the mutex
//!   ([`CalloutHandler::mutex`]), and gets the mutex's guard when it runs.
//!   That guard is its context: it may not sleep, and may not take another
//!   mutex (the guard has borrowed the non-sleeping token,
//!   [`NoSleep`](crate::context::NoSleep)). It may wake sleepers, enqueue
//!   tasks, and reschedule itself by returning a delay.
//! * [`Callout::reset`] and [`Callout::stop`] take that mutex's guard
//!   (`callout_reset_sbt(9)`, `callout_stop(9)`).
//! * [`Callout::drain`] (`callout_drain(9)`) stops it and waits for a
//!   running handler to return; it may sleep, so it needs a
//!   [`Sleepable`]. Dropping a `Callout` drains it too, so the handler
//!   never runs on freed memory; dropped where sleeping is not allowed
//!   (under a mutex, in a callout), the drain is a `WITNESS` warning on
//!   FreeBSD and a violation in the test kernel. A callout leaked with
//!   `mem::forget` stays pending: the test kernel reports it at unload.
//!
//! The `struct callout` is initialised where it stays and drained there:
//! in its owner's memory ([`Callout::new_in_place`], a field of a
//! structure built with [`pin_init!`](crate::init::pin_init), no
//! allocation of its own), or in a block of its own ([`Callout::new`],
//! a `Pin<Box<Callout>>`).
//!
//! # Examples
//!
//! A counter of timer ticks, every 10 milliseconds:
//!
//! ```
//! use kern::alloc::Arc;
//! use kern::callout::{Callout, CalloutHandler};
//! use kern::prelude::*;
//! use kern::sync::{Mutex, MutexGuard};
//! use core::pin::Pin;
//! use kern::alloc::Box;
//!
//! struct Ticker(Arc<Pin<Box<Mutex<u64>>>>);
//!
//! impl CalloutHandler for Ticker {
//!     type Data = u64;
//!     fn mutex(&self) -> &Mutex<u64> {
//!         &self.0
//!     }
//!     fn run(&self, ticks: &mut MutexGuard<'_, u64>) -> Option<u32> {
//!         **ticks += 1;
//!         Some(10) // again in 10 ms
//!     }
//! }
//!
//! fn start(ticks: &Arc<Pin<Box<Mutex<u64>>>>, cx: &mut Sleepable) -> Result<Pin<Box<Callout<Ticker>>>> {
//!     let callout = Callout::new(Ticker(ticks.clone()), cx);
//!     callout.reset(&mut ticks.lock(cx), 10)?;
//!     Ok(callout)
//! }
//!
//! fn stop(callout: Pin<Box<Callout<Ticker>>>, cx: &mut Sleepable) {
//!     Callout::drain(callout, cx);
//! }
//! ```
//!
//! The handler may not sleep: it has no token to sleep with.
//!
//! ```compile_fail,E0425
//! use kern::callout::CalloutHandler;
//! use kern::sync::{Mutex, MutexGuard};
//!
//! struct Grow(kern::alloc::Box<Mutex<kern::alloc::Vec<u8>>>);
//!
//! impl CalloutHandler for Grow {
//!     type Data = kern::alloc::Vec<u8>;
//!     fn mutex(&self) -> &Mutex<Self::Data> {
//!         &self.0
//!     }
//!     fn run(&self, v: &mut MutexGuard<'_, Self::Data>) -> Option<u32> {
//!         let _ = v.try_push(0, cx.waitok());
//!         None
//!     }
//! }
//! ```
//!
//! Draining needs a sleepable context:
//!
//! ```compile_fail,E0308
//! use core::pin::Pin;
//! use kern::alloc::Box;
//! use kern::callout::{Callout, CalloutHandler};
//! use kern::context::NoSleep;
//!
//! fn stop<H: CalloutHandler>(callout: Pin<Box<Callout<H>>>, cx: &mut NoSleep) {
//!     Callout::drain(callout, cx);
//! }
//! ```
//!
//! and it cannot be called with the callout's mutex held (the guard
//! borrows the token):
//!
//! ```compile_fail,E0499
//! use core::pin::Pin;
//! use kern::alloc::Box;
//! use kern::callout::{Callout, CalloutHandler};
//! use kern::prelude::*;
//!
//! fn stop<H: CalloutHandler>(callout: Pin<Box<Callout<H>>>, cx: &mut Sleepable) {
//!     let guard = callout.handler().mutex().lock(cx);
//!     Callout::drain(callout, cx);
//!     drop(guard);
//! }
//! ```

use crate::alloc::Box;
use crate::context::Sleepable;
use crate::error::{Result, code};
use crate::init::PinInit;
use crate::opaque::Opaque;
use crate::sync::lock::Exclusive;
use crate::sync::{Mutex, MutexGuard};
use core::ffi::{c_int, c_void};
use core::marker::PhantomPinned;
use core::mem::ManuallyDrop;
use core::pin::Pin;

/// What a [`Callout`] runs, and the mutex it runs under.
pub trait CalloutHandler: Send + Sync + Sized + 'static {
    /// The data of the callout's mutex.
    type Data;

    /// The mutex the kernel holds while [`run`](Self::run) runs
    /// (`callout_init_mtx`). It must be the same mutex every time (the
    /// handler owns it, or an `Arc` of it): a callout whose handler names
    /// another mutex than at creation does not run.
    fn mutex(&self) -> &Mutex<Self::Data>;

    /// Runs when the callout fires, with the mutex held. Returns the delay
    /// in milliseconds after which it runs again, or `None`.
    ///
    /// # Context
    /// A callout handler (`softclock`): may not sleep, and holds the
    /// callout's mutex; the guard stands for the non-sleeping token.
    fn run(&self, data: &mut MutexGuard<'_, Self::Data>) -> Option<u32>;
}

/// A callout tied to the mutex of its handler; see the
/// [module documentation](self).
///
/// Built in place, where it stays: in its owner's memory with
/// [`new_in_place`](Self::new_in_place) (a field of a structure
/// initialised with [`pin_init!`](crate::init::pin_init)), or in an
/// allocation of its own with [`new`](Self::new).
///
/// # Invariants
/// `raw` was initialised by `callout_init_mtx` with `lock`, the mutex of
/// `handler` at creation, at this address, which does not change (the
/// value is pinned) until `Drop` has drained the callout; the kernel's
/// argument for the handler is this value's address.
pub struct Callout<H: CalloutHandler> {
    raw: Opaque<sys::callout>,
    lock: *mut sys::lock_object,
    handler: H,
    _pin: PhantomPinned,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the handler is Send + Sync; the C structure is only passed to callout(9)"
)]
// SAFETY: the `struct callout` is only passed to callout(9) functions,
// which serialise their accesses (the callout's mutex, the callout wheel's
// lock); the handler is `Send + Sync`; the lock pointer is only compared.
unsafe impl<H: CalloutHandler> Send for Callout<H> {}

// SAFETY: as for `Send`; `&Callout` gives only `&H`.
unsafe impl<H: CalloutHandler> Sync for Callout<H> {}

impl<H: CalloutHandler> Callout<H> {
    /// Creates a callout that runs `handler` with its mutex held
    /// (`callout_init_mtx(9)`, no flags), in an allocation of its own. It
    /// is not scheduled.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`, which does not fail).
    pub fn new(handler: H, cx: &mut Sleepable) -> Pin<Box<Self>> {
        crate::init::pin_box(
            Self::new_in_place::<core::convert::Infallible>(handler),
            cx.waitok(),
        )
    }

    /// An initialiser of a callout that runs `handler` with its mutex held
    /// (`callout_init_mtx(9)`, no flags), for a place its owner chooses
    /// (see [`init`](crate::init)); it costs no allocation. It is not
    /// scheduled.
    ///
    /// `handler` is a value or an initialiser of one (which may hold
    /// pinned fields of its own, such as a [`Task`](crate::taskqueue::Task)
    /// in place); the handler is initialised first, in place.
    ///
    /// Fails only if the handler's initialiser does; does not sleep.
    pub fn new_in_place<E>(handler: impl PinInit<H, E>) -> impl PinInit<Self, E> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes (the initialiser's
            // contract); these only compute the fields' addresses.
            let h = unsafe { &raw mut (*slot).handler };
            // SAFETY: as above.
            let l = unsafe { &raw mut (*slot).lock };
            // SAFETY: as above.
            let raw = Opaque::raw_get(unsafe { &raw mut (*slot).raw });
            // SAFETY: the handler's place, valid for writes and pinned with
            // the rest of the slot. If it fails, nothing else is initialised
            // yet and the error leaves the slot uninitialised, as the
            // initialiser's contract wants.
            unsafe { handler.__pinned_init(h) }?;
            // The mutex as the handler names it in its final place (a
            // handler may hold it by value).
            // SAFETY: the handler was initialised just above.
            let lock = unsafe { &*h }.mutex().lock_object();
            // SAFETY: the lock pointer's place, valid for writes.
            unsafe { l.write(lock) };
            // SAFETY: the `struct callout`'s place: zeroed here, as
            // callout(9) expects.
            unsafe { raw.write_bytes(0, 1) };
            // SAFETY: a zeroed `struct callout` at its final address (the
            // slot is pinned and drained by `Drop` before its memory is
            // reused); `lock` is the initialised sleep mutex of the
            // handler, which outlives the callout (the handler owns it, or
            // a reference count of it).
            unsafe { sys::_callout_init_lock(raw, lock, 0) };
            // INVARIANT: initialised with the handler's mutex, in place.
            Ok(())
        };
        // SAFETY: on success the closure has initialised every field
        // (`_pin` has no bytes); it fails only before anything is
        // initialised (the handler's own initialiser undoes its part); it
        // does not move the value.
        unsafe { pinned_init::pin_init_from_closure(init) }
    }

    /// The handler.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Whether `guard` holds this callout's mutex.
    fn check(&self, guard: &MutexGuard<'_, H::Data>) -> Result {
        if guard.lock().lock_object() == self.lock {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }

    /// Schedules the handler to run in `ms` milliseconds, replacing the
    /// pending run if there is one (`callout_reset_sbt(9)`). Returns
    /// whether a pending run was replaced.
    ///
    /// # Errors
    /// `EINVAL`: `guard` is not the guard of this callout's mutex.
    ///
    /// # Context
    /// Needs the callout's mutex held (`guard`); does not sleep.
    pub fn reset(&self, guard: &mut MutexGuard<'_, H::Data>, ms: u32) -> Result<bool> {
        self.check(guard)?;
        // SAFETY: the callout is initialised (type invariant) and its mutex
        // is held (checked above), as callout(9) requires.
        Ok(unsafe { reset_raw::<H>(self, ms) })
    }

    /// Cancels the pending run, if any (`callout_stop(9)`); returns whether
    /// one was cancelled. Under the mutex this is final: the handler does
    /// not run afterwards unless scheduled again.
    ///
    /// # Errors
    /// `EINVAL`: `guard` is not the guard of this callout's mutex.
    ///
    /// # Context
    /// Needs the callout's mutex held (`guard`); does not sleep.
    pub fn stop(&self, guard: &mut MutexGuard<'_, H::Data>) -> Result<bool> {
        self.check(guard)?;
        // SAFETY: the callout is initialised and its mutex held (checked).
        let ret = unsafe { sys::_callout_stop_safe(self.raw.get(), 0) };
        Ok(ret > 0)
    }

    /// Stops the callout and waits until its handler is not running
    /// (`callout_drain(9)`), then frees it.
    ///
    /// # Context
    /// Sleeps: needs a [`Sleepable`], with the callout's mutex not held.
    pub fn drain(callout: Pin<Box<Self>>, cx: &mut Sleepable) {
        let _ = cx;
        drop(callout);
    }
}

impl<H: CalloutHandler> Drop for Callout<H> {
    /// Drains the callout (`callout_drain(9)`), in place; the handler is
    /// dropped after.
    ///
    /// # Context
    /// Sleeps; see [`Callout::drain`].
    fn drop(&mut self) {
        // SAFETY: the callout is initialised (type invariant); draining
        // stops it and waits for a running handler, after which the kernel
        // no longer uses the structure or the handler, whose memory may
        // then be reused.
        unsafe { sys::_callout_stop_safe(self.raw.get(), CS_DRAIN) };
    }
}

/// `CS_DRAIN` as the `int` of `_callout_stop_safe`.
const CS_DRAIN: c_int = {
    assert!(sys::CS_DRAIN <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::CS_DRAIN as c_int;
    v
};

/// `callout_reset_sbt_on(c, ms * SBT_1MS, 0, handler, inner, -1, 0)`:
/// relative, on any CPU. Returns whether a pending run was replaced.
///
/// # Safety
/// `callout` is initialised and its mutex is held by this thread.
unsafe fn reset_raw<H: CalloutHandler>(callout: &Callout<H>, ms: u32) -> bool {
    let sbt = i64::from(ms).saturating_mul(i64::from(sys::SBT_1MS));
    let arg = core::ptr::from_ref(callout).cast_mut().cast::<c_void>();
    // SAFETY: the caller's contract. `arg` is the pinned callout itself,
    // which outlives every run (drained before its memory is reused).
    let ret = unsafe {
        sys::callout_reset_sbt_on(callout.raw.get(), sbt, 0, Some(callout_fn::<H>), arg, -1, 0)
    };
    ret > 0
}

/// The `callout_func_t` of every `Callout<H>`: runs the handler with its
/// mutex's guard, and schedules it again if it asks.
///
/// # Safety
/// Called by the kernel's softclock for a callout created by
/// [`Callout::new_in_place`], with `arg` the callout and its mutex held.
unsafe extern "C" fn callout_fn<H: CalloutHandler>(arg: *mut c_void) {
    // SAFETY: the caller's contract: `arg` is the live `Callout<H>` (it is
    // drained before its memory is reused).
    let inner = unsafe { &*arg.cast::<Callout<H>>() };
    let mutex = inner.handler.mutex();
    if mutex.lock_object() != inner.lock {
        // The handler names another mutex than the one the kernel holds:
        // no guard can be made for it.
        return;
    }
    // The guard stands for the non-sleeping context of the handler, with
    // the mutex held: no token is made, so nothing else can be locked.
    // SAFETY: the kernel holds the callout's mutex for this thread
    // (callout_init_mtx without CALLOUT_RETURNUNLOCKED) until the handler
    // returns; the guard is not dropped (the kernel releases the mutex),
    // and the handler gets only `&mut` to it, with no token to lock
    // anything else.
    let mut guard = ManuallyDrop::new(unsafe { mutex.assume_held::<Exclusive>(()) });
    if let Some(ms) = inner.handler.run(&mut guard) {
        // SAFETY: the callout is initialised and its mutex held by this
        // thread (the kernel's, see above).
        unsafe { reset_raw::<H>(inner, ms) };
    }
}
