// SPDX-License-Identifier: BSD-2-Clause
//! What [`check`](crate::check::check) finds wrong in a well-formed
//! object: one [`Failure`] per problem, all of them collected, and the
//! [`Finding`]s of the FPU/SIMD scan ([`crate::fpu`]) that become
//! [`Failure::Code`].
//!
//! The module is a leaf (it names only relocation types and linker-set
//! names), so that [`Error::Check`](crate::Error::Check) can carry the
//! failures without the error type depending on the checks that find
//! them.

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
    /// An undefined symbol is not on the allowlist.
    SymbolNotAllowed {
        /// The symbol.
        symbol: String,
    },
    /// A `__start_set_*`/`__stop_set_*` symbol names a linker set the file
    /// does not contain.
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
            } => write!(
                f,
                "{section}: allocated section of type {sh_type:#x} has {count} relocation(s) but \
                 the kernel linker loads only PROGBITS, NOBITS and X86_64_UNWIND sections; the \
                 load would fail (\"lost base for relatab\")"
            ),
            Self::SymbolNotAllowed { symbol } => write!(
                f,
                "undefined symbol `{symbol}` is not on the allowlist; add it with the header \
                 that declares it"
            ),
            Self::MissingLinkerSet { symbol, section } => write!(
                f,
                "undefined symbol `{symbol}` needs a section `{section}` in the module, and \
                 there is none"
            ),
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
