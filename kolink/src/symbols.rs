// SPDX-License-Identifier: BSD-2-Clause
//! The undefined symbols of a module: what it needs from the kernel.
//!
//! At load time `relocate_file` (`sys/kern/link_elf_obj.c`) resolves each
//! undefined global symbol through `elf_obj_lookup`, which asks the kernel
//! and the module's dependencies; a weak one that is not found becomes 0.
//! Before that, `link_elf_fix_link_set` binds undefined `__start_<set>` and
//! `__stop_<set>` symbols to the bounds of the module's own section named
//! `<set>` (for linker sets, `set_<name>`), so those never reach the kernel.

use crate::elf::Object;
use crate::error::Result;
use crate::linker_set::{START_SET_PREFIX, STOP_SET_PREFIX};
use object::elf;

/// An undefined symbol of a module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UndefinedSymbol {
    /// The symbol name.
    pub name: String,
    /// Whether the symbol is `STB_WEAK` (optional: 0 if the kernel lacks it).
    pub weak: bool,
}

impl UndefinedSymbol {
    /// Whether this is a `__start_set_*`/`__stop_set_*` bound, which the
    /// kernel linker resolves inside the module.
    #[must_use]
    pub fn is_linker_set_bound(&self) -> bool {
        is_linker_set_bound(&self.name)
    }
}

/// Whether `name` is a `__start_set_*`/`__stop_set_*` linker-set bound.
#[must_use]
pub fn is_linker_set_bound(name: &str) -> bool {
    name.starts_with(START_SET_PREFIX) || name.starts_with(STOP_SET_PREFIX)
}

/// The named undefined symbols of a `.ko`, sorted by name, including
/// linker-set bounds (see [`UndefinedSymbol::is_linker_set_bound`]).
///
/// # Errors
///
/// [`Error::Format`](crate::Error::Format) if `data` is not an x86-64
/// relocatable ELF object.
pub fn undefined_symbols(data: &[u8]) -> Result<Vec<UndefinedSymbol>> {
    undefined(&Object::parse(data)?)
}

/// The names of the kernel symbols a `.ko` needs: its undefined symbols
/// without linker-set bounds, sorted.
///
/// # Errors
///
/// As [`undefined_symbols`].
pub fn kernel_symbols(data: &[u8]) -> Result<Vec<String>> {
    Ok(undefined_symbols(data)?
        .into_iter()
        .filter(|s| !s.is_linker_set_bound())
        .map(|s| s.name)
        .collect())
}

pub(crate) fn undefined(obj: &Object<'_>) -> Result<Vec<UndefinedSymbol>> {
    let mut out = Vec::new();
    for (index, symbol) in obj.symbols() {
        if obj.st_shndx(symbol) != elf::SHN_UNDEF {
            continue;
        }
        let name = obj.symbol_name_bytes(index)?;
        if name.is_empty() {
            continue;
        }
        out.push(UndefinedSymbol {
            name: String::from_utf8_lossy(name).into_owned(),
            weak: symbol.st_bind() == elf::STB_WEAK,
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}
