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
///
/// Paths under `root` (the workspace) are written relative to it wherever
/// the compiler records one ([`prefix_map`]).
pub(crate) fn compile(
    tools: &Tools,
    headers: &HeaderTree,
    root: &Path,
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
        .arg(prefix_map(root))
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

/// `-ffile-prefix-map=ROOT/=`: `__FILE__` (in `KASSERT`, `mtx_lock` and
/// the other lock macros, which pass it to the kernel) and debug paths
/// become workspace-relative, as `file!()` is in the Rust modules. A
/// module's contents, and so its size, then do not depend on where the
/// clone lives, and the C twins compare like for like with the Rust
/// modules.
///
/// FreeBSD does the same for reproducible builds of userland:
/// `share/mk/bsd.debug.mk` (freebsd-src, read at 4f81c42f; included by
/// `bsd.prog.mk` and `bsd.lib.mk`) adds `-ffile-prefix-map=${SRCTOP}=/usr/src`
/// when `MK_REPRODUCIBLE_BUILD` is on, and `share/mk/src.sys.mk` (read at
/// 524064f8) passes `-fmacro-prefix-map`/`-fdebug-prefix-map` the same
/// way for `PACKAGE_BUILDING`. The kernel's `sys/conf/kern.pre.mk` and
/// `kmod.mk` (the versions read, 009670e1 and 008d7c83) add no prefix
/// map: a module built there records whatever path its source was given
/// by. We map to the empty prefix rather than invent a directory, so the
/// C strings match Rust's.
fn prefix_map(root: &Path) -> OsString {
    let mut flag = OsString::from("-ffile-prefix-map=");
    flag.push(root.as_os_str());
    flag.push("/=");
    flag
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
