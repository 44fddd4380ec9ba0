// SPDX-License-Identifier: BSD-2-Clause
//! The mutex(9) entry points, as `mtx_init`, `mtx_lock` & co. expand in a
//! module (`sys/sys/mutex.h`): they take the address of the lock word
//! `mtx_lock`, not of the `struct mtx`.

use super::{Fail, Kind, cstr};
use crate::kernel::ViolationKind;
use crate::kpi::kernel;
use crate::thread;
use core::ffi::{c_char, c_int};
use core::mem::offset_of;

/// `struct mtx` from the address of its `mtx_lock` (`mtxlock2mtx`).
fn mtx_of(c: *mut usize) -> usize {
    (c as usize).wrapping_sub(offset_of!(sys::mtx, mtx_lock))
}

/// _mtx_init(9).
///
/// # Safety
/// `c` must point to the `mtx_lock` of a `struct mtx` the caller owns.
pub(super) unsafe extern "C" fn harness_mtx_init(
    c: *mut usize,
    name: *const c_char,
    _type: *const c_char,
    opts: c_int,
) {
    let k = kernel();
    let m = mtx_of(c) as *mut sys::mtx;
    let opts = opts.cast_unsigned();
    let spin = opts & sys::MTX_SPIN != 0;
    let recurse = opts & sys::MTX_RECURSE != 0;
    let mut flags = sys::LO_INITIALIZED;
    if recurse {
        flags |= sys::LO_RECURSABLE;
    }
    if opts & sys::MTX_NOWITNESS == 0 {
        flags |= sys::LO_WITNESS;
    }
    // SAFETY: by the caller's contract `m` is the module's mutex.
    let lo = unsafe { &mut (*m).lock_object };
    if lo.lo_flags & sys::LO_INITIALIZED != 0
        && opts & sys::MTX_NEW == 0
        && k.locks.get(m as usize).is_some()
    {
        k.violation(
            ViolationKind::Lock,
            format!(
                "lock \"{}\" {:#x} already initialized",
                cstr(name),
                m as usize
            ),
        );
    }
    lo.lo_name = name;
    lo.lo_flags = flags;
    lo.lo_data = 0;
    lo.lo_witness = core::ptr::null_mut();
    k.locks.init(
        m as usize,
        c as usize,
        cstr(name),
        Kind::Mtx { spin, recurse },
    );
    if let Some(l) = k.locks.get(m as usize) {
        l.store_word(sys::MTX_UNOWNED as usize);
    }
}

/// _mtx_destroy(9).
pub(super) extern "C" fn harness_mtx_destroy(c: *mut usize) {
    let k = kernel();
    k.locks.destroy(k, mtx_of(c));
}

/// __mtx_lock_flags (mtx_lock(9)).
pub(super) extern "C" fn harness_mtx_lock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) {
    let k = kernel();
    let r = k.locks.xlock(k, mtx_of(c), false, file, line);
    if r.is_err() {
        thread::escape();
    }
}

/// __mtx_unlock_flags (mtx_unlock(9)).
pub(super) extern "C" fn harness_mtx_unlock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) {
    let k = kernel();
    k.locks.xunlock(k, mtx_of(c), file, line);
}

/// _mtx_trylock_flags_ (mtx_trylock(9)).
pub(super) extern "C" fn harness_mtx_trylock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    match k.locks.xlock(k, mtx_of(c), true, file, line) {
        Ok(got) => c_int::from(got),
        Err(Fail::Escape) => thread::escape(),
    }
}
