// SPDX-License-Identifier: BSD-2-Clause
//! The sysctl(9) entry points: contexts and dynamic OIDs (the work is in
//! `crate::kpi::sysctl`), the standard handlers, and the `oldfunc` and
//! `newfunc` of a request from user space (`sysctl_old_user`,
//! `sysctl_new_user` in `sys/kern/kern_sysctl.c`), which copy to and from
//! the caller's buffers as copyout(9) and copyin(9) do.

use super::{FuncEntry, kernel};
use crate::addr::{KAddr, UAddr};
use crate::errno::Errno;
use crate::kpi::sysctl::{Handler, sysctl_handle_num, sysctl_handle_opaque, sysctl_handle_string};
use crate::thread::{self, witness};
use core::ffi::{CStr, c_char, c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "sysctl_ctx_init" => harness_sysctl_ctx_init,
        "sysctl_ctx_free" => harness_sysctl_ctx_free,
        "sysctl_add_oid" => harness_sysctl_add_oid,
        "sysctl_remove_oid" => harness_sysctl_remove_oid,
        "sysctl_handle_int" => sysctl_handle_num::<i32>,
        "sysctl_handle_long" => sysctl_handle_num::<i64>,
        "sysctl_handle_64" => sysctl_handle_num::<i64>,
        "sysctl_handle_string" => sysctl_handle_string,
        "sysctl_handle_opaque" => sysctl_handle_opaque,
    ]);
}

/// What a C function returns for `r`: 0 or the errno.
fn errno_or_zero(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// sysctl_ctx_init(9).
///
/// # Safety
/// `c` a writable `struct sysctl_ctx_list`.
unsafe extern "C" fn harness_sysctl_ctx_init(c: *mut sys::sysctl_ctx_list) -> c_int {
    if c.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    // SAFETY: forwarded contract.
    errno_or_zero(unsafe { k.sysctl.ctx_init(c) })
}

/// sysctl_ctx_free(9).
extern "C" fn harness_sysctl_ctx_free(c: *mut sys::sysctl_ctx_list) -> c_int {
    if c.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    match k.sysctl.ctx_free(&k.core, KAddr::from_ptr(c)) {
        Ok(r) => errno_or_zero(r),
        Err(thread::Panicked) => thread::escape(),
    }
}

/// sysctl_add_oid(9).
///
/// # Safety
/// Pointers as the kernel's function expects.
#[allow(clippy::too_many_arguments, reason = "mirrors the C function")]
unsafe extern "C" fn harness_sysctl_add_oid(
    clist: *mut sys::sysctl_ctx_list,
    parent: *mut sys::sysctl_oid_list,
    nbr: c_int,
    name: *const c_char,
    kind: c_int,
    arg1: *mut c_void,
    arg2: i64,
    handler: Handler,
    fmt: *const c_char,
    descr: *const c_char,
    label: *const c_char,
) -> *mut sys::sysctl_oid {
    let k = kernel();
    if name.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `name` is NUL-terminated by the contract.
    let cname = unsafe { CStr::from_ptr(name) };
    k.sysctl
        .add_oid(
            &k.core,
            KAddr::from_ptr(clist),
            KAddr::from_ptr(parent),
            nbr,
            cname,
            kind.cast_unsigned(),
            arg1,
            arg2,
            handler,
            fmt,
            descr,
            label,
        )
        .ptr()
}

/// sysctl_remove_oid(9).
extern "C" fn harness_sysctl_remove_oid(
    o: *mut sys::sysctl_oid,
    del: c_int,
    recurse: c_int,
) -> c_int {
    let k = kernel();
    errno_or_zero(
        k.sysctl
            .remove_oid(&k.core, KAddr::from_ptr(o), del != 0, recurse != 0),
    )
}

/// `sysctl_old_user`: `SYSCTL_OUT` to the caller's buffer.
///
/// # Safety
/// `req` valid; `p` readable for `l` bytes (or NULL when only sizing).
pub(in crate::kernel) unsafe extern "C" fn sysctl_old_user(
    req: *mut sys::sysctl_req,
    p: *const c_void,
    l: usize,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    let origidx = r.oldidx;
    r.oldidx = r.oldidx.saturating_add(l);
    if r.oldptr.is_null() {
        return 0;
    }
    // A wired buffer (sysctl_wire_old_buffer) is written with
    // copyout_nofault, which does not sleep.
    if r.lock != sys::REQ_WIRED.cast_signed() {
        witness::check_may_sleep(&k.core, "sysctl_old_user()");
    }
    let len = r.validlen;
    let mut i = l;
    if len <= origidx {
        i = 0;
    } else {
        i = i.min(len - origidx);
        if i > 0 && !p.is_null() {
            let dst = UAddr::from_ptr(r.oldptr).wrapping_add(origidx);
            // SAFETY: `p` readable for `l >= i` bytes by the contract.
            let e = unsafe { k.uio.copyout_raw(&k.user, p.cast(), dst, i) };
            if let Err(e) = e {
                return e.0;
            }
        }
    }
    if i < l { Errno::ENOMEM.0 } else { 0 }
}

/// `sysctl_new_user`: `SYSCTL_IN` from the caller's buffer.
///
/// # Safety
/// `req` valid; `p` writable for `l` bytes.
pub(in crate::kernel) unsafe extern "C" fn sysctl_new_user(
    req: *mut sys::sysctl_req,
    p: *mut c_void,
    l: usize,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    if r.newptr.is_null() {
        return 0;
    }
    if r.newlen.saturating_sub(r.newidx) < l {
        return Errno::EINVAL.0;
    }
    witness::check_may_sleep(&k.core, "sysctl_new_user()");
    let src = UAddr::from_ptr(r.newptr).wrapping_add(r.newidx);
    // SAFETY: `p` writable for `l` bytes by the contract.
    let e = unsafe { k.uio.copyin_raw(&k.user, src, p.cast(), l) };
    r.newidx += l;
    errno_or_zero(e)
}
