// SPDX-License-Identifier: BSD-2-Clause
//! critical_enter(9) and critical_exit(9), as they expand in a module
//! (`sys/sys/systm.h`: with `KLD_MODULE` they are the functions
//! `critical_enter_KBI` and `critical_exit_KBI`): they count
//! `td_critnest` in the thread's own `struct thread`, which the rules of
//! `crate::thread::witness` read (a sleep lock or a sleep in a critical
//! section). An interrupt filter runs in one (`intr_event_handle` in
//! `sys/kern/kern_intr.c` enters it around the filters), so a C test
//! module makes a filter's context with them.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_switch.c` (`critical_enter_KBI`,
//! `critical_exit_KBI`), `sys/sys/systm.h` (`critical_exit`'s
//! `KASSERT(td->td_critnest != 0, ("critical_exit: td_critnest == 0"))`).

use super::sleep::fatal;
use super::{FuncEntry, kernel};
use crate::thread;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "critical_enter_KBI" => harness_critical_enter,
        "critical_exit_KBI" => harness_critical_exit,
    ]);
}

/// `critical_enter(9)`.
extern "C" fn harness_critical_enter() {
    let td = thread::curthread();
    // SAFETY: this thread's own `struct thread`; only this thread (and
    // module code on it) touches `td_critnest`.
    unsafe { (*td).td_critnest += 1 };
}

/// `critical_exit(9)`: a `KASSERT` if not in a critical section.
extern "C" fn harness_critical_exit() {
    let td = thread::curthread();
    // SAFETY: as in `harness_critical_enter`.
    let n = unsafe { (*td).td_critnest };
    if n == 0 {
        fatal(kernel(), String::from("critical_exit: td_critnest == 0"));
    }
    // SAFETY: as above.
    unsafe { (*td).td_critnest = n - 1 };
}
