// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask check-allowlist`: every symbol `sys/kernel-symbols.txt`
//! allows is a function or variable the kernel exports, declared where the
//! list says.
//!
//! A name can look like a kernel function and not be one: in FreeBSD 15,
//! `copystr`, `bcopy` and `bzero` are macros in `sys/systm.h`, so a module
//! that imports the symbol fails `kldload` with "symbol copystr undefined",
//! and functions such as `imax` are `static inline`. `kolink check` and the
//! harness trust the allowlist, so the list itself is checked against the
//! headers, as the compiler sees them: one translation unit includes
//! `sys/param.h`, `sys/systm.h` and every header the list names, and is
//! compiled with exactly the flags of a module's C files (target,
//! `-D_KERNEL -DKLD_MODULE`, the header tree; [`crate::cc::module_args`]).
//! clang's AST ([`decls`]) gives the file-scope declarations, and the
//! preprocessor's `-dD` output ([`macros`]) the macros at the end of it.
//!
//! An entry passes when a non-`static` `FunctionDecl` or `VarDecl` of its
//! name is written in the header it names. It fails as a macro, as a
//! `static` (inline) function or variable, as declared in another header
//! (the header column is wrong), or as not declared at all. Entries whose
//! second column is a kernel source file (`kern/stack_protector.c`) name
//! symbols no header declares and are not checked.

mod decls;
mod macros;

use crate::tools::Tools;
use crate::workspace::Workspace;
use decls::{Decl, Kind};
use kbuild::HeaderTree;
use kolink::{Allowlist, AllowlistEntry};
use macros::Macro;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Headers every kernel source file includes first (style(9)).
const PRELUDE: &[&str] = &["sys/param.h", "sys/systm.h"];

/// The longest expansion quoted in a message.
const EXPANSION_CHARS: usize = 72;

/// Why an allowlisted name is not a kernel symbol declared where the list
/// says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A non-`static` function or variable, declared in the named header.
    Declared,
    /// A macro.
    Macro { file: String, expansion: String },
    /// A `static` function (`static inline` in a header) or variable.
    Static { kind: Kind, file: String },
    /// Declared, but in other headers than the one named.
    Elsewhere { files: Vec<String> },
    /// Not declared.
    Missing,
}

/// An entry that fails, with what it is instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) symbol: String,
    pub(crate) header: String,
    pub(crate) line: usize,
    pub(crate) verdict: Verdict,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            symbol,
            header,
            line,
            verdict,
        } = self;
        write!(f, "line {line}: {symbol} ({header}) ")?;
        match verdict {
            Verdict::Declared => write!(f, "is declared there"),
            Verdict::Macro { file, expansion } => write!(
                f,
                "is a macro in {file} (expands to {}), not a kernel symbol: a module \
                 importing it fails kldload with \"symbol {symbol} undefined\"",
                shorten(expansion)
            ),
            Verdict::Static { kind, file } => write!(
                f,
                "is a static {} in {file}: the kernel does not export it",
                match kind {
                    Kind::Function => "inline function",
                    Kind::Variable => "variable",
                }
            ),
            Verdict::Elsewhere { files } => write!(
                f,
                "is declared in {}, not in {header}: correct the header column",
                files.join(", ")
            ),
            Verdict::Missing => write!(
                f,
                "is not declared in {header} (nor in any header it includes) with \
                 -D_KERNEL -DKLD_MODULE"
            ),
        }
    }
}

/// An expansion cut to [`EXPANSION_CHARS`] characters.
fn shorten(expansion: &str) -> String {
    if expansion.is_empty() {
        return "nothing".to_owned();
    }
    let mut chars = expansion.chars();
    let head: String = chars.by_ref().take(EXPANSION_CHARS).collect();
    if chars.next().is_some() {
        format!("{head} ...")
    } else {
        head
    }
}

/// `cargo xtask check-allowlist`: checks `sys/kernel-symbols.txt` against
/// the headers of this build.
pub(crate) fn check_project(ws: &Workspace) -> crate::Result {
    let path = ws.root.join("sys/kernel-symbols.txt");
    let allowlist = Allowlist::from_file(&path).map_err(|e| e.to_string())?;
    let tools = Tools::find()?;
    let work = ws.obj_dir("kernel-symbols")?;
    let headers = HeaderTree::locate(&ws.root, &work).map_err(|e| e.to_string())?;
    let problems = check(&tools.clang, &headers, &work, &allowlist)?;
    if problems.is_empty() {
        println!(
            "check-allowlist: {} symbols of {} are declared in the kernel headers",
            allowlist.len(),
            path.display()
        );
        return Ok(());
    }
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", path.display()))
        .collect();
    Err(format!(
        "{}\n{} allowlisted name(s) are not kernel symbols declared where the list says",
        lines.join("\n"),
        problems.len()
    ))
}

/// Checks every entry of `allowlist` whose second column is a header,
/// compiling in `work` with `clang` against `headers`; returns the
/// entries that fail, in allowlist line order.
pub(crate) fn check(
    clang: &Path,
    headers: &HeaderTree,
    work: &Path,
    allowlist: &Allowlist,
) -> crate::Result<Vec<Problem>> {
    let entries: Vec<&AllowlistEntry> = allowlist
        .iter()
        .filter(|e| e.header.ends_with(".h"))
        .collect();
    let tu = work.join("kernel-symbols.c");
    std::fs::write(&tu, translation_unit(&entries))
        .map_err(|e| format!("{}: {e}", tu.display()))?;
    let args = crate::cc::module_args(headers, work, &[])?;
    let ast = clang_output(
        clang,
        &args,
        &["-fsyntax-only", "-Xclang", "-ast-dump=json"],
        &tu,
    )?;
    let ast: serde_json::Value = serde_json::from_slice(&ast)
        .map_err(|e| format!("clang's AST dump of {}: {e}", tu.display()))?;
    let wanted: HashSet<&str> = entries.iter().map(|e| e.symbol.as_str()).collect();
    let decls = decls::file_scope_decls(&ast, &wanted);
    let preprocessed = clang_output(clang, &args, &["-E", "-dD"], &tu)?;
    let macros = macros::defined_macros(&String::from_utf8_lossy(&preprocessed));
    let roots = include_roots(headers, work);
    let mut problems: Vec<Problem> = entries
        .iter()
        .filter_map(|e| {
            let verdict = judge(e, &decls, &macros, &roots);
            (verdict != Verdict::Declared).then(|| Problem {
                symbol: e.symbol.clone(),
                header: e.header.clone(),
                line: e.line,
                verdict,
            })
        })
        .collect();
    problems.sort_by_key(|p| p.line);
    Ok(problems)
}

/// The translation unit: the prelude, then each named header once, in
/// list order.
fn translation_unit(entries: &[&AllowlistEntry]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for header in PRELUDE
        .iter()
        .copied()
        .chain(entries.iter().map(|e| e.header.as_str()))
    {
        if !seen.contains(&header) {
            seen.push(header);
        }
    }
    let mut tu = String::from(
        "/* Generated by `cargo xtask check-allowlist`: the headers that \
         sys/kernel-symbols.txt names. */\n",
    );
    for header in seen {
        tu.push_str(&format!("#include <{header}>\n"));
    }
    tu
}

/// Runs clang with the module's flags, `mode` and the file; its stdout.
fn clang_output(
    clang: &Path,
    args: &[OsString],
    mode: &[&str],
    tu: &Path,
) -> crate::Result<Vec<u8>> {
    let mut cmd = Command::new(clang);
    cmd.args(args).args(mode).arg(tu);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", clang.display()))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{} {} failed on {} ({}):\n{}",
            clang.display(),
            mode.join(" "),
            tu.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The directories clang finds the named headers under, so that a file
/// clang names can be compared with the list's `sys/xxx.h`.
fn include_roots(headers: &HeaderTree, work: &Path) -> Vec<PathBuf> {
    let mut roots = vec![work.to_path_buf()];
    roots.extend(headers.include_dirs.iter().cloned());
    roots
}

/// `file` relative to the include directory it is under, as a module would
/// `#include` it; otherwise as clang named it.
fn relative(file: &str, roots: &[PathBuf]) -> String {
    roots
        .iter()
        .find_map(|root| Path::new(file).strip_prefix(root).ok())
        .map_or_else(|| file.to_owned(), |p| p.to_string_lossy().into_owned())
}

/// What `entry` is, by the declarations and macros of the translation
/// unit.
fn judge(
    entry: &AllowlistEntry,
    decls: &[Decl],
    macros: &HashMap<String, Macro>,
    roots: &[PathBuf],
) -> Verdict {
    let mine: Vec<&Decl> = decls.iter().filter(|d| d.name == entry.symbol).collect();
    let file_of = |d: &Decl| {
        d.file
            .as_deref()
            .map_or_else(|| "<unknown file>".to_owned(), |f| relative(f, roots))
    };
    let exported: Vec<String> = mine
        .iter()
        .filter(|d| !d.is_static)
        .map(|d| file_of(d))
        .collect();
    if exported.contains(&entry.header) {
        return Verdict::Declared;
    }
    if !exported.is_empty() {
        let mut files = exported;
        files.sort();
        files.dedup();
        return Verdict::Elsewhere { files };
    }
    if let Some(m) = macros.get(&entry.symbol) {
        return Verdict::Macro {
            file: relative(&m.file, roots),
            expansion: m.expansion.clone(),
        };
    }
    match mine.first() {
        Some(d) => Verdict::Static {
            kind: d.kind,
            file: file_of(d),
        },
        None => Verdict::Missing,
    }
}

#[cfg(test)]
mod tests;
