// SPDX-License-Identifier: BSD-2-Clause
//! A synthetic module object that passes `kolink check`: code calling
//! `printf`, and the metadata `DECLARE_MODULE(echo, ...)`,
//! `MODULE_DEPEND(echo, kernel, ...)` and `MODULE_VERSION(echo, 1)` emit in
//! C. Tests add one fault to it and look for the failure naming it.

use object::elf::{R_X86_64_64, R_X86_64_PLT32};
use object::write::{Object, SectionId, SymbolId};
use object::{SectionKind, SymbolScope};

use super::{DATA, TEXT, defined, new_object, reloc, section, undefined};

/// The kernel dependency's minimum and preferred version.
pub(crate) const KERNEL_MIN: i32 = 1_500_000;
/// The kernel dependency's maximum version.
pub(crate) const KERNEL_MAX: i32 = 1_599_999;

/// Which metadata the module carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metadata {
    /// Module, version, and a dependency on `kernel`.
    Full,
    /// Module and version, and a dependency on `echo` instead of `kernel`.
    NoKernelDependency,
    /// No `set_modmetadata_set` at all.
    None,
}

/// The module under construction, with the ids tests need to add faults.
pub(crate) struct Module {
    pub(crate) obj: Object<'static>,
    pub(crate) text: SectionId,
    pub(crate) data: SectionId,
    /// The event handler, a local function at the start of `.text`.
    pub(crate) modevent: SymbolId,
}

/// The code: a function calling `printf`; `extra` is appended after its
/// `ret`.
fn code(extra: &[u8]) -> Vec<u8> {
    #[rustfmt::skip]
    let mut code = vec![
        0x55,                         // push %rbp
        0x48, 0x89, 0xe5,             // mov %rsp,%rbp
        0xe8, 0, 0, 0, 0,             // call printf
        0x31, 0xc0,                   // xor %eax,%eax
        0x5d,                         // pop %rbp
        0xc3,                         // ret
    ];
    code.extend_from_slice(extra);
    code
}

/// `mod_metadata` fields written into `.data` at `at`, with relocated
/// pointers for `md_data` (section + offset) and `md_cval` (section +
/// offset).
pub(crate) fn mod_metadata(
    obj: &mut Object<'_>,
    data: SectionId,
    at: u64,
    md_type: i32,
    md_data: (SectionId, u64),
    cval: (SectionId, u64),
) {
    let d = obj.section_symbol(md_data.0);
    let c = obj.section_symbol(cval.0);
    reloc(
        obj,
        data,
        at + 8,
        d,
        R_X86_64_64,
        i64::try_from(md_data.1).unwrap(),
    );
    reloc(
        obj,
        data,
        at + 16,
        c,
        R_X86_64_64,
        i64::try_from(cval.1).unwrap(),
    );
    let bytes = obj.section_mut(data).data_mut();
    let at = usize::try_from(at).unwrap();
    bytes[at..at + 4].copy_from_slice(&1i32.to_le_bytes());
    bytes[at + 4..at + 8].copy_from_slice(&md_type.to_le_bytes());
}

/// A module named `echo`; `extra_code` is appended to `.text` (after the
/// event handler's 13 bytes).
pub(crate) fn module(metadata: Metadata, extra_code: &[u8]) -> Module {
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &code(extra_code));
    let rodata = section(
        &mut obj,
        ".rodata.str",
        SectionKind::ReadOnlyString,
        b"echo\0kernel\0",
    );
    // 0: mod_depend, 16: mod_version, 24/48/72: mod_metadata, 96: moduledata.
    let mut contents = vec![0u8; 120];
    for (i, v) in [KERNEL_MIN, KERNEL_MIN, KERNEL_MAX].iter().enumerate() {
        contents[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    contents[16..20].copy_from_slice(&1i32.to_le_bytes());
    let data = section(&mut obj, ".data", SectionKind::Data, &contents);
    let modevent = defined(
        &mut obj,
        "echo_modevent",
        text,
        0,
        13,
        TEXT,
        SymbolScope::Compilation,
        false,
    );
    let printf = undefined(&mut obj, "printf", false);
    reloc(&mut obj, text, 5, printf, R_X86_64_PLT32, -4);

    if metadata != Metadata::None {
        use kolink::metadata::{MDT_DEPEND, MDT_MODULE, MDT_VERSION};
        let depend_name = if metadata == Metadata::Full { 5 } else { 0 };
        mod_metadata(
            &mut obj,
            data,
            24,
            MDT_DEPEND,
            (data, 0),
            (rodata, depend_name),
        );
        mod_metadata(&mut obj, data, 48, MDT_MODULE, (data, 96), (rodata, 0));
        mod_metadata(&mut obj, data, 72, MDT_VERSION, (data, 16), (rodata, 0));
        // moduledata_t { "echo", echo_modevent, NULL }
        let ro = obj.section_symbol(rodata);
        reloc(&mut obj, data, 96, ro, R_X86_64_64, 0);
        reloc(&mut obj, data, 104, modevent, R_X86_64_64, 0);
        // The linker set: one entry via the section symbol, one via a named
        // local symbol, one via a named symbol plus addend.
        let set = section(&mut obj, "set_modmetadata_set", SectionKind::Data, &[0; 24]);
        let md_module = defined(
            &mut obj,
            "_mod_metadata_md_echo",
            data,
            48,
            24,
            DATA,
            SymbolScope::Compilation,
            false,
        );
        let data_sym = obj.section_symbol(data);
        reloc(&mut obj, set, 0, data_sym, R_X86_64_64, 24);
        reloc(&mut obj, set, 8, md_module, R_X86_64_64, 0);
        reloc(&mut obj, set, 16, md_module, R_X86_64_64, 24);
        // What __MAKE_SET's __GLOBL leaves behind: undefined, and used by
        // no relocation.
        let _ = undefined(&mut obj, "__start_set_modmetadata_set", false);
        let _ = undefined(&mut obj, "__stop_set_modmetadata_set", false);
    }
    Module {
        obj,
        text,
        data,
        modevent,
    }
}
