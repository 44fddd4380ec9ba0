// SPDX-License-Identifier: BSD-2-Clause
//! Removal of GOT-relative relocations, which FreeBSD's kernel linker cannot
//! apply.
//!
//! The `core`/`compiler_builtins` rlibs that rustup ships for
//! `x86_64-unknown-none` are position independent, so even after LTO a module
//! can contain `call *memset@GOTPCREL(%rip)` or
//! `mov sym@GOTPCREL(%rip), %reg`. A normal link resolves these by building a
//! GOT; `ld -r` keeps them as relocations, and `elf_reloc_internal`
//! (`sys/amd64/amd64/elf_machdep.c`) rejects `R_X86_64_GOTPCREL` (9),
//! `GOTPCRELX` (41) and `REX_GOTPCRELX` (42) with "unexpected relocation
//! type".
//!
//! Each reference is rewritten in one of two ways:
//!
//! * **Relaxation** to a direct PC-relative reference, as a static linker
//!   does (x86-64 psABI, appendix B "Linker Optimization"). For `GOTPCREL`,
//!   `GOTPCRELX` and `REX_GOTPCRELX` with the usual addend of -4, in an
//!   executable section. Static linkers relax only the `X` forms, whose
//!   assembler promises a relaxable instruction, but the rlibs rustup ships
//!   for `x86_64-unknown-none` contain only plain `GOTPCREL` (observed with
//!   rustc 1.95.0), so `kolink` checks the instruction itself: it decodes the section
//!   linearly with `iced-x86`, and the instruction containing the field must
//!   be a RIP-relative `call`/`jmp`/`mov` whose 32-bit displacement is the
//!   field and which ends right after it, and the opcode and `ModRM` bytes
//!   before the field must be exactly one of:
//!   - `ff 15` `call *sym@GOTPCREL(%rip)` → `67 e8` `addr32 call sym`;
//!   - `ff 25` `jmp *sym@GOTPCREL(%rip)` → `e9 rel32 90` `jmp sym; nop`
//!     (the field, and so `P`, moves back one byte; the addend stays the
//!     same because the `jmp` still ends four bytes after its field);
//!   - `[REX] 8b modrm` with `mod=00 rm=101` `mov sym@GOTPCREL(%rip), %reg`
//!     → `[REX] 8d modrm` `lea sym(%rip), %reg`.
//!
//!   The new relocation is `R_X86_64_PC32` against the same symbol and
//!   addend. A direct 32-bit PC-relative reference reaches every symbol,
//!   local or kernel, because amd64 modules are mapped above `KERNBASE`, in
//!   the kernel's top 2 GiB (`link_elf_load_file` in
//!   `sys/kern/link_elf_obj.c`; code model `kernel`). Weak undefined,
//!   absolute and `STT_GNU_IFUNC` symbols are never relaxed: their value
//!   need not be within 2 GiB (a missing weak symbol resolves to 0) or is
//!   not the final address.
//! * **A GOT slot** otherwise: `kolink` adds a section `.kolink.got`
//!   (`SHF_ALLOC | SHF_WRITE`, 8-byte aligned) holding one 8-byte slot per
//!   distinct target symbol, each filled at load time by an `R_X86_64_64`
//!   relocation, and a local symbol `__kolink_got.<target>` per slot. The
//!   reference becomes `R_X86_64_PC32` against the slot symbol with the same
//!   addend: `GOTPCREL` computes `G + GOT + A - P`, the address of the
//!   symbol's GOT entry plus `A` minus `P`, which is exactly `PC32`'s
//!   `S + A - P` with `S` the slot. The slot holds `S` of the original symbol
//!   with no addend, as a GOT entry does.
//!
//! The large-code-model forms (`GOT32`, `GOT64`, `GOTPCREL64`, `GOTPC32`,
//! `GOTPC64`, `GOTOFF64`, `GOTPLT64`, `PLTOFF64`) need the GOT's base address
//! and 64-bit PC-relative fields, which the kernel linker cannot provide;
//! they are rejected with an error.

use std::collections::HashMap;
use std::fmt;

use iced_x86::{Code, Decoder, DecoderOptions, Instruction};
use object::build::elf::{Builder, Relocation, SectionData, SectionId, SymbolId};
use object::build::{ByteString, Id};
use object::elf;

use crate::error::{Error, Result};
use crate::reloc::{self, GotClass};

/// Name of the section `fix` adds to hold GOT slots.
pub const GOT_SECTION: &str = ".kolink.got";
/// Name of the relocation section for [`GOT_SECTION`].
pub const GOT_RELA_SECTION: &str = ".rela.kolink.got";
/// Prefix of the local symbol naming each GOT slot; the target symbol's name
/// follows.
pub const SLOT_SYMBOL_PREFIX: &str = "__kolink_got.";

/// Size of one GOT slot.
const SLOT_SIZE: u64 = 8;

/// What the GOT rewrite did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GotReport {
    /// `call *sym@GOTPCREL(%rip)` relaxed to `addr32 call sym`.
    pub relaxed_calls: usize,
    /// `jmp *sym@GOTPCREL(%rip)` relaxed to `jmp sym; nop`.
    pub relaxed_jumps: usize,
    /// `mov sym@GOTPCREL(%rip), %reg` relaxed to `lea sym(%rip), %reg`.
    pub relaxed_movs: usize,
    /// GOT references redirected to a slot in [`GOT_SECTION`].
    pub slot_references: usize,
    /// Target symbols of the GOT slots, in slot order (slot `i` is at offset
    /// `8 * i` of [`GOT_SECTION`]).
    pub slot_symbols: Vec<String>,
}

impl GotReport {
    /// Total number of GOT-relative relocations rewritten.
    #[must_use]
    pub fn total(&self) -> usize {
        self.relaxed_calls + self.relaxed_jumps + self.relaxed_movs + self.slot_references
    }
}

impl fmt::Display for GotReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "relaxed {} call, {} jmp, {} mov; {} GOT slot(s) for {} reference(s)",
            self.relaxed_calls,
            self.relaxed_jumps,
            self.relaxed_movs,
            self.slot_symbols.len(),
            self.slot_references
        )
    }
}

/// How one GOT reference is rewritten.
enum Rewrite {
    Call,
    Jump,
    Mov,
    Slot,
}

/// Rewrites every GOT-relative relocation of `builder` into a form the
/// kernel linker accepts; with `relax` false, every reference gets a slot.
///
/// Relocation sections must have `sh_info_section` set (see
/// `fix::normalise_info_links`).
pub(crate) fn rewrite(builder: &mut Builder<'_>, relax: bool) -> Result<GotReport> {
    let mut report = GotReport::default();
    // Slot index by target symbol index, and the targets in slot order.
    let mut slot_of: HashMap<usize, usize> = HashMap::new();
    let mut slot_targets: Vec<SymbolId> = Vec::new();
    // (relocation section, index within it, slot) to retarget once the slot
    // symbols exist.
    let mut pending: Vec<(SectionId, usize, usize)> = Vec::new();

    let tables: Vec<(SectionId, Option<SectionId>)> = builder
        .sections
        .iter()
        .filter(|s| matches!(s.data, SectionData::Relocation(_)))
        .map(|s| (s.id(), s.sh_info_section))
        .collect();

    for (table_id, target_id) in tables {
        let mut relocs = match &mut builder.sections.get_mut(table_id).data {
            SectionData::Relocation(r) => std::mem::take(r),
            _ => continue,
        };
        let result = rewrite_table(
            builder,
            table_id,
            target_id,
            &mut relocs,
            relax,
            &mut report,
            &mut |symbol: SymbolId, index: usize| {
                let next = slot_targets.len();
                let slot = *slot_of.entry(symbol.index()).or_insert(next);
                if slot == next {
                    slot_targets.push(symbol);
                }
                pending.push((table_id, index, slot));
            },
        );
        if let SectionData::Relocation(r) = &mut builder.sections.get_mut(table_id).data {
            *r = relocs;
        }
        result?;
    }

    if slot_targets.is_empty() {
        return Ok(report);
    }
    let slot_symbols = add_got(builder, &slot_targets)?;
    for (table_id, index, slot) in pending {
        let symbol = slot_symbols.get(slot).copied();
        if let SectionData::Relocation(relocs) = &mut builder.sections.get_mut(table_id).data
            && let Some(r) = relocs.get_mut(index)
        {
            r.symbol = symbol;
            r.r_type = elf::R_X86_64_PC32;
        }
    }
    report.slot_symbols = slot_targets
        .iter()
        .map(|&s| symbol_label(builder, s))
        .collect();
    Ok(report)
}

/// Processes one relocation table; calls `need_slot(symbol, index)` for each
/// reference that must go through a GOT slot.
fn rewrite_table(
    builder: &mut Builder<'_>,
    table_id: SectionId,
    target_id: Option<SectionId>,
    relocs: &mut [Relocation],
    relax: bool,
    report: &mut GotReport,
    need_slot: &mut dyn FnMut(SymbolId, usize),
) -> Result<()> {
    // Instruction start offsets in the target section, decoded on first need
    // from the original bytes.
    let mut starts: Option<Vec<usize>> = None;
    for (index, r) in relocs.iter_mut().enumerate() {
        let Some(class) = reloc::got_class(r.r_type) else {
            continue;
        };
        let table = builder.sections.get(table_id);
        let where_ = || {
            let target = target_id.map_or_else(
                || "<no target section>".to_owned(),
                |t| builder.sections.get(t).name.to_string(),
            );
            let symbol = r
                .symbol
                .map_or_else(|| "<no symbol>".to_owned(), |s| symbol_label(builder, s));
            format!(
                "{} at {target}+{:#x} against `{symbol}`",
                reloc::describe(r.r_type),
                r.r_offset
            )
        };
        if class == GotClass::Unsupported {
            return Err(Error::Unsupported(format!(
                "{}: large/medium code model GOT relocations need a GOT base address, \
                 which a kernel module does not have; compile with -mcmodel=kernel \
                 (rustc: -C code-model=kernel)",
                where_()
            )));
        }
        if table.sh_type != elf::SHT_RELA {
            return Err(Error::Unsupported(format!(
                "{} is in SHT_REL section {}; x86-64 objects use SHT_RELA",
                where_(),
                table.name
            )));
        }
        let Some(symbol) = r.symbol else {
            return Err(Error::Unsupported(format!(
                "{}: a GOT reference needs a symbol",
                where_()
            )));
        };
        let Some(target_id) = target_id else {
            return Err(Error::Format(format!(
                "{}: relocation section {} has no target section (sh_info)",
                where_(),
                table.name
            )));
        };
        let executable = builder
            .sections
            .get(target_id)
            .sh_flags
            .contains(elf::SHF_EXECINSTR);
        let how = if relax
            && class == GotClass::Relaxable
            && r.r_addend == -4
            && executable
            && relaxable_symbol(builder, symbol)
        {
            let desc = where_();
            let data = match &mut builder.sections.get_mut(target_id).data {
                SectionData::Data(d) => d.to_mut(),
                _ => {
                    return Err(Error::Format(format!(
                        "{desc}: target section has no contents"
                    )));
                }
            };
            let starts = starts.get_or_insert_with(|| instruction_starts(data));
            relax_instruction(data, starts, r, &desc)?
        } else {
            Rewrite::Slot
        };
        match how {
            Rewrite::Call => report.relaxed_calls += 1,
            Rewrite::Jump => report.relaxed_jumps += 1,
            Rewrite::Mov => report.relaxed_movs += 1,
            Rewrite::Slot => {
                report.slot_references += 1;
                need_slot(symbol, index);
            }
        }
    }
    Ok(())
}

/// Whether a direct PC-relative reference to `symbol` is as good as a load
/// of its GOT entry (see the module docs).
fn relaxable_symbol(builder: &Builder<'_>, symbol: SymbolId) -> bool {
    let s = builder.symbols.get(symbol);
    let weak_undefined =
        s.section.is_none() && s.st_shndx == elf::SHN_UNDEF && s.st_bind() == elf::STB_WEAK;
    let special = s.section.is_none() && s.st_shndx != elf::SHN_UNDEF; // ABS, COMMON
    !(weak_undefined || special || s.st_type() == elf::STT_GNU_IFUNC)
}

/// Start offsets of the instructions of `code`, decoded linearly from its
/// start (compiler-generated code has no data in executable sections).
/// Undecodable bytes count as one-byte instructions; relaxation re-checks
/// every instruction it touches, so a desynchronised region only costs a
/// GOT slot.
fn instruction_starts(code: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
    let mut instr = Instruction::default();
    while decoder.can_decode() {
        let pos = decoder.position();
        starts.push(pos);
        decoder.decode_out(&mut instr);
        if instr.is_invalid() && decoder.set_position(pos + 1).is_err() {
            break;
        }
    }
    starts
}

/// Tries to relax the instruction whose 32-bit displacement is at
/// `r.r_offset` of `data`; rewrites the bytes and `r` on success.
///
/// The instruction is the one the linear decoding in `starts` says contains
/// the field. It must be `call *disp32(%rip)`, `jmp *disp32(%rip)` or
/// `mov disp32(%rip), %r32/%r64`, ending right after the field (no
/// immediate), and its opcode and `ModRM` bytes, which precede a RIP-relative
/// displacement directly, must be exactly `ff 15`, `ff 25` or `8b` with
/// `mod=00 rm=101`.
fn relax_instruction(
    data: &mut [u8],
    starts: &[usize],
    r: &mut Relocation,
    desc: &str,
) -> Result<Rewrite> {
    let out_of_range = || Error::Format(format!("{desc}: offset outside its section"));
    let off = usize::try_from(r.r_offset).map_err(|_| out_of_range())?;
    let end = off.checked_add(4).ok_or_else(out_of_range)?;
    if end > data.len() {
        return Err(out_of_range());
    }
    let Some(&start) = starts
        .partition_point(|&s| s <= off)
        .checked_sub(1)
        .and_then(|i| starts.get(i))
    else {
        return Ok(Rewrite::Slot);
    };
    let Some(code) = data.get(start..) else {
        return Ok(Rewrite::Slot);
    };
    let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
    let instr = decoder.decode();
    let offsets = decoder.get_constant_offsets(&instr);
    let exact = !instr.is_invalid()
        && instr.is_ip_rel_memory_operand()
        && offsets.has_displacement()
        && offsets.displacement_size() == 4
        && !offsets.has_immediate()
        && start + offsets.displacement_offset() == off
        && start + instr.len() == end;
    let (Some(at), true) = (off.checked_sub(2), exact) else {
        return Ok(Rewrite::Slot);
    };
    let (Some(&opcode), Some(&modrm)) = (data.get(at), data.get(at + 1)) else {
        return Ok(Rewrite::Slot);
    };
    let how = match (instr.code(), opcode, modrm) {
        // ff /2, mod=00 rm=101: call *disp32(%rip) -> 67 e8: addr32 call rel32.
        (Code::Call_rm64, 0xff, 0x15) => {
            set(data, at, &[0x67, 0xe8]);
            Rewrite::Call
        }
        // ff /4, mod=00 rm=101: jmp *disp32(%rip) -> e9 rel32 90: jmp; nop.
        (Code::Jmp_rm64, 0xff, 0x25) => {
            set(data, at, &[0xe9, 0, 0, 0, 0, 0x90]);
            r.r_offset -= 1;
            Rewrite::Jump
        }
        // [REX] 8b /r, mod=00 rm=101: mov disp32(%rip), %reg -> 8d: lea.
        (Code::Mov_r64_rm64 | Code::Mov_r32_rm32, 0x8b, m) if m & 0xc7 == 0x05 => {
            set(data, at, &[0x8d]);
            Rewrite::Mov
        }
        _ => return Ok(Rewrite::Slot),
    };
    r.r_type = elf::R_X86_64_PC32;
    Ok(how)
}

/// Copies `bytes` into `data` at `at`; the caller has checked the range.
fn set(data: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = data.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Adds [`GOT_SECTION`], its relocations and one local symbol per slot;
/// returns the slot symbols.
fn add_got(builder: &mut Builder<'_>, targets: &[SymbolId]) -> Result<Vec<SymbolId>> {
    let symtab = builder
        .sections
        .iter()
        .find(|s| matches!(s.data, SectionData::Symbol))
        .map(object::build::elf::Section::id)
        .ok_or_else(|| Error::Format("no symbol table".into()))?;
    let count = u64::try_from(targets.len())
        .map_err(|_| Error::Unsupported("too many GOT slots".into()))?;
    let size = count
        .checked_mul(SLOT_SIZE)
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| Error::Unsupported("too many GOT slots".into()))?;

    let got = builder.sections.add();
    got.name = ByteString::from(GOT_SECTION.as_bytes().to_vec());
    got.sh_type = elf::SHT_PROGBITS;
    got.sh_flags = elf::SHF_ALLOC | elf::SHF_WRITE;
    got.sh_addralign = SLOT_SIZE;
    got.data = SectionData::Data(vec![0u8; size].into());
    let got_id = got.id();

    let mut relocs = Vec::with_capacity(targets.len());
    let mut offset = 0u64;
    for &target in targets {
        relocs.push(Relocation {
            r_offset: offset,
            symbol: Some(target),
            r_type: elf::R_X86_64_64,
            r_addend: 0,
        });
        offset += SLOT_SIZE;
    }
    let rela = builder.sections.add();
    rela.name = ByteString::from(GOT_RELA_SECTION.as_bytes().to_vec());
    rela.sh_type = elf::SHT_RELA;
    rela.sh_flags = elf::SHF_INFO_LINK;
    rela.sh_link_section = Some(symtab);
    rela.sh_info_section = Some(got_id);
    rela.sh_addralign = 8;
    rela.sh_entsize = 24;
    rela.data = SectionData::Relocation(relocs);

    let mut slots = Vec::with_capacity(targets.len());
    let mut value = 0u64;
    for &target in targets {
        let name = format!("{SLOT_SYMBOL_PREFIX}{}", symbol_label(builder, target));
        let sym = builder.symbols.add();
        sym.name = ByteString::from(name.into_bytes());
        sym.section = Some(got_id);
        sym.set_st_info(elf::STB_LOCAL, elf::STT_OBJECT);
        sym.st_value = value;
        sym.st_size = SLOT_SIZE;
        slots.push(sym.id());
        value += SLOT_SIZE;
    }
    Ok(slots)
}

/// A symbol's name, or its section's name for a section symbol.
pub(crate) fn symbol_label(builder: &Builder<'_>, symbol: SymbolId) -> String {
    let s = builder.symbols.get(symbol);
    if s.name.is_empty() {
        match s.section {
            Some(section) => builder.sections.get(section).name.to_string(),
            None => format!("<symbol {}>", symbol.index()),
        }
    } else {
        s.name.to_string()
    }
}
