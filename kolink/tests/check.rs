// SPDX-License-Identifier: BSD-2-Clause
//! Tests of `kolink check`, the metadata parser and `kolink size` on
//! synthetic module objects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::struct_excessive_bools,
    reason = "tests: a panic is a test failure; long tests read top to bottom; fault knobs are bools"
)]

mod common;

use common::module::{KERNEL_MAX, KERNEL_MIN, Metadata, Module};
use common::{defined, reloc, section, undefined, write};
use kolink::{Allowlist, Failure, ModuleDepend, check, parse_metadata};
use object::elf::{R_X86_64_32, R_X86_64_64, R_X86_64_GOTPCREL, R_X86_64_PC32};
use object::write::Object;
use object::{SectionFlags, SectionKind, SymbolScope};

/// Knobs for the synthetic module; the default is a clean module.
#[derive(Default, Clone, Copy)]
struct Faults {
    bad_reloc: bool,
    unlisted_symbol: bool,
    xmm: bool,
    tls: bool,
    no_kernel_dep: bool,
    no_metadata: bool,
    unloaded_relocated: bool,
    missing_set: bool,
}

/// The module of [`common::module`], plus optional faults.
fn module(f: Faults) -> Vec<u8> {
    let metadata = if f.no_metadata {
        Metadata::None
    } else if f.no_kernel_dep {
        Metadata::NoKernelDependency
    } else {
        Metadata::Full
    };
    // xorps %xmm0,%xmm0
    let extra: &[u8] = if f.xmm { &[0x0f, 0x57, 0xc0] } else { &[] };
    let Module {
        mut obj,
        text,
        data,
        modevent,
    } = common::module::module(metadata, extra);
    if f.bad_reloc {
        // One against a global symbol (relocate_file fails the load with
        // ENOENT), one against a local one, the section symbol
        // (link_elf_reloc_local fails it with ENOEXEC): both reported.
        let sym = undefined(&mut obj, "memset", false);
        reloc(&mut obj, text, 5, sym, R_X86_64_GOTPCREL, -4);
        let data_sym = obj.section_symbol(data);
        reloc(&mut obj, data, 112, data_sym, R_X86_64_32, 0);
    }
    if f.unlisted_symbol {
        let sym = undefined(&mut obj, "secret_kernel_fn", false);
        reloc(&mut obj, text, 5, sym, R_X86_64_PC32, -4);
    }
    if f.tls {
        let tdata = section(&mut obj, ".tdata", SectionKind::Tls, &[0; 8]);
        let _ = defined(
            &mut obj,
            "per_thread",
            tdata,
            0,
            8,
            object::SymbolKind::Tls,
            SymbolScope::Compilation,
            false,
        );
    }
    if f.unloaded_relocated {
        // .preinit_array: allocated, but not a type link_elf_load_file loads.
        let init = section(&mut obj, ".preinit_array", SectionKind::Data, &[0; 8]);
        obj.section_mut(init).flags = SectionFlags::Elf {
            sh_type: object::elf::SHT_PREINIT_ARRAY,
            sh_flags: object::elf::SHF_ALLOC | object::elf::SHF_WRITE,
        };
        reloc(&mut obj, init, 0, modevent, R_X86_64_64, 0);
    }
    if f.missing_set {
        // Used by the code, so loading must resolve it.
        let sym = undefined(&mut obj, "__start_set_sysinit_set", false);
        reloc(&mut obj, data, 112, sym, R_X86_64_64, 0);
    }
    write(&obj)
}

fn allowlist() -> Allowlist {
    Allowlist::parse("# test allowlist\nprintf  sys/systm.h\nmemset sys/systm.h\n").unwrap()
}

#[test]
fn clean_module_passes() {
    let report = check(&module(Faults::default()), &allowlist()).unwrap();
    assert!(report.is_ok(), "{:#?}", report.failures);
    let md = report.metadata.unwrap();
    assert_eq!(md.modules.len(), 1);
    assert_eq!(md.modules[0].name, "echo");
    let names: Vec<&str> = report.undefined.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "__start_set_modmetadata_set",
            "__stop_set_modmetadata_set",
            "printf"
        ]
    );
}

#[test]
fn metadata_parser_follows_relocations() {
    let md = parse_metadata(&module(Faults::default())).unwrap();
    // Three set entries: depend, module, version (the third via symbol+24).
    assert_eq!(
        md.depends,
        [ModuleDepend {
            name: "kernel".into(),
            minimum: KERNEL_MIN,
            preferred: KERNEL_MIN,
            maximum: KERNEL_MAX,
        }]
    );
    assert_eq!(md.kernel_dependency().unwrap().maximum, KERNEL_MAX);
    assert_eq!(md.modules.len(), 1);
    assert_eq!(md.modules[0].name, "echo");
    assert_eq!(md.versions.len(), 1);
    assert_eq!(md.versions[0].name, "echo");
    assert_eq!(md.versions[0].version, 1);
    assert!(md.other.is_empty());
}

#[test]
fn metadata_parser_reports_missing_set() {
    let err = parse_metadata(&module(Faults {
        no_metadata: true,
        ..Faults::default()
    }))
    .unwrap_err();
    assert!(matches!(err, kolink::Error::Metadata(_)), "{err:?}");
    assert!(err.to_string().contains("set_modmetadata_set"), "{err}");
}

#[test]
fn bad_relocation_type_is_reported() {
    let report = check(
        &module(Faults {
            bad_reloc: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    let bad: Vec<String> = report
        .failures
        .iter()
        .filter(|f| matches!(f, Failure::BadRelocation { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(bad.len(), 2, "{:#?}", report.failures);
    assert!(bad[0].contains(".text+0x5"), "{}", bad[0]);
    assert!(bad[0].contains("R_X86_64_GOTPCREL (9)"), "{}", bad[0]);
    assert!(bad[0].contains("memset"), "{}", bad[0]);
    assert!(bad[0].contains("kolink fix"), "{}", bad[0]);
    assert!(bad[1].contains(".data+0x70"), "{}", bad[1]);
    assert!(bad[1].contains("R_X86_64_32 (10)"), "{}", bad[1]);
}

#[test]
fn symbol_not_on_allowlist_is_reported() {
    let report = check(
        &module(Faults {
            unlisted_symbol: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert_eq!(
        report.failures,
        [Failure::SymbolNotAllowed {
            symbol: "secret_kernel_fn".into()
        }]
    );
    assert!(report.failures[0].to_string().contains("secret_kernel_fn"));
}

#[test]
fn a_symbol_with_a_known_cause_gets_its_fix() {
    let puts = Failure::SymbolNotAllowed {
        symbol: "puts".into(),
    }
    .to_string();
    assert!(puts.contains("not a kernel symbol"), "{puts}");
    assert!(puts.contains("#![no_builtins]"), "{puts}");
    let bzero = Failure::SymbolNotAllowed {
        symbol: "bzero".into(),
    }
    .to_string();
    assert!(bzero.contains("call memmove, memset or memcmp"), "{bzero}");
    let other = Failure::SymbolNotAllowed {
        symbol: "secret_kernel_fn".into(),
    }
    .to_string();
    assert!(other.contains("add it with the header"), "{other}");
}

#[test]
fn xmm_instruction_is_reported() {
    let report = check(
        &module(Faults {
            xmm: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert_eq!(report.failures.len(), 1, "{:#?}", report.failures);
    let msg = report.failures[0].to_string();
    assert!(matches!(report.failures[0], Failure::Code(_)));
    assert!(msg.contains(".text+0xd"), "{msg}");
    assert!(msg.contains("xorps"), "{msg}");
    assert!(msg.contains("%xmm0"), "{msg}");
}

#[test]
fn tls_is_reported() {
    let report = check(
        &module(Faults {
            tls: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert!(
        report.failures.contains(&Failure::TlsSection {
            section: ".tdata".into()
        }),
        "{:#?}",
        report.failures
    );
    assert!(
        report.failures.contains(&Failure::TlsSymbol {
            symbol: "per_thread".into()
        }),
        "{:#?}",
        report.failures
    );
}

#[test]
fn missing_kernel_dependency_is_reported() {
    let report = check(
        &module(Faults {
            no_kernel_dep: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert_eq!(report.failures, [Failure::NoKernelDependency]);
    // The metadata was still parsed: the dependency is on "echo".
    assert_eq!(report.metadata.unwrap().depends[0].name, "echo");
}

#[test]
fn missing_metadata_is_reported() {
    let report = check(
        &module(Faults {
            no_metadata: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert!(
        matches!(report.failures.as_slice(), [Failure::Metadata(m)] if m.contains("set_modmetadata_set")),
        "{:#?}",
        report.failures
    );
}

#[test]
fn relocated_section_the_kernel_does_not_load_is_reported() {
    let report = check(
        &module(Faults {
            unloaded_relocated: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert_eq!(
        report.failures,
        [Failure::RelocatedSectionNotLoaded {
            section: ".preinit_array".into(),
            sh_type: object::elf::SHT_PREINIT_ARRAY.0,
            count: 1,
        }]
    );
    let msg = report.failures[0].to_string();
    assert!(msg.contains("lost base for reltab"), "{msg}");
}

#[test]
fn linker_set_bound_without_its_section_is_reported() {
    let report = check(
        &module(Faults {
            missing_set: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    assert_eq!(
        report.failures,
        [Failure::MissingLinkerSet {
            symbol: "__start_set_sysinit_set".into(),
            section: "set_sysinit_set".into(),
        }]
    );
}

#[test]
fn all_failures_are_listed_together() {
    let report = check(
        &module(Faults {
            bad_reloc: true,
            unlisted_symbol: true,
            xmm: true,
            tls: true,
            no_kernel_dep: true,
            ..Faults::default()
        }),
        &allowlist(),
    )
    .unwrap();
    let kinds: Vec<&str> = report
        .failures
        .iter()
        .map(|f| match f {
            Failure::BadRelocation { .. } => "reloc",
            Failure::SymbolNotAllowed { .. } => "symbol",
            Failure::Code(_) => "code",
            Failure::TlsSection { .. } | Failure::TlsSymbol { .. } => "tls",
            Failure::NoKernelDependency => "kernel",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["reloc", "reloc", "symbol", "code", "tls", "tls", "kernel"],
        "{:#?}",
        report.failures
    );
}

#[test]
fn size_classifies_sections() {
    let sizes = kolink::size(&module(Faults::default())).unwrap();
    assert_eq!(sizes.text, 13);
    assert_eq!(sizes.rodata, 12);
    // .data (120) + set_modmetadata_set (24).
    assert_eq!(sizes.data, 144);
    assert_eq!(sizes.bss, 0);
    assert_eq!(sizes.total(), 169);
    // printf only: the linker-set bounds are not kernel symbols.
    assert_eq!(sizes.kernel_symbols, 1);
    assert_eq!(
        kolink::kernel_symbols(&module(Faults::default())).unwrap(),
        ["printf"]
    );
}

#[test]
fn not_an_elf_file_is_an_error() {
    let err = check(b"not an ELF file at all", &allowlist()).unwrap_err();
    assert!(matches!(err, kolink::Error::Format(_)), "{err:?}");
    let mut obj = Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::Aarch64,
        object::Endianness::Little,
    );
    let _ = section(&mut obj, ".text", SectionKind::Text, &[0; 4]);
    let err = kolink::size(&write(&obj)).unwrap_err();
    assert!(err.to_string().contains("EM_X86_64"), "{err}");
}

#[test]
fn check_file_is_a_gate_listing_every_failure() {
    let dir = common::scratch("check-gate");
    let allow = dir.join("allow.txt");
    std::fs::write(&allow, "printf sys/systm.h\n").unwrap();
    let good = dir.join("good.ko");
    std::fs::write(&good, module(Faults::default())).unwrap();
    kolink::check_file(&good, &allow).unwrap();

    let bad = dir.join("bad.ko");
    let faults = Faults {
        unlisted_symbol: true,
        xmm: true,
        ..Faults::default()
    };
    std::fs::write(&bad, module(faults)).unwrap();
    let err = kolink::check_file(&bad, &allow).unwrap_err();
    let kolink::Error::Check { failures } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(failures.len(), 2);
    let msg = err.to_string();
    assert!(msg.starts_with("2 problem(s)"), "{msg}");
    assert!(msg.contains("secret_kernel_fn"), "{msg}");
    assert!(msg.contains("xorps"), "{msg}");

    let table = kolink::size_table(&[&good, &bad]).unwrap();
    assert_eq!(table.lines().count(), 3);
    assert!(table.lines().nth(2).unwrap().ends_with("bad.ko"), "{table}");
}
