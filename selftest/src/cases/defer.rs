// SPDX-License-Identifier: BSD-2-Clause
//! Callouts and tasks: dropping one drains it; leaking one leaves it
//! scheduled, which the test kernel reports when the module unloads.

use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use kern::alloc::{Arc, Box};
use kern::callout::{Callout, CalloutHandler};
use kern::prelude::*;
use kern::sync::{Mutex, MutexGuard};
use kern::taskqueue::{Task, TaskHandler};

/// A callout handler that counts its runs in its mutex.
struct Count(Arc<Pin<Box<Mutex<u64>>>>);

impl CalloutHandler for Count {
    type Data = u64;

    fn mutex(&self) -> &Mutex<u64> {
        &self.0
    }

    fn run(&self, runs: &mut MutexGuard<'_, u64>) -> Option<u32> {
        **runs = runs.saturating_add(1);
        None
    }
}

/// A task that counts its runs.
struct Ran(Arc<AtomicU64>);

impl TaskHandler for Ran {
    fn run(&self, _pending: u32, _cx: &mut Sleepable) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A callout scheduled for `ms` milliseconds from now.
fn scheduled(ms: u64, cx: &mut Sleepable) -> Result<Pin<Box<Callout<Count>>>> {
    let runs = Arc::new(
        Mutex::new(c"kselftest callout", 0, cx.waitok()),
        cx.waitok(),
    );
    let callout = Callout::new(Count(runs.clone()), cx);
    let ms = u32::try_from(ms).map_err(|_| EINVAL)?;
    callout.reset(&mut runs.lock(cx), ms)?;
    Ok(callout)
}

/// Rule (`kern::callout`, `kern::taskqueue`): dropping a scheduled
/// callout or an enqueued task drains it, so nothing stays scheduled on
/// freed memory. Returns how many times the task ran before its drain
/// returned.
pub(super) fn drop_drains(ms: u64, cx: &mut Sleepable) -> Result<u64> {
    let callout = scheduled(ms, cx)?;
    drop(callout);
    let count = Arc::new(AtomicU64::new(0), cx.waitok());
    let task = Task::new(Ran(count.clone()), cx);
    task.enqueue(cx);
    // taskqueue_drain waits until the task is neither queued nor running:
    // the queued run happens first.
    Task::drain(task, cx);
    Ok(count.load(Ordering::Relaxed))
}

/// Rule (the test kernel's): a callout leaked with `mem::forget` stays
/// scheduled; unloading the module then is reported.
pub(super) fn forget_callout(ms: u64, cx: &mut Sleepable) -> Result<u64> {
    let callout = scheduled(ms, cx)?;
    #[allow(clippy::mem_forget, reason = "the mistake this case makes on purpose")]
    core::mem::forget(callout);
    Ok(0)
}
