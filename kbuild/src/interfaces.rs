// SPDX-License-Identifier: BSD-2-Clause
//! The newbus interface headers: `device_if.h`, `bus_if.h`, `pci_if.h`, and
//! `dev/pci/pcivar.h`.
//!
//! `sys/bus.h` includes `device_if.h` and `bus_if.h` under `_KERNEL`, and
//! `dev/pci/pcivar.h` includes `pci_if.h`. FreeBSD does not install them:
//! `sys/conf/kmod.mk` generates the three `_if.h` headers at build time from
//! the kobj interface definitions (`sys/kern/device_if.m`,
//! `sys/kern/bus_if.m`, `sys/dev/pci/pci_if.m`) with
//! `sys/tools/makeobjops.awk`, and `pcivar.h` is only in the source tree.
//!
//! * With a FreeBSD source tree (`SYSDIR`), [`generate`] runs
//!   `makeobjops.awk -h` on the tree's own `.m` files exactly as `kmod.mk`
//!   does, into the build's include directory.
//! * With the installed header tree ([`crate::ziglang`]), the project's own
//!   declarations in [`PROJECT_DIR`] are searched after the tree, so they
//!   are used only for what the tree lacks. `cargo xtask ifcheck` compares
//!   them with the generated headers whenever a source tree is at hand.

use crate::headers::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The project's declarations, relative to the workspace root.
pub const PROJECT_DIR: &str = "sys/include";

/// Each interface definition in a FreeBSD `sys/` tree and the header
/// `makeobjops.awk -h` writes for it.
pub const DEFINITIONS: &[(&str, &str)] = &[
    ("kern/device_if.m", "device_if.h"),
    ("kern/bus_if.m", "bus_if.h"),
    ("dev/pci/pci_if.m", "pci_if.h"),
];

/// The generator in a FreeBSD `sys/` tree.
pub const MAKEOBJOPS: &str = "tools/makeobjops.awk";

/// `pcivar.h` in a FreeBSD `sys/` tree (also its include path).
pub const PCIVAR: &str = "dev/pci/pcivar.h";

/// The project's declarations of the workspace at `workspace`.
#[must_use]
pub fn project_dir(workspace: &Path) -> PathBuf {
    workspace.join(PROJECT_DIR)
}

/// Every file of a FreeBSD `sys/` tree that [`generate`] reads.
#[must_use]
pub fn sources(sysdir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = DEFINITIONS.iter().map(|(m, _)| sysdir.join(m)).collect();
    files.push(sysdir.join(MAKEOBJOPS));
    files
}

/// Generates `device_if.h`, `bus_if.h` and `pci_if.h` from the interface
/// definitions of the FreeBSD `sys/` tree `sysdir` into `out`, as
/// `kmod.mk` does: `awk -f $SYSDIR/tools/makeobjops.awk FILE.m -h`, run in
/// the output directory (the script writes there). `AWK` names the awk to
/// use, `awk` by default, as in FreeBSD's make.
///
/// # Errors
/// A definition or the script is missing, or awk fails.
pub fn generate(sysdir: &Path, out: &Path) -> Result<(), Error> {
    for file in sources(sysdir) {
        if !file.is_file() {
            return Err(Error::new(format!(
                "{} is missing: SYSDIR must be a complete FreeBSD sys/ directory",
                file.display()
            )));
        }
    }
    std::fs::create_dir_all(out)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", out.display())))?;
    let awk = std::env::var("AWK")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "awk".to_owned());
    for (definition, header) in DEFINITIONS {
        let status = Command::new(&awk)
            .arg("-f")
            .arg(sysdir.join(MAKEOBJOPS))
            .arg(sysdir.join(definition))
            .arg("-h")
            .current_dir(out)
            .status()
            .map_err(|e| Error::new(format!("cannot run {awk}: {e}")))?;
        let generated = out.join(header);
        if !status.success() || !generated.is_file() {
            return Err(Error::new(format!(
                "{awk} -f {} {} -h failed ({status})",
                sysdir.join(MAKEOBJOPS).display(),
                sysdir.join(definition).display()
            )));
        }
    }
    Ok(())
}

/// Writes a stand-in for a source tree's interface definitions and
/// `makeobjops.awk` under `root`, for tests of what uses [`generate`].
#[cfg(test)]
pub(crate) fn write_fake_sources(root: &Path) {
    for file in sources(root) {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "INTERFACE x;\n").unwrap();
    }
    std::fs::write(root.join(MAKEOBJOPS), tests::FAKE_MAKEOBJOPS).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for `makeobjops.awk` with its command-line contract: the
    /// header is named after the definition and written to the current
    /// directory.
    pub(super) const FAKE_MAKEOBJOPS: &str = r#"BEGIN {
	src = ARGV[1]; h = src; sub(/^.*\//, "", h); sub(/\.m$/, ".h", h);
	if (ARGV[2] != "-h") exit 1;
	while ((getline line < src) > 0) print "/* " line " */" > h;
	exit 0;
}
"#;

    fn fake_sys(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("kbuild-{name}-{}", std::process::id()));
        write_fake_sources(&root);
        root
    }

    #[test]
    fn generates_each_header_in_the_output_directory() {
        let root = fake_sys("generate");
        let out = root.join("out");
        generate(&root, &out).unwrap();
        for (_, header) in DEFINITIONS {
            let text = std::fs::read_to_string(out.join(header)).unwrap();
            assert_eq!(text, "/* INTERFACE x; */\n", "{header}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_definition_is_named() {
        let root = fake_sys("missing");
        std::fs::remove_file(root.join("dev/pci/pci_if.m")).unwrap();
        let err = generate(&root, &root.join("out")).unwrap_err().to_string();
        assert!(err.contains("pci_if.m is missing"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_project_declares_every_header_the_tree_lacks() {
        let dir = project_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
        for (_, header) in DEFINITIONS {
            assert!(dir.join(header).is_file(), "{header}");
        }
        assert!(dir.join(PCIVAR).is_file());
    }
}
