// SPDX-License-Identifier: BSD-2-Clause
//! The FreeBSD 15 header tree from PyPI's `ziglang` package.
//!
//! Zig ships the installed headers of FreeBSD (`/usr/include`, including the
//! `_KERNEL` sections of `sys/*.h`) to cross-compile for it. We download one
//! pinned wheel with `pip` (hash-checked), and unpack only the directories
//! a kernel module needs (the generic headers, and `machine/` for amd64 and
//! arm64) into a cache folder that is not committed.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// The pinned `ziglang` release.
pub const VERSION: &str = "0.17.1";

/// The wheel we unpack: FreeBSD headers are identical in every platform
/// wheel, so one platform is pinned for every host.
pub const PLATFORM: &str = "manylinux_2_12_x86_64";

/// SHA-256 of `ziglang-0.17.1-py3-none-manylinux_2_12_x86_64...whl`.
pub const SHA256: &str = "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54";

/// Architecture-independent FreeBSD headers, relative to the cache root.
pub const GENERIC_DIR: &str = "generic-freebsd";

/// amd64 headers (`machine/`), relative to the cache root.
pub const ARCH_DIR: &str = "x86_64-freebsd-none";

/// arm64 headers (`machine/`), relative to the cache root.
pub const ARM64_DIR: &str = "aarch64-freebsd-none";

/// Every per-architecture directory [`install`] unpacks.
pub const ARCH_DIRS: &[&str] = &[ARCH_DIR, ARM64_DIR];

/// Written last by [`install`]: its presence means the tree is complete.
pub const STAMP: &str = ".installed";

const PREFIX: &str = "ziglang/lib/libc/include/";

/// Installs the header tree into `root` unless it is already there.
///
/// Needs `python3 -m pip` and access to PyPI. Returns `true` if it had to
/// download.
///
/// # Errors
/// pip fails (no network, hash mismatch) or the wheel lacks the tree.
pub fn install(root: &Path, python: &str) -> Result<bool, String> {
    // A cache from before arm64 was supported lacks its directory: the
    // stamp alone does not prove the tree complete.
    let complete = ARCH_DIRS
        .iter()
        .all(|d| root.join(d).join("machine/param.h").is_file());
    if root.join(STAMP).is_file() && complete {
        return Ok(false);
    }
    let scratch = root.with_extension("download");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let requirements = scratch.join("requirements.txt");
    std::fs::write(
        &requirements,
        format!("ziglang=={VERSION} --hash=sha256:{SHA256}\n"),
    )
    .map_err(|e| format!("{}: {e}", requirements.display()))?;
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args(["--platform", PLATFORM, "--require-hashes", "-r"])
        .arg(&requirements)
        .arg("-d")
        .arg(&scratch)
        .status()
        .map_err(|e| format!("cannot run {python} -m pip: {e}"))?;
    if !status.success() {
        return Err(format!(
            "pip could not download ziglang=={VERSION} ({status})"
        ));
    }
    let mut script = String::from(
        "import sys, zipfile, pathlib, glob\n\
         whl = glob.glob(sys.argv[1] + '/ziglang-*.whl')[0]\n\
         out = pathlib.Path(sys.argv[2])\n\
         n = 0\n\
         with zipfile.ZipFile(whl) as z:\n\
         \x20   for name in z.namelist():\n",
    );
    let _ = write!(
        script,
        "        for d in ('{GENERIC_DIR}/', '{ARCH_DIR}/', '{ARM64_DIR}/'):\n\
         \x20           if name.startswith('{PREFIX}' + d) and not name.endswith('/'):\n\
         \x20               dest = out / name[len('{PREFIX}'):]\n\
         \x20               dest.parent.mkdir(parents=True, exist_ok=True)\n\
         \x20               dest.write_bytes(z.read(name))\n\
         \x20               n += 1\n\
         if n < 1000:\n\
         \x20   sys.exit('the wheel has only %d FreeBSD header files' % n)\n"
    );
    let status = Command::new(python)
        .arg("-c")
        .arg(&script)
        .arg(&scratch)
        .arg(root)
        .status()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "unpacking the FreeBSD headers from ziglang=={VERSION} failed"
        ));
    }
    std::fs::write(
        root.join(STAMP),
        format!("ziglang=={VERSION} sha256:{SHA256}\n"),
    )
    .map_err(|e| format!("{}: {e}", root.display()))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(true)
}
