// SPDX-License-Identifier: BSD-2-Clause
//! The byte ring of `/dev/rustfifo`: storage that grows on demand with
//! `M_NOWAIT` up to the capacity, and is freed when the FIFO has been idle.

use kern::alloc::Vec;
use kern::prelude::*;

/// The smallest storage allocated (or the capacity, if smaller).
const MIN_ALLOC: usize = 4096;

/// A ring of bytes over a storage that grows on demand.
///
/// # Invariants
/// `len <= buf.len()`; if `buf` is empty, `head == 0` and `len == 0`;
/// otherwise `head < buf.len()`. The bytes are `buf[head..]` followed by
/// `buf[..]`, `len` of them.
pub(crate) struct Ring {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring without storage.
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    /// The bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of storage allocated.
    pub(crate) fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the FIFO accepts under `capacity`.
    pub(crate) fn space(&self, capacity: usize) -> usize {
        capacity.saturating_sub(self.len)
    }

    /// Free bytes in the storage as it is.
    fn room(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// Makes room for up to `want` more bytes under `capacity`, growing
    /// the storage (`M_NOWAIT`) if it has less; returns the room the
    /// storage has now (0 if the FIFO is full). The queued bytes stay.
    ///
    /// # Errors
    /// `ENOMEM`: the storage has no room and could not grow.
    pub(crate) fn reserve(&mut self, want: usize, capacity: usize) -> Result<usize> {
        let want = want.min(self.space(capacity));
        if self.room() >= want {
            return Ok(self.room());
        }
        let needed = self.len.saturating_add(want);
        let size = needed
            .max(self.buf.len().saturating_mul(2))
            .max(MIN_ALLOC)
            .min(capacity.max(needed));
        match Vec::try_from_elem(0u8, size, M_NOWAIT) {
            Ok(mut bigger) => {
                let n = self.peek(&mut bigger);
                // INVARIANT: the same bytes, now from the start.
                self.buf = bigger;
                self.head = 0;
                self.len = n;
                Ok(self.room())
            }
            Err(_) if self.room() > 0 => Ok(self.room()),
            Err(_) => Err(ENOMEM),
        }
    }

    /// Appends as much of `data` as the storage has room for; returns how
    /// much.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let size = self.buf.len();
        let n = data.len().min(self.room());
        if n == 0 {
            return 0;
        }
        let tail = wrap(self.head.saturating_add(self.len), size);
        let first = n.min(size.saturating_sub(tail));
        let (a, b) = data.split_at(first);
        copy(self.buf.get_mut(tail..tail.saturating_add(first)), a);
        copy(self.buf.get_mut(..b.len()), b);
        // INVARIANT: `n <= room`.
        self.len = self.len.saturating_add(n);
        n
    }

    /// Copies the oldest bytes into `out` without consuming them; returns
    /// how many.
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let size = self.buf.len();
        let n = out.len().min(self.len);
        if n == 0 {
            return 0;
        }
        let first = n.min(size.saturating_sub(self.head));
        let (a, rest) = out.split_at_mut(first);
        copy(
            Some(a),
            self.buf
                .get(self.head..self.head.saturating_add(first))
                .unwrap_or(&[]),
        );
        let second = n.saturating_sub(first);
        if let Some(b) = rest.get_mut(..second) {
            copy(Some(b), self.buf.get(..second).unwrap_or(&[]));
        }
        n
    }

    /// Drops the `n` oldest bytes (at most all of them).
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len = self.len.saturating_sub(n);
        // INVARIANT: the head moves within the storage; an empty ring
        // starts again at 0 (contiguous writes).
        self.head = if self.len == 0 {
            0
        } else {
            wrap(self.head.saturating_add(n), self.buf.len())
        };
    }

    /// Takes the storage away if no byte is queued (to free it outside
    /// the lock).
    pub(crate) fn take_storage(&mut self) -> Option<Vec<u8>> {
        if self.len != 0 || self.buf.is_empty() {
            return None;
        }
        self.head = 0;
        Some(core::mem::replace(&mut self.buf, Vec::new()))
    }
}

/// `i` modulo `size` for `i < 2 * size` (0 if `size` is 0).
fn wrap(i: usize, size: usize) -> usize {
    i.checked_rem(size).unwrap_or(0)
}

/// Copies `src` into `dst` if they have the same length (they do by
/// construction; a mismatch copies nothing rather than panic).
fn copy(dst: Option<&mut [u8]>, src: &[u8]) {
    if let Some(dst) = dst
        && dst.len() == src.len()
    {
        dst.copy_from_slice(src);
    }
}
