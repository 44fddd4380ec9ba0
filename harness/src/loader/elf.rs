// SPDX-License-Identifier: BSD-2-Clause
//! Reading an `ET_REL` x86-64 object and laying it out in memory.
//!
//! Followed: `link_elf_load_file` in `sys/kern/link_elf_obj.c`: the
//! header checks and their errors (`ENOEXEC` with "Unsupported file
//! layout", "Unsupported file version", "Unsupported machine"; `ENOSYS`
//! for a type other than `ET_REL`), the sections that are loaded
//! (`SHT_PROGBITS`, `SHT_NOBITS`, `SHT_X86_64_UNWIND`, and the
//! `SHT_INIT_ARRAY`/`SHT_FINI_ARRAY` FreeBSD 14 added, when `SHF_ALLOC`
//! and non-empty), "file has no contents", "file must have exactly one
//! symbol table", "file has invalid symbol strings", the alignment of each
//! section in one mapping (its arithmetic, and `sh_addralign` 0, in
//! `layout`), `SHT_PROGBITS` and `SHT_X86_64_UNWIND` sections read from the
//! file and the others (`SHT_NOBITS`, `SHT_INIT_ARRAY`, `SHT_FINI_ARRAY`)
//! zero-filled, symbol values relocated by their section's address,
//! `link_elf_fix_link_set` (`__start_X`/`__stop_X` bound to the first
//! loaded section named `X`, by its position among the loaded sections:
//! position 0 reads as `SHN_UNDEF`, so such a symbol stays undefined and
//! is looked up by name), the constructor and destructor sections (the
//! first `.ctors` or `SHT_INIT_ARRAY`, the first `.dtors` or
//! `SHT_FINI_ARRAY`; "link_elf_load_file: multiple ctor sections in %s"
//! for any later one), and the relocation tables: every non-empty
//! `SHT_REL`/`SHT_RELA` table whose target section is `SHF_ALLOC` is
//! applied (the `SHT_REL` ones first), and one whose target was not
//! loaded fails in `link_elf_reloc_local` with "lost base for reltab"
//! (`reloc.rs`); tables for other targets (debug information) are
//! ignored.
//!
//! Where the harness differs: sections of different protection classes
//! (text, read-only, writable) start on separate pages so that
//! `mprotect` can give each exactly its `SHF_WRITE`/`SHF_EXECINSTR`
//! rights; the mapping is below 2 GiB ([`crate::lowmem`]).

mod layout;

use crate::errno::Errno;
use crate::lowmem::{LowMap, PAGE_SIZE, round_up};
use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};

/// ELF constants as plain integers (`object` wraps them in newtypes).
pub(crate) mod c {
    use object::elf;
    pub(crate) const ELFCLASS64: u8 = elf::ELFCLASS64.0;
    pub(crate) const ELFDATA2LSB: u8 = elf::ELFDATA2LSB.0;
    pub(crate) const EM_X86_64: u16 = elf::EM_X86_64.0;
    pub(crate) const ET_REL: u16 = elf::ET_REL.0;
    pub(crate) const EV_CURRENT: u8 = elf::EV_CURRENT.0;
    pub(crate) const R_X86_64_32S: u32 = elf::R_X86_64_32S.0;
    pub(crate) const R_X86_64_64: u32 = elf::R_X86_64_64.0;
    pub(crate) const R_X86_64_COPY: u32 = elf::R_X86_64_COPY.0;
    pub(crate) const R_X86_64_GLOB_DAT: u32 = elf::R_X86_64_GLOB_DAT.0;
    pub(crate) const R_X86_64_IRELATIVE: u32 = elf::R_X86_64_IRELATIVE.0;
    pub(crate) const R_X86_64_JUMP_SLOT: u32 = elf::R_X86_64_JUMP_SLOT.0;
    pub(crate) const R_X86_64_NONE: u32 = elf::R_X86_64_NONE.0;
    pub(crate) const R_X86_64_PC32: u32 = elf::R_X86_64_PC32.0;
    pub(crate) const R_X86_64_PLT32: u32 = elf::R_X86_64_PLT32.0;
    pub(crate) const R_X86_64_RELATIVE: u32 = elf::R_X86_64_RELATIVE.0;
    pub(crate) const SHF_ALLOC: u64 = elf::SHF_ALLOC.0;
    pub(crate) const SHF_EXECINSTR: u64 = elf::SHF_EXECINSTR.0;
    pub(crate) const SHF_WRITE: u64 = elf::SHF_WRITE.0;
    pub(crate) const SHN_ABS: u16 = elf::SHN_ABS.0;
    pub(crate) const SHN_COMMON: u16 = elf::SHN_COMMON.0;
    pub(crate) const SHN_UNDEF: u16 = elf::SHN_UNDEF.0;
    pub(crate) const SHT_FINI_ARRAY: u32 = elf::SHT_FINI_ARRAY.0;
    pub(crate) const SHT_INIT_ARRAY: u32 = elf::SHT_INIT_ARRAY.0;
    pub(crate) const SHT_NOBITS: u32 = elf::SHT_NOBITS.0;
    pub(crate) const SHT_PROGBITS: u32 = elf::SHT_PROGBITS.0;
    pub(crate) const SHT_REL: u32 = elf::SHT_REL.0;
    pub(crate) const SHT_RELA: u32 = elf::SHT_RELA.0;
    pub(crate) const SHT_SYMTAB: u32 = elf::SHT_SYMTAB.0;
    pub(crate) const STB_GLOBAL: u8 = elf::STB_GLOBAL.0;
    pub(crate) const STB_LOCAL: u8 = elf::STB_LOCAL.0;
    pub(crate) const STB_WEAK: u8 = elf::STB_WEAK.0;
    pub(crate) const STT_GNU_IFUNC: u8 = elf::STT_GNU_IFUNC.0;
    pub(crate) const STT_FUNC: u8 = elf::STT_FUNC.0;
}

/// `SHT_X86_64_UNWIND`.
const SHT_X86_64_UNWIND: u32 = 0x7000_0001;

/// A loaded (allocated) section.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    /// Section header index.
    pub(crate) index: usize,
    /// Name.
    pub(crate) name: String,
    /// Offset in the mapping.
    pub(crate) off: usize,
    /// Size.
    pub(crate) size: usize,
    /// `SHF_*` flags.
    pub(crate) flags: u64,
    /// `SHT_*` type.
    pub(crate) kind: u32,
}

/// A symbol, with its value relocated.
#[derive(Clone, Debug)]
pub(crate) struct Symbol {
    pub(crate) name: String,
    pub(crate) value: u64,
    pub(crate) shndx: u16,
    pub(crate) bind: u8,
    pub(crate) kind: u8,
}

impl Symbol {
    /// Defined in this file (not `SHN_UNDEF`).
    pub(crate) fn defined(&self) -> bool {
        self.shndx != c::SHN_UNDEF
    }
}

/// One relocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reloc {
    pub(crate) offset: u64,
    pub(crate) kind: u32,
    pub(crate) sym: usize,
    /// `None` for `SHT_REL` (the addend is in place).
    pub(crate) addend: Option<i64>,
}

/// The relocations that apply to one section (an `SHF_ALLOC` target).
#[derive(Clone, Debug)]
pub(crate) struct RelocTable {
    /// Index into [`Object::sections`]; `None` if the target was not
    /// loaded (`findbase` finds no base: "lost base for reltab").
    pub(crate) target: Option<usize>,
    pub(crate) relocs: Vec<Reloc>,
}

/// A constructor or destructor section: its index in
/// [`Object::sections`].
pub(crate) type CtorSection = Option<usize>;

/// A laid-out object, before relocation.
pub(crate) struct Object {
    pub(crate) map: LowMap,
    pub(crate) sections: Vec<Section>,
    pub(crate) symbols: Vec<Symbol>,
    /// `SHT_REL` tables first, then `SHT_RELA` ones, as
    /// `link_elf_reloc_local` and `relocate_file` apply them.
    pub(crate) relocs: Vec<RelocTable>,
    /// `lf->ctors_addr`: the first constructor section.
    pub(crate) ctors: CtorSection,
    /// `lf->dtors_addr`: the first destructor section.
    pub(crate) dtors: CtorSection,
    /// What the layout printed ("multiple ctor sections").
    pub(crate) messages: Vec<String>,
    /// Its functions' names, for reports, while it is mapped.
    pub(crate) _names: crate::ksyms::Registration,
}

/// A load error: the errno and what FreeBSD prints.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub(crate) errno: Errno,
    pub(crate) message: Option<String>,
    /// Why, when FreeBSD fails without saying (recorded as a violation).
    pub(crate) violation: Option<String>,
    /// FreeBSD would take a fatal page fault at this address instead of
    /// failing the load: the address and the cause.
    pub(crate) fault: Option<(u64, String)>,
}

impl LoadError {
    pub(crate) fn new(errno: Errno, message: impl Into<Option<String>>) -> Self {
        LoadError {
            errno,
            message: message.into(),
            violation: None,
            fault: None,
        }
    }

    /// The same error, explained by `why` (a violation).
    pub(crate) fn with_violation(mut self, why: String) -> Self {
        self.violation = Some(why);
        self
    }

    /// A fatal page fault at `addr` (the kernel panics), caused by
    /// `cause`.
    pub(crate) fn fault(addr: u64, cause: String) -> Self {
        LoadError {
            errno: Errno::EFAULT,
            message: None,
            violation: None,
            fault: Some((addr, cause)),
        }
    }
}

/// A malformed file: `ENOEXEC` with `link_elf_error`'s message.
fn malformed(filename: &str, what: &str) -> LoadError {
    LoadError::new(Errno::ENOEXEC, format!("kldload: {filename}: {what}"))
}

/// The protection class of a section: 0 text, 1 read-only, 2 writable.
pub(crate) fn class(flags: u64) -> u8 {
    if flags & (c::SHF_EXECINSTR) != 0 {
        0
    } else if flags & (c::SHF_WRITE) != 0 {
        2
    } else {
        1
    }
}

fn is_loaded(kind: u32, flags: u64, size: u64) -> bool {
    size != 0
        && flags & (c::SHF_ALLOC) != 0
        && matches!(
            kind,
            c::SHT_PROGBITS
                | c::SHT_NOBITS
                | SHT_X86_64_UNWIND
                | c::SHT_INIT_ARRAY
                | c::SHT_FINI_ARRAY
        )
}

/// Parses and lays out `data`, the file `filename` (its base name, as
/// `lf->filename`) loaded by the path `pathname` (`link_elf_load_file`'s
/// `filename`).
pub(crate) fn load(filename: &str, pathname: &str, data: &[u8]) -> Result<Object, LoadError> {
    if data.len() < 64 || data.get(..4) != Some(&elf::ELFMAG[..]) {
        return Err(LoadError::new(Errno::ENOEXEC, None));
    }
    if data[4] != c::ELFCLASS64 || data[5] != c::ELFDATA2LSB {
        return Err(malformed(filename, "Unsupported file layout"));
    }
    let hdr = elf::FileHeader64::<LE>::parse(data)
        .map_err(|_| malformed(filename, "Unsupported file layout"))?;
    let e = LE;
    if data[6] != c::EV_CURRENT || hdr.e_version.get(e) != u32::from(c::EV_CURRENT) {
        return Err(malformed(filename, "Unsupported file version"));
    }
    if hdr.e_type.get(e).0 != c::ET_REL {
        return Err(LoadError::new(Errno::ENOSYS, None));
    }
    if hdr.e_machine.get(e).0 != c::EM_X86_64 {
        return Err(malformed(filename, "Unsupported machine"));
    }
    if usize::from(hdr.e_shentsize.get(e)) != size_of::<elf::SectionHeader64<LE>>()
        || hdr.e_shoff.get(e) == 0
    {
        return Err(LoadError::new(Errno::ENOEXEC, None));
    }
    let sections = hdr
        .sections(e, data)
        .map_err(|_| LoadError::new(Errno::ENOEXEC, None))?;
    let mut nsym = 0;
    let mut symtab_index = None;
    let mut nprog = 0;
    for (i, s) in sections.iter().enumerate() {
        if s.sh_size(e) == 0 {
            continue;
        }
        if is_loaded(s.sh_type(e).0, s.sh_flags(e).0, s.sh_size(e)) {
            nprog += 1;
        }
        if s.sh_type(e).0 == c::SHT_SYMTAB {
            nsym += 1;
            symtab_index = Some(i);
        }
    }
    if nprog == 0 {
        return Err(malformed(filename, "file has no contents"));
    }
    if nsym != 1 {
        return Err(malformed(
            filename,
            "file must have exactly one symbol table",
        ));
    }
    symtab_index.ok_or_else(|| malformed(filename, "lost symbol table index"))?;
    let symtab = sections
        .symbols(e, data, elf::SHT_SYMTAB)
        .map_err(|_| malformed(filename, "file has invalid symbol strings"))?;

    // Layout. The alignment is FreeBSD's arithmetic (`layout::align`); a
    // zero alignment counts as 1 here, the load failing below as it fails
    // on FreeBSD, before anything is copied.
    let mut loaded: Vec<Section> = Vec::new();
    let mut aligns: Vec<u64> = Vec::new();
    let mut mapsize = 0usize;
    let mut prev_class = None;
    let mut ctors: CtorSection = None;
    let mut dtors: CtorSection = None;
    let mut messages = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let (kind, flags, size) = (s.sh_type(e).0, s.sh_flags(e).0, s.sh_size(e));
        if !is_loaded(kind, flags, size) {
            continue;
        }
        let c = class(flags);
        if prev_class.is_some_and(|p| p != c) {
            mapsize =
                round_up(mapsize, PAGE_SIZE).ok_or_else(|| malformed(filename, "too large"))?;
        }
        prev_class = Some(c);
        let align = s.sh_addralign(e);
        aligns.push(align);
        let aligned = layout::align(mapsize as u64, align.max(1));
        mapsize = usize::try_from(aligned).map_err(|_| malformed(filename, "too large"))?;
        let name = sections
            .section_name(e, s)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        // The constructor and destructor sections, in the order of
        // link_elf_load_file's tests.
        let slot = if name == ".ctors" || kind == c::SHT_INIT_ARRAY {
            Some((&mut ctors, "ctor"))
        } else if name == ".dtors" || kind == c::SHT_FINI_ARRAY {
            Some((&mut dtors, "dtor"))
        } else {
            None
        };
        if let Some((slot, what)) = slot {
            if slot.is_some() {
                messages.push(format!(
                    "link_elf_load_file: multiple {what} sections in {pathname}"
                ));
            } else {
                *slot = Some(loaded.len());
            }
        }
        let size = usize::try_from(size).map_err(|_| malformed(filename, "too large"))?;
        loaded.push(Section {
            index: i,
            name,
            off: mapsize,
            size,
            flags,
            kind,
        });
        mapsize = mapsize
            .checked_add(size)
            .ok_or_else(|| malformed(filename, "too large"))?;
    }
    let map = LowMap::new(mapsize).map_err(|e| LoadError::new(e, None))?;
    let placed: Vec<layout::Placed<'_>> = loaded
        .iter()
        .zip(&aligns)
        .map(|(s, &align)| layout::Placed {
            name: &s.name,
            size: s.size as u64,
            align,
            kind: s.kind,
        })
        .collect();
    layout::check_zero_alignment(&placed, map.addr() as u64, pathname)?;
    for sec in &loaded {
        // Only these are read from the file; the mapping is zero-filled.
        if sec.kind != c::SHT_PROGBITS && sec.kind != SHT_X86_64_UNWIND {
            continue;
        }
        let hdr = sections
            .section(object::SectionIndex(sec.index))
            .map_err(|_| malformed(filename, "lost progbits"))?;
        let bytes = hdr
            .data(e, data)
            .map_err(|_| LoadError::new(Errno::EINVAL, None))?;
        if bytes.len() != sec.size {
            return Err(LoadError::new(Errno::EINVAL, None));
        }
        // SAFETY: `off + size <= mapsize <= map.len()` by the layout above;
        // the mapping is fresh, writable and ours.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                map.base().wrapping_add(sec.off),
                sec.size,
            )
        };
    }

    // Symbols, relocated by their section's address.
    let strings = symtab.strings();
    let mut symbols = Vec::with_capacity(symtab.len());
    for s in symtab.iter() {
        let name = s
            .name(e, strings)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let shndx = s.st_shndx(e).0;
        let mut value = s.st_value(e);
        if shndx == c::SHN_COMMON {
            return Err(malformed(
                filename,
                &format!("common symbol {name} is not supported (build with -fno-common)"),
            ));
        }
        if let Some(sec) = loaded.iter().find(|x| x.index == usize::from(shndx)) {
            value = value.wrapping_add((map.addr() + sec.off) as u64);
        }
        symbols.push(Symbol {
            name,
            value,
            shndx,
            bind: s.st_bind().0,
            kind: s.st_type().0,
        });
    }

    // link_elf_fix_link_set: the binding is the section's position among
    // the loaded sections, stored as st_shndx; position 0 is SHN_UNDEF.
    for sym in symbols.iter_mut().skip(1) {
        if sym.defined() {
            continue;
        }
        let (start, set) = if let Some(x) = sym.name.strip_prefix("__start_") {
            (true, x)
        } else if let Some(x) = sym.name.strip_prefix("__stop_") {
            (false, x)
        } else {
            continue;
        };
        if let Some(pos) = loaded.iter().position(|x| x.name == set) {
            let sec = &loaded[pos];
            let base = (map.addr() + sec.off) as u64;
            sym.value = if start { base } else { base + sec.size as u64 };
            sym.shndx = u16::try_from(pos).unwrap_or(c::SHN_ABS);
        }
    }

    // Relocation tables whose target is SHF_ALLOC: the SHT_REL ones, then
    // the SHT_RELA ones.
    let mut relocs = Vec::new();
    for want in [c::SHT_REL, c::SHT_RELA] {
        relocs.extend(reloc_tables(filename, data, &sections, &loaded, want)?);
    }
    let names = crate::ksyms::register(
        map.addr(),
        map.len(),
        symbols
            .iter()
            .filter(|s| s.defined() && s.kind == c::STT_FUNC)
            .map(|s| (usize::try_from(s.value).unwrap_or(0), s.name.as_str())),
    );
    Ok(Object {
        map,
        sections: loaded,
        symbols,
        relocs,
        ctors,
        dtors,
        messages,
        _names: names,
    })
}

/// The non-empty tables of type `want` (`SHT_REL` or `SHT_RELA`) whose
/// target section is `SHF_ALLOC`, loaded or not.
fn reloc_tables(
    filename: &str,
    data: &[u8],
    sections: &object::read::elf::SectionTable<'_, elf::FileHeader64<LE>>,
    loaded: &[Section],
    want: u32,
) -> Result<Vec<RelocTable>, LoadError> {
    let e = LE;
    let mut relocs = Vec::new();
    for s in sections.iter() {
        let kind = s.sh_type(e).0;
        if kind != want || s.sh_size(e) == 0 {
            continue;
        }
        let info = s.sh_info(e) as usize;
        let target_alloc = sections
            .section(object::SectionIndex(info))
            .is_ok_and(|t| t.sh_flags(e).0 & c::SHF_ALLOC != 0);
        if !target_alloc {
            continue;
        }
        let target = loaded.iter().position(|x| x.index == info);
        let mut v = Vec::new();
        if kind == c::SHT_RELA {
            let (rs, _) = s
                .rela(e, data)
                .map_err(|_| malformed(filename, "lost relatab"))?
                .ok_or_else(|| malformed(filename, "lost relatab"))?;
            for r in rs {
                v.push(Reloc {
                    offset: r.r_offset.get(e),
                    kind: r.r_type(e, false).0,
                    sym: r.r_sym(e, false) as usize,
                    addend: Some(r.r_addend.get(e)),
                });
            }
        } else {
            let (rs, _) = s
                .rel(e, data)
                .map_err(|_| malformed(filename, "lost reltab"))?
                .ok_or_else(|| malformed(filename, "lost reltab"))?;
            for r in rs {
                v.push(Reloc {
                    offset: r.r_offset.get(e),
                    kind: r.r_type(e).0,
                    sym: r.r_sym(e) as usize,
                    addend: None,
                });
            }
        }
        relocs.push(RelocTable { target, relocs: v });
    }
    Ok(relocs)
}

impl Object {
    /// The address of a loaded section.
    pub(crate) fn section_addr(&self, i: usize) -> usize {
        self.map.addr() + self.sections.get(i).map_or(0, |s| s.off)
    }

    /// The bounds of loaded section `i` (`None` for no section).
    pub(crate) fn section_bounds(&self, i: Option<usize>) -> Option<(usize, usize)> {
        let s = self.sections.get(i?)?;
        let a = self.map.addr() + s.off;
        Some((a, a + s.size))
    }

    /// Whether `addr..addr + len` lies in one loaded section whose flags
    /// include `flags`.
    pub(crate) fn in_section(&self, addr: usize, len: usize, flags: u64) -> bool {
        self.sections.iter().any(|s| {
            let a = self.map.addr() + s.off;
            s.flags & flags == flags
                && addr >= a
                && addr.checked_add(len).is_some_and(|end| end <= a + s.size)
        })
    }

    /// `link_elf_lookup_set`: the bounds of `set_<name>`.
    pub(crate) fn set_bounds(&self, name: &str) -> Option<(usize, usize)> {
        let full = format!("set_{name}");
        self.sections.iter().find(|s| s.name == full).map(|s| {
            let a = self.map.addr() + s.off;
            (a, a + s.size)
        })
    }

    /// Applies the section protections (after relocation).
    pub(crate) fn protect(&self) -> Result<(), Errno> {
        // Pages of one class are contiguous (see the layout); give each
        // run of pages its class's rights.
        let mut page_class: Vec<Option<u8>> = vec![None; self.map.len() / PAGE_SIZE];
        for s in &self.sections {
            let c = class(s.flags);
            let first = s.off / PAGE_SIZE;
            let last = (s.off + s.size.max(1) - 1) / PAGE_SIZE;
            for p in page_class.iter_mut().take(last + 1).skip(first) {
                *p = Some(match *p {
                    Some(old) if old != c => 2,
                    _ => c,
                });
            }
        }
        for (i, c) in page_class.iter().enumerate() {
            let prot = match c {
                Some(0) => libc::PROT_READ | libc::PROT_EXEC,
                Some(1) => libc::PROT_READ,
                _ => libc::PROT_READ | libc::PROT_WRITE,
            };
            self.map.protect(i * PAGE_SIZE, PAGE_SIZE, prot)?;
        }
        Ok(())
    }
}
