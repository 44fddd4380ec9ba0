// SPDX-License-Identifier: BSD-2-Clause
//! uio(9) and copy(9): `uiomove`, `copyin`, `copyout`, `copystr`,
//! `copyinstr`.
//!
//! `uiomove` follows `uiomove_faultflag` in `sys/kern/subr_uio.c`: it
//! walks the iovecs, skipping empty ones (advancing `uio_iov`, decreasing
//! `uio_iovcnt`), moves `min(n, iov_len)` bytes per step and advances
//! `iov_base`, `iov_len`, `uio_resid` and `uio_offset` only for bytes that
//! were moved; a fault in `copyin`/`copyout` returns `EFAULT` with the
//! uio left at the start of the failing chunk. `UIO_USERSPACE` copies go
//! through the user-memory registry ([`crate::user`]), `UIO_SYSSPACE` ones
//! are plain copies, `UIO_NOCOPY` only advances. For a user-space uio the
//! WITNESS check for sleeping runs ("Calling uiomove()"); `copyin` and
//! `copyout` are checked too (they may fault and sleep; FreeBSD notices
//! only when a fault actually happens, the harness always).
//!
//! Counters (calls and bytes in each direction) are kept for tests and
//! benchmarks.

use super::{FuncEntry, kernel};
use crate::errno::Errno;
use crate::kernel::{KernelInner, ViolationKind};
use crate::thread;
use core::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "uiomove" => harness_uiomove,
        "copyin" => harness_copyin,
        "copyout" => harness_copyout,
        "copystr" => harness_copystr,
        "copyinstr" => harness_copyinstr,
    ]);
}

/// Counters of data movement between kernel and user space.
#[derive(Default)]
pub(crate) struct UioCounters {
    pub(crate) uiomove_calls: AtomicU64,
    pub(crate) uiomove_to_user: AtomicU64,
    pub(crate) uiomove_from_user: AtomicU64,
    pub(crate) uiomove_kernel: AtomicU64,
    pub(crate) copyin_calls: AtomicU64,
    pub(crate) copyin_bytes: AtomicU64,
    pub(crate) copyout_calls: AtomicU64,
    pub(crate) copyout_bytes: AtomicU64,
    pub(crate) faults: AtomicU64,
}

/// A snapshot of the kernel's uio counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UioStats {
    /// `uiomove` calls.
    pub uiomove_calls: u64,
    /// Bytes `uiomove` moved to user space (reads).
    pub uiomove_to_user: u64,
    /// Bytes `uiomove` moved from user space (writes).
    pub uiomove_from_user: u64,
    /// Bytes `uiomove` moved within the kernel (`UIO_SYSSPACE`).
    pub uiomove_kernel: u64,
    /// `copyin` calls made by module code.
    pub copyin_calls: u64,
    /// Bytes those copied.
    pub copyin_bytes: u64,
    /// `copyout` calls made by module code.
    pub copyout_calls: u64,
    /// Bytes those copied.
    pub copyout_bytes: u64,
    /// `EFAULT`s returned.
    pub faults: u64,
}

impl UioCounters {
    pub(crate) fn snapshot(&self) -> UioStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        UioStats {
            uiomove_calls: g(&self.uiomove_calls),
            uiomove_to_user: g(&self.uiomove_to_user),
            uiomove_from_user: g(&self.uiomove_from_user),
            uiomove_kernel: g(&self.uiomove_kernel),
            copyin_calls: g(&self.copyin_calls),
            copyin_bytes: g(&self.copyin_bytes),
            copyout_calls: g(&self.copyout_calls),
            copyout_bytes: g(&self.copyout_bytes),
            faults: g(&self.faults),
        }
    }
}

fn add(a: &AtomicU64, n: usize) {
    a.fetch_add(n as u64, Ordering::Relaxed);
}

/// Copies from user `uaddr` to kernel `kaddr` (no counting, no check).
///
/// # Safety
/// `kaddr` must be writable for `len` bytes.
pub(crate) unsafe fn copyin_raw(
    k: &KernelInner,
    uaddr: usize,
    kaddr: *mut u8,
    len: usize,
) -> Result<(), Errno> {
    match k.user.check(uaddr, len, false) {
        Ok(()) => {
            // SAFETY: the registry says the user range is readable host
            // memory; `kaddr` is writable by the caller's contract.
            unsafe { core::ptr::copy(uaddr as *const u8, kaddr, len) };
            Ok(())
        }
        Err(f) => {
            // SAFETY: the first `f.ok` bytes are accessible (as above).
            unsafe { core::ptr::copy(uaddr as *const u8, kaddr, f.ok) };
            add(&k.uio.faults, 1);
            Err(Errno::EFAULT)
        }
    }
}

/// Copies from kernel `kaddr` to user `uaddr`.
///
/// # Safety
/// `kaddr` must be readable for `len` bytes.
pub(crate) unsafe fn copyout_raw(
    k: &KernelInner,
    kaddr: *const u8,
    uaddr: usize,
    len: usize,
) -> Result<(), Errno> {
    match k.user.check(uaddr, len, true) {
        Ok(()) => {
            // SAFETY: the registry says the user range is writable host
            // memory; `kaddr` is readable by the caller's contract.
            unsafe { core::ptr::copy(kaddr, uaddr as *mut u8, len) };
            Ok(())
        }
        Err(f) => {
            // SAFETY: the first `f.ok` bytes are accessible (as above).
            unsafe { core::ptr::copy(kaddr, uaddr as *mut u8, f.ok) };
            add(&k.uio.faults, 1);
            Err(Errno::EFAULT)
        }
    }
}

fn errno(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// uiomove(9).
///
/// # Safety
/// `cp` must be valid for `n` bytes; `uio` must be a valid uio whose
/// iovecs are valid for their segment.
unsafe extern "C" fn harness_uiomove(cp: *mut c_void, n: c_int, uio: *mut sys::uio) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    unsafe { uiomove(k, cp.cast(), n, uio) }
}

/// uiomove_faultflag(9) without `nofault`.
///
/// # Safety
/// As [`harness_uiomove`].
pub(crate) unsafe fn uiomove(k: &KernelInner, cp: *mut u8, n: c_int, uio: *mut sys::uio) -> c_int {
    add(&k.uio.uiomove_calls, 1);
    // SAFETY: by the caller's contract `uio` is valid and ours for now.
    let u = unsafe { &mut *uio };
    if u.uio_rw != sys::UIO_READ && u.uio_rw != sys::UIO_WRITE {
        k.violation(ViolationKind::Uio, String::from("uiomove: mode"));
    }
    let user = u.uio_segflg == sys::UIO_USERSPACE;
    if user {
        if u.uio_td != thread::curthread() {
            k.violation(ViolationKind::Uio, String::from("uiomove proc"));
        }
        k.locks.sleep_check(k, "Calling uiomove()");
    }
    let mut n = i64::from(n);
    let mut cp = cp;
    while n > 0 && u.uio_resid != 0 {
        if u.uio_iovcnt <= 0 {
            k.violation(
                ViolationKind::Uio,
                format!(
                    "uiomove: huh? iovcnt {}, resid {}",
                    u.uio_iovcnt, u.uio_resid
                ),
            );
            break;
        }
        // SAFETY: `uio_iovcnt > 0`, so `uio_iov` points at a valid iovec.
        let iov = unsafe { &mut *u.uio_iov };
        let mut cnt = iov.iov_len;
        if cnt == 0 {
            u.uio_iov = u.uio_iov.wrapping_add(1);
            u.uio_iovcnt -= 1;
            continue;
        }
        cnt = cnt.min(usize::try_from(n).unwrap_or(usize::MAX));
        let base = iov.iov_base.cast::<u8>();
        match (u.uio_segflg, u.uio_rw) {
            (sys::UIO_USERSPACE, sys::UIO_READ) => {
                // SAFETY: `cp` is valid for `n >= cnt` bytes.
                if let Err(e) = unsafe { copyout_raw(k, cp, base as usize, cnt) } {
                    return e.0;
                }
                add(&k.uio.uiomove_to_user, cnt);
            }
            (sys::UIO_USERSPACE, _) => {
                // SAFETY: as above.
                if let Err(e) = unsafe { copyin_raw(k, base as usize, cp, cnt) } {
                    return e.0;
                }
                add(&k.uio.uiomove_from_user, cnt);
            }
            (sys::UIO_SYSSPACE, sys::UIO_READ) => {
                // SAFETY: kernel buffers valid by the caller's contract.
                unsafe { core::ptr::copy(cp, base, cnt) };
                add(&k.uio.uiomove_kernel, cnt);
            }
            (sys::UIO_SYSSPACE, _) => {
                // SAFETY: as above.
                unsafe { core::ptr::copy(base, cp, cnt) };
                add(&k.uio.uiomove_kernel, cnt);
            }
            _ => {}
        }
        iov.iov_base = base.wrapping_add(cnt).cast();
        iov.iov_len -= cnt;
        u.uio_resid -= isize::try_from(cnt).unwrap_or(isize::MAX);
        // `uio_offset += cnt` in C: the kernel is built with -fwrapv, and a
        // character device may be read or written at any offset, so an
        // offset near OFF_MAX wraps instead of trapping.
        u.uio_offset = u
            .uio_offset
            .wrapping_add(i64::try_from(cnt).unwrap_or(i64::MAX));
        cp = cp.wrapping_add(cnt);
        n -= i64::try_from(cnt).unwrap_or(i64::MAX);
    }
    0
}

/// copyin(9).
///
/// # Safety
/// `kaddr` must be writable for `len` bytes.
unsafe extern "C" fn harness_copyin(uaddr: *const c_void, kaddr: *mut c_void, len: usize) -> c_int {
    let k = kernel();
    k.locks.sleep_check(k, "copyin");
    add(&k.uio.copyin_calls, 1);
    // SAFETY: by the caller's contract.
    let r = unsafe { copyin_raw(k, uaddr as usize, kaddr.cast(), len) };
    if r.is_ok() {
        add(&k.uio.copyin_bytes, len);
    }
    errno(r)
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
    k.locks.sleep_check(k, "copyout");
    add(&k.uio.copyout_calls, 1);
    // SAFETY: by the caller's contract.
    let r = unsafe { copyout_raw(k, kaddr.cast(), uaddr as usize, len) };
    if r.is_ok() {
        add(&k.uio.copyout_bytes, len);
    }
    errno(r)
}

/// copystr(9): kernel to kernel, up to `len` bytes including the NUL.
///
/// # Safety
/// `from` readable up to its NUL or `len`; `to` writable for `len`;
/// `done` NULL or writable.
unsafe extern "C" fn harness_copystr(
    from: *const c_char,
    to: *mut c_char,
    len: usize,
    done: *mut usize,
) -> c_int {
    let mut i = 0usize;
    let mut ret = Errno::ENAMETOOLONG.0;
    while i < len {
        // SAFETY: `i < len`, within both buffers by the caller's contract.
        let c = unsafe { *from.wrapping_add(i) };
        // SAFETY: as above.
        unsafe { *to.wrapping_add(i) = c };
        i += 1;
        if c == 0 {
            ret = 0;
            break;
        }
    }
    if !done.is_null() {
        // SAFETY: non-null, writable by the caller's contract.
        unsafe { *done = i };
    }
    ret
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
    k.locks.sleep_check(k, "copyinstr");
    let mut i = 0usize;
    let mut ret = Errno::ENAMETOOLONG.0;
    let dst = kaddr.cast::<u8>();
    while i < len {
        let mut c = 0u8;
        // SAFETY: one byte into a local.
        if unsafe { copyin_raw(k, (uaddr as usize).wrapping_add(i), &raw mut c, 1) }.is_err() {
            ret = Errno::EFAULT.0;
            break;
        }
        // SAFETY: `i < len`, writable by the caller's contract.
        unsafe { *dst.wrapping_add(i) = c };
        i += 1;
        if c == 0 {
            ret = 0;
            break;
        }
    }
    if !done.is_null() {
        // SAFETY: non-null, writable by the caller's contract.
        unsafe { *done = i };
    }
    ret
}
