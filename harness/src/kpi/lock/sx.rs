// SPDX-License-Identifier: BSD-2-Clause
//! sx(9) specifics: `sx_init_flags` fills the `lock_object` and the lock
//! word (`sys/kern/kern_sx.c`).

use super::{Kind, LockTable, cstr};
use crate::addr::KAddr;
use core::ffi::{c_char, c_int};

impl LockTable {
    /// sx_init_flags(9).
    ///
    /// # Safety
    /// `sx` must point to a `struct sx` the caller owns.
    pub(crate) unsafe fn sx_init(&self, sx: *mut sys::sx, name: *const c_char, opts: c_int) {
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
        let word = KAddr::from_ptr(&raw const s.sx_lock);
        self.init(KAddr::from_ptr(sx), word, cstr(name), Kind::Sx { recurse });
    }
}
