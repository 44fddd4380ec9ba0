// SPDX-License-Identifier: BSD-2-Clause
//! The uio(9) and copy(9) entry points; the work is in `crate::kpi::uio`,
//! checked against the kernel's user memory.

use super::{FuncEntry, kernel};
use crate::addr::UAddr;
use core::ffi::{c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "uiomove" => harness_uiomove,
        "copyin" => harness_copyin,
        "copyout" => harness_copyout,
        "copyinstr" => harness_copyinstr,
    ]);
}

/// uiomove(9).
///
/// # Safety
/// `cp` must be valid for `n` bytes; `uio` must be a valid uio whose
/// iovecs are valid for their segment.
unsafe extern "C" fn harness_uiomove(cp: *mut c_void, n: c_int, uio: *mut sys::uio) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe { k.uio.uiomove(&k.core, &k.user, cp.cast(), n, uio) }
}

/// copyin(9).
///
/// # Safety
/// `kaddr` must be writable for `len` bytes.
unsafe extern "C" fn harness_copyin(uaddr: *const c_void, kaddr: *mut c_void, len: usize) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe {
        k.uio
            .copyin(&k.core, &k.user, UAddr::from_ptr(uaddr), kaddr.cast(), len)
    }
}

/// copyout(9).
///
/// # Safety
/// `kaddr` must be readable for `len` bytes.
unsafe extern "C" fn harness_copyout(
    kaddr: *const c_void,
    uaddr: *mut c_void,
    len: usize,
) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe {
        k.uio
            .copyout(&k.core, &k.user, kaddr.cast(), UAddr::from_ptr(uaddr), len)
    }
}

/// copyinstr(9).
///
/// # Safety
/// `kaddr` writable for `len`; `done` NULL or writable.
unsafe extern "C" fn harness_copyinstr(
    uaddr: *const c_void,
    kaddr: *mut c_void,
    len: usize,
    done: *mut usize,
) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe {
        k.uio.copyinstr(
            &k.core,
            &k.user,
            UAddr::from_ptr(uaddr),
            kaddr.cast(),
            len,
            done,
        )
    }
}
