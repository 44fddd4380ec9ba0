// SPDX-License-Identifier: BSD-2-Clause
//! Finding and building the workspace's modules.
//!
//! * A **Rust module** is a workspace crate with a `staticlib` library that
//!   depends on `kern`. It is built for `x86_64-unknown-none` (arm64:
//!   `aarch64-unknown-none-softfloat`, [`kbuild::Arch::rust_target`]) with the
//!   `kmod` profile; its `kern::module!` declaration generates
//!   `kmod_decl.h` for `shim/module.c`; the shim, kern's C helpers
//!   (`shim/kern.c`) and the static library are linked into `NAME.ko`.
//! * A **C module** is a folder whose `Makefile` includes `<bsd.kmod.mk>`,
//!   as on FreeBSD (`KMOD=` and `SRCS=` are read from it). Its sources are
//!   compiled with the same flags and linked by the same step.

use crate::cc;
use crate::decl::Decl;
use crate::link;
use crate::stamp::{self, Inputs};
use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use kbuild::HeaderTree;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target every amd64 module crate is built for.
pub(crate) const TARGET: &str = "x86_64-unknown-none";

/// The cargo profile for module crates (root `Cargo.toml`).
pub(crate) const PROFILE: &str = "kmod";

/// Extra flags for the shim: one section per function, so that the link's
/// `--gc-sections` drops the helpers a module does not call. (C modules get
/// exactly FreeBSD's flags.)
const SHIM_FLAGS: &[&str] = &["-ffunction-sections", "-fdata-sections"];

/// A module crate.
pub(crate) struct RustModule {
    /// The package name (`cargo -p`).
    pub(crate) package: String,
    lib_name: String,
    /// The package's directory (where its `Cargo.toml` is).
    pub(crate) dir: PathBuf,
}

/// A folder of C with a FreeBSD module Makefile.
struct CModule {
    name: String,
    dir: PathBuf,
    srcs: Vec<PathBuf>,
    /// `EXPORT_SYMS=`: the symbols that stay global.
    exports: Vec<String>,
}

/// Builds every module whose `.ko` is out of date ([`crate::stamp`]).
pub(crate) fn build_all(ws: &Workspace) -> crate::Result<Built> {
    let built = link_all(ws)?;
    let all = built.all();
    // arm64 checks every module each time (a second `make ARCH=arm64`
    // must not pass because nothing was relinked); it takes a second.
    let checked = match ws.arch {
        kbuild::Arch::Amd64 => &built.linked,
        kbuild::Arch::Arm64 => &all,
    };
    link::check_files(ws, checked, &all)?;
    Ok(built)
}

/// Builds every module whose `.ko` is out of date, without the checks.
pub(crate) fn link_all(ws: &Workspace) -> crate::Result<Built> {
    let tools = Tools::find()?;
    let scratch = ws.build_dir.join("obj");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let headers = HeaderTree::locate_for(&ws.root, &scratch, ws.arch).map_err(|e| e.to_string())?;
    let rust = rust_modules(ws)?;
    let c = c_modules(&ws.root)?;
    let mut built = Built::default();
    if !rust.is_empty() {
        let mut cargo = Command::new(&ws.cargo);
        cargo.current_dir(&ws.root).args([
            "build",
            "--profile",
            PROFILE,
            "--target",
            ws.arch.rust_target(),
        ]);
        for m in &rust {
            cargo.args(["-p", &m.package]);
        }
        run(&mut cargo)?;
    }
    let mut decls = Vec::new();
    for m in &rust {
        decls.push(Decl::from_staticlib(&staticlib(ws, m))?);
    }
    crate::decl::check_imports(&decls)?;
    for (m, decl) in rust.iter().zip(&decls) {
        build_rust(ws, &tools, &headers, m, decl, &mut built)?;
    }
    for m in &c {
        build_c(ws, &tools, &headers, m, &mut built)?;
    }
    Ok(built)
}

/// The static library cargo builds for a module crate.
fn staticlib(ws: &Workspace, m: &RustModule) -> PathBuf {
    ws.target_dir
        .join(ws.arch.rust_target())
        .join(PROFILE)
        .join(format!("lib{}.a", m.lib_name))
}

/// What [`build_all`] did.
#[derive(Default)]
pub(crate) struct Built {
    /// The modules it linked, because an input changed.
    pub(crate) linked: Vec<PathBuf>,
    /// The modules whose `.ko` was up to date.
    pub(crate) unchanged: Vec<PathBuf>,
}

impl Built {
    /// Every module, linked or up to date, sorted.
    pub(crate) fn all(&self) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self.linked.iter().chain(&self.unchanged).cloned().collect();
        all.sort();
        all
    }
}

/// The inputs every module shares: the link script, the allowlist its
/// check reads, and this program (which carries kolink).
fn common_inputs(ws: &Workspace) -> crate::Result<Inputs> {
    let mut inputs = Inputs::default();
    inputs.add(ws.root.join("shim/kmod.lds"));
    inputs.add(ws.root.join("sys/kernel-symbols.txt"));
    inputs.add(std::env::current_exe().map_err(|e| format!("xtask: {e}"))?);
    Ok(inputs)
}

/// What one module is made of.
struct Parts<'a> {
    /// The module's name (`NAME.ko`).
    name: &'a str,
    /// C sources, each with its include folders and extra flags.
    srcs: Vec<(PathBuf, Vec<&'a Path>, &'a [&'a str])>,
    /// Static libraries (a Rust module's crate).
    archives: Vec<PathBuf>,
    /// Symbols that stay global.
    exports: &'a [String],
    /// Other files the build reads (a C module's Makefile).
    extra_inputs: Vec<PathBuf>,
}

/// Compiles the sources, links them with the archives into `NAME.ko`, and
/// records what was read; or does nothing if the `.ko` is up to date.
fn compile_and_link(
    ws: &Workspace,
    tools: &Tools,
    headers: &HeaderTree,
    parts: &Parts<'_>,
    built: &mut Built,
) -> crate::Result {
    let Parts {
        name,
        srcs,
        archives,
        exports,
        extra_inputs,
    } = parts;
    let obj_dir = ws.obj_dir(name)?;
    let ko = ws.build_dir.join(format!("{name}.ko"));
    let mut required: Vec<PathBuf> = srcs.iter().map(|(s, _, _)| s.clone()).collect();
    required.extend(archives.iter().cloned());
    if stamp::up_to_date(&ko, &obj_dir, &required) {
        built.unchanged.push(ko);
        return Ok(());
    }
    let mut inputs = common_inputs(ws)?;
    let mut objs = Vec::new();
    for (src, includes, flags) in srcs {
        let obj = cc::compile(tools, headers, &ws.root, src, &obj_dir, includes, flags)?;
        inputs.add_depfile(&cc::depfile(&obj))?;
        objs.push(obj);
    }
    for a in archives.iter().chain(extra_inputs) {
        inputs.add(a);
    }
    let ko = link::link(ws, tools, name, &objs, archives, exports)?;
    inputs.save(&obj_dir)?;
    built.linked.push(ko);
    Ok(())
}

fn build_rust(
    ws: &Workspace,
    tools: &Tools,
    headers: &HeaderTree,
    m: &RustModule,
    decl: &Decl,
    built: &mut Built,
) -> crate::Result {
    let obj_dir = ws.obj_dir(&decl.name)?;
    // Rewritten only when it changes: the shim's objects depend on it.
    let header = obj_dir.join("kmod_decl.h");
    let text = decl.header();
    if std::fs::read_to_string(&header).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&header, text).map_err(|e| format!("{}: {e}", header.display()))?;
    }
    let shim = ws.root.join("shim");
    let exports: Vec<String> = decl.exports.iter().map(|e| e.name.clone()).collect();
    let parts = Parts {
        name: &decl.name,
        srcs: ["module.c", "kern.c", "newbus.c"]
            .iter()
            .map(|src| shim.join(src))
            .filter(|src| src.is_file())
            .map(|src| (src, vec![shim.as_path()], SHIM_FLAGS))
            .collect(),
        archives: vec![staticlib(ws, m)],
        exports: &exports,
        extra_inputs: Vec::new(),
    };
    compile_and_link(ws, tools, headers, &parts, built)
}

fn build_c(
    ws: &Workspace,
    tools: &Tools,
    headers: &HeaderTree,
    m: &CModule,
    built: &mut Built,
) -> crate::Result {
    let parts = Parts {
        name: &m.name,
        srcs: m
            .srcs
            .iter()
            .map(|src| (src.clone(), vec![m.dir.as_path()], &[][..]))
            .collect(),
        archives: Vec::new(),
        exports: &m.exports,
        extra_inputs: vec![m.dir.join("Makefile")],
    };
    compile_and_link(ws, tools, headers, &parts, built)
}

/// Module crates, from `cargo metadata`.
pub(crate) fn rust_modules(ws: &Workspace) -> crate::Result<Vec<RustModule>> {
    let out = Command::new(&ws.cargo)
        .current_dir(&ws.root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let mut modules = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let depends_on_kern = pkg["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["name"] == "kern");
        let staticlib = pkg["targets"].as_array().into_iter().flatten().find(|t| {
            t["crate_types"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k == "staticlib")
        });
        let dir = pkg["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent());
        if let (true, Some(lib), Some(package), Some(dir)) =
            (depends_on_kern, staticlib, pkg["name"].as_str(), dir)
        {
            let lib_name = lib["name"].as_str().unwrap_or(package).replace('-', "_");
            modules.push(RustModule {
                package: package.to_owned(),
                lib_name,
                dir: dir.to_path_buf(),
            });
        }
    }
    modules.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(modules)
}

/// C modules: folders whose `Makefile` includes `<bsd.kmod.mk>`.
fn c_modules(root: &Path) -> crate::Result<Vec<CModule>> {
    let mut found = Vec::new();
    walk(root, 0, &mut found)?;
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<CModule>) -> crate::Result {
    if depth > 4 {
        return Ok(());
    }
    let makefile = dir.join("Makefile");
    if depth > 0
        && makefile.is_file()
        && let Some(m) = parse_makefile(dir, &makefile)?
    {
        found.push(m);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let skip = name.starts_with('.') || ["target", "build", "node_modules"].contains(&&*name);
        if path.is_dir() && !skip {
            walk(&path, depth + 1, found)?;
        }
    }
    Ok(())
}

/// Reads `KMOD=` and `SRCS=`/`SRCS+=` from a FreeBSD module Makefile.
fn parse_makefile(dir: &Path, makefile: &Path) -> crate::Result<Option<CModule>> {
    let text =
        std::fs::read_to_string(makefile).map_err(|e| format!("{}: {e}", makefile.display()))?;
    if !text.contains("<bsd.kmod.mk>") {
        return Ok(None);
    }
    let joined = text.replace("\\\n", " ");
    let (mut name, mut srcs, mut exports) = (None, Vec::new(), Vec::new());
    for line in joined.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("EXPORT_SYMS=") {
            // kmod.mk: a list of names, YES (export everything) or NO
            // (nothing, as without the variable).
            exports.extend(
                v.split_whitespace()
                    .filter(|e| *e != "NO")
                    .map(str::to_owned),
            );
        } else if let Some(v) = line.strip_prefix("KMOD=") {
            name = Some(v.trim().to_owned());
        } else if let Some(v) = line
            .strip_prefix("SRCS+=")
            .or_else(|| line.strip_prefix("SRCS="))
        {
            srcs.extend(
                v.split_whitespace()
                    .filter(|s| s.ends_with(".c"))
                    .map(|s| dir.join(s)),
            );
        }
    }
    let name = name.ok_or_else(|| format!("{}: no KMOD=", makefile.display()))?;
    if srcs.is_empty() {
        return Err(format!("{}: no .c file in SRCS=", makefile.display()));
    }
    if exports.iter().any(|e| e == "YES") {
        return Err(format!(
            "{}: EXPORT_SYMS=YES is not supported; list the symbols to export",
            makefile.display()
        ));
    }
    Ok(Some(CModule {
        name,
        dir: dir.to_path_buf(),
        srcs,
        exports,
    }))
}
