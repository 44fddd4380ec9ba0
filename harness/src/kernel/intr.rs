// SPDX-License-Identifier: BSD-2-Clause
//! The interrupt thread: delivers the devices' interrupts to the handlers
//! `bus_setup_intr` set up (`crate::kpi::newbus`), and runs the devices'
//! asynchronous work (edu.c's factorial worker) meanwhile.
//!
//! Followed: `sys/kern/kern_intr.c` as read in freebsd-src's main branch
//! (the `CK_SLIST` version of FreeBSD 13 and later) (`intr_event_handle`
//! runs each filter in a critical section, `td_critnest` raised, asserts
//! "incorrect return value" unless the filter returned `FILTER_STRAY` or
//! a non-empty combination of `FILTER_HANDLED` and
//! `FILTER_SCHEDULE_THREAD` only, and schedules the ithread when a filter
//! returns exactly `FILTER_SCHEDULE_THREAD` or the handler has no filter; `ithread_execute_handlers` runs the
//! handlers in the interrupt thread, where sleeping is forbidden
//! (`THREAD_NO_SLEEPING`); `intr_event_remove_handler` waits for a
//! running handler). One thread stands for both the primary interrupt
//! context and the ithread: a handler's filter and ithread part run in
//! turn, never at once, as on FreeBSD for one handler.

use super::KernelInner;
use crate::addr::KAddr;
use crate::kpi::newbus::IntrCall;
use crate::state::ViolationKind;
use crate::thread::{self, witness};

/// `FILTER_STRAY` (`sys/sys/bus.h`).
const FILTER_STRAY: u64 = 0x01;
/// `FILTER_HANDLED`.
const FILTER_HANDLED: u64 = 0x02;
/// `FILTER_SCHEDULE_THREAD`.
const FILTER_SCHEDULE_THREAD: u64 = 0x04;

impl KernelInner {
    /// Starts the interrupt thread.
    pub(super) fn start_intr_thread(&self) {
        self.workers
            .spawn(self, "intr", |k: &KernelInner| intr_thread(k));
    }
}

/// Waits for the devices and runs the handlers of asserted lines.
fn intr_thread(k: &KernelInner) {
    while k.newbus.kick.wait() {
        if k.core.is_dead() {
            continue;
        }
        let (calls, violations) = k.newbus.pending_interrupts(&k.busdma);
        for v in violations {
            k.core.violation(ViolationKind::Devfs, v);
        }
        for call in calls {
            if !k.newbus.begin_handler(call.cookie) {
                continue;
            }
            k.enter(|| run(k, call));
            k.newbus.end_handler();
        }
    }
}

/// One handler: its filter in a critical section, then its ithread part
/// if the filter asked (or there is no filter), where sleeping is
/// forbidden.
fn run(k: &KernelInner, call: IntrCall) {
    let args = [call.arg as u64, 0, 0, 0, 0, 0];
    let schedule = if call.filter == 0 {
        true
    } else {
        let td = thread::curthread();
        // SAFETY: this thread's own `struct thread`; critical_enter.
        let outer = unsafe { (*td).td_critnest };
        // SAFETY: as above.
        unsafe { (*td).td_critnest = outer.saturating_add(1) };
        let r = witness::no_sleeping("interrupt filter", || {
            // SAFETY: the module's `driver_filter_t` with its argument,
            // as intr_event_handle calls it.
            unsafe { thread::call(&k.core, None, KAddr::new(call.filter), args) }
        });
        // SAFETY: as above; critical_exit (to the outer level also when
        // the filter escaped, its own critical sections unbalanced).
        unsafe { (*td).td_critnest = outer };
        match r {
            Ok(r) => {
                // CAST: driver_filter_t returns an int.
                let v = u64::from(r as u32);
                k.newbus
                    .count_handler(Some(v), FILTER_STRAY, FILTER_HANDLED);
                let both = FILTER_HANDLED | FILTER_SCHEDULE_THREAD;
                if !(v == FILTER_STRAY || (v & both != 0 && v & !both == 0)) {
                    k.core.violation(
                        ViolationKind::Sleep,
                        format!("intr_event_handle: incorrect return value {v:#x} from the filter"),
                    );
                }
                v == FILTER_SCHEDULE_THREAD
            }
            Err(_) => return,
        }
    };
    if schedule && call.ithread != 0 {
        k.newbus.count_handler(None, FILTER_STRAY, FILTER_HANDLED);
        let r = witness::no_sleeping("interrupt thread handler", || {
            // SAFETY: the module's `driver_intr_t` with its argument, as
            // ithread_execute_handlers calls it.
            unsafe { thread::call(&k.core, None, KAddr::new(call.ithread), args) }
        });
        if r.is_ok() {
            // A handler must not return holding a lock.
            k.locks.userret(&k.core);
        }
    } else if schedule {
        k.core.violation(
            ViolationKind::Sleep,
            String::from("interrupt filter returned FILTER_SCHEDULE_THREAD without a handler"),
        );
    }
}
