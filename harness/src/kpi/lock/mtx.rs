// SPDX-License-Identifier: BSD-2-Clause
//! mutex(9) specifics: the entry points take the address of the lock word
//! `mtx_lock`, not of the `struct mtx` (`sys/sys/mutex.h`), and
//! `_mtx_init` fills the `lock_object` (`sys/kern/kern_mutex.c`).

use super::{Kind, LockTable, cstr};
use crate::addr::KAddr;
use crate::state::{Core, ViolationKind};
use core::ffi::{c_char, c_int};
use core::mem::offset_of;

/// `struct mtx` from the address of its `mtx_lock` (`mtxlock2mtx`).
pub(crate) fn mtx_of(c: *mut usize) -> KAddr {
    KAddr::from_ptr(c).wrapping_sub(offset_of!(sys::mtx, mtx_lock))
}

impl LockTable {
    /// _mtx_init(9) on the mutex whose lock word is at `c`.
    ///
    /// # Safety
    /// `c` must point to the `mtx_lock` of a `struct mtx` the caller owns.
    pub(crate) unsafe fn mtx_init(
        &self,
        k: &Core,
        c: *mut usize,
        name: *const c_char,
        opts: c_int,
    ) {
        let addr = mtx_of(c);
        let m = addr.ptr::<sys::mtx>();
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
            && self.get(addr).is_some()
        {
            k.violation(
                ViolationKind::Lock,
                format!("lock \"{}\" {addr:#x} already initialized", cstr(name)),
            );
        }
        lo.lo_name = name;
        lo.lo_flags = flags;
        lo.lo_data = 0;
        lo.lo_witness = core::ptr::null_mut();
        self.init(
            addr,
            KAddr::from_ptr(c),
            cstr(name),
            Kind::Mtx { spin, recurse },
        );
        if let Some(l) = self.get(addr) {
            l.store_word(sys::MTX_UNOWNED as usize);
        }
    }
}
