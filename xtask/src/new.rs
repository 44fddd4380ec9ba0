// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask new NAME [--bare]`: a new module crate that builds, loads
//! and passes its test at once.
//!
//! The crate goes into `NAME/`, in the kernel group of the workspace's
//! `members`; its test goes into `harness/tests/NAME.rs`, where `make test`
//! runs it. By default the module is a character device, `/dev/NAME`, that
//! greets its readers; `--bare` gives a module that only greets on load and
//! unload.
//!
//! The name becomes the crate, the module (`kern::module!`), the `.ko`
//! file and the device, so it must suit all four: a lowercase ASCII letter,
//! then lowercase letters, digits or `_`, shorter than FreeBSD's
//! `MAXMODNAME` (32, `sys/sys/module.h`), not a Rust keyword, and not a
//! name the workspace or the test kernel already uses.

mod template;

use crate::workspace::{Workspace, run};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use toml_edit::{DocumentMut, Value};

/// FreeBSD's `MAXMODNAME` (`sys/sys/module.h`): a module name and its NUL.
const MAXMODNAME: usize = 32;

/// Modules the test kernel itself provides (as FreeBSD's kernel does).
const KERNEL_MODULES: &[&str] = &["kernel", "firmware"];

/// Rust's keywords (strict and reserved, 2024 edition): a crate cannot be
/// named after one.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// What kind of module to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A character device, `/dev/NAME`.
    Device,
    /// A module with no device: load and unload only.
    Bare,
}

/// `cargo xtask new NAME [--bare]`.
pub(crate) fn new(ws: &Workspace, args: &[String]) -> crate::Result {
    let mut kind = Kind::Device;
    let mut name = None;
    for arg in args {
        match arg.as_str() {
            "--bare" => kind = Kind::Bare,
            "--device" => kind = Kind::Device,
            a if a.starts_with('-') => return Err(format!("new: unknown option `{a}`")),
            a if name.is_none() => name = Some(a),
            a => return Err(format!("new: one name only (`{a}` is extra)")),
        }
    }
    let name = name.ok_or("usage: cargo xtask new NAME [--bare]")?;
    generate(&ws.root, name, kind)?;
    // The templates are formatted for a short name; rustfmt settles the
    // line breaks a longer one moves (`make test` checks formatting).
    let test = ws
        .root
        .join("harness")
        .join("tests")
        .join(format!("{name}.rs"));
    let lib = ws.root.join(name).join("src").join("lib.rs");
    run(Command::new("rustfmt")
        .current_dir(&ws.root)
        .args(["--edition", "2024"])
        .args([&lib, &test]))?;
    println!(
        "xtask: created {name}/ and harness/tests/{name}.rs ({}); \
         `make test` builds {name}.ko and runs its test",
        match kind {
            Kind::Device => "a character device, /dev/".to_owned() + name,
            Kind::Bare => "a bare module".to_owned(),
        }
    );
    Ok(())
}

/// Writes the crate and its test under `root` and adds the crate to the
/// workspace. Nothing is written if the name is refused.
pub(crate) fn generate(root: &Path, name: &str, kind: Kind) -> crate::Result {
    check_name(name)?;
    let taken = taken_names(root)?;
    if taken.contains(name) {
        return Err(format!(
            "new: `{name}` is taken (a folder, crate, module or test of that name exists)"
        ));
    }
    let manifest = root.join("Cargo.toml");
    let text = read(&manifest)?;
    let members = add_member(&text, name)?;
    let dir = root.join(name);
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    write(&dir.join("Cargo.toml"), &template::manifest(name, kind))?;
    write(&src.join("lib.rs"), &template::module(name, kind))?;
    write(
        &root
            .join("harness")
            .join("tests")
            .join(format!("{name}.rs")),
        &template::test(name, kind),
    )?;
    write(&manifest, &members)
}

/// Whether `name` can name a crate, a module, a `.ko` and a device.
fn check_name(name: &str) -> crate::Result {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok {
        return Err(format!(
            "new: `{name}` is not a valid module name: use a lowercase letter, then \
             lowercase letters, digits or `_`"
        ));
    }
    if name.len() >= MAXMODNAME {
        return Err(format!(
            "new: `{name}` is too long: FreeBSD module names have at most {} characters \
             (MAXMODNAME)",
            MAXMODNAME - 1
        ));
    }
    if KEYWORDS.contains(&name) {
        return Err(format!("new: `{name}` is a Rust keyword"));
    }
    if KERNEL_MODULES.contains(&name) {
        return Err(format!("new: `{name}` is a module of the kernel itself"));
    }
    Ok(())
}

/// Every name in use: top-level folders, workspace members, their package
/// and module names, C modules (`KMOD=`) and harness tests.
fn taken_names(root: &Path) -> crate::Result<BTreeSet<String>> {
    let mut taken = BTreeSet::new();
    for entry in read_dir(root)? {
        taken.insert(entry.file_name().to_string_lossy().into_owned());
    }
    let manifest: DocumentMut = read(&root.join("Cargo.toml"))?
        .parse()
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let members = manifest["workspace"]["members"]
        .as_array()
        .ok_or("Cargo.toml: no [workspace] members")?;
    for member in members.iter().filter_map(Value::as_str) {
        let dir = root.join(member);
        if let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml"))
            && let Ok(doc) = text.parse::<DocumentMut>()
            && let Some(package) = doc["package"]["name"].as_str()
        {
            taken.insert(package.to_owned());
        }
        if let Ok(lib) = std::fs::read_to_string(dir.join("src").join("lib.rs")) {
            taken.extend(module_names(&lib));
        }
    }
    collect_c_modules(root, 0, &mut taken)?;
    let tests = root.join("harness").join("tests");
    if tests.is_dir() {
        for entry in read_dir(&tests)? {
            let path = entry.path();
            if let Some(stem) = path.file_stem() {
                taken.insert(stem.to_string_lossy().into_owned());
            }
        }
    }
    Ok(taken)
}

/// The `name: "..."` of each `kern::module!` in a crate root.
fn module_names(lib: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = lib;
    while let Some(at) = rest.find("kern::module!") {
        rest = &rest[at..];
        if let Some(name) = rest
            .find("name:")
            .map(|n| rest[n + "name:".len()..].trim_start())
            .and_then(|s| s.strip_prefix('"'))
            .and_then(|s| s.split('"').next())
        {
            names.push(name.to_owned());
        }
        rest = &rest["kern::module!".len()..];
    }
    names
}

/// `KMOD=` of every C module Makefile under `dir` (as `cargo xtask build`
/// finds them).
fn collect_c_modules(dir: &Path, depth: usize, taken: &mut BTreeSet<String>) -> crate::Result {
    if depth > 4 {
        return Ok(());
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("Makefile"))
        && depth > 0
    {
        for line in text.lines() {
            if let Some(value) = line.strip_prefix("KMOD") {
                let value = value.trim_start().trim_start_matches('=').trim();
                taken.insert(value.to_owned());
            }
        }
    }
    for entry in read_dir(dir)? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let skip = name.starts_with('.') || ["target", "build", "node_modules"].contains(&&*name);
        if entry.path().is_dir() && !skip {
            collect_c_modules(&entry.path(), depth + 1, taken)?;
        }
    }
    Ok(())
}

/// The workspace manifest with `name` added to `members`, after the last
/// kernel crate (the members before the first one that is a host crate,
/// `kbuild`), keeping the comments and layout.
fn add_member(text: &str, name: &str) -> crate::Result<String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("Cargo.toml: {e}"))?;
    let members = doc["workspace"]["members"]
        .as_array_mut()
        .ok_or("Cargo.toml: no [workspace] members")?;
    let at = members
        .iter()
        .position(|m| m.as_str() == Some("kbuild"))
        .unwrap_or(members.len());
    let mut value = Value::from(name);
    value.decor_mut().set_prefix("\n    ");
    members.insert_formatted(at, value);
    Ok(doc.to_string())
}

fn read(path: &Path) -> crate::Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> crate::Result {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_dir(dir: &Path) -> crate::Result<Vec<std::fs::DirEntry>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries.flatten().collect())
}

#[cfg(test)]
mod tests;
