// SPDX-License-Identifier: BSD-2-Clause
//! [`HostAllocator`]: the system allocator, for tests and benchmarks on the
//! host (feature `host`).

use crate::{AllocError, Allocator, Flags, WaitAllocator};
use core::alloc::{GlobalAlloc, Layout};
use core::num::NonZero;
use core::ptr::NonNull;
use std::alloc::System;

/// The host's system allocator (malloc(3) and friends), for userspace tests
/// and benchmarks. Needs the `host` feature.
///
/// A zero-sized type like the kernel allocator, so `Vec<T, HostAllocator>`
/// has the kernel vector's size and code shape. Zero-size requests succeed
/// with a dangling pointer and never reach the system allocator.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{Box, HostAllocator, M_WAITOK};
///
/// let b: Box<u64, HostAllocator> = Box::try_new(7, M_WAITOK)?;
/// assert_eq!(*b, 7);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HostAllocator;

/// An empty block at `layout`'s alignment, for zero-size requests.
fn dangling(layout: Layout) -> NonNull<[u8]> {
    let align = NonZero::new(layout.align()).unwrap_or(NonZero::<usize>::MIN);
    NonNull::slice_from_raw_parts(NonNull::without_provenance(align), 0)
}

// SAFETY: blocks come from `System`, which returns blocks of the requested
// size and alignment (or null, reported as `AllocError`), zeroed by
// `alloc_zeroed`; `realloc` keeps the old block on failure. Every value of
// this zero-sized type is interchangeable. Zero-size blocks are dangling and
// `deallocate` ignores them.
unsafe impl Allocator for HostAllocator {
    #[inline]
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        let raw = if flags.zeroed() {
            // SAFETY: `layout` has a non-zero size (checked above).
            unsafe { System.alloc_zeroed(layout) }
        } else {
            // SAFETY: `layout` has a non-zero size (checked above).
            unsafe { System.alloc(layout) }
        };
        let block = NonNull::new(raw).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: by the caller's contract, `ptr` was allocated by this
            // allocator, hence by `System` (the size is not zero), with
            // `layout`.
            unsafe { System.dealloc(ptr.as_ptr(), layout) }
        }
    }

    #[inline]
    unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 || new.size() == 0 || old.align() != new.align() {
            // SAFETY: the caller's contract is the one
            // `reallocate_by_moving` asks for.
            return unsafe { crate::allocator::reallocate_by_moving(self, ptr, old, new, flags) };
        }
        // SAFETY: `ptr` was allocated by `System` with `old` (caller's
        // contract, and the size is not zero); `new.size()` is not zero and,
        // being the size of a `Layout` with `old`'s alignment, does not
        // overflow `isize` when rounded up to it.
        let raw = unsafe { System.realloc(ptr.as_ptr(), old, new.size()) };
        let block = NonNull::new(raw).ok_or(AllocError)?;
        if flags.zeroed()
            && let Some(grown) = new.size().checked_sub(old.size())
        {
            // SAFETY: the block is `new.size()` bytes long, so the tail at
            // `old.size()` is in bounds.
            let tail = unsafe { block.add(old.size()) };
            // SAFETY: `tail` is valid for writes of the `grown` bytes up to
            // the end of the block.
            unsafe { tail.write_bytes(0, grown) };
        }
        Ok(NonNull::slice_from_raw_parts(block, new.size()))
    }
}

impl WaitAllocator for HostAllocator {
    /// The system allocator has no memory to wait for: the process aborts,
    /// as `std`'s collections do when memory runs out.
    fn wait_failed() -> ! {
        std::process::abort()
    }
}
