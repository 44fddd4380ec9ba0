// SPDX-License-Identifier: BSD-2-Clause
//! Fallible collections in kernel memory: `alloc-kernel`'s [`Box`], [`Vec`],
//! [`String`] and [`Arc`] over [`KernelAllocator`] (`malloc(9)` with the
//! module's malloc type).
//!
//! C header: `sys/sys/malloc.h`. Manual page: `malloc(9)`.
//!
//! Every allocating method takes its flags last. Two kinds:
//! - `try_*` methods (`Box::try_new`, `Vec::try_push`, ...) take
//!   [`M_NOWAIT`] or `M_NOWAIT | M_ZERO` (or a token's flags) and return a
//!   `Result` whose error converts into `ENOMEM` with `?`. Use them for
//!   every size a user chooses, and wherever sleeping is not allowed.
//! - their infallible twins (`Box::new`, `Arc::new`, `Vec::with_capacity`,
//!   `push`, `extend_from_slice`, `reserve`, `String::with_capacity`,
//!   `push_str`) take only `cx.waitok()` from a context token
//!   ([`Sleepable::waitok`](crate::context::Sleepable::waitok)) and return
//!   the value: an `M_WAITOK` allocation sleeps until memory is free and
//!   never fails (see [`malloc`](crate::malloc) for FreeBSD's word on it).
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
//!     v.push(4, cx.waitok()); // may sleep, cannot fail
//!     let s: String = kern::alloc::try_format!("{} items", v.len(); M_NOWAIT)?;
//!     let shared: Arc<String> = Arc::try_new(s, M_NOWAIT)?;
//!     let slice: Box<[u32]> = v.try_into_boxed_slice(M_NOWAIT)?;
//!     Ok(())
//! }
//! ```

use crate::malloc::KernelAllocator;

pub use alloc_kernel::{AllocError, BytesMut, TryClone, TryToOwned, try_format, try_vec};

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

/// Reference-counted bytes with a fixed capacity, header and bytes in one
/// block, as a C driver's message (`alloc_kernel::ArcBytes` over
/// [`KernelAllocator`]).
pub type ArcBytes = alloc_kernel::ArcBytes<KernelAllocator>;
