// SPDX-License-Identifier: BSD-2-Clause
//! Removing elements from a [`Vec`]: pop, remove, truncate, drain.

use crate::vec::Drain;
use crate::{Allocator, Vec};
use core::ops::{Bound, RangeBounds};
use core::ptr;

impl<T, A: Allocator> Vec<T, A> {
    /// Removes and returns the last element.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        let new_len = self.len.checked_sub(1)?;
        // INVARIANT: the last element is no longer counted; it is moved out
        // below.
        self.len = new_len;
        // SAFETY: `new_len` was the index of the last element, in bounds.
        let slot = unsafe { self.ptr.add(new_len) };
        // SAFETY: the slot holds an initialised element that no longer
        // belongs to the vector.
        Some(unsafe { slot.read() })
    }

    /// Removes and returns the element at `index`, shifting the later ones
    /// down; `None` if `index` is out of bounds.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        // SAFETY: `index < len`, in bounds.
        let slot = unsafe { self.ptr.add(index) };
        // SAFETY: the slot holds an initialised element, moved out here.
        let value = unsafe { slot.read() };
        // SAFETY: `index + 1 <= len`, in bounds or one past the end.
        let next = unsafe { slot.add(1) };
        // Cannot wrap: `index < len`.
        let tail = self.len.wrapping_sub(index).wrapping_sub(1);
        // SAFETY: moves the `tail` elements after the slot one down, inside
        // the first `len` slots.
        unsafe { ptr::copy(next.as_ptr(), slot.as_ptr(), tail) };
        // INVARIANT: the first `len - 1` slots hold the remaining elements.
        self.len = self.len.wrapping_sub(1);
        Some(value)
    }

    /// Removes and returns the element at `index`, moving the last element
    /// into its place; `None` if `index` is out of bounds.
    pub fn swap_remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        // Cannot wrap: `index < len`.
        let last = self.len.wrapping_sub(1);
        // SAFETY: `index < len`, in bounds.
        let slot = unsafe { self.ptr.add(index) };
        // SAFETY: the slot holds an initialised element, moved out here.
        let value = unsafe { slot.read() };
        // SAFETY: `last < len`, in bounds.
        let last_slot = unsafe { self.ptr.add(last) };
        // SAFETY: moves the last element into the hole (a no-op copy if they
        // are the same slot).
        unsafe { ptr::copy(last_slot.as_ptr(), slot.as_ptr(), 1) };
        // INVARIANT: the first `len - 1` slots hold the remaining elements.
        self.len = last;
        Some(value)
    }

    /// Drops the elements past `len`; does nothing if `len >= self.len()`.
    pub fn truncate(&mut self, len: usize) {
        let Some(tail_len) = self.len.checked_sub(len) else {
            return;
        };
        // SAFETY: `len < self.len`, in bounds.
        let tail = unsafe { self.ptr.add(len) };
        let tail = ptr::slice_from_raw_parts_mut(tail.as_ptr(), tail_len);
        // INVARIANT: the tail no longer belongs to the vector (if a drop
        // panics, the rest of the tail leaks rather than dropping twice).
        self.len = len;
        // SAFETY: the tail holds `tail_len` initialised elements that nothing
        // else owns.
        unsafe { ptr::drop_in_place(tail) };
    }

    /// Drops all elements, keeping the buffer.
    #[inline]
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Removes the elements in `range` and yields them; `None` (and nothing
    /// removed) if the range is out of bounds or decreasing.
    ///
    /// The elements are removed even if the iterator is not used up. If the
    /// iterator is leaked (`mem::forget`), the vector keeps only the elements
    /// before the range and the rest leak.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{try_vec, HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v: Vec<u8, HostAllocator> = try_vec![1, 2, 3, 4, 5; M_NOWAIT]?;
    /// let middle: Vec<u8, HostAllocator> = {
    ///     let mut out = Vec::new();
    ///     out.try_extend(v.drain(1..4).unwrap(), M_NOWAIT)?;
    ///     out
    /// };
    /// assert_eq!(middle, [2, 3, 4]);
    /// assert_eq!(v, [1, 5]);
    /// assert!(v.drain(1..9).is_none());
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    pub fn drain<R: RangeBounds<usize>>(&mut self, range: R) -> Option<Drain<'_, T, A>> {
        let start = match range.start_bound() {
            Bound::Included(&start) => start,
            Bound::Excluded(&start) => start.checked_add(1)?,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&end) => end.checked_add(1)?,
            Bound::Excluded(&end) => end,
            Bound::Unbounded => self.len,
        };
        if start > end || end > self.len {
            return None;
        }
        Some(Drain::new(self, start, end))
    }
}
