// SPDX-License-Identifier: BSD-2-Clause
//! The counter(9) entry points (the work is in `crate::kpi::counter`)
//! and `sysctl_handle_counter_u64` (`sys/kern/subr_counter.c`, FreeBSD
//! 15). `counter_u64_add` is not one: it is inline module code.

use super::{FuncEntry, kernel};
use crate::errno::Errno;
use crate::kpi::counter;
use crate::state::ViolationKind;
use crate::thread::witness;
use core::ffi::{c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "counter_u64_alloc" => harness_counter_u64_alloc,
        "counter_u64_free" => harness_counter_u64_free,
        "counter_u64_fetch" => harness_counter_u64_fetch,
        "counter_u64_zero" => harness_counter_u64_zero,
        "sysctl_handle_counter_u64" => harness_sysctl_handle_counter_u64,
    ]);
}

/// counter_u64_alloc(9): `M_WAITOK` may sleep (`uma_zalloc_pcpu`).
extern "C" fn harness_counter_u64_alloc(flags: c_int) -> *mut u64 {
    let k = kernel();
    if flags.cast_unsigned() & sys::M_WAITOK != 0 {
        witness::check_may_sleep(&k.core, "counter_u64_alloc(M_WAITOK)");
    }
    k.counters.alloc() as *mut u64
}

/// counter_u64_free(9). A pointer that is no live counter is reported
/// (FreeBSD would corrupt its per-CPU zone).
extern "C" fn harness_counter_u64_free(c: *mut u64) {
    let k = kernel();
    if !k.counters.free(c as usize) {
        k.core.violation(
            ViolationKind::Malloc,
            format!("counter_u64_free({c:p}): not a live counter"),
        );
    }
}

/// counter_u64_fetch(9).
extern "C" fn harness_counter_u64_fetch(c: *mut u64) -> u64 {
    let k = kernel();
    if !k.counters.is_live(c as usize) {
        k.core.violation(
            ViolationKind::Malloc,
            format!("counter_u64_fetch({c:p}): not a live counter"),
        );
        return 0;
    }
    counter::fetch(c as usize)
}

/// counter_u64_zero(9).
extern "C" fn harness_counter_u64_zero(c: *mut u64) {
    let k = kernel();
    if !k.counters.is_live(c as usize) {
        k.core.violation(
            ViolationKind::Malloc,
            format!("counter_u64_zero({c:p}): not a live counter"),
        );
        return;
    }
    counter::zero(c as usize);
}

/// `sysctl_handle_counter_u64`: `arg1` points at the `counter_u64_t`;
/// the sum goes out, and any new value zeroes the counter.
///
/// # Safety
/// As the kernel's: `arg1` points at a live `counter_u64_t`, `req` a live
/// request.
unsafe extern "C" fn harness_sysctl_handle_counter_u64(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: by the caller's contract.
    let c = unsafe { *arg1.cast::<*mut u64>() };
    let out = harness_counter_u64_fetch(c);
    // SAFETY: `req` valid by the contract.
    let Some(oldfunc) = (unsafe { (*req).oldfunc }) else {
        return Errno::EINVAL.0;
    };
    // SAFETY: the request's own output function, with a readable `u64`.
    let e = unsafe { oldfunc(req, (&raw const out).cast(), size_of::<u64>()) };
    // SAFETY: `req` valid.
    if e != 0 || unsafe { (*req).newptr }.is_null() {
        return e;
    }
    // "Any write attempt to a counter zeroes it."
    harness_counter_u64_zero(c);
    0
}
