// SPDX-License-Identifier: BSD-2-Clause
//! The rule that module crates carry no `unsafe`, checked on their source.
//!
//! Module crates say `#![deny(unsafe_code)]`, but that cannot be the
//! whole guard: kern's macros (`kern::module!`, `kern::pod!`) expand to
//! items under a scoped `allow(unsafe_code)`, so a module could write the
//! same allow and the compiler would accept it. This check parses every
//! `.rs` file of every module crate (with `syn`, so comments and strings
//! do not count) and fails on:
//!
//! * an `unsafe` block, `unsafe fn`, `unsafe impl`, `unsafe trait` or
//!   `unsafe extern` block;
//! * an `#[unsafe(...)]` attribute (`no_mangle`, `export_name`,
//!   `link_section`);
//! * a lint attribute that lowers `unsafe_code` (`allow`, `expect`,
//!   `warn`), also under `cfg_attr`;
//! * `unsafe`, or such a lint attribute, in the tokens of a macro
//!   (a `macro_rules!` body, or what a macro is given);
//! * source pulled in from outside the crate's directory (`#[path]`,
//!   `include!`), which this check would not see.
//!
//! What kern's macros expand to is kern's code: the compiler expands it,
//! this check never sees it.
//!
//! Module crates are found as the build finds them
//! ([`rust_modules`](crate::modules::rust_modules)): workspace crates with
//! a `staticlib` that depend on `kern`.

use crate::modules::rust_modules;
use crate::workspace::Workspace;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// Lint levels below `deny`: an attribute with one of them and
/// `unsafe_code` lets unsafe code compile.
const LOWERING: &[&str] = &["allow", "expect", "warn"];

/// Checks every module crate of the workspace.
pub(crate) fn check(ws: &Workspace) -> crate::Result {
    let dirs: Vec<PathBuf> = rust_modules(ws)?.into_iter().map(|m| m.dir).collect();
    let files = check_crates(&ws.root, &dirs)?;
    println!(
        "unsafe-check: {} module crates, {files} files, no unsafe",
        dirs.len()
    );
    Ok(())
}

/// Checks the crates in `dirs`; returns how many files were read.
/// Findings name files relative to `root`.
fn check_crates(root: &Path, dirs: &[PathBuf]) -> crate::Result<usize> {
    let mut findings = Vec::new();
    let mut files = 0;
    for dir in dirs {
        let crate_dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut sources = Vec::new();
        walk(&crate_dir, &mut sources);
        sources.sort();
        files += sources.len();
        for file in &sources {
            let name = file
                .strip_prefix(root)
                .unwrap_or(file)
                .display()
                .to_string();
            for (at, what) in scan_file(&crate_dir, file) {
                let place = at.start();
                findings.push(format!(
                    "{name}:{}:{}: {what}",
                    place.line,
                    place.column + 1
                ));
            }
        }
    }
    if findings.is_empty() {
        Ok(files)
    } else {
        Err(format!(
            "module crates must not contain unsafe code (it belongs in kern):\n{}",
            findings.join("\n")
        ))
    }
}

/// Every `.rs` file under `dir`, but build output and hidden folders.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The findings of one file: where, and what.
fn scan_file(crate_dir: &Path, file: &Path) -> Vec<(Span, String)> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return vec![(Span::call_site(), format!("cannot read: {e}"))],
    };
    let ast = match syn::parse_file(&text) {
        Ok(ast) => ast,
        Err(e) => return vec![(e.span(), format!("cannot parse (so cannot check): {e}"))],
    };
    let mut scan = Scan {
        crate_dir,
        file_dir: file.parent().unwrap_or(crate_dir),
        findings: Vec::new(),
    };
    scan.visit_file(&ast);
    scan.findings
}

/// The visitor: collects findings as it walks one file's syntax tree.
struct Scan<'a> {
    crate_dir: &'a Path,
    file_dir: &'a Path,
    findings: Vec<(Span, String)>,
}

impl Scan<'_> {
    fn found(&mut self, at: Span, what: impl Into<String>) {
        self.findings.push((at, what.into()));
    }

    /// `unsafe` and lint lowering in a token stream (a macro's, or an
    /// attribute's).
    fn scan_tokens(&mut self, tokens: TokenStream, context: &str) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) if ident == "unsafe" => {
                    self.found(ident.span(), format!("`unsafe` in {context}"));
                }
                TokenTree::Ident(ident) if LOWERING.iter().any(|l| ident == l) => {
                    if let Some(TokenTree::Group(args)) = trees.get(i + 1)
                        && args.delimiter() == Delimiter::Parenthesis
                        && names_unsafe_code(args.stream())
                    {
                        self.found(ident.span(), format!("`{ident}(unsafe_code)` in {context}"));
                    }
                }
                TokenTree::Group(group) => self.scan_tokens(group.stream(), context),
                _ => {}
            }
        }
    }

    /// A file named by `#[path]` or `include!` must be inside the crate.
    fn check_inside(&mut self, at: Span, what: &str, relative: &str) {
        let inside = self
            .file_dir
            .join(relative)
            .canonicalize()
            .is_ok_and(|p| p.starts_with(self.crate_dir));
        if !inside {
            self.found(
                at,
                format!("{what} \"{relative}\" is not a file inside the crate"),
            );
        }
    }
}

/// Whether a lint list (`allow(...)`'s arguments) names `unsafe_code`.
fn names_unsafe_code(list: TokenStream) -> bool {
    list.into_iter()
        .any(|t| matches!(t, TokenTree::Ident(ref i) if i == "unsafe_code"))
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_expr_unsafe(&mut self, node: &'ast syn::ExprUnsafe) {
        self.found(node.unsafe_token.span, "`unsafe` block");
        visit::visit_expr_unsafe(self, node);
    }

    fn visit_signature(&mut self, node: &'ast syn::Signature) {
        if let Some(token) = &node.unsafety {
            self.found(token.span, "`unsafe fn`");
        }
        visit::visit_signature(self, node);
    }

    fn visit_item_impl(&mut self, node: &'ast syn::ItemImpl) {
        if let Some(token) = &node.unsafety {
            self.found(token.span, "`unsafe impl`");
        }
        visit::visit_item_impl(self, node);
    }

    fn visit_item_trait(&mut self, node: &'ast syn::ItemTrait) {
        if let Some(token) = &node.unsafety {
            self.found(token.span, "`unsafe trait`");
        }
        visit::visit_item_trait(self, node);
    }

    fn visit_item_foreign_mod(&mut self, node: &'ast syn::ItemForeignMod) {
        if let Some(token) = &node.unsafety {
            self.found(token.span, "`unsafe extern` block");
        }
        visit::visit_item_foreign_mod(self, node);
    }

    fn visit_attribute(&mut self, node: &'ast syn::Attribute) {
        let path = node.meta.path();
        if path.is_ident("unsafe") {
            self.found(path.span(), "`#[unsafe(...)]` attribute");
        }
        match &node.meta {
            syn::Meta::List(list) => {
                if LOWERING.iter().any(|l| path.is_ident(l))
                    && names_unsafe_code(list.tokens.clone())
                {
                    self.found(path.span(), "lint attribute lowering `unsafe_code`");
                }
                // `cfg_attr(.., allow(unsafe_code))`, and `unsafe` in any
                // attribute's arguments.
                self.scan_tokens(list.tokens.clone(), "an attribute");
            }
            syn::Meta::NameValue(nv) if path.is_ident("path") => {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(file),
                    ..
                }) = &nv.value
                {
                    self.check_inside(file.span(), "#[path]", &file.value());
                }
            }
            _ => {}
        }
        visit::visit_attribute(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        if node.path.is_ident("include") {
            match syn::parse2::<syn::LitStr>(node.tokens.clone()) {
                Ok(file) => self.check_inside(file.span(), "include!", &file.value()),
                Err(_) => self.found(
                    node.path.span(),
                    "include! of a computed path (cannot be checked)",
                ),
            }
        }
        self.scan_tokens(node.tokens.clone(), "a macro's tokens");
        visit::visit_macro(self, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate folder under the temporary directory, removed on drop.
    struct Synthetic(PathBuf);

    impl Synthetic {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let dir =
                std::env::temp_dir().join(format!("unsafe-check-{name}-{}", std::process::id()));
            for (file, text) in files {
                let path = dir.join(file);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            Self(dir)
        }
    }

    impl Drop for Synthetic {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).unwrap_or(());
        }
    }

    /// Each forbidden form, in a file of its own.
    const FORBIDDEN: &[(&str, &str)] = &[
        ("src/block.rs", "fn f() { let _ = unsafe { 1 }; }\n"),
        ("src/fn.rs", "pub unsafe fn f() {}\n"),
        ("src/method.rs", "impl S { unsafe fn f(&self) {} }\n"),
        ("src/impl.rs", "unsafe impl Send for S {}\n"),
        ("src/trait.rs", "unsafe trait T {}\n"),
        ("src/extern.rs", "unsafe extern \"C\" { fn f(); }\n"),
        ("src/no_mangle.rs", "#[unsafe(no_mangle)]\npub fn f() {}\n"),
        ("src/allow.rs", "#![allow(unsafe_code)]\n"),
        (
            "src/allow_list.rs",
            "#[allow(dead_code, unsafe_code)]\nfn f() {}\n",
        ),
        (
            "src/expect.rs",
            "#[expect(unsafe_code, reason = \"x\")]\nfn f() {}\n",
        ),
        ("src/warn.rs", "#![warn(unsafe_code)]\n"),
        (
            "src/cfg_attr.rs",
            "#[cfg_attr(test, allow(unsafe_code))]\nfn f() {}\n",
        ),
        (
            "src/macro_rules.rs",
            "macro_rules! m { ($e:expr) => { unsafe { $e } }; }\n",
        ),
        ("src/invocation.rs", "fn f() { m!(unsafe { g() }); }\n"),
        (
            "src/invocation_allow.rs",
            "kern::pod! { #[allow(unsafe_code)] pub struct P { a: u8 } }\n",
        ),
        (
            "src/path.rs",
            "#[path = \"../../outside.rs\"]\nmod outside;\n",
        ),
        ("src/include.rs", "include!(\"../../outside.rs\");\n"),
        (
            "src/include_computed.rs",
            "include!(concat!(env!(\"OUT_DIR\"), \"/x.rs\"));\n",
        ),
        ("src/unparsable.rs", "fn f( {\n"),
    ];

    #[test]
    fn finds_each_forbidden_form() {
        let krate = Synthetic::new("forbidden", FORBIDDEN);
        let dir = krate.0.canonicalize().unwrap();
        for (file, text) in FORBIDDEN {
            let findings = scan_file(&dir, &dir.join(file));
            assert!(!findings.is_empty(), "{file} not caught:\n{text}");
        }
        let err = check_crates(&dir, std::slice::from_ref(&dir)).unwrap_err();
        for (file, _) in FORBIDDEN {
            assert!(err.contains(file), "{file} missing from:\n{err}");
        }
        // Findings say where: line and column.
        assert!(
            err.contains("src/no_mangle.rs:1:3: `#[unsafe(...)]` attribute"),
            "{err}"
        );
        assert!(err.contains("src/impl.rs:1:1: `unsafe impl`"), "{err}");
    }

    #[test]
    fn a_clean_crate_passes() {
        let krate = Synthetic::new(
            "clean",
            &[
                (
                    "src/lib.rs",
                    concat!(
                        "//! Mentions unsafe { code } in its docs only.\n",
                        "#![no_std]\n",
                        "#![deny(unsafe_code)]\n",
                        "#![forbid(unsafe_op_in_unsafe_fn)]\n",
                        "mod device;\n",
                        "#[path = \"other/name.rs\"]\n",
                        "mod renamed;\n",
                        "// unsafe { not code }\n",
                        "/* unsafe fn f() {} */\n",
                        "/// `unsafe impl` in a doc comment.\n",
                        "const S: &str = \"unsafe { 1 } #[allow(unsafe_code)]\";\n",
                        "fn unsafe_name() { let r#unsafe = 1; let _ = r#unsafe; }\n",
                        "#[allow(clippy::inline_always, reason = \"unsafe is not here\")]\n",
                        "fn g() {}\n",
                        "kern::module! { type: M, name: \"unsafe\", version: 1 }\n",
                        "include!(\"table.rs\");\n",
                    ),
                ),
                ("src/device.rs", "pub(crate) fn read() -> u32 { 0 }\n"),
                ("src/other/name.rs", "#[deny(unsafe_code)]\nfn f() {}\n"),
                ("src/table.rs", "const T: [u8; 2] = [1, 2];\n"),
                // Build output is not source.
                ("target/debug/build/x/out.rs", "unsafe fn f() {}\n"),
            ],
        );
        let dir = krate.0.canonicalize().unwrap();
        assert_eq!(check_crates(&dir, std::slice::from_ref(&dir)), Ok(4));
    }

    #[test]
    fn the_workspace_module_crates_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dirs: Vec<PathBuf> = ["echo", "hello", "selftest"]
            .iter()
            .map(|c| root.join(c))
            .filter(|d| d.is_dir())
            .collect();
        check_crates(root, &dirs).unwrap();
    }
}
