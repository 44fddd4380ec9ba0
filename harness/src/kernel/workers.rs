// SPDX-License-Identifier: BSD-2-Clause
//! The kernel's own threads: the softclock thread that runs callouts
//! and the threads of the task queues. Each is a host thread running
//! module code for the kernel it belongs to.
//!
//! A worker refers to its kernel by address: a [`KernelInner`] lives in
//! the `Arc` of its [`Kernel`](super::Kernel) handles from the moment
//! the first worker starts (`Kernel::with_config`, or an entry point,
//! whose kernel is always that `Arc`'s) until it is dropped, and its
//! `Drop` stops and joins every worker before any of its fields goes.

use super::KernelInner;
use crate::sync::lock_ignoring_poison;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The address of a kernel, for its workers.
#[derive(Clone, Copy)]
struct KernelRef(*const KernelInner);

// SAFETY: the kernel outlives its workers (module docs) and is `Sync`:
// its parts are shared between threads behind their own locks.
unsafe impl Send for KernelRef {}

impl KernelRef {
    /// The kernel.
    fn get(&self) -> &KernelInner {
        // SAFETY: the kernel is alive until it has joined this worker
        // (module docs).
        unsafe { &*self.0 }
    }
}

/// The workers of one kernel.
#[derive(Default)]
pub(super) struct Workers {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Starts a worker named `name` running `f` on kernel `k`.
    ///
    /// `k` must be the kernel inside its `Arc` (see the module docs).
    pub(super) fn spawn(
        &self,
        k: &KernelInner,
        name: &str,
        f: impl FnOnce(&KernelInner) + Send + 'static,
    ) {
        let r = KernelRef(k);
        let h = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let r = r;
                f(r.get());
            })
            .expect("cannot start a kernel thread");
        lock_ignoring_poison(&self.handles).push(h);
    }

    /// Joins every worker, once each was told to stop. A worker that
    /// does not finish in `limit` is stuck in module code: the kernel
    /// panics, which makes every wait in the kernel give up.
    pub(super) fn join_all(&self, k: &KernelInner, limit: Duration) {
        let handles: Vec<JoinHandle<()>> =
            core::mem::take(&mut *lock_ignoring_poison(&self.handles));
        let end = Instant::now() + limit;
        for h in handles {
            while !h.is_finished() {
                if Instant::now() >= end && !k.core.is_dead() {
                    k.core.record_panic(&format!(
                        "kernel thread \"{}\" did not stop at shutdown",
                        h.thread().name().unwrap_or("?")
                    ));
                    k.locks.wake_all();
                    k.devfs.wake_all();
                    k.sleepq.notify();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            drop(h.join());
        }
    }
}
