// SPDX-License-Identifier: BSD-2-Clause
//! The file-scope functions and variables of a translation unit, read from
//! clang's JSON AST dump (`-Xclang -ast-dump=json`).
//!
//! clang writes a location's `file` only when it differs from the previous
//! location it wrote (`JSONNodeDumper::writeBareSourceLocation`), so the
//! file of a declaration is known only by replaying the dump in the order
//! clang wrote it: for each node its `loc` (the spelling location before
//! the expansion location when a macro is involved), then its `range`
//! (`begin`, then `end`), then its children (`inner`) in order. The
//! `includedFrom` objects do not count: clang does not remember them.

use serde_json::Value;
use std::collections::HashSet;

/// What a declaration declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A `FunctionDecl`.
    Function,
    /// A `VarDecl`.
    Variable,
}

/// A file-scope declaration of a function or variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decl {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// `static`: internal linkage, not a symbol the kernel exports.
    pub(crate) is_static: bool,
    /// The file the declaration is written in (the expansion location when
    /// a macro wrote it), as clang names it.
    pub(crate) file: Option<String>,
}

/// The declarations in `ast` (a `TranslationUnitDecl`) of the names in
/// `wanted`, in source order.
pub(crate) fn file_scope_decls(ast: &Value, wanted: &HashSet<&str>) -> Vec<Decl> {
    let mut walker = Walker {
        last_file: None,
        wanted,
        out: Vec::new(),
    };
    walker.node(ast, 0);
    walker.out
}

struct Walker<'a> {
    /// The file of the last location clang wrote a `file` for.
    last_file: Option<String>,
    wanted: &'a HashSet<&'a str>,
    out: Vec<Decl>,
}

impl Walker<'_> {
    /// One `{offset, file?, line?, col, ...}` object; its file.
    fn bare(&mut self, loc: &Value) -> Option<String> {
        loc.get("offset")?;
        if let Some(file) = loc.get("file").and_then(Value::as_str) {
            self.last_file = Some(file.to_owned());
        }
        self.last_file.clone()
    }

    /// A location, bare or split in spelling and expansion: the file of the
    /// expansion, where the declaration was written.
    fn location(&mut self, loc: &Value) -> Option<String> {
        match loc.get("spellingLoc") {
            Some(spelling) => {
                self.bare(spelling);
                self.bare(loc.get("expansionLoc")?)
            }
            None => self.bare(loc),
        }
    }

    fn node(&mut self, node: &Value, depth: usize) {
        let file = node.get("loc").and_then(|l| self.location(l));
        if let Some(range) = node.get("range") {
            for end in ["begin", "end"] {
                if let Some(loc) = range.get(end) {
                    self.location(loc);
                }
            }
        }
        if depth == 1 {
            self.record(node, file);
        }
        if let Some(children) = node.get("inner").and_then(Value::as_array) {
            for child in children {
                self.node(child, depth + 1);
            }
        }
    }

    fn record(&mut self, node: &Value, file: Option<String>) {
        let kind = match node.get("kind").and_then(Value::as_str) {
            Some("FunctionDecl") => Kind::Function,
            Some("VarDecl") => Kind::Variable,
            _ => return,
        };
        let Some(name) = node.get("name").and_then(Value::as_str) else {
            return;
        };
        let implicit = node.get("isImplicit").and_then(Value::as_bool) == Some(true);
        if implicit || !self.wanted.contains(name) {
            return;
        }
        self.out.push(Decl {
            name: name.to_owned(),
            kind,
            is_static: node.get("storageClass").and_then(Value::as_str) == Some("static"),
            file,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape clang 16 writes: `file` only when it changes, a macro's
    /// spelling location in `<scratch space>` before its expansion.
    const DUMP: &str = r#"{
      "id": "0x1", "kind": "TranslationUnitDecl", "loc": {}, "range": {"begin": {}, "end": {}},
      "inner": [
        {"id": "0x2", "kind": "TypedefDecl", "loc": {}, "range": {"begin": {}, "end": {}},
         "isImplicit": true, "name": "__int128_t"},
        {"id": "0x3", "kind": "FunctionDecl",
         "loc": {"offset": 10, "file": "/h/sys/systm.h", "line": 5, "col": 7, "tokLen": 6,
                 "includedFrom": {"file": "tu.c"}},
         "range": {"begin": {"offset": 4, "col": 1, "tokLen": 4},
                   "end": {"spellingLoc": {"offset": 90, "file": "/h/sys/cdefs.h", "line": 9,
                                           "col": 3, "tokLen": 1},
                           "expansionLoc": {"offset": 40, "file": "/h/sys/systm.h", "line": 5,
                                            "col": 40, "tokLen": 12}}},
         "name": "memcpy",
         "inner": [{"id": "0x4", "kind": "ParmVarDecl",
                    "loc": {"offset": 20, "col": 20, "tokLen": 2},
                    "range": {"begin": {"offset": 18, "col": 18, "tokLen": 1},
                              "end": {"offset": 20, "col": 20, "tokLen": 2}},
                    "name": "memcpy"}]},
        {"id": "0x5", "kind": "FunctionDecl",
         "loc": {"offset": 7, "file": "/h/sys/libkern.h", "line": 88, "col": 21, "tokLen": 4},
         "range": {"begin": {"offset": 1, "col": 1, "tokLen": 6},
                   "end": {"offset": 60, "col": 66, "tokLen": 1}},
         "name": "imax", "storageClass": "static", "inline": true},
        {"id": "0x6", "kind": "VarDecl",
         "loc": {"spellingLoc": {"offset": 3883, "file": "<scratch space>", "line": 291,
                                 "col": 1, "tokLen": 11},
                 "expansionLoc": {"offset": 48371, "file": "/h/sys/sysctl.h", "line": 1168,
                                  "col": 1, "tokLen": 11}},
         "range": {"begin": {"spellingLoc": {"offset": 9755, "line": 254, "col": 2, "tokLen": 6},
                             "expansionLoc": {"offset": 48371, "line": 1168, "col": 1,
                                              "tokLen": 11}},
                   "end": {"spellingLoc": {"offset": 3883, "file": "<scratch space>",
                                           "line": 291, "col": 1, "tokLen": 11},
                           "expansionLoc": {"offset": 48371, "file": "/h/sys/sysctl.h",
                                            "line": 1168, "col": 1, "tokLen": 11}}},
         "name": "sysctl___hw", "storageClass": "extern"},
        {"id": "0x7", "kind": "VarDecl",
         "loc": {"offset": 70, "line": 1170, "col": 31, "tokLen": 5},
         "range": {"begin": {"offset": 60, "col": 1, "tokLen": 6},
                   "end": {"offset": 70, "col": 31, "tokLen": 5}},
         "name": "Giant", "storageClass": "extern"},
        {"id": "0x8", "kind": "FunctionDecl", "loc": {}, "range": {"begin": {}, "end": {}},
         "isImplicit": true, "name": "printf"}
      ]
    }"#;

    fn decls() -> Vec<Decl> {
        let ast: Value = serde_json::from_str(DUMP).unwrap();
        let wanted: HashSet<&str> = ["memcpy", "imax", "sysctl___hw", "Giant", "printf"]
            .into_iter()
            .collect();
        file_scope_decls(&ast, &wanted)
    }

    #[test]
    fn files_follow_clang_write_order() {
        let decls = decls();
        let got: Vec<(&str, Option<&str>)> = decls
            .iter()
            .map(|d| (d.name.as_str(), d.file.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("memcpy", Some("/h/sys/systm.h")),
                ("imax", Some("/h/sys/libkern.h")),
                // Written by a macro: the expansion's file, not the
                // spelling's <scratch space>.
                ("sysctl___hw", Some("/h/sys/sysctl.h")),
                // No file of its own: the last one written, the expansion
                // location that ended sysctl___hw's range.
                ("Giant", Some("/h/sys/sysctl.h")),
            ]
        );
    }

    #[test]
    fn storage_and_kind_are_kept_and_implicit_and_nested_decls_skipped() {
        let d = decls();
        assert_eq!(d.len(), 4, "{d:#?}");
        assert!(d[1].is_static);
        assert_eq!(d[1].kind, Kind::Function);
        assert!(!d[2].is_static);
        assert_eq!(d[2].kind, Kind::Variable);
    }
}
