// SPDX-License-Identifier: BSD-2-Clause
//! How [`println!`](crate::println) formats its arguments: [`Print`] for
//! `{}`, [`PrintHex`] for `{:x}`/`{:#x}`, [`PrintDebug`] for `{:?}`, with
//! kern's own integer formatting (no `core::fmt`, which cannot panic).

use super::Line;
use crate::error::Error;
use core::ffi::CStr;

/// Formats a value for `{}` in [`println!`](crate::println).
///
/// Implemented for the integers up to 64 bits (decimal), `bool`, `str`,
/// `CStr` (its bytes), [`Error`] (its name) and references to these. A
/// module implements it for its own types:
///
/// ```
/// use kern::print::{Line, Print};
///
/// struct Celsius(i32);
///
/// impl Print for Celsius {
///     fn print(&self, line: &mut Line) {
///         self.0.print(line);
///         line.push_str(" C");
///     }
/// }
///
/// kern::println!("temperature {}", Celsius(-4));
/// ```
pub trait Print {
    /// Appends `self` to `line`.
    fn print(&self, line: &mut Line);
}

/// Formats an integer for `{:x}` (lower-case hexadecimal) or `{:#x}`
/// (`alternate`: with a `0x` prefix) in [`println!`](crate::println). A
/// negative number prints as its two's complement in its type's width,
/// as `core::fmt` does.
pub trait PrintHex {
    /// Appends `self` in hexadecimal to `line`.
    fn print_hex(&self, line: &mut Line, alternate: bool);
}

/// Formats a value for `{:?}` in [`println!`](crate::println):
/// implemented for [`Error`] (its name), the integers and `bool` (as
/// [`Print`]), and references to these.
pub trait PrintDebug {
    /// Appends `self` to `line`.
    fn print_debug(&self, line: &mut Line);
}

impl<T: Print + ?Sized> Print for &T {
    fn print(&self, line: &mut Line) {
        (**self).print(line);
    }
}

impl<T: Print + ?Sized> Print for &mut T {
    fn print(&self, line: &mut Line) {
        (**self).print(line);
    }
}

impl<T: PrintHex + ?Sized> PrintHex for &T {
    fn print_hex(&self, line: &mut Line, alternate: bool) {
        (**self).print_hex(line, alternate);
    }
}

impl<T: PrintDebug + ?Sized> PrintDebug for &T {
    fn print_debug(&self, line: &mut Line) {
        (**self).print_debug(line);
    }
}

impl Print for str {
    fn print(&self, line: &mut Line) {
        line.push_str(self);
    }
}

impl Print for CStr {
    fn print(&self, line: &mut Line) {
        line.push(self.to_bytes());
    }
}

impl Print for bool {
    fn print(&self, line: &mut Line) {
        line.push_str(if *self { "true" } else { "false" });
    }
}

impl PrintDebug for bool {
    fn print_debug(&self, line: &mut Line) {
        self.print(line);
    }
}

impl Print for Error {
    fn print(&self, line: &mut Line) {
        if let Some(name) = self.name() {
            line.push_str(name);
        } else {
            line.push_str("errno ");
            push_i64(line, i64::from(self.to_errno()));
        }
    }
}

impl PrintDebug for Error {
    fn print_debug(&self, line: &mut Line) {
        self.print(line);
    }
}

/// `Print`, `PrintHex` and `PrintDebug` for unsigned integers, through
/// `u64`.
macro_rules! unsigned {
    ($($t:ty => $wide:path),*) => {$(
        impl Print for $t {
            fn print(&self, line: &mut Line) {
                push_u64(line, $wide(*self));
            }
        }
        impl PrintHex for $t {
            fn print_hex(&self, line: &mut Line, alternate: bool) {
                push_hex(line, $wide(*self), alternate);
            }
        }
        impl PrintDebug for $t {
            fn print_debug(&self, line: &mut Line) {
                self.print(line);
            }
        }
    )*};
}

/// `Print`, `PrintHex` and `PrintDebug` for signed integers, through
/// `i64` (decimal) or the unsigned type of the same width (hex).
macro_rules! signed {
    ($($t:ty => $wide:path),*) => {$(
        impl Print for $t {
            fn print(&self, line: &mut Line) {
                push_i64(line, $wide(*self));
            }
        }
        impl PrintHex for $t {
            fn print_hex(&self, line: &mut Line, alternate: bool) {
                self.cast_unsigned().print_hex(line, alternate);
            }
        }
        impl PrintDebug for $t {
            fn print_debug(&self, line: &mut Line) {
                self.print(line);
            }
        }
    )*};
}

unsigned!(u8 => u64::from, u16 => u64::from, u32 => u64::from, u64 => u64::from, usize => usize_wide);
signed!(i8 => i64::from, i16 => i64::from, i32 => i64::from, i64 => i64::from, isize => isize_wide);

/// `value` as a `u64`: the same on every FreeBSD target (64-bit `usize`).
fn usize_wide(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// `value` as an `i64`: the same on every FreeBSD target (64-bit `isize`).
fn isize_wide(value: isize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// An integer that `core::fmt` prints in decimal with kern's code: for
/// the arguments of `panic!`, which formats with `core::fmt`, where an
/// integer's own `Display` would link rustc's precompiled one (it writes
/// x18, the per-CPU pointer of FreeBSD/arm64).
///
/// ```
/// # fn f(case: u32) {
/// # if case == 0 { return; }
/// # #[allow(clippy::panic)]
/// panic!("case {} failed", kern::print::Decimal(case.into()));
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Decimal(pub u64);

impl core::fmt::Display for Decimal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut digits = [0u8; 20];
        for &d in decimal(self.0, &mut digits) {
            core::fmt::Write::write_char(f, char::from(d))?;
        }
        Ok(())
    }
}

/// Appends `value` in decimal. Out of line: shared by every integer type.
#[inline(never)]
fn push_u64(line: &mut Line, value: u64) {
    let mut digits = [0u8; 20];
    line.push(decimal(value, &mut digits));
}

/// Appends `value` in decimal, with a `-` if negative.
#[inline(never)]
fn push_i64(line: &mut Line, value: i64) {
    if value < 0 {
        line.push(b"-");
    }
    push_u64(line, value.unsigned_abs());
}

/// Appends `value` in lower-case hexadecimal, after `0x` if `alternate`.
#[inline(never)]
fn push_hex(line: &mut Line, value: u64, alternate: bool) {
    if alternate {
        line.push(b"0x");
    }
    let mut digits = [0u8; 16];
    line.push(hex(value, &mut digits));
}

/// `value`'s decimal digits, written at the end of `buf` (20 bytes hold
/// `u64::MAX`).
pub(crate) fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut used: usize = 0;
    for slot in buf.iter_mut().rev() {
        // `value % 10` is below 10: the `get` cannot fail.
        let digit = usize::try_from(value % 10).unwrap_or(0);
        *slot = b"0123456789".get(digit).copied().unwrap_or(b'?');
        used = used.wrapping_add(1);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.get(buf.len().saturating_sub(used)..)
        .unwrap_or_default()
}

/// `value`'s hexadecimal digits, written at the end of `buf`.
fn hex(mut value: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut used: usize = 0;
    for slot in buf.iter_mut().rev() {
        // `value & 0xf` is below 16: the `get` cannot fail.
        let digit = usize::try_from(value & 0xf).unwrap_or(0);
        *slot = b"0123456789abcdef".get(digit).copied().unwrap_or(b'?');
        used = used.wrapping_add(1);
        value >>= 4;
        if value == 0 {
            break;
        }
    }
    buf.get(buf.len().saturating_sub(used)..)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::print::host;

    #[test]
    fn integers_in_decimal_and_hex() {
        crate::println!("{} {} {} {}", 0u8, u64::MAX, i64::MIN, i64::MAX);
        assert_eq!(
            host::take(),
            b"kern-test: 0 18446744073709551615 -9223372036854775808 9223372036854775807\n"
        );
        crate::println!("{} {} {} {}", i8::MIN, i32::MIN, -1isize, usize::MAX);
        assert_eq!(
            host::take(),
            b"kern-test: -128 -2147483648 -1 18446744073709551615\n"
        );
        crate::println!(
            "{:x} {:#x} {:x} {:#x} {:x}",
            0u32,
            0u8,
            u64::MAX,
            -1i32,
            i8::MIN
        );
        assert_eq!(
            host::take(),
            b"kern-test: 0 0x0 ffffffffffffffff 0xffffffff 80\n"
        );
        for v in [0, 1, 9, 10, 99, 100, 12345, u64::MAX - 1, u64::MAX] {
            crate::print!("{}|{:x}", v, v);
            let want = std::format!("kern-test: {v}|{v:x}");
            assert_eq!(host::take(), want.as_bytes());
        }
    }

    #[test]
    fn other_values() {
        let e = crate::error::code::EINVAL;
        let name = "x";
        crate::println!("{} {:?} {} {} {name} {4} {0}", e, e, true, c"cstr", "str");
        assert_eq!(
            host::take(),
            b"kern-test: EINVAL EINVAL true cstr x str EINVAL\n".as_slice()
        );
        crate::println!("{{}} {{{}}} }}", 1);
        assert_eq!(host::take(), b"kern-test: {} {1} }\n");
        crate::println!("{{constant}}");
        assert_eq!(host::take(), b"kern-test: {constant}\n");
        crate::println!("{n:#x} {n}", n = 255u16);
        assert_eq!(host::take(), b"kern-test: 0xff 255\n");
        // The macro's own names do not capture the caller's.
        let (line, arg0, arg1) = (1, 2, 3);
        crate::println!("{} {} {} {line}", arg1, arg0, line);
        assert_eq!(host::take(), b"kern-test: 3 2 1 1\n");
    }
}
