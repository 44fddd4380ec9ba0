// SPDX-License-Identifier: BSD-2-Clause
//! A laid-out `ET_DYN` module: its dynamic section (`parse_dynamic`), its
//! dynamic symbols through `DT_HASH` (`link_elf_lookup_symbol`,
//! `link_elf_symbol_values`), its linker sets (`link_elf_lookup_set`) and
//! its module metadata (`set_modmetadata_set`, read as
//! `linker_file_register_modules` in `sys/kern/kern_linker.c` reads it).
//! Versions read: see `link_elf.rs`.

use super::{DynError, le};
use crate::errno::Errno;
use crate::lowmem::LowMap;

const DT_NULL: u64 = 0;
const DT_PLTRELSZ: u64 = 2;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_RELAENT: u64 = 9;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_REL: u64 = 17;
const DT_RELSZ: u64 = 18;
const DT_RELENT: u64 = 19;
const DT_PLTREL: u64 = 20;
const DT_JMPREL: u64 = 23;
/// `sizeof(Elf64_Sym)`, `sizeof(Elf64_Rel)`, `sizeof(Elf64_Rela)`.
pub(super) const SYM_SIZE: u64 = 24;
pub(super) const REL_SIZE: u64 = 16;
pub(super) const RELA_SIZE: u64 = 24;
const SHN_UNDEF: u16 = 0;
pub(super) const STT_FUNC: u8 = 2;
pub(super) const STT_GNU_IFUNC: u8 = 10;
const SHT_SYMTAB: u32 = 2;

/// What `parse_dynamic` records: offsets in the mapping (`d_ptr`, taken
/// as `ef->address + d_ptr`) and sizes.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Dynamic {
    hash: Option<u64>,
    strtab: u64,
    strsz: u64,
    symtab: u64,
    pub(super) rel: Option<(u64, u64)>,
    pub(super) rela: Option<(u64, u64)>,
    pub(super) pltrel: Option<(u64, u64)>,
    pub(super) pltrela: Option<(u64, u64)>,
}

impl Dynamic {
    /// `parse_dynamic` over the `Elf_Dyn` array at `off` in `img`.
    pub(super) fn parse(filename: &str, img: &[u8], off: u64) -> Result<Self, DynError> {
        let mut d = Dynamic::default();
        let (mut rel, mut relsz, mut rela, mut relasz) = (None, 0, None, 0);
        let (mut jmprel, mut pltrelsz, mut plttype) = (None, 0, DT_REL);
        let bad = |what: String| {
            Err(DynError::silent(
                Errno::ENOEXEC,
                format!("{filename}: {what}"),
            ))
        };
        let mut at = off;
        loop {
            let (Some(tag), Some(val)) = (le::u64_at(img, at), le::u64_at(img, at + 8)) else {
                return Err(DynError::out_of_bounds(
                    filename,
                    "the dynamic section (no DT_NULL before its end)",
                ));
            };
            match tag {
                DT_NULL => break,
                DT_HASH => d.hash = Some(val),
                DT_STRTAB => d.strtab = val,
                DT_STRSZ => d.strsz = val,
                DT_SYMTAB => d.symtab = val,
                DT_SYMENT if val != SYM_SIZE => {
                    return bad(format!("DT_SYMENT {val}, not {SYM_SIZE}"));
                }
                DT_REL => rel = Some(val),
                DT_RELSZ => relsz = val,
                DT_RELENT if val != REL_SIZE => {
                    return bad(format!("DT_RELENT {val}, not {REL_SIZE}"));
                }
                DT_JMPREL => jmprel = Some(val),
                DT_PLTRELSZ => pltrelsz = val,
                DT_RELA => rela = Some(val),
                DT_RELASZ => relasz = val,
                DT_RELAENT if val != RELA_SIZE => {
                    return bad(format!("DT_RELAENT {val}, not {RELA_SIZE}"));
                }
                DT_PLTREL => {
                    if val != DT_REL && val != DT_RELA {
                        return bad(format!("DT_PLTREL {val} is neither DT_REL nor DT_RELA"));
                    }
                    plttype = val;
                }
                _ => {}
            }
            at += 16;
        }
        d.rel = rel.map(|r| (r, relsz));
        d.rela = rela.map(|r| (r, relasz));
        if plttype == DT_RELA {
            d.pltrela = jmprel.map(|r| (r, pltrelsz));
        } else {
            d.pltrel = jmprel.map(|r| (r, pltrelsz));
        }
        Ok(d)
    }
}

/// The `DT_HASH` table.
#[derive(Clone, Debug, Default)]
pub(super) struct Tables {
    buckets: Vec<u32>,
    chains: Vec<u32>,
}

impl Tables {
    /// Reads the hash table `DT_HASH` points to (none if absent).
    pub(super) fn new(filename: &str, img: &[u8], d: &Dynamic) -> Result<Self, DynError> {
        let Some(h) = d.hash else {
            return Ok(Tables::default());
        };
        let oob = || DynError::out_of_bounds(filename, "the DT_HASH table");
        let nbuckets = le::u32_at(img, h).ok_or_else(oob)?;
        let nchains = le::u32_at(img, h + 4).ok_or_else(oob)?;
        let word = |i: u64| le::u32_at(img, h + 8 + 4 * i).ok_or_else(oob);
        let buckets = (0..u64::from(nbuckets))
            .map(word)
            .collect::<Result<Vec<_>, _>>()?;
        let chains = (0..u64::from(nchains))
            .map(|i| word(u64::from(nbuckets) + i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tables { buckets, chains })
    }
}

/// A dynamic (or, after the load, `.symtab`) symbol.
#[derive(Clone, Debug)]
pub(super) struct Sym {
    pub(super) name: String,
    pub(super) info: u8,
    pub(super) shndx: u16,
    pub(super) value: u64,
}

impl Sym {
    pub(super) fn bind(&self) -> u8 {
        self.info >> 4
    }

    pub(super) fn kind(&self) -> u8 {
        self.info & 0xf
    }

    /// What `link_elf_lookup_symbol` accepts for a name match: defined,
    /// or a function with a value.
    fn usable(&self) -> bool {
        self.shndx != SHN_UNDEF
            || (self.value != 0 && matches!(self.kind(), STT_FUNC | STT_GNU_IFUNC))
    }
}

/// Where a relocation's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `R_AARCH64_NONE`: nothing written.
    None,
    /// The module itself (`R_AARCH64_RELATIVE`, a local symbol, or one of
    /// its own dynamic symbols).
    Module,
    /// The kernel symbol of that name.
    Kernel(String),
    /// A weak symbol found nowhere: zero plus the addend.
    WeakUndefined,
}

/// One applied relocation.
#[derive(Clone, Debug)]
pub struct Relocation {
    /// `r_offset`: where, relative to the mapping.
    pub offset: u64,
    /// `R_AARCH64_*` type.
    pub kind: u32,
    /// The symbol's name, if the relocation has one.
    pub symbol: Option<String>,
    /// Where the value came from.
    pub target: Target,
    /// The word written.
    pub value: u64,
}

/// What a `struct mod_metadata` describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataKind {
    /// `MDT_DEPEND`: `struct mod_depend` (minimum, preferred, maximum).
    Depend {
        /// `md_ver_minimum`.
        min: i32,
        /// `md_ver_preferred`.
        pref: i32,
        /// `md_ver_maximum`.
        max: i32,
    },
    /// `MDT_MODULE`: `moduledata_t`, its `name`.
    Module(String),
    /// `MDT_VERSION`: `struct mod_version`.
    Version(i32),
    /// Another `md_type` (`MDT_PNP_INFO`, ...).
    Other(i32),
}

/// One entry of the module's `set_modmetadata_set`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// `md_cval`: the module or dependency name.
    pub name: String,
    /// `md_type` and its data.
    pub kind: MetadataKind,
}

/// A module loaded and relocated as `link_elf.c` does, not registered.
///
/// # Invariants
/// `img` is what `map` holds once [`DynFile::commit`] ran (the loader
/// writes the image, then copies it in once).
pub struct DynFile {
    filename: String,
    map: LowMap,
    img: Vec<u8>,
    relocbase: u64,
    pub(super) dynamic: Dynamic,
    tables: Tables,
    /// The `.symtab` symbols (`ddbsymtab`), read after relocation as
    /// `link_elf_load_file` reads them; empty before.
    ddb: Vec<Sym>,
    pub(super) relocations: Vec<Relocation>,
    pub(super) messages: Vec<String>,
}

impl core::fmt::Debug for DynFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DynFile")
            .field("filename", &self.filename)
            .field("address", &format_args!("{:#x}", self.relocbase))
            .field("size", &self.map.len())
            .field("relocations", &self.relocations.len())
            .finish_non_exhaustive()
    }
}

impl DynFile {
    pub(super) fn new(
        filename: &str,
        map: LowMap,
        img: Vec<u8>,
        relocbase: u64,
        dynamic: Dynamic,
        tables: Tables,
    ) -> Self {
        DynFile {
            filename: filename.to_owned(),
            map,
            img,
            relocbase,
            dynamic,
            tables,
            ddb: Vec::new(),
            relocations: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// The load address (`lf->address`, the relocation base).
    pub fn address(&self) -> u64 {
        self.relocbase
    }

    /// The mapping's size (`lf->size`).
    pub fn size(&self) -> usize {
        self.map.len()
    }

    /// The file name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// What FreeBSD printed while loading (e.g. "Unreadable program
    /// headers", which does not stop a load).
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// Every relocation applied, in the order applied.
    pub fn relocations(&self) -> &[Relocation] {
        &self.relocations
    }

    /// The 64-bit word at absolute address `addr` in the mapping.
    pub fn word_at(&self, addr: u64) -> Option<u64> {
        le::u64_at(&self.img, addr.checked_sub(self.relocbase)?)
    }

    /// The `i32` at absolute address `addr` in the mapping.
    fn i32_at(&self, addr: u64) -> Option<i32> {
        le::u32_at(&self.img, addr.checked_sub(self.relocbase)?).map(u32::cast_signed)
    }

    /// The NUL-terminated string at absolute address `addr`.
    fn cstr_abs(&self, addr: u64) -> Option<String> {
        self.cstr(addr.checked_sub(self.relocbase)?)
    }

    /// The NUL-terminated string at offset `off` of the image.
    fn cstr(&self, off: u64) -> Option<String> {
        let rest = self.img.get(usize::try_from(off).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
    }

    /// Reads the image word at offset `off` (a relocation's `where`).
    pub(super) fn read(&self, off: u64) -> Option<u64> {
        le::u64_at(&self.img, off)
    }

    /// Writes `val` at offset `off` of the image.
    pub(super) fn write(&mut self, off: u64, val: u64) -> Option<()> {
        let start = usize::try_from(off).ok()?;
        let dst = self.img.get_mut(start..start.checked_add(8)?)?;
        dst.copy_from_slice(&val.to_le_bytes());
        Some(())
    }

    /// The raw image (relocation tables are read from it).
    pub(super) fn img(&self) -> &[u8] {
        &self.img
    }

    /// `ef->nchains`: the number of dynamic symbols.
    pub(super) fn nchains(&self) -> u64 {
        self.tables.chains.len() as u64
    }

    /// Dynamic symbol `idx` (`ef->symtab + idx`), if readable.
    pub(super) fn sym(&self, idx: u64) -> Option<Sym> {
        let at = self
            .dynamic
            .symtab
            .checked_add(idx.checked_mul(SYM_SIZE)?)?;
        let st_name = le::u32_at(&self.img, at)?;
        let info = *self.img.get(usize::try_from(at + 4).ok()?)?;
        let shndx = le::u16_at(&self.img, at + 6)?;
        let value = le::u64_at(&self.img, at + 8)?;
        let name = self.cstr(self.dynamic.strtab.checked_add(u64::from(st_name))?)?;
        Some(Sym {
            name,
            info,
            shndx,
            value,
        })
    }

    /// `link_elf_lookup_symbol` then `link_elf_symbol_values`: the
    /// address of the file's own symbol `name`.
    pub(super) fn lookup_symbol(&mut self, name: &str) -> Result<u64, Errno> {
        if self.tables.buckets.is_empty() {
            self.messages
                .push("link_elf_lookup_symbol: missing symbol hash table".to_owned());
            return Err(Errno::ENOENT);
        }
        let nbuckets = self.tables.buckets.len() as u64;
        let mut symnum = self
            .tables
            .buckets
            .get(usize::try_from(elf_hash(name) % nbuckets).unwrap_or(0))
            .copied()
            .unwrap_or(0);
        while symnum != 0 {
            let corrupt = |s: &mut Self| {
                s.messages
                    .push("link_elf_lookup_symbol: corrupt symbol table".to_owned());
                Err(Errno::ENOENT)
            };
            if u64::from(symnum) >= self.nchains() {
                return corrupt(self);
            }
            let Some(sym) = self.sym(u64::from(symnum)) else {
                return corrupt(self);
            };
            if sym.name.is_empty() {
                return corrupt(self);
            }
            if sym.name == name {
                return if sym.usable() {
                    Ok(self.relocbase.wrapping_add(sym.value))
                } else {
                    Err(Errno::ENOENT)
                };
            }
            symnum = self
                .tables
                .chains
                .get(symnum as usize)
                .copied()
                .unwrap_or(0);
        }
        // The exhaustive search of the full table, once loaded.
        match self.ddb.iter().find(|s| s.name == name) {
            Some(s) if s.usable() => Ok(self.relocbase.wrapping_add(s.value)),
            _ => Err(Errno::ENOENT),
        }
    }

    /// `link_elf_lookup_set`: the bounds of linker set `name`
    /// (`__start_set_NAME`, `__stop_set_NAME`), absolute addresses.
    /// `ENOENT` if a bound is missing.
    pub fn lookup_set(&mut self, name: &str) -> Result<(u64, u64), Errno> {
        let start = self.lookup_symbol(&format!("__start_set_{name}"))?;
        let stop = self.lookup_symbol(&format!("__stop_set_{name}"))?;
        if start == 0 || stop == 0 {
            return Err(Errno::ESRCH);
        }
        Ok((start, stop))
    }

    /// The pointers in linker set `name`, or why it cannot be read.
    pub fn set_entries(&mut self, name: &str) -> Result<Vec<u64>, DynError> {
        let filename = self.filename.clone();
        let (start, stop) = self.lookup_set(name).map_err(|e| {
            DynError::silent(
                e,
                format!("{filename}: linker set {name}: __start_set_{name} or __stop_set_{name} is not a dynamic symbol"),
            )
        })?;
        let n = stop.saturating_sub(start) / 8;
        (0..n)
            .map(|i| {
                self.word_at(start + 8 * i)
                    .ok_or_else(|| DynError::out_of_bounds(&filename, &format!("set {name}")))
            })
            .collect()
    }

    /// The module metadata (`set_modmetadata_set`), each `struct
    /// mod_metadata` and its data read from the relocated image.
    pub fn metadata(&mut self) -> Result<Vec<Metadata>, DynError> {
        let filename = self.filename.clone();
        let oob = |what: &str| DynError::out_of_bounds(&filename, what);
        let mut out = Vec::new();
        for p in self.set_entries("modmetadata_set")? {
            if p == 0 {
                continue;
            }
            // struct mod_metadata { int md_version; int md_type;
            //     const void *md_data; const char *md_cval; }
            let kind = self.i32_at(p + 4).ok_or_else(|| oob("a mod_metadata"))?;
            let data = self.word_at(p + 8).ok_or_else(|| oob("a mod_metadata"))?;
            let cval = self.word_at(p + 16).ok_or_else(|| oob("a mod_metadata"))?;
            let name = self.cstr_abs(cval).ok_or_else(|| oob("md_cval"))?;
            let field = |i: u64| self.i32_at(data + 4 * i).ok_or_else(|| oob("md_data"));
            let kind = match kind.cast_unsigned() {
                sys::MDT_DEPEND => MetadataKind::Depend {
                    min: field(0)?,
                    pref: field(1)?,
                    max: field(2)?,
                },
                sys::MDT_VERSION => MetadataKind::Version(field(0)?),
                sys::MDT_MODULE => {
                    let np = self.word_at(data).ok_or_else(|| oob("moduledata"))?;
                    MetadataKind::Module(self.cstr_abs(np).ok_or_else(|| oob("moduledata name"))?)
                }
                _ => MetadataKind::Other(kind),
            };
            out.push(Metadata { name, kind });
        }
        Ok(out)
    }

    /// Finishes the load: copies the relocated image into the mapping and
    /// reads the `.symtab` (`ddbsymtab`) as `link_elf_load_file` does after
    /// `relocate_file`.
    pub(super) fn commit(&mut self, file: &[u8]) {
        let n = self.img.len().min(self.map.len());
        // SAFETY: `map` is a read-write mapping of `map.len()` bytes that
        // this value owns and nothing else references (no module code
        // runs); `img` is a separate heap buffer; `n` is within both.
        unsafe { core::ptr::copy_nonoverlapping(self.img.as_ptr(), self.map.base(), n) };
        self.ddb = read_symtab(file).unwrap_or_default();
    }
}

/// `elf_hash`, the System V ABI hash.
fn elf_hash(name: &str) -> u64 {
    let mut h: u64 = 0;
    for &c in name.as_bytes() {
        h = (h << 4).wrapping_add(u64::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The file's `SHT_SYMTAB` symbols, from its section headers (none if
/// stripped or unreadable: `link_elf_load_file` then keeps the dynamic
/// table).
fn read_symtab(file: &[u8]) -> Option<Vec<Sym>> {
    let shoff = le::u64_at(file, 40)?;
    let shentsize = u64::from(le::u16_at(file, 58)?);
    let shnum = u64::from(le::u16_at(file, 60)?);
    let sh = |i: u64| shoff.checked_add(i.checked_mul(shentsize)?);
    let (mut symtab, mut strtab) = (None, None);
    for i in 0..shnum {
        let h = sh(i)?;
        if le::u32_at(file, h + 4)? == SHT_SYMTAB {
            let link = u64::from(le::u32_at(file, h + 40)?);
            symtab = Some((le::u64_at(file, h + 24)?, le::u64_at(file, h + 32)?));
            let l = sh(link)?;
            strtab = Some((le::u64_at(file, l + 24)?, le::u64_at(file, l + 32)?));
        }
    }
    let ((so, ss), (to, ts)) = (symtab?, strtab?);
    let strs = file.get(usize::try_from(to).ok()?..usize::try_from(to.checked_add(ts)?).ok()?)?;
    (0..ss / SYM_SIZE)
        .map(|i| {
            let at = so + i * SYM_SIZE;
            let st_name = usize::try_from(le::u32_at(file, at)?).ok()?;
            let rest = strs.get(st_name..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(Sym {
                name: String::from_utf8_lossy(rest.get(..end)?).into_owned(),
                info: *file.get(usize::try_from(at + 4).ok()?)?,
                shndx: le::u16_at(file, at + 6)?,
                value: le::u64_at(file, at + 8)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::elf_hash;

    #[test]
    fn elf_hash_matches_the_abi_examples() {
        assert_eq!(elf_hash(""), 0);
        assert_eq!(elf_hash("printf"), 0x077905a6);
        assert_eq!(elf_hash("exit"), 0x0006cf04);
    }
}
