// SPDX-License-Identifier: BSD-2-Clause
//! Printing to the kernel message buffer.
//!
//! C header: `sys/sys/systm.h`. Manual page: `printf(9)`.
//!
//! [`println!`](crate::println) formats into a buffer on the stack (no
//! allocation) and hands it to `printf(9)` in `"%.*s"` chunks, so the
//! format string the kernel sees is always a constant; the line starts
//! with the module's name. A line that fits the buffer (`LINE_MAX` bytes)
//! reaches the kernel in one call and so is not interleaved with others.
//! The format string is parsed at compile time and each argument is
//! formatted by kern's own code ([`Print`]), never `core::fmt`: rustc's
//! precompiled `core::fmt` uses x18, the per-CPU pointer of
//! FreeBSD/arm64 (`docs/arm64.md`). A constant message (no arguments)
//! skips the buffer: it goes to `printf(9)` in one call, whatever its
//! length. So does a constant message with one number in it,
//! [`println_u64`]: the kernel formats the number (`%ju`), as it would for
//! a C module.
//!
//! # Context
//! Any context where `printf(9)` may be called; it does not sleep.
//!
//! # Examples
//!
//! ```
//! let limit = 65536;
//! kern::println!("loaded, limit {} bytes", limit);
//! ```

use core::ffi::CStr;

mod format;

#[cfg(target_os = "none")]
pub(crate) use format::decimal;
pub use format::{Decimal, Print, PrintDebug, PrintHex};

/// Bytes buffered before a chunk is handed to `printf(9)`.
const LINE_MAX: usize = 256;

/// Prints a formatted line to the kernel message buffer, prefixed with the
/// module name.
///
/// The format string is parsed at compile time, without `core::fmt`: each
/// `{}` formats its argument with [`Print`], `{:x}` and `{:#x}` with
/// [`PrintHex`], `{:?}` with [`PrintDebug`]. A placeholder may name its
/// argument (`{0}`, `{name}`, `{name:#x}`, or a variable in scope); `{{`
/// and `}}` print a brace. Anything else does not compile:
///
/// ```compile_fail
/// kern::println!("{:>8}", 1); // no width, alignment or precision
/// ```
///
/// ```compile_fail
/// kern::println!("{} and {}", 1); // as many arguments as placeholders
/// ```
///
/// ```compile_fail
/// kern::println!("{:x}", "text"); // hex is for integers
/// ```
///
/// ```
/// let (unit, id) = (0, 0x1234_00edu32);
/// kern::println!("unit {}: id {:#x}, {{ok}} {:?}", unit, id, kern::error::code::EIO);
/// ```
#[macro_export]
macro_rules! println {
    () => {
        $crate::print::print_str("", true)
    };
    ($($arg:tt)*) => {
        $crate::__private::print_line!($crate, true, $($arg)*)
    };
}

/// Prints formatted text (no newline) to the kernel message buffer,
/// prefixed with the module name. The format is
/// [`println!`](crate::println)'s.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::__private::print_line!($crate, false, $($arg)*)
    };
}

/// Formats a line with `body` into a [`Line`] and writes it with
/// `printf(9)`, with a newline if asked. Used by the macros: out of line,
/// so each call site holds only its own pieces.
#[doc(hidden)]
#[inline(never)]
pub fn print_with(newline: bool, body: &mut dyn FnMut(&mut Line)) {
    let mut line = Line::new(module_name());
    body(&mut line);
    if newline {
        line.push(b"\n");
    }
    line.flush();
}

/// Prints a constant message, in one `printf(9)` call whatever its
/// length. Used by the macros.
#[doc(hidden)]
#[inline(never)]
pub fn print_str(s: &str, newline: bool) {
    emit_line(module_name(), s.as_bytes(), newline);
}

/// Prints `before`, `value` in decimal, then `after` and a newline,
/// prefixed with the module name, in one `printf(9)` call.
///
/// The kernel formats the number (`%ju`), so a module whose other messages
/// are constant links no formatting code, which
/// [`println!`](crate::println) with an argument would bring in.
///
/// # Examples
///
/// ```
/// const LIMIT: u64 = 64 * 1024;
///
/// // "mymod: messages up to 65536 bytes"
/// kern::print::println_u64("messages up to ", LIMIT, " bytes");
/// ```
#[inline(never)]
pub fn println_u64(before: &str, value: u64, after: &str) {
    emit_line_u64(module_name(), before.as_bytes(), value, after.as_bytes());
}

/// Prints `before`, `first` in decimal, `middle`, `second` in decimal,
/// then `after` and a newline, prefixed with the module name, in one
/// `printf(9)` call: [`println_u64`] with two numbers, again without
/// formatting code.
///
/// # Examples
///
/// ```
/// // "mymod: Goodbye (1/3)"
/// kern::print::println_u64_pair("Goodbye (", 1, "/", 3, ")");
/// ```
#[inline(never)]
pub fn println_u64_pair(before: &str, first: u64, middle: &str, second: u64, after: &str) {
    emit_line_u64_pair(
        module_name(),
        [before.as_bytes(), middle.as_bytes(), after.as_bytes()],
        [first, second],
    );
}

/// Prints a constant line with one number in it, prefixed with the module
/// name, in one `printf(9)` call whose format holds the whole text: the
/// text is a literal with one `%ju` where the number goes, checked at
/// compile time (no other `%`, no NUL). [`println_u64`] with the text in
/// the format: no helper function and no separate strings, the smallest
/// call for a module's load message.
///
/// ```
/// const LIMIT: u64 = 64 * 1024;
///
/// // "mymod: messages up to 65536 bytes"
/// kern::println_ju!("messages up to %ju bytes", LIMIT);
/// ```
///
/// A text without exactly one `%ju`, or with another `%`, does not
/// compile:
///
/// ```compile_fail
/// kern::println_ju!("100% sure: %ju", 1);
/// ```
#[macro_export]
macro_rules! println_ju {
    ($text:literal, $value:expr $(,)?) => {{
        const LINE: $crate::print::LineU64 =
            $crate::print::LineU64::new(::core::concat!("%.*s: ", $text, "\n\0"));
        $crate::print::println_line_u64(LINE, $value)
    }};
}

/// A `printf(9)` format for [`println_ju!`](crate::println_ju): `"%.*s: "`
/// (the module name), text with exactly one `%ju` and no other `%`, a
/// newline and the terminating NUL.
///
/// # Invariants
/// `0` is such a format, `'static`.
#[derive(Clone, Copy, Debug)]
pub struct LineU64(&'static [u8]);

impl LineU64 {
    /// The length of the prefix every format starts with, `"%.*s: "`.
    #[cfg(all(not(target_os = "none"), test))]
    const PREFIX_LEN: usize = 6;

    /// Checks `format`, as [`println_ju!`](crate::println_ju) builds it.
    ///
    /// # Panics
    /// When `format` is not of the type's shape: at compile time, in the
    /// macro's constant.
    #[must_use]
    pub const fn new(format: &'static str) -> Self {
        let bytes = format.as_bytes();
        assert!(
            Self::well_formed(bytes),
            "println_ju!: one %ju, no other % and no NUL"
        );
        // INVARIANT: checked just above.
        Self(bytes)
    }

    /// Whether `bytes` is `"%.*s: "`, text with one `%ju` and no other
    /// `%` or NUL, `"\n"` and a NUL.
    const fn well_formed(bytes: &[u8]) -> bool {
        // The prefix, as a pattern: slices cannot be compared in a
        // `const fn`.
        let [b'%', b'.', b'*', b's', b':', b' ', rest @ ..] = bytes else {
            return false;
        };
        let [text @ .., b'\n', 0] = rest else {
            return false;
        };
        let mut conversions: usize = 0;
        let mut rest = text;
        while let [byte, tail @ ..] = rest {
            match (*byte, tail) {
                (b'%', [b'j', b'u', after @ ..]) => {
                    // At most the text's length: no overflow.
                    conversions = conversions.wrapping_add(1);
                    rest = after;
                }
                (0 | b'%', _) => return false,
                _ => rest = tail,
            }
        }
        conversions == 1
    }
}

/// Prints `line` with `value` for its `%ju`, prefixed with the module
/// name. Used by [`println_ju!`](crate::println_ju).
#[doc(hidden)]
#[inline]
pub fn println_line_u64(line: LineU64, value: u64) {
    emit_format_u64(module_name(), line.0, value);
}

/// `printf(9)` of a [`LineU64`] format.
#[cfg(target_os = "none")]
fn emit_format_u64(prefix: &str, format: &'static [u8], value: u64) {
    let len = core::ffi::c_int::try_from(prefix.len()).unwrap_or(core::ffi::c_int::MAX);
    // SAFETY: `format` is NUL-terminated, and its conversions are the
    // `%.*s` of the prefix, which gets an int length and a pointer to at
    // least that many bytes, and one `%ju`, which gets a `uintmax_t` (a
    // `u64`, checked below) (`LineU64`'s invariant).
    unsafe { sys::printf(format.as_ptr().cast(), len, prefix.as_ptr(), value) };
}

/// Host unit tests capture what would be printed.
#[cfg(all(not(target_os = "none"), test))]
fn emit_format_u64(prefix: &str, format: &'static [u8], value: u64) {
    let text = format.get(LineU64::PREFIX_LEN..).unwrap_or_default();
    let text = text.strip_suffix(b"\0").unwrap_or(text);
    let at = text
        .windows(3)
        .position(|w| w == b"%ju")
        .unwrap_or(text.len());
    let (before, after) = text.split_at(at);
    host::record(Some(prefix), before);
    host::record(None, value.to_string().as_bytes());
    host::record(None, after.get(3..).unwrap_or_default());
}

/// Other host builds (documentation, lints) print nowhere.
#[cfg(all(not(target_os = "none"), not(test)))]
fn emit_format_u64(_prefix: &str, _format: &'static [u8], _value: u64) {}

/// A line being formatted: text is buffered (`LINE_MAX` bytes on the
/// stack) and handed to `printf(9)` in chunks, the first prefixed with the
/// module name. [`Print`] implementations write into it.
pub struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
    prefix: Option<&'static str>,
}

impl Line {
    const fn new(prefix: &'static str) -> Self {
        Self {
            buf: [0; LINE_MAX],
            len: 0,
            prefix: Some(prefix),
        }
    }

    fn flush(&mut self) {
        let chunk = self.buf.get(..self.len).unwrap_or_default();
        if !chunk.is_empty() || self.prefix.is_some() {
            emit(self.prefix.take(), chunk);
        }
        self.len = 0;
    }
}

impl Line {
    /// Appends `s`.
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.push(s.as_bytes());
    }

    /// Appends `bytes`, handing full chunks to the kernel. Out of line:
    /// a line calls it once per piece, and a copy inlined at each call
    /// site costs more text than the call.
    #[inline(never)]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = LINE_MAX.saturating_sub(self.len);
            if room == 0 {
                self.flush();
                continue;
            }
            let Some((now, later)) = rest.split_at_checked(room.min(rest.len())) else {
                return;
            };
            let end = self.len.saturating_add(now.len());
            if let Some(dst) = self.buf.get_mut(self.len..end) {
                // Zipped, not copy_from_slice: no length-check panic.
                for (d, b) in dst.iter_mut().zip(now) {
                    *d = *b;
                }
            }
            self.len = end;
            rest = later;
        }
    }
}

/// Hands one chunk to the kernel.
#[cfg(target_os = "none")]
fn emit(prefix: Option<&str>, chunk: &[u8]) {
    let len = |b: &[u8]| core::ffi::c_int::try_from(b.len()).unwrap_or(core::ffi::c_int::MAX);
    match prefix {
        // SAFETY: the format is a NUL-terminated constant; each `%.*s`
        // gets an int length and a pointer to at least that many bytes, so
        // printf(9) reads no further than the slices.
        Some(p) => unsafe {
            sys::printf(
                c"%.*s: %.*s".as_ptr(),
                len(p.as_bytes()),
                p.as_ptr(),
                len(chunk),
                chunk.as_ptr(),
            );
        },
        // SAFETY: as above, for one `%.*s`.
        None => unsafe {
            sys::printf(c"%.*s".as_ptr(), len(chunk), chunk.as_ptr());
        },
    }
}

/// Hands a whole line to the kernel: `prefix: text`, and a newline if
/// asked.
#[cfg(target_os = "none")]
fn emit_line(prefix: &str, text: &[u8], newline: bool) {
    let len = |b: &[u8]| core::ffi::c_int::try_from(b.len()).unwrap_or(core::ffi::c_int::MAX);
    let format = if newline {
        c"%.*s: %.*s\n"
    } else {
        c"%.*s: %.*s"
    };
    // SAFETY: the format is a NUL-terminated constant; each `%.*s` gets an
    // int length and a pointer to at least that many bytes, so printf(9)
    // reads no further than the slices.
    unsafe {
        sys::printf(
            format.as_ptr(),
            len(prefix.as_bytes()),
            prefix.as_ptr(),
            len(text),
            text.as_ptr(),
        );
    }
}

/// Hands the kernel a line with a number: `prefix: before<value>after`
/// and a newline.
#[cfg(target_os = "none")]
fn emit_line_u64(prefix: &str, before: &[u8], value: u64, after: &[u8]) {
    let len = |b: &[u8]| core::ffi::c_int::try_from(b.len()).unwrap_or(core::ffi::c_int::MAX);
    // SAFETY: the format is a NUL-terminated constant; each `%.*s` gets an
    // int length and a pointer to at least that many bytes, so printf(9)
    // reads no further than the slices; `%ju` gets a `uintmax_t`, which is
    // a `u64` (checked below).
    unsafe {
        sys::printf(
            c"%.*s: %.*s%ju%.*s\n".as_ptr(),
            len(prefix.as_bytes()),
            prefix.as_ptr(),
            len(before),
            before.as_ptr(),
            value,
            len(after),
            after.as_ptr(),
        );
    }
}

/// `printf(9)` of `prefix: text0 value0 text1 value1 text2\n`.
#[cfg(target_os = "none")]
fn emit_line_u64_pair(prefix: &str, texts: [&[u8]; 3], values: [u64; 2]) {
    let len = |b: &[u8]| core::ffi::c_int::try_from(b.len()).unwrap_or(core::ffi::c_int::MAX);
    let [t0, t1, t2] = texts;
    let [v0, v1] = values;
    // SAFETY: as in `emit_line_u64`: each `%.*s` gets an int length and a
    // pointer to at least that many bytes; each `%ju` a `u64`.
    unsafe {
        sys::printf(
            c"%.*s: %.*s%ju%.*s%ju%.*s\n".as_ptr(),
            len(prefix.as_bytes()),
            prefix.as_ptr(),
            len(t0),
            t0.as_ptr(),
            v0,
            len(t1),
            t1.as_ptr(),
            v1,
            len(t2),
            t2.as_ptr(),
        );
    }
}

/// Host unit tests capture what would be printed.
#[cfg(all(not(target_os = "none"), test))]
fn emit_line_u64_pair(prefix: &str, texts: [&[u8]; 3], values: [u64; 2]) {
    let [t0, t1, t2] = texts;
    let [v0, v1] = values;
    host::record(Some(prefix), t0);
    host::record(None, v0.to_string().as_bytes());
    host::record(None, t1);
    host::record(None, v1.to_string().as_bytes());
    host::record(None, t2);
    host::record(None, b"\n");
}

/// Other host builds (documentation, lints) print nowhere.
#[cfg(all(not(target_os = "none"), not(test)))]
fn emit_line_u64_pair(_prefix: &str, _texts: [&[u8]; 3], _values: [u64; 2]) {}

/// Host unit tests capture what would be printed.
#[cfg(all(not(target_os = "none"), test))]
fn emit(prefix: Option<&str>, chunk: &[u8]) {
    host::record(prefix, chunk);
}

/// Host unit tests capture what would be printed.
#[cfg(all(not(target_os = "none"), test))]
fn emit_line(prefix: &str, text: &[u8], newline: bool) {
    host::record(Some(prefix), text);
    if newline {
        host::record(None, b"\n");
    }
}

// `%ju` reads a `uintmax_t`: `emit_line_u64` passes a `u64`.
const _: () = assert!(size_of::<sys::intmax_t>() == size_of::<u64>());

/// Host unit tests capture what would be printed.
#[cfg(all(not(target_os = "none"), test))]
fn emit_line_u64(prefix: &str, before: &[u8], value: u64, after: &[u8]) {
    host::record(Some(prefix), before);
    host::record(None, value.to_string().as_bytes());
    host::record(None, after);
    host::record(None, b"\n");
}

/// Other host builds (documentation, lints) print nowhere.
#[cfg(all(not(target_os = "none"), not(test)))]
fn emit(_prefix: Option<&str>, _chunk: &[u8]) {}

/// Other host builds (documentation, lints) print nowhere.
#[cfg(all(not(target_os = "none"), not(test)))]
fn emit_line_u64(_prefix: &str, _before: &[u8], _value: u64, _after: &[u8]) {}

/// Other host builds (documentation, lints) print nowhere.
#[cfg(all(not(target_os = "none"), not(test)))]
fn emit_line(_prefix: &str, _text: &[u8], _newline: bool) {}

/// Prints a constant line whose text is in its `format` after the module
/// name: `format` is `"%.*s: <text>\n"`, with no other conversion (the
/// callers in kern pass literals). One `printf(9)` call and no helper: a
/// module whose only constant message is kern's own (the sysctl tree's
/// refused free) then links no [`print_str`].
#[cfg(target_os = "none")]
pub(crate) fn println_prefixed(format: &'static CStr) {
    let prefix = module_name();
    let len = core::ffi::c_int::try_from(prefix.len()).unwrap_or(core::ffi::c_int::MAX);
    // SAFETY: the format is a NUL-terminated constant whose only conversion
    // is the `%.*s` of the prefix (the caller's contract, as documented),
    // which gets an int length and a pointer to at least that many bytes.
    unsafe { sys::printf(format.as_ptr(), len, prefix.as_ptr()) };
}

/// Host builds print nowhere (the kernel build's is the one that runs).
#[cfg(not(target_os = "none"))]
pub(crate) fn println_prefixed(_format: &'static CStr) {}

/// The module name from [`module!`](crate::module!).
#[cfg(target_os = "none")]
fn module_name() -> &'static str {
    unsafe extern "Rust" {
        /// Defined by `kern::module!` in the module crate.
        static __kmod_name: &'static str;
    }
    // SAFETY: `module!` defines `__kmod_name` as an immutable
    // `&'static str`; every module crate invokes it exactly once (the build
    // fails otherwise), so the symbol exists and has this type.
    unsafe { __kmod_name }
}

#[cfg(not(target_os = "none"))]
fn module_name() -> &'static str {
    "kern-test"
}

/// Host unit tests: printed text is captured per thread.
#[cfg(all(not(target_os = "none"), test))]
pub(crate) mod host {
    use std::cell::RefCell;
    use std::vec::Vec;

    std::thread_local! {
        static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn record(prefix: Option<&str>, chunk: &[u8]) {
        OUT.with(|o| {
            let mut o = o.borrow_mut();
            if let Some(p) = prefix {
                o.extend_from_slice(p.as_bytes());
                o.extend_from_slice(b": ");
            }
            o.extend_from_slice(chunk);
        });
    }

    /// Takes what this thread printed so far.
    pub(crate) fn take() -> Vec<u8> {
        OUT.with(|o| core::mem::take(&mut *o.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::host;

    #[test]
    fn prefixes_and_splits_long_lines() {
        crate::println!("hello {}", 42);
        assert_eq!(host::take(), b"kern-test: hello 42\n");
        let long = "x".repeat(700);
        let long = long.as_str();
        crate::println!("{long}");
        let out = host::take();
        assert_eq!(out.len(), "kern-test: ".len() + 701);
        assert!(out.ends_with(b"x\n"));
        crate::print!("no newline");
        assert_eq!(host::take(), b"kern-test: no newline");
    }

    #[test]
    fn a_number_between_two_texts() {
        super::println_u64("up to ", 65536, " bytes");
        assert_eq!(host::take(), b"kern-test: up to 65536 bytes\n");
        super::println_u64("", u64::MAX, "");
        assert_eq!(host::take(), b"kern-test: 18446744073709551615\n");
    }

    #[test]
    fn a_number_in_a_checked_format() {
        crate::println_ju!("up to %ju bytes", 65536);
        assert_eq!(host::take(), b"kern-test: up to 65536 bytes\n");
        crate::println_ju!("%ju", u64::MAX);
        assert_eq!(host::take(), b"kern-test: 18446744073709551615\n");
        let ok = |f: &[u8]| super::LineU64::well_formed(f);
        assert!(ok(b"%.*s: a %ju b\n\0"));
        assert!(!ok(b"%.*s: no number\n\0"), "no %ju");
        assert!(!ok(b"%.*s: %ju %ju\n\0"), "two");
        assert!(!ok(b"%.*s: %ju %s\n\0"), "another conversion");
        assert!(!ok(b"%.*s: 100%% %ju\n\0"), "a percent sign");
        assert!(!ok(b"%.*s: %ju\0x\n\0"), "an inner NUL");
        assert!(!ok(b"%s: %ju\n\0"), "not the prefix");
        assert!(!ok(b"%.*s: %ju\n"), "no NUL");
    }

    #[test]
    fn two_numbers_between_three_texts() {
        super::println_u64_pair("Goodbye (", 2, "/", 3, ")");
        assert_eq!(host::take(), b"kern-test: Goodbye (2/3)\n");
        super::println_u64_pair("", 0, " of ", u64::MAX, "");
        assert_eq!(host::take(), b"kern-test: 0 of 18446744073709551615\n");
    }
}
