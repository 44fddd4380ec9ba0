// SPDX-License-Identifier: BSD-2-Clause
//! The two architectures a module is built for: amd64 and arm64.
//!
//! Everything that differs between them for a build lives here: the clang
//! and Rust targets, the `ziglang` header directory with `machine/`, the
//! include links a source tree needs, and the C code-generation flags.
//!
//! arm64's flags, as read in FreeBSD's `sys/conf/kern.mk` (the aarch64
//! block: `-mgeneral-regs-only`, `-ffixed-x18`; read in the
//! `ricardobranco777/freebsd-src` mirror at 086691bf) and `kmod.mk`
//! (`__KLD_SHARED=yes` for every architecture but amd64: the module is a
//! shared object, `ld -Bshareable` of the relocatable link). The issue's
//! other flags (`-fPIC`, `-mno-outline-atomics`, `-mbranch-protection=standard`)
//! are newer than any `kern.mk`/`kmod.mk` we could read; they are used as
//! FreeBSD 15 documents them and listed as unverified in `docs/arm64.md`.

use std::fmt;

/// A FreeBSD architecture modules are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Arch {
    /// x86-64: `ET_REL` modules loaded by `link_elf_obj.c`.
    #[default]
    Amd64,
    /// `AArch64`: `ET_DYN` modules loaded by `link_elf.c`.
    Arm64,
}

/// Every architecture, amd64 first.
pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

impl Arch {
    /// Parses FreeBSD's name (`amd64`, `arm64`; `aarch64` and `x86_64` too).
    ///
    /// # Errors
    /// Any other name, with the accepted ones in the message.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "amd64" | "x86_64" => Ok(Self::Amd64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            _ => Err(format!("unknown ARCH={name}: use amd64 or arm64")),
        }
    }

    /// The architecture of `ARCH` in the environment (amd64 if unset or
    /// empty).
    ///
    /// # Errors
    /// `ARCH` names an unknown architecture.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("ARCH") {
            Ok(v) if !v.is_empty() => Self::parse(&v),
            _ => Ok(Self::Amd64),
        }
    }

    /// From cargo's `CARGO_CFG_TARGET_ARCH` (`x86_64`, `aarch64`).
    #[must_use]
    pub fn from_target_arch(arch: &str) -> Option<Self> {
        match arch {
            "x86_64" => Some(Self::Amd64),
            "aarch64" => Some(Self::Arm64),
            _ => None,
        }
    }

    /// FreeBSD's name (`MACHINE`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Amd64 => "amd64",
            Self::Arm64 => "arm64",
        }
    }

    /// The clang target triple for FreeBSD 15.
    #[must_use]
    pub fn clang_target(self) -> &'static str {
        match self {
            Self::Amd64 => "x86_64-unknown-freebsd15.0",
            Self::Arm64 => "aarch64-unknown-freebsd15.0",
        }
    }

    /// The Rust target module crates are built for.
    ///
    /// arm64: the soft-float target, so that no FP/SIMD register is used
    /// (`-mgeneral-regs-only`); `.cargo/config.toml` adds `+reserve-x18`.
    #[must_use]
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::Amd64 => "x86_64-unknown-none",
            Self::Arm64 => "aarch64-unknown-none-softfloat",
        }
    }

    /// The `ziglang` directory holding this architecture's `machine/`.
    #[must_use]
    pub fn ziglang_dir(self) -> &'static str {
        match self {
            Self::Amd64 => crate::ziglang::ARCH_DIR,
            Self::Arm64 => crate::ziglang::ARM64_DIR,
        }
    }

    /// The include links `kmod.mk` makes in a source tree (`_ILINKS`):
    /// `machine` always, `x86` on amd64.
    #[must_use]
    pub fn include_links(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Amd64 => &[("machine", "amd64/include"), ("x86", "x86/include")],
            Self::Arm64 => &[("machine", "arm64/include")],
        }
    }

    /// C code-generation flags (`kern.mk`, `kmod.mk`).
    #[must_use]
    pub fn codegen(self) -> &'static [&'static str] {
        match self {
            Self::Amd64 => crate::flags::CODEGEN,
            Self::Arm64 => crate::flags::CODEGEN_ARM64,
        }
    }

    /// Whether modules are shared objects (`kmod.mk`'s `__KLD_SHARED`).
    #[must_use]
    pub fn shared(self) -> bool {
        self == Self::Arm64
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for arch in ALL {
            assert_eq!(Arch::parse(arch.name()), Ok(arch));
        }
        assert_eq!(Arch::parse("aarch64"), Ok(Arch::Arm64));
        assert!(Arch::parse("riscv").unwrap_err().contains("arm64"));
    }

    #[test]
    fn arm64_never_uses_fp_registers_and_keeps_x18() {
        let flags = Arch::Arm64.codegen();
        for f in ["-mgeneral-regs-only", "-ffixed-x18", "-fPIC"] {
            assert!(flags.contains(&f), "{f}");
        }
        assert!(!flags.contains(&"-mcmodel=kernel"));
        assert!(Arch::Arm64.shared());
        assert!(!Arch::Amd64.shared());
    }
}
