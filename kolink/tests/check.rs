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

use common::{DATA, TEXT, defined, new_object, reloc, section, undefined, write};
use kolink::metadata::{MDT_DEPEND, MDT_MODULE, MDT_VERSION};
use kolink::{Allowlist, Failure, ModuleDepend, check, parse_metadata};
use object::elf::{R_X86_64_32, R_X86_64_64, R_X86_64_GOTPCREL, R_X86_64_PC32, R_X86_64_PLT32};
use object::write::{Object, SectionId};
use object::{SectionFlags, SectionKind, SymbolScope};

const KERNEL_MIN: i32 = 1_500_000;
const KERNEL_MAX: i32 = 1_599_999;

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

/// `mod_metadata` fields appended to `.data` at `at`, with relocated
/// pointers for `md_data` (section + offset) and `md_cval` (.rodata + offset).
fn mod_metadata(
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

/// A module object shaped like `DECLARE_MODULE(echo, ...)` +
/// `MODULE_VERSION(echo, 1)` in C, plus optional faults.
fn module(f: Faults) -> Vec<u8> {
    let mut obj = new_object();
    #[rustfmt::skip]
    let mut code = vec![
        0x55,                         // push %rbp
        0x48, 0x89, 0xe5,             // mov %rsp,%rbp
        0xe8, 0, 0, 0, 0,             // call printf
        0x31, 0xc0,                   // xor %eax,%eax
        0x5d,                         // pop %rbp
        0xc3,                         // ret
    ];
    if f.xmm {
        code.extend_from_slice(&[0x0f, 0x57, 0xc0]); // xorps %xmm0,%xmm0
    }
    let text = section(&mut obj, ".text", SectionKind::Text, &code);
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

    if !f.no_metadata {
        if f.no_kernel_dep {
            // A dependency on another module only.
            mod_metadata(&mut obj, data, 24, MDT_DEPEND, (data, 0), (rodata, 0));
        } else {
            mod_metadata(&mut obj, data, 24, MDT_DEPEND, (data, 0), (rodata, 5));
        }
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
        // What __MAKE_SET's __GLOBL leaves behind.
        let start = undefined(&mut obj, "__start_set_modmetadata_set", false);
        let stop = undefined(&mut obj, "__stop_set_modmetadata_set", false);
        let _ = (start, stop);
    }
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
        let init = section(&mut obj, ".init_array", SectionKind::Data, &[0; 8]);
        obj.section_mut(init).flags = SectionFlags::Elf {
            sh_type: object::elf::SHT_INIT_ARRAY,
            sh_flags: object::elf::SHF_ALLOC | object::elf::SHF_WRITE,
        };
        reloc(&mut obj, init, 0, modevent, R_X86_64_64, 0);
    }
    if f.missing_set {
        let _ = undefined(&mut obj, "__start_set_sysinit_set", false);
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
            section: ".init_array".into(),
            sh_type: object::elf::SHT_INIT_ARRAY.0,
            count: 1,
        }]
    );
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
