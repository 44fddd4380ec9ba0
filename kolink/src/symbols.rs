// SPDX-License-Identifier: BSD-2-Clause
//! The undefined symbols of a module: what it needs from the kernel.
//!
//! FreeBSD's kernel linker (`sys/kern/link_elf_obj.c`) looks at an
//! undefined symbol in two places only:
//!
//! * `link_elf_fix_link_set` binds every undefined `__start_X` and
//!   `__stop_X` to the bounds of the module's own loaded section named `X`
//!   (for linker sets, `set_<name>`), so those never reach the kernel. It
//!   records the section's position among the loaded sections as the
//!   symbol's `st_shndx`: for the first loaded section that is 0,
//!   `SHN_UNDEF`, and the binding is lost (see [`LinkSetBound`]).
//! * `relocate_file` (and `link_elf_reloc_local` for local symbols)
//!   resolves the symbol of each relocation it applies (tables whose target
//!   is `SHF_ALLOC`) through `elf_obj_lookup`, if the relocation type uses
//!   a symbol ([`crate::reloc::uses_symbol`]). A global symbol is looked up
//!   in the module, then in its dependencies, the kernel first; a weak one
//!   that is not found becomes 0.
//!
//! So an undefined symbol that no such relocation uses is never looked up:
//! `sys/pcpu.h` declares `__start_set_pcpu` and `__stop_set_pcpu` global in
//! every C file that includes it, and a module that never uses them loads.
//! [`UndefinedSymbol::referenced`] says which ones are used.

use std::collections::HashSet;

use crate::elf::Object;
use crate::error::Result;
use crate::linker_set::bound_section;
use crate::reloc;
use object::elf;

/// An undefined symbol of a module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UndefinedSymbol {
    /// The symbol name.
    pub name: String,
    /// Whether the symbol is `STB_WEAK` (optional: 0 if the kernel lacks it).
    pub weak: bool,
    /// Whether a relocation the kernel linker applies uses the symbol, so
    /// that loading the module resolves it.
    pub referenced: bool,
    /// For `__start_X`/`__stop_X`: the loaded section `X` that
    /// `link_elf_fix_link_set` binds it to, if the module has one.
    pub link_set: Option<LinkSetBound>,
}

/// The section an undefined `__start_X`/`__stop_X` symbol is bound to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkSetBound {
    /// The section's name, `X`.
    pub section: String,
    /// Whether it is the first section the kernel loads.
    /// `link_elf_fix_link_set` stores the section's position among the
    /// loaded sections in `st_shndx`; position 0 reads as `SHN_UNDEF`, so
    /// `elf_obj_lookup` ignores the binding and looks the name up in the
    /// kernel.
    pub first_loaded: bool,
}

impl UndefinedSymbol {
    /// Whether this is a `__start_X`/`__stop_X` bound that the kernel
    /// linker resolves inside the module.
    #[must_use]
    pub fn is_linker_set_bound(&self) -> bool {
        self.link_set.as_ref().is_some_and(|b| !b.first_loaded)
    }

    /// Whether loading the module looks this symbol up in the kernel (or
    /// the module's other dependencies): it is referenced and not a bound
    /// resolved in the module.
    #[must_use]
    pub fn is_kernel_symbol(&self) -> bool {
        self.referenced && !self.is_linker_set_bound()
    }
}

/// Whether `name` has the form of a linker-set bound, `__start_X` or
/// `__stop_X` (see [`crate::linker_set::bound_section`]); whether it is
/// bound depends on the module having a loaded section `X`.
#[must_use]
pub fn is_linker_set_bound(name: &str) -> bool {
    bound_section(name).is_some()
}

/// The named undefined symbols of a `.ko`, sorted by name, including
/// linker-set bounds and symbols no relocation uses.
///
/// # Errors
///
/// [`Error::Format`](crate::Error::Format) if `data` is not an x86-64
/// relocatable ELF object.
pub fn undefined_symbols(data: &[u8]) -> Result<Vec<UndefinedSymbol>> {
    undefined(&Object::parse(data)?)
}

/// The names of the kernel symbols a `.ko` needs: its undefined symbols
/// that loading resolves outside the module
/// ([`UndefinedSymbol::is_kernel_symbol`]), sorted.
///
/// # Errors
///
/// As [`undefined_symbols`].
pub fn kernel_symbols(data: &[u8]) -> Result<Vec<String>> {
    Ok(undefined_symbols(data)?
        .into_iter()
        .filter(UndefinedSymbol::is_kernel_symbol)
        .map(|s| s.name)
        .collect())
}

pub(crate) fn undefined(obj: &Object<'_>) -> Result<Vec<UndefinedSymbol>> {
    let referenced = referenced_symbols(obj)?;
    let loaded: Vec<(usize, String)> = obj
        .loaded_sections()
        .into_iter()
        .map(|i| (i, obj.section_name(i)))
        .collect();
    let mut out = Vec::new();
    for (index, symbol) in obj.symbols() {
        if obj.st_shndx(symbol) != elf::SHN_UNDEF {
            continue;
        }
        let name = obj.symbol_name_bytes(index)?;
        if name.is_empty() {
            continue;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        // The first loaded section of that name, as link_elf_fix_link_set
        // walks the progtab.
        let link_set = bound_section(&name).and_then(|section| {
            loaded
                .iter()
                .position(|(_, n)| n == section)
                .map(|position| LinkSetBound {
                    section: section.to_owned(),
                    first_loaded: position == 0,
                })
        });
        out.push(UndefinedSymbol {
            weak: symbol.st_bind() == elf::STB_WEAK,
            referenced: referenced.contains(&index),
            link_set,
            name,
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Indices of the symbols that the relocations the kernel linker applies
/// look up: tables whose target section is `SHF_ALLOC`, types that use a
/// symbol.
fn referenced_symbols(obj: &Object<'_>) -> Result<HashSet<usize>> {
    let mut out = HashSet::new();
    for r in obj.relocations()? {
        let applied = obj
            .section(r.target)
            .is_ok_and(|t| obj.sh_flags(t).contains(elf::SHF_ALLOC));
        if applied && r.symbol != 0 && reloc::uses_symbol(r.r_type) {
            out.insert(r.symbol);
        }
    }
    Ok(out)
}
