// SPDX-License-Identifier: BSD-2-Clause
//! The kernel asking the linker for a module by name
//! (`linker_reference_module`, `linker_release_module` in
//! `kern_linker.c`, which firmware(9) uses to load the module holding an
//! image), and the linker lock (`kld_sx`) with the knowledge of which
//! thread holds it: a thread that asks for a module while it holds the
//! lock (from a module event handler during kldload) would wait for
//! itself forever on FreeBSD.

use super::{Fail, file, linker_state, load_module, modlist_lookup2, unload_file};
use crate::errno::Errno;
use crate::loader::Host;
use crate::sync::lock_ignoring_poison;
use crate::thread::Env;
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
pub(super) fn lock_kld(k: &dyn Host) -> KldGuard<'_> {
    let guard = lock_ignoring_poison(&k.linker().kld);
    let key = key(k);
    HELD.with(|h| h.borrow_mut().push(key));
    KldGuard { _guard: guard, key }
}

/// Whether this thread holds the linker lock of `k`.
fn holds_kld(k: &dyn Host) -> bool {
    let key = key(k);
    HELD.with(|h| h.borrow().contains(&key))
}

/// `linker_reference_module(name, NULL, &file)`: a reference on the file
/// providing module `name`, loading `name.ko` from the module path if no
/// loaded file does. Returns the file id.
///
/// # Errors
/// The load's errno (`ENOENT` when there is no such file); `EDEADLK` if
/// this thread holds the linker lock, where FreeBSD would deadlock.
pub(crate) fn reference_module(k: &dyn Host, env: &Env<'_>, name: &str) -> Result<i32, Errno> {
    if holds_kld(k) {
        return Err(Errno::EDEADLK);
    }
    let _kld = lock_kld(k);
    {
        let mut l = linker_state(k);
        if let Some(m) = modlist_lookup2(&l, name, None) {
            let id = l.found[m].container;
            if let Some(f) = file(&mut l, id) {
                f.refs += 1;
            }
            return Ok(id);
        }
    }
    match load_module(k, env, None, Some(name), None, None) {
        Ok(id) => Ok(id),
        Err(Fail::Errno(e)) => Err(e),
        Err(Fail::Panic) => Err(Errno::ENOEXEC),
    }
}

/// `linker_release_module(NULL, NULL, file)`: drops a reference taken by
/// [`reference_module`], unloading the file with its last one (not
/// forced: a module may veto).
///
/// # Errors
/// The unload's errno; `EDEADLK` if this thread holds the linker lock.
pub(crate) fn release_file(k: &dyn Host, env: &Env<'_>, id: i32) -> Result<(), Errno> {
    if holds_kld(k) {
        return Err(Errno::EDEADLK);
    }
    let _kld = lock_kld(k);
    match unload_file(k, env, id, false) {
        Ok(()) => Ok(()),
        Err(Fail::Errno(e)) => Err(e),
        Err(Fail::Panic) => Err(Errno::EBUSY),
    }
}
