// SPDX-License-Identifier: BSD-2-Clause
//! uio(9) and copy(9): `uiomove`, `copyin`, `copyout`,
//! `copyinstr`.
//!
//! `uiomove` follows `uiomove_faultflag` in `sys/kern/subr_uio.c`: it
//! walks the iovecs, skipping empty ones (advancing `uio_iov`, decreasing
//! `uio_iovcnt`), moves `min(n, iov_len)` bytes per step and advances
//! `iov_base`, `iov_len`, `uio_resid` and `uio_offset` only for bytes that
//! were moved; a fault in `copyin`/`copyout` returns `EFAULT` with the
//! uio left at the start of the failing chunk. `UIO_USERSPACE` copies go
//! through the user-memory registry (`crate::user::UserMem`), `UIO_SYSSPACE` ones
//! are plain copies, `UIO_NOCOPY` only advances. For a user-space uio the
//! WITNESS check for sleeping runs ("Calling uiomove()"); `copyin` and
//! `copyout` are checked too (they may fault and sleep; FreeBSD notices
//! only when a fault actually happens, the harness always).
//!
//! Counters (calls and bytes in each direction) are kept for tests and
//! benchmarks.

use crate::addr::UAddr;
use crate::errno::Errno;
use crate::state::{Core, ViolationKind};
use crate::thread::{self, witness};
use crate::user::{self, UserMem};
use core::ffi::c_int;
use std::sync::atomic::{AtomicU64, Ordering};

/// The uio(9) state of one kernel: counters of data movement between
/// kernel and user space. The copies check user addresses against the
/// kernel's user memory, passed in.
#[derive(Default)]
pub(crate) struct Uio {
    uiomove_calls: AtomicU64,
    uiomove_to_user: AtomicU64,
    uiomove_from_user: AtomicU64,
    uiomove_kernel: AtomicU64,
    copyin_calls: AtomicU64,
    copyin_bytes: AtomicU64,
    copyout_calls: AtomicU64,
    copyout_bytes: AtomicU64,
    faults: AtomicU64,
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

impl Uio {
    /// The counters now.
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

/// Adds `n` to a counter.
fn count(a: &AtomicU64, n: usize) {
    a.fetch_add(n as u64, Ordering::Relaxed);
}

/// What a C function returns for `r`: 0 or the errno.
fn errno_or_zero(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

impl Uio {
    /// Copies from user `uaddr` to kernel `kaddr` (no counting, no sleep
    /// check): as much as `user` says is readable, then `EFAULT`.
    ///
    /// # Safety
    /// `kaddr` must be writable for `len` bytes.
    pub(crate) unsafe fn copyin_raw(
        &self,
        user: &UserMem,
        uaddr: UAddr,
        kaddr: *mut u8,
        len: usize,
    ) -> Result<(), Errno> {
        let (n, r) = match user.check(uaddr, len, false) {
            Ok(()) => (len, Ok(())),
            Err(f) => (f.ok, Err(Errno::EFAULT)),
        };
        // The registry only holds ranges of the user address space, so
        // the accessible bytes have an alias.
        if let Some(src) = user::host_ptr(uaddr, n)
            && n > 0
        {
            // SAFETY: the registry says the first `n` user bytes are
            // readable, and `src` is their alias; `kaddr` is writable for
            // `len >= n` bytes by the caller's contract.
            unsafe { core::ptr::copy(src, kaddr, n) };
        }
        if r.is_err() {
            count(&self.faults, 1);
        }
        r
    }

    /// Copies from kernel `kaddr` to user `uaddr`: as much as `user` says
    /// is writable, then `EFAULT`.
    ///
    /// # Safety
    /// `kaddr` must be readable for `len` bytes.
    pub(crate) unsafe fn copyout_raw(
        &self,
        user: &UserMem,
        kaddr: *const u8,
        uaddr: UAddr,
        len: usize,
    ) -> Result<(), Errno> {
        let (n, r) = match user.check(uaddr, len, true) {
            Ok(()) => (len, Ok(())),
            Err(f) => (f.ok, Err(Errno::EFAULT)),
        };
        if let Some(dst) = user::host_ptr(uaddr, n)
            && n > 0
        {
            // SAFETY: the registry says the first `n` user bytes are
            // writable, and `dst` is their alias; `kaddr` is readable for
            // `len >= n` bytes by the caller's contract.
            unsafe { core::ptr::copy(kaddr, dst, n) };
        }
        if r.is_err() {
            count(&self.faults, 1);
        }
        r
    }

    /// uiomove_faultflag(9) without `nofault`: returns 0 or an errno.
    ///
    /// # Safety
    /// `cp` must be valid for `n` bytes; `uio` must be a valid uio whose
    /// iovecs are valid for their segment.
    pub(crate) unsafe fn uiomove(
        &self,
        k: &Core,
        user: &UserMem,
        cp: *mut u8,
        n: c_int,
        uio: *mut sys::uio,
    ) -> c_int {
        count(&self.uiomove_calls, 1);
        // SAFETY: by the caller's contract `uio` is valid and ours for now.
        let u = unsafe { &mut *uio };
        if u.uio_rw != sys::UIO_READ && u.uio_rw != sys::UIO_WRITE {
            k.violation(ViolationKind::Uio, String::from("uiomove: mode"));
        }
        let user_space = u.uio_segflg == sys::UIO_USERSPACE;
        if user_space {
            if u.uio_td != thread::curthread() {
                k.violation(ViolationKind::Uio, String::from("uiomove proc"));
            }
            witness::check_may_sleep(k, "Calling uiomove()");
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
                    let ubase = UAddr::from_ptr(base);
                    // SAFETY: `cp` is valid for `n >= cnt` bytes.
                    if let Err(e) = unsafe { self.copyout_raw(user, cp, ubase, cnt) } {
                        return e.0;
                    }
                    count(&self.uiomove_to_user, cnt);
                }
                (sys::UIO_USERSPACE, _) => {
                    let ubase = UAddr::from_ptr(base);
                    // SAFETY: as above.
                    if let Err(e) = unsafe { self.copyin_raw(user, ubase, cp, cnt) } {
                        return e.0;
                    }
                    count(&self.uiomove_from_user, cnt);
                }
                (sys::UIO_SYSSPACE, sys::UIO_READ) => {
                    // SAFETY: kernel buffers valid by the caller's contract.
                    unsafe { core::ptr::copy(cp, base, cnt) };
                    count(&self.uiomove_kernel, cnt);
                }
                (sys::UIO_SYSSPACE, _) => {
                    // SAFETY: as above.
                    unsafe { core::ptr::copy(base, cp, cnt) };
                    count(&self.uiomove_kernel, cnt);
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

    /// copyin(9) by module code: checked and counted; 0 or an errno.
    ///
    /// # Safety
    /// `kaddr` must be writable for `len` bytes.
    pub(crate) unsafe fn copyin(
        &self,
        k: &Core,
        user: &UserMem,
        uaddr: UAddr,
        kaddr: *mut u8,
        len: usize,
    ) -> c_int {
        witness::check_may_sleep(k, "copyin");
        count(&self.copyin_calls, 1);
        // SAFETY: by the caller's contract.
        let r = unsafe { self.copyin_raw(user, uaddr, kaddr, len) };
        if r.is_ok() {
            count(&self.copyin_bytes, len);
        }
        errno_or_zero(r)
    }

    /// copyout(9) by module code: checked and counted; 0 or an errno.
    ///
    /// # Safety
    /// `kaddr` must be readable for `len` bytes.
    pub(crate) unsafe fn copyout(
        &self,
        k: &Core,
        user: &UserMem,
        kaddr: *const u8,
        uaddr: UAddr,
        len: usize,
    ) -> c_int {
        witness::check_may_sleep(k, "copyout");
        count(&self.copyout_calls, 1);
        // SAFETY: by the caller's contract.
        let r = unsafe { self.copyout_raw(user, kaddr, uaddr, len) };
        if r.is_ok() {
            count(&self.copyout_bytes, len);
        }
        errno_or_zero(r)
    }

    /// copyinstr(9): up to `len` bytes including the NUL; the count
    /// copied goes to `done` unless it is null. 0, `ENAMETOOLONG` or
    /// `EFAULT`.
    ///
    /// # Safety
    /// `kaddr` writable for `len`; `done` NULL or writable.
    pub(crate) unsafe fn copyinstr(
        &self,
        k: &Core,
        user: &UserMem,
        uaddr: UAddr,
        kaddr: *mut u8,
        len: usize,
        done: *mut usize,
    ) -> c_int {
        witness::check_may_sleep(k, "copyinstr");
        let mut i = 0usize;
        let mut ret = Errno::ENAMETOOLONG.0;
        while i < len {
            let mut c = 0u8;
            // SAFETY: one byte into a local.
            if unsafe { self.copyin_raw(user, uaddr.wrapping_add(i), &raw mut c, 1) }.is_err() {
                ret = Errno::EFAULT.0;
                break;
            }
            // SAFETY: `i < len`, writable by the caller's contract.
            unsafe { *kaddr.wrapping_add(i) = c };
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
}
