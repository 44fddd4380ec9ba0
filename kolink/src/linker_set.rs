// SPDX-License-Identifier: BSD-2-Clause
//! The names linker sets give a module's sections and symbols.
//!
//! A linker set (`sys/sys/linker_set.h`) is a section `set_NAME` of
//! pointers, bounded by the symbols `__start_set_NAME` and
//! `__stop_set_NAME`. FreeBSD's kernel linker binds those undefined
//! symbols to the module's own section (`link_elf_fix_link_set`,
//! `sys/kern/link_elf_obj.c`), and finds a module's declarations in the
//! set `modmetadata_set` (`MODULE_METADATA`, `sys/sys/module.h`).
//!
//! A leaf module: the checks, the metadata parser and the failure
//! messages all name these, and none of them sits below the others.

/// Prefix of the symbol bound to the start of a module's linker set.
pub const START_SET_PREFIX: &str = "__start_set_";
/// Prefix of the symbol bound to the end of a module's linker set.
pub const STOP_SET_PREFIX: &str = "__stop_set_";
/// The section holding the metadata linker set.
pub const MODMETADATA_SECTION: &str = "set_modmetadata_set";
