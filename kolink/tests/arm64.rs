// SPDX-License-Identifier: BSD-2-Clause
//! The arm64 checks on synthetic shared objects: tiny assembly files,
//! assembled with clang for `aarch64-unknown-freebsd15.0` and linked with
//! `ld.lld -shared` at test time, then judged by `kolink::arm64::check`.
//!
//! Each test starts from a module that passes (metadata set, dependency on
//! `kernel`, a call to an allowlisted kernel function) and adds one fault:
//! an instruction that writes x18, one that names an FP/SIMD register, or a
//! dynamic relocation `elf_machdep.c` rejects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a panic is a test failure"
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use kolink::Allowlist;
use kolink::arm64::{self, Arm64Context};

/// The skeleton every test module shares: module metadata in
/// `set_modmetadata_set`, the `kernel` dependency's record, the bounds of
/// the set, and a call to `printf`.
const SKELETON: &str = r#"
    .text
    .type   kmod_start, %function
kmod_start:
    bl      printf
    ldr     x0, [x18, #8]
    mrs     x2, tpidr_el1
    mov     x1, x18
    str     x1, [x18, #16]
    ret
    .data
    .p2align 3
_m_depend_on_kernel:
    .quad   0
    .section set_modmetadata_set,"aw"
    .p2align 3
    .quad   _m_depend_on_kernel
"#;

fn clang() -> PathBuf {
    std::env::var_os("CC")
        .map(PathBuf::from)
        .or_else(|| common::tool("clang-16"))
        .or_else(|| common::tool("clang"))
        .expect("clang is needed to assemble the arm64 test objects (make installs it)")
}

fn lld() -> PathBuf {
    common::tool("ld.lld-16")
        .or_else(|| common::tool("ld.lld"))
        .expect("ld.lld is needed to link the arm64 test objects (make installs it)")
}

/// Assembles `body` after the skeleton and links it as kmod.mk links an
/// arm64 module, with the linker-set bounds referenced.
fn build(dir: &Path, name: &str, body: &str) -> Vec<u8> {
    let src = dir.join(format!("{name}.s"));
    std::fs::write(&src, format!("{SKELETON}\n    .text\n{body}\n")).unwrap();
    let obj = dir.join(format!("{name}.o"));
    let ok = Command::new(clang())
        .args(["--target=aarch64-unknown-freebsd15.0", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap()
        .success();
    assert!(ok, "clang could not assemble {}", src.display());
    let ko = dir.join(format!("{name}.ko"));
    let ok = Command::new(lld())
        .args([
            "-Bshareable",
            "-z",
            "notext",
            "-z",
            "norelro",
            "--hash-style=sysv",
        ])
        .args([
            "-u",
            "__start_set_modmetadata_set",
            "-u",
            "__stop_set_modmetadata_set",
        ])
        .arg("-o")
        .arg(&ko)
        .arg(&obj)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ld.lld could not link {}", obj.display());
    std::fs::read(&ko).unwrap()
}

fn failures(data: &[u8]) -> Vec<String> {
    let allowlist = Allowlist::parse("printf\tsys/systm.h\n").unwrap();
    let peers = BTreeSet::new();
    let cx = Arm64Context {
        allowlist: &allowlist,
        exports: &[],
        peer_exports: &peers,
    };
    arm64::check(data, &cx)
        .unwrap()
        .into_iter()
        .map(|f| f.to_string())
        .collect()
}

/// Builds the skeleton plus `body`, as a local function.
fn with_code(test: &str, body: &str) -> Vec<String> {
    let dir = common::scratch(&format!("arm64-{test}"));
    let code = format!("    .type f_{test}, %function\nf_{test}:\n{body}\n    ret\n");
    failures(&build(&dir, test, &code))
}

#[test]
fn the_skeleton_passes_reading_x18_is_allowed() {
    let dir = common::scratch("arm64-clean");
    let data = build(&dir, "clean", "");
    assert!(arm64::is_arm64(&data));
    let found = failures(&data);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_way_of_writing_x18_is_caught() {
    for (n, insn) in [
        "mov x18, #1",
        "mov w18, #1",
        "ldr x18, [x0]",
        "ldrb w18, [x0, #2]",
        "add x18, x0, x1",
        "orr x18, x18, #1",
        "ldp x0, x18, [sp]",
        "ldr x0, [x18, #8]!",
        "ldr x0, [x18], #8",
        "mrs x18, tpidr_el1",
        "stxr w18, x0, [x1]",
        "csel x18, x0, x1, eq",
        "adrp x18, kmod_start",
    ]
    .into_iter()
    .enumerate()
    {
        let found = with_code(&format!("x18_{n}"), &format!("    {insn}"));
        assert_eq!(found.len(), 1, "`{insn}`: {found:#?}");
        assert!(found[0].contains("writes x18"), "`{insn}`: {found:#?}");
        assert!(
            found[0].contains(&format!("f_x18_{n}")),
            "names the function: {found:#?}"
        );
    }
}

#[test]
fn fp_and_simd_registers_are_caught() {
    for (n, insn) in [
        "fmov d0, x1",
        "ld1 {v0.16b}, [x0]",
        "str q0, [sp, #-16]!",
        "movi v1.2d, #0",
        "fadd s0, s1, s2",
        "mrs x0, fpcr",
        "msr fpsr, x1",
    ]
    .into_iter()
    .enumerate()
    {
        let found = with_code(&format!("fp_{n}"), &format!("    {insn}"));
        assert_eq!(found.len(), 1, "`{insn}`: {found:#?}");
        assert!(found[0].contains("FP/SIMD"), "`{insn}`: {found:#?}");
    }
}

#[test]
fn a_relocation_link_elf_rejects_is_caught() {
    // A thread-local variable: the shared link gives it R_AARCH64_TLSDESC,
    // which elf_reloc_internal (sys/arm64/arm64/elf_machdep.c) rejects.
    let body = r#"
    .type f_tls, %function
f_tls:
    adrp    x0, :tlsdesc:tv
    ldr     x1, [x0, :tlsdesc_lo12:tv]
    add     x0, x0, :tlsdesc_lo12:tv
    .tlsdesccall tv
    blr     x1
    ret
    .section .tbss,"awT",@nobits
    .globl  tv
tv:
    .zero   8
"#;
    let dir = common::scratch("arm64-tlsdesc");
    let found = failures(&build(&dir, "tlsdesc", body));
    assert!(
        found.iter().any(|f| f.contains(&format!(
            "relocation type {}",
            object::elf::R_AARCH64_TLSDESC
        ))),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("tv is global but not exported")),
        "{found:#?}"
    );
}

#[test]
fn missing_kernel_dependency_and_unknown_symbols_are_caught() {
    let dir = common::scratch("arm64-symbols");
    let body = "    .globl leaked\n    .type leaked, %function\nleaked:\n    bl not_a_kernel_function\n    ret\n";
    let data = build(&dir, "symbols", body);
    let found = failures(&data);
    assert!(
        found.iter().any(|f| f.contains("not_a_kernel_function")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("leaked is global but not exported")),
        "{found:#?}"
    );
}

/// A GNU property note claiming BTI (`GNU_PROPERTY_AARCH64_FEATURE_1_AND`,
/// bit 0), as clang's `-mbranch-protection=standard` writes it.
const BTI_NOTE: &str = r#"
    .section .note.gnu.property,"a"
    .p2align 3
    .word   4
    .word   16
    .word   5
    .asciz  "GNU"
    .word   0xc0000000
    .word   4
    .word   1
    .word   0
"#;

#[test]
fn a_bti_claim_is_refused_only_over_rust_code() {
    let dir = common::scratch("arm64-bti");
    let c_only = build(&dir, "c", BTI_NOTE);
    assert!(arm64::claims_bti(&c_only).unwrap());
    let found = failures(&c_only);
    assert!(
        found.is_empty(),
        "C code with landing pads may claim BTI: {found:#?}"
    );

    let rust = format!(
        "    .type _ZN4kern3foo17h0123456789abcdefE, %function\n\
         _ZN4kern3foo17h0123456789abcdefE:\n    ret\n{BTI_NOTE}"
    );
    let found = failures(&build(&dir, "rust", &rust));
    assert!(found.iter().any(|f| f.contains("claims BTI")), "{found:#?}");

    let plain = build(&dir, "plain", "");
    assert!(!arm64::claims_bti(&plain).unwrap());
}

#[test]
fn the_command_line_fixes_and_checks_arm64_modules() {
    let dir = common::scratch("arm64-cli");
    let src = dir.join("m.s");
    let body = "    .globl keep\n    .type keep, %function\nkeep:\n    ret\n    .globl hide\n    .type hide, %function\nhide:\n    mov x18, #1\n    ret\n";
    std::fs::write(&src, format!("{SKELETON}\n    .text\n{body}")).unwrap();
    let obj = dir.join("m.o");
    assert!(
        Command::new(clang())
            .args(["--target=aarch64-unknown-freebsd15.0", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap()
            .success()
    );
    // The relocatable link first, as the build does (its output is what
    // `fix` takes).
    let lo = dir.join("m.lo");
    assert!(
        Command::new(lld())
            .args(["-r", "-o"])
            .arg(&lo)
            .arg(&obj)
            .status()
            .unwrap()
            .success()
    );
    let kolink = env!("CARGO_BIN_EXE_kolink");
    let kld = dir.join("m.kld");
    let out = Command::new(kolink)
        .args(["fix", "--export", "keep", "-o"])
        .arg(&kld)
        .arg(&lo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("localized"));
    let ko = dir.join("m.ko");
    assert!(
        Command::new(lld())
            .args([
                "-Bshareable",
                "-z",
                "notext",
                "-z",
                "norelro",
                "--hash-style=sysv"
            ])
            .args([
                "-u",
                "__start_set_modmetadata_set",
                "-u",
                "__stop_set_modmetadata_set"
            ])
            .arg("-o")
            .arg(&ko)
            .arg(&kld)
            .status()
            .unwrap()
            .success()
    );
    let allow = dir.join("allow.txt");
    std::fs::write(&allow, "printf\tsys/systm.h\n").unwrap();
    let out = Command::new(kolink)
        .arg("check")
        .arg(&ko)
        .arg("--allowlist")
        .arg(&allow)
        .args(["--export", "keep"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // `hide` was localized by fix; only its x18 write is left to report.
    assert!(err.contains("writes x18") && err.contains("hide"), "{err}");
    assert!(err.contains("1 problem(s)"), "{err}");
}
