// SPDX-License-Identifier: BSD-2-Clause
//! Locating the FreeBSD kernel headers.
//!
//! Order, as the project's build promises (README, "Header source"):
//! 1. `SYSDIR`, if set: a FreeBSD source tree's `sys/` directory. Such a tree
//!    needs the include links `kmod.mk` makes (`machine` to
//!    `amd64/include`, `x86` to `x86/include`) and defines
//!    `__FreeBSD_version` itself in `sys/param.h`.
//! 2. On a FreeBSD host, `/usr/src/sys` if it exists.
//! 3. The FreeBSD 15 installed header tree of PyPI's `ziglang` package
//!    (see [`crate::ziglang`]), cached under `.cache/` in the workspace. That
//!    tree already has `machine/` and `x86/` but lacks `__FreeBSD_version`
//!    (and userland's `<ssp/ssp.h>` definition of `__SSP_FORTIFY_LEVEL`).
//!
//! Either way the newbus interface headers come along (see
//! [`crate::interfaces`]): generated from a source tree's `.m` files, or
//! the project's declarations searched after the installed tree.

use crate::arch::Arch;
use crate::flags;
use crate::interfaces;
use crate::ziglang;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the kernel headers of one build come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A FreeBSD source tree's `sys/` directory (`SYSDIR`).
    SourceTree(PathBuf),
    /// The `ziglang` installed-header tree rooted at this directory.
    Ziglang(PathBuf),
}

/// A located header tree and the compiler arguments that select it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTree {
    /// The architecture these headers are read for (its `machine/`).
    pub arch: Arch,
    /// Where the headers come from.
    pub source: Source,
    /// `-I` directories, in search order (with [`Self::interfaces`]).
    pub include_dirs: Vec<PathBuf>,
    /// Where `device_if.h`, `bus_if.h` and `pci_if.h` come from: the
    /// headers generated from a source tree, or the project's declarations
    /// (which also hold `dev/pci/pcivar.h`). One of [`Self::include_dirs`].
    pub interfaces: PathBuf,
    /// Extra `-D` definitions this tree needs (`__FreeBSD_version`).
    pub defines: Vec<String>,
}

/// Why no header tree could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub(crate) fn new(message: String) -> Self {
        Self(message)
    }
}

/// The default cache directory for the `ziglang` header tree of a workspace.
#[must_use]
pub fn default_cache_dir(workspace: &Path) -> PathBuf {
    workspace
        .join(".cache")
        .join(format!("freebsd-headers-ziglang-{}", ziglang::VERSION))
}

impl HeaderTree {
    /// Finds the header tree for a build of the workspace at `workspace`.
    ///
    /// `links_dir` is a scratch directory where the `machine`/`x86` include
    /// links for a source tree are made (a build's `OUT_DIR`).
    ///
    /// # Errors
    /// `SYSDIR` set but not a FreeBSD `sys/` directory, or no tree found
    /// (the message says how to install the `ziglang` tree).
    pub fn locate(workspace: &Path, links_dir: &Path) -> Result<Self, Error> {
        Self::locate_for(workspace, links_dir, Arch::Amd64)
    }

    /// [`Self::locate`] for `arch`.
    ///
    /// # Errors
    /// As [`Self::locate`].
    pub fn locate_for(workspace: &Path, links_dir: &Path, arch: Arch) -> Result<Self, Error> {
        if let Some(sysdir) = std::env::var_os("SYSDIR").filter(|v| !v.is_empty()) {
            return Self::source_tree_for(Path::new(&sysdir), links_dir, "SYSDIR", arch);
        }
        if cfg!(target_os = "freebsd") {
            let usr_src = Path::new("/usr/src/sys");
            if usr_src.join("sys/param.h").is_file() {
                return Self::source_tree_for(usr_src, links_dir, "/usr/src/sys", arch);
            }
        }
        let cache = std::env::var_os("KMOD_HEADERS")
            .map_or_else(|| default_cache_dir(workspace), PathBuf::from);
        Self::ziglang_for(&cache, &interfaces::project_dir(workspace), arch)
    }

    /// Uses a FreeBSD source tree's `sys/` directory, and generates its
    /// newbus interface headers into `links_dir` (see
    /// [`interfaces::generate`]).
    ///
    /// # Errors
    /// `sysdir` has no `sys/param.h` or no `amd64/include`, the include
    /// links cannot be made, or the interface headers cannot be generated.
    pub fn source_tree(sysdir: &Path, links_dir: &Path, origin: &str) -> Result<Self, Error> {
        Self::source_tree_for(sysdir, links_dir, origin, Arch::Amd64)
    }

    /// [`Self::source_tree`] for `arch` (its include links, in a folder of
    /// their own beside amd64's).
    ///
    /// # Errors
    /// As [`Self::source_tree`].
    pub fn source_tree_for(
        sysdir: &Path,
        links_dir: &Path,
        origin: &str,
        arch: Arch,
    ) -> Result<Self, Error> {
        let param = sysdir.join("sys/param.h");
        if !param.is_file() {
            return Err(Error(format!(
                "{origin} is {}, which is not a FreeBSD kernel source directory \
                 (no {}); point SYSDIR at the `sys` directory of a FreeBSD 15 source tree",
                sysdir.display(),
                param.display()
            )));
        }
        let links = match arch {
            Arch::Amd64 => links_dir.join("kmod-include"),
            Arch::Arm64 => links_dir.join(format!("kmod-include-{arch}")),
        };
        std::fs::create_dir_all(&links)
            .map_err(|e| Error(format!("cannot create {}: {e}", links.display())))?;
        for &(name, target) in arch.include_links() {
            let target = sysdir.join(target);
            if !target.is_dir() {
                return Err(Error(format!("{origin}: missing {}", target.display())));
            }
            make_link(&target, &links.join(name))?;
        }
        let generated = links_dir.join("kmod-interfaces");
        interfaces::generate(sysdir, &generated)?;
        Ok(Self {
            arch,
            source: Source::SourceTree(sysdir.to_path_buf()),
            include_dirs: vec![
                links,
                generated.clone(),
                sysdir.to_path_buf(),
                sysdir.join("contrib/ck/include"),
            ],
            defines: Vec::new(),
            interfaces: generated,
        })
    }

    /// Uses the `ziglang` installed-header tree under `root`, with the
    /// project's declarations in `project_include` searched after it (see
    /// [`interfaces::PROJECT_DIR`]).
    ///
    /// # Errors
    /// The tree is not there (not yet installed).
    pub fn ziglang(root: &Path, project_include: &Path) -> Result<Self, Error> {
        Self::ziglang_for(root, project_include, Arch::Amd64)
    }

    /// [`Self::ziglang`] for `arch` (its `machine/` directory).
    ///
    /// # Errors
    /// As [`Self::ziglang`].
    pub fn ziglang_for(root: &Path, project_include: &Path, target: Arch) -> Result<Self, Error> {
        let arch = root.join(target.ziglang_dir());
        let generic = root.join(ziglang::GENERIC_DIR);
        if !generic.join("sys/param.h").is_file() || !arch.join("machine/param.h").is_file() {
            return Err(Error(format!(
                "the FreeBSD 15 kernel headers are not installed in {}; \
                 run `make` (or `cargo xtask deps`) to install them from PyPI's \
                 ziglang=={}, or set SYSDIR to a FreeBSD source tree's sys/ directory",
                root.display(),
                ziglang::VERSION
            )));
        }
        Ok(Self {
            arch: target,
            source: Source::Ziglang(root.to_path_buf()),
            // Last, so that a header the tree has is always the tree's.
            include_dirs: vec![arch, generic, project_include.to_path_buf()],
            interfaces: project_include.to_path_buf(),
            defines: vec![
                format!("-D__FreeBSD_version={}", flags::FREEBSD_VERSION),
                // The installed (userland) sys/select.h tests this macro,
                // which only userland's <ssp/ssp.h> defines; kernel code is
                // never fortified, so it is 0 (ssp.h's value without
                // _FORTIFY_SOURCE). Needed for -Wundef, as kern.mk uses.
                "-D__SSP_FORTIFY_LEVEL=0".to_owned(),
            ],
        })
    }

    /// Every clang argument that selects the target and these headers:
    /// target triple, `-D_KERNEL -DKLD_MODULE`, tree defines, `-nostdinc`
    /// and the `-I` directories (after `extra_includes`).
    #[must_use]
    pub fn clang_args(&self, extra_includes: &[&Path]) -> Vec<String> {
        let mut args = vec![format!("--target={}", self.arch.clang_target())];
        args.extend(flags::DEFINES.iter().map(|d| (*d).to_owned()));
        args.extend(self.defines.iter().cloned());
        args.push("-nostdinc".to_owned());
        for dir in extra_includes {
            args.push(format!("-I{}", dir.display()));
        }
        for dir in &self.include_dirs {
            args.push(format!("-I{}", dir.display()));
        }
        args
    }

    /// Files (or directories, searched whole) whose change must trigger a
    /// rebuild of generated bindings.
    #[must_use]
    pub fn watched_roots(&self) -> Vec<PathBuf> {
        match &self.source {
            Source::SourceTree(p) => {
                let mut files = vec![p.join("sys/param.h"), p.join(interfaces::PCIVAR)];
                files.extend(interfaces::sources(p));
                files
            }
            Source::Ziglang(p) => vec![p.join(ziglang::STAMP), self.interfaces.clone()],
        }
    }

    /// The `-I` directories without [`Self::interfaces`]: the header tree
    /// alone, for a build that brings its own interface headers.
    #[must_use]
    pub fn tree_include_dirs(&self) -> Vec<PathBuf> {
        self.include_dirs
            .iter()
            .filter(|d| **d != self.interfaces)
            .cloned()
            .collect()
    }
}

#[cfg(unix)]
fn make_link(target: &Path, link: &Path) -> Result<(), Error> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    // A stale link (another SYSDIR) is replaced.
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).map_err(|e| {
        Error(format!(
            "cannot link {} -> {}: {e}",
            link.display(),
            target.display()
        ))
    })
}

#[cfg(not(unix))]
fn make_link(_target: &Path, link: &Path) -> Result<(), Error> {
    Err(Error(format!(
        "cannot make include link {} on this host",
        link.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ziglang_tree_says_how_to_install() {
        let dir = std::env::temp_dir().join("kbuild-missing-tree");
        let err = HeaderTree::ziglang(&dir, &dir).unwrap_err().to_string();
        assert!(err.contains("make"), "{err}");
        assert!(err.contains(ziglang::VERSION), "{err}");
    }

    #[test]
    fn bad_sysdir_is_named() {
        let dir = std::env::temp_dir().join("kbuild-not-a-sysdir");
        std::fs::create_dir_all(&dir).unwrap();
        let err = HeaderTree::source_tree(&dir, &dir, "SYSDIR")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SYSDIR is"), "{err}");
        assert!(err.contains("sys/param.h"), "{err}");
    }

    #[test]
    fn source_tree_gets_kmod_include_links() {
        let root = std::env::temp_dir().join(format!("kbuild-fake-sys-{}", std::process::id()));
        for d in ["sys", "amd64/include", "x86/include"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("sys/param.h"), "").unwrap();
        crate::interfaces::write_fake_sources(&root);
        let out = root.join("out");
        let tree = HeaderTree::source_tree(&root, &out, "SYSDIR").unwrap();
        assert_eq!(tree.interfaces, out.join("kmod-interfaces"));
        assert!(tree.interfaces.join("bus_if.h").is_file());
        assert!(tree.include_dirs.contains(&tree.interfaces));
        assert!(!tree.tree_include_dirs().contains(&tree.interfaces));
        let links = out.join("kmod-include");
        assert_eq!(
            std::fs::read_link(links.join("machine")).unwrap(),
            root.join("amd64/include")
        );
        assert_eq!(
            std::fs::read_link(links.join("x86")).unwrap(),
            root.join("x86/include")
        );
        assert!(
            tree.defines.is_empty(),
            "a source tree defines __FreeBSD_version itself"
        );
        let args = tree.clang_args(&[]);
        assert!(args.contains(&"-D_KERNEL".to_owned()));
        assert!(args.contains(&"-DKLD_MODULE".to_owned()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn project_interfaces_are_searched_after_the_installed_tree() {
        let root = std::env::temp_dir().join(format!("kbuild-fake-zig-{}", std::process::id()));
        for f in [
            format!("{}/sys/param.h", ziglang::GENERIC_DIR),
            format!("{}/machine/param.h", ziglang::ARCH_DIR),
        ] {
            std::fs::create_dir_all(root.join(&f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "").unwrap();
        }
        let project = root.join("project-include");
        let tree = HeaderTree::ziglang(&root, &project).unwrap();
        assert_eq!(tree.include_dirs.last(), Some(&project));
        assert_eq!(tree.interfaces, project);
        assert_eq!(
            tree.tree_include_dirs(),
            vec![
                root.join(ziglang::ARCH_DIR),
                root.join(ziglang::GENERIC_DIR)
            ]
        );
        assert!(tree.watched_roots().contains(&project));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
