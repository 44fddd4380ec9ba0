// SPDX-License-Identifier: BSD-2-Clause
//! SYSINITs and module events: `linker_file_sysinit`/`sysuninit`
//! (`kern_linker.c`), `MOD_EVENT`, `module_register_init` and
//! `module_release` (`kern_module.c`).
//!
//! The sets are sorted in place, in the module's memory, after
//! `link_elf_protect` gave the section its rights: a set without
//! `SHF_WRITE` that needs a swap takes the fault FreeBSD takes.

use super::super::elf::{Object, c};
use super::{Fail, fatal_trap, file, linker_state};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::loader::Host;
use crate::thread::{self, Env, Panicked};
use core::mem::offset_of;

/// What running one entry of a sorted SYSINIT set does.
enum Step {
    /// Calls `func(udata)`.
    Call(KAddr, KAddr),
    /// A fatal page fault at this address, for this reason.
    Fault(u64, String),
}

/// A set being sorted and run: its entries live in the module's memory.
struct Set<'a> {
    obj: &'a Object,
    filename: &'a str,
    name: &'static str,
    start: usize,
    n: usize,
    writable: bool,
}

impl Set<'_> {
    fn slot(&self, i: usize) -> *mut usize {
        KAddr::new(self.start + i * 8).ptr::<usize>()
    }

    /// Entry `i` (a `struct sysinit *`).
    fn entry(&self, i: usize) -> usize {
        // SAFETY: `i < n`, so the slot lies in the set's section of the
        // module's mapping; read unaligned to be safe.
        unsafe { self.slot(i).read_unaligned() }
    }

    /// `(*sipp)->subsystem` and `->order` of entry `i`, or the fault
    /// FreeBSD takes dereferencing it.
    fn keys(&self, i: usize) -> Result<(u32, u32), Step> {
        let p = self.entry(i);
        if !self
            .obj
            .in_section(p, size_of::<sys::sysinit>(), c::SHF_ALLOC)
        {
            return Err(Step::Fault(
                p.wrapping_add(offset_of!(sys::sysinit, subsystem)) as u64,
                format!(
                    "linker_file_sysinit: {}: entry {i} of {} is {p:#x}, not a struct sysinit of the module",
                    self.filename, self.name
                ),
            ));
        }
        // SAFETY: a `struct sysinit` inside a loaded section of the
        // module (checked above).
        let s = unsafe { KAddr::new(p).ptr::<sys::sysinit>().read_unaligned() };
        Ok((s.subsystem, s.order))
    }

    /// The in-place exchange sort of `linker_file_sysinit` (`uninit`:
    /// `linker_file_sysuninit`'s reverse one).
    fn sort(&self, uninit: bool) -> Result<(), Step> {
        for i in 0..self.n {
            for j in i + 1..self.n {
                let (a, b) = (self.keys(i)?, self.keys(j)?);
                let in_order = if uninit {
                    a.0 > b.0 || (a.0 == b.0 && a.1 >= b.1)
                } else {
                    a.0 < b.0 || (a.0 == b.0 && a.1 <= b.1)
                };
                if in_order {
                    continue;
                }
                if !self.writable {
                    return Err(Step::Fault(
                        self.slot(i) as u64,
                        format!(
                            "linker_file_sysinit: {}: {} is not writable (no SHF_WRITE) and is sorted in place: entries {i} and {j} are out of order",
                            self.filename, self.name
                        ),
                    ));
                }
                let (x, y) = (self.entry(i), self.entry(j));
                // SAFETY: both slots lie in the set's section, which is
                // writable (its flags were checked, and the harness maps
                // an SHF_WRITE section read-write).
                unsafe { self.slot(i).write_unaligned(y) };
                // SAFETY: as above.
                unsafe { self.slot(j).write_unaligned(x) };
            }
        }
        Ok(())
    }

    /// The calls of the run loop, in order, up to a fault.
    fn steps(&self) -> Vec<Step> {
        let mut v = Vec::new();
        for i in 0..self.n {
            if let Err(f) = self.keys(i) {
                v.push(f);
                return v;
            }
            // SAFETY: checked by `keys`.
            let s = unsafe {
                KAddr::new(self.entry(i))
                    .ptr::<sys::sysinit>()
                    .read_unaligned()
            };
            if s.subsystem == sys::SI_SUB_DUMMY {
                continue;
            }
            let Some(func) = s.func else {
                v.push(Step::Fault(
                    0,
                    format!(
                        "linker_file_sysinit: {}: entry {i} of {} has a NULL function",
                        self.filename, self.name
                    ),
                ));
                return v;
            };
            v.push(Step::Call(
                KAddr::new(func as usize),
                KAddr::from_ptr(s.udata),
            ));
        }
        v
    }
}

/// Sorts the file's SYSINIT (or SYSUNINIT) set in place, in the module's
/// memory, as `linker_file_sysinit`/`linker_file_sysuninit` do, and
/// returns what running it does. Every entry is dereferenced (FreeBSD
/// faults on a NULL or wild one); `SI_SUB_DUMMY` entries are skipped.
fn sysinits(k: &dyn Host, id: i32, uninit: bool) -> Vec<Step> {
    let name = if uninit {
        "set_sysuninit_set"
    } else {
        "set_sysinit_set"
    };
    let l = linker_state(k);
    let Some(f) = l.files.iter().find(|f| f.id == id) else {
        return Vec::new();
    };
    let Some(sec) = f.obj.sections.iter().find(|s| s.name == name) else {
        return Vec::new();
    };
    let start = f.obj.map.addr() + sec.off;
    let set = Set {
        obj: &f.obj,
        filename: &f.filename,
        name,
        start,
        n: sec.size / 8,
        writable: sec.flags & c::SHF_WRITE != 0,
    };
    if let Err(fault) = set.sort(uninit) {
        return vec![fault];
    }
    set.steps()
}

/// Runs the SYSINITs (or SYSUNINITs) with Giant held.
pub(super) fn sysinit(k: &dyn Host, env: &Env<'_>, id: i32, uninit: bool) -> Result<(), Fail> {
    let list = sysinits(k, id, uninit);
    if list.is_empty() {
        return Ok(());
    }
    if !k.lock_giant() {
        return Err(Fail::Panic);
    }
    let mut r = Ok(());
    for step in list {
        match step {
            Step::Call(func, udata) => {
                let args = [udata.arg(), 0, 0, 0, 0, 0];
                // SAFETY: a SYSINIT function of the module (or a kernel
                // function it named, reached through its stub),
                // `void (*)(void *)`, called with its argument.
                if let Err(p) = unsafe { thread::call(k.core(), Some(env), func, args) } {
                    r = Err(p.into());
                    break;
                }
            }
            Step::Fault(addr, cause) => {
                r = Err(fatal_trap(k, addr, &cause));
                break;
            }
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
