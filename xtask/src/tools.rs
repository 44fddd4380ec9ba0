// SPDX-License-Identifier: BSD-2-Clause
//! The C compiler and linker: clang and ld.lld.
//!
//! `CC`/`LD` win if set; otherwise the first of `clang-16`, `clang`
//! (FreeBSD's base compiler is clang) and `ld.lld-16`, `ld.lld` on `PATH`.

use std::path::{Path, PathBuf};

/// The external tools a module build needs.
pub(crate) struct Tools {
    /// clang, for the C shim and C-only modules.
    pub(crate) clang: PathBuf,
    /// ld.lld, for the relocatable link.
    pub(crate) lld: PathBuf,
}

impl Tools {
    /// Finds clang and ld.lld.
    pub(crate) fn find() -> crate::Result<Self> {
        let clang = find("CC", &["clang-16", "clang"]).ok_or(
            "clang not found: install it (Debian: `apt-get install clang-16`; \
             FreeBSD: it is the base compiler) or set CC",
        )?;
        let lld = find("LD", &["ld.lld-16", "ld.lld"]).ok_or(
            "ld.lld not found: install it (Debian: `apt-get install lld-16`; \
             FreeBSD: it is the base linker) or set LD",
        )?;
        Ok(Self { clang, lld })
    }
}

fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&v);
        return if p.components().count() > 1 {
            Some(p)
        } else {
            on_path(&v.to_string_lossy())
        };
    }
    names.iter().find_map(|n| on_path(n))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
