// SPDX-License-Identifier: BSD-2-Clause
//! Tests of the GOT rewrite (`kolink::got`) on synthetic objects built with
//! `object::write`: every instruction form, before and after.

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

use common::{DATA, defined, new_object, parse, reloc, section, undefined, write};
use kolink::{FixOptions, fix};
use object::elf::{
    self, R_X86_64_64, R_X86_64_GOTOFF64, R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_PC32,
    R_X86_64_REX_GOTPCRELX,
};
use object::{SectionKind, SymbolScope};

/// Offsets of the 32-bit fields in [`CODE`].
const CALL: u64 = 0x02;
const JMP: u64 = 0x08;
const MOV32: u64 = 0x0e;
const MOV64: u64 = 0x15;
const CMP: u64 = 0x1c;
const PLAIN: u64 = 0x23;
const CMPQ_IMM: u64 = 0x2a;
const CMP_AGAIN: u64 = 0x32;

/// One instance of each GOT reference form (AT&T syntax).
#[rustfmt::skip]
const CODE: [u8; 0x37] = [
    0xff, 0x15, 0, 0, 0, 0,             // 0x00 call *memset@GOTPCREL(%rip)
    0xff, 0x25, 0, 0, 0, 0,             // 0x06 jmp *memcpy@GOTPCREL(%rip)
    0x8b, 0x05, 0, 0, 0, 0,             // 0x0c mov counter@GOTPCREL(%rip), %eax
    0x48, 0x8b, 0x0d, 0, 0, 0, 0,       // 0x12 mov ext_data@GOTPCREL(%rip), %rcx
    0x48, 0x3b, 0x05, 0, 0, 0, 0,       // 0x19 cmp cmp_sym@GOTPCREL(%rip), %rax
    0x48, 0x8b, 0x05, 0, 0, 0, 0,       // 0x20 mov plain@GOTPCREL(%rip), %rax (plain GOTPCREL)
    0x48, 0x83, 0x3d, 0, 0, 0, 0, 0x01, // 0x27 cmpq $1, addend_sym@GOTPCREL(%rip)
    0x48, 0x3b, 0x05, 0, 0, 0, 0,       // 0x2f cmp cmp_sym@GOTPCREL(%rip), %rax
    0xc3,                               // 0x36 ret
];

/// Builds the object: `.text` = [`CODE`] with its relocations, `.data` with
/// the locally defined `counter`, `.data.addend` with the global
/// `addend_sym`, and `.data.ref` holding a data-side `plain@GOTPCREL`.
fn got_object() -> Vec<u8> {
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &CODE);
    let data = section(&mut obj, ".data", SectionKind::Data, &[0; 8]);
    let bss = section(&mut obj, ".data.addend", SectionKind::Data, &[0; 8]);
    let memset = undefined(&mut obj, "memset", false);
    let memcpy = undefined(&mut obj, "memcpy", false);
    let counter = defined(
        &mut obj,
        "counter",
        data,
        0,
        4,
        DATA,
        SymbolScope::Compilation,
        false,
    );
    let ext_data = undefined(&mut obj, "ext_data", false);
    let cmp_sym = undefined(&mut obj, "cmp_sym", false);
    let plain = undefined(&mut obj, "plain", false);
    let addend_sym = defined(
        &mut obj,
        "addend_sym",
        bss,
        0,
        8,
        DATA,
        SymbolScope::Dynamic,
        false,
    );
    reloc(&mut obj, text, CALL, memset, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, JMP, memcpy, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, MOV32, counter, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, MOV64, ext_data, R_X86_64_REX_GOTPCRELX, -4);
    reloc(&mut obj, text, CMP, cmp_sym, R_X86_64_REX_GOTPCRELX, -4);
    reloc(&mut obj, text, PLAIN, plain, R_X86_64_GOTPCREL, -4);
    // The immediate follows the displacement, so the addend is -5.
    reloc(
        &mut obj,
        text,
        CMPQ_IMM,
        addend_sym,
        R_X86_64_REX_GOTPCRELX,
        -5,
    );
    reloc(&mut obj, text, CMP_AGAIN, cmp_sym, R_X86_64_GOTPCREL, -4);
    // Not in code: never relaxed.
    let data_ref = section(&mut obj, ".data.ref", SectionKind::Data, &[0; 4]);
    reloc(&mut obj, data_ref, 0, plain, R_X86_64_GOTPCREL, 0);
    write(&obj)
}

#[test]
fn input_has_the_expected_got_relocations() {
    let before = parse(&got_object());
    let types: Vec<u32> = before.relocs_in(".text").iter().map(|r| r.r_type).collect();
    assert_eq!(types, [41, 41, 41, 42, 42, 9, 42, 9]);
    assert_eq!(before.relocs_in(".data.ref")[0].r_type, 9);
    assert_eq!(before.section(".text").data, CODE);
}

#[test]
fn rewrites_every_form() {
    let fixed = fix(&got_object(), &FixOptions::default()).unwrap();
    let report = &fixed.report.got;
    assert_eq!(report.relaxed_calls, 1);
    assert_eq!(report.relaxed_jumps, 1);
    assert_eq!(report.relaxed_movs, 3);
    assert_eq!(report.slot_references, 4);
    assert_eq!(report.slot_symbols, ["cmp_sym", "addend_sym", "plain"]);
    assert_eq!(report.total(), 9);

    let after = parse(&fixed.object);
    let text = &after.section(".text").data;
    let pc32 = R_X86_64_PC32.0;

    // call *memset@GOTPCREL(%rip) -> addr32 call memset
    assert_eq!(text[0x00..0x06], [0x67, 0xe8, 0, 0, 0, 0]);
    let r = after.reloc_at(".text", CALL);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "memset", -4)
    );

    // jmp *memcpy@GOTPCREL(%rip) -> jmp memcpy; nop, field one byte earlier
    assert_eq!(text[0x06..0x0c], [0xe9, 0, 0, 0, 0, 0x90]);
    let r = after.reloc_at(".text", JMP - 1);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "memcpy", -4)
    );

    // mov counter@GOTPCREL(%rip), %eax -> lea counter(%rip), %eax
    assert_eq!(text[0x0c..0x0e], [0x8d, 0x05]);
    let r = after.reloc_at(".text", MOV32);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "counter", -4)
    );

    // mov ext_data@GOTPCREL(%rip), %rcx -> lea ext_data(%rip), %rcx (REX kept)
    assert_eq!(text[0x12..0x15], [0x48, 0x8d, 0x0d]);
    let r = after.reloc_at(".text", MOV64);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "ext_data", -4)
    );

    // cmp: not relaxable, goes through the slot; bytes unchanged.
    assert_eq!(text[0x19..0x1c], [0x48, 0x3b, 0x05]);
    let r = after.reloc_at(".text", CMP);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "__kolink_got.cmp_sym", -4)
    );

    // Plain GOTPCREL (what rustc emits): relaxed too, the instruction
    // having been decoded.
    assert_eq!(text[0x20..0x23], [0x48, 0x8d, 0x05]);
    let r = after.reloc_at(".text", PLAIN);
    assert_eq!((r.r_type, r.symbol.as_str(), r.addend), (pc32, "plain", -4));

    // Nonzero (non -4) addend: slot, addend kept.
    assert_eq!(text[0x27..0x2a], [0x48, 0x83, 0x3d]);
    let r = after.reloc_at(".text", CMPQ_IMM);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "__kolink_got.addend_sym", -5)
    );

    // Second reference to cmp_sym shares its slot.
    assert_eq!(text[0x2f..0x32], [0x48, 0x3b, 0x05]);
    let r = after.reloc_at(".text", CMP_AGAIN);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "__kolink_got.cmp_sym", -4)
    );

    // Nothing else in .text changed.
    assert_eq!(text[0x2f..], CODE[0x2f..]);
    assert_eq!(text.len(), CODE.len());

    // The data-side reference goes through the slot, addend kept.
    assert_eq!(after.section(".data.ref").data, [0; 4]);
    let r = after.reloc_at(".data.ref", 0);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (pc32, "__kolink_got.plain", 0)
    );

    // The GOT: three zeroed slots, each relocated by R_X86_64_64.
    let got = after.section(".kolink.got");
    assert_eq!(got.sh_type, elf::SHT_PROGBITS.0);
    assert_eq!(got.flags, (elf::SHF_ALLOC | elf::SHF_WRITE).0);
    assert_eq!(got.align, 8);
    assert_eq!(got.data, [0; 24]);
    let slots: Vec<(u64, u32, &str, i64)> = after
        .relocs_in(".kolink.got")
        .iter()
        .map(|r| (r.offset, r.r_type, r.symbol.as_str(), r.addend))
        .collect();
    let abs64 = R_X86_64_64.0;
    assert_eq!(
        slots,
        [
            (0, abs64, "cmp_sym", 0),
            (8, abs64, "addend_sym", 0),
            (16, abs64, "plain", 0)
        ]
    );
    for (name, value) in [
        ("__kolink_got.cmp_sym", 0),
        ("__kolink_got.addend_sym", 8),
        ("__kolink_got.plain", 16),
    ] {
        let s = after.symbol(name);
        assert_eq!(s.section, ".kolink.got");
        assert_eq!(s.value, value);
        assert_eq!(s.size, 8);
        assert_eq!(s.bind, elf::STB_LOCAL.0);
    }
    assert_eq!(after.section(".rela.kolink.got").sh_type, elf::SHT_RELA.0);

    after.assert_only_accepted_relocations();
    // The result passes `check`'s relocation test.
    let report = kolink::check(&fixed.object, &kolink::Allowlist::default()).unwrap();
    assert!(
        !report
            .failures
            .iter()
            .any(|f| matches!(f, kolink::Failure::BadRelocation { .. })),
        "{:#?}",
        report.failures
    );
}

#[test]
fn no_relax_puts_everything_in_slots() {
    let fixed = fix(
        &got_object(),
        &FixOptions {
            relax: false,
            ..FixOptions::default()
        },
    )
    .unwrap();
    let report = &fixed.report.got;
    assert_eq!(
        (
            report.relaxed_calls,
            report.relaxed_jumps,
            report.relaxed_movs
        ),
        (0, 0, 0)
    );
    assert_eq!(report.slot_references, 9);
    assert_eq!(report.slot_symbols.len(), 7);
    let after = parse(&fixed.object);
    // Instruction bytes untouched.
    assert_eq!(after.section(".text").data, CODE);
    assert_eq!(after.section(".kolink.got").data.len(), 7 * 8);
    let r = after.reloc_at(".text", CALL);
    assert_eq!(
        (r.r_type, r.symbol.as_str(), r.addend),
        (R_X86_64_PC32.0, "__kolink_got.memset", -4)
    );
    after.assert_only_accepted_relocations();
}

#[test]
fn no_got_section_without_slots() {
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &CODE[..0x0c]);
    let memset = undefined(&mut obj, "memset", false);
    reloc(&mut obj, text, CALL, memset, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, JMP, memset, R_X86_64_GOTPCRELX, -4);
    let fixed = fix(&write(&obj), &FixOptions::default()).unwrap();
    assert!(fixed.report.got.slot_symbols.is_empty());
    let after = parse(&fixed.object);
    assert!(!after.has_section(".kolink.got"));
    assert!(!after.has_section(".rela.kolink.got"));
    assert!(
        !after
            .symbols
            .iter()
            .any(|s| s.name.starts_with("__kolink_got."))
    );
    after.assert_only_accepted_relocations();
}

#[test]
fn unmatched_bytes_and_special_symbols_use_slots() {
    #[rustfmt::skip]
    let code = [
        0xff, 0x35, 0, 0, 0, 0,        // 0x00 push *a@GOTPCREL(%rip)
        0x8b, 0x04, 0x25, 0, 0, 0, 0,  // 0x06 mov 0(,%riz), %eax: ModRM not RIP-relative
        0xff, 0x15, 0, 0, 0, 0,        // 0x0d call *weak_fn@GOTPCREL(%rip)
        0x48, 0x8b, 0x05, 0, 0, 0, 0,  // 0x13 mov abs_sym@GOTPCREL(%rip), %rax
        0xc3,
    ];
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &code);
    let a = undefined(&mut obj, "a", false);
    let b = undefined(&mut obj, "b", false);
    let weak_fn = undefined(&mut obj, "weak_fn", true);
    let abs_sym = obj.add_symbol(object::write::Symbol {
        name: b"abs_sym".to_vec(),
        value: 0x1000,
        size: 0,
        kind: DATA,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: object::write::SymbolSection::Absolute,
        flags: object::SymbolFlags::None,
    });
    reloc(&mut obj, text, 0x02, a, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, 0x09, b, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, 0x0f, weak_fn, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, text, 0x16, abs_sym, R_X86_64_REX_GOTPCRELX, -4);
    let fixed = fix(&write(&obj), &FixOptions::default()).unwrap();
    assert_eq!(fixed.report.got.total(), 4);
    assert_eq!(fixed.report.got.slot_references, 4);
    let after = parse(&fixed.object);
    assert_eq!(after.section(".text").data, code);
    for (offset, slot) in [
        (0x02, "__kolink_got.a"),
        (0x09, "__kolink_got.b"),
        (0x0f, "__kolink_got.weak_fn"),
        (0x16, "__kolink_got.abs_sym"),
    ] {
        assert_eq!(after.reloc_at(".text", offset).symbol, slot);
    }
    // The weak undefined target stays weak undefined.
    let weak = after.symbol("weak_fn");
    assert_eq!((weak.bind, weak.section.as_str()), (elf::STB_WEAK.0, "UND"));
    after.assert_only_accepted_relocations();
}

#[test]
fn matching_bytes_inside_another_instruction_are_not_relaxed() {
    // `mov $0x15ff9090, %eax` hides `ff 15` in its immediate; the field that
    // follows is a nop sled, not a displacement.
    let code = [0xb8, 0x90, 0x90, 0xff, 0x15, 0x90, 0x90, 0x90, 0x90, 0xc3];
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &code);
    let f = undefined(&mut obj, "ext_fn", false);
    reloc(&mut obj, text, 5, f, R_X86_64_GOTPCREL, -4);
    let fixed = fix(&write(&obj), &FixOptions::default()).unwrap();
    assert_eq!(fixed.report.got.slot_references, 1);
    let after = parse(&fixed.object);
    assert_eq!(after.section(".text").data, code);
    assert_eq!(after.reloc_at(".text", 5).symbol, "__kolink_got.ext_fn");
}

#[test]
fn large_model_got_relocations_are_rejected() {
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &[0; 16]);
    let sym = undefined(&mut obj, "far_away", false);
    reloc(&mut obj, text, 2, sym, R_X86_64_GOTOFF64, 0);
    let err = fix(&write(&obj), &FixOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, kolink::Error::Unsupported(_)), "{err:?}");
    assert!(msg.contains("R_X86_64_GOTOFF64"), "{msg}");
    assert!(msg.contains(".text+0x2"), "{msg}");
    assert!(msg.contains("far_away"), "{msg}");
}

#[test]
fn other_relocations_and_sections_are_preserved() {
    let mut obj = new_object();
    let text = section(&mut obj, ".text", SectionKind::Text, &CODE[..6]);
    let ctors = section(&mut obj, ".ctors", SectionKind::Data, &[0; 8]);
    let set = section(&mut obj, "set_sysinit_set", SectionKind::Data, &[0; 16]);
    let note = section(
        &mut obj,
        ".note.kolink",
        SectionKind::Note,
        b"\x04\0\0\0\0\0\0\0\x01\0\0\0abc\0",
    );
    let f = defined(
        &mut obj,
        "init_fn",
        text,
        0,
        6,
        common::TEXT,
        SymbolScope::Dynamic,
        false,
    );
    let memset = undefined(&mut obj, "memset", false);
    reloc(&mut obj, text, CALL, memset, R_X86_64_GOTPCRELX, -4);
    reloc(&mut obj, ctors, 0, f, R_X86_64_64, 0);
    reloc(&mut obj, set, 8, f, R_X86_64_64, 3);
    let _ = note;
    let input = write(&obj);
    let before = parse(&input);
    let fixed = fix(&input, &FixOptions::default()).unwrap();
    let after = parse(&fixed.object);
    for name in [".ctors", "set_sysinit_set", ".note.kolink"] {
        let (b, a) = (before.section(name), after.section(name));
        assert_eq!(
            (b.sh_type, b.flags, b.align, &b.data),
            (a.sh_type, a.flags, a.align, &a.data),
            "{name}"
        );
    }
    assert_eq!(before.relocs_in(".ctors"), after.relocs_in(".ctors"));
    assert_eq!(
        before.relocs_in("set_sysinit_set"),
        after.relocs_in("set_sysinit_set")
    );
}
