// SPDX-License-Identifier: BSD-2-Clause
//! `kern::print`: a line longer than `println!`'s 256-byte chunk.

use super::fail;
use kern::prelude::*;
use kern::print::{Line, Print};

/// The line's length when `kc_value` is 0.
const DEFAULT_LEN: usize = 600;
/// The longest line the case prints.
const MAX_LEN: usize = 4096;
/// The line is this alphabet over and over.
const ALPHABET: &str = "0123456789abcdefghijklmnopqrstuvwxyz";

/// `len` bytes of [`ALPHABET`], repeated; formatted without allocating.
struct Pattern(usize);

impl Print for Pattern {
    fn print(&self, line: &mut Line) {
        let mut left = self.0;
        while left > 0 {
            let n = left.min(ALPHABET.len());
            line.push_str(ALPHABET.get(..n).unwrap_or_default());
            left = left.saturating_sub(n);
        }
    }
}

/// Rule (`kern::print`): `println!` hands a line longer than its 256-byte
/// buffer to `printf(9)` in chunks, the first prefixed with the module
/// name and none of the others, so the message buffer holds
/// `kselftest: long line of N bytes: 0123...` intact, with one newline.
///
/// `len` is the pattern's length (0 means 600, at most 4096); the value is
/// the length printed.
pub(super) fn long_line(len: u64) -> Result<u64> {
    let len = match usize::try_from(len) {
        Ok(0) => DEFAULT_LEN,
        Ok(n) if n <= MAX_LEN => n,
        _ => return fail("print_long", "longer than 4096", EINVAL),
    };
    println!("long line of {} bytes: {}", len, Pattern(len));
    Ok(u64::try_from(len).unwrap_or(0))
}
