// SPDX-License-Identifier: BSD-2-Clause
//! The errors of [`String`](crate::String) that are not allocation failures.

use crate::{Allocator, Vec};
use core::fmt;
use core::str::Utf8Error;

/// The error of [`String::from_utf8`](crate::String::from_utf8): the bytes
/// were not UTF-8. Holds the vector, so nothing is lost.
pub struct FromUtf8Error<A: Allocator> {
    bytes: Vec<u8, A>,
    error: Utf8Error,
}

impl<A: Allocator> FromUtf8Error<A> {
    pub(super) fn new(bytes: Vec<u8, A>, error: Utf8Error) -> Self {
        FromUtf8Error { bytes, error }
    }

    /// The bytes that were not UTF-8.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The vector back.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8, A> {
        self.bytes
    }

    /// Where and how the bytes were not UTF-8.
    #[must_use]
    pub fn utf8_error(&self) -> Utf8Error {
        self.error
    }
}

impl<A: Allocator> fmt::Debug for FromUtf8Error<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromUtf8Error")
            .field("bytes", &self.bytes)
            .field("error", &self.error)
            .finish()
    }
}

impl<A: Allocator> fmt::Display for FromUtf8Error<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<A: Allocator> core::error::Error for FromUtf8Error<A> {}

/// The error of [`String::truncate`](crate::String::truncate): the new
/// length falls inside a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharBoundaryError {
    index: usize,
}

impl CharBoundaryError {
    pub(super) fn new(index: usize) -> Self {
        CharBoundaryError { index }
    }

    /// The byte offset that is not a character boundary.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }
}

impl fmt::Display for CharBoundaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte offset {} is not a character boundary", self.index)
    }
}

impl core::error::Error for CharBoundaryError {}
