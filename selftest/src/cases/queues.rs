// SPDX-License-Identifier: BSD-2-Clause
//! Task queues of the module's own and `taskqueue_fast`: tasks run where
//! their handler's token says; dropping the tasks and then the queues
//! drains and frees them; a leaked queue is reported at unload.

use core::sync::atomic::{AtomicU64, Ordering};
use kern::alloc::{Arc, Box};
use kern::context::NoSleep;
use kern::prelude::*;
use kern::taskqueue::{
    Fast, FastTask, FastTaskHandler, QueueTask, Sleeping, TaskHandler, TaskQueue,
};

/// A task that allocates with `M_WAITOK` (it may sleep) and counts.
struct Sleeper(Arc<AtomicU64>);

impl TaskHandler for Sleeper {
    fn run(&self, _pending: u32, cx: &mut Sleepable) {
        let b = Box::new([0u8; 64], cx.waitok());
        drop(b);
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A `taskqueue_fast` task: counts, without sleeping.
struct Counter(Arc<AtomicU64>);

impl FastTaskHandler for Counter {
    fn run(&self, _pending: u32, _cx: &mut NoSleep) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Rule (`kern::taskqueue`): a task on a queue of the module's own, fast
/// or not, runs in the queue's thread where it may sleep; a `FastTask`
/// runs on `taskqueue_fast` without sleeping; dropping each task drains
/// it and dropping the last reference to a queue frees it. Returns the
/// runs (3).
pub(super) fn queues(cx: &mut Sleepable) -> Result<u64> {
    let count = Arc::new(AtomicU64::new(0), cx.waitok());
    let fast = Arc::new(
        TaskQueue::<Fast>::new(c"kselftest fast", 1, cx)?,
        cx.waitok(),
    );
    let slow = Arc::new(
        TaskQueue::<Sleeping>::new(c"kselftest slow", 2, cx)?,
        cx.waitok(),
    );
    let on_fast = QueueTask::new(Sleeper(count.clone()), &fast, cx);
    let on_slow = QueueTask::new(Sleeper(count.clone()), &slow, cx);
    let system = FastTask::new(Counter(count.clone()), cx);
    drop((fast, slow));
    on_fast.enqueue(cx);
    on_slow.enqueue(cx);
    system.enqueue(cx);
    on_fast.drain(cx);
    on_slow.drain(cx);
    system.drain(cx);
    Ok(count.load(Ordering::Relaxed))
}

/// Rule (the test kernel's): a queue leaked with `mem::forget` keeps its
/// threads; unloading the module then is reported.
pub(super) fn forget_queue(cx: &mut Sleepable) -> Result<u64> {
    let queue = TaskQueue::<Sleeping>::new(c"kselftest leak", 1, cx)?;
    #[allow(clippy::mem_forget, reason = "the mistake this case makes on purpose")]
    core::mem::forget(queue);
    Ok(0)
}
