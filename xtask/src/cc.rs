// SPDX-License-Identifier: BSD-2-Clause
//! Compiling C for a module with FreeBSD's amd64 kmod flags.

use crate::tools::Tools;
use crate::workspace::run;
use kbuild::HeaderTree;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `src` into `obj_dir`, with `includes` searched first and
/// `extra` flags after FreeBSD's.
///
/// `obj_dir` also receives the empty `opt_global.h` that `kmod.mk` passes
/// with `-include` (a kernel build would generate it from its config).
pub(crate) fn compile(
    tools: &Tools,
    headers: &HeaderTree,
    src: &Path,
    obj_dir: &Path,
    includes: &[&Path],
    extra: &[&str],
) -> crate::Result<PathBuf> {
    let opt_global = obj_dir.join("opt_global.h");
    if !opt_global.is_file() {
        std::fs::write(&opt_global, "").map_err(|e| format!("{}: {e}", opt_global.display()))?;
    }
    let stem = src
        .file_stem()
        .ok_or_else(|| format!("{}: not a C file", src.display()))?;
    let obj = obj_dir.join(stem).with_extension("o");
    let mut search: Vec<&Path> = vec![obj_dir];
    search.extend_from_slice(includes);
    run(Command::new(&tools.clang)
        .args(headers.clang_args(&search))
        .args(kbuild::flags::CODEGEN)
        .args(kbuild::flags::WARNINGS)
        .args(extra)
        .arg("-include")
        .arg(&opt_global)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj))?;
    Ok(obj)
}
