// SPDX-License-Identifier: BSD-2-Clause
//! Unloading: `linker_file_unload` and `kern_kldunload` (`kern_linker.c`),
//! with `module_quiesce` and `module_unload` (`kern_module.c`), and the
//! teardown of every file.

use super::{
    Fail, KERNEL_FILE_ID, KldTarget, basename, ctors, file, file_mut, find_by_name, linker_state,
    lock_kld, mod_event, release_module, sysinit, to_error,
};
use crate::addr::{KAddr, KRange};
use crate::errno::{Errno, Error};
use crate::loader::Host;
use crate::state::ViolationKind;
use crate::thread::Env;

/// `linker_file_unload`.
pub(super) fn unload_file(k: &dyn Host, env: &Env<'_>, id: i32, force: bool) -> Result<(), Fail> {
    let modules = {
        let mut l = linker_state(k);
        let Some(f) = file(&mut l, id) else {
            return Err(Errno::ENOENT.into());
        };
        if f.refs > 1 {
            f.refs -= 1;
            return Ok(());
        }
        f.modules.clone()
    };
    for &m in &modules {
        let mut e = mod_event(k, Some(env), m, sys::MOD_QUIESCE)?;
        if e == Errno::EOPNOTSUPP.0 || e == Errno::EINVAL.0 {
            e = 0;
        }
        if e != 0 && !force {
            return Err(Errno(e).into());
        }
    }
    for &m in &modules {
        let e = mod_event(k, Some(env), m, sys::MOD_UNLOAD)?;
        if e != 0 {
            return Err(Errno(e).into());
        }
        release_module(k, m);
    }
    let linked = {
        let mut l = linker_state(k);
        l.found.retain(|p| p.container != id);
        file(&mut l, id)
            .map(|f| core::mem::replace(&mut f.linked, false))
            .unwrap_or(false)
    };
    if linked {
        let oids = file_mut(k, id, |f| core::mem::take(&mut f.sysctls)).unwrap_or_default();
        for o in oids {
            k.unregister_sysctl(o);
        }
        sysinit(k, env, id, true)?;
    }
    let lf = {
        let mut l = linker_state(k);
        let pos = l.files.iter().position(|f| f.id == id);
        pos.map(|p| l.files.remove(p))
    };
    let Some(lf) = lf else {
        return Ok(());
    };
    for &d in &lf.deps {
        if d == KERNEL_FILE_ID {
            let mut l = linker_state(k);
            l.kernel_refs = l.kernel_refs.saturating_sub(1);
        } else {
            unload_file(k, env, d, force)?;
        }
    }
    // link_elf_unload_file: the destructors, if the constructors ran.
    if lf.ctors_invoked {
        ctors::invoke(k, env, &lf.obj, &lf.filename, lf.obj.dtors, "destructor")?;
    }
    // What the module left behind would point into freed memory.
    let range = KRange {
        start: KAddr::new(lf.obj.map.addr()),
        len: lf.obj.map.len(),
    };
    k.file_unloading(range, &lf.filename);
    drop(lf);
    Ok(())
}

/// `kldunload(2)` / `kldunloadf(2)`.
pub(crate) fn kldunload(
    k: &dyn Host,
    env: &Env<'_>,
    target: &KldTarget,
    force: bool,
) -> Result<(), Error> {
    if !env.cred.is_root() {
        return Err(Errno::EPERM.into());
    }
    let _kld = lock_kld(k);
    let id = {
        let l = linker_state(k);
        match target {
            KldTarget::Id(id) => l
                .files
                .iter()
                .find(|f| f.id == *id && f.linked)
                .map(|f| f.id),
            KldTarget::Name(n) => find_by_name(&l, basename(n)),
        }
    };
    let Some(id) = id else {
        if *target == KldTarget::Id(KERNEL_FILE_ID) {
            k.core()
                .console("kldunload: attempt to unload file that was loaded by the kernel\n");
            return Err(Errno::EBUSY.into());
        }
        return Err(Errno::ENOENT.into());
    };
    let userrefs = file_mut(k, id, |f| f.userrefs).unwrap_or(0);
    if userrefs == 0 {
        k.core()
            .console("kldunload: attempt to unload file that was loaded by the kernel\n");
        return Err(Errno::EBUSY.into());
    }
    file_mut(k, id, |f| f.userrefs -= 1);
    match unload_file(k, env, id, force) {
        Ok(()) => Ok(()),
        Err(e) => {
            file_mut(k, id, |f| f.userrefs += 1);
            Err(to_error(k, e))
        }
    }
}

/// Unloads every file, newest first (kernel teardown). Returns false if
/// one refused.
pub(crate) fn unload_all(k: &dyn Host, env: &Env<'_>) -> bool {
    let _kld = lock_kld(k);
    loop {
        let last = linker_state(k)
            .files
            .iter()
            .rev()
            .find(|f| f.userrefs > 0)
            .map(|f| f.id);
        let Some(id) = last else {
            return true;
        };
        file_mut(k, id, |f| {
            f.userrefs = 0;
            f.refs = 1;
        });
        if unload_file(k, env, id, true).is_err() {
            k.core().violation(
                ViolationKind::Module,
                format!("file {id} could not be unloaded at kernel teardown"),
            );
            return false;
        }
    }
}
