// SPDX-License-Identifier: BSD-2-Clause
//! `kolink size`: how much memory a module takes, and how many kernel symbols
//! it binds.
//!
//! `link_elf_load_file` (`sys/kern/link_elf_obj.c`) maps the `SHF_ALLOC`
//! sections into one block. Each allocated section is counted once, by its
//! flags: executable → text; `SHT_NOBITS` → bss; otherwise writable → data;
//! otherwise → rodata. The undefined-symbol count excludes
//! `__start_set_*`/`__stop_set_*`, which the kernel linker resolves inside
//! the file.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use object::elf;
use object::read::elf::{FileHeader as _, SectionHeader as _, Sym as _};

use crate::elf::Object;
use crate::error::{Error, Result};
use crate::symbols;

/// Sizes of a module, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SizeReport {
    /// Executable sections.
    pub text: u64,
    /// Allocated read-only data.
    pub rodata: u64,
    /// Allocated writable data with contents.
    pub data: u64,
    /// Zero-initialised data (`SHT_NOBITS`).
    pub bss: u64,
    /// The kernel symbols the module binds: undefined symbols that loading
    /// looks up outside the module
    /// ([`UndefinedSymbol::is_kernel_symbol`](crate::UndefinedSymbol::is_kernel_symbol)).
    pub kernel_symbols: usize,
}

impl SizeReport {
    /// `text + rodata + data + bss` (saturating).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.text
            .saturating_add(self.rodata)
            .saturating_add(self.data)
            .saturating_add(self.bss)
    }
}

/// Measures a `.ko` file's contents.
///
/// # Errors
///
/// [`Error::Format`] if `data` is not an x86-64 relocatable ELF object or
/// an `AArch64` shared object ([`crate::arm64::size`]).
pub fn size(data: &[u8]) -> Result<SizeReport> {
    if crate::elf::is_arm64(data) {
        return size_arm64(data);
    }
    let obj = Object::parse(data)?;
    let mut report = SizeReport::default();
    for (_, section) in obj.sections() {
        let flags = obj.sh_flags(section);
        if !flags.contains(elf::SHF_ALLOC) {
            continue;
        }
        let size = obj.sh_size(section);
        let slot = if flags.contains(elf::SHF_EXECINSTR) {
            &mut report.text
        } else if obj.sh_type(section) == elf::SHT_NOBITS {
            &mut report.bss
        } else if flags.contains(elf::SHF_WRITE) {
            &mut report.data
        } else {
            &mut report.rodata
        };
        *slot = slot.saturating_add(size);
    }
    report.kernel_symbols = symbols::undefined(&obj)?
        .iter()
        .filter(|s| s.is_kernel_symbol())
        .count();
    Ok(report)
}

/// Reads a file and runs [`size`] on it.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, otherwise as [`size`].
pub fn size_file(path: &Path) -> Result<SizeReport> {
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    size(&data)
}

/// Measures each file and formats the results with [`format_table`], one row
/// per file, named as given.
///
/// # Errors
///
/// The first file that cannot be read or parsed, as [`size_file`].
pub fn size_table<P: AsRef<Path>>(files: &[P]) -> Result<String> {
    let rows = files
        .iter()
        .map(|f| {
            let path = f.as_ref();
            Ok((path.display().to_string(), size_file(path)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(format_table(&rows))
}

/// Formats rows of `(file name, sizes)` as one aligned table with a header
/// line: `text rodata data bss total undef file`, numbers right-aligned.
#[must_use]
pub fn format_table(rows: &[(String, SizeReport)]) -> String {
    const HEADERS: [&str; 6] = ["text", "rodata", "data", "bss", "total", "undef"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|(_, r)| {
            [
                r.text.to_string(),
                r.rodata.to_string(),
                r.data.to_string(),
                r.bss.to_string(),
                r.total().to_string(),
                r.kernel_symbols.to_string(),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for (w, h) in widths.iter().zip(HEADERS) {
        let _ = write!(out, "{h:>w$}  ");
    }
    out.push_str("file\n");
    for (row, (name, _)) in cells.iter().zip(rows) {
        for (w, cell) in widths.iter().zip(row) {
            let _ = write!(out, "{cell:>w$}  ");
        }
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// Sizes of an arm64 `.ko` by section class, as [`crate::size()`] does for
/// amd64 (`kernel_symbols` counts undefined dynamic symbols).
///
/// # Errors
/// [`Error::Format`] if `data` is not a well-formed ELF file.
fn size_arm64(data: &[u8]) -> Result<SizeReport> {
    let header = elf::FileHeader64::<object::LittleEndian>::parse(data)?;
    let sections = header.sections(object::LittleEndian, data)?;
    let mut report = SizeReport::default();
    for section in sections.iter() {
        let flags = section.sh_flags(object::LittleEndian);
        let name = sections.section_name(object::LittleEndian, section)?;
        // The dynamic-linking tables are the shared object's format, not
        // the module's contents.
        let dynamic = name.starts_with(b".dyn")
            || name.starts_with(b".rela")
            || name.starts_with(b".hash")
            || name.starts_with(b".gnu.hash")
            || name == b".got"
            || name == b".got.plt"
            || name == b".plt"
            || name.starts_with(b".note");
        if !flags.contains(elf::SHF_ALLOC) || dynamic {
            continue;
        }
        let size = section.sh_size(object::LittleEndian);
        let slot = if flags.contains(elf::SHF_EXECINSTR) {
            &mut report.text
        } else if section.sh_type(object::LittleEndian) == elf::SHT_NOBITS {
            &mut report.bss
        } else if flags.contains(elf::SHF_WRITE) {
            &mut report.data
        } else {
            &mut report.rodata
        };
        *slot = slot.saturating_add(size);
    }
    let table = sections.symbols(object::LittleEndian, data, elf::SHT_DYNSYM)?;
    report.kernel_symbols = table
        .iter()
        .filter(|s| s.is_undefined(object::LittleEndian))
        .count();
    report.kernel_symbols = report.kernel_symbols.saturating_sub(1); // the null symbol
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned() {
        let rows = vec![
            (
                "a.ko".to_owned(),
                SizeReport {
                    text: 123_456,
                    rodata: 7,
                    data: 0,
                    bss: 16,
                    kernel_symbols: 12,
                },
            ),
            ("b.ko".to_owned(), SizeReport::default()),
        ];
        let table = format_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "  text  rodata  data  bss   total  undef  file");
        assert_eq!(lines[1], "123456       7     0   16  123479     12  a.ko");
        assert_eq!(lines[2], "     0       0     0    0       0      0  b.ko");
    }
}
