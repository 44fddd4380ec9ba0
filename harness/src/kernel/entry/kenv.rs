// SPDX-License-Identifier: BSD-2-Clause
//! The kernel environment's entry points for modules: `getenv_quad`,
//! `getenv_int` and `getenv_string` (`TUNABLE_QUAD_FETCH`,
//! `TUNABLE_INT_FETCH`, `TUNABLE_STR_FETCH`; `sys/kern/kern_environment.c`,
//! FreeBSD 15). Each returns 1 and stores the value, or 0 and leaves it.

use super::{FuncEntry, kernel};
use crate::kpi::kenv::getenv_quad;
use crate::thread::witness;
use core::ffi::{CStr, c_char, c_int};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "getenv_quad" => harness_getenv_quad,
        "getenv_int" => harness_getenv_int,
        "getenv_string" => harness_getenv_string,
    ]);
}

/// The variable `name`, if set (`kenv_acquire`, which takes `kenv_lock`,
/// a mutex: the caller must be allowed to block).
///
/// # Safety
/// `name` is NULL or NUL-terminated.
unsafe fn lookup(name: *const c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    let k = kernel();
    witness::check_may_sleep(&k.core, "kenv_acquire()");
    // SAFETY: NUL-terminated by the contract.
    let name = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
    k.kenv.get(name)
}

/// getenv_quad(9).
///
/// # Safety
/// `name` NUL-terminated, `data` a writable `quad_t`.
unsafe extern "C" fn harness_getenv_quad(name: *const c_char, data: *mut i64) -> c_int {
    // SAFETY: forwarded contract.
    let Some(v) = unsafe { lookup(name) }.as_deref().and_then(getenv_quad) else {
        return 0;
    };
    // SAFETY: writable by the contract.
    unsafe { data.write(v) };
    1
}

/// getenv_int(9): `getenv_quad`, then `*data = (int)tmp` (truncated).
///
/// # Safety
/// `name` NUL-terminated, `data` a writable `int`.
unsafe extern "C" fn harness_getenv_int(name: *const c_char, data: *mut c_int) -> c_int {
    // SAFETY: forwarded contract.
    let Some(v) = unsafe { lookup(name) }.as_deref().and_then(getenv_quad) else {
        return 0;
    };
    // CAST: C's (int) conversion keeps the low 32 bits.
    #[allow(clippy::cast_possible_truncation, reason = "C's (int) cast")]
    // SAFETY: writable by the contract.
    unsafe {
        data.write(v as c_int);
    }
    1
}

/// getenv_string(9): `strlcpy(data, value, size)`.
///
/// # Safety
/// `name` NUL-terminated, `data` writable for `size` bytes.
unsafe extern "C" fn harness_getenv_string(
    name: *const c_char,
    data: *mut c_char,
    size: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    let Some(v) = (unsafe { lookup(name) }) else {
        return 0;
    };
    let size = usize::try_from(size).unwrap_or(0);
    if size > 0 {
        let n = v.len().min(size - 1);
        // SAFETY: `n + 1 <= size` bytes fit in `data` (the contract).
        unsafe { core::ptr::copy_nonoverlapping(v.as_ptr(), data.cast::<u8>(), n) };
        // SAFETY: as above: `n < size`.
        let end = unsafe { data.add(n) };
        // SAFETY: as above.
        unsafe { end.write(0) };
    }
    1
}
