// SPDX-License-Identifier: BSD-2-Clause
//! [`String`]: a growable UTF-8 string whose every allocation is fallible.

use crate::{AllocError, Allocator, Flags, Vec};
use core::str;

mod errors;
mod format;
mod trait_impls;

pub use errors::{CharBoundaryError, FromUtf8Error};

/// A growable UTF-8 string in memory from `A`, built on [`Vec<u8, A>`].
///
/// Every method that may allocate takes [`Flags`] last and returns a
/// `Result`; on failure the string is unchanged. `core::fmt::Write` is
/// implemented with `M_NOWAIT` allocations; [`try_format!`](crate::try_format)
/// and [`String::try_write_fmt`] take the flags.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{HostAllocator, String, M_NOWAIT};
///
/// let mut s: String<HostAllocator> = String::new();
/// s.try_push_str("kld", M_NOWAIT)?;
/// s.try_push('!', M_NOWAIT)?;
/// assert_eq!(s, "kld!");
/// assert_eq!(s.len(), 4);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
///
/// # Invariants
///
/// `vec` holds valid UTF-8.
pub struct String<A: Allocator> {
    vec: Vec<u8, A>,
}

impl<A: Allocator> String<A> {
    /// An empty string with `A::default()`; does not allocate.
    #[must_use]
    pub fn new() -> Self
    where
        A: Default,
    {
        Self::new_in(A::default())
    }

    /// An empty string with the allocator `alloc`; does not allocate.
    #[must_use]
    pub const fn new_in(alloc: A) -> Self {
        // INVARIANT: the empty string is valid UTF-8.
        String {
            vec: Vec::new_in(alloc),
        }
    }

    /// An empty string with room for at least `capacity` bytes, from
    /// `A::default()`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_with_capacity(capacity: usize, flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_with_capacity_in(capacity, A::default(), flags)
    }

    /// An empty string with room for at least `capacity` bytes, from
    /// `alloc`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_with_capacity_in(
        capacity: usize,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError> {
        // INVARIANT: the empty string is valid UTF-8.
        Ok(String {
            vec: Vec::try_with_capacity_in(capacity, alloc, flags)?,
        })
    }

    /// Takes over `bytes` if they are UTF-8, without copying.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{try_vec, HostAllocator, String, Vec, M_NOWAIT};
    ///
    /// let bytes: Vec<u8, HostAllocator> = try_vec![b'o', b'k'; M_NOWAIT]?;
    /// assert_eq!(String::from_utf8(bytes).unwrap(), "ok");
    ///
    /// let bad: Vec<u8, HostAllocator> = try_vec![0xff; M_NOWAIT]?;
    /// let error = String::from_utf8(bad).unwrap_err();
    /// assert_eq!(error.into_bytes(), [0xff]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`FromUtf8Error`], holding the vector, if the bytes are not UTF-8.
    pub fn from_utf8(bytes: Vec<u8, A>) -> Result<Self, FromUtf8Error<A>> {
        match str::from_utf8(&bytes) {
            // INVARIANT: just checked.
            Ok(_) => Ok(String { vec: bytes }),
            Err(error) => Err(FromUtf8Error::new(bytes, error)),
        }
    }

    /// Takes over `bytes` without checking them.
    ///
    /// # Safety
    ///
    /// `bytes` must be valid UTF-8.
    #[must_use]
    pub unsafe fn from_utf8_unchecked(bytes: Vec<u8, A>) -> Self {
        // INVARIANT: the caller's contract.
        String { vec: bytes }
    }

    /// The length in bytes.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.vec.len()
    }

    /// Whether the string is empty.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.vec.is_empty()
    }

    /// The number of bytes the string can hold without allocating.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.vec.capacity()
    }

    /// The allocator of the string.
    #[must_use]
    pub fn allocator(&self) -> &A {
        self.vec.allocator()
    }

    /// The string as a `&str`.
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: by the type invariants, the bytes are UTF-8.
        unsafe { str::from_utf8_unchecked(self.vec.as_slice()) }
    }

    /// The string as a `&mut str`.
    #[must_use]
    #[inline]
    pub fn as_mut_str(&mut self) -> &mut str {
        // SAFETY: by the type invariants, the bytes are UTF-8, and `&mut str`
        // can only change them into UTF-8.
        unsafe { str::from_utf8_unchecked_mut(self.vec.as_mut_slice()) }
    }

    /// The bytes of the string.
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.vec.as_slice()
    }

    /// The string's bytes as a vector, without copying.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8, A> {
        self.vec
    }

    /// Makes room for at least `additional` more bytes.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; the string is unchanged.
    pub fn try_reserve(
        &mut self,
        additional: usize,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        self.vec.try_reserve(additional, flags)
    }

    /// Makes room for exactly `additional` more bytes, if there is not
    /// enough.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; the string is unchanged.
    pub fn try_reserve_exact(
        &mut self,
        additional: usize,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        self.vec.try_reserve_exact(additional, flags)
    }

    /// Shrinks the buffer to the length.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocator cannot move the string to a smaller
    /// block; the string keeps its old buffer.
    pub fn shrink_to_fit(&mut self, flags: impl Into<Flags>) -> Result<(), AllocError> {
        self.vec.shrink_to_fit(flags)
    }

    /// Appends `s`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot grow; the string is unchanged.
    #[inline]
    pub fn try_push_str(&mut self, s: &str, flags: impl Into<Flags>) -> Result<(), AllocError> {
        // INVARIANT: UTF-8 followed by UTF-8 is UTF-8, and on failure nothing
        // is appended.
        self.vec.try_extend_from_slice(s.as_bytes(), flags)
    }

    /// Appends `c`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the buffer cannot grow; the string is unchanged.
    pub fn try_push(&mut self, c: char, flags: impl Into<Flags>) -> Result<(), AllocError> {
        self.try_push_str(c.encode_utf8(&mut [0; 4]), flags)
    }

    /// Removes and returns the last character.
    pub fn pop(&mut self) -> Option<char> {
        let c = self.as_str().chars().next_back()?;
        let new_len = self.len().saturating_sub(c.len_utf8());
        // INVARIANT: `new_len` is the start of the last character, a
        // character boundary.
        self.vec.truncate(new_len);
        Some(c)
    }

    /// Shortens the string to `new_len` bytes; does nothing if `new_len` is
    /// not less than the length.
    ///
    /// Unlike `std`'s, which panics, this returns an error (and leaves the
    /// string unchanged) if `new_len` falls inside a character.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, String, TryToOwned, M_NOWAIT};
    ///
    /// let mut s: String<HostAllocator> = "né".try_to_owned(M_NOWAIT)?;
    /// assert!(s.truncate(2).is_err());
    /// assert_eq!(s, "né");
    /// assert!(s.truncate(1).is_ok());
    /// assert_eq!(s, "n");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CharBoundaryError`] if `new_len` is not on a character boundary.
    pub fn truncate(&mut self, new_len: usize) -> Result<(), CharBoundaryError> {
        if new_len >= self.len() {
            return Ok(());
        }
        if !self.as_str().is_char_boundary(new_len) {
            return Err(CharBoundaryError::new(new_len));
        }
        // INVARIANT: cut at a character boundary.
        self.vec.truncate(new_len);
        Ok(())
    }

    /// Empties the string, keeping the buffer.
    pub fn clear(&mut self) {
        // INVARIANT: the empty string is valid UTF-8.
        self.vec.clear();
    }
}

#[cfg(test)]
mod tests;
