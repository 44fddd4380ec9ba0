// SPDX-License-Identifier: BSD-2-Clause
//! [`FastTask`]: work for `taskqueue_fast`, the system's fast queue,
//! which an interrupt filter may enqueue on.
//!
//! `taskqueue_fast` is locked by a spin mutex (`TASKQUEUE_FAST_DEFINE`
//! creates it with `MTX_SPIN`; `TQ_LOCK` is then `mtx_lock_spin`,
//! `sys/kern/subr_taskqueue.c`), so enqueueing on it is allowed in an
//! interrupt filter ([`Filter`]) as well as in any thread. Its tasks are
//! run by a software interrupt (`taskqueue_fast_run`, registered with
//! `swi_add`), that is in an interrupt thread, which may block on a mutex
//! but must not sleep (locking(9)): the handler gets a [`NoSleep`]. (A
//! fast queue of the module's own, [`TaskQueue<Fast>`](super::TaskQueue),
//! runs its tasks in kernel threads instead, where they may sleep.)
//!
//! # Examples
//!
//! ```
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use kern::context::{Filter, NoSleep};
//! use kern::taskqueue::{FastTask, FastTaskHandler};
//!
//! struct Ack(AtomicU32);
//!
//! impl FastTaskHandler for Ack {
//!     fn run(&self, pending: u32, cx: &mut NoSleep) {
//!         let _ = cx; // may take a kern Mutex, may not sleep
//!         self.0.fetch_add(pending, Ordering::Relaxed);
//!     }
//! }
//!
//! fn intr(task: &FastTask<Ack>, cx: &mut Filter) {
//!     task.enqueue(cx);
//! }
//! ```
//!
//! Its handler cannot sleep:
//!
//! ```compile_fail,E0599
//! use kern::context::NoSleep;
//! use kern::taskqueue::FastTaskHandler;
//!
//! struct Grow;
//!
//! impl FastTaskHandler for Grow {
//!     fn run(&self, _pending: u32, cx: &mut NoSleep) {
//!         let _ = kern::alloc::Box::new(0u64, cx.waitok());
//!     }
//! }
//! ```

use super::queue::task_init;
use crate::alloc::Box;
use crate::context::{NoSleep, Sleepable};
use crate::opaque::Opaque;
use core::ffi::{c_int, c_void};
use core::mem::ManuallyDrop;

#[cfg(doc)]
use crate::context::Filter;

/// What a [`FastTask`] runs.
pub trait FastTaskHandler: Send + Sync + Sized + 'static {
    /// Runs on `taskqueue_fast`; `pending` is how many enqueues since the
    /// last run this run stands for (at least 1).
    ///
    /// # Context
    /// A software interrupt thread: may block on a mutex, may not sleep;
    /// holds no lock.
    fn run(&self, pending: u32, cx: &mut NoSleep);
}

/// The kernel's part of a fast task.
///
/// # Invariants
/// `raw` was initialised by `TASK_INIT(&raw, 0, fast_task_fn::<H>, self)`
/// at this address, which does not change until the allocation is freed,
/// after a drain.
struct Inner<H: FastTaskHandler> {
    raw: Opaque<sys::task>,
    handler: H,
}

/// Work for `taskqueue_fast`; see the [module documentation](self).
///
/// # Invariants
/// `inner` is initialised (see `Inner`); `Drop` drains the task on
/// `taskqueue_fast` before the allocation is freed.
pub struct FastTask<H: FastTaskHandler> {
    inner: ManuallyDrop<Box<Inner<H>>>,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the handler is Send + Sync; the C structure is only passed to taskqueue(9)"
)]
// SAFETY: the `struct task` is only passed to taskqueue(9) functions,
// which serialise their accesses with the queue's lock; the handler is
// `Send + Sync`.
unsafe impl<H: FastTaskHandler> Send for FastTask<H> {}

// SAFETY: as for `Send`; `&FastTask` gives only `&H`.
unsafe impl<H: FastTaskHandler> Sync for FastTask<H> {}

impl<H: FastTaskHandler> FastTask<H> {
    /// Creates a task that runs `handler` (`TASK_INIT(9)`, priority 0).
    /// It is not queued.
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
        // SAFETY: the zeroed task at its final address (the box never
        // moves its contents), which nothing else uses yet; what TASK_INIT
        // does.
        unsafe { inner.raw.get().write(task_init(fast_task_fn::<H>, ctx)) };
        // INVARIANT: initialised in place.
        Self {
            inner: ManuallyDrop::new(inner),
        }
    }

    /// The handler.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// Queues the task on `taskqueue_fast` (`taskqueue_enqueue(9)`); a
    /// task already queued stays queued once.
    ///
    /// # Context
    /// Any: a thread or an interrupt filter ([`Filter`]); does not sleep
    /// or block.
    pub fn enqueue(&self, cx: &impl super::MayEnqueue<super::Fast>) {
        let _ = cx;
        // SAFETY: the task is initialised (type invariant) and lives until
        // drained, on the kernel's queue. Without flags it cannot fail.
        unsafe { sys::taskqueue_enqueue(fast_queue(), self.inner.raw.get()) };
    }

    /// Removes the task from the queue if it has not started
    /// (`taskqueue_cancel(9)`); returns whether it was running.
    ///
    /// # Context
    /// As [`enqueue`](Self::enqueue).
    pub fn cancel(&self, cx: &impl super::MayEnqueue<super::Fast>) -> bool {
        let _ = cx;
        // SAFETY: as in `enqueue`; `pendp` may be NULL.
        let ret = unsafe {
            sys::taskqueue_cancel(fast_queue(), self.inner.raw.get(), core::ptr::null_mut())
        };
        ret != 0
    }

    /// Waits until the task is neither queued nor running
    /// (`taskqueue_drain(9)`), then frees it.
    ///
    /// # Context
    /// Sleeps (`msleep_spin` until the task is done): needs a
    /// [`Sleepable`].
    pub fn drain(self, cx: &mut Sleepable) {
        let _ = cx;
        drop(self);
    }
}

impl<H: FastTaskHandler> Drop for FastTask<H> {
    /// Drains the task (`taskqueue_drain(9)`) and frees it.
    fn drop(&mut self) {
        // SAFETY: the task is initialised (type invariant); once drained,
        // the queue no longer uses it.
        unsafe { sys::taskqueue_drain(fast_queue(), self.inner.raw.get()) };
        // SAFETY: drained just above; taken once, here.
        drop(unsafe { ManuallyDrop::take(&mut self.inner) });
    }
}

/// `taskqueue_fast`, the kernel's spin-locked queue.
fn fast_queue() -> *mut sys::taskqueue {
    // SAFETY: the kernel sets the variable at boot (SYSINIT before any
    // module is loaded) and never changes it; this reads the pointer.
    unsafe { sys::taskqueue_fast }
}

/// The `task_fn_t` of every `FastTask<H>`.
///
/// # Safety
/// Called by `taskqueue_fast`'s software interrupt (no lock held) for a
/// task created by [`FastTask::new`], with `context` its [`Inner`].
unsafe extern "C" fn fast_task_fn<H: FastTaskHandler>(context: *mut c_void, pending: c_int) {
    // SAFETY: the caller's contract: `context` is the live `Inner<H>` (it
    // is drained before being freed).
    let inner = unsafe { &*context.cast::<Inner<H>>() };
    // SAFETY: an interrupt thread, holding no lock, may block on a mutex
    // but not sleep: what `NoSleep` allows. It lives only for this call.
    let mut cx = unsafe { NoSleep::new() };
    let pending = u32::try_from(pending).unwrap_or(1);
    inner.handler.run(pending, &mut cx);
}
