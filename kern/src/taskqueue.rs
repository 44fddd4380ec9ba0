// SPDX-License-Identifier: BSD-2-Clause
//! [`Task`]: deferred work that a kernel thread runs later, where it may
//! sleep (`taskqueue(9)` on `taskqueue_thread`).
//!
//! C header: `sys/sys/taskqueue.h`. Manual page: `taskqueue(9)`.
//! Implementation: `sys/kern/subr_taskqueue.c`.
//!
//! A callout handler or an interrupt thread may not sleep; what it cannot
//! do itself (an `M_WAITOK` allocation, an `sx` lock, freeing in the locks'
//! order) it hands to a task. The task runs on the system's
//! `taskqueue_thread`, in a thread that may sleep: its handler gets a
//! [`Sleepable`].
//!
//! * [`Task::enqueue`] queues it; a task already queued is not queued
//!   twice (the handler learns how many enqueues it stands for). It may be
//!   called from any thread context (any token, or a mutex guard, which
//!   exists only where a token did), never from an interrupt filter
//!   (`taskqueue_thread` is protected by a sleep mutex; a filter needs
//!   `taskqueue_fast`).
//! * [`Task::cancel`] removes it from the queue if it has not started.
//! * [`Task::drain`] (`taskqueue_drain(9)`) waits until it is neither
//!   queued nor running; it may sleep, so it needs a [`Sleepable`].
//!   Dropping a `Task` drains it too, so the handler never runs on freed
//!   memory; a drop where sleeping is forbidden is a `WITNESS` warning on
//!   FreeBSD and a violation in the test kernel.
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use kern::prelude::*;
//! use kern::taskqueue::{Task, TaskHandler};
//!
//! struct Flush(AtomicU32);
//!
//! impl TaskHandler for Flush {
//!     fn run(&self, pending: u32, cx: &mut Sleepable) {
//!         // May sleep here: M_WAITOK, sx locks, uiomove-free work.
//!         let _ = cx.waitok();
//!         self.0.fetch_add(pending, Ordering::Relaxed);
//!     }
//! }
//!
//! fn later(task: &Task<Flush>, cx: &mut NoSleep) {
//!     task.enqueue(cx);
//! }
//! ```
//!
//! An interrupt filter cannot enqueue on `taskqueue_thread`:
//!
//! ```compile_fail,E0277
//! use kern::context::Filter;
//! use kern::taskqueue::{Task, TaskHandler};
//!
//! fn intr<H: TaskHandler>(task: &Task<H>, cx: &mut Filter) {
//!     task.enqueue(cx);
//! }
//! ```
//!
//! (it needs `taskqueue_fast`: a [`FastTask`], or a [`QueueTask`] on a
//! [`TaskQueue<Fast>`](TaskQueue), a queue of the module's own; see
//! [`fast`] and [`queue`]), and draining needs a sleepable context:
//!
//! ```compile_fail,E0308
//! use core::pin::Pin;
//! use kern::alloc::Box;
//! use kern::context::NoSleep;
//! use kern::taskqueue::{Task, TaskHandler};
//!
//! fn stop<H: TaskHandler>(task: Pin<Box<Task<H>>>, cx: &mut NoSleep) {
//!     Task::drain(task, cx);
//! }
//! ```

pub mod fast;
pub mod queue;

pub use fast::{FastTask, FastTaskHandler};
pub use queue::{Fast, Kind, MayEnqueue, QueueTask, Sleeping, TaskQueue};

use crate::alloc::Box;
use crate::context::{InThread, Sleepable};
use crate::init::PinInit;
use crate::opaque::Opaque;
use core::ffi::{c_int, c_void};
use core::marker::PhantomPinned;
use core::pin::Pin;

/// What a [`Task`] runs.
pub trait TaskHandler: Send + Sync + Sized + 'static {
    /// Runs on `taskqueue_thread`; `pending` is how many enqueues since
    /// the last run this run stands for (at least 1).
    ///
    /// # Context
    /// A taskqueue thread: may sleep; holds no lock.
    fn run(&self, pending: u32, cx: &mut Sleepable);
}

/// Work for `taskqueue_thread`; see the [module documentation](self).
///
/// Built in place, where it stays: in its owner's memory with
/// [`new_in_place`](Self::new_in_place), or in an allocation of its own
/// with [`new`](Self::new).
///
/// # Invariants
/// `raw` was initialised as `TASK_INIT(&raw, 0, task_fn::<H>, self)` at
/// this address, which does not change (the value is pinned) until `Drop`
/// has drained the task.
pub struct Task<H: TaskHandler> {
    raw: Opaque<sys::task>,
    handler: H,
    _pin: PhantomPinned,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the handler is Send + Sync; the C structure is only passed to taskqueue(9)"
)]
// SAFETY: the `struct task` is only passed to taskqueue(9) functions, which
// serialise their accesses with the queue's lock; the handler is
// `Send + Sync`.
unsafe impl<H: TaskHandler> Send for Task<H> {}

// SAFETY: as for `Send`; `&Task` gives only `&H`.
unsafe impl<H: TaskHandler> Sync for Task<H> {}

impl<H: TaskHandler> Task<H> {
    /// Creates a task that runs `handler` (`TASK_INIT(9)`, priority 0), in
    /// an allocation of its own. It is not queued.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`, which does not fail).
    pub fn new(handler: H, cx: &mut Sleepable) -> Pin<Box<Self>> {
        crate::init::pin_box(
            Self::new_in_place::<core::convert::Infallible>(handler),
            cx.waitok(),
        )
    }

    /// An initialiser of a task that runs `handler` (`TASK_INIT(9)`,
    /// priority 0), for a place its owner chooses (see
    /// [`init`](crate::init)); it costs no allocation. It is not queued.
    ///
    /// `handler` is a value or an initialiser of one (which may hold
    /// pinned fields of its own, such as a [`Task`]
    /// in place); the handler is initialised first, in place.
    ///
    /// Fails only if the handler's initialiser does; does not sleep.
    pub fn new_in_place<E>(handler: impl PinInit<H, E>) -> impl PinInit<Self, E> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes (the initialiser's
            // contract); these only compute the fields' addresses.
            let h = unsafe { &raw mut (*slot).handler };
            // SAFETY: as above.
            let raw = Opaque::raw_get(unsafe { &raw mut (*slot).raw });
            // SAFETY: the handler's place, valid for writes and pinned with
            // the rest of the slot. If it fails, nothing else is initialised
            // yet and the error leaves the slot uninitialised, as the
            // initialiser's contract wants.
            unsafe { handler.__pinned_init(h) }?;
            // SAFETY: the task's place at its final address (pinned, and
            // drained by `Drop` before its memory is reused), which nothing
            // else uses yet; this is what the TASK_INIT macro does
            // (ta_pending 0, priority 0, function, context).
            unsafe {
                raw.write(sys::task {
                    ta_link: sys::task__bindgen_ty_1 {
                        stqe_next: core::ptr::null_mut(),
                    },
                    ta_pending: 0,
                    ta_priority: 0,
                    ta_flags: 0,
                    ta_func: Some(task_fn::<H>),
                    ta_context: slot.cast::<c_void>(),
                });
            }
            // INVARIANT: initialised in place, with this task as context.
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

    /// Queues the task on `taskqueue_thread` (`taskqueue_enqueue(9)`); a
    /// task already queued stays queued once.
    ///
    /// # Context
    /// Any thread (a token or a mutex guard proves it), not an interrupt
    /// filter; does not sleep.
    pub fn enqueue(&self, cx: &impl InThread) {
        let _ = cx;
        // SAFETY: the task is initialised (type invariant) and lives until
        // drained, on the kernel's queue. Without flags it cannot fail (a
        // task already queued counts one more pending).
        unsafe { sys::taskqueue_enqueue(thread_queue(), self.raw.get()) };
    }

    /// Removes the task from the queue if it has not started
    /// (`taskqueue_cancel(9)`); returns whether it was running (then it
    /// finishes: [`drain`](Self::drain) waits for it).
    ///
    /// # Context
    /// Any thread, not an interrupt filter; does not sleep.
    pub fn cancel(&self, cx: &impl InThread) -> bool {
        let _ = cx;
        // SAFETY: as in `enqueue`; `pendp` may be NULL.
        let ret =
            unsafe { sys::taskqueue_cancel(thread_queue(), self.raw.get(), core::ptr::null_mut()) };
        ret != 0
    }

    /// Waits until the task is neither queued nor running
    /// (`taskqueue_drain(9)`), then frees it.
    ///
    /// # Context
    /// Sleeps: needs a [`Sleepable`].
    pub fn drain(task: Pin<Box<Self>>, cx: &mut Sleepable) {
        let _ = cx;
        drop(task);
    }
}

impl<H: TaskHandler> Drop for Task<H> {
    /// Drains the task (`taskqueue_drain(9)`), in place; the handler is
    /// dropped after.
    fn drop(&mut self) {
        // SAFETY: the task is initialised (type invariant); once drained,
        // the queue no longer uses it (a drain also waits for a run), and
        // its memory may be reused.
        unsafe { sys::taskqueue_drain(thread_queue(), self.raw.get()) };
    }
}

/// `taskqueue_thread`, the kernel's queue of sleepable tasks.
fn thread_queue() -> *mut sys::taskqueue {
    // SAFETY: the kernel sets the variable at boot (SYSINIT before any
    // module is loaded) and never changes it; this reads the pointer.
    unsafe { sys::taskqueue_thread }
}

/// The `task_fn_t` of every `Task<H>`.
///
/// # Safety
/// Called by a taskqueue thread for a task created by
/// [`Task::new_in_place`], with `context` the task.
unsafe extern "C" fn task_fn<H: TaskHandler>(context: *mut c_void, pending: c_int) {
    // SAFETY: the caller's contract: `context` is the live `Task<H>` (it
    // is drained before its memory is reused).
    let inner = unsafe { &*context.cast::<Task<H>>() };
    // SAFETY: taskqueue_thread's threads may sleep and hold no lock when
    // they call a task; the token lives only for this call.
    let mut cx = unsafe { Sleepable::new() };
    let pending = u32::try_from(pending).unwrap_or(1);
    inner.handler.run(pending, &mut cx);
}
