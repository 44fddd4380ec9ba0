// SPDX-License-Identifier: BSD-2-Clause
//! [`Vec::retain`] and [`Vec::retain_mut`]: removing elements in place.

use crate::{Allocator, Vec};
use core::ptr;

impl<T, A: Allocator> Vec<T, A> {
    /// Keeps only the elements for which `keep` returns `true`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{try_vec, HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v: Vec<u32, HostAllocator> = try_vec![1, 2, 3, 4; M_NOWAIT]?;
    /// v.retain(|x| x % 2 == 0);
    /// assert_eq!(v, [2, 4]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Only if `keep` or a `drop` panics; the vector then holds the elements
    /// kept so far and the ones not yet visited.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.retain_mut(|element| keep(element));
    }

    /// Keeps only the elements for which `keep` returns `true`, in order,
    /// letting `keep` change them.
    ///
    /// # Panics
    ///
    /// Only if `keep` or a `drop` panics; the vector then holds the elements
    /// kept so far and the ones not yet visited.
    pub fn retain_mut(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        let original_len = self.len;
        // INVARIANT: while the guard lives the elements are owned by it, so
        // that a leak or panic cannot expose a hole; it sets the length back.
        self.len = 0;
        let mut guard = Compactor {
            vec: self,
            processed: 0,
            deleted: 0,
            original_len,
        };
        while guard.processed != original_len {
            // SAFETY: `processed < original_len`, in bounds.
            let current = unsafe { guard.vec.ptr.add(guard.processed) };
            // SAFETY: the element at `processed` is initialised and not yet
            // moved; nothing else refers to it during the call.
            let kept = keep(unsafe { &mut *current.as_ptr() });
            // Cannot wrap: at most `original_len`.
            guard.processed = guard.processed.wrapping_add(1);
            if kept {
                if guard.deleted != 0 {
                    // Cannot wrap: `deleted < processed`.
                    let hole_index = guard.processed.wrapping_sub(1).wrapping_sub(guard.deleted);
                    // SAFETY: `hole_index` is below `processed`, in bounds.
                    let hole = unsafe { guard.vec.ptr.add(hole_index) };
                    // SAFETY: the hole's element was dropped or moved, and it
                    // is a different slot from `current` (`deleted != 0`).
                    unsafe { ptr::copy_nonoverlapping(current.as_ptr(), hole.as_ptr(), 1) };
                }
            } else {
                // INVARIANT: counted as deleted before it is dropped, so a
                // panicking drop cannot drop it twice.
                guard.deleted = guard.deleted.wrapping_add(1);
                // SAFETY: the element is initialised and dropped once.
                unsafe { ptr::drop_in_place(current.as_ptr()) };
            }
        }
    }
}

/// Closes the holes left by `retain_mut` and sets the length, also when a
/// closure or a drop panics.
///
/// # Invariants
///
/// The vector's slots below `processed - deleted` hold the kept elements,
/// the `deleted` slots after them are holes, and the slots
/// `processed..original_len` hold the elements not yet visited.
struct Compactor<'a, T, A: Allocator> {
    vec: &'a mut Vec<T, A>,
    processed: usize,
    deleted: usize,
    original_len: usize,
}

impl<T, A: Allocator> Drop for Compactor<'_, T, A> {
    fn drop(&mut self) {
        // Cannot wrap: `processed <= original_len`.
        let unvisited = self.original_len.wrapping_sub(self.processed);
        if self.deleted != 0 && unvisited != 0 {
            // SAFETY: `processed <= original_len`, in bounds.
            let from = unsafe { self.vec.ptr.add(self.processed) };
            // SAFETY: `processed - deleted` is in bounds too.
            let to = unsafe { self.vec.ptr.add(self.processed.wrapping_sub(self.deleted)) };
            // SAFETY: moves the unvisited elements down over the holes; both
            // ranges are inside the old length.
            unsafe { ptr::copy(from.as_ptr(), to.as_ptr(), unvisited) };
        }
        // INVARIANT: the kept and the unvisited elements are now the first
        // `original_len - deleted` slots.
        self.vec.len = self.original_len.wrapping_sub(self.deleted);
    }
}
