// SPDX-License-Identifier: BSD-2-Clause
//! The buffer of a [`Vec`]: growth, reservation and shrinking.

use crate::{AllocError, Allocator, Flags, Vec};
use core::alloc::Layout;
use core::ptr::NonNull;

impl<T, A: Allocator> Vec<T, A> {
    /// The number of free slots, `cap - len`.
    #[inline]
    pub(super) fn spare_len(&self) -> usize {
        // Cannot wrap: `len <= cap` by the type invariants.
        self.cap.wrapping_sub(self.len)
    }

    /// The layout of the buffer, meaningful when one is allocated.
    #[inline]
    pub(super) fn buffer_layout(&self) -> Layout {
        // Cannot wrap: `Layout::array::<T>(cap)` succeeded when the buffer
        // was allocated (or `T` is zero-sized), and its size is this product.
        let size = size_of::<T>().wrapping_mul(self.cap);
        // SAFETY: that layout was valid: the alignment of `T` is a power of
        // two and `size` rounded up to it does not overflow `isize`.
        unsafe { Layout::from_size_align_unchecked(size, align_of::<T>()) }
    }

    /// Moves the elements to a buffer of exactly `new_cap` slots.
    ///
    /// `new_cap` must be at least `len`, and `T` not zero-sized. On failure
    /// the vector is unchanged.
    pub(super) fn set_capacity(&mut self, new_cap: usize, flags: Flags) -> Result<(), AllocError> {
        if Self::IS_ZST || new_cap < self.len {
            return Err(AllocError);
        }
        if new_cap == 0 {
            self.release_buffer();
            return Ok(());
        }
        let new_layout = Layout::array::<T>(new_cap).map_err(|_| AllocError)?;
        let block = if self.cap == 0 {
            self.alloc.allocate(new_layout, flags)?
        } else {
            // SAFETY: by the type invariants, `ptr` is a block of `alloc`
            // with `buffer_layout()` (`cap != 0`, `T` not zero-sized).
            unsafe {
                self.alloc
                    .reallocate(self.ptr.cast(), self.buffer_layout(), new_layout, flags)?
            }
        };
        // INVARIANT: `block` is a block of `alloc` with
        // `Layout::array::<T>(new_cap)`, holding the first `len` elements
        // (moved by `reallocate`, or none at all when `cap` was 0), and
        // `len <= new_cap`.
        self.ptr = block.cast();
        self.cap = new_cap;
        Ok(())
    }

    /// Frees the buffer, which must hold no elements (`len == 0`).
    pub(super) fn release_buffer(&mut self) {
        if !Self::IS_ZST && self.cap != 0 {
            // SAFETY: by the type invariants, `ptr` is a block of `alloc` with
            // `buffer_layout()`; it holds no elements and is forgotten below.
            unsafe { self.alloc.deallocate(self.ptr.cast(), self.buffer_layout()) };
            // INVARIANT: nothing is allocated; `len` is 0.
            self.ptr = NonNull::dangling();
            self.cap = 0;
        }
    }

    /// Grows the buffer for `additional` more elements, at least doubling it.
    pub(super) fn grow_amortized(
        &mut self,
        additional: usize,
        flags: Flags,
    ) -> Result<(), AllocError> {
        let required = self.len.checked_add(additional).ok_or(AllocError)?;
        let new_cap = required
            .max(self.cap.saturating_mul(2))
            .max(Self::MIN_NON_ZERO_CAP);
        self.set_capacity(new_cap, flags)
    }

    /// The slow path of `try_push`, out of line to keep the fast path small.
    #[cold]
    #[inline(never)]
    pub(super) fn grow_one(&mut self, flags: Flags) -> Result<(), AllocError> {
        self.grow_amortized(1, flags)
    }

    /// Makes room for at least `additional` more elements, growing the
    /// buffer by at least doubling it if it is too small.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows; the
    /// vector is unchanged.
    pub fn try_reserve(
        &mut self,
        additional: usize,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        if additional <= self.spare_len() {
            return Ok(());
        }
        self.grow_amortized(additional, flags.into())
    }

    /// Makes room for at least `additional` more elements, growing the
    /// buffer to exactly `len + additional` if it is too small.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails or the size overflows; the
    /// vector is unchanged.
    pub fn try_reserve_exact(
        &mut self,
        additional: usize,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        if additional <= self.spare_len() {
            return Ok(());
        }
        let new_cap = self.len.checked_add(additional).ok_or(AllocError)?;
        self.set_capacity(new_cap, flags.into())
    }

    /// Shrinks the buffer to the length (freeing it when empty).
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocator cannot move the elements to a smaller
    /// block; the vector keeps its old buffer.
    pub fn shrink_to_fit(&mut self, flags: impl Into<Flags>) -> Result<(), AllocError> {
        self.shrink_to(0, flags)
    }

    /// Shrinks the buffer to the larger of the length and `min_capacity`, if
    /// it is larger than that.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocator cannot move the elements to a smaller
    /// block; the vector keeps its old buffer.
    pub fn shrink_to(
        &mut self,
        min_capacity: usize,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        let target = self.len.max(min_capacity);
        if Self::IS_ZST || self.cap <= target {
            return Ok(());
        }
        self.set_capacity(target, flags.into())
    }
}
