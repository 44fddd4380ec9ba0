// SPDX-License-Identifier: BSD-2-Clause
//! The mutex(9) and sx(9) entry points, as `mtx_init`, `mtx_lock`,
//! `sx_xlock` & co. expand in a module (`sys/sys/mutex.h`,
//! `sys/sys/sx.h`); the mutex ones take the address of the lock word. The
//! work is in `crate::kpi::lock`.

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::kpi::lock::{LockClass, mtx_of};
use crate::thread::{self, witness};
use core::ffi::{c_char, c_int};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "_mtx_init" => harness_mtx_init,
        "_mtx_destroy" => harness_mtx_destroy,
        "__mtx_lock_flags" => harness_mtx_lock_flags,
        "__mtx_unlock_flags" => harness_mtx_unlock_flags,
        "_mtx_trylock_flags_" => harness_mtx_trylock_flags,
        "sx_init_flags" => harness_sx_init_flags,
        "sx_destroy" => harness_sx_destroy,
        "_sx_xlock" => harness_sx_xlock,
        "_sx_xunlock" => harness_sx_xunlock,
        "_sx_slock" => harness_sx_slock,
        "_sx_sunlock" => harness_sx_sunlock,
        "sx_try_xlock_" => harness_sx_try_xlock,
    ]);
}

/// _mtx_init(9).
///
/// # Safety
/// `c` must point to the `mtx_lock` of a `struct mtx` the caller owns.
unsafe extern "C" fn harness_mtx_init(
    c: *mut usize,
    name: *const c_char,
    _type: *const c_char,
    opts: c_int,
) {
    let k = kernel();
    // SAFETY: forwarded contract.
    if unsafe { k.locks.mtx_init(&k.core, c, name, opts) }.is_err() {
        thread::escape();
    }
}

/// _mtx_destroy(9).
extern "C" fn harness_mtx_destroy(c: *mut usize) {
    let k = kernel();
    if k.locks.destroy(&k.core, mtx_of(c)).is_err() {
        thread::escape();
    }
}

/// `WITNESS_CHECKORDER` before a blocking acquisition of the sleep lock
/// at `a` (`__mtx_lock_flags` in `sys/kern/kern_mutex.c`, `_sx_xlock` and
/// `_sx_slock` in `sys/kern/kern_sx.c`; try-locks do not call it): no
/// sleep lock in a critical section (`witness::check_sleep_lock`).
/// Escapes after the panic. A lock the table does not know is left to
/// the acquisition's own checks.
fn check_blockable(a: KAddr, file: *const c_char, line: c_int) {
    let k = kernel();
    let (Some(class), Some(name)) = (k.locks.class_of(a), k.locks.name_of(a)) else {
        return;
    };
    let class = match class {
        LockClass::SleepMutex => "sleep mutex",
        LockClass::Sx => "sx",
        LockClass::SpinMutex => return,
    };
    let at = if file.is_null() {
        String::from("(null)")
    } else {
        // SAFETY: the lock macros pass `__FILE__`, a NUL-terminated
        // literal of the module; checked for NULL above.
        let f = unsafe { core::ffi::CStr::from_ptr(file) };
        format!("{}:{line}", f.to_string_lossy())
    };
    if witness::check_sleep_lock(&k.core, class, &name, &at).is_err() {
        thread::escape();
    }
}

/// __mtx_lock_flags (mtx_lock(9)).
extern "C" fn harness_mtx_lock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) {
    let k = kernel();
    check_blockable(mtx_of(c), file, line);
    if k.locks
        .xlock(&k.core, mtx_of(c), false, file, line)
        .is_err()
    {
        thread::escape();
    }
}

/// __mtx_unlock_flags (mtx_unlock(9)).
extern "C" fn harness_mtx_unlock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) {
    let k = kernel();
    if k.locks.xunlock(&k.core, mtx_of(c), file, line).is_err() {
        thread::escape();
    }
}

/// _mtx_trylock_flags_ (mtx_trylock(9)).
extern "C" fn harness_mtx_trylock_flags(
    c: *mut usize,
    _opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    match k.locks.xlock(&k.core, mtx_of(c), true, file, line) {
        Ok(got) => c_int::from(got),
        Err(thread::Panicked) => thread::escape(),
    }
}

/// sx_init_flags(9).
///
/// # Safety
/// `sx` must point to a `struct sx` the caller owns.
unsafe extern "C" fn harness_sx_init_flags(sx: *mut sys::sx, name: *const c_char, opts: c_int) {
    let k = kernel();
    // SAFETY: forwarded contract.
    if unsafe { k.locks.sx_init(&k.core, sx, name, opts) }.is_err() {
        thread::escape();
    }
}

/// sx_destroy(9).
extern "C" fn harness_sx_destroy(sx: *mut sys::sx) {
    let k = kernel();
    if k.locks.destroy(&k.core, KAddr::from_ptr(sx)).is_err() {
        thread::escape();
    }
}

/// `SX_INTERRUPTIBLE` (`sys/sys/sx.h`): `sx_xlock_sig`, `sx_slock_sig`.
const SX_INTERRUPTIBLE: c_int = 0x40;

/// The signal that interrupts an `SX_INTERRUPTIBLE` wait: `ERESTART` for
/// a handler with `SA_RESTART`, `EINTR` otherwise (`sleepq_wait_sig`).
fn interrupted() -> Option<c_int> {
    kernel().sleepq.signal_pending().map(|restart| {
        if restart {
            crate::errno::Errno::ERESTART.0
        } else {
            crate::errno::Errno::EINTR.0
        }
    })
}

/// _sx_xlock (sx_xlock(9), and sx_xlock_sig(9) with `SX_INTERRUPTIBLE`:
/// 0, `EINTR` or `ERESTART`).
extern "C" fn harness_sx_xlock(
    sx: *mut sys::sx,
    opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    let a = KAddr::from_ptr(sx);
    check_blockable(a, file, line);
    let r = if opts & SX_INTERRUPTIBLE != 0 {
        k.locks.xlock_sig(&k.core, a, file, line, &interrupted)
    } else {
        k.locks.xlock(&k.core, a, false, file, line).map(|_| 0)
    };
    match r {
        Ok(e) => e,
        Err(thread::Panicked) => thread::escape(),
    }
}

/// _sx_xunlock (sx_xunlock(9)).
extern "C" fn harness_sx_xunlock(sx: *mut sys::sx, file: *const c_char, line: c_int) {
    let k = kernel();
    if k.locks
        .xunlock(&k.core, KAddr::from_ptr(sx), file, line)
        .is_err()
    {
        thread::escape();
    }
}

/// _sx_slock (sx_slock(9), and sx_slock_sig(9) with `SX_INTERRUPTIBLE`).
extern "C" fn harness_sx_slock(
    sx: *mut sys::sx,
    opts: c_int,
    file: *const c_char,
    line: c_int,
) -> c_int {
    let k = kernel();
    let a = KAddr::from_ptr(sx);
    check_blockable(a, file, line);
    let r = if opts & SX_INTERRUPTIBLE != 0 {
        k.locks.slock_sig(&k.core, a, file, line, &interrupted)
    } else {
        k.locks.slock(&k.core, a, file, line).map(|()| 0)
    };
    match r {
        Ok(e) => e,
        Err(thread::Panicked) => thread::escape(),
    }
}

/// _sx_sunlock (sx_sunlock(9)).
extern "C" fn harness_sx_sunlock(sx: *mut sys::sx, file: *const c_char, line: c_int) {
    let k = kernel();
    if k.locks
        .sunlock(&k.core, KAddr::from_ptr(sx), file, line)
        .is_err()
    {
        thread::escape();
    }
}

/// sx_try_xlock_ (sx_try_xlock(9)).
extern "C" fn harness_sx_try_xlock(sx: *mut sys::sx, file: *const c_char, line: c_int) -> c_int {
    let k = kernel();
    match k
        .locks
        .xlock(&k.core, KAddr::from_ptr(sx), true, file, line)
    {
        Ok(got) => c_int::from(got),
        Err(thread::Panicked) => thread::escape(),
    }
}
