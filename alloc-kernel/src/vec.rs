// SPDX-License-Identifier: BSD-2-Clause
//! [`Vec`]: a growable array whose every allocation is fallible, and its
//! iterators.
//!
//! Modelled on Rust-for-Linux's `KVec` (`rust/kernel/alloc/kvec.rs`): growth
//! goes through [`Allocator::reallocate`] with the caller's flags, and
//! `push_within_capacity` gives the value back instead of allocating.

use crate::{AllocError, Allocator, Box, Flags};
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::{self, NonNull};
use core::slice;

mod capacity;
mod drain;
mod insert_error;
mod into_iter;
mod push;
mod remove;
mod retain;
mod trait_impls;

pub use drain::Drain;
pub use insert_error::InsertError;
pub use into_iter::IntoIter;

/// A contiguous growable array of `T` in memory from `A`.
///
/// Every method that may allocate takes [`Flags`] last and returns a
/// `Result`; on failure the vector is unchanged. Growth doubles the capacity
/// (at least 8 elements of one byte, 4 of up to 1 KiB, else 1), through
/// [`Allocator::reallocate`]. A vector of zero-sized values never allocates
/// and has capacity `usize::MAX`.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
///
/// let mut v: Vec<u32, HostAllocator> = Vec::new();
/// v.try_push(1, M_NOWAIT)?;
/// v.try_extend_from_slice(&[2, 3], M_NOWAIT)?;
/// assert_eq!(v.pop(), Some(3));
/// assert_eq!(v, [1, 2]);
/// assert_eq!(v.iter().sum::<u32>(), 3);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
///
/// # Invariants
///
/// - `len <= cap`, and the first `len` elements at `ptr` are initialised
///   and owned by the vector.
/// - If `T` is zero-sized, `cap == usize::MAX` and `ptr` is dangling.
/// - Otherwise, if `cap == 0`, `ptr` is dangling (and aligned); if not,
///   `ptr` is a block allocated by `alloc` with `Layout::array::<T>(cap)`.
pub struct Vec<T, A: Allocator> {
    ptr: NonNull<T>,
    cap: usize,
    len: usize,
    alloc: A,
    _owns: PhantomData<T>,
}

// SAFETY: a `Vec` owns its elements and allocator like plain fields would, so
// it can move to another thread when they can.
unsafe impl<T: Send, A: Allocator + Send> Send for Vec<T, A> {}

// SAFETY: `&Vec` gives only `&T` and `&A`, so sharing the vector is sharing
// them.
unsafe impl<T: Sync, A: Allocator + Sync> Sync for Vec<T, A> {}

impl<T, A: Allocator> Vec<T, A> {
    const IS_ZST: bool = size_of::<T>() == 0;

    /// The capacity of the first allocation, as in `std`.
    const MIN_NON_ZERO_CAP: usize = if size_of::<T>() == 1 {
        8
    } else if size_of::<T>() <= 1024 {
        4
    } else {
        1
    };

    /// An empty vector with `A::default()`; does not allocate.
    #[must_use]
    pub fn new() -> Self
    where
        A: Default,
    {
        Self::new_in(A::default())
    }

    /// An empty vector with the allocator `alloc`; does not allocate.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec};
    ///
    /// let v = Vec::<u8, _>::new_in(HostAllocator);
    /// assert_eq!(v.capacity(), 0);
    /// ```
    #[must_use]
    pub const fn new_in(alloc: A) -> Self {
        // INVARIANT: nothing is allocated and `len == 0`; a zero-sized `T`
        // gets the capacity `usize::MAX`.
        Vec {
            ptr: NonNull::dangling(),
            cap: if Self::IS_ZST { usize::MAX } else { 0 },
            len: 0,
            alloc,
            _owns: PhantomData,
        }
    }

    /// An empty vector with room for at least `capacity` elements, from
    /// `A::default()`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    pub fn try_with_capacity(capacity: usize, flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_with_capacity_in(capacity, A::default(), flags)
    }

    /// An empty vector with room for at least `capacity` elements, from
    /// `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_WAITOK};
    ///
    /// let v = Vec::<u64, _>::try_with_capacity_in(10, HostAllocator, M_WAITOK)?;
    /// assert!(v.capacity() >= 10);
    /// assert!(Vec::<u64, _>::try_with_capacity_in(usize::MAX, HostAllocator, M_WAITOK).is_err());
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    #[inline]
    pub fn try_with_capacity_in(
        capacity: usize,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError> {
        let mut vec = Self::new_in(alloc);
        if !Self::IS_ZST && capacity != 0 {
            vec.set_capacity(capacity, flags.into())?;
        }
        Ok(vec)
    }

    /// A vector of `n` clones of `value` (the last one is `value` itself),
    /// from `A::default()`. What `try_vec![value; n; flags]` expands to.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; nothing leaks.
    pub fn try_from_elem(value: T, n: usize, flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        T: Clone,
        A: Default,
    {
        Self::try_from_elem_in(value, n, A::default(), flags)
    }

    /// A vector of `n` clones of `value` (the last one is `value` itself),
    /// from `alloc`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; nothing leaks.
    pub fn try_from_elem_in(
        value: T,
        n: usize,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError>
    where
        T: Clone,
    {
        let flags = flags.into();
        let mut vec = Self::try_with_capacity_in(n, alloc, flags)?;
        vec.try_resize(n, value, flags)?;
        Ok(vec)
    }

    /// A vector holding the elements of `array`, from `A::default()`. What
    /// `try_vec![a, b, c; flags]` expands to.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; the elements are dropped.
    pub fn try_from_array<const N: usize>(
        array: [T; N],
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_from_array_in(array, A::default(), flags)
    }

    /// A vector holding the elements of `array`, from `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
    ///
    /// let v = Vec::try_from_array_in([1, 2, 3], HostAllocator, M_NOWAIT)?;
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; the elements are dropped.
    pub fn try_from_array_in<const N: usize>(
        array: [T; N],
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError> {
        let mut vec = Self::try_with_capacity_in(N, alloc, flags)?;
        let array = ManuallyDrop::new(array);
        // SAFETY: the vector has room for `N` elements and is a different
        // allocation from the array; the array's elements are moved, and
        // `ManuallyDrop` keeps it from dropping them again.
        unsafe { ptr::copy_nonoverlapping(array.as_ptr(), vec.as_mut_ptr(), N) };
        // SAFETY: `N <= capacity` and the first `N` elements were just
        // initialised.
        unsafe { vec.set_len(N) };
        Ok(vec)
    }

    /// Makes a vector from its parts.
    ///
    /// # Safety
    ///
    /// The parts must meet the type invariants: `len <= cap`, `len` valid
    /// owned elements at `ptr`, and `ptr` a block of `alloc` with
    /// `Layout::array::<T>(cap)` unless `T` is zero-sized or `cap` is zero
    /// (then `ptr` is dangling). For a zero-sized `T`, `cap` is ignored.
    pub(crate) unsafe fn from_raw_parts_in(
        ptr: NonNull<T>,
        len: usize,
        cap: usize,
        alloc: A,
    ) -> Self {
        let cap = if Self::IS_ZST { usize::MAX } else { cap };
        // INVARIANT: the caller's contract.
        Vec {
            ptr,
            cap,
            len,
            alloc,
            _owns: PhantomData,
        }
    }

    /// The number of elements.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector has no elements.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of elements the vector can hold without allocating
    /// (`usize::MAX` for zero-sized elements).
    #[must_use]
    #[inline]
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The allocator of the vector.
    #[must_use]
    pub fn allocator(&self) -> &A {
        &self.alloc
    }

    /// The elements as a slice.
    #[must_use]
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: by the type invariants, the first `len` elements at the
        // aligned, non-null `ptr` are initialised; the vector is borrowed.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The elements as a mutable slice.
    #[must_use]
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: by the type invariants, the first `len` elements at the
        // aligned, non-null `ptr` are initialised; the vector is borrowed
        // mutably.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// A pointer to the buffer, valid for reads of `len` elements while the
    /// vector is not changed. Dangling (but aligned) if nothing is allocated.
    #[must_use]
    #[inline]
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    /// A pointer to the buffer, valid for reads and writes of `capacity`
    /// elements (the first `len` initialised) while the vector is not moved
    /// or changed. Dangling (but aligned) if nothing is allocated.
    #[must_use]
    #[inline]
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// The unused part of the buffer, to fill in before
    /// [`set_len`](Self::set_len).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v = Vec::<u8, _>::try_with_capacity_in(4, HostAllocator, M_NOWAIT)?;
    /// for (slot, byte) in v.spare_capacity_mut().iter_mut().zip(b"abcd") {
    ///     slot.write(*byte);
    /// }
    /// // SAFETY: the first 4 elements were just written.
    /// unsafe { v.set_len(4) };
    /// assert_eq!(v, *b"abcd");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    #[must_use]
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: `len <= cap`, so the end of the elements is inside (or one
        // past) the buffer.
        let spare = unsafe { self.ptr.add(self.len) };
        // SAFETY: the `cap - len` slots after the elements are inside the
        // buffer (or zero-sized), and any content is a valid `MaybeUninit`;
        // the vector is borrowed mutably.
        unsafe {
            slice::from_raw_parts_mut(spare.cast::<MaybeUninit<T>>().as_ptr(), self.spare_len())
        }
    }

    /// Sets the length without touching the elements.
    ///
    /// # Safety
    ///
    /// - `new_len` must be at most [`capacity`](Self::capacity), and
    /// - the elements up to `new_len` must be initialised (when growing);
    ///   elements past `new_len` are no longer dropped by the vector (when
    ///   shrinking, they leak unless the caller drops them).
    #[inline]
    pub unsafe fn set_len(&mut self, new_len: usize) {
        // INVARIANT: the caller's contract.
        self.len = new_len;
    }

    /// Moves the elements into a boxed slice, shrinking the buffer to fit.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot shrink; the vector is dropped
    /// with its elements (call [`shrink_to_fit`](Self::shrink_to_fit) first
    /// to keep them on failure).
    pub fn try_into_boxed_slice(
        mut self,
        flags: impl Into<Flags>,
    ) -> Result<Box<[T], A>, AllocError> {
        self.shrink_to_fit(flags)?;
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the allocator is
        // moved out of it exactly once.
        let alloc = unsafe { ptr::read(&raw const this.alloc) };
        let raw = ptr::slice_from_raw_parts_mut(this.ptr.as_ptr(), this.len);
        // SAFETY: `len` elements in a block of `Layout::array::<T>(len)`
        // (`cap == len` after shrinking) from `alloc`, which is the layout of
        // `[T]` of that length, or dangling when that is empty (`cap == 0`,
        // or a zero-sized `T`); the box takes over the ownership.
        Ok(unsafe { Box::from_raw_in(raw, alloc) })
    }
}

impl<T, A: Allocator> Drop for Vec<T, A> {
    fn drop(&mut self) {
        let elements = ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
        // INVARIANT: the elements are dropped below (leaked if a drop panics).
        self.len = 0;
        // SAFETY: the first `len` elements are initialised and owned by the
        // vector, which is going away.
        unsafe { ptr::drop_in_place(elements) };
        self.release_buffer();
    }
}

#[cfg(test)]
mod tests;
