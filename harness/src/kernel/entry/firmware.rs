// SPDX-License-Identifier: BSD-2-Clause
//! The firmware(9) entry points (the work is in `crate::kpi::firmware`).

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::thread;
use core::ffi::{CStr, c_char, c_int, c_uint, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "firmware_register" => harness_firmware_register,
        "firmware_unregister" => harness_firmware_unregister,
        "firmware_get" => harness_firmware_get,
        "firmware_get_flags" => harness_firmware_get_flags,
        "firmware_put" => harness_firmware_put,
    ]);
}

/// A module's C string, as Rust text.
///
/// # Safety
/// `p` NUL-terminated.
unsafe fn name<'a>(p: *const c_char) -> std::borrow::Cow<'a, str> {
    // SAFETY: by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy()
}

/// `firmware_register(9)`
///
/// # Safety
/// `imagename` NUL-terminated; `data` readable for `datasize` bytes for as
/// long as the image is registered; `parent` null or a registered image.
unsafe extern "C" fn harness_firmware_register(
    imagename: *const c_char,
    data: *const c_void,
    datasize: usize,
    version: c_uint,
    parent: *const sys::firmware,
) -> *const sys::firmware {
    let k = kernel();
    // SAFETY: forwarded contract.
    let n = unsafe { name(imagename) };
    let fw = k.firmware.register(
        &k.core,
        k,
        &n,
        KAddr::from_ptr(data),
        datasize,
        version,
        KAddr::from_ptr(parent),
    );
    drop(n);
    fw.ptr()
}

/// `firmware_unregister(9)`: 0, or `EBUSY` while referenced.
///
/// # Safety
/// `imagename` NUL-terminated.
unsafe extern "C" fn harness_firmware_unregister(imagename: *const c_char) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let n = unsafe { name(imagename) };
    match k.firmware.unregister(k, &n) {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// `firmware_get(9)`
///
/// # Safety
/// `imagename` NUL-terminated.
unsafe extern "C" fn harness_firmware_get(imagename: *const c_char) -> *const sys::firmware {
    // SAFETY: forwarded contract.
    unsafe { harness_firmware_get_flags(imagename, 0) }
}

/// `firmware_get_flags(9)`
///
/// # Safety
/// `imagename` NUL-terminated.
unsafe extern "C" fn harness_firmware_get_flags(
    imagename: *const c_char,
    flags: u32,
) -> *const sys::firmware {
    let k = kernel();
    let fw = {
        // SAFETY: forwarded contract.
        let n = unsafe { name(imagename) };
        k.firmware.get(&k.core, k, &n, flags)
    };
    if k.core.is_dead() {
        thread::escape();
    }
    fw.ptr()
}

/// `firmware_put(9)`
extern "C" fn harness_firmware_put(p: *const sys::firmware, flags: c_int) {
    let k = kernel();
    k.firmware.put(&k.core, KAddr::from_ptr(p), flags);
}
