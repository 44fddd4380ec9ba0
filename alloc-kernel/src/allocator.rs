// SPDX-License-Identifier: BSD-2-Clause
//! The [`Allocator`] trait: where the collections of this crate get memory.
//!
//! An allocator value is stored in every collection (`Vec<T, A>` holds an
//! `A`). The kernel allocator is a zero-sized type that calls malloc(9) with
//! its malloc type and the [`Flags`] of each call; on the host,
//! [`HostAllocator`] uses the system allocator and
//! [`testing::FailingAllocator`](crate::testing::FailingAllocator) injects
//! failures.
//!
//! The shape follows Rust-for-Linux's `rust/kernel/alloc.rs` (`Allocator`
//! with `realloc` and flags); the collections never pass a zero size to it.

use crate::{AllocError, Flags};
use core::alloc::Layout;
use core::ptr::{self, NonNull};

#[cfg(feature = "host")]
mod host;
#[cfg(feature = "host")]
pub use host::HostAllocator;

/// A source of memory blocks, taking malloc(9)-style [`Flags`] on each call.
///
/// All methods report failure as [`AllocError`] and never panic on it.
///
/// # Examples
///
/// A bump allocator over a fixed arena, which never frees (a sketch; a real
/// one would need a lock or atomics to be `Sync`):
///
/// ```
/// use alloc_kernel::{AllocError, Allocator, Flags, Vec, M_NOWAIT};
/// use core::alloc::Layout;
/// use core::cell::{Cell, UnsafeCell};
/// use core::ptr::NonNull;
///
/// struct Bump {
///     arena: UnsafeCell<[u8; 256]>,
///     used: Cell<usize>,
/// }
///
/// // SAFETY: blocks are disjoint parts of `arena`, aligned by construction,
/// // zeroed when asked (the arena starts zeroed and is never reused), and
/// // stay valid as long as `Bump` lives; `reallocate` is the provided one.
/// unsafe impl Allocator for Bump {
///     fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
///         let base = self.arena.get().cast::<u8>();
///         let start = (base as usize + self.used.get()).next_multiple_of(layout.align());
///         let offset = start - base as usize;
///         let end = offset.checked_add(layout.size()).ok_or(AllocError)?;
///         if end > 256 {
///             return Err(AllocError);
///         }
///         self.used.set(end);
///         let block = NonNull::new(base.wrapping_add(offset)).ok_or(AllocError)?;
///         Ok(NonNull::slice_from_raw_parts(block, layout.size()))
///     }
///
///     unsafe fn deallocate(&self, _ptr: NonNull<u8>, _layout: Layout) {}
/// }
///
/// let bump = Bump { arena: UnsafeCell::new([0; 256]), used: Cell::new(0) };
/// let mut v = Vec::new_in(&bump);
/// v.try_push(1u32, M_NOWAIT)?;
/// v.try_extend_from_slice(&[2, 3], M_NOWAIT)?;
/// assert_eq!(v, [1, 2, 3]);
/// assert!(Vec::<u8, _>::try_with_capacity_in(1000, &bump, M_NOWAIT).is_err());
/// # Ok::<(), AllocError>(())
/// ```
///
/// # Safety
///
/// An implementation must uphold, for every block it hands out:
///
/// - A successful [`allocate`](Allocator::allocate) or
///   [`reallocate`](Allocator::reallocate) returns a block that is at least
///   as long as the requested size, aligned to at least the requested
///   alignment, valid for reads and writes, and disjoint from every other live
///   block. It stays valid until it is passed to `deallocate` or to a
///   `reallocate` that succeeds. An alignment that cannot be honoured is a
///   failure ([`AllocError`]), never a less aligned block.
/// - With [`Flags::zeroed`], the requested bytes of a new block are zero; for
///   `reallocate`, the bytes past the old size up to the new size are.
/// - A failed `reallocate` leaves the old block allocated and unchanged.
/// - Moving an allocator value does not invalidate its blocks. A block may be
///   deallocated or reallocated through the value that allocated it, any clone
///   of that value, and, if the type implements [`Default`], any value made
///   by `Default::default()` (the collections' `from_raw` constructors rely
///   on this).
/// - A zero-size request may fail or succeed; a block returned for it must be
///   accepted back by `deallocate` with the same layout. The collections of
///   this crate never make such requests: zero-sized values and empty
///   buffers use dangling, well-aligned pointers.
pub unsafe trait Allocator {
    /// Allocates a block for `layout`.
    ///
    /// The returned slice's length is the usable size, at least
    /// `layout.size()`; the collections of this crate use only
    /// `layout.size()` bytes.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if no memory is available under `flags` or the layout
    /// cannot be honoured.
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError>;

    /// Gives a block back.
    ///
    /// # Safety
    ///
    /// - `ptr` must denote a block currently allocated by this allocator (see
    ///   the trait's rules on clones and defaults), and
    /// - `layout` must be the layout with which it was allocated or last
    ///   reallocated.
    ///
    /// The block must not be used afterwards.
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout);

    /// Grows or shrinks a block to `new`, moving it if needed, like
    /// realloc(9).
    ///
    /// On success the first `min(old.size(), new.size())` bytes are those of
    /// the old block and the old block must no longer be used (it may be the
    /// same address). On failure the old block is untouched and still
    /// allocated with `old`.
    ///
    /// The provided implementation allocates a new block, copies, and frees
    /// the old one.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if no memory is available under `flags` or `new` cannot
    /// be honoured.
    ///
    /// # Safety
    ///
    /// - `ptr` must denote a block currently allocated by this allocator (see
    ///   the trait's rules on clones and defaults), and
    /// - `old` must be the layout with which it was allocated or last
    ///   reallocated.
    unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller's contract is the one `reallocate_by_moving`
        // asks for.
        unsafe { reallocate_by_moving(self, ptr, old, new, flags) }
    }
}

// SAFETY: every call is forwarded to `A`, so the blocks are `A`'s and follow
// its rules; a block from `&a` is a block of `a`, which every copy of the
// reference reaches.
unsafe impl<A: Allocator + ?Sized> Allocator for &A {
    #[inline]
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
        (**self).allocate(layout, flags)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees, which concern the
        // same underlying allocator.
        unsafe { (**self).deallocate(ptr, layout) }
    }

    #[inline]
    unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded with the caller's guarantees, which concern the
        // same underlying allocator.
        unsafe { (**self).reallocate(ptr, old, new, flags) }
    }
}

/// Reallocates by allocating a new block, copying the common prefix and
/// freeing the old block: the provided [`Allocator::reallocate`].
///
/// # Errors
///
/// [`AllocError`] if the new block cannot be allocated; the old block is then
/// untouched.
///
/// # Safety
///
/// `ptr` must denote a block currently allocated by `alloc` with layout `old`.
pub(crate) unsafe fn reallocate_by_moving<A: Allocator + ?Sized>(
    alloc: &A,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
    flags: Flags,
) -> Result<NonNull<[u8]>, AllocError> {
    let block = alloc.allocate(new, flags)?;
    let common = old.size().min(new.size());
    // SAFETY: the old block is valid for reads of `old.size()` bytes (caller's
    // contract), the new one for writes of at least `new.size()` bytes, and
    // two live blocks are disjoint.
    unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), block.cast::<u8>().as_ptr(), common) };
    // SAFETY: by the caller's contract, `ptr` was allocated by `alloc` with
    // `old`; it is not used again.
    unsafe { alloc.deallocate(ptr, old) };
    Ok(block)
}

#[cfg(test)]
mod tests;
