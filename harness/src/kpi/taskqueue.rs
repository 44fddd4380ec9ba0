// SPDX-License-Identifier: BSD-2-Clause
//! taskqueue(9): the task queues of one kernel (the system queues
//! `taskqueue_thread` and `taskqueue_fast`, and those modules create),
//! their pending tasks and the rules of enqueueing, cancelling and
//! draining. The threads that run the tasks are the kernel's
//! (`crate::kernel`), since they call module code.
//!
//! Followed (FreeBSD 15): `sys/kern/subr_taskqueue.c`
//! (`taskqueue_enqueue_locked`: a pending task is not queued twice, its
//! `ta_pending` counts the enqueues up to `USHRT_MAX`, or the enqueue
//! fails with `EEXIST` under `TASKQUEUE_FAIL_IF_PENDING` and `ECANCELED`
//! under `TASKQUEUE_FAIL_IF_CANCELING` while the task is being
//! cancelled; tasks are kept by descending `ta_priority`, in order within
//! one priority; the queue's enqueue function is then called with its
//! context; `taskqueue_run_locked`: the pending count is handed to the
//! handler and cleared before it runs; `taskqueue_cancel`: a pending
//! task is removed and `EBUSY` returned if it is running;
//! `taskqueue_drain` and `taskqueue_drain_all`: they wait, with
//! WITNESS's sleep check on a queue that is not a spin one;
//! `taskqueue_free`: the threads finish the queued tasks and exit).
//!
//! A fast queue (`taskqueue_fast`, or one made by
//! `taskqueue_create_fast`) differs from the others in its lock only: a
//! spin mutex (`TQ_LOCK` is `mtx_lock_spin`), so that an interrupt
//! filter may enqueue on it; on any other queue `TQ_LOCK` is `mtx_lock`,
//! which WITNESS refuses in a critical section (`crate::thread::witness`;
//! the check is in `crate::kernel::entry::taskqueue`). Where a task runs
//! depends on who serves the queue: `taskqueue_run_locked` releases
//! `TQ_LOCK` around the handler, so the threads `taskqueue_start_threads`
//! starts (`taskqueue_thread_loop`, kernel threads) run it where it may
//! sleep, fast queue or not; `taskqueue_fast` is served by a software
//! interrupt (`taskqueue_fast_run`, `swi_add` in `TASKQUEUE_FAST_DEFINE`),
//! an interrupt thread, which locking(9) forbids to sleep.
//! `taskqueue_free` clears `TQ_FLAGS_ACTIVE` and waits in
//! `taskqueue_terminate` for its threads, each of which runs what is
//! still queued (`taskqueue_run_locked` after its loop) and exits.
//! (Read at freebsd-src commit 76d196bc; the queue's structure has not
//! changed since in these respects.)
//!
//! Checks of ours: a task of `taskqueue_fast` runs with sleeping
//! forbidden (the software interrupt thread must not sleep: locking(9));
//! draining a
//! task from its own handler (it would wait for itself); a task still
//! queued or running when the module whose memory or code it uses is
//! unloaded.

use crate::addr::{KAddr, KRange};
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A task the queue runs now (`struct taskqueue_busy`).
struct Running {
    task: KAddr,
    /// The worker running it (`thread_key`).
    thread: usize,
    /// `tb_canceling`.
    canceling: bool,
}

/// One queue.
struct Queue {
    name: String,
    /// Created with `taskqueue_create_fast` (a spin mutex), or
    /// `taskqueue_fast`: an interrupt filter may enqueue on it.
    fast: bool,
    /// `TQ_FLAGS_ACTIVE`: not being freed.
    active: bool,
    /// The queue's enqueue function and its context (null for the
    /// system queues, whose threads are the kernel's own).
    enqueue: KAddr,
    context: KAddr,
    /// The module function that created it (`thread::module_entry`),
    /// null for the system queues.
    creator: KAddr,
    /// Tasks queued, in the order they run.
    pending: Vec<KAddr>,
    running: Vec<Running>,
    /// Worker threads started and not yet exited.
    threads: usize,
}

#[derive(Default)]
struct State {
    queues: HashMap<KAddr, Queue>,
    stop: bool,
}

/// A task a worker took.
pub(crate) struct Job {
    /// The `struct task`.
    pub(crate) task: KAddr,
    /// `ta_func`, `ta_context` and the pending count.
    pub(crate) func: KAddr,
    pub(crate) context: KAddr,
    pub(crate) pending: u16,
    /// Whether it runs where sleeping is forbidden (on `taskqueue_fast`,
    /// a software interrupt).
    pub(crate) fast: bool,
}

/// The task queues of one kernel.
#[derive(Default)]
pub(crate) struct Taskqueues {
    state: Mutex<State>,
    /// Signalled when a task is queued or finishes, and at a free.
    cv: Condvar,
}

/// How long a waiter sleeps before looking at the kernel's health.
const POLL: Duration = Duration::from_millis(20);

/// The module's `struct task`.
fn task_ref<'a>(t: KAddr) -> &'a mut sys::task {
    // SAFETY: a task the module handed to taskqueue(9), which it keeps
    // alive while it is queued or running (its contract); the queue's
    // state is changed only under the queues' lock, as under `TQ_LOCK`.
    unsafe { &mut *t.ptr::<sys::task>() }
}

impl Taskqueues {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    /// Registers a queue whose handle is `tq` (`taskqueue_create`,
    /// `taskqueue_create_fast`, and the system queues).
    pub(crate) fn create(
        &self,
        tq: KAddr,
        name: String,
        fast: bool,
        enqueue: KAddr,
        context: KAddr,
    ) {
        self.lock().queues.insert(
            tq,
            Queue {
                name,
                fast,
                active: true,
                enqueue,
                context,
                creator: thread::module_entry().unwrap_or(KAddr::NULL),
                pending: Vec::new(),
                running: Vec::new(),
                threads: 0,
            },
        );
    }

    /// Whether `tq` is a queue.
    pub(crate) fn exists(&self, tq: KAddr) -> bool {
        self.lock().queues.contains_key(&tq)
    }

    /// Whether `tq` is a fast (spin) queue.
    pub(crate) fn is_fast(&self, tq: KAddr) -> bool {
        self.lock().queues.get(&tq).is_some_and(|q| q.fast)
    }

    /// The queue's name.
    pub(crate) fn name(&self, tq: KAddr) -> Option<String> {
        self.lock().queues.get(&tq).map(|q| q.name.clone())
    }

    /// Counts a worker started for `tq`.
    pub(crate) fn thread_started(&self, tq: KAddr) {
        if let Some(q) = self.lock().queues.get_mut(&tq) {
            q.threads += 1;
        }
    }

    /// `taskqueue_enqueue_flags`: 0, `EEXIST` or `ECANCELED`; and the
    /// queue's enqueue function with its context to call (when the task
    /// was newly queued), unless it is one of the kernel's own queues.
    pub(crate) fn enqueue(
        &self,
        tq: KAddr,
        task: KAddr,
        flags: u32,
    ) -> (i32, Option<(KAddr, KAddr)>) {
        let mut s = self.lock();
        let Some(q) = s.queues.get_mut(&tq) else {
            return (crate::errno::Errno::EINVAL.0, None);
        };
        let t = task_ref(task);
        if t.ta_pending > 0 {
            if flags & sys::TASKQUEUE_FAIL_IF_PENDING != 0 {
                return (crate::errno::Errno::EEXIST.0, None);
            }
            t.ta_pending = t.ta_pending.saturating_add(1);
            return (0, None);
        }
        if flags & sys::TASKQUEUE_FAIL_IF_CANCELING != 0
            && q.running.iter().any(|r| r.task == task && r.canceling)
        {
            return (crate::errno::Errno::ECANCELED.0, None);
        }
        let pri = t.ta_priority;
        let at = q
            .pending
            .iter()
            .position(|&p| task_ref(p).ta_priority < pri)
            .unwrap_or(q.pending.len());
        q.pending.insert(at, task);
        t.ta_pending = 1;
        let call = (!q.enqueue.is_null()).then_some((q.enqueue, q.context));
        drop(s);
        self.cv.notify_all();
        (0, call)
    }

    /// Wakes the workers (the queue's enqueue function ran:
    /// `taskqueue_thread_enqueue`).
    pub(crate) fn kick(&self) {
        let _s = self.lock();
        self.cv.notify_all();
    }

    /// `taskqueue_cancel`: 0 or `EBUSY`, and the pending count.
    pub(crate) fn cancel(&self, tq: KAddr, task: KAddr) -> (i32, u16) {
        let mut s = self.lock();
        let Some(q) = s.queues.get_mut(&tq) else {
            return (crate::errno::Errno::EINVAL.0, 0);
        };
        let t = task_ref(task);
        if t.ta_pending > 0 {
            q.pending.retain(|&p| p != task);
        }
        let pending = t.ta_pending;
        t.ta_pending = 0;
        let mut busy = false;
        for r in q.running.iter_mut().filter(|r| r.task == task) {
            r.canceling = true;
            busy = true;
        }
        let e = if busy {
            crate::errno::Errno::EBUSY.0
        } else {
            0
        };
        (e, pending)
    }

    /// Whether `task` runs on this very thread (a drain would wait for
    /// itself).
    pub(crate) fn runs_here(&self, tq: KAddr, task: Option<KAddr>) -> bool {
        let me = thread::thread_key();
        self.lock().queues.get(&tq).is_some_and(|q| {
            q.running
                .iter()
                .any(|r| r.thread == me && task.is_none_or(|t| t == r.task))
        })
    }

    /// Waits until `done` says so of the queue `tq`; `false` if the kernel
    /// died (or the queue went away).
    fn wait_until(&self, k: &Core, tq: KAddr, done: impl Fn(&Queue) -> bool) -> bool {
        let mut s = self.lock();
        loop {
            let Some(q) = s.queues.get(&tq) else {
                return true;
            };
            if done(q) {
                return true;
            }
            if k.is_dead() {
                return false;
            }
            s = wait_ignoring_poison(&self.cv, s, POLL);
        }
    }

    /// `taskqueue_drain`: until `task` is neither pending nor running.
    pub(crate) fn drain(&self, k: &Core, tq: KAddr, task: KAddr) -> bool {
        self.wait_until(k, tq, |q| {
            task_ref(task).ta_pending == 0 && !q.running.iter().any(|r| r.task == task)
        })
    }

    /// `taskqueue_drain_all`: until nothing is queued or running (but
    /// what runs on this thread).
    pub(crate) fn drain_all(&self, k: &Core, tq: KAddr) -> bool {
        let me = thread::thread_key();
        self.wait_until(k, tq, |q| {
            q.pending.is_empty() && q.running.iter().all(|r| r.thread == me)
        })
    }

    /// `taskqueue_free`: the queue stops taking work, its workers finish
    /// what is queued and exit; then it is gone. `false` if the kernel
    /// died meanwhile.
    pub(crate) fn free(&self, k: &Core, tq: KAddr) -> bool {
        if let Some(q) = self.lock().queues.get_mut(&tq) {
            q.active = false;
        }
        self.cv.notify_all();
        let ok = self.wait_until(k, tq, |q| q.threads == 0);
        self.lock().queues.remove(&tq);
        ok
    }

    /// A worker of `tq` takes the next task; `None` when it must exit
    /// (the queue is being freed and empty, or the kernel stops).
    pub(crate) fn next(&self, tq: KAddr) -> Option<Job> {
        let me = thread::thread_key();
        let mut s = self.lock();
        loop {
            let stop = s.stop;
            let q = s.queues.get_mut(&tq)?;
            if !q.pending.is_empty() {
                let task = q.pending.remove(0);
                let t = task_ref(task);
                let pending = t.ta_pending;
                t.ta_pending = 0;
                q.running.push(Running {
                    task,
                    thread: me,
                    canceling: false,
                });
                let func = t.ta_func.map_or(KAddr::NULL, |f| KAddr::new(f as usize));
                return Some(Job {
                    task,
                    func,
                    context: KAddr::from_ptr(t.ta_context),
                    pending,
                    // Only `taskqueue_fast` (a system queue: no enqueue
                    // function of a module) runs in a software interrupt;
                    // a module's fast queue runs in its own threads.
                    fast: q.fast && q.enqueue.is_null(),
                });
            }
            if !q.active || stop {
                q.threads = q.threads.saturating_sub(1);
                drop(s);
                self.cv.notify_all();
                return None;
            }
            s = wait_ignoring_poison(&self.cv, s, Duration::from_millis(50));
        }
    }

    /// A worker finished `task` (`wakeup(task)` for the drains).
    pub(crate) fn done(&self, tq: KAddr, task: KAddr) {
        let me = thread::thread_key();
        if let Some(q) = self.lock().queues.get_mut(&tq)
            && let Some(i) = q
                .running
                .iter()
                .position(|r| r.task == task && r.thread == me)
        {
            q.running.remove(i);
        }
        self.cv.notify_all();
    }

    /// Tells every worker to exit once its queue is empty (shutdown).
    pub(crate) fn stop_threads(&self) {
        self.lock().stop = true;
        self.cv.notify_all();
    }

    /// Forgets the tasks whose structure lies in `range` (memory being
    /// freed) and reports those still queued or running.
    pub(crate) fn forget_freed(&self, k: &Core, range: KRange) {
        let mut s = self.lock();
        for q in s.queues.values_mut() {
            let stale: Vec<KAddr> = q
                .pending
                .iter()
                .copied()
                .filter(|&t| range.contains(t))
                .collect();
            for t in stale {
                q.pending.retain(|&p| p != t);
                k.violation(
                    ViolationKind::Sleep,
                    format!("task {t:#x} still queued on \"{}\" when its memory was freed (missing taskqueue_drain)", q.name),
                );
            }
            for r in q.running.iter().filter(|r| range.contains(r.task)) {
                k.violation(
                    ViolationKind::Sleep,
                    format!("task {:#x} still running on \"{}\" when its memory was freed (missing taskqueue_drain)", r.task, q.name),
                );
            }
        }
    }

    /// Forgets the tasks whose structure or handler lies in `range` (a
    /// module being unloaded) and reports those still queued or running;
    /// reports queues the module created (from its code, or with its
    /// memory as the queue's context) and did not free: their threads
    /// would run on.
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut s = self.lock();
        for q in s.queues.values_mut() {
            let stale: Vec<KAddr> = q
                .pending
                .iter()
                .copied()
                .filter(|&t| {
                    range.contains(t)
                        || task_ref(t)
                            .ta_func
                            .is_some_and(|f| range.contains(KAddr::new(f as usize)))
                })
                .collect();
            for t in stale {
                q.pending.retain(|&p| p != t);
                k.violation(
                    ViolationKind::Sleep,
                    format!(
                        "task {t:#x} still queued on \"{}\" when its module was unloaded (missing taskqueue_drain)",
                        q.name
                    ),
                );
            }
            for r in q.running.iter().filter(|r| range.contains(r.task)) {
                k.violation(
                    ViolationKind::Sleep,
                    format!(
                        "task {:#x} still running on \"{}\" when its module was unloaded (missing taskqueue_drain)",
                        r.task, q.name
                    ),
                );
            }
        }
        let leaked: Vec<KAddr> = s
            .queues
            .iter()
            .filter(|(_, q)| {
                (!q.context.is_null() && range.contains(q.context))
                    || (!q.creator.is_null() && range.contains(q.creator))
            })
            .map(|(tq, _)| *tq)
            .collect();
        for tq in leaked {
            if let Some(q) = s.queues.get_mut(&tq) {
                q.active = false;
                k.violation(
                    ViolationKind::Sleep,
                    format!("taskqueue \"{}\" still exists after its module was unloaded (missing taskqueue_free)", q.name),
                );
            }
        }
        drop(s);
        self.cv.notify_all();
    }
}
