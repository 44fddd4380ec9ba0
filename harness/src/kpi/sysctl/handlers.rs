// SPDX-License-Identifier: BSD-2-Clause
//! The standard handlers: `sysctl_handle_int`/`long`/`64`/`string`/
//! `opaque` (sysctl(9)), over `SYSCTL_OUT`/`SYSCTL_IN`.

use crate::errno::Errno;
use core::ffi::{CStr, c_char, c_int, c_void};

/// `SYSCTL_OUT(req, p, l)`.
///
/// # Safety
/// `req` valid with its `oldfunc` set.
unsafe fn sysctl_out(req: *mut sys::sysctl_req, p: *const c_void, l: usize) -> c_int {
    // SAFETY: by the caller's contract.
    match unsafe { (*req).oldfunc } {
        // SAFETY: the request's own output function.
        Some(f) => unsafe { f(req, p, l) },
        None => Errno::EINVAL.0,
    }
}

/// `SYSCTL_IN(req, p, l)`.
///
/// # Safety
/// `req` valid with its `newfunc` set.
unsafe fn sysctl_in(req: *mut sys::sysctl_req, p: *mut c_void, l: usize) -> c_int {
    // SAFETY: by the caller's contract.
    match unsafe { (*req).newfunc } {
        // SAFETY: the request's own input function.
        Some(f) => unsafe { f(req, p, l) },
        None => Errno::EINVAL.0,
    }
}

/// sysctl_handle_int(9) (`T` = `i32`), sysctl_handle_long(9) and
/// sysctl_handle_64(9) (`T` = `i64`): the integer handlers differ only in
/// width.
///
/// # Safety
/// As the kernel's: `arg1` NULL or pointing at a `T`, `req` a live request.
pub(crate) unsafe extern "C" fn sysctl_handle_num<T: Copy + TryFrom<i64> + Default>(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let tmp: T = if arg1.is_null() {
        T::try_from(arg2).unwrap_or_default()
    } else {
        // SAFETY: by the caller's contract.
        unsafe { *arg1.cast::<T>() }
    };
    // SAFETY: `tmp` is a local of `size_of::<T>()` bytes.
    let e = unsafe { sysctl_out(req, (&raw const tmp).cast(), size_of::<T>()) };
    // SAFETY: `req` valid.
    if e != 0 || unsafe { (*req).newptr }.is_null() {
        return e;
    }
    if arg1.is_null() {
        return Errno::EPERM.0;
    }
    // SAFETY: `arg1` points at a `T` by the contract.
    unsafe { sysctl_in(req, arg1, size_of::<T>()) }
}

/// sysctl_handle_string(9).
///
/// # Safety
/// As the kernel's: `arg1` a NUL-terminated buffer of `arg2` bytes (or a
/// read-only string when `arg2` is 0).
pub(crate) unsafe extern "C" fn sysctl_handle_string(
    o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let s = arg1.cast::<c_char>();
    // SAFETY: `o` is the OID being handled.
    let kind = unsafe { (*o).oid_kind };
    // SAFETY: `arg1` is NUL-terminated by the contract.
    let slen = unsafe { CStr::from_ptr(s) }.count_bytes();
    let mut arg2 = usize::try_from(arg2).unwrap_or(0);
    if kind & (sys::CTLFLAG_WR | sys::CTLFLAG_TUN) == 0 || arg2 == 0 {
        arg2 = slen + 1;
    }
    // SAFETY: `req` valid.
    let has_old = !unsafe { (*req).oldptr }.is_null();
    let e = if has_old {
        // SAFETY: `slen + 1` bytes of `s` are readable.
        unsafe { sysctl_out(req, s.cast(), slen + 1) }
    } else {
        // SAFETY: sizing only.
        unsafe { sysctl_out(req, core::ptr::null(), slen + 1) }
    };
    // SAFETY: `req` valid.
    let r = unsafe { &mut *req };
    if e != 0 || r.newptr.is_null() {
        return e;
    }
    let avail = r.newlen.saturating_sub(r.newidx);
    if avail >= arg2 {
        return Errno::EINVAL.0;
    }
    if avail == 0 {
        // SAFETY: the buffer has at least one byte.
        unsafe { *s = 0 };
        return 0;
    }
    let mut tmp = vec![0u8; avail];
    // SAFETY: `tmp` has `avail` bytes.
    let e = unsafe { sysctl_in(req, tmp.as_mut_ptr().cast(), avail) };
    if e != 0 {
        return e;
    }
    // SAFETY: `avail < arg2`, the buffer's size: the copy fits.
    unsafe { core::ptr::copy_nonoverlapping(tmp.as_ptr(), s.cast::<u8>(), avail) };
    // SAFETY: as above, and so does the NUL.
    unsafe { *s.wrapping_add(avail) = 0 };
    // SAFETY: `req` valid.
    unsafe { (*req).newidx += avail };
    0
}

/// sysctl_handle_opaque(9).
///
/// # Safety
/// As the kernel's: `arg1` readable and writable for `arg2` bytes.
pub(crate) unsafe extern "C" fn sysctl_handle_opaque(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let n = usize::try_from(arg2).unwrap_or(0);
    // SAFETY: forwarded contract.
    let e = unsafe { sysctl_out(req, arg1, n) };
    if e != 0 {
        return e;
    }
    // SAFETY: forwarded contract.
    unsafe { sysctl_in(req, arg1, n) }
}
