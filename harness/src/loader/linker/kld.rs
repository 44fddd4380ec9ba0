// SPDX-License-Identifier: BSD-2-Clause
//! The linker lock (`kld_sx` in `kern_linker.c`), held across loads and
//! unloads, with the knowledge of which thread holds it.

use crate::loader::Host;
use crate::sync::lock_ignoring_poison;
use core::cell::RefCell;
use std::sync::MutexGuard;

thread_local! {
    /// The linkers (by address) whose `kld` lock this thread holds.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The linker lock of one kernel, held by this thread.
pub(crate) struct KldGuard<'a> {
    _guard: MutexGuard<'a, ()>,
    key: usize,
}

impl Drop for KldGuard<'_> {
    fn drop(&mut self) {
        HELD.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|&k| k == self.key) {
                h.remove(i);
            }
        });
    }
}

fn key(k: &dyn Host) -> usize {
    core::ptr::from_ref(k.linker()).addr()
}

/// Takes the linker lock (`sx_xlock(&kld_sx)`).
pub(in crate::loader) fn lock_kld(k: &dyn Host) -> KldGuard<'_> {
    let guard = lock_ignoring_poison(&k.linker().kld);
    let key = key(k);
    HELD.with(|h| h.borrow_mut().push(key));
    KldGuard { _guard: guard, key }
}

/// Whether this thread holds the linker lock of `k`.
pub(in crate::loader) fn holds_kld(k: &dyn Host) -> bool {
    let key = key(k);
    HELD.with(|h| h.borrow().contains(&key))
}
