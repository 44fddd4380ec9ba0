// SPDX-License-Identifier: BSD-2-Clause
//! [`TaskQueue`]: a task queue of the module's own, served by kernel
//! threads of its own (`taskqueue_create(9)` or `taskqueue_create_fast(9)`
//! with `taskqueue_thread_enqueue`, and `taskqueue_start_threads(9)`),
//! and [`QueueTask`], work for it.
//!
//! The queue's [`Kind`] is its lock, and says who may enqueue:
//!
//! * [`Sleeping`] (`taskqueue_create`): a sleep mutex, so any thread
//!   ([`InThread`]), never an interrupt filter (WITNESS panics on a sleep
//!   mutex taken in the critical section a filter runs in:
//!   `witness_checkorder` in `sys/kern/subr_witness.c`, called from
//!   `__mtx_lock_flags` in `sys/kern/kern_mutex.c`);
//! * [`Fast`] (`taskqueue_create_fast`): a spin mutex (`TQ_LOCK` is
//!   `mtx_lock_spin` in `sys/kern/subr_taskqueue.c`), so an interrupt
//!   filter ([`Filter`]) too.
//!
//! Either way the handler runs in one of the queue's kernel threads
//! (`taskqueue_thread_loop`), which `taskqueue_run_locked` calls with the
//! queue's lock released: it may sleep, and gets a [`Sleepable`] (the
//! handler is a [`TaskHandler`], as for [`Task`](super::Task)). "Fast"
//! is about the enqueue side only.
//!
//! Dropping the last reference to a queue frees it (`taskqueue_free(9)`):
//! its threads run what is still queued, then exit, and the free waits
//! for them, so it may sleep. Each [`QueueTask`] holds a reference to its
//! queue, and drains itself on the queue when dropped, so a queue is
//! never freed under a task that still uses it, nor a task under its
//! queue.
//!
//! # Examples
//!
//! An interrupt filter may enqueue on a fast queue:
//!
//! ```
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use kern::context::Filter;
//! use kern::prelude::*;
//! use kern::taskqueue::{Fast, QueueTask, TaskHandler, TaskQueue};
//!
//! struct Rx(AtomicU32);
//!
//! impl TaskHandler for Rx {
//!     fn run(&self, pending: u32, cx: &mut Sleepable) {
//!         // A kernel thread of the queue: may sleep.
//!         let _ = cx.waitok();
//!         self.0.fetch_add(pending, Ordering::Relaxed);
//!     }
//! }
//!
//! fn attach(cx: &mut Sleepable) -> Result<QueueTask<Rx, Fast>> {
//!     let queue = kern::alloc::Arc::new(TaskQueue::<Fast>::new(c"rx", 1, cx)?, cx.waitok());
//!     Ok(QueueTask::new(Rx(AtomicU32::new(0)), &queue, cx))
//! }
//!
//! fn intr(task: &QueueTask<Rx, Fast>, cx: &mut Filter) {
//!     task.enqueue(cx);
//! }
//! ```
//!
//! but not on a queue made by `taskqueue_create`:
//!
//! ```compile_fail,E0277
//! use kern::context::Filter;
//! use kern::taskqueue::{QueueTask, Sleeping, TaskHandler};
//!
//! fn intr<H: TaskHandler>(task: &QueueTask<H, Sleeping>, cx: &mut Filter) {
//!     task.enqueue(cx);
//! }
//! ```
//!
//! Creating a queue sleeps:
//!
//! ```compile_fail,E0308
//! use kern::context::NoSleep;
//! use kern::taskqueue::{Sleeping, TaskQueue};
//!
//! fn make(cx: &mut NoSleep) {
//!     let _ = TaskQueue::<Sleeping>::new(c"q", 1, cx);
//! }
//! ```

use super::TaskHandler;
use crate::alloc::{Arc, Box};
use crate::context::{Filter, InThread, Sleepable};
use crate::error::code::{EINVAL, ENOMEM};
use crate::error::{Error, Result};
use crate::opaque::Opaque;
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_int, c_void};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;

mod seal {
    /// Seals [`Kind`](super::Kind).
    pub trait Sealed {}

    /// Seals [`MayEnqueue`](super::MayEnqueue): only `kern`'s tokens (and
    /// lock guards, which exist only where a token did) are proofs.
    pub trait Token {}
}

/// The lock of a [`TaskQueue`]: [`Sleeping`] or [`Fast`]. Sealed.
pub trait Kind: seal::Sealed + Send + Sync + 'static {
    /// A spin mutex (`taskqueue_create_fast`).
    const SPIN: bool;
}

/// A queue made by `taskqueue_create(9)`: a sleep mutex; interrupt
/// filters may not enqueue on it.
pub enum Sleeping {}

/// A queue made by `taskqueue_create_fast(9)`: a spin mutex; interrupt
/// filters may enqueue on it.
pub enum Fast {}

impl seal::Sealed for Sleeping {}
impl seal::Sealed for Fast {}

impl Kind for Sleeping {
    const SPIN: bool = false;
}

impl Kind for Fast {
    const SPIN: bool = true;
}

/// A proof of context that allows enqueueing on a queue of kind `K`:
/// any thread ([`InThread`]) for both kinds, an interrupt filter
/// ([`Filter`]) for [`Fast`] only. Sealed.
pub trait MayEnqueue<K: Kind>: seal::Token {}

impl<T: InThread + ?Sized> seal::Token for T {}
impl seal::Token for Filter {}

impl<T: InThread + ?Sized> MayEnqueue<Sleeping> for T {}
impl<T: InThread + ?Sized> MayEnqueue<Fast> for T {}
impl MayEnqueue<Fast> for Filter {}

/// The queue pointer, at a fixed address: `taskqueue_thread_enqueue`'s
/// context and `taskqueue_start_threads`' argument.
struct Handle(UnsafeCell<*mut sys::taskqueue>);

/// A task queue of the module's, with its kernel threads; see the
/// [module documentation](self).
///
/// # Invariants
/// `handle` holds a queue created with `taskqueue_thread_enqueue` and
/// `handle`'s address as context, with at least one thread started,
/// freed only by `Drop`.
pub struct TaskQueue<K: Kind> {
    handle: Box<Handle>,
    _kind: PhantomData<K>,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the handle is written once, before the queue is shared; then only read"
)]
// SAFETY: the queue is only passed to taskqueue(9) functions, which lock
// it; the handle is written once, before the queue is shared.
unsafe impl<K: Kind> Send for TaskQueue<K> {}

// SAFETY: as for `Send`.
unsafe impl<K: Kind> Sync for TaskQueue<K> {}

/// `M_WAITOK` as `taskqueue_create`'s `int`.
const M_WAITOK: c_int = {
    assert!(sys::M_WAITOK <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::M_WAITOK as c_int;
    v
};

/// `PWAIT`, the priority of the queue's threads (as most drivers give).
const PWAIT: c_int = {
    assert!(sys::PWAIT <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::PWAIT as c_int;
    v
};

impl<K: Kind> TaskQueue<K> {
    /// Creates a queue named `name` (`taskqueue_create(9)` or
    /// `taskqueue_create_fast(9)`, `M_WAITOK`) and starts `threads`
    /// kernel threads for it (`taskqueue_start_threads(9)`, at `PWAIT`).
    ///
    /// # Errors
    /// `EINVAL` for no thread; `ENOMEM` if the threads could not be
    /// allocated (`taskqueue_start_threads` allocates with `M_NOWAIT`).
    ///
    /// # Context
    /// May sleep.
    pub fn new(name: &CStr, threads: u8, cx: &mut Sleepable) -> Result<Self> {
        if threads == 0 {
            return Err(EINVAL);
        }
        let handle = Box::new(Handle(UnsafeCell::new(core::ptr::null_mut())), cx.waitok());
        let tqp = handle.0.get();
        let create = if K::SPIN {
            sys::taskqueue_create_fast
        } else {
            sys::taskqueue_create
        };
        // SAFETY: `name` is a C string (copied by the kernel); the enqueue
        // function is the kernel's own, with the queue pointer's address,
        // which stays put (boxed) until the queue is freed; M_WAITOK
        // sleeps, which the token allows.
        let tq = unsafe {
            create(
                name.as_ptr(),
                M_WAITOK,
                Some(sys::taskqueue_thread_enqueue),
                tqp.cast::<c_void>(),
            )
        };
        if tq.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: the handle is ours alone until it is shared below.
        unsafe { tqp.write(tq) };
        // SAFETY: `tqp` points to the created queue; "%s" with `name`, a
        // C string, for the threads' names.
        let e = unsafe {
            sys::taskqueue_start_threads(
                tqp,
                c_int::from(threads),
                PWAIT,
                c"%s".as_ptr(),
                name.as_ptr(),
            )
        };
        if e != 0 {
            // SAFETY: created above; no task uses it; freed once, here.
            unsafe { sys::taskqueue_free(tq) };
            return Err(Error::from_errno(e).unwrap_or(ENOMEM));
        }
        // INVARIANT: created with the handle as context, threads started.
        Ok(Self {
            handle,
            _kind: PhantomData,
        })
    }

    /// The queue (`struct taskqueue *`).
    fn raw(&self) -> *mut sys::taskqueue {
        // SAFETY: written once in `new`, before `self` existed.
        unsafe { *self.handle.0.get() }
    }
}

impl<K: Kind> Drop for TaskQueue<K> {
    /// Frees the queue (`taskqueue_free(9)`): its threads run the tasks
    /// still queued and exit; waits for them.
    fn drop(&mut self) {
        // SAFETY: the queue is live (type invariant); every `QueueTask`
        // holds a reference to it, so none is left; freed once, here.
        unsafe { sys::taskqueue_free(self.raw()) };
    }
}

/// The kernel's part of a [`QueueTask`]: its `struct task` and handler.
///
/// # Invariants
/// `raw` was initialised by `TASK_INIT(&raw, 0, queue_task_fn::<H>,
/// self)` at this address, which does not change until the allocation is
/// freed, after a drain.
struct Inner<H: TaskHandler> {
    raw: Opaque<sys::task>,
    handler: H,
}

/// Work for a [`TaskQueue`] of kind `K`; see the
/// [module documentation](self).
///
/// # Invariants
/// `inner` is initialised (see `Inner`) and used only with `queue`;
/// `Drop` drains it on `queue` before freeing it, then releases `queue`.
pub struct QueueTask<H: TaskHandler, K: Kind> {
    inner: ManuallyDrop<Box<Inner<H>>>,
    queue: ManuallyDrop<Arc<TaskQueue<K>>>,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the handler is Send + Sync; the C structure is only passed to taskqueue(9)"
)]
// SAFETY: the `struct task` is only passed to taskqueue(9) functions,
// which serialise their accesses with the queue's lock; the handler is
// `Send + Sync`, the queue `Send + Sync`.
unsafe impl<H: TaskHandler, K: Kind> Send for QueueTask<H, K> {}

// SAFETY: as for `Send`; `&QueueTask` gives only `&H`.
unsafe impl<H: TaskHandler, K: Kind> Sync for QueueTask<H, K> {}

impl<H: TaskHandler, K: Kind> QueueTask<H, K> {
    /// Creates a task for `queue` that runs `handler` (`TASK_INIT(9)`,
    /// priority 0). It is not queued.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`, which does not fail).
    pub fn new(handler: H, queue: &Arc<TaskQueue<K>>, cx: &mut Sleepable) -> Self {
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
        unsafe { inner.raw.get().write(task_init(queue_task_fn::<H>, ctx)) };
        // INVARIANT: initialised in place, for this queue.
        Self {
            inner: ManuallyDrop::new(inner),
            queue: ManuallyDrop::new(Arc::clone(queue)),
        }
    }

    /// The handler.
    #[must_use]
    pub fn handler(&self) -> &H {
        &self.inner.handler
    }

    /// Queues the task (`taskqueue_enqueue(9)`); a task already queued
    /// stays queued once.
    ///
    /// # Context
    /// Does not sleep. Any thread; an interrupt filter too if the queue
    /// is [`Fast`].
    pub fn enqueue(&self, cx: &impl MayEnqueue<K>) {
        let _ = cx;
        // SAFETY: the task is initialised (type invariant) and lives until
        // drained, on this queue, which lives as long as `self`. Without
        // flags it cannot fail.
        unsafe { sys::taskqueue_enqueue(self.queue.raw(), self.inner.raw.get()) };
    }

    /// Removes the task from the queue if it has not started
    /// (`taskqueue_cancel(9)`); returns whether it was running.
    ///
    /// # Context
    /// As [`enqueue`](Self::enqueue).
    pub fn cancel(&self, cx: &impl MayEnqueue<K>) -> bool {
        let _ = cx;
        // SAFETY: as in `enqueue`; `pendp` may be NULL.
        let ret = unsafe {
            sys::taskqueue_cancel(
                self.queue.raw(),
                self.inner.raw.get(),
                core::ptr::null_mut(),
            )
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

impl<H: TaskHandler, K: Kind> Drop for QueueTask<H, K> {
    /// Drains the task on its queue (`taskqueue_drain(9)`), frees it, and
    /// releases the queue (freeing it if this was the last reference).
    fn drop(&mut self) {
        // SAFETY: the task is initialised and used only with this queue
        // (type invariant); once drained, the queue no longer uses it.
        unsafe { sys::taskqueue_drain(self.queue.raw(), self.inner.raw.get()) };
        // SAFETY: drained just above; taken once, here.
        drop(unsafe { ManuallyDrop::take(&mut self.inner) });
        // SAFETY: taken once, here, after the task it served.
        drop(unsafe { ManuallyDrop::take(&mut self.queue) });
    }
}

/// A `struct task` as `TASK_INIT(task, 0, func, ctx)` makes it.
pub(super) const fn task_init(
    func: unsafe extern "C" fn(*mut c_void, c_int),
    ctx: *mut c_void,
) -> sys::task {
    sys::task {
        ta_link: sys::task__bindgen_ty_1 {
            stqe_next: core::ptr::null_mut(),
        },
        ta_pending: 0,
        ta_priority: 0,
        ta_flags: 0,
        ta_func: Some(func),
        ta_context: ctx,
    }
}

/// The `task_fn_t` of every `QueueTask<H, _>`.
///
/// # Safety
/// Called by a thread of the task's queue (`taskqueue_thread_loop`, with
/// the queue's lock released) for a task created by [`QueueTask::new`],
/// with `context` its [`Inner`].
unsafe extern "C" fn queue_task_fn<H: TaskHandler>(context: *mut c_void, pending: c_int) {
    // SAFETY: the caller's contract: `context` is the live `Inner<H>` (it
    // is drained before being freed).
    let inner = unsafe { &*context.cast::<Inner<H>>() };
    // SAFETY: the threads `taskqueue_start_threads` starts are kernel
    // threads that call the task without a lock (taskqueue_run_locked
    // releases TQ_LOCK around it): they may sleep. The token lives only
    // for this call.
    let mut cx = unsafe { Sleepable::new() };
    let pending = u32::try_from(pending).unwrap_or(1);
    inner.handler.run(pending, &mut cx);
}
