// SPDX-License-Identifier: BSD-2-Clause
//! The error of every failed allocation.

use core::fmt;

/// An allocation failed: the allocator had no memory, or the request was
/// impossible (a capacity overflow, a size above `isize::MAX`, an alignment
/// the allocator cannot honour).
///
/// A zero-sized type. The kernel layer converts it to `ENOMEM`.
///
/// # Examples
///
/// ```
/// use alloc_kernel::AllocError;
///
/// assert_eq!(AllocError.to_string(), "memory allocation failed");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory allocation failed")
    }
}

impl core::error::Error for AllocError {}
