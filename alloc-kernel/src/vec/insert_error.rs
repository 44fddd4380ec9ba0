// SPDX-License-Identifier: BSD-2-Clause
//! [`InsertError`]: why [`Vec::try_insert`](crate::Vec::try_insert) gave
//! the element back.

use crate::AllocError;
use core::fmt;

/// The error of [`Vec::try_insert`](crate::Vec::try_insert), carrying the
/// element that was not inserted.
#[derive(Clone, PartialEq, Eq)]
pub enum InsertError<T> {
    /// The index was past the length.
    IndexOutOfBounds(T),
    /// The buffer was full and could not grow.
    Alloc(T),
}

impl<T> InsertError<T> {
    /// The element that was not inserted.
    pub fn into_inner(self) -> T {
        match self {
            InsertError::IndexOutOfBounds(element) | InsertError::Alloc(element) => element,
        }
    }

    /// The allocation error, if that was the cause.
    #[must_use]
    pub fn alloc_error(&self) -> Option<AllocError> {
        match self {
            InsertError::IndexOutOfBounds(_) => None,
            InsertError::Alloc(_) => Some(AllocError),
        }
    }
}

impl<T> fmt::Debug for InsertError<T> {
    /// Names the cause; the element is not printed, so that `T` needs no
    /// `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::IndexOutOfBounds(_) => f.write_str("IndexOutOfBounds(..)"),
            InsertError::Alloc(_) => f.write_str("Alloc(..)"),
        }
    }
}

impl<T> fmt::Display for InsertError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InsertError::IndexOutOfBounds(_) => {
                f.write_str("insertion index is past the end of the vector")
            }
            InsertError::Alloc(_) => fmt::Display::fmt(&AllocError, f),
        }
    }
}

impl<T> core::error::Error for InsertError<T> {}
