// SPDX-License-Identifier: BSD-2-Clause
//! Relocating an arm64 `ET_DYN` module.
//!
//! Followed: `link_elf_reloc_local`, `relocate_file`/`relocate_file1`,
//! `elf_lookup` and `linker_file_lookup_symbol` (the file's own symbols,
//! then its dependencies: here the kernel) in `sys/kern/link_elf.c`, and
//! `elf_reloc_internal` in `sys/arm64/arm64/elf_machdep.c` (versions in
//! `link_elf.rs`):
//! - the local pass applies only `R_AARCH64_RELATIVE` (`*where =
//!   relocbase + addend`), over `DT_REL` then `DT_RELA` (not the PLT
//!   table);
//! - `relocate_file` walks `DT_REL`, `DT_RELA`, the PLT `REL`, the PLT
//!   `RELA` tables, first the non-ifunc relocations, then the ifunc ones
//!   (a symbol of type `STT_GNU_IFUNC` or `R_AARCH64_IRELATIVE`);
//!   `NONE` and `RELATIVE` do nothing, `ABS64`, `GLOB_DAT`, `JUMP_SLOT`
//!   write `S + A`; any other type prints "kldload: unexpected relocation
//!   type N"; any failure prints "link_elf: symbol NAME undefined" (NAME
//!   `(null)` for a relocation without a symbol) and fails with `ENOENT`.

use super::DynError;
use super::image::Relocation;
use super::image::{DynFile, REL_SIZE, RELA_SIZE, STT_GNU_IFUNC, Target};
use crate::errno::Errno;

/// `R_AARCH64_*` types `elf_reloc_internal` knows.
pub(super) const R_AARCH64_NONE: u32 = 0;
pub(super) const R_AARCH64_ABS64: u32 = 257;
pub(super) const R_AARCH64_GLOB_DAT: u32 = 1025;
pub(super) const R_AARCH64_JUMP_SLOT: u32 = 1026;
pub(super) const R_AARCH64_RELATIVE: u32 = 1027;
pub(super) const R_AARCH64_IRELATIVE: u32 = 1032;

/// `STB_LOCAL`, `STB_WEAK`.
const STB_LOCAL: u8 = 0;
const STB_WEAK: u8 = 2;

/// One table entry.
#[derive(Clone, Copy, Debug)]
struct Entry {
    offset: u64,
    kind: u32,
    sym: u64,
    /// `None` for `Elf_Rel` (the addend is `*where`).
    addend: Option<i64>,
}

/// The entries of table `t` (offset and size in the image), `Elf_Rela`
/// if `rela`.
fn entries(f: &DynFile, t: Option<(u64, u64)>, rela: bool) -> Result<Vec<Entry>, DynError> {
    let Some((off, size)) = t else {
        return Ok(Vec::new());
    };
    let ent = if rela { RELA_SIZE } else { REL_SIZE };
    let oob = || DynError::out_of_bounds(f.filename(), "a relocation table");
    (0..size / ent)
        .map(|i| {
            let at = off.checked_add(i * ent).ok_or_else(oob)?;
            let img = f.img();
            let offset = super::le::u64_at(img, at).ok_or_else(oob)?;
            let info = super::le::u64_at(img, at + 8).ok_or_else(oob)?;
            let addend = if rela {
                Some(
                    super::le::u64_at(img, at + 16)
                        .ok_or_else(oob)?
                        .cast_signed(),
                )
            } else {
                None
            };
            Ok(Entry {
                offset,
                kind: (info & 0xffff_ffff) as u32,
                sym: info >> 32,
                addend,
            })
        })
        .collect()
}

/// `where` and the addend of `e`.
fn where_and_addend(f: &DynFile, e: &Entry) -> Result<u64, DynError> {
    match e.addend {
        Some(a) => Ok(a.cast_unsigned()),
        None => f.read(e.offset).ok_or_else(|| {
            DynError::out_of_bounds(f.filename(), &format!("r_offset {:#x}", e.offset))
        }),
    }
}

/// Writes `val` at `e`'s `where` and records it.
fn store(
    f: &mut DynFile,
    e: &Entry,
    val: u64,
    symbol: Option<String>,
    target: Target,
) -> Result<(), DynError> {
    f.write(e.offset, val).ok_or_else(|| {
        DynError::out_of_bounds(f.filename(), &format!("r_offset {:#x}", e.offset))
    })?;
    f.relocations.push(Relocation {
        offset: e.offset,
        kind: e.kind,
        symbol,
        target,
        value: val,
    });
    Ok(())
}

/// `link_elf_reloc_local`: `R_AARCH64_RELATIVE` in `DT_REL` and `DT_RELA`.
pub(super) fn reloc_local(f: &mut DynFile) -> Result<(), DynError> {
    let base = f.address();
    for (t, rela) in [(f.dynamic.rel, false), (f.dynamic.rela, true)] {
        for e in entries(f, t, rela)? {
            if e.kind == R_AARCH64_RELATIVE {
                let a = where_and_addend(f, &e)?;
                store(f, &e, base.wrapping_add(a), None, Target::Module)?;
            }
        }
    }
    Ok(())
}

/// `elf_lookup`: symbol `idx`'s address and where it came from.
fn elf_lookup(
    f: &mut DynFile,
    idx: u64,
    kernel: &dyn Fn(&str) -> Option<u64>,
) -> Option<(u64, Target, String)> {
    if idx >= f.nchains() {
        return None;
    }
    let sym = f.sym(idx)?;
    if sym.bind() == STB_LOCAL {
        if sym.shndx == 0 || sym.value == 0 {
            return None;
        }
        return Some((
            f.address().wrapping_add(sym.value),
            Target::Module,
            sym.name,
        ));
    }
    if sym.name.is_empty() {
        return None;
    }
    // linker_file_lookup_symbol: the file itself, then its dependencies.
    if let Ok(a) = f.lookup_symbol(&sym.name) {
        return Some((a, Target::Module, sym.name));
    }
    match kernel(&sym.name) {
        Some(a) if a != 0 => Some((a, Target::Kernel(sym.name.clone()), sym.name)),
        _ if sym.bind() == STB_WEAK => Some((0, Target::WeakUndefined, sym.name)),
        _ => None,
    }
}

/// The relocation's symbol name as `symbol_name` gives it.
fn symbol_name(f: &DynFile, e: &Entry) -> Option<String> {
    if e.sym == 0 {
        return None;
    }
    f.sym(e.sym).map(|s| s.name)
}

/// `relocate_file`: both passes over the four tables.
pub(super) fn relocate_file(
    f: &mut DynFile,
    kernel: &dyn Fn(&str) -> Option<u64>,
) -> Result<(), DynError> {
    let d = f.dynamic;
    let tables = [
        entries(f, d.rel, false)?,
        entries(f, d.rela, true)?,
        entries(f, d.pltrel, false)?,
        entries(f, d.pltrela, true)?,
    ];
    for ifuncs in [false, true] {
        for e in tables.iter().flatten() {
            let sym_type = if e.sym == 0 {
                0
            } else {
                f.sym(e.sym).map_or(0, |s| s.kind())
            };
            let is_ifunc = sym_type == STT_GNU_IFUNC || e.kind == R_AARCH64_IRELATIVE;
            if is_ifunc != ifuncs {
                continue;
            }
            if let Err(mut printed) = elf_reloc(f, e, kernel) {
                let name = symbol_name(f, e).unwrap_or_else(|| "(null)".to_owned());
                printed.push(format!("link_elf: symbol {name} undefined"));
                let why = format!(
                    "{}: relocation type {} at {:#x} ({name}) cannot be applied",
                    f.filename(),
                    e.kind,
                    e.offset
                );
                return Err(DynError {
                    errno: Errno::ENOENT,
                    messages: printed,
                    why: Some(why),
                });
            }
        }
    }
    Ok(())
}

/// `elf_reloc_internal` (not local): `Err` carries what it printed.
fn elf_reloc(
    f: &mut DynFile,
    e: &Entry,
    kernel: &dyn Fn(&str) -> Option<u64>,
) -> Result<(), Vec<String>> {
    match e.kind {
        R_AARCH64_NONE | R_AARCH64_RELATIVE => Ok(()),
        R_AARCH64_ABS64 | R_AARCH64_GLOB_DAT | R_AARCH64_JUMP_SLOT => {
            let addend = where_and_addend(f, e).map_err(|_| Vec::new())?;
            let (addr, target, name) = elf_lookup(f, e.sym, kernel).ok_or_else(Vec::new)?;
            store(f, e, addr.wrapping_add(addend), Some(name), target).map_err(|_| Vec::new())
        }
        other => Err(vec![format!("kldload: unexpected relocation type {other}")]),
    }
}
