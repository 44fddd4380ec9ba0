// SPDX-License-Identifier: BSD-2-Clause
//! Constructors and destructors: `link_elf_invoke_cbs`
//! (`link_elf_obj.c`, FreeBSD 15).
//!
//! The section `link_elf_load_file` chose (the first `.ctors` or
//! `SHT_INIT_ARRAY`, the first `.dtors` or `SHT_FINI_ARRAY`) is an array
//! of `void (*)(void)`; every non-NULL entry is called in array order,
//! index 0 first, for destructors too. Constructors run at the end of
//! `link_elf_load_file` (after relocations, ifuncs and protection, before
//! the modules are registered and the SYSINITs and `MOD_LOAD` run);
//! destructors in `link_elf_unload_file`, only if the constructors ran,
//! after `MOD_UNLOAD`, the SYSUNINITs and the release of the
//! dependencies.
//!
//! An entry that is not NULL is called whatever it holds; one that does
//! not point into the module's code would fault on FreeBSD, and here is
//! reported as that fault rather than called.

use super::super::elf::{Object, c};
use super::{Fail, fatal_trap, read_set};
use crate::loader::Host;
use crate::thread::{self, Env};

/// Calls the entries of `section` of `obj` (the file `filename`), its
/// `what` ("constructor" or "destructor").
pub(super) fn invoke(
    k: &dyn Host,
    env: &Env<'_>,
    obj: &Object,
    filename: &str,
    section: Option<usize>,
    what: &str,
) -> Result<(), Fail> {
    for (i, f) in read_set(obj.section_bounds(section))
        .into_iter()
        .enumerate()
    {
        if f.is_null() {
            continue;
        }
        if !obj.in_section(f.get(), 1, c::SHF_EXECINSTR | c::SHF_ALLOC) {
            return Err(fatal_trap(
                k,
                f.arg(),
                &format!(
                    "link_elf_invoke_cbs: {filename}: {what} {i} is {f:#x}, not code of the module"
                ),
            ));
        }
        // SAFETY: a function of the module's code (checked above), as the
        // array's type says `void (*)(void)`.
        unsafe { thread::call(k.core(), Some(env), f, [0; 6]) }?;
    }
    Ok(())
}
