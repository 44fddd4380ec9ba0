// SPDX-License-Identifier: BSD-2-Clause
//! What [`check`](crate::check::check) finds wrong in a well-formed
//! object: one [`Failure`] per problem, all of them collected, and the
//! [`Finding`]s of the FPU/SIMD scan ([`crate::fpu`]) that become
//! [`Failure::Code`].
//!
//! The module is a leaf (it names only relocation types, linker-set
//! names and the hints of [`crate::hint`]), so that
//! [`Error::Check`](crate::Error::Check) can carry the failures without the
//! error type depending on the checks that find them.

use std::fmt;

use object::elf::RelocationType;

use crate::linker_set::MODMETADATA_SECTION;
use crate::reloc;

/// Something the FPU/SIMD scan found in an executable section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An instruction that uses FPU/SIMD state.
    Instruction {
        /// Section name.
        section: String,
        /// Offset of the instruction in the section.
        offset: u64,
        /// Enclosing symbol and offset into it, e.g. `foo+0x12`, if known.
        location: Option<String>,
        /// The instruction in AT&T syntax.
        text: String,
        /// Why it is reported, e.g. `uses %xmm0`.
        reason: String,
    },
    /// Bytes that do not decode as an x86-64 instruction.
    Undecodable {
        /// Section name.
        section: String,
        /// Offset of the first bad byte.
        offset: u64,
        /// Number of consecutive bytes that failed to decode.
        len: usize,
        /// Enclosing symbol and offset into it, if known.
        location: Option<String>,
    },
}

/// One problem found by [`check`](crate::check::check).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// A relocation in an allocated section has a type the kernel linker
    /// rejects.
    BadRelocation {
        /// The section relocated.
        section: String,
        /// Offset in that section.
        offset: u64,
        /// The relocation type.
        r_type: RelocationType,
        /// The symbol referenced.
        symbol: String,
    },
    /// An allocated section that the kernel linker does not load has
    /// relocations.
    RelocatedSectionNotLoaded {
        /// The section.
        section: String,
        /// Its `sh_type`.
        sh_type: u32,
        /// Number of relocations for it.
        count: usize,
    },
    /// A section the kernel loads has `sh_addralign` 0.
    ZeroAlignment {
        /// The section.
        section: String,
    },
    /// `set_sysinit_set` or `set_sysuninit_set` is not writable
    /// (`SHF_WRITE`), but the kernel sorts it in place.
    ReadOnlySysinitSet {
        /// The section.
        section: String,
    },
    /// Two loaded sections have the same linker-set name; the kernel finds
    /// and binds only the first.
    DuplicateLinkerSet {
        /// The section name.
        section: String,
        /// How many loaded sections have it.
        count: usize,
    },
    /// A second constructor (`.ctors`/`SHT_INIT_ARRAY`) or destructor
    /// (`.dtors`/`SHT_FINI_ARRAY`) section, which the kernel ignores.
    IgnoredCtorSection {
        /// The ignored section.
        section: String,
        /// The section the kernel uses.
        used: String,
        /// `true` for destructors, `false` for constructors.
        dtor: bool,
    },
    /// A referenced `__start_X`/`__stop_X` names the first section the
    /// kernel loads, whose binding the kernel loses.
    LinkSetBoundLost {
        /// The symbol.
        symbol: String,
        /// The section it names.
        section: String,
    },
    /// An undefined symbol is not on the allowlist.
    SymbolNotAllowed {
        /// The symbol.
        symbol: String,
    },
    /// An undefined symbol is defined by a module this one depends on,
    /// but not exported.
    SymbolNotExported {
        /// The symbol.
        symbol: String,
        /// The file that defines it.
        file: String,
    },
    /// An undefined symbol is defined by a module this one does not depend
    /// on.
    SymbolOfNonDependency {
        /// The symbol.
        symbol: String,
        /// The file that defines it.
        file: String,
        /// The modules that file declares.
        modules: Vec<String>,
    },
    /// A referenced `__start_X`/`__stop_X` symbol names a section the file
    /// does not load.
    MissingLinkerSet {
        /// The symbol.
        symbol: String,
        /// The section it needs.
        section: String,
    },
    /// An instruction uses FPU/SIMD state, or code failed to decode.
    Code(Finding),
    /// A section is thread-local (`SHF_TLS`).
    TlsSection {
        /// The section.
        section: String,
    },
    /// A symbol is thread-local (`STT_TLS`).
    TlsSymbol {
        /// The symbol.
        symbol: String,
    },
    /// A symbol is common (`SHN_COMMON`).
    CommonSymbol {
        /// The symbol.
        symbol: String,
    },
    /// The module metadata could not be decoded.
    Metadata(String),
    /// No `MDT_MODULE` record (`DECLARE_MODULE`).
    NoModule,
    /// No `MDT_DEPEND` record on `kernel`.
    NoKernelDependency,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRelocation {
                section,
                offset,
                r_type,
                symbol,
            } => write!(
                f,
                "{section}+{offset:#x}: relocation {} against `{symbol}` is not accepted by \
                 the kernel linker (sys/amd64/amd64/elf_machdep.c); {}",
                reloc::describe(*r_type),
                if reloc::got_class(*r_type).is_some() {
                    "run `kolink fix` first"
                } else {
                    "build with -mcmodel=kernel / -C code-model=kernel"
                }
            ),
            Self::RelocatedSectionNotLoaded {
                section,
                sh_type,
                count,
            } => loader::relocated_section_not_loaded(f, section, *sh_type, *count),
            Self::ZeroAlignment { section } => loader::zero_alignment(f, section),
            Self::ReadOnlySysinitSet { section } => loader::read_only_sysinit_set(f, section),
            Self::DuplicateLinkerSet { section, count } => {
                loader::duplicate_linker_set(f, section, *count)
            }
            Self::IgnoredCtorSection {
                section,
                used,
                dtor,
            } => loader::ignored_ctor_section(f, section, used, *dtor),
            Self::LinkSetBoundLost { symbol, section } => {
                loader::link_set_bound_lost(f, symbol, section)
            }
            Self::SymbolNotAllowed { symbol } => symbol_not_allowed(f, symbol),
            Self::SymbolNotExported { symbol, file } => symbol_not_exported(f, symbol, file),
            Self::SymbolOfNonDependency {
                symbol,
                file,
                modules,
            } => symbol_of_non_dependency(f, symbol, file, modules),
            Self::MissingLinkerSet { symbol, section } => {
                loader::missing_linker_set(f, symbol, section)
            }
            Self::Code(Finding::Instruction {
                section,
                offset,
                location,
                text,
                reason,
            }) => {
                write!(f, "{section}+{offset:#x}")?;
                if let Some(loc) = location {
                    write!(f, " ({loc})")?;
                }
                write!(
                    f,
                    ": `{text}` {reason}; kernel code must not use FPU/SIMD registers \
                     outside fpu_kern_enter(9)"
                )
            }
            Self::Code(Finding::Undecodable {
                section,
                offset,
                len,
                location,
            }) => {
                write!(f, "{section}+{offset:#x}")?;
                if let Some(loc) = location {
                    write!(f, " ({loc})")?;
                }
                write!(f, ": {len} byte(s) do not decode as x86-64 instructions")
            }
            Self::TlsSection { section } => write!(
                f,
                "{section}: thread-local section (SHF_TLS); kernel modules cannot have TLS"
            ),
            Self::TlsSymbol { symbol } => write!(
                f,
                "symbol `{symbol}` is thread-local (STT_TLS); kernel modules cannot have TLS"
            ),
            Self::CommonSymbol { symbol } => write!(
                f,
                "symbol `{symbol}` is a common symbol (SHN_COMMON), which the kernel linker \
                 mishandles; compile with -fno-common"
            ),
            Self::Metadata(msg) => write!(f, "module metadata: {msg}"),
            Self::NoModule => write!(
                f,
                "module metadata: no MDT_MODULE record in {MODMETADATA_SECTION}; the file \
                 declares no module (DECLARE_MODULE)"
            ),
            Self::NoKernelDependency => write!(
                f,
                "module metadata: no MDT_DEPEND record on \"kernel\" in \
                 {MODMETADATA_SECTION}; DECLARE_MODULE adds MODULE_DEPEND(name, kernel, \
                 __FreeBSD_version, ...)"
            ),
        }
    }
}

/// The messages for what `link_elf_load_file` and its callers do with the
/// module's sections, each naming the FreeBSD function that fails.
mod loader {
    use std::fmt;

    pub(super) fn relocated_section_not_loaded(
        f: &mut fmt::Formatter<'_>,
        section: &str,
        sh_type: u32,
        count: usize,
    ) -> fmt::Result {
        write!(
            f,
            "{section}: allocated section of type {sh_type:#x} has {count} relocation(s), \
             but the kernel linker loads only non-empty PROGBITS, NOBITS, X86_64_UNWIND, \
             INIT_ARRAY and FINI_ARRAY sections, so kldload fails with ENOEXEC \
             (\"lost base for reltab\", link_elf_reloc_local in sys/kern/link_elf_obj.c)"
        )
    }

    pub(super) fn zero_alignment(f: &mut fmt::Formatter<'_>, section: &str) -> fmt::Result {
        write!(
            f,
            "{section}: sh_addralign is 0; link_elf_load_file (sys/kern/link_elf_obj.c) \
             takes sh_addralign - 1 = -1 as the alignment mask, which throws away the \
             mapping size counted so far and puts the section at address 0: kldload \
             fails with ENOSPC, after the sections before it were copied past the end of \
             the too small mapping; give the section an alignment of at least 1"
        )
    }

    pub(super) fn read_only_sysinit_set(f: &mut fmt::Formatter<'_>, section: &str) -> fmt::Result {
        write!(
            f,
            "{section}: not writable (no SHF_WRITE), but the kernel sorts it in place \
             before running it (linker_file_sysinit/linker_file_sysuninit, \
             sys/kern/kern_linker.c) after link_elf_protect has mapped it read-only: \
             the first swap is a fatal page fault"
        )
    }

    pub(super) fn duplicate_linker_set(
        f: &mut fmt::Formatter<'_>,
        section: &str,
        count: usize,
    ) -> fmt::Result {
        write!(
            f,
            "{count} loaded sections are called `{section}`; link_elf_lookup_set and \
             link_elf_fix_link_set (sys/kern/link_elf_obj.c) use the first and ignore the \
             others; merge them into one section"
        )
    }

    pub(super) fn ignored_ctor_section(
        f: &mut fmt::Formatter<'_>,
        section: &str,
        used: &str,
        dtor: bool,
    ) -> fmt::Result {
        let (kind, run) = if dtor {
            ("dtor", "unload")
        } else {
            ("ctor", "load")
        };
        write!(
            f,
            "{section}: a second {kind} section; link_elf_load_file \
             (sys/kern/link_elf_obj.c) prints \"multiple {kind} sections\" and runs \
             only `{used}` at {run}, so the functions listed here never run; merge them \
             into one section"
        )
    }

    pub(super) fn missing_linker_set(
        f: &mut fmt::Formatter<'_>,
        symbol: &str,
        section: &str,
    ) -> fmt::Result {
        write!(
            f,
            "undefined symbol `{symbol}` is used by a relocation and needs a non-empty \
             loaded section `{section}` in the module (link_elf_fix_link_set binds it \
             only to the module's own section), and there is none"
        )
    }

    pub(super) fn link_set_bound_lost(
        f: &mut fmt::Formatter<'_>,
        symbol: &str,
        section: &str,
    ) -> fmt::Result {
        write!(
            f,
            "undefined symbol `{symbol}` names `{section}`, the first section the kernel \
             loads: link_elf_fix_link_set (sys/kern/link_elf_obj.c) records its position \
             0 as st_shndx, which reads as SHN_UNDEF, so the relocation looks `{symbol}` \
             up in the kernel instead of the module; put another section first"
        )
    }
}

/// An undefined symbol off the allowlist: the fix if its cause is known
/// ([`crate::hint`]), else where to add it.
fn symbol_not_allowed(f: &mut fmt::Formatter<'_>, symbol: &str) -> fmt::Result {
    match crate::hint::for_undefined(symbol) {
        Some(hint) => write!(
            f,
            "undefined symbol `{symbol}` is not a kernel symbol: {hint}"
        ),
        None => write!(
            f,
            "undefined symbol `{symbol}` is not on the allowlist; add it with the header \
             that declares it"
        ),
    }
}

/// A symbol a dependency defines but keeps local.
fn symbol_not_exported(f: &mut fmt::Formatter<'_>, symbol: &str, file: &str) -> fmt::Result {
    write!(
        f,
        "undefined symbol `{symbol}` is local in {file}: FreeBSD resolves it only while \
         debug.link_elf_obj_leak_locals is 1; export it (kern::export! in Rust, EXPORT_SYMS \
         in a kmod.mk Makefile)"
    )
}

/// A symbol of a module this one does not depend on.
fn symbol_of_non_dependency(
    f: &mut fmt::Formatter<'_>,
    symbol: &str,
    file: &str,
    modules: &[String],
) -> fmt::Result {
    write!(
        f,
        "undefined symbol `{symbol}` is defined in {file}, which this module does not depend \
         on: declare the dependency on {} (depends: in kern::module!, MODULE_DEPEND in C) and \
         export the symbol",
        modules.first().map_or("its module", String::as_str)
    )
}
