// SPDX-License-Identifier: BSD-2-Clause
//! `kolink check` judges a module as FreeBSD 15's kernel linker does
//! (`sys/kern/link_elf_obj.c`, `sys/kern/kern_linker.c`): one test per
//! corner case, each on the clean synthetic module of `common::module` with
//! one fault added, checking that the failure names the section or symbol
//! and the cause; and the cases FreeBSD accepts pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a panic is a test failure"
)]

mod common;

use common::module::{Metadata, Module, module};
use common::{
    TEXT, defined, new_object, patch_section_align, patch_section_flags, reloc, section, undefined,
    write,
};
use kolink::{Allowlist, CheckReport, Failure, check};
use object::elf::{self, R_X86_64_32, R_X86_64_64, R_X86_64_NONE, R_X86_64_PC32, R_X86_64_PLT32};
use object::{SectionFlags, SectionKind, SymbolScope};

fn allowlist() -> Allowlist {
    Allowlist::parse("printf sys/systm.h\n").unwrap()
}

fn clean() -> Module {
    module(Metadata::Full, &[])
}

fn check_bytes(bytes: &[u8]) -> CheckReport {
    check(bytes, &allowlist()).unwrap()
}

/// Adds an allocated section of ELF type `sh_type` and flags `sh_flags`.
fn typed_section(
    m: &mut Module,
    name: &str,
    sh_type: elf::SectionType,
    sh_flags: elf::SectionFlags,
    data: &[u8],
) -> object::write::SectionId {
    let id = section(&mut m.obj, name, SectionKind::Data, data);
    m.obj.section_mut(id).flags = SectionFlags::Elf { sh_type, sh_flags };
    id
}

#[test]
fn the_clean_module_passes() {
    let report = check_bytes(&write(&clean().obj));
    assert!(report.is_ok(), "{:#?}", report.failures);
}

#[test]
fn zero_alignment_of_a_loaded_section_is_reported() {
    let mut m = clean();
    let _ = section(&mut m.obj, ".data.zeroalign", SectionKind::Data, &[1; 8]);
    // Not loaded, so not laid out: an empty section and a debug section.
    let _ = section(&mut m.obj, ".data.empty", SectionKind::Data, &[]);
    let _ = section(&mut m.obj, ".debug_str", SectionKind::Debug, b"x\0");
    let mut bytes = write(&m.obj);
    for name in [".data.zeroalign", ".data.empty", ".debug_str"] {
        patch_section_align(&mut bytes, name, 0);
    }
    let report = check_bytes(&bytes);
    assert_eq!(
        report.failures,
        [Failure::ZeroAlignment {
            section: ".data.zeroalign".into()
        }]
    );
    let msg = report.failures[0].to_string();
    assert!(msg.contains("sh_addralign is 0"), "{msg}");
    assert!(msg.contains("ENOSPC"), "{msg}");
    assert!(msg.contains("link_elf_load_file"), "{msg}");

    // Alignment 1 is fine.
    let mut bytes = write(&m.obj);
    patch_section_align(&mut bytes, ".data.zeroalign", 1);
    assert!(check_bytes(&bytes).is_ok());
}

#[test]
fn relocations_for_an_unloaded_allocated_section_are_reported() {
    // SHT_NOTE is not loaded even with SHF_ALLOC; an empty PROGBITS section
    // is skipped by every loop of link_elf_load_file.
    let mut m = clean();
    let note = typed_section(
        &mut m,
        ".note.alloc",
        elf::SHT_NOTE,
        elf::SHF_ALLOC,
        &[0; 8],
    );
    reloc(&mut m.obj, note, 0, m.modevent, R_X86_64_64, 0);
    let empty = section(&mut m.obj, ".data.empty", SectionKind::Data, &[]);
    reloc(&mut m.obj, empty, 0, m.modevent, R_X86_64_64, 0);
    let report = check_bytes(&write(&m.obj));
    assert_eq!(
        report.failures,
        [
            Failure::RelocatedSectionNotLoaded {
                section: ".note.alloc".into(),
                sh_type: elf::SHT_NOTE.0,
                count: 1,
            },
            Failure::RelocatedSectionNotLoaded {
                section: ".data.empty".into(),
                sh_type: elf::SHT_PROGBITS.0,
                count: 1,
            },
        ]
    );
    for f in &report.failures {
        let msg = f.to_string();
        assert!(msg.contains("lost base for reltab"), "{msg}");
        assert!(msg.contains("ENOEXEC"), "{msg}");
    }
}

#[test]
fn relocations_for_init_and_fini_arrays_are_applied() {
    let mut m = clean();
    let init = typed_section(
        &mut m,
        ".init_array",
        elf::SHT_INIT_ARRAY,
        elf::SHF_ALLOC | elf::SHF_WRITE,
        &[0; 8],
    );
    reloc(&mut m.obj, init, 0, m.modevent, R_X86_64_64, 0);
    let fini = typed_section(
        &mut m,
        ".fini_array",
        elf::SHT_FINI_ARRAY,
        elf::SHF_ALLOC | elf::SHF_WRITE,
        &[0; 8],
    );
    reloc(&mut m.obj, fini, 0, m.modevent, R_X86_64_64, 0);
    let report = check_bytes(&write(&m.obj));
    assert!(report.is_ok(), "{:#?}", report.failures);
}

#[test]
fn relocations_for_debug_info_are_ignored() {
    // Neither the type (R_X86_64_32) nor the symbol matters: the kernel
    // does not apply tables whose target is not SHF_ALLOC.
    let mut m = clean();
    let debug = section(&mut m.obj, ".debug_info", SectionKind::Debug, &[0; 16]);
    let sym = undefined(&mut m.obj, "only_in_debug_info", false);
    reloc(&mut m.obj, debug, 0, sym, R_X86_64_32, 0);
    let report = check_bytes(&write(&m.obj));
    assert!(report.is_ok(), "{:#?}", report.failures);
    let only = report
        .undefined
        .iter()
        .find(|s| s.name == "only_in_debug_info")
        .unwrap();
    assert!(!only.referenced);
}

#[test]
fn a_read_only_sysinit_set_is_reported() {
    for name in ["set_sysinit_set", "set_sysuninit_set"] {
        let mut m = clean();
        let set = section(&mut m.obj, name, SectionKind::Data, &[0; 8]);
        reloc(&mut m.obj, set, 0, m.modevent, R_X86_64_64, 0);
        let writable = write(&m.obj);
        assert!(check_bytes(&writable).is_ok(), "{name}");

        let mut read_only = writable.clone();
        patch_section_flags(&mut read_only, name, elf::SHF_ALLOC.0);
        let report = check_bytes(&read_only);
        assert_eq!(
            report.failures,
            [Failure::ReadOnlySysinitSet {
                section: name.into()
            }]
        );
        let msg = report.failures[0].to_string();
        assert!(msg.contains("SHF_WRITE"), "{msg}");
        assert!(msg.contains("sorts it in place"), "{msg}");
    }
}

#[test]
fn a_second_section_of_one_linker_set_is_reported() {
    let mut m = clean();
    for _ in 0..2 {
        let set = section(&mut m.obj, "set_sysctl_set", SectionKind::Data, &[0; 8]);
        reloc(&mut m.obj, set, 0, m.modevent, R_X86_64_64, 0);
    }
    let report = check_bytes(&write(&m.obj));
    assert_eq!(
        report.failures,
        [Failure::DuplicateLinkerSet {
            section: "set_sysctl_set".into(),
            count: 2
        }]
    );
    assert!(report.failures[0].to_string().contains("use the first"));
}

#[test]
fn a_second_constructor_or_destructor_section_is_reported() {
    let mut m = clean();
    let flags = elf::SHF_ALLOC | elf::SHF_WRITE;
    for (name, sh_type) in [
        (".init_array", elf::SHT_INIT_ARRAY),
        (".init_array.00100", elf::SHT_INIT_ARRAY),
        (".fini_array", elf::SHT_FINI_ARRAY),
    ] {
        let s = typed_section(&mut m, name, sh_type, flags, &[0; 8]);
        reloc(&mut m.obj, s, 0, m.modevent, R_X86_64_64, 0);
    }
    // A PROGBITS section called .dtors counts as a destructor section.
    let dtors = section(&mut m.obj, ".dtors", SectionKind::Data, &[0; 8]);
    reloc(&mut m.obj, dtors, 0, m.modevent, R_X86_64_64, 0);
    let report = check_bytes(&write(&m.obj));
    assert_eq!(
        report.failures,
        [
            Failure::IgnoredCtorSection {
                section: ".init_array.00100".into(),
                used: ".init_array".into(),
                dtor: false,
            },
            Failure::IgnoredCtorSection {
                section: ".dtors".into(),
                used: ".fini_array".into(),
                dtor: true,
            },
        ]
    );
    let msg = report.failures[0].to_string();
    assert!(msg.contains("multiple ctor sections"), "{msg}");
    assert!(msg.contains("never run"), "{msg}");
    assert!(report.failures[1].to_string().contains("at unload"));
}

#[test]
fn unreferenced_undefined_symbols_are_not_looked_up() {
    // What sys/pcpu.h's __GLOBL leaves in every C file that includes it,
    // an unused prototype's symbol, a weak one, and one that only an
    // R_X86_64_NONE names: FreeBSD resolves none of them.
    let mut m = clean();
    let _ = undefined(&mut m.obj, "__start_set_pcpu", false);
    let _ = undefined(&mut m.obj, "__stop_set_pcpu", false);
    let _ = undefined(&mut m.obj, "declared_never_called", false);
    let _ = undefined(&mut m.obj, "weak_never_called", true);
    let none = undefined(&mut m.obj, "named_by_r_none", false);
    reloc(&mut m.obj, m.data, 112, none, R_X86_64_NONE, 0);
    let bytes = write(&m.obj);
    let report = check_bytes(&bytes);
    assert!(report.is_ok(), "{:#?}", report.failures);
    for name in [
        "__start_set_pcpu",
        "declared_never_called",
        "named_by_r_none",
    ] {
        let s = report.undefined.iter().find(|s| s.name == name).unwrap();
        assert!(!s.referenced, "{name}");
    }
    assert_eq!(kolink::kernel_symbols(&bytes).unwrap(), ["printf"]);
}

#[test]
fn referenced_undefined_symbols_are_still_judged() {
    let mut m = clean();
    let unlisted = undefined(&mut m.obj, "not_on_the_list", false);
    reloc(&mut m.obj, m.text, 5, unlisted, R_X86_64_PLT32, -4);
    let start = undefined(&mut m.obj, "__start_set_pcpu", false);
    reloc(&mut m.obj, m.data, 112, start, R_X86_64_64, 0);
    let report = check_bytes(&write(&m.obj));
    assert_eq!(
        report.failures,
        [
            Failure::MissingLinkerSet {
                symbol: "__start_set_pcpu".into(),
                section: "set_pcpu".into(),
            },
            Failure::SymbolNotAllowed {
                symbol: "not_on_the_list".into()
            },
        ]
    );
    assert!(report.failures[0].to_string().contains("set_pcpu"));
    assert!(report.failures[1].to_string().contains("not_on_the_list"));
}

#[test]
fn start_and_stop_symbols_bind_to_any_loaded_section() {
    // link_elf_fix_link_set matches the name after __start_/__stop_
    // against every loaded section, not only set_*.
    let mut m = clean();
    let mine = section(&mut m.obj, "my_table", SectionKind::Data, &[0; 16]);
    reloc(&mut m.obj, mine, 0, m.modevent, R_X86_64_64, 0);
    for name in ["__start_my_table", "__stop_my_table"] {
        let s = undefined(&mut m.obj, name, false);
        reloc(&mut m.obj, m.text, 5, s, R_X86_64_PC32, -4);
    }
    let bytes = write(&m.obj);
    let report = check_bytes(&bytes);
    assert!(report.is_ok(), "{:#?}", report.failures);
    assert_eq!(kolink::kernel_symbols(&bytes).unwrap(), ["printf"]);
}

#[test]
fn a_bound_to_the_first_loaded_section_is_reported() {
    // link_elf_fix_link_set stores the section's progtab position as
    // st_shndx; position 0 is SHN_UNDEF, and the lookup goes to the kernel.
    let mut obj = new_object();
    let first = section(&mut obj, "first_table", SectionKind::Data, &[0; 8]);
    let text = section(
        &mut obj,
        ".text",
        SectionKind::Text,
        &[0xe8, 0, 0, 0, 0, 0xc3],
    );
    let f = defined(
        &mut obj,
        "f",
        text,
        0,
        6,
        TEXT,
        SymbolScope::Compilation,
        false,
    );
    reloc(&mut obj, first, 0, f, R_X86_64_64, 0);
    let start = undefined(&mut obj, "__start_first_table", false);
    reloc(&mut obj, text, 1, start, R_X86_64_PC32, -4);
    let report = check_bytes(&write(&obj));
    let lost = Failure::LinkSetBoundLost {
        symbol: "__start_first_table".into(),
        section: "first_table".into(),
    };
    assert!(report.failures.contains(&lost), "{:#?}", report.failures);
    assert!(lost.to_string().contains("SHN_UNDEF"));
}
