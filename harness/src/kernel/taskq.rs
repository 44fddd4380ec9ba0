// SPDX-License-Identifier: BSD-2-Clause
//! The threads of the task queues: the system queues `taskqueue_thread`
//! (tasks may sleep) and `taskqueue_fast` (run as from a software
//! interrupt: sleeping forbidden), and the threads
//! `taskqueue_start_threads` starts for a module's queue
//! (`sys/kern/subr_taskqueue.c`, `taskqueue_thread_loop` and
//! `taskqueue_run_locked`; the queues are `crate::kpi::taskqueue`).

use super::KernelInner;
use crate::addr::KAddr;
use crate::kpi::taskqueue::Job;
use crate::state::{DataSym, ViolationKind};
use crate::thread::{self, witness};

/// The address a system queue's pointer variable holds.
fn system_queue(k: &KernelInner, sym: DataSym) -> KAddr {
    let p = k.core.data_addr(sym).ptr::<usize>();
    // SAFETY: the data block holds the queue pointer for the kernel's
    // lifetime (kdata.rs); it is written once at its creation.
    KAddr::new(unsafe { p.read() })
}

impl KernelInner {
    /// Creates `taskqueue_thread` and `taskqueue_fast` with a thread each.
    pub(super) fn start_system_taskqueues(&self) {
        for (sym, name, fast) in [
            (DataSym::TaskqueueThread, "thread", false),
            (DataSym::TaskqueueFast, "fast_taskq", true),
        ] {
            let tq = system_queue(self, sym);
            self.taskqueues
                .create(tq, name.to_owned(), fast, KAddr::NULL, KAddr::NULL);
            self.start_taskqueue_thread(tq, name);
        }
    }

    /// Starts one worker for queue `tq`.
    pub(super) fn start_taskqueue_thread(&self, tq: KAddr, name: &str) {
        self.taskqueues.thread_started(tq);
        self.workers
            .spawn(self, name, move |k: &KernelInner| taskq_thread(k, tq));
    }
}

/// `taskqueue_thread_loop`: runs the queue's tasks until it is freed.
fn taskq_thread(k: &KernelInner, tq: KAddr) {
    while let Some(job) = k.taskqueues.next(tq) {
        k.enter(|| run(k, &job));
        k.taskqueues.done(tq, job.task);
    }
}

/// One task (`taskqueue_run_locked`).
fn run(k: &KernelInner, job: &Job) {
    if k.core.is_dead() {
        return;
    }
    if job.func.is_null() {
        let msg = String::from("task->ta_func is NULL");
        k.core.violation(ViolationKind::Sleep, msg.clone());
        k.core.record_panic(&msg);
        return;
    }
    let args = [job.context.arg(), u64::from(job.pending), 0, 0, 0, 0];
    let call = || {
        // SAFETY: the module's task handler with its context and pending
        // count, as taskqueue_run_locked calls it.
        unsafe { thread::call(&k.core, None, job.func, args) }
    };
    let r = if job.fast {
        witness::no_sleeping("fast taskqueue task", call)
    } else {
        call()
    };
    if r.is_ok() {
        // A task must not return holding a lock.
        k.locks.userret(&k.core);
    }
}
