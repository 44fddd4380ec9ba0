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
//! use kern::context::NoSleep;
//! use kern::taskqueue::{Task, TaskHandler};
//!
//! fn stop<H: TaskHandler>(task: Task<H>, cx: &mut NoSleep) {
//!     task.drain(cx);
//! }
//! ```

pub mod fast;
pub mod queue;

pub use fast::{FastTask, FastTaskHandler};
pub use queue::{Fast, Kind, MayEnqueue, QueueTask, Sleeping, TaskQueue};

use crate::alloc::Box;
use crate::context::{InThread, Sleepable};
use crate::opaque::Opaque;
use core::ffi::{c_int, c_void};
use core::mem::ManuallyDrop;

/// What a [`Task`] runs.
pub trait TaskHandler: Send + Sync + Sized + 'static {
    /// Runs on `taskqueue_thread`; `pending` is how many enqueues since
    /// the last run this run stands for (at least 1).
    ///
    /// # Context
    /// A taskqueue thread: may sleep; holds no lock.
    fn run(&self, pending: u32, cx: &mut Sleepable);
}

/// The kernel's part of a task: its `struct task` and its handler.
///
/// # Invariants
/// `raw` was initialised as `TASK_INIT(&raw, 0, task_fn::<H>, self)` at
/// this address, which does not change until the allocation is freed,
/// after a drain.
struct Inner<H: TaskHandler> {
    raw: Opaque<sys::task>,
    handler: H,
}

/// Work for `taskqueue_thread`; see the [module documentation](self).
///
/// # Invariants
/// `inner` is initialised (see [`Inner`]); `Drop` drains the task before
/// the allocation is freed.
pub struct Task<H: TaskHandler> {
    inner: ManuallyDrop<Box<Inner<H>>>,
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
    /// Creates a task that runs `handler` (`TASK_INIT(9)`, priority 0). It
    /// is not queued.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`, which does not fail).
    pub fn new(handler: H, cx: &mut Sleepable) -> Self {
        let inner = Box::new(
            Inner {
                raw: Opaque::zeroed(),
                handler,
            },
            cx.waitok(),
        );
        let ctx = core::ptr::from_ref::<Inner<H>>(&inner)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the zeroed task at its final address (the box never moves
        // its contents), which nothing else uses yet; this is what the
        // TASK_INIT macro does (ta_pending 0, priority 0, function,
        // context).
        unsafe {
            inner.raw.get().write(sys::task {
                ta_link: sys::task__bindgen_ty_1 {
                    stqe_next: core::ptr::null_mut(),
                },
                ta_pending: 0,
                ta_priority: 0,
                ta_flags: 0,
                ta_func: Some(task_fn::<H>),
                ta_context: ctx,
            });
        }
        // INVARIANT: initialised in place, with this allocation as context.
        Self {
            inner: ManuallyDrop::new(inner),
        }
    }

    /// The handler.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.inner.handler
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
        unsafe { sys::taskqueue_enqueue(thread_queue(), self.inner.raw.get()) };
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
        let ret = unsafe {
            sys::taskqueue_cancel(thread_queue(), self.inner.raw.get(), core::ptr::null_mut())
        };
        ret != 0
    }

    /// Waits until the task is neither queued nor running
    /// (`taskqueue_drain(9)`), then frees it.
    ///
    /// # Context
    /// Sleeps: needs a [`Sleepable`].
    pub fn drain(self, cx: &mut Sleepable) {
        let _ = cx;
        drop(self);
    }
}

impl<H: TaskHandler> Drop for Task<H> {
    /// Drains the task (`taskqueue_drain(9)`) and frees it.
    fn drop(&mut self) {
        // SAFETY: the task is initialised (type invariant); once drained,
        // the queue no longer uses it (a drain also waits for a run).
        unsafe { sys::taskqueue_drain(thread_queue(), self.inner.raw.get()) };
        // SAFETY: drained just above; taken once, here.
        drop(unsafe { ManuallyDrop::take(&mut self.inner) });
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
/// Called by a taskqueue thread for a task created by [`Task::new`], with
/// `context` its [`Inner`].
unsafe extern "C" fn task_fn<H: TaskHandler>(context: *mut c_void, pending: c_int) {
    // SAFETY: the caller's contract: `context` is the live `Inner<H>` (it
    // is drained before being freed).
    let inner = unsafe { &*context.cast::<Inner<H>>() };
    // SAFETY: taskqueue_thread's threads may sleep and hold no lock when
    // they call a task; the token lives only for this call.
    let mut cx = unsafe { Sleepable::new() };
    let pending = u32::try_from(pending).unwrap_or(1);
    inner.handler.run(pending, &mut cx);
}
