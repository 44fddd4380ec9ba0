// SPDX-License-Identifier: BSD-2-Clause
//! `kolink check`: artifact checks on a finished `.ko`.
//!
//! Each check corresponds to a way the FreeBSD kernel linker or kernel would
//! reject or mis-run the module:
//!
//! * Relocation types: `elf_reloc_internal` (`sys/amd64/amd64/elf_machdep.c`)
//!   fails on any type outside [`reloc::ACCEPTED`], and the load fails:
//!   with `ENOENT` for a relocation against a global symbol
//!   (`relocate_file`), with `ENOEXEC` for one against a local symbol
//!   (`link_elf_reloc_local`, `sys/kern/link_elf_obj.c`, FreeBSD 14 and
//!   later). Only tables whose target section is `SHF_ALLOC` are applied,
//!   so only those are checked.
//! * Relocated sections the kernel does not load: `link_elf_load_file` loads
//!   only `SHT_PROGBITS`, `SHT_NOBITS` and `SHT_X86_64_UNWIND` sections but
//!   applies every table whose target is `SHF_ALLOC`; a table for, say, an
//!   `SHT_INIT_ARRAY` section fails the load with "lost base for relatab".
//! * Undefined symbols must be on the allowlist (see [`crate::allowlist`]);
//!   `__start_set_X`/`__stop_set_X` are resolved in the file by
//!   `link_elf_fix_link_set` and need the section `set_X` instead.
//! * No FPU/SIMD instructions (see [`crate::fpu`]).
//! * No thread-local storage: the kernel linker has no TLS support (no
//!   `SHF_TLS` section, no `STT_TLS` symbol).
//! * No common symbols: `elf_obj_lookup` treats any `st_shndx` other than
//!   `SHN_UNDEF` as a definition and would use a common symbol's alignment as
//!   its address.
//! * Module metadata (see [`crate::metadata`]) declares at least one module
//!   and depends on `kernel`.
//!
//! Every problem is collected; none stops the others from being checked.

use std::fs;
use std::path::Path;

use object::elf;

use crate::allowlist::Allowlist;
use crate::elf::{Object, is_loaded_by_kernel};
use crate::error::{Error, Result};
use crate::failure::Failure;
use crate::fpu;
use crate::linker_set::{START_SET_PREFIX, STOP_SET_PREFIX};
use crate::metadata::{self, ModuleMetadata};
use crate::reloc;
use crate::symbols::{self, UndefinedSymbol};

/// Result of [`check`]: every failure, plus what was learnt on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// All problems found; empty if the file passed.
    pub failures: Vec<Failure>,
    /// The module metadata, if it could be decoded.
    pub metadata: Option<ModuleMetadata>,
    /// The file's undefined symbols (including linker-set bounds).
    pub undefined: Vec<UndefinedSymbol>,
}

impl CheckReport {
    /// Whether the file passed every check.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every check on a `.ko` file's contents.
///
/// # Errors
///
/// [`Error::Format`] only if `data` cannot be parsed as an x86-64
/// relocatable ELF object at all; problems in a parseable file are returned
/// as [`CheckReport::failures`].
pub fn check(data: &[u8], allowlist: &Allowlist) -> Result<CheckReport> {
    let obj = Object::parse(data)?;
    let mut report = CheckReport::default();
    check_relocations(&obj, &mut report.failures)?;
    report.undefined = symbols::undefined(&obj)?;
    check_undefined(&obj, &report.undefined, allowlist, &mut report.failures);
    report
        .failures
        .extend(fpu::scan(&obj)?.into_iter().map(Failure::Code));
    check_tls_and_common(&obj, &mut report.failures);
    match metadata::parse(&obj) {
        Ok(md) => {
            if md.modules.is_empty() {
                report.failures.push(Failure::NoModule);
            }
            match md.kernel_dependency() {
                None => report.failures.push(Failure::NoKernelDependency),
                Some(k) if !(k.minimum <= k.preferred && k.preferred <= k.maximum) => {
                    report.failures.push(Failure::Metadata(format!(
                        "kernel dependency versions are not ordered minimum <= preferred <= \
                         maximum: {} / {} / {}",
                        k.minimum, k.preferred, k.maximum
                    )));
                }
                Some(_) => {}
            }
            report.metadata = Some(md);
        }
        Err(Error::Metadata(msg)) => report.failures.push(Failure::Metadata(msg)),
        Err(other) => return Err(other),
    }
    Ok(report)
}

/// Reads a file and runs [`check`] on it.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, otherwise as [`check`].
pub fn check_report_file(path: &Path, allowlist: &Allowlist) -> Result<CheckReport> {
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    check(&data, allowlist)
}

/// Checks the `.ko` at `path` against the allowlist file at `allowlist`,
/// as a pass/fail gate for build drivers.
///
/// # Errors
///
/// [`Error::Check`] listing every failure if the file fails any check;
/// [`Error::Io`]/[`Error::Allowlist`] for an unreadable or malformed
/// allowlist; otherwise as [`check_report_file`].
pub fn check_file(path: &Path, allowlist: &Path) -> Result<()> {
    let allowlist = Allowlist::from_file(allowlist)?;
    let report = check_report_file(path, &allowlist)?;
    if report.is_ok() {
        Ok(())
    } else {
        Err(Error::Check {
            failures: report.failures,
        })
    }
}

fn check_relocations(obj: &Object<'_>, failures: &mut Vec<Failure>) -> Result<()> {
    let relocs = obj.relocations()?;
    // Count per relocation table of relocations for unloaded sections.
    let mut unloaded: Vec<(usize, usize)> = Vec::new();
    for r in &relocs {
        let target = obj.section(r.target).map_err(|_| {
            Error::Format(format!(
                "relocation section {} targets section {}, which does not exist",
                obj.section_name(r.table),
                r.target
            ))
        })?;
        let flags = obj.sh_flags(target);
        if !flags.contains(elf::SHF_ALLOC) {
            continue;
        }
        if !is_loaded_by_kernel(obj.sh_type(target), flags) {
            match unloaded.iter_mut().find(|(t, _)| *t == r.target) {
                Some((_, n)) => *n += 1,
                None => unloaded.push((r.target, 1)),
            }
        }
        if !reloc::is_accepted(r.r_type) {
            failures.push(Failure::BadRelocation {
                section: obj.section_name(r.target),
                offset: r.offset,
                r_type: r.r_type,
                symbol: obj.symbol_display_name(r.symbol),
            });
        }
    }
    for (target, count) in unloaded {
        failures.push(Failure::RelocatedSectionNotLoaded {
            section: obj.section_name(target),
            sh_type: obj.sh_type(obj.section(target)?).0,
            count,
        });
    }
    Ok(())
}

fn check_undefined(
    obj: &Object<'_>,
    undefined: &[UndefinedSymbol],
    allowlist: &Allowlist,
    failures: &mut Vec<Failure>,
) {
    for symbol in undefined {
        let set = symbol
            .name
            .strip_prefix(START_SET_PREFIX)
            .or_else(|| symbol.name.strip_prefix(STOP_SET_PREFIX));
        if let Some(set) = set {
            let section = format!("set_{set}");
            let present = obj.section_by_name(&section).is_some_and(|i| {
                obj.section(i)
                    .is_ok_and(|s| is_loaded_by_kernel(obj.sh_type(s), obj.sh_flags(s)))
            });
            if !present {
                failures.push(Failure::MissingLinkerSet {
                    symbol: symbol.name.clone(),
                    section,
                });
            }
        } else if !allowlist.contains(&symbol.name) {
            failures.push(Failure::SymbolNotAllowed {
                symbol: symbol.name.clone(),
            });
        }
    }
}

fn check_tls_and_common(obj: &Object<'_>, failures: &mut Vec<Failure>) {
    for (index, section) in obj.sections() {
        if obj.sh_flags(section).contains(elf::SHF_TLS) {
            failures.push(Failure::TlsSection {
                section: obj.section_name(index),
            });
        }
    }
    for (index, symbol) in obj.symbols() {
        if symbol.st_type() == elf::STT_TLS {
            failures.push(Failure::TlsSymbol {
                symbol: obj.symbol_display_name(index),
            });
        }
        if obj.st_shndx(symbol) == elf::SHN_COMMON || symbol.st_type() == elf::STT_COMMON {
            failures.push(Failure::CommonSymbol {
                symbol: obj.symbol_display_name(index),
            });
        }
    }
}
