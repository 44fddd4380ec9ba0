// SPDX-License-Identifier: BSD-2-Clause
//! The C helpers of `shim/kern.c`: one function per kernel macro that
//! bindgen cannot see, linked into every module.
//!
//! Each is declared here with the signature it has in `shim/kern.c`; the
//! callers' SAFETY comments refer to the manual page of the macro it wraps.

use core::ffi::{c_char, c_int, c_void};

unsafe extern "C" {
    /// `mtx_init(m, name, NULL, opts)`, `mtx(9)`.
    pub(crate) fn shim_mtx_init(m: *mut sys::mtx, name: *const c_char, opts: c_int);
    /// `mtx_destroy(m)`, `mtx(9)`.
    pub(crate) fn shim_mtx_destroy(m: *mut sys::mtx);
    /// `mtx_trylock(m)`, `mtx(9)`: nonzero if acquired.
    pub(crate) fn shim_mtx_trylock(m: *mut sys::mtx) -> c_int;

    /// `sx_init_flags(sx, name, opts)`, `sx(9)`.
    pub(crate) fn shim_sx_init(sx: *mut sys::sx, name: *const c_char, opts: c_int);
    /// `sx_destroy(sx)`, `sx(9)`.
    pub(crate) fn shim_sx_destroy(sx: *mut sys::sx);
    /// `sx_try_xlock(sx)`, `sx(9)`: nonzero if acquired.
    pub(crate) fn shim_sx_try_xlock(sx: *mut sys::sx) -> c_int;

    /// `SYSCTL_STATIC_CHILDREN(_hw)`, `sysctl(9)`.
    pub(crate) fn shim_sysctl_static_children_hw() -> *mut sys::sysctl_oid_list;
    /// `SYSCTL_CHILDREN(oid)`, `sysctl(9)`.
    pub(crate) fn shim_sysctl_children(oid: *mut sys::sysctl_oid) -> *mut sys::sysctl_oid_list;
    /// `SYSCTL_ADD_NODE(ctx, parent, OID_AUTO, name, CTLFLAG_RD |
    /// CTLFLAG_MPSAFE, NULL, descr)`, `SYSCTL_ADD_NODE(9)`.
    pub(crate) fn shim_SYSCTL_ADD_NODE(
        ctx: *mut sys::sysctl_ctx_list,
        parent: *mut sys::sysctl_oid_list,
        name: *const c_char,
        descr: *const c_char,
    ) -> *mut sys::sysctl_oid;
    /// `SYSCTL_ADD_U64(ctx, parent, OID_AUTO, name, CTLFLAG_RD |
    /// CTLFLAG_MPSAFE, ptr, 0, descr)`, `SYSCTL_ADD_U64(9)`.
    pub(crate) fn shim_SYSCTL_ADD_U64_RD(
        ctx: *mut sys::sysctl_ctx_list,
        parent: *mut sys::sysctl_oid_list,
        name: *const c_char,
        ptr: *mut u64,
        descr: *const c_char,
    ) -> *mut sys::sysctl_oid;
    /// `SYSCTL_ADD_PROC(ctx, parent, OID_AUTO, name, CTLTYPE_U64 |
    /// CTLFLAG_RW | CTLFLAG_MPSAFE, arg1, arg2, handler, "QU", descr)`,
    /// `SYSCTL_ADD_PROC(9)`.
    pub(crate) fn shim_SYSCTL_ADD_PROC_U64_RW(
        ctx: *mut sys::sysctl_ctx_list,
        parent: *mut sys::sysctl_oid_list,
        name: *const c_char,
        arg1: *mut c_void,
        arg2: sys::intmax_t,
        handler: SysctlHandler,
        descr: *const c_char,
    ) -> *mut sys::sysctl_oid;
}

/// A sysctl handler (`SYSCTL_HANDLER_ARGS`).
pub(crate) type SysctlHandler = unsafe extern "C" fn(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int;
