// SPDX-License-Identifier: BSD-2-Clause
//! A read-only view of an x86-64 relocatable ELF object, as FreeBSD's kernel
//! linker sees it.
//!
//! `link_elf_load_file` in `sys/kern/link_elf_obj.c` accepts only `ET_REL`
//! files of the native class, data encoding and machine, with exactly one
//! `SHT_SYMTAB`. It loads the `SHF_ALLOC` sections of type `SHT_PROGBITS`,
//! `SHT_NOBITS`, (on amd64) `SHT_X86_64_UNWIND`, `SHT_INIT_ARRAY` and
//! `SHT_FINI_ARRAY` whose size is nonzero (FreeBSD 15; see
//! [`is_loaded_by_kernel`]), and applies the `SHT_REL`/`SHT_RELA` tables
//! whose target section (`sh_info`) is `SHF_ALLOC`. This module parses such
//! a file once with `object`'s low-level ELF reader and offers the lookups
//! the checks need: section names and data, symbols, and a flat list of
//! relocations with their target sections.

use object::elf::{
    self, FileHeader64, RelocationType, SectionHeader64, SectionType, Sym64, SymbolSection,
};
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{Endianness, SectionIndex, SymbolIndex};

use crate::error::{Error, Result};

type Header = FileHeader64<Endianness>;

/// Whether `link_elf_load_file` (`sys/kern/link_elf_obj.c`) gives a section
/// of this type, flags and size a place in the module's memory (a `progtab`
/// entry).
///
/// Its three section loops skip every section whose `sh_size` is 0, then
/// take `SHT_PROGBITS`, `SHT_NOBITS`, `SHT_X86_64_UNWIND`, `SHT_INIT_ARRAY`
/// and `SHT_FINI_ARRAY` if `SHF_ALLOC` is set. (FreeBSD 15; the array types
/// came with its support for constructors and destructors, the
/// `ctors_addr`/`dtors_addr` of `struct linker_file` in `sys/sys/linker.h`.)
/// Only these sections can be relocated (`findbase`), bound to a
/// `__start_X`/`__stop_X` symbol (`link_elf_fix_link_set`) or found as a
/// linker set (`link_elf_lookup_set`).
pub(crate) fn is_loaded_by_kernel(
    sh_type: SectionType,
    sh_flags: elf::SectionFlags,
    sh_size: u64,
) -> bool {
    sh_size != 0
        && sh_flags.contains(elf::SHF_ALLOC)
        && matches!(
            sh_type,
            elf::SHT_PROGBITS
                | elf::SHT_NOBITS
                | elf::SHT_X86_64_UNWIND
                | elf::SHT_INIT_ARRAY
                | elf::SHT_FINI_ARRAY
        )
}

/// One relocation entry, from either a `SHT_RELA` or a `SHT_REL` table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reloc {
    /// Index of the relocation table section.
    pub(crate) table: usize,
    /// Index of the section the relocation applies to (`sh_info`).
    pub(crate) target: usize,
    /// Offset within the target section.
    pub(crate) offset: u64,
    /// Relocation type.
    pub(crate) r_type: RelocationType,
    /// Symbol table index (0 for none).
    pub(crate) symbol: usize,
    /// Explicit addend (`SHT_RELA`), or `None` for `SHT_REL`, whose addend is
    /// stored in the relocated field.
    pub(crate) addend: Option<i64>,
}

/// A parsed x86-64 `ET_REL` object.
pub(crate) struct Object<'data> {
    endian: Endianness,
    data: &'data [u8],
    sections: SectionTable<'data, Header>,
    symbols: SymbolTable<'data, Header>,
    e_shoff: u64,
    e_shentsize: u16,
}

impl<'data> Object<'data> {
    /// Parses `data`, requiring a 64-bit little-endian `EM_X86_64` `ET_REL`
    /// object with a symbol table.
    pub(crate) fn parse(data: &'data [u8]) -> Result<Self> {
        let header = Header::parse(data)
            .map_err(|e| Error::Format(format!("not a 64-bit ELF file ({e})")))?;
        let endian = header.endian()?;
        if endian != Endianness::Little {
            return Err(Error::Format("big-endian ELF file; expected x86-64".into()));
        }
        let machine = header.e_machine(endian);
        if machine != elf::EM_X86_64 {
            return Err(Error::Format(format!(
                "e_machine is {}, expected EM_X86_64 (62)",
                machine.0
            )));
        }
        let e_type = header.e_type(endian);
        if e_type != elf::ET_REL {
            return Err(Error::Format(format!(
                "e_type is {}, expected ET_REL (1): FreeBSD amd64 kernel modules are \
                 relocatable objects (sys/kern/link_elf_obj.c)",
                e_type.0
            )));
        }
        let sections = header.sections(endian, data)?;
        let symbols = sections.symbols(endian, data, elf::SHT_SYMTAB)?;
        if symbols.is_empty() {
            return Err(Error::Format(
                "no symbol table (link_elf_load_file requires exactly one SHT_SYMTAB)".into(),
            ));
        }
        Ok(Self {
            endian,
            data,
            sections,
            symbols,
            e_shoff: header.e_shoff(endian),
            e_shentsize: header.e_shentsize(endian),
        })
    }

    /// File offset of section header `index`.
    pub(crate) fn section_header_offset(&self, index: usize) -> Result<usize> {
        u64::try_from(index)
            .ok()
            .and_then(|i| i.checked_mul(u64::from(self.e_shentsize)))
            .and_then(|o| o.checked_add(self.e_shoff))
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| Error::Format(format!("section header {index} out of range")))
    }

    /// Section header `index`.
    pub(crate) fn section(&self, index: usize) -> Result<&'data SectionHeader64<Endianness>> {
        Ok(self.sections.section(SectionIndex(index))?)
    }

    /// Iterates over `(index, header)` for every section except the null one.
    pub(crate) fn sections(
        &self,
    ) -> impl Iterator<Item = (usize, &'data SectionHeader64<Endianness>)> + '_ {
        self.sections.iter().enumerate().skip(1)
    }

    /// The section's `sh_type`.
    pub(crate) fn sh_type(&self, section: &SectionHeader64<Endianness>) -> SectionType {
        section.sh_type(self.endian)
    }

    /// The section's `sh_flags`.
    pub(crate) fn sh_flags(&self, section: &SectionHeader64<Endianness>) -> elf::SectionFlags {
        section.sh_flags(self.endian)
    }

    /// The section's `sh_size`.
    pub(crate) fn sh_size(&self, section: &SectionHeader64<Endianness>) -> u64 {
        section.sh_size(self.endian)
    }

    /// The section's `sh_addralign`.
    pub(crate) fn sh_addralign(&self, section: &SectionHeader64<Endianness>) -> u64 {
        section.sh_addralign(self.endian)
    }

    /// Whether the kernel linker loads this section (see
    /// [`is_loaded_by_kernel`]).
    pub(crate) fn is_loaded(&self, section: &SectionHeader64<Endianness>) -> bool {
        is_loaded_by_kernel(
            self.sh_type(section),
            self.sh_flags(section),
            self.sh_size(section),
        )
    }

    /// The indices of the sections the kernel linker loads, in the order of
    /// its `progtab`: section-table order.
    pub(crate) fn loaded_sections(&self) -> Vec<usize> {
        self.sections()
            .filter(|(_, s)| self.is_loaded(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// Name of section `index`, lossily decoded; a placeholder if unreadable.
    pub(crate) fn section_name(&self, index: usize) -> String {
        self.sections
            .section(SectionIndex(index))
            .and_then(|s| self.sections.section_name(self.endian, s))
            .map_or_else(
                |_| format!("<section {index}>"),
                |n| String::from_utf8_lossy(n).into_owned(),
            )
    }

    /// Index of the first section called `name`.
    pub(crate) fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections
            .section_by_name(self.endian, name.as_bytes())
            .map(|(i, _)| i.0)
    }

    /// Contents of section `index` (empty for `SHT_NOBITS`).
    pub(crate) fn section_data(&self, index: usize) -> Result<&'data [u8]> {
        let section = self.section(index)?;
        Ok(section.data(self.endian, self.data)?)
    }

    /// Symbol `index`.
    pub(crate) fn symbol(&self, index: usize) -> Result<&'data Sym64<Endianness>> {
        Ok(self.symbols.symbol(SymbolIndex(index))?)
    }

    /// Iterates over `(index, symbol)` for every symbol except the null one.
    pub(crate) fn symbols(&self) -> impl Iterator<Item = (usize, &'data Sym64<Endianness>)> + '_ {
        self.symbols.iter().enumerate().skip(1)
    }

    /// The symbol's raw `st_shndx`.
    pub(crate) fn st_shndx(&self, symbol: &Sym64<Endianness>) -> SymbolSection {
        symbol.st_shndx(self.endian)
    }

    /// The symbol's `st_value`.
    pub(crate) fn st_value(&self, symbol: &Sym64<Endianness>) -> u64 {
        symbol.st_value(self.endian)
    }

    /// The symbol's `st_size`.
    pub(crate) fn st_size(&self, symbol: &Sym64<Endianness>) -> u64 {
        symbol.st_size(self.endian)
    }

    /// The section a symbol is defined in, if it is defined in a section
    /// (handles `SHN_XINDEX`).
    pub(crate) fn symbol_section(&self, index: usize) -> Result<Option<usize>> {
        let symbol = self.symbol(index)?;
        Ok(self
            .symbols
            .symbol_section(self.endian, symbol, SymbolIndex(index))?
            .map(|s| s.0))
    }

    /// Raw name bytes of symbol `index`.
    pub(crate) fn symbol_name_bytes(&self, index: usize) -> Result<&'data [u8]> {
        let symbol = self.symbol(index)?;
        Ok(self.symbols.symbol_name(self.endian, symbol)?)
    }

    /// Name of symbol `index` for messages: its name, the section name for a
    /// section symbol, or a placeholder.
    pub(crate) fn symbol_display_name(&self, index: usize) -> String {
        if index == 0 {
            return "<no symbol>".into();
        }
        match self.symbol_name_bytes(index) {
            Ok(name) if !name.is_empty() => String::from_utf8_lossy(name).into_owned(),
            _ => match self.symbol_section(index) {
                Ok(Some(section)) => self.section_name(section),
                _ => format!("<symbol {index}>"),
            },
        }
    }

    /// Every relocation in the file, in section-table order.
    pub(crate) fn relocations(&self) -> Result<Vec<Reloc>> {
        let mut out = Vec::new();
        for (table, section) in self.sections() {
            let target = usize::try_from(section.sh_info(self.endian))
                .map_err(|_| Error::Format("sh_info out of range".into()))?;
            if let Some((relas, _link)) = section.rela(self.endian, self.data)? {
                for rela in relas {
                    out.push(Reloc {
                        table,
                        target,
                        offset: rela.r_offset(self.endian),
                        r_type: Rela::r_type(rela, self.endian, false),
                        symbol: sym_index(Rela::r_sym(rela, self.endian, false))?,
                        addend: Some(rela.r_addend(self.endian)),
                    });
                }
            } else if let Some((rels, _link)) = section.rel(self.endian, self.data)? {
                for rel in rels {
                    out.push(Reloc {
                        table,
                        target,
                        offset: rel.r_offset(self.endian),
                        r_type: Rel::r_type(rel, self.endian),
                        symbol: sym_index(Rel::r_sym(rel, self.endian))?,
                        addend: None,
                    });
                }
            }
        }
        Ok(out)
    }
}

fn sym_index(raw: u32) -> Result<usize> {
    usize::try_from(raw).map_err(|_| Error::Format(format!("symbol index {raw} out of range")))
}

/// Whether `data` is an `AArch64` ELF shared object (an arm64 `.ko`).
#[must_use]
pub fn is_arm64(data: &[u8]) -> bool {
    elf::FileHeader64::<object::LittleEndian>::parse(data).is_ok_and(|h| {
        h.e_machine(object::LittleEndian) == elf::EM_AARCH64
            && h.e_type(object::LittleEndian) == elf::ET_DYN
    })
}
