// SPDX-License-Identifier: BSD-2-Clause
//! The names linker sets give a module's sections and symbols.
//!
//! A linker set (`sys/sys/linker_set.h`) is a section `set_NAME` of
//! pointers, bounded by the symbols `__start_set_NAME` and
//! `__stop_set_NAME`. FreeBSD's kernel linker binds an undefined
//! `__start_X` or `__stop_X` to the bounds of the module's own loaded
//! section named `X`, whatever `X` is (`link_elf_fix_link_set`,
//! `sys/kern/link_elf_obj.c`), and finds a module's sets by section name
//! (`link_elf_lookup_set`): its declarations in `modmetadata_set`
//! (`MODULE_METADATA`, `sys/sys/module.h`), its SYSINITs in `sysinit_set`
//! and `sysuninit_set` (`sys/sys/kernel.h`).
//!
//! A leaf module: the checks, the metadata parser and the failure
//! messages all name these, and none of them sits below the others.

/// Prefix of the symbol bound to the start of a module's linker set.
pub const START_SET_PREFIX: &str = "__start_set_";
/// Prefix of the symbol bound to the end of a module's linker set.
pub const STOP_SET_PREFIX: &str = "__stop_set_";
/// Prefix of a symbol `link_elf_fix_link_set` binds to the start of the
/// section named by the rest of the symbol.
pub const START_PREFIX: &str = "__start_";
/// Prefix of a symbol `link_elf_fix_link_set` binds to the end of the
/// section named by the rest of the symbol.
pub const STOP_PREFIX: &str = "__stop_";
/// The section holding the metadata linker set.
pub const MODMETADATA_SECTION: &str = "set_modmetadata_set";
/// The section holding the SYSINITs, which `linker_file_sysinit`
/// (`sys/kern/kern_linker.c`) sorts in place before running them.
pub const SYSINIT_SECTION: &str = "set_sysinit_set";
/// The section holding the SYSUNINITs, which `linker_file_sysuninit` sorts
/// in place before running them.
pub const SYSUNINIT_SECTION: &str = "set_sysuninit_set";

/// The section a `__start_X`/`__stop_X` symbol names (`X`), or `None` if
/// `name` has neither prefix.
///
/// # Examples
///
/// ```
/// use kolink::linker_set::bound_section;
///
/// assert_eq!(bound_section("__start_set_pcpu"), Some("set_pcpu"));
/// assert_eq!(bound_section("__stop_mydata"), Some("mydata"));
/// assert_eq!(bound_section("printf"), None);
/// ```
#[must_use]
pub fn bound_section(name: &str) -> Option<&str> {
    name.strip_prefix(START_PREFIX)
        .or_else(|| name.strip_prefix(STOP_PREFIX))
}
