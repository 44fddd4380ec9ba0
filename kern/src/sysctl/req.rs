// SPDX-License-Identifier: BSD-2-Clause
//! [`SysctlReq`]: the request a custom sysctl handler
//! ([`SysctlLeaf::handler`](super::SysctlLeaf::handler)) is given,
//! `struct sysctl_req` behind a safe interface (`SYSCTL_OUT`, `SYSCTL_IN`
//! and the standard handlers of `sys/kern/kern_sysctl.c`).

use crate::context::Sleepable;
use crate::error::{Error, Result, code};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// One sysctl request on a leaf: the old value goes out with
/// [`write_old`](Self::write_old) (or [`handle_int`](Self::handle_int),
/// [`handle_u64`](Self::handle_u64)), a new value, if the caller gave one
/// ([`has_new`](Self::has_new)), comes in with
/// [`read_new`](Self::read_new).
///
/// It lives for one handler call, on the calling thread: neither `Send`
/// nor `Sync`. The handler runs in the `sysctl(3)` caller's system call
/// and may sleep ([`sleepable`](Self::sleepable)).
///
/// # Invariants
/// `oid` and `req` are the kernel's, valid for `'a`, in a handler call
/// for an `CTLFLAG_MPSAFE` node.
pub struct SysctlReq<'a> {
    oid: NonNull<sys::sysctl_oid>,
    req: NonNull<sys::sysctl_req>,
    /// The calling thread may sleep (zero-sized).
    cx: Sleepable,
    _call: PhantomData<(&'a mut sys::sysctl_req, *mut ())>,
}

impl SysctlReq<'_> {
    /// The request of a handler call.
    ///
    /// # Safety
    /// `oid` and `req` are the arguments of a sysctl handler that is
    /// running for an `CTLFLAG_MPSAFE` node, and the value does not
    /// outlive the call.
    pub(super) unsafe fn new(oid: *mut sys::sysctl_oid, req: *mut sys::sysctl_req) -> Option<Self> {
        // INVARIANT: the caller's contract.
        Some(Self {
            oid: NonNull::new(oid)?,
            req: NonNull::new(req)?,
            // SAFETY: the handler of an MPSAFE node runs in the requesting
            // thread (or, for a loader tunable, the registering one) with
            // no lock held: sysctl_root_handler_locked
            // (sys/kern/kern_sysctl.c, FreeBSD 15) releases the sysctl
            // lock first and takes Giant only without CTLFLAG_MPSAFE. The
            // token lives inside the request, for the call.
            cx: unsafe { Sleepable::new() },
            _call: PhantomData,
        })
    }

    /// The calling thread's [`Sleepable`] token: a handler may sleep (an
    /// `M_WAITOK` allocation, an interruptible wait on behalf of the
    /// caller, whose `ERESTART` restarts the `sysctl(3)` call). While the
    /// token is lent the request cannot be used.
    pub fn sleepable(&mut self) -> &mut Sleepable {
        &mut self.cx
    }

    fn raw(&self) -> &sys::sysctl_req {
        // SAFETY: the kernel's request, valid during the call (type
        // invariant); read only.
        unsafe { self.req.as_ref() }
    }

    /// Whether the caller is setting a new value (`req->newptr`).
    #[must_use]
    pub fn has_new(&self) -> bool {
        !self.raw().newptr.is_null()
    }

    /// How many bytes of the new value are left to read
    /// (`req->newlen - req->newidx`); 0 without a new value.
    #[must_use]
    pub fn new_len(&self) -> usize {
        let r = self.raw();
        if r.newptr.is_null() {
            0
        } else {
            r.newlen.saturating_sub(r.newidx)
        }
    }

    /// Sends `bytes` as (the next part of) the old value (`SYSCTL_OUT`).
    /// A caller that only asks for the size gets it counted.
    ///
    /// # Errors
    /// `ENOMEM` if the caller's buffer is too small (the size is still
    /// reported), `EFAULT` for a bad user buffer.
    pub fn write_old(&mut self, bytes: &[u8]) -> Result {
        let req = self.req.as_ptr();
        // SAFETY: the kernel's request (type invariant).
        let Some(f) = (unsafe { (*req).oldfunc }) else {
            return Err(code::EINVAL);
        };
        // SAFETY: the request's own output function, with its request and
        // `bytes.len()` readable bytes.
        Error::from_ret(unsafe { f(req, bytes.as_ptr().cast::<c_void>(), bytes.len()) })
    }

    /// Reads the next `buf.len()` bytes of the new value (`SYSCTL_IN`).
    ///
    /// # Errors
    /// `EINVAL` if fewer are left, `EFAULT` for a bad user buffer.
    pub fn read_new(&mut self, buf: &mut [u8]) -> Result {
        let req = self.req.as_ptr();
        // SAFETY: the kernel's request (type invariant).
        let Some(f) = (unsafe { (*req).newfunc }) else {
            return Err(code::EINVAL);
        };
        // SAFETY: the request's own input function, with its request and
        // `buf.len()` writable bytes.
        Error::from_ret(unsafe { f(req, buf.as_mut_ptr().cast::<c_void>(), buf.len()) })
    }

    /// `sysctl_handle_int(9)` on `value`: sends it, and stores a new value
    /// into it if one is given.
    ///
    /// # Errors
    /// As the kernel's handler.
    pub fn handle_int(&mut self, value: &mut i32) -> Result {
        // SAFETY: the kernel's OID and request (type invariant); `value` is
        // a writable `int` for the call.
        Error::from_ret(unsafe {
            sys::sysctl_handle_int(
                self.oid.as_ptr(),
                core::ptr::from_mut(value).cast::<c_void>(),
                0,
                self.req.as_ptr(),
            )
        })
    }

    /// `sysctl_handle_64(9)` on `value`: sends it, and stores a new value
    /// into it if one is given.
    ///
    /// # Errors
    /// As the kernel's handler.
    pub fn handle_u64(&mut self, value: &mut u64) -> Result {
        // SAFETY: as for `handle_int`, with a writable 64-bit integer.
        Error::from_ret(unsafe {
            sys::sysctl_handle_64(
                self.oid.as_ptr(),
                core::ptr::from_mut(value).cast::<c_void>(),
                0,
                self.req.as_ptr(),
            )
        })
    }
}

impl core::fmt::Debug for SysctlReq<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SysctlReq")
            .field("has_new", &self.has_new())
            .finish_non_exhaustive()
    }
}
