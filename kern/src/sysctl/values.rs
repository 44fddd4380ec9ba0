// SPDX-License-Identifier: BSD-2-Clause
//! The values a sysctl leaf of a [`SysctlTree`](super::SysctlTree) shows
//! beside [`Tunable`](super::Tunable): an `int` tunable ([`IntTunable`])
//! and a string tunable ([`StringTunable`]).

use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering, fence};

/// The longest string buffer a [`StringTunable`] may have, NUL included:
/// the handler copies the value through the kernel stack.
pub const STRING_TUNABLE_MAX: usize = 256;

/// A 32-bit `int` that user space may read and (root only) write through
/// sysctl (`CTLTYPE_INT`), after validation; the `int` counterpart of
/// [`Tunable`](super::Tunable).
#[derive(Debug)]
pub struct IntTunable {
    pub(super) value: AtomicI32,
}

impl IntTunable {
    /// An `int` tunable with an initial value (not validated).
    #[must_use]
    pub const fn new(initial: i32) -> Self {
        Self {
            value: AtomicI32::new(initial),
        }
    }

    /// The current value.
    #[must_use]
    pub fn get(&self) -> i32 {
        self.value.load(Ordering::Relaxed)
    }

    /// Sets the value from the module (not validated).
    pub fn set(&self, value: i32) {
        self.value.store(value, Ordering::Relaxed);
    }
}

/// A NUL-terminated string of at most `N - 1` bytes that user space may
/// read and (root only) write through sysctl (`CTLTYPE_STRING`), after
/// validation: `SYSCTL_STRING(9)` over a `char buf[N]`, with the value
/// never torn.
///
/// Readers (the module's [`read`](Self::read), the sysctl handler) copy
/// the bytes under a sequence count and retry if a write ran meanwhile;
/// writes are serialised by the count itself (a writer makes it odd while
/// it copies `N` bytes at most). `N` is at most [`STRING_TUNABLE_MAX`]
/// (checked at compile time).
///
/// ```
/// use kern::sysctl::StringTunable;
///
/// static GREETING: StringTunable<32> = StringTunable::new(b"hello");
/// let mut buf = [0u8; 32];
/// assert_eq!(GREETING.read(&mut buf), b"hello");
/// ```
#[derive(Debug)]
pub struct StringTunable<const N: usize> {
    pub(super) seq: AtomicU32,
    pub(super) bytes: [AtomicU8; N],
}

impl<const N: usize> StringTunable<N> {
    /// A string tunable holding `initial`, cut to `N - 1` bytes (and at
    /// its first NUL).
    #[must_use]
    pub const fn new(initial: &[u8]) -> Self {
        const { assert!(N >= 1 && N <= STRING_TUNABLE_MAX) };
        let mut bytes = [const { AtomicU8::new(0) }; N];
        let mut i = 0;
        #[allow(
            clippy::indexing_slicing,
            clippy::arithmetic_side_effects,
            reason = "i < initial.len() and i + 1 < N <= STRING_TUNABLE_MAX: in bounds, no overflow"
        )]
        while i < initial.len() && i + 1 < N && initial[i] != 0 {
            bytes[i] = AtomicU8::new(initial[i]);
            i += 1;
        }
        Self {
            seq: AtomicU32::new(0),
            bytes,
        }
    }

    /// Copies the current value into `buf` and returns it (without its
    /// NUL).
    pub fn read<'b>(&self, buf: &'b mut [u8; N]) -> &'b [u8] {
        let len = read_seq(&self.seq, &self.bytes, buf);
        buf.get(..len).unwrap_or_default()
    }

    /// Sets the value from the module (not validated), cut to `N - 1`
    /// bytes.
    pub fn set(&self, value: &[u8]) {
        write_seq(&self.seq, &self.bytes, value);
    }
}

/// Copies the string in `bytes` into `out` (at most `out.len()` bytes)
/// under the sequence count `seq`; returns its length (to the first NUL).
pub(super) fn read_seq(seq: &AtomicU32, bytes: &[AtomicU8], out: &mut [u8]) -> usize {
    loop {
        let start = seq.load(Ordering::Acquire);
        if start & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        let mut len = None;
        for (i, (o, b)) in out.iter_mut().zip(bytes).enumerate() {
            *o = b.load(Ordering::Relaxed);
            if *o == 0 && len.is_none() {
                len = Some(i);
            }
        }
        fence(Ordering::Acquire);
        if seq.load(Ordering::Relaxed) == start {
            return len.unwrap_or(out.len().min(bytes.len()).saturating_sub(1));
        }
    }
}

/// Stores `value` (cut at its first NUL and to `bytes.len() - 1` bytes)
/// NUL-terminated into `bytes`, serialised by `seq`.
pub(super) fn write_seq(seq: &AtomicU32, bytes: &[AtomicU8], value: &[u8]) {
    let mut cur = seq.load(Ordering::Relaxed);
    loop {
        if cur & 1 != 0 {
            core::hint::spin_loop();
            cur = seq.load(Ordering::Relaxed);
            continue;
        }
        match seq.compare_exchange_weak(
            cur,
            cur.wrapping_add(1),
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break,
            Err(now) => cur = now,
        }
    }
    fence(Ordering::Release);
    let len = value
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(value.len())
        .min(bytes.len().saturating_sub(1));
    for (i, b) in bytes.iter().enumerate() {
        b.store(
            value.get(i).copied().filter(|_| i < len).unwrap_or(0),
            Ordering::Relaxed,
        );
    }
    seq.store(cur.wrapping_add(2), Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_to_the_buffer_and_read_back() {
        static S: StringTunable<4> = StringTunable::new(b"abcdef");
        let mut buf = [0u8; 4];
        assert_eq!(S.read(&mut buf), b"abc");
        S.set(b"x\0y");
        assert_eq!(S.read(&mut buf), b"x");
        S.set(b"");
        assert_eq!(S.read(&mut buf), b"");
        assert_eq!(S.seq.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn ints_read_back() {
        let t = IntTunable::new(-3);
        assert_eq!(t.get(), -3);
        t.set(7);
        assert_eq!(t.get(), 7);
    }
}

/// `N` 64-bit counters side by side, shown by one
/// [`SysctlLeaf::counters`](super::SysctlLeaf::counters) entry as `N`
/// read-only leaves: one table entry for all of them, not one each.
///
/// ```
/// use kern::sysctl::Counters;
///
/// static STATS: Counters<2> = Counters::new();
/// STATS.at::<1>().fetch_add(3, core::sync::atomic::Ordering::Relaxed);
/// assert_eq!(STATS.at::<1>().load(core::sync::atomic::Ordering::Relaxed), 3);
/// ```
#[derive(Debug)]
pub struct Counters<const N: usize>(pub(super) [AtomicU64; N]);

impl<const N: usize> Counters<N> {
    /// `N` counters at zero.
    #[must_use]
    pub const fn new() -> Self {
        Self([const { AtomicU64::new(0) }; N])
    }

    /// Counter `I`; `I < N` is checked at compile time, so the access has
    /// no run-time bound check.
    #[must_use]
    pub fn at<const I: usize>(&self) -> &AtomicU64 {
        const { assert!(I < N, "counter index out of range") };
        #[allow(
            clippy::indexing_slicing,
            reason = "I < N is asserted at compile time just above"
        )]
        &self.0[I]
    }
}

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Self::new()
    }
}
