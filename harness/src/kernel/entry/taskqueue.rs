// SPDX-License-Identifier: BSD-2-Clause
//! The taskqueue(9) entry points: `taskqueue_create`,
//! `taskqueue_create_fast`, `taskqueue_start_threads`, `taskqueue_free`,
//! `taskqueue_enqueue`, `taskqueue_enqueue_flags`, `taskqueue_cancel`,
//! `taskqueue_drain`, `taskqueue_drain_all` and
//! `taskqueue_thread_enqueue` (the enqueue function of a queue served by
//! threads). A queue's `struct taskqueue` is allocated with malloc(9)
//! (type `taskqueue`, as `_taskqueue_create` does), so `M_NOWAIT`
//! creation can fail under fault injection. The rules and their sources
//! are in `crate::kpi::taskqueue`; the threads are
//! `crate::kernel::taskq`.

use super::sleep::{c_str, fatal};
use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::kernel::TYPE_TASKQUEUE;
use crate::state::ViolationKind;
use crate::thread::{self, witness};
use core::ffi::{c_char, c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "taskqueue_create" => harness_taskqueue_create,
        "taskqueue_create_fast" => harness_taskqueue_create_fast,
        "taskqueue_start_threads" => harness_taskqueue_start_threads,
        "taskqueue_free" => harness_taskqueue_free,
        "taskqueue_enqueue" => harness_taskqueue_enqueue,
        "taskqueue_enqueue_flags" => harness_taskqueue_enqueue_flags,
        "taskqueue_cancel" => harness_taskqueue_cancel,
        "taskqueue_drain" => harness_taskqueue_drain,
        "taskqueue_drain_all" => harness_taskqueue_drain_all,
        "taskqueue_thread_enqueue" => harness_taskqueue_thread_enqueue,
    ]);
}

/// `_taskqueue_create`: the queue structure from malloc(9) with
/// `mflags | M_ZERO`, or NULL.
fn create(
    name: *const c_char,
    mflags: c_int,
    enqueue: *const c_void,
    context: *mut c_void,
    fast: bool,
) -> *mut c_void {
    let k = kernel();
    let flags = mflags.cast_unsigned() | sys::M_ZERO;
    let p = k
        .malloc
        .malloc(&k.core, 64, k.internal_type(TYPE_TASKQUEUE), flags);
    if k.core.is_dead() {
        thread::escape();
    }
    if p.is_null() {
        return core::ptr::null_mut();
    }
    k.taskqueues.create(
        KAddr::from_ptr(p),
        c_str(name),
        fast,
        KAddr::from_ptr(enqueue),
        KAddr::from_ptr(context),
    );
    p.cast()
}

/// `taskqueue_create(9)`.
extern "C" fn harness_taskqueue_create(
    name: *const c_char,
    mflags: c_int,
    enqueue: *const c_void,
    context: *mut c_void,
) -> *mut c_void {
    create(name, mflags, enqueue, context, false)
}

/// `taskqueue_create_fast(9)`: a queue on a spin mutex, on which an
/// interrupt filter may enqueue (its threads run the tasks where they may
/// sleep, as `taskqueue_create`'s).
extern "C" fn harness_taskqueue_create_fast(
    name: *const c_char,
    mflags: c_int,
    enqueue: *const c_void,
    context: *mut c_void,
) -> *mut c_void {
    create(name, mflags, enqueue, context, true)
}

/// `TQ_LOCK` of queue `a` in `what`: a sleep mutex (`mtx_lock`) unless
/// the queue is a fast one (`mtx_lock_spin`), so WITNESS panics if it is
/// taken in a critical section, which an interrupt filter runs in
/// (`witness::check_sleep_lock`). The mutex has the queue's name
/// (`_taskqueue_create` in `sys/kern/subr_taskqueue.c`). Escapes after
/// the panic.
fn tq_lock(what: &str, a: KAddr) {
    let k = kernel();
    if k.taskqueues.is_fast(a) {
        return;
    }
    let name = k.taskqueues.name(a).unwrap_or_default();
    let at = format!("{what} (sys/kern/subr_taskqueue.c)");
    if witness::check_sleep_lock(&k.core, "sleep mutex", &name, &at).is_err() {
        thread::escape();
    }
}

/// The queue a module names, or a violation and `None`.
fn queue(what: &str, tq: *mut c_void) -> Option<KAddr> {
    let k = kernel();
    let a = KAddr::from_ptr(tq);
    if k.taskqueues.exists(a) {
        Some(a)
    } else {
        k.core.violation(
            ViolationKind::Sleep,
            format!("{what}: {a:#x} is not a task queue (never created, or freed)"),
        );
        None
    }
}

/// `taskqueue_start_threads(9)`: `count` threads named after `name`
/// (its format arguments, variadic in C, are not needed: the names only
/// label host threads).
///
/// # Safety
/// `tqp` points to the queue pointer.
unsafe extern "C" fn harness_taskqueue_start_threads(
    tqp: *mut *mut c_void,
    count: c_int,
    _pri: c_int,
    name: *const c_char,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let tq = unsafe { tqp.read() };
    let Some(tq) = queue("taskqueue_start_threads", tq) else {
        return Errno::EINVAL.0;
    };
    let n = c_str(name);
    for _ in 0..count.max(0) {
        k.start_taskqueue_thread(tq, &n);
    }
    0
}

/// `taskqueue_free(9)`: the threads finish the queued tasks and exit,
/// then the structure is freed.
extern "C" fn harness_taskqueue_free(tq: *mut c_void) {
    let k = kernel();
    let Some(a) = queue("taskqueue_free", tq) else {
        return;
    };
    witness::check_may_sleep(&k.core, "taskqueue_free");
    if k.taskqueues.runs_here(a, None) {
        fatal(
            k,
            String::from(
                "taskqueue_free: called from a task of the queue (it would wait for itself)",
            ),
        );
    }
    if !k.taskqueues.free(&k.core, a) {
        thread::escape();
    }
    k.malloc.free(&k.core, a, k.internal_type(TYPE_TASKQUEUE));
}

/// `taskqueue_enqueue_flags(9)`: 0, `EEXIST`, `ECANCELED`; the queue's
/// enqueue function is called when the task is newly queued.
extern "C" fn harness_taskqueue_enqueue_flags(
    tq: *mut c_void,
    task: *mut sys::task,
    flags: c_int,
) -> c_int {
    let k = kernel();
    let Some(a) = queue("taskqueue_enqueue", tq) else {
        return Errno::EINVAL.0;
    };
    tq_lock("taskqueue_enqueue", a);
    let (r, call) = k
        .taskqueues
        .enqueue(a, KAddr::from_ptr(task), flags.cast_unsigned());
    if let Some((f, ctx)) = call {
        // SAFETY: the queue's enqueue function (`taskqueue_enqueue_fn`)
        // with the context given to taskqueue_create, as
        // taskqueue_enqueue_locked calls it.
        if unsafe { thread::call(&k.core, None, f, [ctx.arg(), 0, 0, 0, 0, 0]) }.is_err() {
            thread::escape();
        }
    }
    r
}

/// `taskqueue_enqueue(9)`.
extern "C" fn harness_taskqueue_enqueue(tq: *mut c_void, task: *mut sys::task) -> c_int {
    harness_taskqueue_enqueue_flags(tq, task, 0)
}

/// `taskqueue_cancel(9)`: 0, or `EBUSY` if the task is running; the
/// pending count in `*pendp`.
///
/// # Safety
/// `pendp` writable or null.
unsafe extern "C" fn harness_taskqueue_cancel(
    tq: *mut c_void,
    task: *mut sys::task,
    pendp: *mut u32,
) -> c_int {
    let k = kernel();
    let Some(a) = queue("taskqueue_cancel", tq) else {
        return Errno::EINVAL.0;
    };
    tq_lock("taskqueue_cancel", a);
    let (r, pending) = k.taskqueues.cancel(a, KAddr::from_ptr(task));
    if !pendp.is_null() {
        // SAFETY: by the caller's contract.
        unsafe { pendp.write(u32::from(pending)) };
    }
    r
}

/// The checks before a drain: WITNESS's sleep check (not for a fast
/// queue, whose drain spins), and a drain from the task itself.
fn drain_checks(what: &str, a: KAddr, task: Option<KAddr>) {
    let k = kernel();
    if !k.taskqueues.is_fast(a) {
        witness::check_may_sleep(&k.core, what);
        if let Some(ctx) = witness::no_sleeping_context() {
            fatal(
                k,
                format!("{what}: draining where sleeping is prohibited (a {ctx})"),
            );
        }
    }
    if k.taskqueues.runs_here(a, task) {
        let q = k.taskqueues.name(a).unwrap_or_default();
        fatal(
            k,
            format!(
                "{what}: called from the task it waits for on \"{q}\" (it would wait for itself)"
            ),
        );
    }
}

/// `taskqueue_drain(9)`: waits until the task is neither queued nor
/// running.
extern "C" fn harness_taskqueue_drain(tq: *mut c_void, task: *mut sys::task) {
    let k = kernel();
    let Some(a) = queue("taskqueue_drain", tq) else {
        return;
    };
    let t = KAddr::from_ptr(task);
    drain_checks("taskqueue_drain", a, Some(t));
    if !k.taskqueues.drain(&k.core, a, t) {
        thread::escape();
    }
}

/// `taskqueue_drain_all(9)`.
extern "C" fn harness_taskqueue_drain_all(tq: *mut c_void) {
    let k = kernel();
    let Some(a) = queue("taskqueue_drain_all", tq) else {
        return;
    };
    drain_checks("taskqueue_drain_all", a, None);
    if !k.taskqueues.drain_all(&k.core, a) {
        thread::escape();
    }
}

/// `taskqueue_thread_enqueue(9)`: the enqueue function of a queue with
/// threads (`context` points to the queue pointer): wakes its threads.
extern "C" fn harness_taskqueue_thread_enqueue(_context: *mut *mut c_void) {
    kernel().taskqueues.kick();
}
