// SPDX-License-Identifier: BSD-2-Clause
//! Tests of `kolink fix` on section types `object`'s builder cannot parse:
//! COMDAT groups are renumbered, `.llvm_addrsig` is dropped, unknown types
//! are rejected by name.

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

use common::{
    TEXT, defined, new_object, parse, patch_section_type, reloc, section, undefined, write,
};
use kolink::{FixOptions, fix};
use object::elf::{self, R_X86_64_GOTPCRELX, R_X86_64_PLT32};
use object::write::{Comdat, SymbolSection};
use object::{ComdatKind, SectionKind, SymbolScope};

const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// `.llvm_addrsig` first (so dropping it shifts every later section), then
/// code with a COMDAT group and a GOT reference.
fn grouped_object() -> Vec<u8> {
    let mut obj = new_object();
    let _addrsig = section(&mut obj, ".llvm_addrsig", SectionKind::Other, &[1, 2, 3]);
    let text = section(
        &mut obj,
        ".text",
        SectionKind::Text,
        &[0xff, 0x15, 0, 0, 0, 0, 0xc3],
    );
    let inline = section(
        &mut obj,
        ".text.inline_fn",
        SectionKind::Text,
        &[0xe8, 0, 0, 0, 0, 0xc3],
    );
    // Undefined before defined, so localization reorders the signature.
    let ext = undefined(&mut obj, "ext_fn", false);
    let sig = defined(
        &mut obj,
        "inline_fn",
        inline,
        0,
        6,
        TEXT,
        SymbolScope::Dynamic,
        false,
    );
    let _ = defined(
        &mut obj,
        "caller",
        text,
        0,
        7,
        TEXT,
        SymbolScope::Dynamic,
        false,
    );
    obj.add_comdat(Comdat {
        kind: ComdatKind::Any,
        symbol: sig,
        sections: vec![inline],
    });
    reloc(&mut obj, text, 2, ext, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, inline, 1, ext, R_X86_64_PLT32, -4);
    let mut bytes = write(&obj);
    patch_section_type(&mut bytes, ".llvm_addrsig", SHT_LLVM_ADDRSIG);
    bytes
}

#[test]
fn groups_are_renumbered_and_addrsig_dropped() {
    let input = grouped_object();
    let before = parse(&input);
    assert_eq!(before.section(".llvm_addrsig").sh_type, SHT_LLVM_ADDRSIG);
    assert_eq!(before.section(".group").sh_type, elf::SHT_GROUP.0);

    let fixed = fix(&input, &FixOptions::default()).unwrap();
    assert_eq!(fixed.report.dropped_sections, [".llvm_addrsig"]);
    assert_eq!(fixed.report.groups, 1);
    assert_eq!(fixed.report.got.relaxed_calls, 1);

    let after = parse(&fixed.object);
    assert!(!after.has_section(".llvm_addrsig"));
    let group = after.section(".group");
    assert_eq!(group.sh_type, elf::SHT_GROUP.0);
    // sh_link: the symbol table; sh_info: the signature symbol's new index.
    assert_eq!(after.sections[group.link as usize].name, ".symtab");
    let signature = &after.symbols[group.info as usize];
    assert_eq!(signature.name, "inline_fn");
    // Contents: GRP_COMDAT, then member section indices.
    let words: Vec<u32> = group
        .data
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(words[0], elf::GRP_COMDAT.0);
    let members: Vec<&str> = words[1..]
        .iter()
        .map(|&i| after.sections[i as usize].name.as_str())
        .collect();
    assert_eq!(members[0], ".text.inline_fn");
    // Its relocation section is a member too when the writer puts one in.
    for m in &members[1..] {
        assert_eq!(*m, ".rela.text.inline_fn");
    }
    // Relocations of the group member still resolve by name.
    let r = after.reloc_at(".text.inline_fn", 1);
    assert_eq!((r.r_type, r.symbol.as_str()), (R_X86_64_PLT32.0, "ext_fn"));
    after.assert_only_accepted_relocations();

    if let Some(readelf) = common::tool("readelf") {
        let dir = common::scratch("sections-readelf");
        let path = dir.join("grouped.ko");
        std::fs::write(&path, &fixed.object).unwrap();
        let out = std::process::Command::new(readelf)
            .arg("-gW")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("[inline_fn]"), "{text}");
        assert!(text.contains(".text.inline_fn"), "{text}");
    }
}

#[test]
fn unknown_section_type_is_rejected_by_name() {
    let mut obj = new_object();
    let _ = section(&mut obj, ".text", SectionKind::Text, &[0xc3]);
    let _ = section(&mut obj, ".weird", SectionKind::Other, &[0; 4]);
    let mut bytes = write(&obj);
    patch_section_type(&mut bytes, ".weird", 0x6abc_0001);
    let err = fix(&bytes, &FixOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(".weird"), "{msg}");
    assert!(msg.contains("0x6abc0001"), "{msg}");
}

#[test]
fn common_symbols_are_left_alone_and_reported_by_check() {
    let mut obj = new_object();
    let _ = section(&mut obj, ".text", SectionKind::Text, &[0xc3]);
    let _ = obj.add_symbol(object::write::Symbol {
        name: b"shared_counter".to_vec(),
        value: 8,
        size: 8,
        kind: object::SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Common,
        flags: object::SymbolFlags::None,
    });
    let fixed = fix(&write(&obj), &FixOptions::default()).unwrap();
    let after = parse(&fixed.object);
    let common = after.symbol("shared_counter");
    assert_eq!(
        (common.bind, common.section.as_str()),
        (elf::STB_GLOBAL.0, "COM")
    );
    let report = kolink::check(&fixed.object, &kolink::Allowlist::default()).unwrap();
    assert!(
        report.failures.contains(&kolink::Failure::CommonSymbol {
            symbol: "shared_counter".into()
        }),
        "{:#?}",
        report.failures
    );
}
