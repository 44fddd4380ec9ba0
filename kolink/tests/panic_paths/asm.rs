// SPDX-License-Identifier: BSD-2-Clause
//! A tiny assembler for the synthetic modules of the `panic_paths` tests:
//! functions of a few x86-64 instructions, data with pointers and labels,
//! written out as a relocatable object with `object::write`.

use crate::common;
use object::elf::{
    R_X86_64_32S, R_X86_64_64, R_X86_64_GOTPCRELX, R_X86_64_PC32, R_X86_64_PLT32, RelocationType,
};
use object::write::{SectionId, SymbolId};
use object::{SectionKind, SymbolScope};
use std::collections::HashMap;

/// One instruction (or label) of a synthetic function.
#[derive(Clone, Copy)]
pub(crate) enum I {
    /// `call sym`, relocated (`R_X86_64_PLT32` against the symbol).
    Call(&'static str),
    /// `call f`, relocated against the `.text` section symbol plus offset.
    CallViaSection(&'static str),
    /// `call f` already resolved: no relocation.
    CallResolved(&'static str),
    /// `jmp sym`, relocated (a tail call).
    Jmp(&'static str),
    /// `jmp f` already resolved.
    JmpResolved(&'static str),
    /// `call *%rax`.
    CallIndirect,
    /// `jmp *%rax`.
    JmpIndirect,
    /// `call *0x18(%rax)`: a vtable call.
    CallVtable,
    /// `lea sym(%rip),%rax`: takes the address of a function.
    Lea(&'static str),
    /// `lea label(%rip),%rax` for a data label.
    LeaData(&'static str),
    /// `call *label(%rip)` through a pointer at a data label.
    CallSlot(&'static str),
    /// `call *sym@GOTPCREL(%rip)`, as in an object before `kolink fix`.
    CallGot(&'static str),
    /// `jmp *label(,%rax,8)`: a switch table at a data label.
    Switch(&'static str),
    /// An interior code label (no bytes).
    Label(&'static str),
    /// `ret`.
    Ret,
}

impl I {
    fn len(self) -> u64 {
        match self {
            I::Call(_)
            | I::CallViaSection(_)
            | I::CallResolved(_)
            | I::Jmp(_)
            | I::JmpResolved(_) => 5,
            I::CallIndirect | I::JmpIndirect => 2,
            I::CallVtable => 3,
            I::Lea(_) | I::LeaData(_) | I::Switch(_) => 7,
            I::CallSlot(_) | I::CallGot(_) => 6,
            I::Label(_) => 0,
            I::Ret => 1,
        }
    }
}

/// A data item.
#[derive(Clone, Copy)]
pub(crate) enum D {
    /// A label at the current offset.
    Label(&'static str),
    /// An 8-byte pointer to a function, code label or undefined symbol.
    Ptr(&'static str),
    /// An 8-byte pointer to a data label of the same section.
    PtrData(&'static str),
    /// An 8-byte little-endian word.
    Word(u64),
    /// Bytes, padded to 8.
    Str(&'static str),
}

/// A function: name, body, and whether it has a symbol (`false`: a gap).
pub(crate) struct F(pub(crate) &'static str, pub(crate) Vec<I>, pub(crate) bool);

pub(crate) fn f(name: &'static str, body: &[I]) -> F {
    F(name, body.to_vec(), true)
}

/// A synthetic module: functions in `.text`, items in `.rodata`/`.data`.
#[derive(Default)]
pub(crate) struct Module {
    pub(crate) funcs: Vec<F>,
    pub(crate) rodata: Vec<D>,
    pub(crate) data: Vec<D>,
    /// `kolink fix`'s GOT section (`.kolink.got`).
    pub(crate) got: Vec<D>,
}

/// Where a name is.
#[derive(Clone, Copy, Debug)]
enum Loc {
    Text(u64),
    Rodata(u64),
    Data(u64),
    Got(u64),
}

fn data_layout(items: &[D], base: fn(u64) -> Loc, labels: &mut HashMap<&'static str, Loc>) {
    let mut off = 0u64;
    for item in items {
        match item {
            D::Label(l) => {
                labels.insert(l, base(off));
            }
            D::Ptr(_) | D::PtrData(_) | D::Word(_) => off += 8,
            D::Str(s) => off += (s.len() as u64).div_ceil(8) * 8,
        }
    }
}

impl Module {
    pub(crate) fn build(&self) -> Vec<u8> {
        // Layout.
        let mut labels: HashMap<&'static str, Loc> = HashMap::new();
        let mut starts = Vec::new();
        let mut off = 0u64;
        for F(name, body, _) in &self.funcs {
            off = off.div_ceil(16) * 16;
            starts.push(off);
            labels.insert(name, Loc::Text(off));
            for i in body {
                if let I::Label(l) = i {
                    labels.insert(l, Loc::Text(off));
                }
                off += i.len();
            }
        }
        data_layout(&self.rodata, Loc::Rodata, &mut labels);
        data_layout(&self.data, Loc::Data, &mut labels);
        data_layout(&self.got, Loc::Got, &mut labels);

        let mut obj = common::new_object();
        let text = common::section(&mut obj, ".text", SectionKind::Text, &[]);
        let rodata = common::section(&mut obj, ".rodata", SectionKind::ReadOnlyData, &[]);
        let data = common::section(&mut obj, ".data", SectionKind::Data, &[]);
        let got = common::section(&mut obj, kolink::got::GOT_SECTION, SectionKind::Data, &[]);
        let mut symbols: HashMap<&'static str, SymbolId> = HashMap::new();
        for (F(name, body, has_symbol), &start) in self.funcs.iter().zip(&starts) {
            if *has_symbol {
                let size: u64 = body.iter().map(|i| i.len()).sum();
                let id = common::defined(
                    &mut obj,
                    name,
                    text,
                    start,
                    size,
                    common::TEXT,
                    SymbolScope::Compilation,
                    false,
                );
                symbols.insert(name, id);
            }
        }
        let mut relocs: Vec<(SectionId, u64, Target, RelocationType, i64)> = Vec::new();
        let mut code = Vec::new();
        for (F(_, body, _), &start) in self.funcs.iter().zip(&starts) {
            code.resize(start as usize, 0xcc);
            for &i in body {
                let at = code.len() as u64;
                let rel = |name: &str| -> [u8; 4] {
                    let Loc::Text(t) = labels[name] else {
                        panic!("{name} is not code")
                    };
                    ((t as i64 - (at as i64 + 5)) as i32).to_le_bytes()
                };
                match i {
                    I::Call(s) | I::Jmp(s) => {
                        code.push(if matches!(i, I::Call(_)) { 0xe8 } else { 0xe9 });
                        code.extend([0; 4]);
                        relocs.push((text, at + 1, Target::Sym(s), R_X86_64_PLT32, -4));
                    }
                    I::CallViaSection(s) => {
                        code.extend([0xe8, 0, 0, 0, 0]);
                        relocs.push((text, at + 1, Target::Place(labels[s]), R_X86_64_PLT32, -4));
                    }
                    I::CallResolved(s) => {
                        code.push(0xe8);
                        code.extend(rel(s));
                    }
                    I::JmpResolved(s) => {
                        code.push(0xe9);
                        code.extend(rel(s));
                    }
                    I::CallIndirect => code.extend([0xff, 0xd0]),
                    I::JmpIndirect => code.extend([0xff, 0xe0]),
                    I::CallVtable => code.extend([0xff, 0x50, 0x18]),
                    I::Lea(s) => {
                        code.extend([0x48, 0x8d, 0x05, 0, 0, 0, 0]);
                        relocs.push((text, at + 3, Target::Sym(s), R_X86_64_PC32, -4));
                    }
                    I::LeaData(s) => {
                        code.extend([0x48, 0x8d, 0x05, 0, 0, 0, 0]);
                        relocs.push((text, at + 3, Target::Place(labels[s]), R_X86_64_PC32, -4));
                    }
                    I::CallSlot(s) => {
                        code.extend([0xff, 0x15, 0, 0, 0, 0]);
                        relocs.push((text, at + 2, Target::Place(labels[s]), R_X86_64_PC32, -4));
                    }
                    I::CallGot(s) => {
                        code.extend([0xff, 0x15, 0, 0, 0, 0]);
                        relocs.push((text, at + 2, Target::Sym(s), R_X86_64_GOTPCRELX, -4));
                    }
                    I::Switch(s) => {
                        code.extend([0xff, 0x24, 0xc5, 0, 0, 0, 0]);
                        relocs.push((text, at + 3, Target::Place(labels[s]), R_X86_64_32S, 0));
                    }
                    I::Label(_) => {}
                    I::Ret => code.push(0xc3),
                }
            }
        }
        let mut emit_data = |section: SectionId, items: &[D]| {
            let mut bytes = Vec::new();
            for item in items {
                let at = bytes.len() as u64;
                match *item {
                    D::Label(_) => {}
                    D::Ptr(s) => {
                        bytes.extend([0; 8]);
                        let target = match labels.get(s) {
                            Some(&l) => Target::Place(l),
                            None => Target::Sym(s),
                        };
                        relocs.push((section, at, target, R_X86_64_64, 0));
                    }
                    D::PtrData(s) => {
                        bytes.extend([0; 8]);
                        relocs.push((section, at, Target::Place(labels[s]), R_X86_64_64, 0));
                    }
                    D::Word(w) => bytes.extend(w.to_le_bytes()),
                    D::Str(s) => {
                        bytes.extend(s.as_bytes());
                        bytes.resize(bytes.len().div_ceil(8) * 8, 0);
                    }
                }
            }
            bytes
        };
        let rodata_bytes = emit_data(rodata, &self.rodata);
        let data_bytes = emit_data(data, &self.data);
        let got_bytes = emit_data(got, &self.got);
        obj.set_section_data(text, code, 16);
        obj.set_section_data(rodata, rodata_bytes, 8);
        obj.set_section_data(data, data_bytes, 8);
        obj.set_section_data(got, got_bytes, 8);
        for (section, offset, target, r_type, addend) in relocs {
            let (symbol, addend) = match target {
                Target::Sym(s) => {
                    let id = match symbols.get(s) {
                        Some(&id) => id,
                        None => *symbols
                            .entry(s)
                            .or_insert_with(|| common::undefined(&mut obj, s, false)),
                    };
                    (id, addend)
                }
                Target::Place(Loc::Text(o)) => (obj.section_symbol(text), addend + o as i64),
                Target::Place(Loc::Rodata(o)) => (obj.section_symbol(rodata), addend + o as i64),
                Target::Place(Loc::Data(o)) => (obj.section_symbol(data), addend + o as i64),
                Target::Place(Loc::Got(o)) => (obj.section_symbol(got), addend + o as i64),
            };
            common::reloc(&mut obj, section, offset, symbol, r_type, addend);
        }
        common::write(&obj)
    }
}

#[derive(Clone, Copy)]
enum Target {
    Sym(&'static str),
    Place(Loc),
}
