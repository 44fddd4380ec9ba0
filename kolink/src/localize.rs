// SPDX-License-Identifier: BSD-2-Clause
//! Localization of a module's defined symbols, as `kmod.mk` does.
//!
//! `sys/conf/kmod.mk` runs `sys/conf/kmod_syms.awk` over the module object
//! when no export list is given: every defined global symbol (`nm -g`, type
//! not `U` or `A`) becomes local with `objcopy -L`, so nothing in a `.ko`
//! clashes with kernel symbols or other modules' symbols.
//!
//! Here the same happens to every defined `STB_GLOBAL`, `STB_WEAK` and
//! `STB_GNU_UNIQUE` symbol. Absolute symbols are included (`kmod_syms.awk`
//! skips `nm` type `A`, but a module has no reason to export one), and so are
//! hidden ones: `compiler_builtins` defines `memcpy`/`memset` as weak hidden, and
//! FreeBSD's kernel linker ignores visibility (`link_elf_lookup_symbol` in
//! `sys/kern/link_elf_obj.c` matches any defined symbol by name), so a hidden
//! global would still be exported. Localized symbols get `STV_DEFAULT`
//! visibility, which is what a local symbol normally carries.
//!
//! Undefined symbols keep their binding: they are resolved against the kernel
//! by `elf_obj_lookup`, which treats weak undefined symbols as optional
//! (value 0). Common symbols are left alone (`check` reports them; kernel
//! modules are built with `-fno-common`). Section and file symbols are
//! already local.

use object::build::elf::Builder;
use object::elf;

/// What localization did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalizeReport {
    /// Number of symbols turned from global/weak into local.
    pub localized: usize,
    /// Number of exported symbols left global.
    pub exported: usize,
}

/// Makes every defined non-local symbol of `builder` local, except those
/// named in `exports` (`kmod.mk`'s `EXPORT_SYMS`: `kmod_syms.awk` keeps
/// the listed names global), which keep their binding and get default
/// visibility, so the kernel linker resolves them for dependent modules.
///
/// `object`'s ELF writer puts local symbols before global ones and sets the
/// symbol table's `sh_info` accordingly, renumbering relocations to match.
pub(crate) fn localize(builder: &mut Builder<'_>, exports: &[String]) -> LocalizeReport {
    let mut report = LocalizeReport::default();
    for symbol in &mut builder.symbols {
        let defined = symbol.section.is_some() || symbol.st_shndx == elf::SHN_ABS;
        if !defined || symbol.st_bind() == elf::STB_LOCAL {
            continue;
        }
        if exports
            .iter()
            .any(|e| e.as_bytes() == symbol.name.as_slice())
        {
            symbol.st_other = symbol.st_other.with_visibility(elf::STV_DEFAULT);
            report.exported += 1;
            continue;
        }
        let st_type = symbol.st_type();
        symbol.set_st_info(elf::STB_LOCAL, st_type);
        symbol.st_other = symbol.st_other.with_visibility(elf::STV_DEFAULT);
        report.localized += 1;
    }
    report
}
