// SPDX-License-Identifier: BSD-2-Clause
//! Where things are: the workspace root, the build folder, cargo.

use kbuild::Arch;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace and its output folder.
pub(crate) struct Workspace {
    /// The repository root (holds the workspace `Cargo.toml`).
    pub(crate) root: PathBuf,
    /// The architecture modules are built for (`ARCH`, amd64 by default).
    pub(crate) arch: Arch,
    /// Where the `.ko` files go: `$KMOD_BUILD_DIR`, else `build/`; arm64's
    /// go into its `arm64/` folder.
    pub(crate) build_dir: PathBuf,
    /// Cargo's target folder.
    pub(crate) target_dir: PathBuf,
    /// The cargo that runs us.
    pub(crate) cargo: String,
}

impl Workspace {
    /// Locates the workspace this xtask was built from.
    pub(crate) fn find() -> crate::Result<Self> {
        Self::find_for(Arch::from_env()?)
    }

    /// Locates the workspace, building for `arch`.
    pub(crate) fn find_for(arch: Arch) -> crate::Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask must live in the workspace")?
            .to_path_buf();
        let base =
            std::env::var_os("KMOD_BUILD_DIR").map_or_else(|| root.join("build"), PathBuf::from);
        let build_dir = match arch {
            Arch::Amd64 => base,
            Arch::Arm64 => base.join(arch.name()),
        };
        let target_dir =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        Ok(Self {
            root,
            arch,
            build_dir,
            target_dir,
            cargo,
        })
    }

    /// Scratch folder for one module's intermediate files.
    pub(crate) fn obj_dir(&self, module: &str) -> crate::Result<PathBuf> {
        let dir = self.build_dir.join("obj").join(module);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }
}

/// Runs `cmd`, failing with its command line if it fails.
pub(crate) fn run(cmd: &mut Command) -> crate::Result {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", cmd.get_program().to_string_lossy()))?;
    if status.success() {
        Ok(())
    } else {
        let line: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Err(format!("command failed ({status}): {}", line.join(" ")))
    }
}
