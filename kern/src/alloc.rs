// SPDX-License-Identifier: BSD-2-Clause
//! Fallible collections in kernel memory: `alloc-kernel`'s [`Box`], [`Vec`],
//! [`String`] and [`Arc`] over [`KernelAllocator`] (`malloc(9)` with the
//! module's malloc type).
//!
//! C header: `sys/sys/malloc.h`. Manual page: `malloc(9)`.
//!
//! Every allocating method takes its flags last, as [`M_NOWAIT`],
//! `M_NOWAIT | M_ZERO`, or `cx.waitok()` from a context token
//! ([`Sleepable::waitok`](crate::context::Sleepable::waitok)), and returns
//! a `Result` whose error converts into `ENOMEM` with `?`.
//!
//! [`M_NOWAIT`]: crate::malloc::M_NOWAIT
//!
//! # Context
//! See [`malloc`](crate::malloc): `M_NOWAIT` never sleeps, a token's
//! `waitok()` may.
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::alloc::{Arc, Box, String, Vec};
//!
//! fn example(cx: &mut Sleepable) -> Result {
//!     let mut v: Vec<u32> = kern::alloc::try_vec![1, 2, 3; M_NOWAIT]?;
//!     v.try_push(4, cx.waitok())?;
//!     let s: String = kern::alloc::try_format!("{} items", v.len(); M_NOWAIT)?;
//!     let shared: Arc<String> = Arc::try_new(s, M_NOWAIT)?;
//!     let slice: Box<[u32]> = v.try_into_boxed_slice(M_NOWAIT)?;
//!     Ok(())
//! }
//! ```

use crate::malloc::KernelAllocator;

pub use alloc_kernel::{AllocError, TryClone, TryToOwned, try_format, try_vec};

/// A heap value in kernel memory (`alloc_kernel::Box` over
/// [`KernelAllocator`]).
pub type Box<T> = alloc_kernel::Box<T, KernelAllocator>;

/// A growable array in kernel memory (`alloc_kernel::Vec` over
/// [`KernelAllocator`]).
pub type Vec<T> = alloc_kernel::Vec<T, KernelAllocator>;

/// A UTF-8 string in kernel memory (`alloc_kernel::String` over
/// [`KernelAllocator`]).
pub type String = alloc_kernel::String<KernelAllocator>;

/// A reference-counted value in kernel memory (`alloc_kernel::Arc` over
/// [`KernelAllocator`]).
pub type Arc<T> = alloc_kernel::Arc<T, KernelAllocator>;
