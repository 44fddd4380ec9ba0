// SPDX-License-Identifier: BSD-2-Clause
//! `module_register_init`, the SYSINIT that `DECLARE_MODULE` registers
//! (`sys/kern/kern_module.c`): it finds the module registered from the
//! file's metadata and sends it `MOD_LOAD` with Giant held; on failure it
//! sends `MOD_UNLOAD`, releases the module and prints "module_register_init:
//! MOD_LOAD (%s, %p, %p) error %d". The work is in [`crate::loader`].

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::thread;
use core::ffi::{CStr, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs!["module_register_init" => harness_module_register_init]);
}

/// module_register_init(9).
///
/// # Safety
/// `arg` must point to the module's `moduledata_t`.
unsafe extern "C" fn harness_module_register_init(arg: *const c_void) {
    let k = kernel();
    // SAFETY: by the caller's contract `arg` is the module's moduledata.
    let md = unsafe { &*arg.cast::<sys::moduledata>() };
    let (name_ptr, evhand, priv_) = (md.name, md.evhand, md.priv_);
    let name = if name_ptr.is_null() {
        String::new()
    } else {
        // SAFETY: the module name is a NUL-terminated string.
        unsafe { CStr::from_ptr(name_ptr) }
            .to_string_lossy()
            .into_owned()
    };
    let r = crate::loader::module_register_init(
        k,
        &name,
        KAddr::new(evhand.map_or(0, |h| h as usize)),
        KAddr::from_ptr(priv_),
    );
    drop(name);
    if r.is_err() {
        thread::escape();
    }
}
