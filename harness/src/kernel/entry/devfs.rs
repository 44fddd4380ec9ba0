// SPDX-License-Identifier: BSD-2-Clause
//! The devfs entry points: make_dev(9) and friends (formatted in
//! `csrc/harness.c`, which then calls `harness_rs_make_dev_*`),
//! destroy_dev(9) and the cdevpriv calls. The work is in
//! `crate::kpi::devfs`; the `struct cdev`s come from the kernel's malloc.

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::kpi::devfs::make_dev_args_init_impl;
use crate::thread;
use core::ffi::{c_char, c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "make_dev_args_init_impl" => make_dev_args_init_impl,
        "destroy_dev" => harness_destroy_dev,
        "devfs_set_cdevpriv" => harness_devfs_set_cdevpriv,
        "devfs_get_cdevpriv" => harness_devfs_get_cdevpriv,
        "devfs_clear_cdevpriv" => harness_devfs_clear_cdevpriv,
    ]);
}

/// The formatted name harness.c hands over.
fn name_bytes<'a>(name: *const c_char) -> &'a [u8] {
    // SAFETY: harness.c passes a NUL-terminated buffer of 256 bytes.
    unsafe { core::ffi::CStr::from_ptr(name) }.to_bytes()
}

/// make_dev_s(9), after formatting (`csrc/harness.c`).
///
/// # Safety
/// `args` must point to a `struct make_dev_args` of `mda_size` bytes whose
/// `mda_devsw` is the module's cdevsw; `dres` writable; `name`
/// NUL-terminated.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_make_dev_s(
    args: *const c_void,
    dres: *mut *mut c_void,
    name: *const c_char,
    len: c_int,
) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let r = unsafe {
        k.devfs
            .make_dev_sv(&k.core, k, args.cast(), dres.cast(), name_bytes(name), len)
    };
    if k.core.is_dead() {
        thread::escape();
    }
    r
}

/// make_dev(9) / make_dev_p(9) (`make_dev_credv`).
///
/// # Safety
/// `devsw` the module's cdevsw; `dres` writable; `name` NUL-terminated.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_make_dev_credv(
    flags: c_int,
    dres: *mut *mut c_void,
    devsw: *mut c_void,
    unit: c_int,
    cr: *mut c_void,
    uid: u32,
    gid: u32,
    mode: c_int,
    name: *const c_char,
    len: c_int,
) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let r = unsafe {
        k.devfs.make_dev_credv(
            &k.core,
            k,
            flags,
            dres.cast(),
            devsw.cast(),
            unit,
            cr.cast(),
            uid,
            gid,
            mode,
            name_bytes(name),
            len,
        )
    };
    if k.core.is_dead() {
        thread::escape();
    }
    r
}

/// destroy_dev(9).
extern "C" fn harness_destroy_dev(dev: *mut sys::cdev) {
    let k = kernel();
    if k.devfs
        .destroy_dev(&k.core, k, KAddr::from_ptr(dev))
        .is_err()
    {
        thread::escape();
    }
}

/// devfs_set_cdevpriv(9).
extern "C" fn harness_devfs_set_cdevpriv(data: *mut c_void, dtor: sys::d_priv_dtor_t) -> c_int {
    let k = kernel();
    let dtor = KAddr::new(dtor.map_or(0, |f| f as usize));
    match k.devfs.set_cdevpriv(&k.core, KAddr::from_ptr(data), dtor) {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// devfs_get_cdevpriv(9).
///
/// # Safety
/// `datap` writable.
unsafe extern "C" fn harness_devfs_get_cdevpriv(datap: *mut *mut c_void) -> c_int {
    let k = kernel();
    match k.devfs.get_cdevpriv() {
        Ok(data) => {
            // SAFETY: by the caller's contract.
            unsafe { *datap = data.ptr() };
            0
        }
        Err(e) => e.0,
    }
}

/// devfs_clear_cdevpriv(9).
extern "C" fn harness_devfs_clear_cdevpriv() {
    let k = kernel();
    if k.devfs.clear_cdevpriv(&k.core).is_err() {
        thread::escape();
    }
}
