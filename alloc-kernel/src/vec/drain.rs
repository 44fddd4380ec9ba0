// SPDX-License-Identifier: BSD-2-Clause
//! [`Drain`]: the iterator of [`Vec::drain`].

use crate::{Allocator, Vec};
use core::fmt;
use core::iter::FusedIterator;
use core::ptr;
use core::slice;

/// Yields, by value, the elements of a range removed from a [`Vec`]; see
/// [`Vec::drain`].
///
/// When dropped, it drops the elements not yet yielded and moves the
/// elements after the range down. If it is leaked instead, the vector keeps
/// only the elements before the range: nothing is dropped twice or read
/// uninitialised.
///
/// # Invariants
///
/// - `vec.len` is the start of the drained range; the vector's slots
///   `next..end` hold the elements not yet yielded, and the `tail_len`
///   slots from `tail_start` hold the elements after the range, all owned by
///   the drain.
/// - `vec.len <= next <= end <= tail_start`, and `tail_start + tail_len` is
///   at most the vector's capacity.
pub struct Drain<'a, T, A: Allocator> {
    vec: &'a mut Vec<T, A>,
    next: usize,
    end: usize,
    tail_start: usize,
    tail_len: usize,
}

impl<'a, T, A: Allocator> Drain<'a, T, A> {
    /// Drains `start..end` of `vec`, where `start <= end <= vec.len()`.
    pub(super) fn new(vec: &'a mut Vec<T, A>, start: usize, end: usize) -> Self {
        let start = start.min(end);
        let end = end.min(vec.len);
        // Cannot wrap: `end <= len`.
        let tail_len = vec.len.wrapping_sub(end);
        // INVARIANT: the vector keeps the elements before `start`; the drain
        // owns the rest, so a leaked drain only leaks them.
        vec.len = start;
        Drain {
            vec,
            next: start,
            end,
            tail_start: end,
            tail_len,
        }
    }

    /// The elements not yet yielded.
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: by the type invariants, `next..end` are initialised
        // elements inside the buffer.
        let first = unsafe { self.vec.ptr.add(self.next) };
        // SAFETY: `end - next` initialised elements from `first`, borrowed
        // with the drain.
        unsafe { slice::from_raw_parts(first.as_ptr(), self.end.wrapping_sub(self.next)) }
    }
}

impl<T, A: Allocator> Iterator for Drain<'_, T, A> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: `next < end`: an element owned by the drain, in bounds.
        let slot = unsafe { self.vec.ptr.add(self.next) };
        // INVARIANT: the element is moved out and no longer counted.
        self.next = self.next.wrapping_add(1);
        // SAFETY: the slot holds an initialised element, read once.
        Some(unsafe { slot.read() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.end.wrapping_sub(self.next);
        (len, Some(len))
    }
}

impl<T, A: Allocator> DoubleEndedIterator for Drain<'_, T, A> {
    fn next_back(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // INVARIANT: the last element is moved out below and no longer
        // counted.
        self.end = self.end.wrapping_sub(1);
        // SAFETY: the old `end - 1` is an element owned by the drain.
        let slot = unsafe { self.vec.ptr.add(self.end) };
        // SAFETY: the slot holds an initialised element, read once.
        Some(unsafe { slot.read() })
    }
}

impl<T, A: Allocator> ExactSizeIterator for Drain<'_, T, A> {}

impl<T, A: Allocator> FusedIterator for Drain<'_, T, A> {}

impl<T: fmt::Debug, A: Allocator> fmt::Debug for Drain<'_, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Drain").field(&self.as_slice()).finish()
    }
}

/// Moves the tail down and restores the vector's length, even if dropping a
/// remaining element panics.
struct MoveTail<'r, 'a, T, A: Allocator>(&'r mut Drain<'a, T, A>);

impl<T, A: Allocator> Drop for MoveTail<'_, '_, T, A> {
    fn drop(&mut self) {
        let drain = &mut *self.0;
        let start = drain.vec.len;
        if drain.tail_len != 0 && drain.tail_start != start {
            // SAFETY: `tail_start` is inside (or one past) the buffer.
            let from = unsafe { drain.vec.ptr.add(drain.tail_start) };
            // SAFETY: `start <= tail_start`, inside the buffer.
            let to = unsafe { drain.vec.ptr.add(start) };
            // SAFETY: moves the `tail_len` tail elements down to `start`;
            // both ranges are inside the buffer (the regions may overlap).
            unsafe { ptr::copy(from.as_ptr(), to.as_ptr(), drain.tail_len) };
        }
        // INVARIANT: the elements before the range, then the tail, are the
        // first `start + tail_len` elements (no overflow: at most the old
        // length).
        drain.vec.len = start.wrapping_add(drain.tail_len);
    }
}

impl<T, A: Allocator> Drop for Drain<'_, T, A> {
    fn drop(&mut self) {
        // SAFETY: `next <= end`, inside (or one past) the buffer.
        let first = unsafe { self.vec.ptr.add(self.next) };
        let rest = ptr::slice_from_raw_parts_mut(first.as_ptr(), self.end.wrapping_sub(self.next));
        // INVARIANT: the remaining elements are dropped below, and no longer
        // counted.
        self.next = self.end;
        let _move_tail = MoveTail(self);
        // SAFETY: `rest` holds the initialised elements the drain still owns;
        // they are dropped once (the guard then moves the tail).
        unsafe { ptr::drop_in_place(rest) };
    }
}
