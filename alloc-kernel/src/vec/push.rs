// SPDX-License-Identifier: BSD-2-Clause
//! Adding elements to a [`Vec`]: push, extend, insert, resize.

use crate::vec::InsertError;
use crate::{AllocError, Allocator, Flags, Vec};
use core::ptr;

impl<T, A: Allocator> Vec<T, A> {
    /// Appends `value`, growing the buffer if it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v = Vec::new_in(HostAllocator);
    /// v.try_push("a", M_NOWAIT)?;
    /// assert_eq!(v, ["a"]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer is full and cannot grow; `value` is
    /// dropped and the vector is unchanged. Use
    /// [`push_within_capacity`](Self::push_within_capacity) to keep the
    /// value.
    #[inline]
    pub fn try_push(&mut self, value: T, flags: impl Into<Flags>) -> Result<(), AllocError> {
        if self.len == self.cap {
            self.grow_one(flags.into())?;
        }
        // SAFETY: `len < cap`: it was, or the buffer just grew.
        unsafe { self.push_unchecked(value) };
        Ok(())
    }

    /// Appends `value` if there is room, without allocating.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v = Vec::try_with_capacity_in(1, HostAllocator, M_NOWAIT)?;
    /// assert_eq!(v.push_within_capacity(1u32), Ok(()));
    /// while v.len() < v.capacity() {
    ///     v.push_within_capacity(2).unwrap();
    /// }
    /// assert_eq!(v.push_within_capacity(3), Err(3));
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The value back if the buffer is full.
    #[inline]
    pub fn push_within_capacity(&mut self, value: T) -> Result<(), T> {
        if self.len == self.cap {
            return Err(value);
        }
        // SAFETY: `len < cap`, checked above.
        unsafe { self.push_unchecked(value) };
        Ok(())
    }

    /// Appends `value` in the free slot at `len`.
    ///
    /// # Safety
    ///
    /// `len < cap`.
    #[inline]
    unsafe fn push_unchecked(&mut self, value: T) {
        // SAFETY: `len < cap` (caller's contract), so the slot is inside the
        // buffer (or `T` is zero-sized).
        let slot = unsafe { self.ptr.add(self.len) };
        // SAFETY: the slot is in bounds, aligned, and holds no element.
        unsafe { slot.write(value) };
        // INVARIANT: the slot at the old length is now initialised, and
        // `len + 1 <= cap`, so this cannot wrap.
        self.len = self.len.wrapping_add(1);
    }

    /// Appends clones of the elements of `other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v = Vec::new_in(HostAllocator);
    /// v.try_extend_from_slice(b"hello", M_NOWAIT)?;
    /// assert_eq!(v, *b"hello");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot grow; the vector is unchanged.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; the elements cloned so far stay appended.
    #[inline]
    pub fn try_extend_from_slice(
        &mut self,
        other: &[T],
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError>
    where
        T: Clone,
    {
        self.try_reserve(other.len(), flags)?;
        // SAFETY: there is room for `other.len()` more elements.
        unsafe { self.extend_cloned_unchecked(other.iter()) };
        Ok(())
    }

    /// Appends the items of `iter`, which yields at most the spare capacity.
    ///
    /// The length is updated as elements are written, so a panic in the
    /// iterator (a `clone`) leaves the vector valid.
    ///
    /// # Safety
    ///
    /// `iter` must yield at most `cap - len` items.
    #[inline]
    unsafe fn extend_cloned_unchecked<'a>(&mut self, iter: impl Iterator<Item = &'a T>)
    where
        T: Clone + 'a,
    {
        let base = self.ptr;
        let mut len = SetLenOnDrop::new(&mut self.len);
        for item in iter {
            // SAFETY: fewer than `cap` elements so far (caller's contract),
            // so the slot is inside the buffer.
            let slot = unsafe { base.add(len.local) };
            // SAFETY: the slot is in bounds, aligned and free.
            unsafe { slot.write(item.clone()) };
            // Cannot wrap: bounded by `cap`.
            len.local = len.local.wrapping_add(1);
        }
    }

    /// Appends the items of `iter`, growing as needed.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot grow; the items appended by this
    /// call are dropped again, so the vector holds the elements it held
    /// before. Unlike the other methods, its buffer may have grown (when an
    /// iterator that under-reports its length made it grow more than once),
    /// and the items taken from the iterator are lost.
    pub fn try_extend<I: IntoIterator<Item = T>>(
        &mut self,
        iter: I,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        let flags = flags.into();
        let iter = iter.into_iter();
        let original_len = self.len;
        self.try_reserve(iter.size_hint().0, flags)?;
        for item in iter {
            if let Err(error) = self.try_push(item, flags) {
                self.truncate(original_len);
                return Err(error);
            }
        }
        Ok(())
    }

    /// Inserts `element` at `index`, shifting the later elements up.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{try_vec, vec::InsertError, HostAllocator, Vec, M_NOWAIT};
    ///
    /// let mut v: Vec<char, HostAllocator> = try_vec!['a', 'c'; M_NOWAIT]?;
    /// assert!(v.try_insert(1, 'b', M_NOWAIT).is_ok());
    /// assert_eq!(v, ['a', 'b', 'c']);
    /// assert!(matches!(v.try_insert(9, 'z', M_NOWAIT), Err(InsertError::IndexOutOfBounds('z'))));
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InsertError::IndexOutOfBounds`] if `index > len`, or
    /// [`InsertError::Alloc`] if the buffer cannot grow; both give
    /// `element` back and leave the vector unchanged.
    pub fn try_insert(
        &mut self,
        index: usize,
        element: T,
        flags: impl Into<Flags>,
    ) -> Result<(), InsertError<T>> {
        if index > self.len {
            return Err(InsertError::IndexOutOfBounds(element));
        }
        if self.len == self.cap && self.grow_one(flags.into()).is_err() {
            return Err(InsertError::Alloc(element));
        }
        // SAFETY: `index <= len < cap`, so the slot is inside the buffer.
        let slot = unsafe { self.ptr.add(index) };
        // SAFETY: `index + 1 <= len < cap`, so that is inside the buffer too.
        let next = unsafe { slot.add(1) };
        // SAFETY: moves the `len - index` elements after the slot one up; both
        // ranges end at most at `len + 1 <= cap`.
        unsafe { ptr::copy(slot.as_ptr(), next.as_ptr(), self.len.wrapping_sub(index)) };
        // SAFETY: the slot is in bounds and its old element has moved up.
        unsafe { slot.write(element) };
        // INVARIANT: elements `0..len + 1` are initialised, `len < cap`.
        self.len = self.len.wrapping_add(1);
        Ok(())
    }

    /// Resizes to `new_len`: appends clones of `value` (the last one being
    /// `value` itself), or drops the elements past `new_len`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot grow; the vector is unchanged.
    ///
    /// # Panics
    ///
    /// Only if `T::clone` panics; the elements cloned so far stay appended.
    pub fn try_resize(
        &mut self,
        new_len: usize,
        value: T,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError>
    where
        T: Clone,
    {
        let Some(extra) = new_len.checked_sub(self.len) else {
            self.truncate(new_len);
            return Ok(());
        };
        if extra == 0 {
            return Ok(());
        }
        self.try_reserve(extra, flags)?;
        let clones = core::iter::repeat_n(&value, extra.wrapping_sub(1));
        // SAFETY: there is room for `extra` more elements, and `clones`
        // yields `extra - 1` of them.
        unsafe { self.extend_cloned_unchecked(clones) };
        // SAFETY: the last of the `extra` reserved slots is still free.
        unsafe { self.push_unchecked(value) };
        Ok(())
    }
}

/// Writes a length back when dropped, so that elements written before a
/// panic are kept.
struct SetLenOnDrop<'a> {
    len: &'a mut usize,
    local: usize,
}

impl<'a> SetLenOnDrop<'a> {
    #[inline]
    fn new(len: &'a mut usize) -> Self {
        let local = *len;
        SetLenOnDrop { len, local }
    }
}

impl Drop for SetLenOnDrop<'_> {
    #[inline]
    fn drop(&mut self) {
        // INVARIANT: the owner initialised the slots up to `local`.
        *self.len = self.local;
    }
}
