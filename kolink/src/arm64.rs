// SPDX-License-Identifier: BSD-2-Clause
//! arm64 modules: the localizing step before the shared link, and the
//! checks on the finished `ET_DYN` `.ko`.
//!
//! FreeBSD links every module but amd64's as a shared object
//! (`sys/conf/kmod.mk`: `__KLD_SHARED=yes`, `${LD} -Bshareable` of the
//! relocatable `${KMOD}.kld`, whose symbols `kmod_syms.awk` and `objcopy`
//! made local first), and loads it with `sys/kern/link_elf.c`. What
//! [`check`] enforces, with its source (FreeBSD main as read in the
//! `freebsd/freebsd-src` mirror, `elf_machdep.c` at 00a53ebe):
//!
//! * **Format.** 64-bit little-endian `EM_AARCH64` `ET_DYN`.
//! * **Dynamic relocations.** `elf_reloc_internal` in
//!   `sys/arm64/arm64/elf_machdep.c` accepts `R_AARCH64_NONE`, `ABS64`,
//!   `GLOB_DAT`, `JUMP_SLOT` and `RELATIVE`, and fails the load
//!   ("kldload: unexpected relocation type") on any other, such as
//!   `TLSDESC`, `IRELATIVE` or `COPY`.
//! * **x18.** The kernel keeps the per-CPU pointer in x18
//!   (`register struct pcpu *pcpup __asm ("x18")` in `machine/pcpu.h`,
//!   `-ffixed-x18` in `sys/conf/kern.mk`). No instruction may write x18 or
//!   w18: as a destination, as a loaded register of a pair or atomic, or as
//!   a base register with writeback. The test is conservative: an atomic
//!   (`LD*`, `SWP*`, `CAS*`) naming x18 anywhere counts as a write.
//! * **No FP/SIMD.** The kernel is built with `-mgeneral-regs-only` and does
//!   not save a thread's FP/SIMD state on kernel entry, so no instruction may
//!   name a SIMD/FP register (`v`, `q`, `d`, `s`, `h`, `b`).
//! * **Decodable code.** Every word of an executable section decodes; one
//!   that does not cannot be proved free of x18 writes and is reported.
//! * **Kernel dependency.** `DECLARE_MODULE` records a dependency on
//!   `kernel` (`MODULE_DEPEND(name, kernel, ...)`, the
//!   `_NAME_depend_on_kernel` metadata) in `set_modmetadata_set`.
//! * **Local symbols.** Only the exported names are global, in `.symtab`
//!   and `.dynsym` (what `kmod_syms.awk` leaves global).
//! * **Kernel symbols.** Every undefined dynamic symbol is in the allowlist
//!   or exported by a peer module.

use std::collections::BTreeSet;
use std::fmt;

use object::LittleEndian as LE;
use object::build::elf::Builder;
use object::elf;
use object::read::elf::{FileHeader, Rela as _, SectionHeader, Sym as _};
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Instruction, Opcode, Operand};

use crate::allowlist::Allowlist;
use crate::error::{Error, Result};
use crate::fix::{FixOptions, FixReport, Fixed};
use crate::localize;

/// The dynamic relocation types `elf_reloc_internal` applies
/// (`sys/arm64/arm64/elf_machdep.c`).
pub const ACCEPTED_RELOCATIONS: &[elf::RelocationType] = &[
    elf::R_AARCH64_NONE,
    elf::R_AARCH64_ABS64,
    elf::R_AARCH64_GLOB_DAT,
    elf::R_AARCH64_JUMP_SLOT,
    elf::R_AARCH64_RELATIVE,
];

/// Kernel symbols only arm64 modules use, beyond the project's allowlist:
/// `lse_supported` (`extern _Bool lse_supported;` in arm64's
/// `machine/atomic.h`), which every inline atomic of that header tests to
/// choose the LSE instruction or the load/store-exclusive loop.
pub const ARM64_KERNEL_SYMBOLS: &[&str] = &["lse_supported"];

/// Memory functions the module takes from the kernel, not from the
/// precompiled `compiler_builtins`: rustc does not recompile that library
/// with `+reserve-x18`, and its `memcpy` and `memmove` write x18. The
/// relocatable link wraps them (`--wrap=memcpy`: references become
/// `__wrap_memcpy`, which nothing defines, so the library's member is not
/// pulled in) and [`fix`] renames `__wrap_NAME` back to `NAME`, an
/// undefined symbol the kernel resolves (all four are in the allowlist).
pub const KERNEL_MEM_FUNCTIONS: &[&str] = &["memcpy", "memmove", "memset", "memcmp"];

/// The platform register: the kernel's per-CPU pointer.
const X18: u16 = 18;

pub use crate::elf::is_arm64;

/// Whether `data` is a relocatable `AArch64` object (what [`fix`] takes).
#[must_use]
pub fn is_relocatable_arm64(data: &[u8]) -> bool {
    elf::FileHeader64::<LE>::parse(data)
        .is_ok_and(|h| h.e_machine(LE) == elf::EM_AARCH64 && h.e_type(LE) == elf::ET_REL)
}

/// Localizes the defined symbols of a relocatable `AArch64` object (the
/// output of `ld.lld -r`) except `options.exports`, as `kmod.mk` does with
/// `kmod_syms.awk` and `objcopy` before the shared link. Nothing else is
/// rewritten: `AArch64` code reaches the GOT only through relocations the
/// shared link resolves itself.
///
/// # Errors
/// [`Error::Format`] if `input` is not a relocatable `AArch64` object the
/// ELF builder can read.
pub fn fix(input: &[u8], options: &FixOptions) -> Result<Fixed> {
    let header = elf::FileHeader64::<LE>::parse(input)?;
    if header.e_machine(LE) != elf::EM_AARCH64 || header.e_type(LE) != elf::ET_REL {
        return Err(Error::Format(
            "expected a relocatable AArch64 object (ld.lld -r output)".into(),
        ));
    }
    let mut builder = Builder::read(input)?;
    for symbol in &mut builder.symbols {
        let undefined = symbol.section.is_none() && symbol.st_shndx == elf::SHN_UNDEF;
        let target = symbol
            .name
            .as_slice()
            .strip_prefix(b"__wrap_")
            .filter(|n| KERNEL_MEM_FUNCTIONS.iter().any(|k| k.as_bytes() == *n))
            .map(<[u8]>::to_vec);
        if let (true, Some(name)) = (undefined, target) {
            symbol.name = name.into();
        }
    }
    let report = FixReport {
        localize: localize::localize(&mut builder, &options.exports),
        ..FixReport::default()
    };
    builder.delete_orphans();
    let mut object = Vec::new();
    builder.write(&mut object)?;
    Ok(Fixed { object, report })
}

/// One reason an arm64 `.ko` would not load or would misbehave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm64Failure(pub String);

impl fmt::Display for Arm64Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`check`] needs besides the file.
#[derive(Debug, Clone, Copy)]
pub struct Arm64Context<'a> {
    /// Kernel symbols a module may use.
    pub allowlist: &'a Allowlist,
    /// Names this module exports (stay global).
    pub exports: &'a [String],
    /// Names other modules export (may be undefined here).
    pub peer_exports: &'a BTreeSet<String>,
}

/// Runs every arm64 check on `data`; an empty list means it passes.
///
/// # Errors
/// [`Error::Format`] if `data` is not a well-formed 64-bit ELF file.
pub fn check(data: &[u8], cx: &Arm64Context<'_>) -> Result<Vec<Arm64Failure>> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let mut failures = Vec::new();
    let mut fail = |s: String| failures.push(Arm64Failure(s));
    if header.e_machine(LE) != elf::EM_AARCH64 {
        fail(format!(
            "e_machine is {}, expected EM_AARCH64 ({})",
            header.e_machine(LE),
            elf::EM_AARCH64
        ));
        return Ok(failures);
    }
    if header.e_type(LE) != elf::ET_DYN {
        fail(format!(
            "e_type is {}, expected ET_DYN: arm64 modules are shared objects \
             (kmod.mk links them with -Bshareable; link_elf.c loads them)",
            header.e_type(LE)
        ));
    }
    let sections = header.sections(LE, data)?;
    let functions = functions(data)?;
    let mut has_metadata_set = false;
    for section in sections.iter() {
        let name = String::from_utf8_lossy(sections.section_name(LE, section)?).into_owned();
        if name == "set_modmetadata_set" {
            has_metadata_set = true;
        }
        if let Some((relas, _)) = section.rela(LE, data)? {
            for r in relas {
                let t = r.r_type(LE, false);
                if !ACCEPTED_RELOCATIONS.contains(&t) {
                    fail(format!(
                        "{name}: relocation type {t} at {:#x}: link_elf.c's elf_reloc \
                         (sys/arm64/arm64/elf_machdep.c) rejects it",
                        r.r_offset(LE)
                    ));
                }
            }
        }
        if section.sh_type(LE) == elf::SHT_REL {
            fail(format!(
                "{name}: SHT_REL relocations; the arm64 linker emits RELA"
            ));
        }
        let flags = section.sh_flags(LE);
        if flags.contains(elf::SHF_EXECINSTR) && section.sh_type(LE) != elf::SHT_NOBITS {
            let code = section.data(LE, data)?;
            for f in scan_code(&name, section.sh_addr(LE), code) {
                fail(describe(&f, &functions));
            }
        }
    }
    let defined_dynamic = exports(data)?;
    for set in link_sets(data)? {
        for bound in [format!("__start_set_{set}"), format!("__stop_set_{set}")] {
            if !defined_dynamic.contains(&bound) {
                fail(format!(
                    "set_{set}: {bound} is not in .dynsym; link_elf_lookup_set \
                     (sys/kern/link_elf.c) cannot find the linker set"
                ));
            }
        }
    }
    if claims_bti(data)?
        && functions
            .iter()
            .any(|(_, n)| n.starts_with("_R") || n.starts_with("_ZN"))
    {
        fail(
            "the GNU property note claims BTI, but Rust code has no BTI landing pads \
             (stable rustc cannot emit them)"
                .into(),
        );
    }
    if !has_metadata_set {
        fail("no set_modmetadata_set: the module declares no module metadata".into());
    }
    check_symbols(data, cx, &mut failures)?;
    Ok(failures)
}

/// The symbol checks of [`check`]: the dependency on `kernel`, nothing
/// global but the exports and linker-set bounds, every undefined symbol a
/// kernel or peer symbol.
fn check_symbols(
    data: &[u8],
    cx: &Arm64Context<'_>,
    failures: &mut Vec<Arm64Failure>,
) -> Result<()> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let sections = header.sections(LE, data)?;
    let mut fail = |s: String| failures.push(Arm64Failure(s));
    let mut depends_on_kernel = false;
    for (kind, table) in [
        ("symtab", sections.symbols(LE, data, elf::SHT_SYMTAB)?),
        ("dynsym", sections.symbols(LE, data, elf::SHT_DYNSYM)?),
    ] {
        for sym in table.iter() {
            let name = String::from_utf8_lossy(sym.name(LE, table.strings())?).into_owned();
            if name.ends_with("_depend_on_kernel") {
                depends_on_kernel = true;
            }
            let bind = sym.st_bind();
            if bind == elf::STB_LOCAL || name.is_empty() {
                continue;
            }
            if sym.is_undefined(LE) {
                if kind == "dynsym"
                    && !cx.allowlist.contains(&name)
                    && !ARM64_KERNEL_SYMBOLS.contains(&name.as_str())
                    && !cx.peer_exports.contains(&name)
                {
                    fail(format!(
                        "undefined symbol {name} is not a kernel symbol of the allowlist \
                         nor exported by another module"
                    ));
                }
            } else if !cx.exports.contains(&name) && !is_link_set_bound(&name) {
                fail(format!(
                    "{kind}: {name} is global but not exported; kmod.mk makes it local"
                ));
            }
        }
    }
    if !depends_on_kernel {
        fail("no dependency on `kernel` in the module metadata (MODULE_DEPEND)".into());
    }
    Ok(())
}

/// The defined global symbols of `data`'s `.dynsym` (what a peer module may
/// use).
///
/// # Errors
/// [`Error::Format`] if `data` is not a well-formed ELF file.
pub fn exports(data: &[u8]) -> Result<Vec<String>> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let sections = header.sections(LE, data)?;
    let table = sections.symbols(LE, data, elf::SHT_DYNSYM)?;
    let mut out = Vec::new();
    for sym in table.iter() {
        if sym.st_bind() != elf::STB_LOCAL && !sym.is_undefined(LE) {
            let name = sym.name(LE, table.strings())?;
            if !name.is_empty() {
                out.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok(out)
}

/// Defined function symbols of `.symtab`, by address.
fn functions(data: &[u8]) -> Result<Vec<(u64, String)>> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let sections = header.sections(LE, data)?;
    let table = sections.symbols(LE, data, elf::SHT_SYMTAB)?;
    let mut out = Vec::new();
    for sym in table.iter() {
        if sym.st_type() == elf::STT_FUNC && !sym.is_undefined(LE) {
            let name = String::from_utf8_lossy(sym.name(LE, table.strings())?).into_owned();
            out.push((sym.st_value(LE), name));
        }
    }
    out.sort();
    Ok(out)
}

/// Names the function a [`Finding`] is in, and says when it is code of the
/// precompiled `core` or `compiler_builtins`, which no rustc flag of ours
/// reaches (`-C target-feature=+reserve-x18` applies to the crates cargo
/// compiles; the standard library comes prebuilt with the target).
fn describe(finding: &Finding, functions: &[(u64, String)]) -> String {
    let at = functions.partition_point(|(a, _)| *a <= finding.addr);
    let Some((_, raw)) = at.checked_sub(1).and_then(|i| functions.get(i)) else {
        return finding.message.clone();
    };
    let name = crate::names::demangle(raw);
    let prebuilt = name.starts_with("core::")
        || name.starts_with("<core::")
        || name.contains(" as core::")
        || name.starts_with("compiler_builtins::");
    let note = if prebuilt {
        " [precompiled standard library: not built with +reserve-x18]"
    } else {
        ""
    };
    format!("{} (in {name}){note}", finding.message)
}

/// One problem [`scan_code`] found in a word of code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The word's address.
    pub addr: u64,
    /// What is wrong, with section, address and instruction.
    pub message: String,
}

/// Decodes `code` (loaded at `addr`) and reports x18 writes, FP/SIMD
/// registers and words that do not decode.
#[must_use]
pub fn scan_code(section: &str, addr: u64, code: &[u8]) -> Vec<Finding> {
    let decoder = InstDecoder::default();
    let mut out = Vec::new();
    for (i, word) in code.chunks(4).enumerate() {
        let at = addr.saturating_add(u64::try_from(i.saturating_mul(4)).unwrap_or(u64::MAX));
        let mut push = |message: String| out.push(Finding { addr: at, message });
        if word.len() < 4 {
            push(format!("{section}+{at:#x}: a partial instruction word"));
            break;
        }
        let mut reader = U8Reader::new(word);
        match decoder.decode(&mut reader) {
            Ok(inst) => {
                if writes_x18(&inst) {
                    push(format!(
                        "{section}+{at:#x}: `{inst}` writes x18, the kernel's per-CPU pointer"
                    ));
                }
                if uses_fp_simd(&inst) {
                    push(format!(
                        "{section}+{at:#x}: `{inst}` uses an FP/SIMD register \
                         (kernel code is -mgeneral-regs-only)"
                    ));
                }
            }
            Err(e) => push(format!(
                "{section}+{at:#x}: word {:02x}{:02x}{:02x}{:02x} does not decode ({e}); \
                 it cannot be shown not to write x18",
                word.get(3).copied().unwrap_or(0),
                word.get(2).copied().unwrap_or(0),
                word.get(1).copied().unwrap_or(0),
                word.first().copied().unwrap_or(0),
            )),
        }
    }
    out
}

/// Instructions whose first register operand is read, not written.
fn first_operand_read(op: Opcode) -> bool {
    let name = format!("{op:?}");
    // Stores without a status register (STXR/STLXR write their first
    // operand, the status), branches on a register, compares, prefetches,
    // system-register writes.
    let store = (name.starts_with("ST") && !name.contains("XR") && !name.contains("XP"))
        || name.starts_with("STLR")
        || name.starts_with("STLLR");
    store
        || matches!(
            op,
            Opcode::CBZ
                | Opcode::CBNZ
                | Opcode::TBZ
                | Opcode::TBNZ
                | Opcode::BR
                | Opcode::BLR
                | Opcode::RET
                | Opcode::CCMP
                | Opcode::CCMN
                | Opcode::MSR
                | Opcode::SYS(_)
                | Opcode::PRFM
                | Opcode::PRFUM
        )
}

/// Whether an instruction loads into every register it names (pairs and
/// atomics: `LDP`, `LDXP`, `LDADD`, `SWP`, `CAS`, ...): conservative.
fn writes_all_registers(op: Opcode) -> bool {
    let name = format!("{op:?}");
    name.starts_with("LD") || name.starts_with("SWP") || name.starts_with("CAS")
}

/// Whether `inst` writes x18 or w18.
#[must_use]
pub fn writes_x18(inst: &Instruction) -> bool {
    let all = writes_all_registers(inst.opcode);
    let first_read = first_operand_read(inst.opcode);
    inst.operands
        .iter()
        .enumerate()
        .any(|(i, operand)| match *operand {
            Operand::Register(_, X18)
            | Operand::RegisterOrSP(_, X18)
            | Operand::RegisterPair(_, X18) => all || (i == 0 && !first_read),
            Operand::RegPreIndex(X18, _, true)
            | Operand::RegPostIndex(X18, _)
            | Operand::RegPostIndexReg(X18, _) => true,
            _ => false,
        })
}

/// `FPCR` and `FPSR` as `MRS`/`MSR` encode them (bits 19:5 of the
/// instruction: `o0:op1:CRn:CRm:op2` = `1:011:0100:0100:00x`).
const FP_SYSTEM_REGISTERS: [u16; 2] = [0x5a20, 0x5a21];

/// Whether `inst` names an FP/SIMD register, or reads or writes the
/// FP control and status registers.
#[must_use]
pub fn uses_fp_simd(inst: &Instruction) -> bool {
    inst.operands.iter().any(|operand| {
        matches!(operand, Operand::SystemReg(r) if FP_SYSTEM_REGISTERS.contains(r))
            || matches!(
                operand,
                Operand::SIMDRegister(..)
                    | Operand::SIMDRegisterElements(..)
                    | Operand::SIMDRegisterElementsLane(..)
                    | Operand::SIMDRegisterElementsMultipleLane(..)
                    | Operand::SIMDRegisterGroup(..)
                    | Operand::SIMDRegisterGroupLane(..)
            )
    })
}

/// Whether a `.note.gnu.property` of `data` claims BTI (every object of
/// the link had it: lld ANDs the inputs' properties).
///
/// # Errors
/// [`Error::Format`] if `data` is not a well-formed ELF file.
pub fn claims_bti(data: &[u8]) -> Result<bool> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let sections = header.sections(LE, data)?;
    for section in sections.iter() {
        let Some(mut notes) = section.notes(LE, data)? else {
            continue;
        };
        while let Some(note) = notes.next()? {
            if note.name() != b"GNU" || note.n_type(LE) != elf::NT_GNU_PROPERTY_TYPE_0 {
                continue;
            }
            let Some(mut properties) = note.gnu_properties(LE) else {
                continue;
            };
            while let Some(p) = properties.next()? {
                if p.pr_type() == elf::GNU_PROPERTY_AARCH64_FEATURE_1_AND
                    && p.data_u32(LE)
                        .is_ok_and(|v| v & elf::GNU_PROPERTY_AARCH64_FEATURE_1_BTI != 0)
                {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// `__start_set_NAME` and `__stop_set_NAME`: the bounds of a linker set,
/// which `link_elf_lookup_set` (`sys/kern/link_elf.c`) looks up by name in
/// the module's dynamic symbol table, so they stay global.
fn is_link_set_bound(name: &str) -> bool {
    name.starts_with("__start_set_") || name.starts_with("__stop_set_")
}

/// The linker-set sections (`set_*`) of an object: each needs its
/// `__start_`/`__stop_` bounds in the shared object.
///
/// # Errors
/// [`Error::Format`] if `data` is not a well-formed ELF file.
pub fn link_sets(data: &[u8]) -> Result<Vec<String>> {
    let header = elf::FileHeader64::<LE>::parse(data)?;
    let sections = header.sections(LE, data)?;
    let mut out = Vec::new();
    for section in sections.iter() {
        let name = String::from_utf8_lossy(sections.section_name(LE, section)?).into_owned();
        if let Some(set) = name.strip_prefix("set_")
            && section.sh_size(LE) > 0
        {
            out.push(set.to_owned());
        }
    }
    Ok(out)
}
