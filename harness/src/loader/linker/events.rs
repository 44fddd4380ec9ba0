// SPDX-License-Identifier: BSD-2-Clause
//! SYSINITs and module events: `linker_file_sysinit`/`sysuninit`
//! (`kern_linker.c`), `MOD_EVENT`, `module_register_init` and
//! `module_release` (`kern_module.c`).

use super::{file, linker_state, read_set};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::loader::Host;
use crate::thread::{self, Env, Panicked};

/// Reads `struct sysinit`s and sorts them as `linker_file_sysinit` does
/// (the same exchange sort, so equal keys end up in the same order).
fn sysinits(k: &dyn Host, id: i32, uninit: bool) -> Vec<(u32, KAddr, KAddr)> {
    let set = if uninit {
        "sysuninit_set"
    } else {
        "sysinit_set"
    };
    let ptrs = {
        let l = linker_state(k);
        l.files
            .iter()
            .find(|f| f.id == id)
            .map(|f| read_set(f.obj.set_bounds(set)))
            .unwrap_or_default()
    };
    let mut v: Vec<(u32, u32, KAddr, KAddr)> = ptrs
        .into_iter()
        .filter(|p| !p.is_null())
        .map(|p| {
            // SAFETY: each entry points to a `struct sysinit` of the module.
            let s = unsafe { &*p.ptr::<sys::sysinit>() };
            (
                s.subsystem,
                s.order,
                KAddr::new(s.func.map_or(0, |f| f as usize)),
                KAddr::from_ptr(s.udata),
            )
        })
        .collect();
    for i in 0..v.len() {
        for j in i + 1..v.len() {
            let (a, b) = (v[i], v[j]);
            let in_order = if uninit {
                a.0 > b.0 || (a.0 == b.0 && a.1 >= b.1)
            } else {
                a.0 < b.0 || (a.0 == b.0 && a.1 <= b.1)
            };
            if !in_order {
                v.swap(i, j);
            }
        }
    }
    v.into_iter().map(|(s, _, f, u)| (s, f, u)).collect()
}

/// Runs the SYSINITs (or SYSUNINITs) with Giant held.
pub(super) fn sysinit(k: &dyn Host, env: &Env<'_>, id: i32, uninit: bool) -> Result<(), Panicked> {
    let list = sysinits(k, id, uninit);
    if list.is_empty() {
        return Ok(());
    }
    if !k.lock_giant() {
        return Err(Panicked);
    }
    let mut r = Ok(());
    for (sub, func, udata) in list {
        if sub == sys::SI_SUB_DUMMY || func.is_null() {
            continue;
        }
        let args = [udata.arg(), 0, 0, 0, 0, 0];
        // SAFETY: a SYSINIT function of the module (or a kernel function
        // it named, reached through its stub), `void (*)(void *)`, called
        // with its argument.
        if let Err(p) = unsafe { thread::call(k.core(), Some(env), func, args) } {
            r = Err(p);
            break;
        }
    }
    k.unlock_giant();
    r
}

/// Calls a module's event handler (`MOD_EVENT`), with Giant held as
/// `module_quiesce`/`module_unload`/`module_register_init` do.
pub(super) fn mod_event(
    k: &dyn Host,
    env: Option<&Env<'_>>,
    mid: i32,
    what: u32,
) -> Result<i32, Panicked> {
    let (handler, arg, handle) = {
        let l = linker_state(k);
        let Some(m) = l.modules.iter().find(|m| m.id == mid) else {
            return Ok(0);
        };
        (m.handler, m.arg, KAddr::from_ptr(&raw const *m.handle))
    };
    if handler.is_null() {
        // modevent_nop
        return Ok(match what {
            sys::MOD_LOAD => 0,
            sys::MOD_UNLOAD => Errno::EBUSY.0,
            _ => Errno::EOPNOTSUPP.0,
        });
    }
    if !k.lock_giant() {
        return Err(Panicked);
    }
    // SAFETY: the module's `modeventhand_t`, called with its module
    // handle, the event and its private argument.
    let r = unsafe {
        thread::call(
            k.core(),
            env,
            handler,
            [handle.arg(), u64::from(what), arg.arg(), 0, 0, 0],
        )
    };
    k.unlock_giant();
    // CAST: the handler returns `int` in the low 32 bits.
    r.map(|v| (v & 0xffff_ffff) as u32 as i32)
}

/// `module_register_init` (the SYSINIT of DECLARE_MODULE).
pub(crate) fn module_register_init(
    k: &dyn Host,
    name: &str,
    evhand: KAddr,
    arg: KAddr,
) -> Result<(), Panicked> {
    let mid = linker_state(k)
        .modules
        .iter()
        .find(|m| m.name == name)
        .map(|m| m.id);
    let Some(mid) = mid else {
        k.core().record_panic(&format!(
            "module_register_init: module named {name} not found\n"
        ));
        return Err(Panicked);
    };
    let error = mod_event(k, None, mid, sys::MOD_LOAD)?;
    if error != 0 {
        mod_event(k, None, mid, sys::MOD_UNLOAD)?;
        release_module(k, mid);
        k.core().console(&format!(
            "module_register_init: MOD_LOAD ({name}, {evhand:#x}, {arg:#x}) error {error}\n"
        ));
    } else {
        let mut l = linker_state(k);
        let file_id = l.modules.iter().find(|m| m.id == mid).map(|m| m.file);
        if let Some(f) = file_id.and_then(|fid| file(&mut l, fid)) {
            f.modules.retain(|&m| m != mid);
            f.modules.insert(0, mid);
        }
    }
    Ok(())
}

/// `module_release` (last reference).
pub(super) fn release_module(k: &dyn Host, mid: i32) {
    let mut l = linker_state(k);
    let fid = l.modules.iter().find(|m| m.id == mid).map(|m| m.file);
    l.modules.retain(|m| m.id != mid);
    if let Some(f) = fid.and_then(|fid| file(&mut l, fid)) {
        f.modules.retain(|&m| m != mid);
    }
}
