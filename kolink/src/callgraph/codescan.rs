// SPDX-License-Identifier: BSD-2-Clause
//! Decoding one function's code for the call graph: its calls, jumps and
//! address references.
//!
//! Code is decoded linearly with `iced-x86` (kernel code has no data in
//! `.text`; the table of a `switch` lives in `.rodata`). Each instruction's
//! bytes are matched with the relocations that patch them, so that both forms
//! a call can take in an `ld -r` output are understood:
//!
//! * a relocated `call`/`jmp rel32` (`R_X86_64_PLT32`/`PC32` against a
//!   function symbol, a section symbol plus addend, or an undefined symbol):
//!   the target is `S + A + (next_ip - P)`, the psABI's `S + A - P` read
//!   from the end of the instruction as the CPU does;
//! * an already-resolved `rel32` (the assembler or linker resolved a call
//!   within one section): the target is the decoded branch target, with the
//!   decoder's instruction pointer set to section offsets.
//!
//! The same rule gives the address a RIP-relative operand refers to;
//! absolute relocations (`R_X86_64_64`, `32S`, `32`) refer to `S + A`.

use std::collections::BTreeMap;

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register};

use super::{Dest, Place, Reloc};

/// A call, tail call or indirect transfer found in a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// `call`/`jmp`/`jcc` to a known address or symbol outside the function
    /// (a jump is a tail call).
    Direct {
        /// Section offset of the instruction.
        at: u64,
        /// Where it goes.
        dest: Dest,
        /// A jump rather than a call.
        jump: bool,
    },
    /// `call`/`jmp` through a register or a memory operand the scan cannot
    /// resolve.
    Indirect {
        /// Section offset of the instruction.
        at: u64,
        /// A jump rather than a call.
        jump: bool,
    },
    /// `call`/`jmp *slot` through a pointer stored at a fixed place (a
    /// RIP-relative or absolute memory operand without index register).
    Slot {
        /// Section offset of the instruction.
        at: u64,
        /// The place of the pointer.
        slot: Place,
        /// A jump rather than a call.
        jump: bool,
    },
    /// `jmp *table(,%reg,8)`: a `switch` through a table of code addresses.
    Table {
        /// Section offset of the instruction.
        at: u64,
        /// The place of the table's first entry.
        table: Place,
    },
}

/// A non-branch reference to an address (`lea`, `mov $sym`, a memory
/// operand), or the relocated operand of an indirect call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref {
    /// Section offset of the instruction.
    pub(crate) at: u64,
    /// What it refers to.
    pub(crate) dest: Dest,
}

/// What [`scan`] found in one function.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Calls and jumps leaving the function, in code order.
    pub(crate) transfers: Vec<Transfer>,
    /// Address references, in code order.
    pub(crate) refs: Vec<Ref>,
    /// Bytes that did not decode (skipped one at a time).
    pub(crate) undecodable: usize,
}

/// The code of one function: section `section` bytes `start..end`.
pub(crate) struct Code<'a> {
    /// Section index.
    pub(crate) section: usize,
    /// The section's contents.
    pub(crate) bytes: &'a [u8],
    /// The section's relocations, by offset.
    pub(crate) relocs: &'a BTreeMap<u64, Reloc>,
    /// First byte of the function.
    pub(crate) start: u64,
    /// One past its last byte.
    pub(crate) end: u64,
}

/// Decodes the function and collects its transfers and references.
pub(crate) fn scan(code: &Code<'_>) -> Scan {
    let mut out = Scan::default();
    let (Ok(start), Ok(end)) = (usize::try_from(code.start), usize::try_from(code.end)) else {
        return out;
    };
    let Some(bytes) = code.bytes.get(start..end) else {
        return out;
    };
    let mut decoder = Decoder::with_ip(64, bytes, code.start, DecoderOptions::NONE);
    let mut instr = Instruction::default();
    while decoder.can_decode() {
        let pos = decoder.position();
        decoder.decode_out(&mut instr);
        if instr.is_invalid() {
            out.undecodable = out.undecodable.saturating_add(1);
            let next = pos.saturating_add(1);
            if decoder.set_position(next).is_err() {
                break;
            }
            decoder.set_ip(code.start.saturating_add(next as u64));
            continue;
        }
        scan_instruction(code, &instr, &mut out);
    }
    out
}

/// The addresses the relocations patching `instr` refer to, and whether
/// the first one is GOT-relative (`sym@GOTPCREL`: the operand is a GOT
/// entry holding `sym`, which is what the destination names).
fn relocated_operands(code: &Code<'_>, instr: &Instruction) -> (Vec<Dest>, bool) {
    let (ip, next_ip) = (instr.ip(), instr.next_ip());
    let mut got = false;
    let dests = code
        .relocs
        .range(ip..next_ip)
        .filter_map(|(&offset, reloc)| {
            got |= reloc.is_got();
            reloc.dest(offset, next_ip)
        })
        .collect();
    (dests, got)
}

fn scan_instruction(code: &Code<'_>, instr: &Instruction, out: &mut Scan) {
    let at = instr.ip();
    let (operands, got) = relocated_operands(code, instr);
    match instr.flow_control() {
        FlowControl::Call | FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch => {
            if !matches!(
                instr.op0_kind(),
                OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
            ) {
                return;
            }
            let jump = instr.flow_control() != FlowControl::Call;
            // A branch has one relocatable field, its displacement.
            let dest = operands.first().copied().unwrap_or(Dest::Place(Place {
                section: code.section,
                offset: instr.near_branch_target(),
            }));
            if let Dest::Place(p) = dest {
                let inside =
                    p.section == code.section && (code.start..code.end).contains(&p.offset);
                // Branches within the function are control flow, not calls;
                // a call to its own start is recursion.
                if inside && (jump || p.offset != code.start) {
                    return;
                }
            }
            out.transfers.push(Transfer::Direct { at, dest, jump });
        }
        flow @ (FlowControl::IndirectCall | FlowControl::IndirectBranch) => {
            let jump = flow == FlowControl::IndirectBranch;
            match operands.first() {
                // `call *sym@GOTPCREL(%rip)` (an object not yet through
                // `kolink fix`) calls `sym`.
                Some(&dest) if got && instr.is_ip_rel_memory_operand() => {
                    out.transfers.push(Transfer::Direct { at, dest, jump });
                }
                _ => {
                    out.transfers.push(indirect(code, instr, &operands, jump));
                    out.refs
                        .extend(operands.iter().map(|&dest| Ref { at, dest }));
                }
            }
        }
        _ => {
            out.refs
                .extend(operands.iter().map(|&dest| Ref { at, dest }));
            // A RIP-relative operand within the section needs no relocation
            // after `ld -r`; only code matters here (data is in other
            // sections, so it is relocated).
            if operands.is_empty() && instr.is_ip_rel_memory_operand() {
                out.refs.push(Ref {
                    at,
                    dest: Dest::Place(Place {
                        section: code.section,
                        offset: instr.ip_rel_memory_address(),
                    }),
                });
            }
        }
    }
}

/// Classifies an indirect call or jump.
fn indirect(code: &Code<'_>, instr: &Instruction, operands: &[Dest], jump: bool) -> Transfer {
    let at = instr.ip();
    if instr.op0_kind() != OpKind::Memory {
        return Transfer::Indirect { at, jump };
    }
    let slot = match operands.first() {
        Some(&Dest::Place(p))
            if instr.memory_base() == Register::None || instr.is_ip_rel_memory_operand() =>
        {
            Some(p)
        }
        None if instr.is_ip_rel_memory_operand() => Some(Place {
            section: code.section,
            offset: instr.ip_rel_memory_address(),
        }),
        _ => None,
    };
    match slot {
        Some(table) if jump && instr.memory_index() != Register::None => {
            Transfer::Table { at, table }
        }
        Some(slot) if instr.memory_index() == Register::None => Transfer::Slot { at, slot, jump },
        _ => Transfer::Indirect { at, jump },
    }
}

/// Whether `bytes` are only alignment padding: zero bytes, or `nop`,
/// `int3` and `ud2` instructions.
pub(crate) fn is_padding(bytes: &[u8]) -> bool {
    if bytes.iter().all(|&b| b == 0) {
        return true;
    }
    let mut decoder = Decoder::new(64, bytes, DecoderOptions::NONE);
    let mut instr = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut instr);
        if instr.is_invalid()
            || !matches!(
                instr.mnemonic(),
                Mnemonic::Nop | Mnemonic::Int3 | Mnemonic::Ud2
            )
        {
            return false;
        }
    }
    true
}
