// SPDX-License-Identifier: BSD-2-Clause
//! [`IntoIter`]: iteration over a [`Vec`] by value.

use crate::{Allocator, Vec};
use core::alloc::Layout;
use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};
use core::slice;

/// Yields the elements of a [`Vec`] by value (`for x in vec`).
///
/// Dropping it midway drops the elements not yet yielded and frees the
/// buffer. Leaking it leaks them, and nothing else happens.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{try_vec, HostAllocator, Vec, M_NOWAIT};
///
/// let v: Vec<u32, HostAllocator> = try_vec![1, 2, 3; M_NOWAIT]?;
/// let mut iter = v.into_iter();
/// assert_eq!(iter.next(), Some(1));
/// assert_eq!(iter.next_back(), Some(3));
/// assert_eq!(iter.as_slice(), [2]);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
///
/// # Invariants
///
/// - `buf`, `cap` and `alloc` are what the vector held (see the invariants
///   of [`Vec`]): `buf` is a block of `alloc` with `Layout::array::<T>(cap)`
///   unless `T` is zero-sized or `cap == 0`.
/// - `head <= tail <= cap`, and slots `head..tail` hold the initialised
///   elements still owned by the iterator.
pub struct IntoIter<T, A: Allocator> {
    buf: NonNull<T>,
    cap: usize,
    alloc: A,
    head: usize,
    tail: usize,
    _owns: PhantomData<T>,
}

// SAFETY: the iterator owns its elements and allocator like plain fields
// would.
unsafe impl<T: Send, A: Allocator + Send> Send for IntoIter<T, A> {}

// SAFETY: `&IntoIter` gives only `&T` (`as_slice`).
unsafe impl<T: Sync, A: Allocator + Sync> Sync for IntoIter<T, A> {}

impl<T, A: Allocator> IntoIter<T, A> {
    /// The elements not yet yielded.
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `head <= cap`, inside (or one past) the buffer.
        let first = unsafe { self.buf.add(self.head) };
        // SAFETY: slots `head..tail` are initialised, borrowed with `self`.
        unsafe { slice::from_raw_parts(first.as_ptr(), self.tail.wrapping_sub(self.head)) }
    }

    /// The elements not yet yielded, mutably.
    #[must_use]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: `head <= cap`, inside (or one past) the buffer.
        let first = unsafe { self.buf.add(self.head) };
        // SAFETY: slots `head..tail` are initialised, borrowed mutably with
        // `self`.
        unsafe { slice::from_raw_parts_mut(first.as_ptr(), self.tail.wrapping_sub(self.head)) }
    }
}

impl<T, A: Allocator> IntoIterator for Vec<T, A> {
    type Item = T;
    type IntoIter = IntoIter<T, A>;

    fn into_iter(self) -> IntoIter<T, A> {
        let vec = ManuallyDrop::new(self);
        // SAFETY: `vec` is never used or dropped again, so its allocator is
        // moved out exactly once.
        let alloc = unsafe { ptr::read(&raw const vec.alloc) };
        // INVARIANT: the iterator takes over the vector's buffer and its `len`
        // elements.
        IntoIter {
            buf: vec.ptr,
            cap: vec.cap,
            alloc,
            head: 0,
            tail: vec.len,
            _owns: PhantomData,
        }
    }
}

impl<T, A: Allocator> Iterator for IntoIter<T, A> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.head == self.tail {
            return None;
        }
        // SAFETY: `head < tail <= cap`, in bounds.
        let slot = unsafe { self.buf.add(self.head) };
        // INVARIANT: the element is moved out below and no longer counted.
        self.head = self.head.wrapping_add(1);
        // SAFETY: the slot holds an initialised element, read once.
        Some(unsafe { slot.read() })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.tail.wrapping_sub(self.head);
        (len, Some(len))
    }
}

impl<T, A: Allocator> DoubleEndedIterator for IntoIter<T, A> {
    #[inline]
    fn next_back(&mut self) -> Option<T> {
        if self.head == self.tail {
            return None;
        }
        // INVARIANT: the last element is moved out below and no longer
        // counted.
        self.tail = self.tail.wrapping_sub(1);
        // SAFETY: the old `tail - 1` is in bounds.
        let slot = unsafe { self.buf.add(self.tail) };
        // SAFETY: the slot holds an initialised element, read once.
        Some(unsafe { slot.read() })
    }
}

impl<T, A: Allocator> ExactSizeIterator for IntoIter<T, A> {}

impl<T, A: Allocator> FusedIterator for IntoIter<T, A> {}

impl<T: fmt::Debug, A: Allocator> fmt::Debug for IntoIter<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IntoIter").field(&self.as_slice()).finish()
    }
}

/// Frees the buffer, even if dropping a remaining element panics.
struct FreeBuffer<'r, T, A: Allocator>(&'r mut IntoIter<T, A>);

impl<T, A: Allocator> Drop for FreeBuffer<'_, T, A> {
    fn drop(&mut self) {
        let iter = &mut *self.0;
        if size_of::<T>() == 0 || iter.cap == 0 {
            return;
        }
        // Cannot wrap: `Layout::array::<T>(cap)` was valid.
        let size = size_of::<T>().wrapping_mul(iter.cap);
        // SAFETY: that layout was valid (see the type invariants).
        let layout = unsafe { Layout::from_size_align_unchecked(size, align_of::<T>()) };
        // SAFETY: by the type invariants, `buf` is a block of `alloc` with
        // this layout; its elements are gone and the iterator is being
        // dropped.
        unsafe { iter.alloc.deallocate(iter.buf.cast(), layout) };
    }
}

impl<T, A: Allocator> Drop for IntoIter<T, A> {
    fn drop(&mut self) {
        // SAFETY: `head <= cap`, inside (or one past) the buffer.
        let first = unsafe { self.buf.add(self.head) };
        let rest = ptr::slice_from_raw_parts_mut(first.as_ptr(), self.tail.wrapping_sub(self.head));
        // INVARIANT: the remaining elements are dropped below.
        self.head = self.tail;
        let _free_buffer = FreeBuffer(self);
        // SAFETY: `rest` holds the initialised elements still owned by the
        // iterator, dropped once.
        unsafe { ptr::drop_in_place(rest) };
    }
}
