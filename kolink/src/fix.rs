// SPDX-License-Identifier: BSD-2-Clause
//! `kolink fix`: turn the output of `ld -r` into an object FreeBSD's kernel
//! linker can load.
//!
//! The rewrite reads the whole file into `object`'s ELF [`Builder`], removes
//! GOT-relative relocations ([`crate::got`]), localizes defined symbols
//! ([`crate::localize`]), and writes a new file. The builder renumbers
//! symbols (locals first, `.symtab`'s `sh_info`), relocations and sections
//! and rebuilds the string tables; section contents, flags, alignment and all
//! other relocations are carried over unchanged, so `set_*` linker sets,
//! `.ctors`, `.note.*` and debug sections survive.
//!
//! Two kinds of section the builder cannot parse are handled here:
//!
//! * `SHT_GROUP` (COMDAT groups) holds a signature symbol index (`sh_info`)
//!   and section indices; they are carried over with both renumbered. The
//!   kernel linker ignores groups (`link_elf_load_file`,
//!   `sys/kern/link_elf_obj.c`).
//! * `SHT_LLVM_ADDRSIG` (`.llvm_addrsig`) lists symbol indices for a later
//!   link's identical code folding. `ld.lld -r` copies it without
//!   renumbering, so its contents are already stale, and no link follows a
//!   `.ko`; it is dropped.
//!
//! LLVM's linker-options, call-graph-profile and basic-block-address-map
//! sections are copied as opaque data (their symbol references, if any, are
//! relocations). Any other section type the builder does not know is an
//! error naming the section.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::Path;

use object::build::Id;
use object::build::elf::{Builder, Section, SectionData, SectionId, Symbol, SymbolId};
use object::elf::{self, SectionType};

use crate::elf::Object;
use crate::error::{Error, Result};
use crate::got::{self, GotReport};
use crate::localize::{self, LocalizeReport};

/// `SHT_LLVM_LINKER_OPTIONS`: `.linker-options`, strings.
const SHT_LLVM_LINKER_OPTIONS: SectionType = SectionType(0x6fff_4c01);
/// `SHT_LLVM_ADDRSIG`: `.llvm_addrsig`, ULEB128 symbol indices.
const SHT_LLVM_ADDRSIG: SectionType = SectionType(0x6fff_4c03);
/// `SHT_LLVM_CALL_GRAPH_PROFILE`: weights; symbols are referenced through
/// `R_X86_64_NONE` relocations.
const SHT_LLVM_CALL_GRAPH_PROFILE: SectionType = SectionType(0x6fff_4c09);
/// `SHT_LLVM_BB_ADDR_MAP`: relocated basic-block address map.
const SHT_LLVM_BB_ADDR_MAP: SectionType = SectionType(0x6fff_4c0a);

/// Options for [`fix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOptions {
    /// Relax GOT references to direct references where the instruction
    /// allows (default). When false, every GOT reference goes through a GOT
    /// slot.
    pub relax: bool,
    /// Defined symbols that stay global (`EXPORT_SYMS`); every other one
    /// becomes local.
    pub exports: Vec<String>,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            relax: true,
            exports: Vec::new(),
        }
    }
}

/// What [`fix`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixReport {
    /// GOT relocation rewriting.
    pub got: GotReport,
    /// Symbol localization.
    pub localize: LocalizeReport,
    /// Names of sections removed (stale `.llvm_addrsig` tables).
    pub dropped_sections: Vec<String>,
    /// Number of `SHT_GROUP` sections carried over with renumbered contents.
    pub groups: usize,
}

impl fmt::Display for FixReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; localized {} symbol(s)",
            self.got, self.localize.localized
        )?;
        if self.localize.exported > 0 {
            write!(f, "; exported {}", self.localize.exported)?;
        }
        if !self.dropped_sections.is_empty() {
            write!(f, "; dropped {}", self.dropped_sections.join(", "))?;
        }
        Ok(())
    }
}

/// The rewritten object and what was done to it.
#[derive(Debug, Clone)]
pub struct Fixed {
    /// The new ELF file.
    pub object: Vec<u8>,
    /// What was changed.
    pub report: FixReport,
}

/// What to do with a section type the builder cannot read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Special {
    Group,
    Drop,
    Opaque,
}

/// Makes a relocatable x86-64 object loadable by FreeBSD's kernel linker:
/// removes GOT relocations and localizes defined symbols.
///
/// # Errors
///
/// [`Error::Format`] if `input` is not a well-formed x86-64 `ET_REL` object
/// or has a section type `kolink` does not know; [`Error::Unsupported`] for
/// GOT relocations of the large code model.
pub fn fix(input: &[u8], options: &FixOptions) -> Result<Fixed> {
    let view = Object::parse(input)?;

    // Let the builder read sections it does not know as SHT_PROGBITS, and
    // remember their real types.
    let mut patched = input.to_vec();
    let mut specials: Vec<(usize, SectionType, Special)> = Vec::new();
    for (index, section) in view.sections() {
        let sh_type = view.sh_type(section);
        let special = match sh_type {
            elf::SHT_GROUP => Special::Group,
            SHT_LLVM_ADDRSIG => Special::Drop,
            SHT_LLVM_LINKER_OPTIONS | SHT_LLVM_CALL_GRAPH_PROFILE | SHT_LLVM_BB_ADDR_MAP => {
                Special::Opaque
            }
            elf::SHT_CREL => {
                return Err(Error::Format(format!(
                    "section {}: compressed relocations (SHT_CREL) are not supported by \
                     kolink or by the kernel linker; do not assemble with --crel",
                    view.section_name(index)
                )));
            }
            t if builder_reads(t) => continue,
            t => {
                return Err(Error::Format(format!(
                    "section {}: unsupported section type {:#x}",
                    view.section_name(index),
                    t.0
                )));
            }
        };
        let at = view
            .section_header_offset(index)?
            .checked_add(4)
            .ok_or_else(|| Error::Format("section header out of range".into()))?;
        let field = patched
            .get_mut(at..at.saturating_add(4))
            .ok_or_else(|| Error::Format("section header out of range".into()))?;
        field.copy_from_slice(&elf::SHT_PROGBITS.0.to_le_bytes());
        specials.push((index, sh_type, special));
    }

    let mut builder = Builder::read(patched.as_slice())?;
    // Builder ids are the original indices minus one.
    let section_ids: Vec<SectionId> = builder.sections.iter().map(Section::id).collect();
    let symbol_ids: Vec<SymbolId> = builder.symbols.iter().map(Symbol::id).collect();
    let section_id = |index: usize| {
        index
            .checked_sub(1)
            .and_then(|i| section_ids.get(i))
            .copied()
    };

    let mut report = FixReport::default();
    let mut groups: Vec<SectionId> = Vec::new();
    for &(index, sh_type, special) in &specials {
        let Some(id) = section_id(index) else {
            continue;
        };
        let section = builder.sections.get_mut(id);
        match special {
            Special::Group => {
                section.sh_type = sh_type;
                groups.push(id);
            }
            Special::Drop => {
                section.delete = true;
                report.dropped_sections.push(section.name.to_string());
            }
            Special::Opaque => section.sh_type = sh_type,
        }
    }
    normalise_info_links(&mut builder, &section_ids);

    report.got = got::rewrite(&mut builder, options.relax)?;
    report.localize = localize::localize(&mut builder, &options.exports);

    builder.delete_orphans();
    renumber_groups(&mut builder, &groups, &section_ids, &symbol_ids)?;
    report.groups = groups.len();

    let mut object = Vec::new();
    builder.write(&mut object)?;
    Ok(Fixed { object, report })
}

/// Reads `input`, runs [`fix`] with the default options and writes the
/// result to `output` (which may be the same path). The output is written to
/// a temporary file next to it and renamed, so a failed run never leaves a
/// partial `.ko`.
///
/// # Errors
///
/// As [`fix`], plus [`Error::Io`] for file access.
pub fn fix_file(input: &Path, output: &Path) -> Result<FixReport> {
    fix_file_with(input, output, &FixOptions::default())
}

/// [`fix_file`] with explicit options.
///
/// # Errors
///
/// As [`fix_file`].
pub fn fix_file_with(input: &Path, output: &Path, options: &FixOptions) -> Result<FixReport> {
    let data = fs::read(input).map_err(|e| Error::io(input, e))?;
    let fixed = fix(&data, options)?;
    let mut tmp_name = output.as_os_str().to_owned();
    tmp_name.push(".kolink-tmp");
    let tmp = Path::new(&tmp_name);
    fs::write(tmp, &fixed.object).map_err(|e| Error::io(tmp, e))?;
    fs::rename(tmp, output).map_err(|e| {
        let _ = fs::remove_file(tmp);
        Error::io(output, e)
    })?;
    Ok(fixed.report)
}

/// Section types `object::build::elf::Builder::read` parses (for `ET_REL`
/// x86-64 objects).
fn builder_reads(t: SectionType) -> bool {
    matches!(
        t,
        elf::SHT_NULL
            | elf::SHT_PROGBITS
            | elf::SHT_NOBITS
            | elf::SHT_INIT_ARRAY
            | elf::SHT_FINI_ARRAY
            | elf::SHT_PREINIT_ARRAY
            | elf::SHT_REL
            | elf::SHT_RELA
            | elf::SHT_SYMTAB
            | elf::SHT_SYMTAB_SHNDX
            | elf::SHT_STRTAB
            | elf::SHT_NOTE
            | elf::SHT_GNU_ATTRIBUTES
            | elf::SHT_LLVM_DEPENDENT_LIBRARIES
            | elf::SHT_X86_64_UNWIND
    )
}

/// Makes every relocation section refer to its target through
/// `sh_info_section`, so that the writer renumbers it. The builder only does
/// so when `SHF_INFO_LINK` is set; otherwise `sh_info` is kept raw, which
/// would go stale when a section is dropped.
fn normalise_info_links(builder: &mut Builder<'_>, section_ids: &[SectionId]) {
    for section in &mut builder.sections {
        if !matches!(section.data, SectionData::Relocation(_)) || section.sh_info_section.is_some()
        {
            continue;
        }
        let target = usize::try_from(section.sh_info)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| section_ids.get(i));
        if let Some(&target) = target {
            section.sh_info_section = Some(target);
        }
    }
}

/// Rewrites the section indices and the signature symbol index of each
/// `SHT_GROUP` section for the numbering the writer will produce: sections
/// in table order without deleted ones, symbols local first.
fn renumber_groups(
    builder: &mut Builder<'_>,
    groups: &[SectionId],
    section_ids: &[SectionId],
    symbol_ids: &[SymbolId],
) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let mut new_section: HashMap<usize, u32> = HashMap::new();
    for (section, index) in builder.sections.iter().zip(1u32..) {
        new_section.insert(section.id().index(), index);
    }
    let mut new_symbol: HashMap<usize, u32> = HashMap::new();
    let locals = builder
        .symbols
        .iter()
        .filter(|s| s.st_bind() == elf::STB_LOCAL);
    let others = builder
        .symbols
        .iter()
        .filter(|s| s.st_bind() != elf::STB_LOCAL);
    for (symbol, index) in locals.chain(others).zip(1u32..) {
        new_symbol.insert(symbol.id().index(), index);
    }

    for &group in groups {
        let section = builder.sections.get_mut(group);
        let name = section.name.to_string();
        let bad = |what: &str| Error::Format(format!("group section {name}: {what}"));
        let signature = usize::try_from(section.sh_info)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| symbol_ids.get(i))
            .and_then(|id| new_symbol.get(&id.index()))
            .copied()
            .ok_or_else(|| bad("invalid or deleted signature symbol"))?;
        let SectionData::Data(data) = &mut section.data else {
            return Err(bad("unexpected contents"));
        };
        let old = data.to_vec();
        if old.len() % 4 != 0 || old.len() < 4 {
            return Err(bad("size is not a nonzero multiple of 4"));
        }
        let mut words = old
            .chunks_exact(4)
            .filter_map(|c| <[u8; 4]>::try_from(c).ok())
            .map(u32::from_le_bytes);
        let mut out = Vec::with_capacity(old.len());
        if let Some(flags) = words.next() {
            out.extend_from_slice(&flags.to_le_bytes());
        }
        for member in words {
            let new = usize::try_from(member)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| section_ids.get(i))
                .and_then(|id| new_section.get(&id.index()));
            // A member that was dropped simply leaves the group.
            if let Some(new) = new {
                out.extend_from_slice(&new.to_le_bytes());
            }
        }
        *data.to_mut() = out;
        section.sh_info = signature;
    }
    Ok(())
}
