// SPDX-License-Identifier: BSD-2-Clause
//! The allowlist of kernel symbols a module may reference.
//!
//! Every undefined symbol left in a `.ko` is resolved against the running
//! kernel (and the modules it depends on) by `elf_obj_lookup` in
//! `sys/kern/link_elf_obj.c`; a name the kernel does not export fails the
//! load with "`link_elf_obj`: symbol X undefined". The allowlist records which
//! kernel interfaces the framework binds on purpose, and the header that
//! declares each one, so that a new dependency is a reviewed change.
//!
//! Format: one symbol per line, then whitespace, then the header that
//! declares it, relative to the kernel source tree's `sys/` directory (or,
//! when no header declares it, the kernel source file that defines it):
//!
//! ```text
//! # kernel memory allocator
//! malloc      sys/malloc.h
//! free        sys/malloc.h
//! __stack_chk_fail  kern/stack_protector.c
//! ```
//!
//! `#` starts a comment (whole line or after the header); blank lines are
//! ignored. A line without a header, with extra words, with a header that
//! is not a relative `.h` or `.c` path, or repeating a symbol is an error.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

/// One allowlisted symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistEntry {
    /// The symbol name.
    pub symbol: String,
    /// The header declaring it, e.g. `sys/malloc.h` (or the source file
    /// defining it, e.g. `kern/stack_protector.c`).
    pub header: String,
    /// 1-based line number in the allowlist.
    pub line: usize,
}

/// A parsed allowlist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: BTreeMap<String, AllowlistEntry>,
}

impl Allowlist {
    /// Parses allowlist text.
    ///
    /// # Errors
    ///
    /// [`Error::Allowlist`] naming the first malformed line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries: BTreeMap<String, AllowlistEntry> = BTreeMap::new();
        for (line_no, raw) in (1usize..).zip(text.lines()) {
            let err = |message: String| Error::Allowlist {
                line: line_no,
                message,
            };
            let content = raw.split_once('#').map_or(raw, |(before, _)| before);
            let mut words = content.split_whitespace();
            let Some(symbol) = words.next() else {
                continue;
            };
            let Some(header) = words.next() else {
                return Err(err(format!(
                    "symbol `{symbol}` has no header; write `{symbol} <header.h>`"
                )));
            };
            if let Some(extra) = words.next() {
                return Err(err(format!(
                    "unexpected `{extra}` after header `{header}`; one symbol and one header per line"
                )));
            }
            if !is_symbol_name(symbol) {
                return Err(err(format!("`{symbol}` is not a valid symbol name")));
            }
            if !is_header_path(header) {
                return Err(err(format!(
                    "`{header}` is not a header path (expected e.g. sys/malloc.h, or the \
                     kernel source file defining the symbol, e.g. kern/stack_protector.c)"
                )));
            }
            if let Some(first) = entries.get(symbol) {
                return Err(err(format!(
                    "symbol `{symbol}` already listed on line {}",
                    first.line
                )));
            }
            entries.insert(
                symbol.to_owned(),
                AllowlistEntry {
                    symbol: symbol.to_owned(),
                    header: header.to_owned(),
                    line: line_no,
                },
            );
        }
        Ok(Self { entries })
    }

    /// Reads and parses an allowlist file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, [`Error::Allowlist`] if it
    /// is malformed (the message names the file).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|e| match e {
            Error::Allowlist { line, message } => Error::Allowlist {
                line,
                message: format!("{message} (in {})", path.display()),
            },
            other => other,
        })
    }

    /// Whether `symbol` is allowed.
    #[must_use]
    pub fn contains(&self, symbol: &str) -> bool {
        self.entries.contains_key(symbol)
    }

    /// The entry for `symbol`, if allowed.
    #[must_use]
    pub fn get(&self, symbol: &str) -> Option<&AllowlistEntry> {
        self.entries.get(symbol)
    }

    /// The entries, sorted by symbol name.
    pub fn iter(&self) -> impl Iterator<Item = &AllowlistEntry> {
        self.entries.values()
    }

    /// Number of symbols.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the allowlist is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// C identifiers, plus `.` and `$` which assemblers allow in symbol names.
fn is_symbol_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
}

/// A relative path ending in `.h` (or `.c`).
fn is_header_path(s: &str) -> bool {
    s.len() > 2
        && (s.as_bytes().ends_with(b".h") || s.as_bytes().ends_with(b".c"))
        && !s.starts_with('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let list = Allowlist::parse(
            "# header comment\n\nmalloc  sys/malloc.h\nfree\tsys/malloc.h  # trailing\n  printf sys/systm.h\n",
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.contains("malloc"));
        assert!(list.contains("printf"));
        assert!(!list.contains("sys/malloc.h"));
        let free = list.get("free").unwrap();
        assert_eq!(free.header, "sys/malloc.h");
        assert_eq!(free.line, 4);
    }

    #[test]
    fn line_without_header_is_an_error() {
        let err = Allowlist::parse("malloc sys/malloc.h\nfree\n").unwrap_err();
        match err {
            Error::Allowlist { line, message } => {
                assert_eq!(line, 2);
                assert!(message.contains("no header"), "{message}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "malloc sys/malloc.h extra",
            "malloc sys/malloc",
            "malloc sys/malloc.rs",
            "malloc /usr/include/malloc.h",
            "9lives sys/cat.h",
            "a sys/a.h\na sys/b.h",
        ] {
            assert!(
                matches!(Allowlist::parse(bad), Err(Error::Allowlist { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn accepts_source_files_for_undeclared_symbols() {
        let list = Allowlist::parse("__stack_chk_guard\tkern/stack_protector.c\n").unwrap();
        assert_eq!(
            list.get("__stack_chk_guard").unwrap().header,
            "kern/stack_protector.c"
        );
    }

    #[test]
    fn parses_the_project_allowlist() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sys/kernel-symbols.txt");
        if let Ok(text) = fs::read_to_string(&path) {
            let list = Allowlist::parse(&text).unwrap();
            assert!(list.contains("malloc"));
        }
    }

    #[test]
    fn empty_allowlist() {
        let list = Allowlist::parse("# nothing\n\n").unwrap();
        assert!(list.is_empty());
    }
}
