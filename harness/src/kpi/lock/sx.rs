// SPDX-License-Identifier: BSD-2-Clause
//! The sx(9) entry points, as `sx_init`, `sx_xlock` & co. expand in a
//! module (`sys/sys/sx.h`).

use super::{Fail, Kind, cstr};
use crate::kpi::kernel;
use crate::thread;
use core::ffi::{c_char, c_int};

/// sx_init_flags(9).
///
/// # Safety
/// `sx` must point to a `struct sx` the caller owns.
pub(super) unsafe extern "C" fn harness_sx_init_flags(
    sx: *mut sys::sx,
    name: *const c_char,
    opts: c_int,
) {
    let k = kernel();
    let opts = opts.cast_unsigned();
    let recurse = opts & sys::SX_RECURSE != 0;
    let mut flags = sys::LO_INITIALIZED | sys::LO_SLEEPABLE | sys::LO_UPGRADABLE;
    if recurse {
        flags |= sys::LO_RECURSABLE;
    }
    // SAFETY: by the caller's contract.
    let s = unsafe { &mut *sx };
    s.lock_object.lo_name = name;
    s.lock_object.lo_flags = flags;
    s.lock_object.lo_data = 0;
    s.sx_lock = u64::from(sys::SX_LOCK_UNLOCKED);
    let word = (&raw mut s.sx_lock) as usize;
    k.locks
        .init(sx as usize, word, cstr(name), Kind::Sx { recurse });
}

/// sx_destroy(9).
pub(super) extern "C" fn harness_sx_destroy(sx: *mut sys::sx) {
    let k = kernel();
    k.locks.destroy(k, sx as usize);
}

/// _sx_xlock (sx_xlock(9)).
pub(super) extern "C" fn harness_sx_xlock(
    sx: *mut sys::sx,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    if k.locks.xlock(k, sx as usize, false, file, line).is_err() {
        thread::escape();
    }
    0
}

/// _sx_xunlock (sx_xunlock(9)).
pub(super) extern "C" fn harness_sx_xunlock(sx: *mut sys::sx, file: *const c_char, line: c_int) {
    let k = kernel();
    k.locks.xunlock(k, sx as usize, file, line);
}

/// _sx_slock (sx_slock(9)).
pub(super) extern "C" fn harness_sx_slock(
    sx: *mut sys::sx,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    if k.locks.slock(k, sx as usize, file, line).is_err() {
        thread::escape();
    }
    0
}

/// _sx_sunlock (sx_sunlock(9)).
pub(super) extern "C" fn harness_sx_sunlock(sx: *mut sys::sx, file: *const c_char, line: c_int) {
    let k = kernel();
    k.locks.sunlock(k, sx as usize, file, line);
}

/// sx_try_xlock_ (sx_try_xlock(9)).
pub(super) extern "C" fn harness_sx_try_xlock(
    sx: *mut sys::sx,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    match k.locks.xlock(k, sx as usize, true, file, line) {
        Ok(got) => c_int::from(got),
        Err(Fail::Escape) => thread::escape(),
    }
}
