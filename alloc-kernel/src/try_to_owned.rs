// SPDX-License-Identifier: BSD-2-Clause
//! [`TryToOwned`]: fallible `to_owned` for borrowed data (`str`, `[T]`).

use crate::{AllocError, Allocator, Flags, String, Vec};

/// Makes an owned copy of borrowed data, fallibly: `str` to [`String`],
/// `[T]` to [`Vec`].
///
/// # Examples
///
/// ```
/// use alloc_kernel::{HostAllocator, String, TryToOwned, Vec, M_NOWAIT};
///
/// let s: String<HostAllocator> = "echo".try_to_owned(M_NOWAIT)?;
/// let v: Vec<u8, HostAllocator> = b"echo"[..].try_to_owned(M_NOWAIT)?;
/// let w = [1, 2].try_to_owned_in(HostAllocator, M_NOWAIT)?;
/// assert_eq!(s.as_bytes(), v.as_slice());
/// assert_eq!(w, [1, 2]);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
pub trait TryToOwned {
    /// The owned type, for an allocator `A`.
    type Owned<A: Allocator>;

    /// Copies `self` into memory from `alloc`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    fn try_to_owned_in<A: Allocator>(
        &self,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self::Owned<A>, AllocError>;

    /// Copies `self` into memory from `A::default()`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    fn try_to_owned<A: Allocator + Default>(
        &self,
        flags: impl Into<Flags>,
    ) -> Result<Self::Owned<A>, AllocError> {
        self.try_to_owned_in(A::default(), flags)
    }
}

impl TryToOwned for str {
    type Owned<A: Allocator> = String<A>;

    fn try_to_owned_in<A: Allocator>(
        &self,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<String<A>, AllocError> {
        let flags = flags.into();
        let mut s = String::try_with_capacity_in(self.len(), alloc, flags)?;
        s.try_push_str(self, flags)?;
        Ok(s)
    }
}

impl<T: Clone> TryToOwned for [T] {
    type Owned<A: Allocator> = Vec<T, A>;

    /// Clones the elements into a new vector. If a `clone` panics, the
    /// clones made so far are dropped once and the buffer is freed.
    fn try_to_owned_in<A: Allocator>(
        &self,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Vec<T, A>, AllocError> {
        let flags = flags.into();
        let mut v = Vec::try_with_capacity_in(self.len(), alloc, flags)?;
        v.try_extend_from_slice(self, flags)?;
        Ok(v)
    }
}

impl<T: Clone, const N: usize> TryToOwned for [T; N] {
    type Owned<A: Allocator> = Vec<T, A>;

    fn try_to_owned_in<A: Allocator>(
        &self,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Vec<T, A>, AllocError> {
        self.as_slice().try_to_owned_in(alloc, flags)
    }
}
