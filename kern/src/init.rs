// SPDX-License-Identifier: BSD-2-Clause
//! In-place initialisation: locks, callouts, tasks and poll queues built
//! inside their owner's memory, pinned there from their initialisation to
//! their destruction, with no allocation of their own.
//!
//! A C driver embeds `struct mtx`, `struct callout`, `struct task` and
//! `struct selinfo` in its softc and initialises them where they stay
//! (`mtx_init`, `callout_init_mtx`, `TASK_INIT`, `knlist_init_mtx`): the
//! kernel keeps pointers to them. In Rust a value is built on the stack
//! and moved, which these structures do not survive; so each `kern` type
//! that holds one offers an *initialiser*, an [`impl PinInit<T>`](PinInit)
//! that writes the value straight into its final, pinned place:
//! [`Lock::new_in_place`](crate::sync::lock::Lock::new_in_place)
//! ([`Mutex`](crate::sync::Mutex), [`SxLock`](crate::sync::SxLock)),
//! [`Callout::new_in_place`](crate::callout::Callout::new_in_place),
//! [`Task::new_in_place`](crate::taskqueue::Task::new_in_place),
//! [`PollQueue::new_in_place`](crate::poll::PollQueue::new_in_place).
//!
//! A structure made of such fields is initialised with [`pin_init!`]
//! (fields marked `#[pin]` in a [`#[pin_data]`](pin_data) structure take
//! an initialiser with `<-`, the others a value with `:`), and a whole
//! device state is placed, initialised, in the device's one shared
//! allocation by
//! [`Registration::register_in_place`](crate::cdev::Registration::register_in_place).
//! [`pin_box`], [`try_pin_box`] and [`pin_arc`] place one in an
//! allocation of its own.
//!
//! This is the `pinned-init` crate, Rust-for-Linux's pin-init as published
//! on crates.io (stable Rust, without its `alloc` feature). What it
//! guarantees, and `kern`'s types rely on:
//!
//! * **No use before init.** An initialiser is not a value: there is no
//!   `&Mutex` until the initialiser has run in its final place, and a
//!   structure initialised with [`pin_init!`] must list every field, so
//!   none is left uninitialised.
//! * **Pinned until destroyed.** The place is pinned: the value never
//!   moves, and its memory is not reused before its `Drop` has run
//!   (`Pin`'s drop guarantee). Each type's `Drop` destroys or drains it
//!   in place (`mtx_destroy`, `callout_drain`, `taskqueue_drain`,
//!   `seldrain`), so no use after destroy either.
//! * **A failure part-way undoes what was done.** When a field's
//!   initialiser fails, [`pin_init!`] drops, in place, the fields already
//!   initialised (destroying their locks), and the error is returned; the
//!   memory is then uninitialised again and is freed as such.
//!
//! # Examples
//!
//! ```
//! use kern::init::{PinInit, pin_box, pin_data, pin_init};
//! use kern::prelude::*;
//! use kern::sync::{Mutex, SxLock};
//!
//! #[pin_data]
//! struct Counters {
//!     #[pin]
//!     hits: Mutex<u64>,
//!     #[pin]
//!     config: SxLock<u32>,
//!     name: &'static str,
//! }
//!
//! fn counters() -> impl PinInit<Counters> {
//!     pin_init!(Counters {
//!         hits <- Mutex::new_in_place(c"example hits", 0),
//!         config <- SxLock::new_in_place(c"example config", 7),
//!         name: "example",
//!     })
//! }
//!
//! fn example(cx: &mut Sleepable) {
//!     // One allocation for both locks and the name.
//!     let c = pin_box(counters(), cx.waitok());
//!     *c.hits.lock(cx) += 1;
//! }
//! ```
//!
//! A device state with its mutex, a callout on it and a poll queue, all in
//! the device's one shared allocation (the handler and the source reach
//! the mutex through a reference-counted core here; `rustfifo` does the
//! same):
//!
//! ```
//! use core::pin::Pin;
//! use kern::alloc::Arc;
//! use kern::callout::{Callout, CalloutHandler};
//! use kern::cdev::{CdevOptions, CharacterDevice, OpenFlags, Registration, GID_WHEEL, UID_ROOT};
//! use kern::init::{PinInit, pin_arc, pin_data, pin_init};
//! use kern::poll::{Filter, PollQueue, PollSource};
//! use kern::prelude::*;
//! use kern::sync::{Mutex, MutexGuard};
//!
//! struct Ticks(Pin<Arc<Mutex<u64>>>);
//!
//! impl CalloutHandler for Ticks {
//!     type Data = u64;
//!     fn mutex(&self) -> &Mutex<u64> {
//!         &self.0
//!     }
//!     fn run(&self, ticks: &mut MutexGuard<'_, u64>) -> Option<u32> {
//!         **ticks += 1;
//!         Some(10)
//!     }
//! }
//!
//! impl PollSource for Ticks {
//!     type Data = u64;
//!     fn mutex(&self) -> &Mutex<u64> {
//!         &self.0
//!     }
//!     fn ready(&self, ticks: &u64, _filter: Filter) -> i64 {
//!         i64::try_from(*ticks).unwrap_or(i64::MAX)
//!     }
//! }
//!
//! #[pin_data]
//! struct Clock {
//!     #[pin]
//!     tick: Callout<Ticks>,
//!     #[pin]
//!     poll: PollQueue<Ticks>,
//! }
//!
//! #[kern::vtable]
//! impl CharacterDevice for Clock {
//!     const NAME: &'static core::ffi::CStr = c"clock";
//!     type Open = ();
//!     fn open(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! fn load(cx: &mut Sleepable) -> Result<Registration<Clock>> {
//!     let ticks = pin_arc(Mutex::new_in_place(c"clock ticks", 0), cx.waitok());
//!     let clock = pin_init!(Clock {
//!         tick <- Callout::new_in_place(Ticks(ticks.clone())),
//!         poll <- PollQueue::new_in_place(Ticks(ticks)),
//!     });
//!     let options = CdevOptions::new(0o444, UID_ROOT, GID_WHEEL);
//!     let dev = Registration::register_in_place(&options, clock, cx)?;
//!     dev.data().tick.reset(&mut dev.data().tick.handler().0.lock(cx), 10)?;
//!     Ok(dev)
//! }
//! ```
//!
//! An initialiser is not the lock: it cannot be locked before it is
//! placed.
//!
//! ```compile_fail,E0599
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn early(cx: &mut Sleepable) {
//!     let hits = Mutex::new_in_place(c"example hits", 0u64);
//!     *hits.lock(cx) += 1;
//! }
//! ```
//!
//! Nor after its owner is dropped (the drop destroyed it in place):
//!
//! ```compile_fail,E0382
//! use kern::init::pin_box;
//! use kern::prelude::*;
//! use kern::sync::Mutex;
//!
//! fn late(cx: &mut Sleepable) {
//!     let hits = pin_box(Mutex::new_in_place(c"example hits", 0u64), cx.waitok());
//!     drop(hits);
//!     *hits.lock(cx) += 1;
//! }
//! ```
//!
//! Nor can a field be left out (it would be used uninitialised):
//!
//! ```compile_fail,E0063
//! use kern::init::{PinInit, pin_data, pin_init};
//! use kern::sync::Mutex;
//!
//! #[pin_data]
//! struct Counters {
//!     #[pin]
//!     hits: Mutex<u64>,
//!     name: &'static str,
//! }
//!
//! fn counters() -> impl PinInit<Counters> {
//!     pin_init!(Counters { name: "example" })
//! }
//! ```
//!
//! Nor can a placed lock be moved out of its place:
//!
//! ```compile_fail,E0507
//! use core::pin::Pin;
//! use kern::alloc::Box;
//! use kern::sync::Mutex;
//!
//! fn steal(m: Pin<Box<Mutex<u64>>>) -> Mutex<u64> {
//!     *Pin::into_inner(m)
//! }
//! ```

use crate::alloc::{Arc, Box};
use crate::error::{Error, Result};
use crate::malloc::WaitOk;
use alloc_kernel::Flags;
use core::pin::Pin;

pub use pinned_init::{Init, PinInit, PinnedDrop, Zeroable, pin_data, pin_init, pinned_drop};
pub use pinned_init::{init, try_init, try_pin_init};

/// Allocates a block (`M_WAITOK`, which cannot fail) and runs `init` in
/// it; the value is pinned there until the box is dropped.
///
/// The initialiser cannot fail (one that can goes through
/// [`try_pin_box`]).
///
/// # Context
/// May sleep (the flags come from a context token, `cx.waitok()`).
pub fn pin_box<T>(init: impl PinInit<T>, flags: WaitOk<'_>) -> Pin<Box<T>> {
    let block = Box::<T>::new_uninit(flags);
    match place(block, init) {
        Ok(b) => b,
        Err(never) => match never {},
    }
}

/// Allocates a block with `flags` and runs `init` in it.
///
/// # Errors
/// `ENOMEM` if the allocation fails; the initialiser's error (the block
/// is then freed, holding nothing).
///
/// # Context
/// May sleep if `flags` comes from a context token; with `M_NOWAIT` it
/// does not.
pub fn try_pin_box<T, E>(init: impl PinInit<T, E>, flags: impl Into<Flags>) -> Result<Pin<Box<T>>>
where
    Error: From<E>,
{
    let block = Box::<T>::try_new_uninit(flags)?;
    place(block, init).map_err(Error::from)
}

/// Allocates a reference-counted block (`M_WAITOK`, which cannot fail)
/// and runs `init` in it; the value is pinned there until the last
/// reference is dropped. The clones share it, as the handlers of a
/// device's callout, task and poll queue share its core.
///
/// # Context
/// May sleep (the flags come from a context token, `cx.waitok()`).
pub fn pin_arc<T>(init: impl PinInit<T>, flags: WaitOk<'_>) -> Pin<Arc<T>> {
    let mut block = Arc::<T>::new_uninit(flags);
    // SAFETY: a new `Arc` is unique, and nothing clones it while `slot`
    // lives.
    let slot = unsafe { Arc::get_mut_unchecked(&mut block) }.as_mut_ptr();
    // SAFETY: `slot` is valid for writes of a `T` and stays where it is
    // (an `Arc`'s block never moves; it is pinned below). The initialiser
    // cannot fail.
    let Ok(()) = unsafe { init.__pinned_init(slot) };
    // SAFETY: the initialiser succeeded, so the value is initialised.
    let value = unsafe { Arc::assume_init(block) };
    // SAFETY: the value is never moved out of the block: the only way to
    // it is through this `Pin`, which gives no `&mut T` to a `!Unpin` `T`.
    unsafe { Pin::new_unchecked(value) }
}

/// Runs `init` in `block` and pins the result.
fn place<T, E>(
    mut block: Box<core::mem::MaybeUninit<T>>,
    init: impl PinInit<T, E>,
) -> core::result::Result<Pin<Box<T>>, E> {
    let slot = block.as_mut_ptr();
    // SAFETY: `slot` is valid for writes of a `T` and stays where it is:
    // on success the box is pinned below and never moved; on failure the
    // initialiser left it uninitialised and the `MaybeUninit` box frees it
    // without dropping anything.
    unsafe { init.__pinned_init(slot) }?;
    // SAFETY: the initialiser succeeded, so the value is initialised.
    let value = unsafe { block.assume_init() };
    Ok(Box::into_pin(value))
}
