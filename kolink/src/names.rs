// SPDX-License-Identifier: BSD-2-Clause
//! Symbol names for the call-graph analysis: demangling and glob patterns.
//!
//! A `.ko` has no debug information, only its symbol table. Rust symbols are
//! mangled in the legacy scheme (`_ZN4core9panicking5panic17h…E`) or in v0
//! (`_RNvNtCs…_4core9panicking5panic`); [`demangle`] turns both into the
//! path a Rust programmer reads (`core::panicking::panic`), without the hash
//! or crate disambiguator, so that patterns do not depend on the toolchain
//! build. Other names (C functions, kernel symbols) are kept as they are.
//!
//! Patterns ([`Glob`]) are deliberately simple: `*` matches any run of
//! characters, `::` included, and every other character matches itself. A
//! pattern must match the whole name.

use std::fmt::{self, Write as _};

/// The name to match and display for the raw symbol name `raw`: the
/// demangled Rust path without hash (`{:#}` in `rustc-demangle`), or `raw`
/// itself if it is not a Rust symbol.
///
/// # Examples
///
/// ```
/// use kolink::names::demangle;
///
/// assert_eq!(demangle("_ZN4core9panicking5panic17h0123456789abcdefE"), "core::panicking::panic");
/// assert_eq!(demangle("kmod_modevent"), "kmod_modevent");
/// ```
#[must_use]
pub fn demangle(raw: &str) -> String {
    let Ok(symbol) = rustc_demangle::try_demangle(raw) else {
        return raw.to_owned();
    };
    let mut out = String::new();
    // Writing to a String cannot fail; a formatting error from the demangler
    // itself (malformed input) falls back to the raw name.
    match write!(out, "{symbol:#}") {
        Ok(()) => out,
        Err(_) => raw.to_owned(),
    }
}

/// `name` without the generic arguments of its path segments: every
/// `::<…>` (with nested brackets) is removed; `<T as Trait>` is kept.
///
/// # Examples
///
/// ```
/// use kolink::names::strip_generic_args;
///
/// assert_eq!(strip_generic_args("kern::cdev::cdev_read::<echo::Echo<u8>>"), "kern::cdev::cdev_read");
/// assert_eq!(strip_generic_args("<u32 as core::fmt::Display>::fmt"), "<u32 as core::fmt::Display>::fmt");
/// ```
#[must_use]
pub fn strip_generic_args(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("::<") {
        out.push_str(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at.saturating_add(2)..).unwrap_or_default();
        let mut depth = 0usize;
        let mut end = tail.len();
        for (i, c) in tail.char_indices() {
            match c {
                '<' => depth = depth.saturating_add(1),
                '>' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i.saturating_add(1);
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = tail.get(end..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// A whole-name pattern: `*` matches any run of characters (including none
/// and including `::`); every other character matches itself.
///
/// # Examples
///
/// ```
/// use kolink::names::Glob;
///
/// let read = Glob::new("*cdev*::*read");
/// assert!(read.matches("<kern::cdev::CdevSwVTable<echo::Echo>>::read"));
/// assert!(read.matches("kern::cdev::CdevSwVTable<T>::d_read"));
/// assert!(!read.matches("kern::cdev::CdevSwVTable<T>::read::{{closure}}"));
/// assert!(Glob::new("core::panicking::*").matches("core::panicking::panic_fmt"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob(String);

impl Glob {
    /// A pattern from its text.
    #[must_use]
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    /// The pattern's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern matches all of `name`.
    #[must_use]
    pub fn matches(&self, name: &str) -> bool {
        let mut parts = self.0.split('*');
        // `split` always yields at least one item.
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = name.strip_prefix(first) else {
            return false;
        };
        let middle: Vec<&str> = parts.collect();
        let Some((last, inner)) = middle.split_last() else {
            // No `*`: the prefix must be the whole name.
            return rest.is_empty();
        };
        for part in inner {
            match rest.find(part) {
                Some(at) => {
                    rest = rest
                        .get(at.saturating_add(part.len())..)
                        .unwrap_or_default();
                }
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_legacy_and_v0() {
        assert_eq!(
            demangle(
                "_ZN61_$LT$kern..print..ChunkWriter$u20$as$u20$core..fmt..Write$GT$9write_str17h0e3e859b5eb4a29cE"
            ),
            "<kern::print::ChunkWriter as core::fmt::Write>::write_str"
        );
        assert_eq!(
            demangle("_RNvXsi_NtNtNtCsg3SjgaGcPXb_4core3fmt3num3impjNtB9_7Display3fmt"),
            "<usize as core::fmt::Display>::fmt"
        );
        assert_eq!(
            demangle("_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind"),
            "__rustc::rust_begin_unwind"
        );
        assert_eq!(demangle("memcpy"), "memcpy");
        assert_eq!(demangle("_ZN"), "_ZN");
    }

    #[test]
    fn glob_matching() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("*", "", true),
            ("*", "anything::at::all", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("*c", "abd", false),
            ("a*b*c", "a_b_c", true),
            ("a*b*c", "a_c_b", false),
            ("a*a", "a", false),
            ("*rust_begin_unwind", "__rustc::rust_begin_unwind", true),
            (
                "core::slice::index::*fail*",
                "core::slice::index::slice_end_index_len_fail",
                true,
            ),
            (
                "*cdev*::*open",
                "kern::cdev::Registration::reopen_all::x",
                false,
            ),
        ];
        for (pattern, name, expect) in cases {
            assert_eq!(
                Glob::new(pattern).matches(name),
                expect,
                "{pattern} vs {name}"
            );
        }
    }
}
