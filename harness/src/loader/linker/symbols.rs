// SPDX-License-Identifier: BSD-2-Clause
//! Looking up the undefined symbols a relocation uses:
//! `linker_file_lookup_symbol_internal` (`kern_linker.c`) over
//! `link_elf_lookup_symbol` (`link_elf_obj.c`).
//!
//! The order is the file itself, then each of its dependencies in
//! `lf->deps` order, which starts with the kernel
//! (`linker_load_dependencies`: "All files are dependent on /kernel"), and
//! only their own symbols (a dependency's dependencies are not searched).
//! In a file, the first defined symbol of that name decides: if it is not
//! `STB_GLOBAL` it is seen only when `debug.link_elf_obj_leak_locals` is
//! on (the default, `Config::link_elf_obj_leak_locals`), and otherwise the
//! search goes on in the next file.
//!
//! Not modelled: a defined symbol whose value is 0, which FreeBSD treats as
//! a common symbol (the harness refuses `SHN_COMMON` at load), and the
//! special `__this_linker_file` (not on the allowlist).

use super::super::elf::{self, c};
use super::super::reloc::Resolved;
use super::{Fail, KERNEL_FILE_ID, linker_state};
use crate::errno::Errno;
use crate::loader::Host;

/// `link_elf_lookup_symbol` on one file's symbols.
fn lookup_in(symbols: &[elf::Symbol], name: &str, leak_locals: bool) -> Option<u64> {
    let s = symbols.iter().find(|s| s.defined() && s.name == name)?;
    (leak_locals || s.bind == c::STB_GLOBAL).then_some(s.value)
}

/// Where a dependency's symbols come from.
enum Source {
    Kernel,
    File(Vec<elf::Symbol>),
}

/// The lookup for file `id`'s relocations, from a snapshot of its symbols
/// and its dependencies' (their mappings stay while the kld lock is
/// held).
pub(super) fn resolver(k: &dyn Host, id: i32) -> Result<impl FnMut(&str) -> Resolved + '_, Fail> {
    let (own, sources, leak_locals) = {
        let l = linker_state(k);
        let f = l.files.iter().find(|f| f.id == id).ok_or(Errno::ENOENT)?;
        let sources: Vec<Source> = f
            .deps
            .iter()
            .filter_map(|&d| {
                if d == KERNEL_FILE_ID {
                    return Some(Source::Kernel);
                }
                l.files
                    .iter()
                    .find(|g| g.id == d)
                    .map(|g| Source::File(g.obj.symbols.clone()))
            })
            .collect();
        (f.obj.symbols.clone(), sources, l.leak_locals)
    };
    Ok(move |name: &str| -> Resolved {
        if let Some(v) = lookup_in(&own, name, leak_locals) {
            return Resolved::Addr(v);
        }
        for src in &sources {
            let found = match src {
                Source::Kernel => k.kernel_symbol(name).map(|a| a.arg()),
                Source::File(syms) => lookup_in(syms, name, leak_locals),
            };
            if let Some(v) = found {
                return Resolved::Addr(v);
            }
        }
        Resolved::Undefined
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, value: u64, shndx: u16, bind: u8) -> elf::Symbol {
        elf::Symbol {
            name: name.to_owned(),
            value,
            shndx,
            bind,
            kind: 0,
        }
    }

    #[test]
    fn locals_are_seen_only_when_they_leak() {
        let syms = [
            sym("f", 0, c::SHN_UNDEF, c::STB_GLOBAL),
            sym("f", 0x10, 1, c::STB_LOCAL),
            sym("f", 0x20, 1, c::STB_GLOBAL),
            sym("g", 0x30, 1, c::STB_WEAK),
        ];
        // The first definition decides, even if a global one follows.
        assert_eq!(lookup_in(&syms, "f", true), Some(0x10));
        assert_eq!(lookup_in(&syms, "f", false), None);
        // Only STB_GLOBAL counts as global.
        assert_eq!(lookup_in(&syms, "g", false), None);
        assert_eq!(lookup_in(&syms, "g", true), Some(0x30));
        assert_eq!(lookup_in(&syms, "h", true), None);
    }
}
