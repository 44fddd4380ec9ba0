// SPDX-License-Identifier: BSD-2-Clause
//! Tests of symbol localization (`kolink::localize`, via `kolink::fix`).

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

use common::{DATA, TEXT, defined, new_object, parse, reloc, section, undefined, write};
use kolink::{FixOptions, fix};
use object::elf::{
    self, R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, STB_GLOBAL, STB_LOCAL, STB_WEAK, STV_DEFAULT,
    STV_HIDDEN,
};
use object::write::{Symbol, SymbolSection};
use object::{SectionKind, SymbolFlags, SymbolKind, SymbolScope};

/// An object with every kind of symbol binding and relocations against each.
fn symbols_object() -> Vec<u8> {
    let mut obj = new_object();
    obj.add_file_symbol(b"module.c".to_vec());
    let text = section(&mut obj, ".text", SectionKind::Text, &[0x90; 32]);
    let data = section(&mut obj, ".data", SectionKind::Data, &[0; 48]);
    let text_sym = obj.section_symbol(text);
    // Undefined first, so that the input interleaves locals and globals.
    let printf = undefined(&mut obj, "printf", false);
    let opt = undefined(&mut obj, "optional_hook", true);
    let start = undefined(&mut obj, "__start_set_sysinit_set", false);
    let entry = defined(
        &mut obj,
        "echo_entry",
        text,
        0,
        16,
        TEXT,
        SymbolScope::Dynamic,
        false,
    );
    // compiler_builtins style: weak + hidden.
    let memset = defined(
        &mut obj,
        "memset",
        text,
        16,
        16,
        TEXT,
        SymbolScope::Linkage,
        true,
    );
    let static_var = defined(
        &mut obj,
        "static_var",
        data,
        8,
        8,
        DATA,
        SymbolScope::Compilation,
        false,
    );
    let weak_data = defined(
        &mut obj,
        "weak_data",
        data,
        16,
        8,
        DATA,
        SymbolScope::Dynamic,
        true,
    );
    let abs = obj.add_symbol(Symbol {
        name: b"ABS_CONST".to_vec(),
        value: 42,
        size: 0,
        kind: SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Absolute,
        flags: SymbolFlags::None,
    });
    reloc(&mut obj, text, 1, printf, R_X86_64_PLT32, -4);
    reloc(&mut obj, text, 6, entry, R_X86_64_PC32, -4);
    reloc(&mut obj, text, 11, text_sym, R_X86_64_PC32, 12);
    reloc(&mut obj, data, 0, memset, R_X86_64_64, 0);
    reloc(&mut obj, data, 8, static_var, R_X86_64_64, 0);
    reloc(&mut obj, data, 16, opt, R_X86_64_64, 0);
    reloc(&mut obj, data, 24, start, R_X86_64_64, 0);
    reloc(&mut obj, data, 32, weak_data, R_X86_64_64, 8);
    reloc(&mut obj, data, 40, abs, R_X86_64_64, 0);
    write(&obj)
}

#[test]
fn defined_symbols_become_local_undefined_stay_global() {
    let input = symbols_object();
    let before = parse(&input);
    assert_eq!(before.symbol("memset").visibility, STV_HIDDEN.0);
    assert_eq!(before.symbol("memset").bind, STB_WEAK.0);

    let fixed = fix(&input, &FixOptions::default()).unwrap();
    // echo_entry, memset, weak_data, ABS_CONST.
    assert_eq!(fixed.report.localize.localized, 4);
    let after = parse(&fixed.object);

    for name in [
        "echo_entry",
        "memset",
        "static_var",
        "weak_data",
        "ABS_CONST",
    ] {
        let (b, a) = (before.symbol(name), after.symbol(name));
        assert_eq!(a.bind, STB_LOCAL.0, "{name}");
        assert_eq!(a.visibility, STV_DEFAULT.0, "{name}");
        assert_eq!(
            (&a.section, a.value, a.size, a.st_type),
            (&b.section, b.value, b.size, b.st_type),
            "{name}"
        );
    }
    for (name, bind) in [
        ("printf", STB_GLOBAL),
        ("optional_hook", STB_WEAK),
        ("__start_set_sysinit_set", STB_GLOBAL),
    ] {
        let s = after.symbol(name);
        assert_eq!((s.bind, s.section.as_str()), (bind.0, "UND"), "{name}");
    }
    // File and section symbols unchanged.
    let file = after.symbol("module.c");
    assert_eq!((file.bind, file.st_type), (STB_LOCAL.0, elf::STT_FILE.0));
    let text = after
        .symbols
        .iter()
        .find(|s| s.st_type == elf::STT_SECTION.0 && s.section == ".text")
        .unwrap();
    assert_eq!(text.bind, STB_LOCAL.0);

    // Only the three undefined symbols are global, and they come last.
    assert_eq!(after.symbols.len() - after.first_global, 3);
}

#[test]
fn relocations_still_name_the_same_symbols() {
    let input = symbols_object();
    let mut before = parse(&input).relocs;
    let mut after = parse(&fix(&input, &FixOptions::default()).unwrap().object).relocs;
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(after.len(), 9);
}

#[test]
fn readelf_agrees() {
    let dir = common::scratch("localize-readelf");
    let path = dir.join("fixed.o");
    let fixed = fix(&symbols_object(), &FixOptions::default()).unwrap();
    std::fs::write(&path, &fixed.object).unwrap();
    let Some(binds) = common::readelf_binds(&path) else {
        println!("readelf not installed; skipping readelf cross-check");
        return;
    };
    let ours = parse(&fixed.object);
    let mut seen = 0;
    for (name, bind) in binds {
        let expected = match ours.symbol(&name).bind {
            0 => "LOCAL",
            1 => "GLOBAL",
            2 => "WEAK",
            other => panic!("unexpected bind {other}"),
        };
        assert_eq!(bind, expected, "{name}");
        seen += 1;
    }
    // readelf lists every named symbol (section symbols print with names too).
    assert!(seen >= 10, "readelf listed {seen} symbols");
}

#[test]
fn fix_is_idempotent() {
    let once = fix(&symbols_object(), &FixOptions::default()).unwrap();
    let twice = fix(&once.object, &FixOptions::default()).unwrap();
    assert_eq!(twice.report.localize.localized, 0);
    assert_eq!(twice.report.got.total(), 0);
    assert_eq!(parse(&once.object).relocs, parse(&twice.object).relocs);
}
