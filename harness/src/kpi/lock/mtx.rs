// SPDX-License-Identifier: BSD-2-Clause
//! mutex(9) specifics: the entry points take the address of the lock word
//! `mtx_lock`, not of the `struct mtx` (`sys/sys/mutex.h`), and
//! `_mtx_init` fills the `lock_object` (`sys/kern/kern_mutex.c`).

use super::{Kind, LockTable, cstr, lock_init};
use crate::addr::KAddr;
use crate::state::Core;
use crate::thread::Panicked;
use core::ffi::{c_char, c_int};
use core::mem::offset_of;

/// `struct mtx` from the address of its `mtx_lock` (`mtxlock2mtx`).
pub(crate) fn mtx_of(c: *mut usize) -> KAddr {
    KAddr::from_ptr(c).wrapping_sub(offset_of!(sys::mtx, mtx_lock))
}

/// The index of `lock_class_mtx_spin` in `lock_classes[]`
/// (`sys/kern/subr_lock.c`).
pub(super) const CLASS_MTX_SPIN: u32 = 0;
/// The index of `lock_class_mtx_sleep`.
pub(super) const CLASS_MTX_SLEEP: u32 = 1;

impl LockTable {
    /// _mtx_init(9) on the mutex whose lock word is at `c`, as
    /// `_mtx_init` does it: the options become `lo_flags` (`MTX_NEW`
    /// becomes `LO_NEW`, which lets `lock_init` skip its double-init
    /// check), then `lock_init`, then an unowned lock word.
    ///
    /// # Errors
    /// `Panicked` if `lock_init`'s `INVARIANTS` check panicked (the
    /// memory already says "initialised"); the caller escapes.
    ///
    /// # Safety
    /// `c` must point to the `mtx_lock` of a `struct mtx` the caller owns.
    pub(crate) unsafe fn mtx_init(
        &self,
        k: &Core,
        c: *mut usize,
        name: *const c_char,
        opts: c_int,
    ) -> Result<(), Panicked> {
        let addr = mtx_of(c);
        let opts = opts.cast_unsigned();
        let spin = opts & sys::MTX_SPIN != 0;
        let recurse = opts & sys::MTX_RECURSE != 0;
        let mut flags = 0;
        if opts & sys::MTX_QUIET != 0 {
            flags |= sys::LO_QUIET;
        }
        if recurse {
            flags |= sys::LO_RECURSABLE;
        }
        if opts & sys::MTX_NOWITNESS == 0 {
            flags |= sys::LO_WITNESS;
        }
        if opts & sys::MTX_DUPOK != 0 {
            flags |= sys::LO_DUPOK;
        }
        if opts & sys::MTX_NOPROFILE != 0 {
            flags |= sys::LO_NOPROFILE;
        }
        if opts & sys::MTX_NEW != 0 {
            flags |= sys::LO_NEW;
        }
        let class = if spin {
            CLASS_MTX_SPIN
        } else {
            CLASS_MTX_SLEEP
        };
        // SAFETY: by the caller's contract `addr` is the module's mutex,
        // whose `lock_object` is its first member.
        unsafe { lock_init(k, addr.ptr(), class, name, flags) }?;
        self.init(
            addr,
            KAddr::from_ptr(c),
            cstr(name),
            Kind::Mtx { spin, recurse },
        );
        if let Some(l) = self.get(addr) {
            l.store_word(sys::MTX_UNOWNED as usize);
        }
        Ok(())
    }
}
