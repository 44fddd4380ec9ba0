// SPDX-License-Identifier: BSD-2-Clause
//! The kernel environment (`kenv(1)`, `kenv(2)`, `loader.conf(5)`
//! variables), and how the kernel parses a number out of it for a loader
//! tunable.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_environment.c` — the dynamic
//! environment, an array of `name=value` strings where setting a name
//! replaces its value in place and a new name is appended
//! (`kern_setenv`), `kern_unsetenv` (`-1`, `ENOENT` for `kenv(2)`, when
//! the name is not set), and `getenv_array`, which the sysctl tree uses
//! for the numbers of `CTLFLAG_TUN` leaves
//! (`sysctl_load_tunable_by_oid_locked`, `sys/kern/kern_sysctl.c`):
//! numbers as `strtoq(3)` reads them with base 0 (decimal, `0x` hex, `0`
//! octal; an out-of-range one saturates), each with an optional `k`, `m`,
//! `g` or `t` suffix (powers of 1024), separated by spaces, tabs or
//! commas; anything else after a number, a negative number for an
//! unsigned type, a number out of the element's range, or no number at
//! all makes the variable be ignored.
//!
//! Differences: no `KENV_MNAMELEN`/`KENV_MVALLEN` limits and no privilege
//! check on setting (a test sets the environment as the loader would).

use crate::sync::lock_ignoring_poison;
use std::sync::Mutex;

/// One kernel's environment, in the order the names were first set.
#[derive(Default)]
pub(crate) struct Kenv {
    vars: Mutex<Vec<(String, String)>>,
}

impl Kenv {
    /// `kern_getenv`: the value of `name`, if set.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        lock_ignoring_poison(&self.vars)
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// `kern_setenv`: sets `name` (replacing its value where it is, or
    /// appending it).
    pub(crate) fn set(&self, name: &str, value: &str) {
        let mut vars = lock_ignoring_poison(&self.vars);
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => value.clone_into(v),
            None => vars.push((name.to_owned(), value.to_owned())),
        }
    }

    /// `kern_unsetenv`: false if `name` was not set.
    pub(crate) fn unset(&self, name: &str) -> bool {
        let mut vars = lock_ignoring_poison(&self.vars);
        let before = vars.len();
        vars.retain(|(n, _)| n != name);
        vars.len() != before
    }

    /// Every variable, in order (`kenv(1)` without arguments).
    pub(crate) fn list(&self) -> Vec<(String, String)> {
        lock_ignoring_poison(&self.vars).clone()
    }
}

/// `strtoq(3)` with base 0 on `s`: the value (saturated on overflow) and
/// the number of bytes read (0 when there is no number).
fn strtoq(s: &[u8]) -> (i64, usize) {
    let mut i = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let hex_digit = |c: Option<&u8>| c.is_some_and(u8::is_ascii_hexdigit);
    let base: u32 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && hex_digit(s.get(i + 2))
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let start = i;
    let mut acc: i128 = 0;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(base)) {
        acc = (acc * i128::from(base) + i128::from(d)).min(i128::from(u64::MAX) + 1);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    let v = if neg { -acc } else { acc };
    let v = i64::try_from(v).unwrap_or(if neg { i64::MIN } else { i64::MAX });
    (v, i)
}

/// `getenv_array(name, data, sizeof(data), &size, elem, signed)` on the
/// value `value`: the elements, each `elem` (1, 2, 4 or 8) bytes in the
/// machine's order, or `None` where FreeBSD returns 0 (the variable is
/// then ignored). `max_bytes` is the caller's buffer (512 bytes in
/// `sysctl_load_tunable_by_oid_locked`).
pub(crate) fn getenv_array(
    value: &str,
    max_bytes: usize,
    elem: usize,
    signed: bool,
) -> Option<Vec<u8>> {
    let buf = value.as_bytes();
    let max = max_bytes / elem;
    let mut out = Vec::new();
    let mut n = 0;
    let mut p = 0;
    while p < buf.len() {
        let (mut v, used) = strtoq(&buf[p..]);
        if v < 0 && !signed {
            return None;
        }
        if used == 0 {
            return None;
        }
        let mut end = p + used;
        let shift = match buf.get(end) {
            Some(b't' | b'T') => 40,
            Some(b'g' | b'G') => 30,
            Some(b'm' | b'M') => 20,
            Some(b'k' | b'K') => 10,
            None | Some(b' ' | b'\t' | b',') => 0,
            Some(_) => return None,
        };
        if shift != 0 {
            end += 1;
        }
        while matches!(buf.get(end), Some(b'\t' | b',' | b' ')) {
            end += 1;
        }
        p = end;
        let old = v;
        v = v.wrapping_shl(shift);
        if v >> shift != old {
            return None;
        }
        if n >= max {
            return None;
        }
        let ok = match (elem, signed) {
            (1, true) => i8::try_from(v).is_ok(),
            (1, false) => u8::try_from(v).is_ok(),
            (2, true) => i16::try_from(v).is_ok(),
            (2, false) => u16::try_from(v).is_ok(),
            (4, true) => i32::try_from(v).is_ok(),
            // "if (value > UINT_MAX)": negatives were refused above.
            (4, false) => v <= i64::from(u32::MAX),
            (8, _) => true,
            _ => false,
        };
        if !ok {
            return None;
        }
        out.extend_from_slice(&v.to_le_bytes()[..elem]);
        n += 1;
    }
    (n != 0).then_some(out)
}

/// `getenv_quad` on the value `value` (`sys/kern/kern_environment.c`,
/// FreeBSD 15): one number as `strtoq(3)` reads it with base 0, then at
/// most one suffix character, `k`, `m`, `g` or `t` (multiplying by
/// 1024 once, twice, ...); `None` where FreeBSD returns 0 (no number,
/// another suffix, or more than one character after the number).
pub(crate) fn getenv_quad(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    let (v, used) = strtoq(b);
    if used == 0 || b.len() > used + 1 {
        return None;
    }
    let times = match b.get(used) {
        None => 0,
        Some(b'k' | b'K') => 1,
        Some(b'm' | b'M') => 2,
        Some(b'g' | b'G') => 3,
        Some(b't' | b'T') => 4,
        Some(_) => return None,
    };
    Some((0..times).fold(v, |v, _| v.wrapping_mul(1024)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getenv_quad_takes_one_number_and_one_suffix() {
        assert_eq!(getenv_quad("12"), Some(12));
        assert_eq!(getenv_quad("-0x10"), Some(-16));
        assert_eq!(getenv_quad("2m"), Some(2 << 20));
        for bad in ["", "x", "1kb", "1 ", "1x", "1,2"] {
            assert_eq!(getenv_quad(bad), None, "{bad}");
        }
    }

    fn one(v: &str, elem: usize, signed: bool) -> Option<i64> {
        let b = getenv_array(v, 512, elem, signed)?;
        let mut x = [0u8; 8];
        x[..elem].copy_from_slice(&b[..elem]);
        let raw = i64::from_le_bytes(x);
        Some(if signed && elem == 4 {
            i64::from(raw as i32)
        } else {
            raw
        })
    }

    #[test]
    fn numbers_as_strtoq_reads_them_with_suffixes() {
        assert_eq!(one("42", 8, false), Some(42));
        assert_eq!(one("0x10", 8, false), Some(16));
        assert_eq!(one("010", 8, false), Some(8));
        assert_eq!(one("  7", 4, true), Some(7));
        assert_eq!(one("-3", 4, true), Some(-3));
        assert_eq!(one("4k", 8, false), Some(4096));
        assert_eq!(one("2M", 8, false), Some(2 << 20));
        assert_eq!(
            getenv_array("1, 2\t3", 512, 4, true).map(|b| b.len()),
            Some(12)
        );
    }

    #[test]
    fn malformed_values_are_ignored() {
        for bad in ["", "abc", "12abc", "0x", "1kk", "-1", "4294967296", "1.5"] {
            assert_eq!(one(bad, 4, false), None, "{bad}");
        }
        assert_eq!(one("2147483648", 4, true), None);
        assert_eq!(one("-2147483648", 4, true), Some(-2_147_483_648));
        // Saturated by strtoq, then shifted: overflow.
        assert_eq!(one("99999999999999999999k", 8, false), None);
    }

    #[test]
    fn set_replaces_in_place_and_unset_removes() {
        let e = Kenv::default();
        e.set("a", "1");
        e.set("b", "2");
        e.set("a", "3");
        assert_eq!(
            e.list(),
            [("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        assert!(e.unset("a"));
        assert!(!e.unset("a"));
        assert_eq!(e.get("b").as_deref(), Some("2"));
    }
}
