// SPDX-License-Identifier: BSD-2-Clause
//! The flags FreeBSD's build uses for kernel modules (amd64, and arm64 in
//! [`CODEGEN_ARM64`]).
//!
//! Taken from `sys/conf/kern.mk` (the amd64 block: `-mcmodel=kernel
//! -mno-red-zone -mno-mmx -mno-sse -msoft-float
//! -fno-asynchronous-unwind-tables`, clang's `-mno-aes -mno-avx`,
//! `-ffreestanding`, `-fwrapv`, `-fstack-protector`, `CSTD=c99`) and
//! `sys/conf/kmod.mk` (`-D_KERNEL -DKLD_MODULE -nostdinc -fno-common`,
//! `-include opt_global.h`), plus `-fno-omit-frame-pointer` as FreeBSD builds
//! amd64 kernels with frame pointers for stack unwinding in ddb and dtrace.

/// The clang target triple for FreeBSD 15 on amd64 ([`crate::Arch::clang_target`]
/// has both).
pub const CLANG_TARGET: &str = "x86_64-unknown-freebsd15.0";

/// Code-generation flags for C files in an arm64 module.
///
/// `kern.mk`'s aarch64 block (`-mgeneral-regs-only`: no FP/SIMD register;
/// `-ffixed-x18`: x18 holds the per-CPU pointer,
/// `register struct pcpu *pcpup __asm ("x18")` in `machine/pcpu.h`), with
/// `-mno-outline-atomics` (an atomic is inline, not a call to libgcc's
/// helpers, which a module cannot link) and `-mbranch-protection=standard`
/// (BTI landing pads and PAC). `kmod.mk` builds every module but amd64's
/// with `-fPIC`: it is linked as a shared object.
pub const CODEGEN_ARM64: &[&str] = &[
    "-nostdinc",
    "-ffreestanding",
    "-fno-common",
    "-fwrapv",
    "-fstack-protector",
    "-fPIC",
    "-mgeneral-regs-only",
    "-ffixed-x18",
    "-mno-outline-atomics",
    "-mbranch-protection=standard",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-std=iso9899:1999",
    "-O2",
];

/// `__FreeBSD_version` of 15.0-RELEASE (`sys/sys/param.h`).
///
/// The `ziglang` header tree removes the definition (its compiler defines
/// it); we define it ourselves with this value. A FreeBSD source tree defines
/// it in `sys/param.h`, so this is not passed for `SYSDIR` builds.
pub const FREEBSD_VERSION: u32 = 1_500_068;

/// Preprocessor definitions every kernel-module translation unit gets.
pub const DEFINES: &[&str] = &["-D_KERNEL", "-DKLD_MODULE"];

/// Code-generation flags for C files in a module (`kern.mk`, `kmod.mk`).
pub const CODEGEN: &[&str] = &[
    "-nostdinc",
    "-ffreestanding",
    "-fno-common",
    "-fwrapv",
    "-fstack-protector",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mno-mmx",
    "-mno-sse",
    "-msoft-float",
    "-mno-aes",
    "-mno-avx",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-std=iso9899:1999",
    "-O2",
];

/// Warnings for C files in a module (a subset of `kern.mk`'s `CWARNFLAGS`
/// that clang accepts without FreeBSD's format extensions).
pub const WARNINGS: &[&str] = &[
    "-Wall",
    "-Wredundant-decls",
    "-Wnested-externs",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wpointer-arith",
    "-Wcast-qual",
    "-Wundef",
    "-Wno-pointer-sign",
    "-Wno-format-zero-length",
    // kern.mk's FORMAT_EXTENSIONS for clang: check printf(9)'s %b, %D, %r.
    "-D__printf__=__freebsd_kprintf__",
    "-Werror",
];
