// SPDX-License-Identifier: BSD-2-Clause
//! The link step: `ld.lld -r` with `shim/kmod.lds`, then `kolink` makes the
//! object loadable (GOT references rewritten, symbols but the exported ones
//! made local); once every module is linked, `kolink` checks them, each
//! with the others in view. The sizes are printed so regressions are
//! visible.

use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use kolink::Allowlist;
use kolink::peers::Peers;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Links `objs` (and what they need from `archives`) into `build/NAME.ko`.
pub(crate) fn link(
    ws: &Workspace,
    tools: &Tools,
    name: &str,
    objs: &[PathBuf],
    archives: &[PathBuf],
    exports: &[String],
) -> crate::Result<PathBuf> {
    let obj_dir = ws.obj_dir(name)?;
    let linked = obj_dir.join(format!("{name}.lo"));
    run(Command::new(&tools.lld)
        .args(["-r", "--gc-sections", "-T"])
        .arg(ws.root.join("shim/kmod.lds"))
        .arg("-o")
        .arg(&linked)
        // Exports are roots of --gc-sections (`-u`): nothing in the module
        // may call them.
        .args(exports.iter().flat_map(|e| ["-u", e.as_str()]))
        .args(objs)
        .args(archives))?;
    let ko = ws.build_dir.join(format!("{name}.ko"));
    let options = kolink::FixOptions {
        exports: exports.to_vec(),
        ..kolink::FixOptions::default()
    };
    let report = kolink::fix_file_with(&linked, &ko, &options)
        .map_err(|e| format!("{}: {e}", linked.display()))?;
    println!("kolink: {name}.ko: {report}");
    if report.localize.exported != exports.len() {
        return Err(format!(
            "{name}.ko: exports {} of the {} symbols it declares ({}): is each defined?",
            report.localize.exported,
            exports.len(),
            exports.join(", ")
        ));
    }
    Ok(ko)
}

/// The allowlist of kernel symbols.
fn allowlist(ws: &Workspace) -> PathBuf {
    ws.root.join("sys/kernel-symbols.txt")
}

/// Checks `ko` as FreeBSD's kernel linker would judge it, with the modules
/// of `peers` in view (a dependency's exports resolve).
fn check_one(allowlist: &Allowlist, peers: &Peers, ko: &Path) -> crate::Result {
    let own = ko
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let data = std::fs::read(ko).map_err(|e| format!("{}: {e}", ko.display()))?;
    let report = kolink::check::check_among(&data, allowlist, peers, &own)
        .map_err(|e| format!("{}: {e}", ko.display()))?;
    if report.is_ok() {
        Ok(())
    } else {
        let failures = kolink::Error::Check {
            failures: report.failures,
        };
        Err(format!("{}: {failures}", ko.display()))
    }
}

/// Checks each of `files`, with every module of `all` as a peer; all
/// failures reported.
pub(crate) fn check_files(ws: &Workspace, files: &[PathBuf], all: &[PathBuf]) -> crate::Result {
    let allowlist = Allowlist::from_file(&allowlist(ws)).map_err(|e| e.to_string())?;
    let peers = Peers::read(all).map_err(|e| e.to_string())?;
    let failed: Vec<String> = files
        .iter()
        .filter_map(|ko| check_one(&allowlist, &peers, ko).err())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// `make check-ko`: every check on every file, all failures reported.
pub(crate) fn check_all(ws: &Workspace, files: &[PathBuf]) -> crate::Result {
    if files.is_empty() {
        return Err(format!("no .ko in {}", ws.build_dir.display()));
    }
    check_files(ws, files, files)?;
    println!("check-ko: {} modules pass", files.len());
    Ok(())
}

/// Prints each module's size by section class.
pub(crate) fn print_sizes(files: &[PathBuf]) -> crate::Result {
    let table = kolink::size_table(files).map_err(|e| e.to_string())?;
    print!("{table}");
    Ok(())
}
