// SPDX-License-Identifier: BSD-2-Clause
//! The callout(9) entry points: `callout_init`, `_callout_init_lock`
//! (behind `callout_init_mtx`), `callout_reset_sbt_on` (behind
//! `callout_reset`, `callout_reset_sbt`, ...), `callout_schedule`,
//! `callout_schedule_on` and `_callout_stop_safe` (behind `callout_stop`
//! and `callout_drain`). The rules and their sources are in
//! `crate::kpi::callout`; the thread that runs the handlers is
//! `crate::kernel::softclock`.

use super::sleep::fatal;
use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::kpi::lock::LockClass;
use crate::state::ViolationKind;
use crate::thread::witness;
use core::ffi::{c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "callout_init" => harness_callout_init,
        "_callout_init_lock" => harness_callout_init_lock,
        "callout_reset_sbt_on" => harness_callout_reset_sbt_on,
        "callout_schedule" => harness_callout_schedule,
        "callout_schedule_on" => harness_callout_schedule_on,
        "_callout_stop_safe" => harness_callout_stop_safe,
    ]);
}

/// `callout_init(9)`: MP-safe, or run with Giant held.
extern "C" fn harness_callout_init(c: *mut sys::callout, mpsafe: c_int) {
    let k = kernel();
    let lock = if mpsafe != 0 { KAddr::NULL } else { k.giant() };
    k.callouts.init(&k.core, KAddr::from_ptr(c), lock, 0);
}

/// `_callout_init_lock` (`callout_init_mtx(9)`), with its `KASSERT`s.
extern "C" fn harness_callout_init_lock(
    c: *mut sys::callout,
    lock: *mut sys::lock_object,
    flags: c_int,
) {
    let k = kernel();
    let lock = KAddr::from_ptr(lock);
    let fl = flags.cast_unsigned();
    if fl & !(sys::CALLOUT_RETURNUNLOCKED | sys::CALLOUT_SHAREDLOCK) != 0 {
        fatal(k, format!("callout_init_lock: bad flags {flags}"));
    }
    if lock.is_null() && fl & sys::CALLOUT_RETURNUNLOCKED != 0 {
        fatal(
            k,
            String::from("callout_init_lock: CALLOUT_RETURNUNLOCKED with no lock"),
        );
    }
    if !lock.is_null() && k.locks.class_of(lock) == Some(LockClass::Sx) {
        fatal(
            k,
            format!("_callout_init_lock: callout {c:p} has sleepable lock"),
        );
    }
    k.callouts.init(&k.core, KAddr::from_ptr(c), lock, fl);
}

/// `callout_reset_sbt_on(9)`; returns whether a pending callout was
/// rescheduled.
extern "C" fn harness_callout_reset_sbt_on(
    c: *mut sys::callout,
    sbt: i64,
    _prec: i64,
    func: *const c_void,
    arg: *mut c_void,
    _cpu: c_int,
    flags: c_int,
) -> c_int {
    let k = kernel();
    let ca = KAddr::from_ptr(c);
    let Some(lock) = k.callouts.lock_of(ca) else {
        k.core.violation(
            ViolationKind::Sleep,
            format!("callout_reset_sbt_on: callout {ca:#x} was never initialised (callout_init, callout_init_mtx)"),
        );
        return 0;
    };
    if !lock.is_null() && lock != k.giant() && !k.locks.owned(lock) {
        k.core.violation(
            ViolationKind::Sleep,
            format!("callout_reset_sbt_on: callout {ca:#x} changed without holding its lock {lock:#x} (callout_init_mtx)"),
        );
    }
    let when = k.clock.when(sbt, flags.cast_unsigned());
    k.callouts
        .reset(ca, when, KAddr::from_ptr(func), KAddr::from_ptr(arg))
        .unwrap_or(0)
}

/// `callout_schedule_on(9)`: again, with the handler and argument of
/// the last `callout_reset` (`callout_reset_on` with `c_func`, `c_arg`).
///
/// # Safety
/// `c` the module's callout.
unsafe extern "C" fn harness_callout_schedule_on(
    c: *mut sys::callout,
    ticks: c_int,
    cpu: c_int,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let co = unsafe { &*c };
    let (func, arg) = (co.c_func, co.c_arg);
    let f = func.map_or(core::ptr::null(), |f| f as *const c_void);
    let sbt = k.clock.tick_sbt().saturating_mul(i64::from(ticks));
    harness_callout_reset_sbt_on(c, sbt, 0, f, arg, cpu, sys::C_HARDCLOCK.cast_signed())
}

/// `callout_schedule(9)`.
///
/// # Safety
/// `c` the module's callout.
unsafe extern "C" fn harness_callout_schedule(c: *mut sys::callout, ticks: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { harness_callout_schedule_on(c, ticks, -1) }
}

/// `_callout_stop_safe` (`callout_stop(9)`, `callout_drain(9)`).
extern "C" fn harness_callout_stop_safe(c: *mut sys::callout, flags: c_int) -> c_int {
    let k = kernel();
    let ca = KAddr::from_ptr(c);
    let drain = flags.cast_unsigned() & sys::CS_DRAIN != 0;
    let Some(lock) = k.callouts.lock_of(ca) else {
        return -1;
    };
    if drain {
        witness::check_may_sleep_except(&k.core, lock, "calling _callout_stop_safe");
        if let Some(ctx) = witness::no_sleeping_context() {
            fatal(
                k,
                format!(
                    "callout_drain: callout {ca:#x} drained where sleeping is prohibited (a {ctx})"
                ),
            );
        }
    }
    let use_lock = if drain || lock.is_null() {
        false
    } else if lock == k.giant() {
        k.locks.owned(lock)
    } else if k.locks.owned(lock) {
        true
    } else {
        fatal(
            k,
            format!(
                "mutex {lock:#x} not owned at kern_timeout.c:0 (_callout_stop_safe of callout {ca:#x} without its callout_init_mtx lock)"
            ),
        );
    };
    match k.callouts.stop(&k.core, ca, drain, use_lock) {
        Some(r) => r,
        None => crate::thread::escape(),
    }
}
