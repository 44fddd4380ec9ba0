// SPDX-License-Identifier: BSD-2-Clause
//! The link step: `ld.lld -r` with `shim/kmod.lds`, then `kolink` makes the
//! object loadable (GOT references rewritten, symbols made local) and
//! checks it; the sizes are printed so regressions are visible.

use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Links `objs` (and what they need from `archives`) into `build/NAME.ko`.
pub(crate) fn link(
    ws: &Workspace,
    tools: &Tools,
    name: &str,
    objs: &[PathBuf],
    archives: &[PathBuf],
) -> crate::Result<PathBuf> {
    let obj_dir = ws.obj_dir(name)?;
    let linked = obj_dir.join(format!("{name}.lo"));
    run(Command::new(&tools.lld)
        .args(["-r", "--gc-sections", "-T"])
        .arg(ws.root.join("shim/kmod.lds"))
        .arg("-o")
        .arg(&linked)
        .args(objs)
        .args(archives))?;
    let ko = ws.build_dir.join(format!("{name}.ko"));
    let report =
        kolink::fix_file(&linked, &ko).map_err(|e| format!("{}: {e}", linked.display()))?;
    println!("kolink: {name}.ko: {report}");
    check_one(ws, &ko)?;
    Ok(ko)
}

/// The allowlist of kernel symbols.
fn allowlist(ws: &Workspace) -> PathBuf {
    ws.root.join("sys/kernel-symbols.txt")
}

fn check_one(ws: &Workspace, ko: &Path) -> crate::Result {
    kolink::check_file(ko, &allowlist(ws)).map_err(|e| format!("{}: {e}", ko.display()))
}

/// `make check-ko`: every check on every file, all failures reported.
pub(crate) fn check_all(ws: &Workspace, files: &[PathBuf]) -> crate::Result {
    if files.is_empty() {
        return Err(format!("no .ko in {}", ws.build_dir.display()));
    }
    let failed: Vec<String> = files
        .iter()
        .filter_map(|ko| check_one(ws, ko).err())
        .collect();
    if failed.is_empty() {
        println!("check-ko: {} modules pass", files.len());
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// Prints each module's size by section class.
pub(crate) fn print_sizes(files: &[PathBuf]) -> crate::Result {
    let table = kolink::size_table(files).map_err(|e| e.to_string())?;
    print!("{table}");
    Ok(())
}
