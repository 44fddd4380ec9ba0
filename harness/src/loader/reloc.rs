// SPDX-License-Identifier: BSD-2-Clause
//! Applying relocations.
//!
//! Followed: `elf_reloc_internal` in `sys/amd64/amd64/elf_machdep.c`
//! (the types FreeBSD's amd64 kernel linker accepts: `NONE`, `64`,
//! `PC32`, `PLT32`, `32S`, `GLOB_DAT`, `JMP_SLOT`, `RELATIVE`,
//! `IRELATIVE`; "kldload: unexpected relocation type %ld" for any other,
//! "kldload: unexpected R_COPY relocation" for `COPY`) and, in
//! `sys/kern/link_elf_obj.c`, `link_elf_reloc_local` (local symbols
//! first; a failure fails the load with `ENOEXEC`, as FreeBSD 14 does),
//! `relocate_file` (the others; a failure prints "link_elf_obj: symbol %s
//! undefined" and fails with `ENOENT`) and `elf_obj_lookup` (a weak
//! undefined symbol resolves to 0). `IRELATIVE` relocations and
//! `STT_GNU_IFUNC` symbols are left to a last pass that calls resolvers.
//! `RELATIVE` and `IRELATIVE` use the target section's base, as
//! `findbase` gives it.

use super::elf::c;
use super::elf::{Object, Reloc, Symbol};
use crate::errno::Errno;

/// What a symbol resolved to, or why not.
pub(crate) enum Resolved {
    /// An address.
    Addr(u64),
    /// Not found.
    Undefined,
}

/// The pass being run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Relocations against local symbols.
    Local,
    /// The others (after dependencies are loaded).
    Global,
    /// `IRELATIVE` and ifunc symbols.
    Ifunc,
}

/// A relocation failure.
pub(crate) struct RelocError {
    /// Messages FreeBSD prints.
    pub(crate) messages: Vec<String>,
    pub(crate) errno: Errno,
}

fn is_ifunc(sym: &Symbol, r: &Reloc) -> bool {
    sym.kind == c::STT_GNU_IFUNC || r.kind == c::R_X86_64_IRELATIVE
}

/// Runs one pass over the tables of `obj` (the file `filename`).
/// `resolve` looks up undefined globals (`linker_file_lookup_symbol`);
/// `call` runs an ifunc resolver.
///
/// A table whose target section was not loaded has no base (`findbase`
/// returns 0): "kldload: %s: lost base for reltab", `ENOEXEC`, printed by
/// `link_elf_reloc_local` with that text for `SHT_RELA` tables too (the
/// local pass runs first, so the later passes never meet one).
pub(crate) fn apply(
    obj: &Object,
    filename: &str,
    pass: Pass,
    resolve: &mut dyn FnMut(&str) -> Resolved,
    call: &mut dyn FnMut(u64) -> Result<u64, Errno>,
) -> Result<(), RelocError> {
    for table in &obj.relocs {
        let Some(target) = table.target else {
            return Err(fail(Some(format!(
                "kldload: {filename}: lost base for reltab"
            ))));
        };
        let base = obj.section_addr(target) as u64;
        let size = obj.sections.get(target).map_or(0, |s| s.size) as u64;
        for r in &table.relocs {
            let Some(sym) = obj.symbols.get(r.sym) else {
                continue;
            };
            let local = sym.bind == c::STB_LOCAL;
            let wanted = match pass {
                Pass::Local => local && !is_ifunc(sym, r),
                Pass::Global => !local,
                Pass::Ifunc => local && is_ifunc(sym, r),
            };
            if !wanted {
                continue;
            }
            // elf_reloc_internal without ERI_ONLYIFUNC skips IRELATIVE.
            if pass == Pass::Global && r.kind == c::R_X86_64_IRELATIVE {
                continue;
            }
            if let Err(mut e) = apply_one(base, size, r, sym, resolve, call) {
                if pass == Pass::Local || pass == Pass::Ifunc {
                    e.errno = Errno::ENOEXEC;
                } else {
                    e.messages
                        .push(format!("link_elf_obj: symbol {} undefined", sym.name));
                    e.errno = Errno::ENOENT;
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

fn fail(msg: Option<String>) -> RelocError {
    RelocError {
        messages: msg.into_iter().collect(),
        errno: Errno::ENOEXEC,
    }
}

/// `elf_obj_lookup`.
fn lookup(
    sym: &Symbol,
    resolve: &mut dyn FnMut(&str) -> Resolved,
    call: &mut dyn FnMut(u64) -> Result<u64, Errno>,
) -> Result<u64, RelocError> {
    if sym.defined() {
        if sym.kind == c::STT_GNU_IFUNC {
            return call(sym.value).map_err(|_| fail(None));
        }
        return Ok(sym.value);
    }
    match sym.bind {
        c::STB_GLOBAL | c::STB_WEAK if !sym.name.is_empty() => match resolve(&sym.name) {
            Resolved::Addr(a) => Ok(a),
            Resolved::Undefined if sym.bind == c::STB_WEAK => Ok(0),
            Resolved::Undefined => Err(fail(None)),
        },
        _ => Err(fail(None)),
    }
}

/// Applies relocation `r` against `sym` in the section at `base` (of
/// `size` bytes).
fn apply_one(
    base: u64,
    size: u64,
    r: &Reloc,
    sym: &Symbol,
    resolve: &mut dyn FnMut(&str) -> Resolved,
    call: &mut dyn FnMut(u64) -> Result<u64, Errno>,
) -> Result<(), RelocError> {
    let width: u64 = match r.kind {
        c::R_X86_64_PC32 | c::R_X86_64_PLT32 | c::R_X86_64_32S => 4,
        c::R_X86_64_NONE => 0,
        _ => 8,
    };
    if r.offset.checked_add(width).is_none_or(|end| end > size) {
        return Err(fail(Some(format!(
            "kldload: relocation offset {:#x} outside its section",
            r.offset
        ))));
    }
    let where_ = base.wrapping_add(r.offset);
    let read32 = || {
        // SAFETY: `where_..where_+4` is inside the target section (checked
        // above), which is mapped and writable until `protect`.
        unsafe { (where_ as *const u32).read_unaligned() }
    };
    let read64 = || {
        // SAFETY: as above, 8 bytes.
        unsafe { (where_ as *const u64).read_unaligned() }
    };
    let write32 = |v: u32| {
        // SAFETY: as above.
        unsafe { (where_ as *mut u32).write_unaligned(v) }
    };
    let write64 = |v: u64| {
        // SAFETY: as above.
        unsafe { (where_ as *mut u64).write_unaligned(v) }
    };
    let addend: u64 = match r.addend {
        Some(a) => a.cast_unsigned(),
        None => match r.kind {
            c::R_X86_64_PC32 | c::R_X86_64_32S => u64::from(read32()),
            c::R_X86_64_NONE => 0,
            _ => read64(),
        },
    };
    match r.kind {
        c::R_X86_64_NONE => {}
        c::R_X86_64_64 => {
            let s = lookup(sym, resolve, call)?;
            write64(s.wrapping_add(addend));
        }
        c::R_X86_64_PC32 | c::R_X86_64_PLT32 => {
            let s = lookup(sym, resolve, call)?;
            // CAST: truncated to 32 bits as FreeBSD does; every address
            // here is below 2 GiB so the displacement fits.
            write32((s.wrapping_add(addend).wrapping_sub(where_) & 0xffff_ffff) as u32);
        }
        c::R_X86_64_32S => {
            let s = lookup(sym, resolve, call)?;
            // CAST: as above.
            write32((s.wrapping_add(addend) & 0xffff_ffff) as u32);
        }
        c::R_X86_64_COPY => {
            return Err(fail(Some(String::from(
                "kldload: unexpected R_COPY relocation",
            ))));
        }
        c::R_X86_64_GLOB_DAT | c::R_X86_64_JUMP_SLOT => {
            let s = lookup(sym, resolve, call)?;
            write64(s);
        }
        c::R_X86_64_RELATIVE => write64(base.wrapping_add(addend)),
        c::R_X86_64_IRELATIVE => {
            let v = call(base.wrapping_add(addend)).map_err(|_| fail(None))?;
            write64(v);
        }
        other => {
            return Err(fail(Some(format!(
                "kldload: unexpected relocation type {other}"
            ))));
        }
    }
    Ok(())
}
