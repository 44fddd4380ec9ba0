// SPDX-License-Identifier: BSD-2-Clause
//! [`TryClone`]: fallible `clone` for the owning collections.

use crate::{AllocError, Allocator, Box, Flags, String, TryToOwned, Vec};

/// Clones a value whose copy needs an allocation, fallibly.
///
/// Implemented for [`Vec`], [`String`] and [`Box`] when their allocator is
/// `Clone`; the copy uses a clone of the allocator. ([`Arc`](crate::Arc) has
/// an infallible `Clone`.)
///
/// # Examples
///
/// ```
/// use alloc_kernel::{try_vec, HostAllocator, TryClone, Vec, M_NOWAIT};
///
/// let v: Vec<u8, HostAllocator> = try_vec![1, 2; M_NOWAIT]?;
/// let w = v.try_clone(M_NOWAIT)?;
/// assert_eq!(v, w);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
pub trait TryClone: Sized {
    /// A copy of `self`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if an allocation fails.
    fn try_clone(&self, flags: impl Into<Flags>) -> Result<Self, AllocError>;
}

impl<T: Clone, A: Allocator + Clone> TryClone for Vec<T, A> {
    /// Clones the elements into a vector of the same length (the capacity
    /// may differ).
    fn try_clone(&self, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        self.as_slice()
            .try_to_owned_in(self.allocator().clone(), flags)
    }
}

impl<A: Allocator + Clone> TryClone for String<A> {
    fn try_clone(&self, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        self.as_str()
            .try_to_owned_in(self.allocator().clone(), flags)
    }
}

impl<T: Clone, A: Allocator + Clone> TryClone for Box<T, A> {
    fn try_clone(&self, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        Box::try_new_in((**self).clone(), Box::allocator(self).clone(), flags)
    }
}

impl<T: Clone, A: Allocator + Clone> TryClone for Box<[T], A> {
    fn try_clone(&self, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        Box::try_from_slice_in(self, Box::allocator(self).clone(), flags)
    }
}
