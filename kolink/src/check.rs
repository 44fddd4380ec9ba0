// SPDX-License-Identifier: BSD-2-Clause
//! `kolink check`: artifact checks on a finished `.ko`.
//!
//! Each check corresponds to a way the FreeBSD 15 kernel linker or kernel
//! would reject or mis-run the module (`sys/kern/link_elf_obj.c`,
//! `sys/kern/kern_linker.c`, `sys/amd64/amd64/elf_machdep.c`):
//!
//! * Relocation types: `elf_reloc_internal` (`sys/amd64/amd64/elf_machdep.c`)
//!   fails on any type outside [`reloc::ACCEPTED`], and the load fails:
//!   with `ENOENT` for a relocation against a global symbol
//!   (`relocate_file`), with `ENOEXEC` for one against a local symbol
//!   (`link_elf_reloc_local`, `sys/kern/link_elf_obj.c`, FreeBSD 14 and
//!   later). Only tables whose target section is `SHF_ALLOC` are applied,
//!   so only those are checked.
//! * Relocated sections the kernel does not load: `link_elf_load_file` loads
//!   only the non-empty `SHT_PROGBITS`, `SHT_NOBITS`, `SHT_X86_64_UNWIND`,
//!   `SHT_INIT_ARRAY` and `SHT_FINI_ARRAY` sections but applies every
//!   table whose target is `SHF_ALLOC`; a table for, say, an
//!   `SHT_PREINIT_ARRAY` or an empty section fails the load with "lost
//!   base for reltab". Tables for other targets (debug info) are ignored.
//! * Alignment: a loaded section with `sh_addralign` 0 breaks the layout
//!   arithmetic of `link_elf_load_file` and fails the load (`ENOSPC`).
//! * Linker sets: `set_sysinit_set` and `set_sysuninit_set` must be writable,
//!   because `linker_file_sysinit`/`linker_file_sysuninit` sort them in
//!   place after `link_elf_protect` has applied the section's rights; and a
//!   set name may be used by one loaded section only, because
//!   `link_elf_lookup_set` and `link_elf_fix_link_set` take the first.
//! * Constructors and destructors: FreeBSD 15 runs the first `.ctors` or
//!   `SHT_INIT_ARRAY` section at the end of `link_elf_load_file` and the
//!   first `.dtors` or `SHT_FINI_ARRAY` section in `link_elf_unload_file`;
//!   a second one is ignored ("multiple ctor sections"), so it is rejected.
//! * Undefined symbols: only those that an applied relocation uses are
//!   looked up ([`crate::symbols`]). Such a symbol must be on the allowlist
//!   (see [`crate::allowlist`]), unless it is a `__start_X`/`__stop_X` that
//!   `link_elf_fix_link_set` binds to the module's own loaded section `X`
//!   (which must not be the first loaded section, whose binding the kernel
//!   loses). Undefined symbols nothing uses, like the `__start_set_pcpu`
//!   that `sys/pcpu.h` declares in every C file, are ignored, as FreeBSD
//!   ignores them.
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
use crate::elf::Object;
use crate::error::{Error, Result};
use crate::failure::Failure;
use crate::fpu;
use crate::linker_set::{SYSINIT_SECTION, SYSUNINIT_SECTION, bound_section};
use crate::metadata::{self, ModuleMetadata};
use crate::peers::{Definer, Peers};
use crate::reloc;
use crate::symbols::{self, UndefinedSymbol};

/// Result of [`check`]: every failure, plus what was learnt on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// All problems found; empty if the file passed.
    pub failures: Vec<Failure>,
    /// The module metadata, if it could be decoded.
    pub metadata: Option<ModuleMetadata>,
    /// The file's undefined symbols (including linker-set bounds and
    /// symbols no relocation uses).
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
    check_among(data, allowlist, &Peers::default(), "")
}

/// [`check`], with the other modules `peers` in view: an undefined symbol
/// that a module this one depends on exports is resolved as the kernel
/// linker resolves it, and one that another module defines gets a
/// failure that says how to export it. `own_file` is this file's name
/// among the peers.
///
/// # Errors
///
/// As [`check`].
pub fn check_among(
    data: &[u8],
    allowlist: &Allowlist,
    peers: &Peers,
    own_file: &str,
) -> Result<CheckReport> {
    let obj = Object::parse(data)?;
    let mut report = CheckReport::default();
    check_sections(&obj, &mut report.failures);
    check_relocations(&obj, &mut report.failures)?;
    report.undefined = symbols::undefined(&obj)?;
    let metadata = metadata::parse(&obj);
    let depends: Vec<String> = metadata
        .as_ref()
        .map(|md| md.depends.iter().map(|d| d.name.clone()).collect())
        .unwrap_or_default();
    let others = Others {
        peers,
        depends: &depends,
        own_file,
    };
    check_undefined(&report.undefined, allowlist, &others, &mut report.failures);
    report
        .failures
        .extend(fpu::scan(&obj)?.into_iter().map(Failure::Code));
    check_tls_and_common(&obj, &mut report.failures);
    match metadata {
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

/// The other modules, as the file being checked sees them.
struct Others<'a> {
    peers: &'a Peers,
    /// The modules the file depends on.
    depends: &'a [String],
    own_file: &'a str,
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

/// What `link_elf_load_file` does with each section it loads: layout
/// (alignment), constructor and destructor sections, and the linker sets
/// the kernel looks up by name.
fn check_sections(obj: &Object<'_>, failures: &mut Vec<Failure>) {
    let mut ctors: Vec<usize> = Vec::new();
    let mut dtors: Vec<usize> = Vec::new();
    let mut sets: Vec<(String, usize)> = Vec::new();
    for index in obj.loaded_sections() {
        let Ok(section) = obj.section(index) else {
            continue;
        };
        let name = obj.section_name(index);
        if obj.sh_addralign(section) == 0 {
            failures.push(Failure::ZeroAlignment {
                section: name.clone(),
            });
        }
        if (name == SYSINIT_SECTION || name == SYSUNINIT_SECTION)
            && !obj.sh_flags(section).contains(elf::SHF_WRITE)
        {
            failures.push(Failure::ReadOnlySysinitSet {
                section: name.clone(),
            });
        }
        // The order of link_elf_load_file's tests: a FINI_ARRAY called
        // .ctors is a constructor section.
        let sh_type = obj.sh_type(section);
        if name == ".ctors" || sh_type == elf::SHT_INIT_ARRAY {
            ctors.push(index);
        } else if name == ".dtors" || sh_type == elf::SHT_FINI_ARRAY {
            dtors.push(index);
        }
        if name.starts_with("set_") {
            match sets.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => sets.push((name, 1)),
            }
        }
    }
    for (list, dtor) in [(&ctors, false), (&dtors, true)] {
        if let Some((first, rest)) = list.split_first() {
            for &extra in rest {
                failures.push(Failure::IgnoredCtorSection {
                    section: obj.section_name(extra),
                    used: obj.section_name(*first),
                    dtor,
                });
            }
        }
    }
    for (section, count) in sets {
        if count > 1 {
            failures.push(Failure::DuplicateLinkerSet { section, count });
        }
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
        if !obj.is_loaded(target) {
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

/// The undefined symbols that loading resolves, judged as
/// `link_elf_fix_link_set` and `relocate_file` would.
fn check_undefined(
    undefined: &[UndefinedSymbol],
    allowlist: &Allowlist,
    others: &Others<'_>,
    failures: &mut Vec<Failure>,
) {
    for symbol in undefined.iter().filter(|s| s.referenced) {
        match &symbol.link_set {
            Some(bound) if bound.first_loaded => failures.push(Failure::LinkSetBoundLost {
                symbol: symbol.name.clone(),
                section: bound.section.clone(),
            }),
            Some(_) => {}
            None if allowlist.contains(&symbol.name) => {}
            None => match bound_section(&symbol.name) {
                Some(section) => failures.push(Failure::MissingLinkerSet {
                    symbol: symbol.name.clone(),
                    section: section.to_owned(),
                }),
                None => failures.extend(not_a_kernel_symbol(&symbol.name, others)),
            },
        }
    }
}

/// A referenced symbol the kernel does not have: resolved if a dependency
/// exports it, else a failure that says where it is defined, if anywhere.
fn not_a_kernel_symbol(symbol: &str, others: &Others<'_>) -> Option<Failure> {
    let symbol = symbol.to_owned();
    match others.peers.find(&symbol, others.depends, others.own_file) {
        Definer::ExportedByDependency => None,
        Definer::LocalInDependency(peer) => Some(Failure::SymbolNotExported {
            symbol,
            file: peer.file.clone(),
        }),
        Definer::NotADependency(peer) => Some(Failure::SymbolOfNonDependency {
            symbol,
            file: peer.file.clone(),
            modules: peer.modules.clone(),
        }),
        Definer::Nowhere => Some(Failure::SymbolNotAllowed { symbol }),
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
