// SPDX-License-Identifier: BSD-2-Clause
//! sx(9) specifics: `sx_init_flags` fills the `lock_object` and the lock
//! word (`sys/kern/kern_sx.c`).

use super::{Kind, LockTable, cstr, lock_init};
use crate::addr::KAddr;
use crate::state::Core;
use crate::thread::Panicked;
use core::ffi::{c_char, c_int};

/// The index of `lock_class_sx` in `lock_classes[]`
/// (`sys/kern/subr_lock.c`).
pub(super) const CLASS_SX: u32 = 2;

impl LockTable {
    /// sx_init_flags(9), as `sx_init_flags` does it: the options become
    /// `lo_flags` (`SX_NEW` becomes `LO_NEW`), then `lock_init`, then an
    /// unlocked lock word.
    ///
    /// # Errors
    /// `Panicked` if `lock_init`'s `INVARIANTS` check panicked; the
    /// caller escapes.
    ///
    /// # Safety
    /// `sx` must point to a `struct sx` the caller owns.
    pub(crate) unsafe fn sx_init(
        &self,
        k: &Core,
        sx: *mut sys::sx,
        name: *const c_char,
        opts: c_int,
    ) -> Result<(), Panicked> {
        let opts = opts.cast_unsigned();
        let recurse = opts & sys::SX_RECURSE != 0;
        let mut flags = sys::LO_SLEEPABLE | sys::LO_UPGRADABLE;
        if opts & sys::SX_DUPOK != 0 {
            flags |= sys::LO_DUPOK;
        }
        if opts & sys::SX_NOPROFILE != 0 {
            flags |= sys::LO_NOPROFILE;
        }
        if opts & sys::SX_NOWITNESS == 0 {
            flags |= sys::LO_WITNESS;
        }
        if recurse {
            flags |= sys::LO_RECURSABLE;
        }
        if opts & sys::SX_QUIET != 0 {
            flags |= sys::LO_QUIET;
        }
        if opts & sys::SX_NEW != 0 {
            flags |= sys::LO_NEW;
        }
        // SAFETY: by the caller's contract `sx` is the module's lock,
        // whose `lock_object` is its first member.
        unsafe { lock_init(k, sx.cast(), CLASS_SX, name, flags) }?;
        // SAFETY: by the caller's contract.
        let s = unsafe { &mut *sx };
        s.sx_lock = u64::from(sys::SX_LOCK_UNLOCKED);
        let word = KAddr::from_ptr(&raw const s.sx_lock);
        self.init(KAddr::from_ptr(sx), word, cstr(name), Kind::Sx { recurse });
        Ok(())
    }
}
