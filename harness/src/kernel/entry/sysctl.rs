// SPDX-License-Identifier: BSD-2-Clause
//! The sysctl(9) entry points: contexts and dynamic OIDs (the work is in
//! `crate::kpi::sysctl`), the standard handlers, and the `oldfunc` and
//! `newfunc` of a request from user space (`sysctl_old_user`,
//! `sysctl_new_user` in `sys/kern/kern_sysctl.c`), which copy to and from
//! the caller's buffers as copyout(9) and copyin(9) do.

use super::{FuncEntry, host_stub, kernel};
use crate::addr::{KAddr, UAddr};
use crate::errno::Errno;
use crate::kernel::KernelInner;
use crate::kpi::kenv::getenv_array;
use crate::kpi::sysctl::Sysctl;
use crate::kpi::sysctl::{Handler, sysctl_handle_num, sysctl_handle_opaque, sysctl_handle_string};
use crate::state::{DataSym, Injectable};
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
    // As on a name clash (`state/inject.rs`); kern_sysctl.c prints why.
    if k.core.inject_fails(Injectable::SysctlAddOid) {
        k.core.console(&format!(
            "sysctl_add_oid: can't re-use a leaf ({})! (injected)\n",
            cname.to_string_lossy()
        ));
        return core::ptr::null_mut();
    }
    let o = k.sysctl.add_oid(
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
    );
    // sysctl_add_oid -> sysctl_register_oid: a loader tunable takes its
    // value from the kernel environment now.
    if !o.is_null() && load_tunable(k, o).is_err() {
        thread::escape();
    }
    o.ptr()
}

/// `sysctl_load_tunable_by_oid_locked` (`sys/kern/kern_sysctl.c`,
/// FreeBSD 15) for OID `o` if it is a `CTLFLAG_TUN` leaf not fetched yet:
/// its kernel environment variable, parsed for its type (`getenv_array`
/// for numbers, up to 512 bytes of them; `kern_getenv` for a string), is
/// written through its handler with a kernel request (`sysctl_old_kernel`,
/// `sysctl_new_kernel`, no old buffer), `Giant` held unless
/// `CTLFLAG_MPSAFE`; a handler's error is printed ("Setting sysctl %s
/// failed: %d") and otherwise ignored, as is a variable that does not
/// parse.
fn load_tunable(k: &KernelInner, o: KAddr) -> Result<(), thread::Panicked> {
    let root = k.core.data_addr(DataSym::SysctlChildren);
    let path = match Sysctl::take_tunable(o, root) {
        None => return Ok(()),
        Some(Err(msg)) => {
            k.core.console(&msg);
            return Ok(());
        }
        Some(Ok(path)) => path,
    };
    let Some(value) = k.kenv.get(&path) else {
        return Ok(());
    };
    let p = Sysctl::info(o);
    let number = |elem: usize, signed: bool| getenv_array(&value, 512, elem, signed);
    let data = match p.ctype {
        sys::CTLTYPE_INT | sys::CTLTYPE_S32 => number(4, true),
        sys::CTLTYPE_UINT | sys::CTLTYPE_U32 => number(4, false),
        sys::CTLTYPE_LONG | sys::CTLTYPE_S64 => number(8, true),
        sys::CTLTYPE_ULONG | sys::CTLTYPE_U64 => number(8, false),
        sys::CTLTYPE_S8 => number(1, true),
        sys::CTLTYPE_U8 => number(1, false),
        sys::CTLTYPE_S16 => number(2, true),
        sys::CTLTYPE_U16 => number(2, false),
        // req.newlen = strlen(penv): no NUL.
        sys::CTLTYPE_STRING => Some(value.into_bytes()),
        _ => None,
    };
    let (Some(mut data), Some(handler)) = (data, p.handler) else {
        return Ok(());
    };
    let old = host_stub(sysctl_old_kernel as *const () as usize);
    let new = host_stub(sysctl_new_kernel as *const () as usize);
    let (Some(old), Some(new)) = (old, new) else {
        return Ok(());
    };
    // SAFETY: a call stub jumps to its function with the caller's
    // arguments untouched, so its address is a function of the same type.
    let oldfunc = unsafe { core::mem::transmute::<*const (), OldFn>(old.ptr()) };
    // SAFETY: as above.
    let newfunc = unsafe { core::mem::transmute::<*const (), NewFn>(new.ptr()) };
    let mut r = sys::sysctl_req {
        td: thread::curthread(),
        lock: sys::REQ_UNWIRED.cast_signed(),
        oldptr: core::ptr::null_mut(),
        oldlen: 0,
        oldidx: 0,
        oldfunc: Some(oldfunc),
        newptr: data.as_mut_ptr().cast(),
        newlen: data.len(),
        newidx: 0,
        newfunc: Some(newfunc),
        validlen: 0,
        flags: 0,
    };
    let giant = p.flags & sys::CTLFLAG_MPSAFE == 0;
    if giant && !k.locks.lock_addr(&k.core, k.giant()) {
        return Err(thread::Panicked);
    }
    k.sysctl.enter(o);
    let args = [
        o.arg(),
        p.arg1.arg(),
        p.arg2.cast_unsigned(),
        KAddr::from_ptr(&raw mut r).arg(),
        0,
        0,
    ];
    // SAFETY: the OID's handler, called as sysctl_root_handler_locked
    // calls it, with a kernel request whose new value is `data`.
    let ret = unsafe { thread::call(&k.core, None, KAddr::new(handler as usize), args) };
    k.sysctl.leave(o);
    if giant {
        k.locks.unlock_addr(&k.core, k.giant());
    }
    // CAST: the handler returns `int`.
    let err = (ret? & 0xffff_ffff) as u32 as i32;
    if err != 0 {
        k.core
            .console(&format!("Setting sysctl {path} failed: {err}\n"));
    }
    Ok(())
}

/// `sysctl_req`'s `oldfunc` type.
type OldFn = unsafe extern "C" fn(*mut sys::sysctl_req, *const c_void, usize) -> c_int;
/// `sysctl_req`'s `newfunc` type.
type NewFn = unsafe extern "C" fn(*mut sys::sysctl_req, *mut c_void, usize) -> c_int;

/// `sysctl_old_kernel` (`sys/kern/kern_sysctl.c`): `SYSCTL_OUT` to a
/// kernel buffer, or only counting without one.
///
/// # Safety
/// `req` valid, its `oldptr` NULL or writable for `oldlen` bytes; `p`
/// readable for `l` bytes.
pub(in crate::kernel) unsafe extern "C" fn sysctl_old_kernel(
    req: *mut sys::sysctl_req,
    p: *const c_void,
    l: usize,
) -> c_int {
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    let mut i = 0;
    if !r.oldptr.is_null() {
        i = l.min(r.oldlen.saturating_sub(r.oldidx));
        if i > 0 && !p.is_null() {
            // SAFETY: `oldidx < oldlen` here, inside the buffer.
            let dst = unsafe { r.oldptr.cast::<u8>().add(r.oldidx) };
            // SAFETY: `i` bytes fit at `dst`, and `p` has at least `i`
            // (the contract).
            unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), dst, i) };
        }
    }
    r.oldidx = r.oldidx.saturating_add(l);
    if !r.oldptr.is_null() && i != l {
        return Errno::ENOMEM.0;
    }
    0
}

/// `sysctl_new_kernel` (`sys/kern/kern_sysctl.c`): `SYSCTL_IN` from a
/// kernel buffer.
///
/// # Safety
/// `req` valid, its `newptr` NULL or readable for `newlen` bytes; `p`
/// writable for `l` bytes.
pub(in crate::kernel) unsafe extern "C" fn sysctl_new_kernel(
    req: *mut sys::sysctl_req,
    p: *mut c_void,
    l: usize,
) -> c_int {
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    if r.newptr.is_null() {
        return 0;
    }
    if r.newlen.saturating_sub(r.newidx) < l {
        return Errno::EINVAL.0;
    }
    // SAFETY: `newidx <= newlen`: inside the new value (or one past it).
    let src = unsafe { r.newptr.cast::<u8>().add(r.newidx) };
    // SAFETY: `l` bytes are left at `src`, and `p` is writable for `l`
    // (the contract).
    unsafe { core::ptr::copy_nonoverlapping(src, p.cast::<u8>(), l) };
    r.newidx += l;
    0
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
