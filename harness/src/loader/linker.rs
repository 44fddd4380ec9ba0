// SPDX-License-Identifier: BSD-2-Clause
//! Load, dependencies, modules, SYSINITs, unload: `kern_linker.c` and
//! `kern_module.c` (see the parent module for the rules followed).

mod ctors;
mod events;
mod kld;
mod reference;
mod symbols;
mod unload;

pub(crate) use events::module_register_init;
pub(crate) use reference::{reference_module, release_file};
pub(crate) use unload::{kldunload, unload_all};

use events::{mod_event, release_module, sysinit};
use kld::lock_kld;
use unload::unload_file;

use super::elf::{self, LoadError, Object};
use super::reloc::{self, Pass, Resolved};
use super::{
    Host, KERNEL_FILE_ID, KldStat, KldTarget, Linker, LinkerFile, ModStat, Module, Provided,
};
use crate::addr::KAddr;
use crate::errno::{Errno, Error};
use crate::state::ViolationKind;
use crate::sync::lock_ignoring_poison;
use crate::thread::{self, Env, Panicked};
use core::ffi::CStr;
use std::path::PathBuf;
use std::sync::MutexGuard;

/// A `mod_depend`.
#[derive(Clone, Copy, Debug)]
struct VerInfo {
    min: i32,
    pref: i32,
    max: i32,
}

/// One `set_modmetadata_set` entry, read through `sys::mod_metadata`.
struct Meta {
    kind: u32,
    data: KAddr,
    name: String,
}

/// The linker's tables, locked (briefly: never across module code).
fn linker_state(k: &dyn Host) -> MutexGuard<'_, Linker> {
    lock_ignoring_poison(&k.linker().state)
}

fn cstr_at(p: *const core::ffi::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: metadata strings are NUL-terminated strings in the module's
    // mapping (relocated).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Reads a linker set's pointer array (`start..stop`, addresses in the
/// module's mapping).
fn read_set(bounds: Option<(usize, usize)>) -> Vec<KAddr> {
    let Some((start, stop)) = bounds else {
        return Vec::new();
    };
    let n = (stop.saturating_sub(start)) / 8;
    (0..n)
        .map(|i| {
            let entry = KAddr::new(start + i * 8).ptr::<usize>();
            // SAFETY: the set section lies in the module's mapping; each
            // entry is a relocated pointer, read unaligned to be safe.
            KAddr::new(unsafe { entry.read_unaligned() })
        })
        .collect()
}

fn metadata(obj: &Object) -> Vec<Meta> {
    read_set(obj.set_bounds("modmetadata_set"))
        .into_iter()
        .filter(|p| !p.is_null())
        .map(|p| {
            // SAFETY: each entry points to a `struct mod_metadata` of the
            // module (MODULE_DEPEND/VERSION/DECLARE_MODULE), relocated.
            let md = unsafe { &*p.ptr::<sys::mod_metadata>() };
            Meta {
                kind: md.md_type.cast_unsigned(),
                data: KAddr::from_ptr(md.md_data),
                name: cstr_at(md.md_cval),
            }
        })
        .collect()
}

fn version_of(m: &Meta) -> i32 {
    // SAFETY: MDT_VERSION's data is a `struct mod_version`.
    unsafe { (*m.data.ptr::<sys::mod_version>()).mv_version }
}

fn verinfo_of(m: &Meta) -> VerInfo {
    // SAFETY: MDT_DEPEND's data is a `struct mod_depend`.
    let d = unsafe { &*m.data.ptr::<sys::mod_depend>() };
    VerInfo {
        min: d.md_ver_minimum,
        pref: d.md_ver_preferred,
        max: d.md_ver_maximum,
    }
}

/// `modlist_lookup`.
fn modlist_lookup(l: &Linker, name: &str, ver: i32) -> Option<usize> {
    l.found
        .iter()
        .position(|m| m.name == name && (ver == 0 || m.version == ver))
}

/// `modlist_lookup2`.
fn modlist_lookup2(l: &Linker, name: &str, v: Option<VerInfo>) -> Option<usize> {
    let Some(v) = v else {
        return modlist_lookup(l, name, 0);
    };
    let mut best: Option<usize> = None;
    for (i, m) in l.found.iter().enumerate() {
        if m.name != name {
            continue;
        }
        if m.version == v.pref {
            return Some(i);
        }
        if m.version >= v.min
            && m.version <= v.max
            && best.is_none_or(|b| m.version > l.found[b].version)
        {
            best = Some(i);
        }
    }
    best
}

fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) if i + 1 < path.len() => &path[i + 1..],
        _ => path,
    }
}

/// `linker_find_file_by_name`.
fn find_by_name(l: &Linker, name: &str) -> Option<i32> {
    let ko = format!("{name}.ko");
    l.files
        .iter()
        .find(|f| f.filename == ko || f.filename == name)
        .map(|f| f.id)
}

fn file(l: &mut Linker, id: i32) -> Option<&mut LinkerFile> {
    l.files.iter_mut().find(|f| f.id == id).map(|b| &mut **b)
}

/// Why a load failed.
enum Fail {
    Errno(Errno),
    Panic,
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Self {
        Fail::Errno(e)
    }
}

impl From<Panicked> for Fail {
    fn from(_: Panicked) -> Self {
        Fail::Panic
    }
}

/// A fatal page fault in the kernel linker at `addr` (trap 12,
/// `trap_fatal` in `sys/amd64/amd64/trap.c`), caused by `cause`: the
/// trap's report on the console, `cause` as a violation (FreeBSD does not
/// say it), and the panic. The caller fails with the panic.
fn fatal_trap(k: &dyn Host, addr: u64, cause: &str) -> Fail {
    k.core().violation(ViolationKind::Module, cause.to_owned());
    k.core().console(&format!(
        "\n\nFatal trap 12: page fault while in kernel mode\nfault virtual address\t= {addr:#x}\n"
    ));
    k.core().record_panic("page fault");
    Fail::Panic
}

fn to_error(k: &dyn Host, f: Fail) -> Error {
    match f {
        Fail::Errno(e) => Error::Errno(e),
        Fail::Panic => k.core().panic_error(),
    }
}

/// `kldload(2)`: returns the file id.
pub(crate) fn kldload(k: &dyn Host, env: &Env<'_>, file: &str) -> Result<i32, Error> {
    if !env.cred.is_root() {
        return Err(Errno::EPERM.into());
    }
    let _kld = lock_kld(k);
    let r = if file.contains('/') || file.contains('.') {
        load_module(k, env, Some(file), None, None, None)
    } else {
        load_module(k, env, None, Some(file), None, None)
    };
    let id = r.map_err(|f| to_error(k, f))?;
    if let Some(f) = file_mut(k, id, |f| {
        f.userrefs += 1;
    }) {
        let () = f;
    }
    Ok(id)
}

fn file_mut<R>(k: &dyn Host, id: i32, f: impl FnOnce(&mut LinkerFile) -> R) -> Option<R> {
    let mut l = linker_state(k);
    file(&mut l, id).map(f)
}

/// `linker_load_module`.
fn load_module(
    k: &dyn Host,
    env: &Env<'_>,
    kldname: Option<&str>,
    modname: Option<&str>,
    parent: Option<i32>,
    verinfo: Option<VerInfo>,
) -> Result<i32, Fail> {
    let pathname: Option<PathBuf> = match (kldname, modname) {
        (Some(kld), None) => {
            if kld.contains('/') {
                Some(PathBuf::from(kld))
            } else {
                search(k, kld)
            }
        }
        (kld, Some(m)) => {
            if modlist_lookup2(&linker_state(k), m, verinfo).is_some() {
                return Err(Errno::EEXIST.into());
            }
            match kld {
                Some(kld) => Some(PathBuf::from(kld)),
                None => search(k, &format!("{m}.ko")),
            }
        }
        (None, None) => None,
    };
    let Some(pathname) = pathname else {
        return Err(Errno::ENOENT.into());
    };
    let pathname = pathname.to_string_lossy().into_owned();
    let filename = basename(&pathname).to_owned();
    if find_by_name(&linker_state(k), &filename).is_some() {
        return Err(Errno::EEXIST.into());
    }
    let id = load_file(k, env, &pathname)?;
    if let (Some(m), Some(_)) = (modname, verinfo)
        && modlist_lookup2(&linker_state(k), m, verinfo).is_none()
    {
        unload_file(k, env, id, true)?;
        return Err(Errno::ENOENT.into());
    }
    if let Some(p) = parent {
        file_mut(k, p, |f| f.deps.push(id));
    }
    Ok(id)
}

/// Looks `name` up in `kern.module_path` (`linker_search_kld`,
/// `linker_hints_lookup` without hints files).
fn search(k: &dyn Host, name: &str) -> Option<PathBuf> {
    let dirs = linker_state(k).module_path.clone();
    dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// `linker_load_file` with `link_elf_load_file`.
fn load_file(k: &dyn Host, env: &Env<'_>, pathname: &str) -> Result<i32, Fail> {
    let filename = basename(pathname).to_owned();
    let data = match std::fs::read(pathname) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Errno::ENOENT.into()),
        Err(_) => return Err(Errno::ENOEXEC.into()),
    };
    let obj = match elf::load(&filename, pathname, &data) {
        Ok(o) => o,
        Err(LoadError {
            errno,
            message,
            violation,
            fault,
        }) => {
            if let Some(m) = message {
                k.core().console(&format!("{m}\n"));
            }
            if let Some(v) = violation {
                k.core().violation(ViolationKind::Module, v);
            }
            if let Some((addr, cause)) = fault {
                return Err(fatal_trap(k, addr, &cause));
            }
            // linker_load_file: anything but ENOENT means "found but
            // unloadable".
            return Err(match errno {
                Errno::ENOSYS => {
                    k.core().console(&format!(
                        "linker_load_file: {pathname} - unsupported file type\n"
                    ));
                    Errno::ENOEXEC
                }
                Errno::ENOENT | Errno::EEXIST => errno,
                _ => Errno::ENOEXEC,
            }
            .into());
        }
    };
    for m in &obj.messages {
        k.core().console(&format!("{m}\n"));
    }
    let id = {
        let mut l = linker_state(k);
        let id = l.next_file_id;
        l.next_file_id += 1;
        l.files.push(Box::new(LinkerFile {
            id,
            filename: filename.clone(),
            pathname: pathname.to_owned(),
            obj,
            refs: 1,
            userrefs: 0,
            deps: Vec::new(),
            ctors_invoked: false,
            linked: false,
            modules: Vec::new(),
            sysctls: Vec::new(),
        }));
        id
    };
    match link(k, env, id) {
        Ok(()) => {}
        Err(Fail::Panic) => return Err(Fail::Panic),
        Err(Fail::Errno(e)) => {
            unload_file(k, env, id, true)?;
            return Err(Fail::Errno(match e {
                Errno::ENOENT | Errno::EEXIST => e,
                _ => Errno::ENOEXEC,
            }));
        }
    }
    // linker_load_file proper.
    if let Err(e) = register_modules(k, id) {
        unload_file(k, env, id, true)?;
        return Err(e.into());
    }
    let had_modules = file_mut(k, id, |f| !f.modules.is_empty()).unwrap_or(false);
    register_sysctls(k, id);
    sysinit(k, env, id, false)?;
    file_mut(k, id, |f| f.linked = true);
    let left = file_mut(k, id, |f| f.modules.len()).unwrap_or(0);
    if had_modules && left == 0 {
        unload_file(k, env, id, true)?;
        return Err(Errno::ENOEXEC.into());
    }
    Ok(id)
}

/// The rest of `link_elf_load_file`: local relocations, dependencies,
/// global relocations, ifuncs, protection, constructors.
fn link(k: &dyn Host, env: &Env<'_>, id: i32) -> Result<(), Fail> {
    let mut no_resolve = |_: &str| Resolved::Undefined;
    let mut call = |addr: u64| -> Result<u64, Errno> {
        let resolver = KAddr::new(usize::try_from(addr).map_err(|_| Errno::ENOEXEC)?);
        // SAFETY: an ifunc resolver of the module, which takes no
        // arguments and returns the address to use.
        unsafe { thread::call(k.core(), Some(env), resolver, [0; 6]) }.map_err(|_| Errno::ENOEXEC)
    };
    let local = {
        let l = linker_state(k);
        let f = l.files.iter().find(|f| f.id == id).ok_or(Errno::ENOENT)?;
        reloc::apply(
            &f.obj,
            &f.filename,
            Pass::Local,
            &mut no_resolve,
            &mut |_| Err(Errno::ENOEXEC),
        )
    };
    if let Err(e) = local {
        for m in e.messages {
            k.core().console(&format!("{m}\n"));
        }
        return Err(e.errno.into());
    }
    load_dependencies(k, env, id)?;
    let mut resolve = symbols::resolver(k, id)?;
    let global = {
        let l = linker_state(k);
        let f = l.files.iter().find(|f| f.id == id).ok_or(Errno::ENOENT)?;
        reloc::apply(&f.obj, &f.filename, Pass::Global, &mut resolve, &mut call)
    };
    if let Err(e) = global {
        for m in e.messages {
            k.core().console(&format!("{m}\n"));
        }
        return Err(e.errno.into());
    }
    // ifuncs: resolvers are module code, so the state lock is not held;
    // the object is reached through a raw pointer that stays valid (the
    // file cannot be unloaded: the kld lock is held).
    let (obj_ptr, filename): (*const Object, String) = {
        let l = linker_state(k);
        let f = l.files.iter().find(|f| f.id == id).ok_or(Errno::ENOENT)?;
        (&raw const f.obj, f.filename.clone())
    };
    // SAFETY: each file is boxed, so the object does not move when the
    // list changes, and it is not removed while this thread holds the
    // kld lock (only loads and unloads remove files, and they take it).
    let obj = unsafe { &*obj_ptr };
    if let Err(e) = reloc::apply(obj, &filename, Pass::Ifunc, &mut no_resolve, &mut call) {
        for m in e.messages {
            k.core().console(&format!("{m}\n"));
        }
        if k.core().is_dead() {
            return Err(Fail::Panic);
        }
        return Err(e.errno.into());
    }
    obj.protect()?;
    // link_elf_invoke_ctors, then lf->ctors_invoked = LF_CTORS.
    ctors::invoke(k, env, obj, &filename, obj.ctors, "constructor")?;
    file_mut(k, id, |f| f.ctors_invoked = true);
    Ok(())
}

/// `linker_load_dependencies`.
fn load_dependencies(k: &dyn Host, env: &Env<'_>, id: i32) -> Result<(), Fail> {
    let (meta, filename) = {
        let mut l = linker_state(k);
        l.kernel_refs += 1;
        let f = file(&mut l, id).ok_or(Errno::ENOENT)?;
        f.deps.push(KERNEL_FILE_ID);
        (metadata(&f.obj), f.filename.clone())
    };
    {
        let l = linker_state(k);
        for m in meta.iter().filter(|m| m.kind == sys::MDT_VERSION) {
            let ver = version_of(m);
            if let Some(i) = modlist_lookup(&l, &m.name, ver) {
                let container = l.found[i].container;
                let cname = l
                    .files
                    .iter()
                    .find(|f| f.id == container)
                    .map_or("kernel", |f| f.filename.as_str());
                k.core().console(&format!(
                    "interface {}.{} already present in the KLD '{}'!\n",
                    m.name, ver, cname
                ));
                return Err(Errno::EEXIST.into());
            }
        }
    }
    for m in meta.iter().filter(|m| m.kind == sys::MDT_DEPEND) {
        let v = verinfo_of(m);
        if meta
            .iter()
            .any(|n| n.kind == sys::MDT_VERSION && n.name == m.name)
        {
            continue; // self reference
        }
        let found = {
            let l = linker_state(k);
            modlist_lookup2(&l, &m.name, Some(v)).map(|i| l.found[i].container)
        };
        if let Some(container) = found {
            let mut l = linker_state(k);
            if container == KERNEL_FILE_ID {
                l.kernel_refs += 1;
            } else if let Some(c) = file(&mut l, container) {
                c.refs += 1;
            }
            if let Some(f) = file(&mut l, id) {
                f.deps.push(container);
            }
            continue;
        }
        if let Err(e) = load_module(k, env, None, Some(&m.name), Some(id), Some(v)) {
            if let Fail::Errno(_) = e {
                k.core().console(&format!(
                    "KLD {filename}: depends on {} - not available or version mismatch\n",
                    m.name
                ));
            }
            return Err(e);
        }
    }
    // linker_addmodules
    let mut l = linker_state(k);
    for m in meta.iter().filter(|m| m.kind == sys::MDT_VERSION) {
        let ver = version_of(m);
        if modlist_lookup(&l, &m.name, ver).is_some() {
            k.core()
                .console(&format!("module {} already present!\n", m.name));
            continue;
        }
        l.found.push(Provided {
            name: m.name.clone(),
            version: ver,
            container: id,
        });
    }
    Ok(())
}

/// `linker_file_register_modules` / `module_register`.
fn register_modules(k: &dyn Host, id: i32) -> Result<(), Errno> {
    let (meta, filename) = {
        let l = linker_state(k);
        let f = l.files.iter().find(|f| f.id == id).ok_or(Errno::ENOENT)?;
        (metadata(&f.obj), f.filename.clone())
    };
    let mut first_error = None;
    for m in meta.iter().filter(|m| m.kind == sys::MDT_MODULE) {
        // SAFETY: MDT_MODULE's data is the module's `moduledata_t`.
        let md = unsafe { &*m.data.ptr::<sys::moduledata>() };
        let name = cstr_at(md.name);
        let mut l = linker_state(k);
        if let Some(other) = l.modules.iter().find(|x| x.name == name) {
            let from = l
                .files
                .iter()
                .find(|f| f.id == other.file)
                .map_or("kernel", |f| f.filename.as_str());
            k.core().console(&format!("module_register: cannot register {name} from {filename}; already loaded from {from}\n"));
            k.core().console(&format!(
                "Module {name} failed to register: {}\n",
                Errno::EEXIST.0
            ));
            first_error.get_or_insert(Errno::EEXIST);
            continue;
        }
        let mid = l.next_mod_id;
        l.next_mod_id += 1;
        l.modules.push(Module {
            id: mid,
            name,
            file: id,
            handler: KAddr::new(md.evhand.map_or(0, |h| h as usize)),
            arg: KAddr::from_ptr(md.priv_),
            handle: Box::new([0; 16]),
        });
        if let Some(f) = file(&mut l, id) {
            f.modules.push(mid);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `linker_file_register_sysctls`.
fn register_sysctls(k: &dyn Host, id: i32) {
    let oids = {
        let l = linker_state(k);
        l.files
            .iter()
            .find(|f| f.id == id)
            .map(|f| read_set(f.obj.set_bounds("sysctl_set")))
            .unwrap_or_default()
    };
    let mut done = Vec::new();
    for o in oids.into_iter().filter(|o| !o.is_null()) {
        if k.register_sysctl(o) {
            done.push(o);
        }
    }
    file_mut(k, id, |f| f.sysctls = done);
}

/// `kldstat(2)` over every file, the kernel first.
pub(crate) fn kldstat(k: &dyn Host) -> Vec<KldStat> {
    let l = linker_state(k);
    let mut v = vec![KldStat {
        id: KERNEL_FILE_ID,
        refs: l.kernel_refs,
        address: 0xffff_ffff_8020_0000,
        size: 0x1f1_1c48,
        name: String::from("kernel"),
        pathname: String::from("/boot/kernel/kernel"),
    }];
    v.extend(l.files.iter().filter(|f| f.linked).map(|f| KldStat {
        id: f.id,
        refs: f.refs,
        address: f.obj.map.addr(),
        size: f.obj.map.len(),
        name: f.filename.clone(),
        pathname: f.pathname.clone(),
    }));
    v
}

/// `modstat(2)` over every module: file by file (`kldnext` order), each
/// file's modules in `lf->modules` order (`kldfirstmod`, `modfnext`).
pub(crate) fn modstat(k: &dyn Host) -> Vec<ModStat> {
    let l = linker_state(k);
    l.files
        .iter()
        .filter(|f| f.linked)
        .flat_map(|f| f.modules.iter().map(move |&m| (f.id, m)))
        .filter_map(|(file, mid)| {
            l.modules.iter().find(|m| m.id == mid).map(|m| ModStat {
                id: m.id,
                name: m.name.clone(),
                file,
            })
        })
        .collect()
}

/// Sets `kern.module_path`.
pub(crate) fn set_module_path(k: &dyn Host, dirs: Vec<PathBuf>) {
    linker_state(k).module_path = dirs;
}
