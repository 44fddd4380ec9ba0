// SPDX-License-Identifier: BSD-2-Clause
//! x86-64 relocation types: names, and which ones FreeBSD's kernel linker
//! accepts.
//!
//! The amd64 kernel linker applies relocations in `elf_reloc_internal`
//! (`sys/amd64/amd64/elf_machdep.c`). It handles `R_X86_64_NONE`, `64`,
//! `PC32`, `PLT32` (treated as `PC32`), `32S`, `GLOB_DAT`, `JUMP_SLOT`,
//! `RELATIVE` and `IRELATIVE`; anything else prints "kldload: unexpected
//! relocation type N" and fails. Relocations against local symbols are
//! applied first, by `link_elf_reloc_local` (`sys/kern/link_elf_obj.c`);
//! since FreeBSD 14 a failure there fails the load with `ENOEXEC`. (Older
//! releases ignored `elf_reloc_local`'s result and loaded the module with
//! the field unpatched.) Either way a module with such a relocation is
//! broken, so `kolink check` rejects every type outside [`ACCEPTED`],
//! whatever the symbol's binding.
//!
//! The GOT-relative types come from the x86-64 psABI (§4.4, "Relocation
//! Types"); which of them `kolink fix` can rewrite is decided by
//! [`got_class`].

pub use object::elf::RelocationType;
use object::elf::{
    R_X86_64_32S, R_X86_64_64, R_X86_64_CODE_4_GOTPCRELX, R_X86_64_CODE_5_GOTPCRELX,
    R_X86_64_CODE_6_GOTPCRELX, R_X86_64_GLOB_DAT, R_X86_64_GOT32, R_X86_64_GOT64,
    R_X86_64_GOTOFF64, R_X86_64_GOTPC32, R_X86_64_GOTPC64, R_X86_64_GOTPCREL, R_X86_64_GOTPCREL64,
    R_X86_64_GOTPCRELX, R_X86_64_GOTPLT64, R_X86_64_IRELATIVE, R_X86_64_JUMP_SLOT, R_X86_64_NONE,
    R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_PLTOFF64, R_X86_64_RELATIVE, R_X86_64_REX_GOTPCRELX,
};

/// The relocation types `elf_reloc_internal` in
/// `sys/amd64/amd64/elf_machdep.c` applies.
pub const ACCEPTED: [RelocationType; 9] = [
    R_X86_64_NONE,
    R_X86_64_64,
    R_X86_64_PC32,
    R_X86_64_PLT32,
    R_X86_64_32S,
    R_X86_64_GLOB_DAT,
    R_X86_64_JUMP_SLOT,
    R_X86_64_RELATIVE,
    R_X86_64_IRELATIVE,
];

/// Whether the FreeBSD amd64 kernel linker can apply a relocation of this
/// type.
#[must_use]
pub fn is_accepted(r_type: RelocationType) -> bool {
    ACCEPTED.contains(&r_type)
}

/// Whether applying a relocation of this type looks up its symbol.
///
/// `elf_reloc_internal` (`sys/amd64/amd64/elf_machdep.c`) calls the lookup
/// function for `R_X86_64_64`, `PC32`, `PLT32`, `32S`, `GLOB_DAT` and
/// `JUMP_SLOT`; `NONE` does nothing, `RELATIVE` and `IRELATIVE` use only
/// the addend. A type it does not know fails the load before any lookup,
/// but every other type names a symbol to resolve (and `kolink fix` turns
/// the GOT forms into ones that do), so only those three are `false`. An
/// undefined symbol that no looking-up relocation uses is never resolved:
/// the kernel linker does not look at it.
#[must_use]
pub fn uses_symbol(r_type: RelocationType) -> bool {
    !matches!(
        r_type,
        R_X86_64_NONE | R_X86_64_RELATIVE | R_X86_64_IRELATIVE
    )
}

/// How `kolink fix` treats a GOT-related relocation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GotClass {
    /// `GOTPCREL`, `GOTPCRELX`, `REX_GOTPCRELX`: a 32-bit PC-relative
    /// reference to the symbol's GOT entry in a legacy-encoded instruction.
    /// Relaxed to a direct reference where the instruction allows (checked by
    /// decoding it), otherwise pointed at a synthesised GOT slot. (The `X`
    /// forms are the assembler's promise that the instruction is relaxable;
    /// rustup's `x86_64-unknown-none` rlibs use plain `GOTPCREL`, so the
    /// instruction is decoded rather than trusted.)
    Relaxable,
    /// The APX `CODE_{4,5,6}_GOTPCRELX` forms (REX2/EVEX-prefixed
    /// instructions): always pointed at a synthesised GOT slot.
    SlotOnly,
    /// Large/medium code model GOT relocations (64-bit or GOT-base-relative
    /// forms). They need a real GOT base address, which a kernel module does
    /// not have; `fix` rejects them.
    Unsupported,
}

/// Classifies GOT-related relocation types; `None` for every other type.
#[must_use]
pub fn got_class(r_type: RelocationType) -> Option<GotClass> {
    match r_type {
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => {
            Some(GotClass::Relaxable)
        }
        R_X86_64_CODE_4_GOTPCRELX | R_X86_64_CODE_5_GOTPCRELX | R_X86_64_CODE_6_GOTPCRELX => {
            Some(GotClass::SlotOnly)
        }
        R_X86_64_GOT32 | R_X86_64_GOT64 | R_X86_64_GOTPCREL64 | R_X86_64_GOTPC32
        | R_X86_64_GOTPC64 | R_X86_64_GOTOFF64 | R_X86_64_GOTPLT64 | R_X86_64_PLTOFF64 => {
            Some(GotClass::Unsupported)
        }
        _ => None,
    }
}

/// Names of the x86-64 relocation types 0 to 51, indexed by value (psABI
/// table; 39 and 40 are reserved).
const NAMES: [&str; 52] = [
    "R_X86_64_NONE",
    "R_X86_64_64",
    "R_X86_64_PC32",
    "R_X86_64_GOT32",
    "R_X86_64_PLT32",
    "R_X86_64_COPY",
    "R_X86_64_GLOB_DAT",
    "R_X86_64_JUMP_SLOT",
    "R_X86_64_RELATIVE",
    "R_X86_64_GOTPCREL",
    "R_X86_64_32",
    "R_X86_64_32S",
    "R_X86_64_16",
    "R_X86_64_PC16",
    "R_X86_64_8",
    "R_X86_64_PC8",
    "R_X86_64_DTPMOD64",
    "R_X86_64_DTPOFF64",
    "R_X86_64_TPOFF64",
    "R_X86_64_TLSGD",
    "R_X86_64_TLSLD",
    "R_X86_64_DTPOFF32",
    "R_X86_64_GOTTPOFF",
    "R_X86_64_TPOFF32",
    "R_X86_64_PC64",
    "R_X86_64_GOTOFF64",
    "R_X86_64_GOTPC32",
    "R_X86_64_GOT64",
    "R_X86_64_GOTPCREL64",
    "R_X86_64_GOTPC64",
    "R_X86_64_GOTPLT64",
    "R_X86_64_PLTOFF64",
    "R_X86_64_SIZE32",
    "R_X86_64_SIZE64",
    "R_X86_64_GOTPC32_TLSDESC",
    "R_X86_64_TLSDESC_CALL",
    "R_X86_64_TLSDESC",
    "R_X86_64_IRELATIVE",
    "R_X86_64_RELATIVE64",
    "R_X86_64_39",
    "R_X86_64_40",
    "R_X86_64_GOTPCRELX",
    "R_X86_64_REX_GOTPCRELX",
    "R_X86_64_CODE_4_GOTPCRELX",
    "R_X86_64_CODE_4_GOTTPOFF",
    "R_X86_64_CODE_4_GOTPC32_TLSDESC",
    "R_X86_64_CODE_5_GOTPCRELX",
    "R_X86_64_CODE_5_GOTTPOFF",
    "R_X86_64_CODE_5_GOTPC32_TLSDESC",
    "R_X86_64_CODE_6_GOTPCRELX",
    "R_X86_64_CODE_6_GOTTPOFF",
    "R_X86_64_CODE_6_GOTPC32_TLSDESC",
];

/// The psABI name of an x86-64 relocation type, if it has one.
#[must_use]
pub fn name(r_type: RelocationType) -> Option<&'static str> {
    usize::try_from(r_type.0)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
}

/// A human-readable description: the name and the number, e.g.
/// `R_X86_64_GOTPCREL (9)`.
#[must_use]
pub fn describe(r_type: RelocationType) -> String {
    match name(r_type) {
        Some(n) => format!("{n} ({})", r_type.0),
        None => format!("unknown relocation type {}", r_type.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_constants() {
        assert_eq!(name(R_X86_64_NONE), Some("R_X86_64_NONE"));
        assert_eq!(name(R_X86_64_GOTPCREL), Some("R_X86_64_GOTPCREL"));
        assert_eq!(name(R_X86_64_IRELATIVE), Some("R_X86_64_IRELATIVE"));
        assert_eq!(name(R_X86_64_REX_GOTPCRELX), Some("R_X86_64_REX_GOTPCRELX"));
        assert_eq!(
            name(R_X86_64_CODE_6_GOTPCRELX),
            Some("R_X86_64_CODE_6_GOTPCRELX")
        );
        assert_eq!(name(RelocationType(99)), None);
        assert_eq!(describe(R_X86_64_GOTPCRELX), "R_X86_64_GOTPCRELX (41)");
    }

    #[test]
    fn accepted_list() {
        for t in [1, 2, 4, 11, 6, 7, 8, 37, 0] {
            assert!(is_accepted(RelocationType(t)), "{t}");
        }
        for t in [3, 5, 9, 10, 24, 41, 42] {
            assert!(!is_accepted(RelocationType(t)), "{t}");
        }
    }

    #[test]
    fn symbol_lookups() {
        for t in [R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32S] {
            assert!(uses_symbol(t), "{t:?}");
        }
        assert!(uses_symbol(R_X86_64_GOTPCRELX));
        for t in [R_X86_64_NONE, R_X86_64_RELATIVE, R_X86_64_IRELATIVE] {
            assert!(!uses_symbol(t), "{t:?}");
        }
    }

    #[test]
    fn got_classes() {
        assert_eq!(got_class(R_X86_64_GOTPCRELX), Some(GotClass::Relaxable));
        assert_eq!(got_class(R_X86_64_GOTPCREL), Some(GotClass::Relaxable));
        assert_eq!(
            got_class(R_X86_64_CODE_4_GOTPCRELX),
            Some(GotClass::SlotOnly)
        );
        assert_eq!(got_class(R_X86_64_GOTOFF64), Some(GotClass::Unsupported));
        assert_eq!(got_class(R_X86_64_PLT32), None);
    }
}
