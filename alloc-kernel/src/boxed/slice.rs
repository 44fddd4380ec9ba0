// SPDX-License-Identifier: BSD-2-Clause
//! Boxed slices: `Box<[T], A>` and `Box<[MaybeUninit<T>], A>`.

use crate::{AllocError, Allocator, Box, Flags, Vec};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};

impl<T, A: Allocator> Box<[T], A> {
    /// Allocates room for `len` values from `A::default()`, uninitialised.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    pub fn try_new_uninit_slice(
        len: usize,
        flags: impl Into<Flags>,
    ) -> Result<Box<[MaybeUninit<T>], A>, AllocError>
    where
        A: Default,
    {
        Self::try_new_uninit_slice_in(len, A::default(), flags)
    }

    /// Allocates room for `len` values from `alloc`, uninitialised.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let mut b = Box::<[u16], _>::try_new_uninit_slice_in(3, HostAllocator, M_NOWAIT)?;
    /// for (i, slot) in b.iter_mut().enumerate() {
    ///     slot.write(i as u16);
    /// }
    /// // SAFETY: every element was written.
    /// let b = unsafe { b.assume_init() };
    /// assert_eq!(*b, [0, 1, 2]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    pub fn try_new_uninit_slice_in(
        len: usize,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Box<[MaybeUninit<T>], A>, AllocError> {
        let layout = Layout::array::<T>(len).map_err(|_| AllocError)?;
        let data = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            alloc.allocate(layout, flags.into())?.cast()
        };
        // INVARIANT: `Layout::for_value` of `len` elements is `layout`; the
        // pointer is dangling if that is empty, else a block of `layout` from
        // `alloc`. Any bytes are valid `MaybeUninit<T>`s.
        Ok(Box {
            ptr: NonNull::slice_from_raw_parts(data, len),
            alloc,
            _owns: PhantomData,
        })
    }

    /// Copies `values` (by `Clone`) into a new boxed slice from `A::default()`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; nothing leaks.
    pub fn try_from_slice(values: &[T], flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        T: Clone,
        A: Default,
    {
        Self::try_from_slice_in(values, A::default(), flags)
    }

    /// Copies `values` (by `Clone`) into a new boxed slice from `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b = Box::try_from_slice_in(&[1, 2, 3], HostAllocator, M_NOWAIT)?;
    /// assert_eq!(&*b, &[1, 2, 3]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; nothing leaks.
    pub fn try_from_slice_in(
        values: &[T],
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError>
    where
        T: Clone,
    {
        let flags = flags.into();
        let mut vec = Vec::try_with_capacity_in(values.len(), alloc, flags)?;
        vec.try_extend_from_slice(values, flags)?;
        vec.try_into_boxed_slice(flags)
    }

    /// Converts into a vector, without allocating (its capacity is the
    /// length).
    pub fn into_vec(b: Self) -> Vec<T, A> {
        let (raw, alloc) = Box::into_raw_with_allocator(b);
        let len = raw.len();
        // SAFETY: `raw` is non-null (it came out of a box).
        let data = unsafe { NonNull::new_unchecked(raw.cast::<T>()) };
        // SAFETY: by the box invariants, `data` holds `len` valid values in a
        // block of `Layout::array::<T>(len)` from `alloc`, or is dangling if
        // that layout is empty; the vector takes over the ownership.
        unsafe { Vec::from_raw_parts_in(data, len, len, alloc) }
    }
}

impl<T, A: Allocator> Box<[MaybeUninit<T>], A> {
    /// Converts to `Box<[T], A>`, the values being initialised.
    ///
    /// # Safety
    ///
    /// Every element must hold a valid `T`.
    pub unsafe fn assume_init(self) -> Box<[T], A> {
        let (raw, alloc) = Box::into_raw_with_allocator(self);
        let raw = ptr::slice_from_raw_parts_mut(raw.cast::<T>(), raw.len());
        // SAFETY: `raw` came from a box of `[MaybeUninit<T>]`, which has the
        // layout of `[T]` of the same length, and every element is a valid
        // `T` (caller's contract); ownership passes to the new box.
        unsafe { Box::from_raw_in(raw, alloc) }
    }
}
