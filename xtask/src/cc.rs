// SPDX-License-Identifier: BSD-2-Clause
//! Compiling C for a module with FreeBSD's kmod flags (amd64 or arm64).

use crate::tools::Tools;
use crate::workspace::run;
use kbuild::HeaderTree;
use std::ffi::OsString;
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
    let stem = src
        .file_stem()
        .ok_or_else(|| format!("{}: not a C file", src.display()))?;
    let obj = obj_dir.join(stem).with_extension("o");
    run(Command::new(&tools.clang)
        .args(module_args(headers, obj_dir, includes)?)
        .args(extra)
        .arg("-MD")
        .arg("-MF")
        .arg(depfile(&obj))
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj))?;
    Ok(obj)
}

/// The dependency list clang writes beside `obj` (`-MD -MF`): the source
/// and every header it included, for [`crate::stamp`].
pub(crate) fn depfile(obj: &Path) -> PathBuf {
    obj.with_extension("d")
}

/// Every clang argument a module's C file is compiled with, up to the
/// file itself: target, `-D_KERNEL -DKLD_MODULE`, the header tree (after
/// `obj_dir` and `includes`), FreeBSD's code-generation and warning flags,
/// and `-include opt_global.h` (written, empty, into `obj_dir`).
pub(crate) fn module_args(
    headers: &HeaderTree,
    obj_dir: &Path,
    includes: &[&Path],
) -> crate::Result<Vec<OsString>> {
    let opt_global = obj_dir.join("opt_global.h");
    if !opt_global.is_file() {
        std::fs::write(&opt_global, "").map_err(|e| format!("{}: {e}", opt_global.display()))?;
    }
    let mut search: Vec<&Path> = vec![obj_dir];
    search.extend_from_slice(includes);
    let mut args: Vec<OsString> = headers
        .clang_args(&search)
        .into_iter()
        .map(OsString::from)
        .collect();
    args.extend(headers.arch.codegen().iter().map(OsString::from));
    args.extend(kbuild::flags::WARNINGS.iter().map(OsString::from));
    args.push("-include".into());
    args.push(opt_global.into_os_string());
    Ok(args)
}
