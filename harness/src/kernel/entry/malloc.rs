// SPDX-License-Identifier: BSD-2-Clause
//! The malloc(9) entry points (the work is in `crate::kpi::malloc`).

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::state::ViolationKind;
use crate::thread;
use core::ffi::{c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "malloc" => harness_malloc,
        "malloc_aligned" => harness_malloc_aligned,
        "realloc" => harness_realloc,
        "reallocf" => harness_reallocf,
        "free" => harness_free,
        "malloc_init" => harness_malloc_init,
        "malloc_uninit" => harness_malloc_uninit,
    ]);
}

/// The `int flags` argument as the `M_*` bits.
fn flags_of(f: c_int) -> u32 {
    f.cast_unsigned()
}

/// malloc(9).
extern "C" fn harness_malloc(size: usize, mtp: *mut sys::malloc_type, flags: c_int) -> *mut c_void {
    let k = kernel();
    k.malloc
        .malloc(&k.core, size, KAddr::from_ptr(mtp), flags_of(flags))
        .cast()
}

/// malloc_aligned(9) (`malloc_domainset_aligned` in kern_malloc.c).
extern "C" fn harness_malloc_aligned(
    size: usize,
    align: usize,
    mtp: *mut sys::malloc_type,
    flags: c_int,
) -> *mut c_void {
    let k = kernel();
    k.malloc
        .malloc_aligned(&k.core, size, align, KAddr::from_ptr(mtp), flags_of(flags))
        .cast()
}

/// realloc(9).
extern "C" fn harness_realloc(
    addr: *mut c_void,
    size: usize,
    mtp: *mut sys::malloc_type,
    flags: c_int,
) -> *mut c_void {
    let k = kernel();
    k.malloc
        .realloc(
            &k.core,
            KAddr::from_ptr(addr),
            size,
            KAddr::from_ptr(mtp),
            flags_of(flags),
        )
        .cast()
}

/// reallocf(9).
extern "C" fn harness_reallocf(
    addr: *mut c_void,
    size: usize,
    mtp: *mut sys::malloc_type,
    flags: c_int,
) -> *mut c_void {
    let k = kernel();
    k.malloc
        .reallocf(
            &k.core,
            KAddr::from_ptr(addr),
            size,
            KAddr::from_ptr(mtp),
            flags_of(flags),
        )
        .cast()
}

/// free(9). A callout or task still scheduled in the memory is reported
/// (and forgotten, so that it does not fire from freed memory), and so is
/// a lock still initialised in it (never destroyed), and an interrupt
/// handler whose argument it is (never torn down).
extern "C" fn harness_free(addr: *mut c_void, mtp: *mut sys::malloc_type) {
    let k = kernel();
    let a = KAddr::from_ptr(addr);
    if let Some(r) = k.malloc.live_range(a) {
        k.callouts.forget_freed(&k.core, r);
        k.taskqueues.forget_freed(&k.core, r);
        k.locks.forget_freed(&k.core, r);
        for name in k
            .newbus
            .forget_handlers_with_arg(|x| r.contains(KAddr::new(x)))
        {
            k.core.violation(
                ViolationKind::Devfs,
                format!(
                    "{name}: interrupt handler still set up when its argument's memory was \
                     freed (missing bus_teardown_intr)"
                ),
            );
        }
    }
    k.malloc.free(&k.core, a, KAddr::from_ptr(mtp));
}

/// malloc_init (the SYSINIT of MALLOC_DEFINE).
///
/// # Safety
/// `data` must point to the module's `struct malloc_type`.
unsafe extern "C" fn harness_malloc_init(data: *mut c_void) {
    let k = kernel();
    // SAFETY: forwarded contract.
    if unsafe { k.malloc.init(&k.core, data.cast()) }.is_err() {
        thread::escape();
    }
}

/// malloc_uninit (the SYSUNINIT of MALLOC_DEFINE).
///
/// # Safety
/// `data` must point to the module's `struct malloc_type`.
unsafe extern "C" fn harness_malloc_uninit(data: *mut c_void) {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe { k.malloc.uninit(&k.core, data.cast()) };
}
