// SPDX-License-Identifier: BSD-2-Clause
//! Fallible-only collections for kernel code: [`Box`], [`Vec`], [`String`]
//! and [`Arc`], where every allocation returns a [`Result`].
//!
//! Rust's `alloc` collections panic when memory runs out, and a panic in a
//! kernel module is a kernel panic. This crate keeps the familiar names and
//! shapes but makes each allocating method fallible: it takes malloc(9)
//! [`Flags`] as its last argument and returns [`AllocError`] when memory is
//! short or a size overflows. It needs neither the `alloc` crate, nor a
//! `#[global_allocator]`, nor an out-of-memory handler. The design follows
//! Rust-for-Linux's `KBox`/`KVec` (`rust/kernel/alloc/`) on stable Rust.
//!
//! # Allocators
//!
//! Every type is generic over an [`Allocator`] `A` that it stores (a
//! zero-sized type for the kernel's malloc(9) allocator, which lives in the
//! `kern` crate together with its malloc type). Constructors without an
//! allocator argument need `A: Default`; the `*_in` variants take one.
//!
//! # Flags
//!
//! Allocating methods take `flags: impl Into<Flags>` last, so the kernel layer
//! can pass a context token that proves sleeping is allowed:
//! `Box::try_new(x, M_NOWAIT)?`, `v.try_push(x, M_WAITOK)?`. See
//! [`M_NOWAIT`], [`M_WAITOK`], [`M_ZERO`].
//!
//! # Waiting allocations
//!
//! An allocation that may sleep for memory cannot fail in FreeBSD
//! (malloc(9)), so for an allocator that keeps that promise
//! ([`WaitAllocator`]) and flags that prove the caller may sleep ([`Wait`])
//! there are infallible twins that return the value itself:
//! `Box::new(x, flags)`, `Arc::new`, `Vec::with_capacity`, `push`,
//! `extend_from_slice`, `reserve`, `String::with_capacity`, `push_str`.
//! The fallible `try_*` methods stay for `M_NOWAIT`, and for every size a
//! user chooses.
//!
//! # Failure and panics
//!
//! An allocation failure leaves a collection as it was (the waiting
//! methods above have no failure to report). No method panics on
//! allocation failure or capacity overflow; methods that would panic in `std`
//! for other reasons (an index out of bounds, a byte offset inside a
//! character) return an `Option` or a `Result` instead.
//!
//! # Examples
//!
//! ```
//! use alloc_kernel::{try_format, try_vec, Arc, Box, HostAllocator, String, Vec, M_NOWAIT};
//!
//! type KVec<T> = Vec<T, HostAllocator>;
//!
//! let mut v: KVec<u32> = try_vec![1, 2, 3; M_NOWAIT]?;
//! v.try_push(4, M_NOWAIT)?;
//! let b: Box<KVec<u32>, HostAllocator> = Box::try_new(v, M_NOWAIT)?;
//! let s: String<HostAllocator> = try_format!("{:?}", *b; M_NOWAIT)?;
//! let shared: Arc<_, HostAllocator> = Arc::try_new(s, M_NOWAIT)?;
//! assert_eq!(*shared, "[1, 2, 3, 4]");
//! # Ok::<(), alloc_kernel::AllocError>(())
//! ```
//!
//! # Features
//!
//! - `host`: links `std` and adds [`HostAllocator`] (the system allocator)
//!   and the [`testing`] module ([`testing::FailingAllocator`]), for tests
//!   and benchmarks in userspace. Never enable it in a kernel build. The
//!   crate's own tests enable it by themselves: `cargo test -p alloc-kernel`.
//!
//! # Unsafe code
//!
//! All `unsafe` lives in this crate's types and allocators. Each unsafe block
//! carries a comment saying why it is sound, each type its `# Invariants`,
//! and each update that establishes an invariant says which.
//!
// The `host` items exist only with the feature: without it, their names
// above link to the section that describes it.
#![cfg_attr(
    feature = "host",
    doc = "[`HostAllocator`]: HostAllocator\n[`testing`]: testing\n[`testing::FailingAllocator`]: testing::FailingAllocator"
)]
#![cfg_attr(
    not(feature = "host"),
    doc = "[`HostAllocator`]: #features\n[`testing`]: #features\n[`testing::FailingAllocator`]: #features"
)]
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::std_instead_of_alloc,
        reason = "unit tests run on the host with small numbers and std models; the library itself is linted without cfg(test)"
    )
)]

#[cfg(feature = "host")]
extern crate std;

mod allocator;
mod arc;
mod boxed;
mod bytes;
mod error;
mod flags;
mod macros;
pub mod string;
#[cfg(test)]
mod test_support;
#[cfg(feature = "host")]
pub mod testing;
mod try_clone;
mod try_to_owned;
pub mod vec;
mod wait;

pub use allocator::Allocator;
#[cfg(feature = "host")]
pub use allocator::HostAllocator;
pub use arc::Arc;
pub use boxed::Box;
pub use bytes::{ArcBytes, BytesMut, MAX_CAPACITY};
pub use error::AllocError;
pub use flags::{Flags, M_NOWAIT, M_WAITOK, M_ZERO};
pub use string::String;
pub use try_clone::TryClone;
pub use try_to_owned::TryToOwned;
pub use vec::Vec;
pub use wait::{Wait, WaitAllocator};
