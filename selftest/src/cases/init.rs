// SPDX-License-Identifier: BSD-2-Clause
//! `kern::init`: a structure of locks and a task, initialised in place,
//! whose initialisation fails part-way.

// `#[pin_data]` (pinned-init) gives each structure a `Copy` companion
// with a hand-written `Clone`: its expansion, not ours.
#![allow(
    clippy::expl_impl_clone_on_copy,
    reason = "the expansion of pinned-init's #[pin_data]"
)]

use super::fail;
use core::sync::atomic::{AtomicU32, Ordering};
use kern::alloc::Box;
use kern::init::{PinInit, pin_data, try_pin_box, try_pin_init};
use kern::prelude::*;
use kern::sync::{Mutex, SxLock};
use kern::taskqueue::{Task, TaskHandler};

/// Counts its drops.
struct Counted<'a>(&'a AtomicU32);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A task that never runs (it is never enqueued).
struct Idle;

impl TaskHandler for Idle {
    fn run(&self, _pending: u32, _cx: &mut Sleepable) {}
}

/// Two locks and a task, in place, then a step that allocates with
/// `M_NOWAIT`.
#[pin_data]
struct Softc<'a> {
    #[pin]
    mtx: Mutex<Counted<'a>>,
    #[pin]
    sx: SxLock<Counted<'a>>,
    #[pin]
    task: Task<Idle>,
    buf: Box<[u8; 64]>,
}

/// The initialiser: the locks and the task first, the buffer last.
#[allow(
    clippy::mem_forget,
    reason = "try_pin_init! forgets its drop guards once every field is initialised"
)]
fn softc(drops: &AtomicU32) -> impl PinInit<Softc<'_>, Error> {
    try_pin_init!(Softc {
        mtx <- Mutex::new_in_place(c"kselftest init mtx", Counted(drops)),
        sx <- SxLock::new_in_place(c"kselftest init sx", Counted(drops)),
        task <- Task::new_in_place(Idle),
        buf: Box::try_new([0; 64], M_NOWAIT)?,
    }? Error)
}

/// Rule (`kern::init`): when a step of an in-place initialisation fails,
/// the fields already initialised are dropped in place (the two locks
/// destroyed, the task drained) before the memory is freed, and the error
/// is returned. The test kernel reports a lock whose memory is freed while
/// it is still initialised, so a lock left behind fails the test.
///
/// Run with every `M_NOWAIT` allocation failing. The value is the drops
/// of the locks' data: 2. Without failures the buffer is allocated and the
/// case fails with `EAGAIN`.
pub(super) fn init_fault(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "init_fault";
    let drops = AtomicU32::new(0);
    match try_pin_box(softc(&drops), cx.waitok()) {
        Err(e) if e == ENOMEM => Ok(u64::from(drops.load(Ordering::Relaxed))),
        Err(e) => fail(CASE, "not ENOMEM", e),
        Ok(done) => {
            drop(done);
            fail(CASE, "the M_NOWAIT step succeeded", EAGAIN)
        }
    }
}
