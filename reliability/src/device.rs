// SPDX-License-Identifier: BSD-2-Clause
//! The device under test: [`Dev`], a kernel handle whose operations are
//! counted in a [`Tally`], and [`State`], a snapshot of everything a user
//! can observe (message, `RUSTECHO_GETINFO`, the `hw.rustecho` counters)
//! plus the module's live allocations.

use crate::tally::Tally;
use echo_testkit::{DEV, MALLOC_TYPE};
use harness::testing::module_path;
use harness::{Kernel, O_RDONLY, SysResult, Whence};

/// The `hw.rustecho` counters, in [`Counters`] order.
pub const COUNTERS: [&str; 8] = [
    "opens",
    "reads",
    "writes",
    "bytes_in",
    "bytes_out",
    "enomem",
    "efbig",
    "efault",
];

/// The values of the `hw.rustecho` counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub [u64; 8]);

impl Counters {
    /// Reads every counter with `sysctl(3)`.
    #[must_use]
    pub fn read(k: &Kernel) -> Self {
        Self(COUNTERS.map(|n| echo_testkit::sysctl(k, n)))
    }

    fn index(name: &str) -> usize {
        COUNTERS
            .iter()
            .position(|&n| n == name)
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    /// One counter.
    #[must_use]
    pub fn get(&self, name: &str) -> u64 {
        self.0[Self::index(name)]
    }

    /// These counters with `n` added to `name`.
    #[must_use]
    pub fn plus(mut self, name: &str, n: u64) -> Self {
        self.0[Self::index(name)] += n;
        self
    }

    /// These counters with each `(name, n)` added.
    #[must_use]
    pub fn plus_all(self, deltas: &[(&str, u64)]) -> Self {
        deltas.iter().fold(self, |c, &(name, n)| c.plus(name, n))
    }

    /// The counters that differ from `other`, as `name: other -> self`.
    #[must_use]
    pub fn diff(&self, other: &Counters) -> String {
        COUNTERS
            .iter()
            .zip(self.0.iter().zip(other.0.iter()))
            .filter(|(_, (a, b))| a != b)
            .map(|(n, (a, b))| format!("{n}: {b} -> {a}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A kernel handle whose device operations are counted.
#[derive(Clone)]
pub struct Dev<'t> {
    /// The kernel (its own calls are not counted: use them for checks).
    pub k: Kernel,
    /// Where operations, errors and faults are counted.
    pub t: &'t Tally,
}

impl<'t> Dev<'t> {
    /// A fresh kernel with `rustecho.ko` loaded; returns its file id too.
    ///
    /// # Panics
    /// If the module does not load.
    #[must_use]
    pub fn loaded(t: &'t Tally) -> (Self, i32) {
        let k = Kernel::new();
        let r = k.kldload(module_path(echo_testkit::MODULE));
        t.op(&r);
        let id = r.unwrap_or_else(|e| panic!("kldload rustecho.ko: {e:?}\n{}", k.dmesg()));
        (Self { k, t }, id)
    }

    fn count<T>(&self, r: SysResult<T>) -> SysResult<T> {
        self.t.op(&r);
        r
    }

    /// `open(2)` of `/dev/rustmodule`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn open(&self, flags: u32) -> SysResult<i32> {
        self.count(self.k.open(DEV, flags))
    }

    /// `close(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn close(&self, fd: i32) -> SysResult<()> {
        self.count(self.k.close(fd))
    }

    /// `read(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        self.count(self.k.read(fd, buf))
    }

    /// `pread(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn pread(&self, fd: i32, buf: &mut [u8], off: i64) -> SysResult<usize> {
        self.count(self.k.pread(fd, buf, off))
    }

    /// `readv(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn readv(&self, fd: i32, bufs: &mut [&mut [u8]]) -> SysResult<usize> {
        self.count(self.k.readv(fd, bufs))
    }

    /// `write(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn write(&self, fd: i32, data: &[u8]) -> SysResult<usize> {
        self.count(self.k.write(fd, data))
    }

    /// `writev(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn writev(&self, fd: i32, bufs: &[&[u8]]) -> SysResult<usize> {
        self.count(self.k.writev(fd, bufs))
    }

    /// `lseek(2)`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn lseek(&self, fd: i32, off: i64, whence: Whence) -> SysResult<i64> {
        self.count(self.k.lseek(fd, off, whence))
    }

    /// `ioctl(2)` with `arg` as the command's buffer.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn ioctl(&self, fd: i32, cmd: u64, arg: &mut [u8]) -> SysResult<()> {
        self.count(self.k.ioctl(fd, cmd, arg))
    }

    /// `ioctl(2)` with a raw argument.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn ioctl_raw(&self, fd: i32, cmd: u64, arg: u64) -> SysResult<()> {
        self.count(self.k.ioctl_raw(fd, cmd, arg))
    }

    /// `sysctl hw.rustecho.NAME=VALUE`.
    ///
    /// # Errors
    /// The errno of the call.
    pub fn sysctl_set(&self, name: &str, value: &str) -> SysResult<()> {
        self.count(self.k.sysctl_set(&format!("hw.rustecho.{name}"), value))
    }
}

/// Live allocations of the module's malloc type (0 once it is gone).
#[must_use]
pub fn live_allocs(k: &Kernel) -> u64 {
    echo_testkit::live_allocs(k)
}

/// Live bytes of the module's malloc type (0 once it is gone).
#[must_use]
pub fn live_bytes(k: &Kernel) -> u64 {
    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_bytes)
}

/// What a user can observe of the device, and the module's live
/// allocations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The current message, read by a new open file.
    pub message: Vec<u8>,
    /// `ri_length` of `RUSTECHO_GETINFO`.
    pub length: u64,
    /// `ri_limit`.
    pub limit: u64,
    /// `ri_generation`.
    pub generation: u64,
    /// The counters before this snapshot was taken (what the operation
    /// before it left).
    pub counters: Counters,
    /// The counters after it (taking it opens, reads and closes the
    /// device): the baseline for the next operation.
    pub counters_after: Counters,
    /// Live allocations of the module's malloc type.
    pub live_allocs: u64,
}

impl State {
    /// Takes a snapshot: the counters, then the message and
    /// `RUSTECHO_GETINFO` through a new open file (closed again), then the
    /// counters and live allocations once more.
    ///
    /// # Panics
    /// If the device cannot be opened or read.
    #[must_use]
    pub fn capture(k: &Kernel) -> Self {
        let counters = Counters::read(k);
        let fd = k
            .open(DEV, O_RDONLY)
            .unwrap_or_else(|e| panic!("snapshot: open: {e:?}"));
        let info = echo_testkit::info(k, fd);
        let message = echo_testkit::cat(k, fd, 1 << 16);
        k.close(fd).unwrap();
        Self {
            message,
            length: info.length,
            limit: info.limit,
            generation: info.generation,
            counters,
            counters_after: Counters::read(k),
            live_allocs: live_allocs(k),
        }
    }

    /// Checks that `after` (taken after an operation) shows the same
    /// device as `self` (taken before it), with the counters of `self`
    /// plus `deltas`, and the same live allocations. A live-allocation
    /// count above the baseline is counted as a leak in `t`.
    ///
    /// # Errors
    /// What differs.
    pub fn expect_same(
        &self,
        after: &State,
        deltas: &[(&str, u64)],
        t: &Tally,
    ) -> Result<(), String> {
        self.expect_same_or_less(after, deltas, t, false)
    }

    /// As [`expect_same`](Self::expect_same); with `may_release`, fewer
    /// live allocations than before are allowed too (a write that fails
    /// for want of memory may have released a spare buffer too small for
    /// it: rustecho frees it before allocating the larger one, to lower
    /// its peak use).
    ///
    /// # Errors
    /// What differs.
    pub fn expect_same_or_less(
        &self,
        after: &State,
        deltas: &[(&str, u64)],
        t: &Tally,
        may_release: bool,
    ) -> Result<(), String> {
        let mut bad = Vec::new();
        if after.message != self.message {
            bad.push(format!(
                "message changed: {} bytes -> {} bytes",
                self.message.len(),
                after.message.len()
            ));
        }
        if (after.length, after.limit, after.generation)
            != (self.length, self.limit, self.generation)
        {
            bad.push(format!(
                "GETINFO changed: (len {}, limit {}, gen {}) -> ({}, {}, {})",
                self.length,
                self.limit,
                self.generation,
                after.length,
                after.limit,
                after.generation
            ));
        }
        let want = self.counters_after.plus_all(deltas);
        if after.counters != want {
            bad.push(format!(
                "counters: want {deltas:?}, got {}",
                after.counters.diff(&self.counters_after)
            ));
        }
        let released = may_release && after.live_allocs < self.live_allocs;
        if after.live_allocs != self.live_allocs && !released {
            if after.live_allocs > self.live_allocs {
                t.leak(after.live_allocs - self.live_allocs);
            }
            bad.push(format!(
                "live allocations: {} -> {}",
                self.live_allocs, after.live_allocs
            ));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}

/// The poison pattern the harness fills fresh and freed memory with
/// (`0xdeadc0de`, as an `INVARIANTS` kernel's trash functions do), in
/// memory order.
pub const POISON: [u8; 4] = 0xdead_c0de_u32.to_le_bytes();

/// Whether `bytes` contain the poison pattern (at any alignment).
#[must_use]
pub fn has_poison(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == POISON)
}

/// A deterministic byte pattern for test messages: byte `i` of message
/// `tag`.
#[must_use]
pub fn pattern(tag: u64, len: usize) -> Vec<u8> {
    let mut x = tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_is_found_at_any_alignment() {
        assert!(has_poison(&[0xde, 0xc0, 0xad, 0xde]));
        assert!(has_poison(&[1, 0xde, 0xc0, 0xad, 0xde, 2]));
        assert!(!has_poison(&[0xde, 0xc0, 0xad]));
        assert_ne!(pattern(1, 64), pattern(2, 64));
        assert_eq!(pattern(7, 10), pattern(7, 20)[..10]);
    }
}
