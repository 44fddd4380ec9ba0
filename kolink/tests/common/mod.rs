// SPDX-License-Identifier: BSD-2-Clause
//! Shared helpers for kolink's integration tests: building synthetic
//! relocatable objects with `object::write`, and decoding results into plain
//! structs (names instead of indices) so tests compare by name.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a test failure, and not every test uses every helper"
)]

pub(crate) mod json;
pub(crate) mod module;

use std::path::{Path, PathBuf};
use std::process::Command;

use object::elf::{self, RelocationType};
use object::read::elf::{FileHeader, Rela, SectionHeader, Sym};
use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};

/// A new empty x86-64 ELF relocatable object.
pub(crate) fn new_object() -> Object<'static> {
    Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little)
}

/// Adds an undefined symbol.
pub(crate) fn undefined(obj: &mut Object<'_>, name: &str, weak: bool) -> SymbolId {
    obj.add_symbol(Symbol {
        name: name.as_bytes().to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Unknown,
        scope: SymbolScope::Dynamic,
        weak,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    })
}

/// Adds a defined symbol.
#[allow(clippy::too_many_arguments, reason = "mirrors the fields of a symbol")]
pub(crate) fn defined(
    obj: &mut Object<'_>,
    name: &str,
    section: SectionId,
    value: u64,
    size: u64,
    kind: SymbolKind,
    scope: SymbolScope,
    weak: bool,
) -> SymbolId {
    obj.add_symbol(Symbol {
        name: name.as_bytes().to_vec(),
        value,
        size,
        kind,
        scope,
        weak,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    })
}

/// Adds an ELF relocation of type `r_type`.
pub(crate) fn reloc(
    obj: &mut Object<'_>,
    section: SectionId,
    offset: u64,
    symbol: SymbolId,
    r_type: RelocationType,
    addend: i64,
) {
    obj.add_relocation(
        section,
        Relocation {
            offset,
            symbol,
            addend,
            flags: RelocationFlags::Elf { r_type },
        },
    )
    .unwrap();
}

/// Adds a section with contents.
pub(crate) fn section(
    obj: &mut Object<'_>,
    name: &str,
    kind: SectionKind,
    data: &[u8],
) -> SectionId {
    let id = obj.add_section(Vec::new(), name.as_bytes().to_vec(), kind);
    obj.set_section_data(id, data.to_vec(), 16);
    id
}

/// Writes the object.
pub(crate) fn write(obj: &Object<'_>) -> Vec<u8> {
    obj.write().unwrap()
}

/// Overwrites the `sh_type` of the section called `name` (to build section
/// types `object::write` cannot produce).
pub(crate) fn patch_section_type(data: &mut [u8], name: &str, sh_type: u32) {
    let at = section_header_offset(data, name) + 4;
    data[at..at + 4].copy_from_slice(&sh_type.to_le_bytes());
}

/// Overwrites the `sh_addralign` of the section called `name` (to build
/// alignments `object::write` normalises).
pub(crate) fn patch_section_align(data: &mut [u8], name: &str, align: u64) {
    let at = section_header_offset(data, name) + 48;
    data[at..at + 8].copy_from_slice(&align.to_le_bytes());
}

/// Overwrites the `sh_flags` of the section called `name`.
pub(crate) fn patch_section_flags(data: &mut [u8], name: &str, flags: u64) {
    let at = section_header_offset(data, name) + 8;
    data[at..at + 8].copy_from_slice(&flags.to_le_bytes());
}

/// File offset of the header of the section called `name`.
fn section_header_offset(data: &[u8], name: &str) -> usize {
    let header = elf::FileHeader64::<Endianness>::parse(data).unwrap();
    let endian = header.endian().unwrap();
    let sections = header.sections(endian, data).unwrap();
    let (index, _) = sections.section_by_name(endian, name.as_bytes()).unwrap();
    usize::try_from(header.e_shoff(endian)).unwrap()
        + index.0 * usize::from(header.e_shentsize(endian))
}

/// A section, decoded.
#[derive(Debug, Clone)]
pub(crate) struct SectionInfo {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) sh_type: u32,
    pub(crate) flags: u64,
    pub(crate) align: u64,
    pub(crate) size: u64,
    pub(crate) link: u32,
    pub(crate) info: u32,
    pub(crate) data: Vec<u8>,
}

/// A symbol, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SymInfo {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) bind: u8,
    pub(crate) st_type: u8,
    pub(crate) visibility: u8,
    /// Name of the defining section, `UND`, `ABS` or `COM`.
    pub(crate) section: String,
    pub(crate) value: u64,
    pub(crate) size: u64,
}

/// A relocation, decoded with names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RelocInfo {
    /// Name of the section relocated.
    pub(crate) target: String,
    pub(crate) offset: u64,
    pub(crate) r_type: u32,
    /// Name of the symbol (section name for section symbols).
    pub(crate) symbol: String,
    pub(crate) addend: i64,
}

/// A whole object, decoded and validated.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) sections: Vec<SectionInfo>,
    pub(crate) symbols: Vec<SymInfo>,
    pub(crate) relocs: Vec<RelocInfo>,
    /// `sh_info` of `.symtab`: index of the first non-local symbol.
    pub(crate) first_global: usize,
}

/// Parses `data` with `object`'s ELF reader and checks structural
/// invariants: one symbol table, locals before globals with a matching
/// `sh_info`, every relocation's symbol index in range.
pub(crate) fn parse(data: &[u8]) -> Parsed {
    let header = elf::FileHeader64::<Endianness>::parse(data).unwrap();
    let endian = header.endian().unwrap();
    assert_eq!(header.e_type(endian), elf::ET_REL);
    assert_eq!(header.e_machine(endian), elf::EM_X86_64);
    let sections = header.sections(endian, data).unwrap();
    let symtab = sections.symbols(endian, data, elf::SHT_SYMTAB).unwrap();
    let symtab_header = sections.section(symtab.section()).unwrap();

    let mut out_sections = Vec::new();
    for (index, s) in sections.enumerate() {
        out_sections.push(SectionInfo {
            index: index.0,
            name: String::from_utf8(sections.section_name(endian, s).unwrap().to_vec()).unwrap(),
            sh_type: s.sh_type(endian).0,
            flags: s.sh_flags(endian).0,
            align: s.sh_addralign(endian),
            size: s.sh_size(endian),
            link: s.sh_link(endian),
            info: s.sh_info(endian),
            data: s.data(endian, data).unwrap().to_vec(),
        });
    }

    let mut symbols = Vec::new();
    for (index, sym) in symtab.enumerate() {
        let shndx = sym.st_shndx(endian);
        let section = if shndx == elf::SHN_UNDEF {
            "UND".to_owned()
        } else if shndx == elf::SHN_ABS {
            "ABS".to_owned()
        } else if shndx == elf::SHN_COMMON {
            "COM".to_owned()
        } else {
            let si = symtab.symbol_section(endian, sym, index).unwrap().unwrap();
            out_sections[si.0].name.clone()
        };
        let raw_name = symtab.symbol_name(endian, sym).unwrap();
        let name = if raw_name.is_empty() && sym.st_type() == elf::STT_SECTION {
            section.clone()
        } else {
            String::from_utf8(raw_name.to_vec()).unwrap()
        };
        symbols.push(SymInfo {
            index: index.0,
            name,
            bind: sym.st_bind().0,
            st_type: sym.st_type().0,
            visibility: sym.st_visibility().0,
            section,
            value: sym.st_value(endian),
            size: sym.st_size(endian),
        });
    }
    let first_global = usize::try_from(symtab_header.sh_info(endian)).unwrap();
    for s in &symbols[1..] {
        assert_eq!(
            s.bind == elf::STB_LOCAL.0,
            s.index < first_global,
            "symbol order: {s:?} vs .symtab sh_info {first_global}"
        );
    }

    let mut relocs = Vec::new();
    for (_, s) in sections.enumerate() {
        let Some((relas, link)) = s.rela(endian, data).unwrap() else {
            continue;
        };
        assert_eq!(
            link,
            symtab.section(),
            "relocation section links to .symtab"
        );
        let target = usize::try_from(s.sh_info(endian)).unwrap();
        for r in relas {
            let sym = usize::try_from(r.r_sym(endian, false)).unwrap();
            assert!(
                sym < symbols.len(),
                "relocation symbol index {sym} out of range"
            );
            relocs.push(RelocInfo {
                target: out_sections[target].name.clone(),
                offset: r.r_offset(endian),
                r_type: r.r_type(endian, false).0,
                symbol: symbols[sym].name.clone(),
                addend: r.r_addend(endian),
            });
        }
    }
    Parsed {
        sections: out_sections,
        symbols,
        relocs,
        first_global,
    }
}

impl Parsed {
    pub(crate) fn section(&self, name: &str) -> &SectionInfo {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no section {name}"))
    }

    pub(crate) fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }

    pub(crate) fn symbol(&self, name: &str) -> &SymInfo {
        self.symbols
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }

    /// The relocation at `offset` of section `target`.
    pub(crate) fn reloc_at(&self, target: &str, offset: u64) -> &RelocInfo {
        self.relocs
            .iter()
            .find(|r| r.target == target && r.offset == offset)
            .unwrap_or_else(|| panic!("no relocation at {target}+{offset:#x}: {:#?}", self.relocs))
    }

    pub(crate) fn relocs_in(&self, target: &str) -> Vec<&RelocInfo> {
        self.relocs.iter().filter(|r| r.target == target).collect()
    }

    /// Asserts every relocation applying to an allocated section is of a
    /// type the kernel linker accepts.
    pub(crate) fn assert_only_accepted_relocations(&self) {
        for r in &self.relocs {
            let target = self.section(&r.target);
            if target.flags & elf::SHF_ALLOC.0 != 0 {
                assert!(
                    kolink::reloc::is_accepted(RelocationType(r.r_type)),
                    "unaccepted relocation {r:?}"
                );
            }
        }
    }
}

/// Finds an external tool: `name` if it runs with `--version`.
pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let ok = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from(name))
}

/// A fresh scratch directory under the target directory.
pub(crate) fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kolink-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `(name, bind)` for every named symbol in `readelf -sW` output, or `None`
/// if readelf is not installed.
pub(crate) fn readelf_binds(path: &Path) -> Option<Vec<(String, String)>> {
    let readelf = tool("readelf").or_else(|| tool("llvm-readelf"))?;
    let out = Command::new(readelf).arg("-sW").arg(path).output().ok()?;
    assert!(out.status.success(), "readelf failed on {}", path.display());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut binds = Vec::new();
    for line in text.lines() {
        // "   Num:    Value          Size Type    Bind   Vis      Ndx Name"
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() == 8 && fields[0].ends_with(':') && fields[0] != "Num:" {
            binds.push((fields[7].to_owned(), fields[4].to_owned()));
        }
    }
    Some(binds)
}

/// `write::Object` with the default `SymbolKind::Data` for convenience.
pub(crate) const DATA: SymbolKind = SymbolKind::Data;
/// `SymbolKind::Text`.
pub(crate) const TEXT: SymbolKind = SymbolKind::Text;
