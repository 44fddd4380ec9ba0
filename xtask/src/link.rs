// SPDX-License-Identifier: BSD-2-Clause
//! The link step: `ld.lld -r` with `shim/kmod.lds`, then `kolink` makes the
//! object loadable (GOT references rewritten, symbols but the exported ones
//! made local); once every module is linked, `kolink` checks them, each
//! with the others in view. The sizes are printed so regressions are
//! visible.

use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use kbuild::Arch;
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
    // arm64: the memory functions come from the kernel
    // (kolink::arm64::KERNEL_MEM_FUNCTIONS says why).
    let wraps: Vec<String> = match ws.arch {
        Arch::Amd64 => Vec::new(),
        Arch::Arm64 => kolink::arm64::KERNEL_MEM_FUNCTIONS
            .iter()
            .map(|f| format!("--wrap={f}"))
            .collect(),
    };
    run(Command::new(&tools.lld)
        .args(&wraps)
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
    let report = match ws.arch {
        Arch::Amd64 => kolink::fix_file_with(&linked, &ko, &options)
            .map_err(|e| format!("{}: {e}", linked.display()))?,
        Arch::Arm64 => {
            let exports_txt = exports_file(ws, name)?;
            std::fs::write(&exports_txt, exports.join("\n"))
                .map_err(|e| format!("{}: {e}", exports_txt.display()))?;
            let kld = obj_dir.join(format!("{name}.kld"));
            link_shared(tools, &linked, &kld, &ko, &options)?
        }
    };
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

/// arm64: localizes `linked` into `kld` (`kmod.mk`'s `kmod_syms.awk` and
/// `objcopy` step), then links `kld` into the shared object `ko` as
/// `kmod.mk` does for every architecture but amd64:
/// `${LD} -Bshareable ${_LDFLAGS}`, with `-z notext` (the code may carry
/// text relocations; `link_elf.c` relocates a writable copy) and
/// `-z norelro` (there is no dynamic loader to protect anything), a SysV
/// hash table (`link_elf.c` reads `DT_HASH`), and `--no-relax`. The C
/// shim's objects carry BTI notes and the Rust code does not, so lld
/// gives the `.ko` none: it never claims BTI (docs/arm64.md).
fn link_shared(
    tools: &Tools,
    linked: &Path,
    kld: &Path,
    ko: &Path,
    options: &kolink::FixOptions,
) -> crate::Result<kolink::FixReport> {
    let data = std::fs::read(linked).map_err(|e| format!("{}: {e}", linked.display()))?;
    let fixed =
        kolink::arm64::fix(&data, options).map_err(|e| format!("{}: {e}", linked.display()))?;
    std::fs::write(kld, &fixed.object).map_err(|e| format!("{}: {e}", kld.display()))?;
    // lld defines a set's __start_/__stop_ bounds only when referenced;
    // `-u` references each, so they reach .dynsym for link_elf_lookup_set.
    let sets =
        kolink::arm64::link_sets(&fixed.object).map_err(|e| format!("{}: {e}", kld.display()))?;
    let bounds: Vec<String> = sets
        .iter()
        .flat_map(|s| [format!("__start_set_{s}"), format!("__stop_set_{s}")])
        .collect();
    run(Command::new(&tools.lld)
        .args(bounds.iter().flat_map(|b| ["-u", b.as_str()]))
        .args(["-Bshareable", "-z", "notext", "-z", "norelro"])
        .args(["--hash-style=sysv", "--no-relax", "-o"])
        .arg(ko)
        .arg(kld))?;
    Ok(fixed.report)
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
    if ws.arch == Arch::Arm64 {
        return check_files_arm64(ws, &allowlist, files, all);
    }
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

/// Where the link records a module's declared exports, for its check.
fn exports_file(ws: &Workspace, name: &str) -> crate::Result<PathBuf> {
    Ok(ws.obj_dir(name)?.join("exports.txt"))
}

/// [`check_files`] for arm64 `.ko` files ([`kolink::arm64::check`]).
fn check_files_arm64(
    ws: &Workspace,
    allowlist: &Allowlist,
    files: &[PathBuf],
    all: &[PathBuf],
) -> crate::Result {
    let failed: Vec<String> = arm64_failures(ws, allowlist, files, all)?
        .into_iter()
        .flat_map(|(ko, failures)| {
            failures
                .into_iter()
                .map(move |f| format!("{}: {f}", ko.display()))
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// Every arm64 check failure of each of `files`, with every module of
/// `all` as a peer (its exports resolve).
pub(crate) fn arm64_failures(
    ws: &Workspace,
    allowlist: &Allowlist,
    files: &[PathBuf],
    all: &[PathBuf],
) -> crate::Result<Vec<(PathBuf, Vec<String>)>> {
    let mut peer_exports = std::collections::BTreeSet::new();
    for ko in all {
        let data = std::fs::read(ko).map_err(|e| format!("{}: {e}", ko.display()))?;
        let names = kolink::arm64::exports(&data).map_err(|e| format!("{}: {e}", ko.display()))?;
        peer_exports.extend(names);
    }
    let mut out = Vec::new();
    for ko in files {
        let name = ko
            .file_stem()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        // Written by the link; a module without the file exports nothing.
        let exports: Vec<String> = std::fs::read_to_string(exports_file(ws, &name)?)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let data = std::fs::read(ko).map_err(|e| format!("{}: {e}", ko.display()))?;
        let cx = kolink::arm64::Arm64Context {
            allowlist,
            exports: &exports,
            peer_exports: &peer_exports,
        };
        let failures =
            kolink::arm64::check(&data, &cx).map_err(|e| format!("{}: {e}", ko.display()))?;
        out.push((
            ko.clone(),
            failures.iter().map(ToString::to_string).collect(),
        ));
    }
    Ok(out)
}

/// The allowlist of kernel symbols, read.
pub(crate) fn read_allowlist(ws: &Workspace) -> crate::Result<Allowlist> {
    Allowlist::from_file(&allowlist(ws)).map_err(|e| e.to_string())
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
    if let Some(dir) = files.first().and_then(|f| f.parent()) {
        let arch = if files
            .iter()
            .any(|f| std::fs::read(f).is_ok_and(|d| kolink::arm64::is_arm64(&d)))
        {
            Arch::Arm64
        } else {
            Arch::Amd64
        };
        println!("sizes ({arch}, {}):", dir.display());
    }
    print!("{table}");
    Ok(())
}
