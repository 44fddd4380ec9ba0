// SPDX-License-Identifier: BSD-2-Clause
//! Detection of FPU and SIMD instructions in a module's code.
//!
//! The amd64 kernel does not save the user thread's FPU/SIMD state on entry,
//! so kernel code must not touch x87, MMX, SSE, AVX or AVX-512 state except
//! between `fpu_kern_enter(9)` and `fpu_kern_leave(9)`
//! (`sys/amd64/amd64/fpu.c`); the kernel itself is compiled with
//! `-mno-mmx -mno-sse -msoft-float` (`sys/conf/kern.mk`). A stray `movaps`
//! from a misconfigured Rust target silently corrupts user registers.
//!
//! Every executable section is decoded linearly with `iced-x86`. An
//! instruction is reported if it reads or writes an x87, MMX, XMM, YMM, ZMM,
//! AVX-512 mask or AMX tile register (implicit uses included), is an x87 or
//! 3DNow! instruction, or loads/saves the SIMD control/state (`ldmxcsr`,
//! `stmxcsr`, `fxsave`, `xsave`, `xrstor`, `emms`, ...). Bytes that do not
//! decode are reported too, as runs, rather than skipped.

use iced_x86::{
    CpuidFeature, Decoder, DecoderOptions, Formatter, GasFormatter, Instruction,
    InstructionInfoFactory, Mnemonic, OpKind, Register,
};
use object::elf;

use crate::elf::Object;
use crate::error::Result;
use crate::failure::Finding;

/// Scans every executable section of `obj`.
pub(crate) fn scan(obj: &Object<'_>) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for (index, section) in obj.sections() {
        if !obj.sh_flags(section).contains(elf::SHF_EXECINSTR)
            || obj.sh_type(section) == elf::SHT_NOBITS
        {
            continue;
        }
        let code = obj.section_data(index)?;
        let symbols = function_symbols(obj, index)?;
        scan_code(&obj.section_name(index), code, &symbols, &mut findings);
    }
    Ok(findings)
}

/// Named non-section symbols defined in section `index`, sorted by value.
fn function_symbols(obj: &Object<'_>, index: usize) -> Result<Vec<(u64, String)>> {
    let mut out = Vec::new();
    for (sym_index, symbol) in obj.symbols() {
        if matches!(symbol.st_type(), elf::STT_SECTION | elf::STT_FILE)
            || obj.symbol_section(sym_index)? != Some(index)
        {
            continue;
        }
        let name = obj.symbol_name_bytes(sym_index)?;
        if !name.is_empty() {
            out.push((
                obj.st_value(symbol),
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// `symbol+0xoff` for the last symbol at or before `offset`.
fn locate(symbols: &[(u64, String)], offset: u64) -> Option<String> {
    let i = symbols.partition_point(|(value, _)| *value <= offset);
    let (value, name) = symbols.get(i.checked_sub(1)?)?;
    Some(format!("{name}+{:#x}", offset - value))
}

/// Decodes `code` and appends findings.
fn scan_code(section: &str, code: &[u8], symbols: &[(u64, String)], findings: &mut Vec<Finding>) {
    let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
    let mut factory = InstructionInfoFactory::new();
    let mut formatter = GasFormatter::new();
    formatter.options_mut().set_rip_relative_addresses(true);
    formatter.options_mut().set_uppercase_hex(false);
    let mut instr = Instruction::default();
    let mut bad_run: Option<usize> = None;
    let flush = |start: usize, end: usize, findings: &mut Vec<Finding>| {
        let offset = start as u64;
        findings.push(Finding::Undecodable {
            section: section.to_owned(),
            offset,
            len: end - start,
            location: locate(symbols, offset),
        });
    };
    while decoder.can_decode() {
        let pos = decoder.position();
        decoder.decode_out(&mut instr);
        if instr.is_invalid() {
            bad_run.get_or_insert(pos);
            // Resynchronise one byte further on.
            if decoder.set_position(pos + 1).is_err() {
                break;
            }
            decoder.set_ip((pos + 1) as u64);
            continue;
        }
        if let Some(start) = bad_run.take() {
            flush(start, pos, findings);
        }
        if let Some(reason) = fpu_reason(&instr, &mut factory) {
            let offset = pos as u64;
            let mut text = String::new();
            formatter.format(&instr, &mut text);
            findings.push(Finding::Instruction {
                section: section.to_owned(),
                offset,
                location: locate(symbols, offset),
                text,
                reason,
            });
        }
    }
    if let Some(start) = bad_run.take() {
        flush(start, code.len(), findings);
    }
}

/// Why `instr` touches FPU/SIMD state, or `None`.
fn fpu_reason(instr: &Instruction, factory: &mut InstructionInfoFactory) -> Option<String> {
    // Explicit operands first, so that `vmovaps %ymm1,%ymm0` is reported as
    // using %ymm1 rather than the %zmm0 it implicitly clears.
    for i in 0..instr.op_count() {
        if instr.op_kind(i) == OpKind::Register && is_fpu_register(instr.op_register(i)) {
            return Some(format!("uses {}", reg_name(instr.op_register(i))));
        }
    }
    for used in factory.info(instr).used_registers() {
        let reg = used.register();
        if is_fpu_register(reg) {
            return Some(format!("implicitly uses {}", reg_name(reg)));
        }
    }
    for feature in instr.cpuid_features() {
        match feature {
            CpuidFeature::FPU
            | CpuidFeature::FPU287
            | CpuidFeature::FPU287XL_ONLY
            | CpuidFeature::FPU387
            | CpuidFeature::FPU387SL_ONLY
            | CpuidFeature::CYRIX_FPU => return Some("x87 instruction".into()),
            CpuidFeature::MMX | CpuidFeature::D3NOW | CpuidFeature::D3NOWEXT => {
                return Some("MMX/3DNow! instruction".into());
            }
            _ => {}
        }
    }
    if matches!(
        instr.mnemonic(),
        Mnemonic::Ldmxcsr
            | Mnemonic::Stmxcsr
            | Mnemonic::Vldmxcsr
            | Mnemonic::Vstmxcsr
            | Mnemonic::Fxsave
            | Mnemonic::Fxsave64
            | Mnemonic::Fxrstor
            | Mnemonic::Fxrstor64
            | Mnemonic::Xsave
            | Mnemonic::Xsave64
            | Mnemonic::Xsaveopt
            | Mnemonic::Xsaveopt64
            | Mnemonic::Xsavec
            | Mnemonic::Xsavec64
            | Mnemonic::Xsaves
            | Mnemonic::Xsaves64
            | Mnemonic::Xrstor
            | Mnemonic::Xrstor64
            | Mnemonic::Xrstors
            | Mnemonic::Xrstors64
            | Mnemonic::Emms
            | Mnemonic::Femms
    ) {
        return Some("accesses FPU/SIMD control or saved state".into());
    }
    None
}

/// `%xmm0`-style register name.
fn reg_name(reg: Register) -> String {
    format!("%{reg:?}").to_lowercase()
}

/// x87, MMX, XMM/YMM/ZMM, AVX-512 mask and AMX tile registers.
fn is_fpu_register(reg: Register) -> bool {
    reg.is_st() || reg.is_mm() || reg.is_vector_register() || reg.is_k() || reg.is_tmm()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_bytes(code: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        scan_code(".text", code, &[(0, "f".into())], &mut findings);
        findings
    }

    #[test]
    fn integer_code_is_clean() {
        // push %rbp; mov %rsp,%rbp; lea (%rdi,%rdi,2),%eax; lfence; pop %rbp; ret
        let code = [
            0x55, 0x48, 0x89, 0xe5, 0x8d, 0x04, 0x7f, 0x0f, 0xae, 0xe8, 0x5d, 0xc3,
        ];
        assert_eq!(scan_bytes(&code), vec![]);
    }

    #[test]
    fn detects_sse_avx_x87_and_mxcsr() {
        let cases: [(&[u8], &str); 6] = [
            (&[0x0f, 0x28, 0xc1], "xmm"),       // movaps %xmm1,%xmm0
            (&[0x66, 0x0f, 0xef, 0xc0], "xmm"), // pxor %xmm0,%xmm0
            (&[0xc5, 0xfc, 0x28, 0xc1], "ymm"), // vmovaps %ymm1,%ymm0
            (&[0xd9, 0xe8], "x87"),             // fld1
            (&[0x0f, 0xae, 0x17], "control"),   // ldmxcsr (%rdi)
            (&[0x0f, 0x77], "mm"),              // emms
        ];
        for (code, expect) in cases {
            let findings = scan_bytes(code);
            assert_eq!(findings.len(), 1, "{code:x?}: {findings:?}");
            let Finding::Instruction {
                reason,
                offset,
                location,
                ..
            } = &findings[0]
            else {
                panic!("{findings:?}");
            };
            assert!(
                reason.to_lowercase().contains(expect),
                "{code:x?}: {reason}"
            );
            assert_eq!(*offset, 0);
            assert_eq!(location.as_deref(), Some("f+0x0"));
        }
    }

    #[test]
    fn reports_undecodable_runs() {
        // nop; two invalid bytes (0x06 is invalid in 64-bit mode); ret
        let findings = scan_bytes(&[0x90, 0x06, 0x06, 0xc3]);
        assert_eq!(
            findings,
            vec![Finding::Undecodable {
                section: ".text".into(),
                offset: 1,
                len: 2,
                location: Some("f+0x1".into()),
            }]
        );
    }

    #[test]
    fn truncated_instruction_is_reported() {
        // mov $imm32,%eax cut short
        let findings = scan_bytes(&[0xb8, 0x01]);
        assert!(matches!(
            findings.as_slice(),
            [Finding::Undecodable {
                offset: 0,
                len: 2,
                ..
            }]
        ));
    }
}
