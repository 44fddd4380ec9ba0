// SPDX-License-Identifier: BSD-2-Clause
//! The kernel asking the linker for a module by name
//! (`linker_reference_module`, `linker_release_module` in
//! `kern_linker.c`), which firmware(9) uses to load the module holding an
//! image. A thread that asks while it holds the linker lock (from a module
//! event handler during kldload) would wait for itself forever on
//! FreeBSD: that is refused with `EDEADLK`.

use super::kld::{holds_kld, lock_kld};
use super::{Fail, file, linker_state, load_module, modlist_lookup2, unload_file};
use crate::errno::Errno;
use crate::loader::Host;
use crate::thread::Env;

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
