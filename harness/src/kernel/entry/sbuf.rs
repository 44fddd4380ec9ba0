// SPDX-License-Identifier: BSD-2-Clause
//! The sbuf(9) entry points (the work is in `crate::kpi::sbuf`;
//! `sbuf_printf` and `sbuf_vprintf` are C, in `csrc/kpi_vararg.c`, and
//! call back here for each character), plus `sbuf_new_for_sysctl` and
//! `sysctl_wire_old_buffer` (`sys/kern/kern_sysctl.c`).
//!
//! An `INVARIANTS` check that fails has recorded the panic; the entry
//! point then leaves module code.

use super::{FuncEntry, KernelInner, kernel};
use crate::kpi::sbuf::{self, Ctx, FINISHED_FLAG, SbufResult, USER_FLAGS};
use crate::thread;
use core::ffi::{CStr, c_char, c_int, c_void};

unsafe extern "C" {
    fn harness_kern_sbuf_printf();
    fn harness_kern_sbuf_vprintf();
}

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "sbuf_new" => harness_sbuf_new,
        "sbuf_clear" => harness_sbuf_clear,
        "sbuf_setpos" => harness_sbuf_setpos,
        "sbuf_bcat" => harness_sbuf_bcat,
        "sbuf_bcpy" => harness_sbuf_bcpy,
        "sbuf_cat" => harness_sbuf_cat,
        "sbuf_cpy" => harness_sbuf_cpy,
        "sbuf_printf" => harness_kern_sbuf_printf,
        "sbuf_vprintf" => harness_kern_sbuf_vprintf,
        "sbuf_putc" => harness_sbuf_putc,
        "sbuf_nl_terminate" => harness_sbuf_nl_terminate,
        "sbuf_set_drain" => harness_sbuf_set_drain,
        "sbuf_trim" => harness_sbuf_trim,
        "sbuf_error" => harness_sbuf_error,
        "sbuf_finish" => harness_sbuf_finish,
        "sbuf_data" => harness_sbuf_data,
        "sbuf_len" => harness_sbuf_len,
        "sbuf_done" => harness_sbuf_done,
        "sbuf_delete" => harness_sbuf_delete,
        "sbuf_get_flags" => harness_sbuf_get_flags,
        "sbuf_set_flags" => harness_sbuf_set_flags,
        "sbuf_clear_flags" => harness_sbuf_clear_flags,
        "sbuf_count_drain" => sbuf::count_drain,
        "sbuf_new_for_sysctl" => harness_sbuf_new_for_sysctl,
        "sysctl_wire_old_buffer" => harness_sysctl_wire_old_buffer,
    ]);
}

fn ctx(k: &KernelInner) -> Ctx<'_> {
    Ctx {
        core: &k.core,
        mem: k,
    }
}

/// The value of an sbuf operation, or out of module code after a panic.
fn ok<T>(r: SbufResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(thread::Panicked) => thread::escape(),
    }
}

/// `sbuf_new(9)`
///
/// # Safety
/// As `sbuf_new`: `s` null or writable; `buf` null or `length` bytes.
unsafe extern "C" fn harness_sbuf_new(
    s: *mut sys::sbuf,
    buf: *mut c_char,
    length: c_int,
    flags: c_int,
) -> *mut sys::sbuf {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::new(&ctx(k), s, buf, length, flags) })
}

/// `sbuf_clear(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_clear(s: *mut sys::sbuf) {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::clear(&ctx(k), s) });
}

/// `sbuf_setpos(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_setpos(s: *mut sys::sbuf, pos: isize) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::setpos(&ctx(k), s, pos) })
}

/// The bytes a module passes.
///
/// # Safety
/// `p` readable for `len` bytes (or `len` 0).
unsafe fn bytes<'a>(p: *const c_void, len: usize) -> &'a [u8] {
    if len == 0 || p.is_null() {
        return &[];
    }
    // SAFETY: by the caller's contract.
    unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) }
}

/// A module's C string.
///
/// # Safety
/// `p` NUL-terminated.
unsafe fn cstr<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// `sbuf_bcat(9)`
///
/// # Safety
/// `s` an sbuf; `buf` readable for `len` bytes.
unsafe extern "C" fn harness_sbuf_bcat(s: *mut sys::sbuf, buf: *const c_void, len: usize) -> c_int {
    let k = kernel();
    let c = ctx(k);
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(buf, len) };
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::put_bytes(&c, s, b) });
    // SAFETY: `s` is a live sbuf (checked by put_bytes).
    unsafe { sbuf::status(s) }
}

/// `sbuf_bcpy(9)`
///
/// # Safety
/// `s` an sbuf; `buf` readable for `len` bytes.
unsafe extern "C" fn harness_sbuf_bcpy(s: *mut sys::sbuf, buf: *const c_void, len: usize) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(buf, len) };
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::copy(&ctx(k), "sbuf_bcpy", s, b) })
}

/// `sbuf_cat(9)`
///
/// # Safety
/// `s` an sbuf; `str` NUL-terminated.
unsafe extern "C" fn harness_sbuf_cat(s: *mut sys::sbuf, str: *const c_char) -> c_int {
    let k = kernel();
    let c = ctx(k);
    // SAFETY: forwarded contract.
    let b = unsafe { cstr(str) };
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::put_bytes(&c, s, b) });
    // SAFETY: `s` is a live sbuf (checked by put_bytes).
    unsafe { sbuf::status(s) }
}

/// `sbuf_cpy(9)`
///
/// # Safety
/// `s` an sbuf; `str` NUL-terminated.
unsafe extern "C" fn harness_sbuf_cpy(s: *mut sys::sbuf, str: *const c_char) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let b = unsafe { cstr(str) };
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::copy(&ctx(k), "sbuf_cpy", s, b) })
}

/// `sbuf_putc(9)`: appends the byte, even a NUL.
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_putc(s: *mut sys::sbuf, ch: c_int) -> c_int {
    let k = kernel();
    // CAST: sbuf_put_byte takes a `char`: the low byte.
    let b = ch as u8;
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::put_byte(&ctx(k), s, b) });
    // SAFETY: `s` is a live sbuf (checked by put_byte).
    unsafe { sbuf::status(s) }
}

/// `sbuf_nl_terminate(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_nl_terminate(s: *mut sys::sbuf) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::nl_terminate(&ctx(k), s) })
}

/// `sbuf_set_drain(9)`
///
/// # Safety
/// `s` an sbuf; `func` null or a drain function taking `arg`.
unsafe extern "C" fn harness_sbuf_set_drain(
    s: *mut sys::sbuf,
    func: sys::sbuf_drain_func,
    arg: *mut c_void,
) {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::set_drain(&ctx(k), s, func, arg) });
}

/// `sbuf_trim(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_trim(s: *mut sys::sbuf) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::trim(&ctx(k), s) })
}

/// `sbuf_error(9)`: the sticky error.
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_error(s: *const sys::sbuf) -> c_int {
    // SAFETY: by the contract.
    unsafe { (*s).s_error }
}

/// `sbuf_finish(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_finish(s: *mut sys::sbuf) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::finish(&ctx(k), s) })
}

/// `sbuf_data(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_data(s: *mut sys::sbuf) -> *mut c_char {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::data(&ctx(k), s) })
}

/// `sbuf_len(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_len(s: *mut sys::sbuf) -> isize {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::len(&ctx(k), s) })
}

/// `sbuf_done(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_done(s: *const sys::sbuf) -> c_int {
    // SAFETY: by the contract.
    c_int::from(unsafe { (*s).s_flags } & FINISHED_FLAG != 0)
}

/// `sbuf_delete(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_delete(s: *mut sys::sbuf) {
    let k = kernel();
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::delete(&ctx(k), s) });
}

/// `sbuf_get_flags(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_get_flags(s: *const sys::sbuf) -> c_int {
    // SAFETY: by the contract.
    unsafe { (*s).s_flags & USER_FLAGS }
}

/// `sbuf_set_flags(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_set_flags(s: *mut sys::sbuf, flags: c_int) {
    // SAFETY: by the contract.
    unsafe { (*s).s_flags |= flags & USER_FLAGS };
}

/// `sbuf_clear_flags(9)`
///
/// # Safety
/// `s` an sbuf.
unsafe extern "C" fn harness_sbuf_clear_flags(s: *mut sys::sbuf, flags: c_int) {
    // SAFETY: by the contract.
    unsafe { (*s).s_flags &= !(flags & USER_FLAGS) };
}

/// `sbuf_new_for_sysctl(9)`: a fixed sbuf (64 bytes unless given) that
/// counts its NUL and drains into the request with `SYSCTL_OUT`.
///
/// # Safety
/// As `sbuf_new`; `req` the handler's request.
unsafe extern "C" fn harness_sbuf_new_for_sysctl(
    s: *mut sys::sbuf,
    buf: *mut c_char,
    length: c_int,
    req: *mut sys::sysctl_req,
) -> *mut sys::sbuf {
    let k = kernel();
    let c = ctx(k);
    let length = if buf.is_null() && length == 0 {
        64
    } else {
        length
    };
    let flags = (sys::SBUF_FIXEDLEN | sys::SBUF_INCLUDENUL).cast_signed();
    // SAFETY: forwarded contract.
    let s = ok(unsafe { sbuf::new(&c, s, buf, length, flags) });
    let drain: unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int =
        sbuf::sysctl_drain;
    // SAFETY: `s` is the sbuf just made (FreeBSD does not check for NULL
    // either: its allocation is M_WAITOK).
    ok(unsafe { sbuf::set_drain(&c, s, Some(drain), req.cast()) });
    s
}

/// `sysctl_wire_old_buffer(9)`: wires the caller's buffer (`len` bytes,
/// or all of it), after which `SYSCTL_OUT` may be used with locks held
/// (`sysctl_old_user` uses `copyout_nofault`) and output past the wired
/// length is cut off.
///
/// # Safety
/// `req` the handler's request.
unsafe extern "C" fn harness_sysctl_wire_old_buffer(
    req: *mut sys::sysctl_req,
    len: usize,
) -> c_int {
    // SAFETY: by the contract.
    let r = unsafe { &mut *req };
    let wiredlen = if len > 0 && len < r.oldlen {
        len
    } else {
        r.oldlen
    };
    // A request from user space has sysctl_old_user, through its stub
    // (`super::host_stub`), as its oldfunc.
    let user_out = super::host_stub(super::sysctl::sysctl_old_user as *const () as usize);
    let ours = r.oldfunc.map(|f| f as usize) == user_out.map(|a| a.get());
    if r.lock != sys::REQ_WIRED.cast_signed() && !r.oldptr.is_null() && ours {
        r.lock = sys::REQ_WIRED.cast_signed();
        r.validlen = wiredlen;
    }
    0
}

/// sbuf_vprintf's checks, for `csrc/kpi_vararg.c`: 0, or nonzero after a
/// recorded panic (C then leaves module code).
///
/// # Safety
/// `s` an sbuf or null.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_sbuf_vprintf_begin(s: *mut sys::sbuf, fmt: *const c_char) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    match unsafe { sbuf::vprintf_begin(&ctx(k), s, fmt.is_null()) } {
        Ok(()) => 0,
        Err(thread::Panicked) => 1,
    }
}

/// One character of sbuf_vprintf (`sbuf_put_byte`), for
/// `csrc/kpi_vararg.c`.
///
/// # Safety
/// `s` an sbuf.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_sbuf_put_byte(s: *mut sys::sbuf, ch: c_int) {
    let k = kernel();
    // CAST: the formatter hands over a byte as an `int`.
    let b = ch as u8;
    // SAFETY: forwarded contract.
    ok(unsafe { sbuf::put_byte(&ctx(k), s, b) });
}

/// sbuf_vprintf's result: -1 after an error, else 0.
///
/// # Safety
/// `s` an sbuf.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_sbuf_status(s: *const sys::sbuf) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { sbuf::status(s) }
}
