// SPDX-License-Identifier: BSD-2-Clause
//! The library routines that allocate: `strdup(9)` and `strdup_flags`
//! (`sys/libkern/strdup.c`: `malloc(strlen + 1, type, flags)` and a copy;
//! `strdup` is `M_WAITOK`, so the copy counts in the type's statistics
//! and leak check, and may not be made with a mutex held).

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use core::ffi::{CStr, c_char, c_int};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "strdup" => harness_strdup,
        "strdup_flags" => harness_strdup_flags,
    ]);
}

/// `strdup(9)`
///
/// # Safety
/// `s` NUL-terminated; `mtp` a malloc type.
unsafe extern "C" fn harness_strdup(s: *const c_char, mtp: *mut sys::malloc_type) -> *mut c_char {
    // SAFETY: forwarded contract.
    unsafe { harness_strdup_flags(s, mtp, sys::M_WAITOK.cast_signed()) }
}

/// `strdup_flags`: NULL if an `M_NOWAIT` allocation fails.
///
/// # Safety
/// `s` NUL-terminated; `mtp` a malloc type.
unsafe extern "C" fn harness_strdup_flags(
    s: *const c_char,
    mtp: *mut sys::malloc_type,
    flags: c_int,
) -> *mut c_char {
    let k = kernel();
    // SAFETY: by the contract.
    let len = unsafe { CStr::from_ptr(s) }.count_bytes() + 1;
    let copy = k
        .malloc
        .malloc(&k.core, len, KAddr::from_ptr(mtp), flags.cast_unsigned());
    if copy.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `s` has `len` bytes with its NUL; `copy` is a fresh block of
    // at least `len`.
    unsafe { core::ptr::copy_nonoverlapping(s.cast::<u8>(), copy, len) };
    copy.cast()
}
