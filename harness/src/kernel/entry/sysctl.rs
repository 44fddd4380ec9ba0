// SPDX-License-Identifier: BSD-2-Clause
//! The user side of a request (`sysctl_root`, `userland_sysctl`) and the
//! request's `oldfunc`/`newfunc` (`sysctl_old_user`, `sysctl_new_user`).

use super::{ctype, oid};
use crate::errno::Errno;
use crate::kernel::KernelInner;
use crate::kpi::{kernel, uio};
use crate::thread;
use core::ffi::{c_int, c_void};

/// The user side of a request: `sysctl_root` + `userland_sysctl`.
pub(crate) struct Request<'a> {
    pub(crate) old: Option<&'a mut [u8]>,
    pub(crate) new: Option<&'a [u8]>,
}

/// Runs a request on OID `o` with the caller's credential; returns the
/// size of the old value (`*oldlenp`).
pub(crate) fn user_request(
    k: &KernelInner,
    env: &thread::Env<'_>,
    o: usize,
    req: Request<'_>,
) -> Result<usize, crate::errno::Error> {
    let p = oid(o);
    if ctype(p) == sys::CTLTYPE_NODE && p.oid_handler.is_none() {
        return Err(Errno::EISDIR.into());
    }
    if req.new.is_some() && p.oid_kind & sys::CTLFLAG_WR == 0 {
        return Err(Errno::EPERM.into());
    }
    if req.new.is_some() && p.oid_kind & sys::CTLFLAG_ANYBODY == 0 && !env.cred.is_root() {
        return Err(Errno::EPERM.into());
    }
    let Some(handler) = p.oid_handler else {
        return Err(Errno::EINVAL.into());
    };
    let (old_ptr, old_len) = match &req.old {
        Some(b) => (b.as_ptr() as usize, b.len()),
        None => (0, 0),
    };
    let (new_ptr, new_len) = match req.new {
        Some(b) => (b.as_ptr() as usize, b.len()),
        None => (0, 0),
    };
    let mut bufs = Vec::new();
    if old_ptr != 0 {
        bufs.push((old_ptr, old_len));
    }
    let _reg_old = k.user.register_syscall(&bufs, true);
    let _reg_new = if new_ptr != 0 {
        Some(k.user.register_syscall(&[(new_ptr, new_len)], false))
    } else {
        None
    };
    loop {
        let mut r = sys::sysctl_req {
            td: thread::curthread(),
            lock: 0,
            oldptr: old_ptr as *mut c_void,
            oldlen: old_len,
            oldidx: 0,
            oldfunc: Some(sysctl_old_user),
            newptr: new_ptr as *const c_void,
            newlen: new_len,
            newidx: 0,
            newfunc: Some(sysctl_new_user),
            validlen: old_len,
            flags: 0,
        };
        let giant = p.oid_kind & sys::CTLFLAG_MPSAFE == 0;
        if giant && !k.locks.lock_addr(k, k.giant()) {
            return Err(k.panic_error());
        }
        k.sysctl.enter(o);
        // SAFETY: the OID's handler, called as sysctl_root does with the
        // OID, its arguments and a request whose buffers are registered.
        let ret = unsafe {
            thread::call(
                k,
                Some(env),
                handler as usize,
                [
                    o as u64,
                    p.oid_arg1 as u64,
                    p.oid_arg2 as u64,
                    (&raw mut r) as u64,
                    0,
                    0,
                ],
            )
        };
        k.sysctl.leave(o);
        if giant {
            k.locks.unlock_addr(k, k.giant());
        }
        k.locks.userret(k);
        let ret = ret.map_err(|_| k.panic_error())?;
        // CAST: the handler returns `int`.
        let err = (ret & 0xffff_ffff) as u32 as i32;
        if err == Errno::EAGAIN.0 {
            continue;
        }
        if err != 0 && err != Errno::ENOMEM.0 {
            return Err(Errno(err).into());
        }
        let size = if old_ptr != 0 && r.oldidx > r.validlen {
            r.validlen
        } else {
            r.oldidx
        };
        if err == Errno::ENOMEM.0 {
            return Err(Errno::ENOMEM.into());
        }
        return Ok(size);
    }
}

/// `sysctl_old_user`: `SYSCTL_OUT` to the caller's buffer.
///
/// # Safety
/// `req` valid; `p` readable for `l` bytes (or NULL when only sizing).
unsafe extern "C" fn sysctl_old_user(
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
    k.locks.sleep_check(k, "sysctl_old_user()");
    let len = r.validlen;
    let mut i = l;
    if len <= origidx {
        i = 0;
    } else {
        i = i.min(len - origidx);
        if i > 0 && !p.is_null() {
            // SAFETY: `p` readable for `l >= i` bytes by the contract.
            let e = unsafe {
                uio::copyout_raw(k, p.cast(), (r.oldptr as usize).wrapping_add(origidx), i)
            };
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
unsafe extern "C" fn sysctl_new_user(req: *mut sys::sysctl_req, p: *mut c_void, l: usize) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    if r.newptr.is_null() {
        return 0;
    }
    if r.newlen.saturating_sub(r.newidx) < l {
        return Errno::EINVAL.0;
    }
    k.locks.sleep_check(k, "sysctl_new_user()");
    // SAFETY: `p` writable for `l` bytes by the contract.
    let e = unsafe { uio::copyin_raw(k, (r.newptr as usize).wrapping_add(r.newidx), p.cast(), l) };
    r.newidx += l;
    match e {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}
