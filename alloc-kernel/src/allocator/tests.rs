// SPDX-License-Identifier: BSD-2-Clause
//! Tests of the [`Allocator`] trait's provided method, the `&A` forwarding
//! and [`HostAllocator`].

use super::*;
use crate::testing::FailingAllocator;
use crate::{M_NOWAIT, M_WAITOK, M_ZERO};
use core::cell::Cell;

fn bytes(block: NonNull<[u8]>) -> &'static mut [u8] {
    // SAFETY: the block is live and nothing else refers to it while
    // the test looks at it.
    unsafe { &mut *block.as_ptr() }
}

#[test]
fn host_allocates_aligned_and_zeroed() {
    for align in [1, 8, 64, 4096] {
        let layout = Layout::from_size_align(100, align).unwrap();
        let block = HostAllocator.allocate(layout, M_NOWAIT | M_ZERO).unwrap();
        assert_eq!(block.cast::<u8>().as_ptr() as usize % align, 0);
        assert_eq!(block.len(), 100);
        assert!(bytes(block).iter().all(|&b| b == 0));
        // SAFETY: allocated above with `layout`.
        unsafe { HostAllocator.deallocate(block.cast(), layout) };
    }
}

#[test]
fn host_zero_size_is_dangling_and_aligned() {
    let layout = Layout::from_size_align(0, 256).unwrap();
    let block = HostAllocator.allocate(layout, M_WAITOK).unwrap();
    assert_eq!(block.len(), 0);
    assert_eq!(block.cast::<u8>().as_ptr() as usize, 256);
    // SAFETY: the zero-size block from above.
    unsafe { HostAllocator.deallocate(block.cast(), layout) };
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri stops at an impossible allocation instead of failing it"
)]
fn host_impossible_request_fails() {
    let layout = Layout::from_size_align(isize::MAX as usize - 4096, 4096).unwrap();
    assert_eq!(HostAllocator.allocate(layout, M_NOWAIT), Err(AllocError));
}

#[test]
fn host_reallocate_keeps_prefix_and_zeroes_tail() {
    let small = Layout::from_size_align(16, 8).unwrap();
    let large = Layout::from_size_align(64, 8).unwrap();
    let block = HostAllocator.allocate(small, M_NOWAIT).unwrap();
    bytes(block).fill(0xab);
    // SAFETY: allocated above with `small`.
    let grown =
        unsafe { HostAllocator.reallocate(block.cast(), small, large, M_NOWAIT | M_ZERO) }.unwrap();
    let grown_bytes = bytes(grown);
    assert!(grown_bytes[..16].iter().all(|&b| b == 0xab));
    assert!(grown_bytes[16..].iter().all(|&b| b == 0));
    // SAFETY: reallocated above to `large`.
    let shrunk = unsafe { HostAllocator.reallocate(grown.cast(), large, small, M_NOWAIT) }.unwrap();
    assert!(bytes(shrunk).iter().all(|&b| b == 0xab));
    // SAFETY: reallocated above to `small`.
    unsafe { HostAllocator.deallocate(shrunk.cast(), small) };
}

#[test]
fn host_reallocate_changes_alignment_and_handles_empty_blocks() {
    let small = Layout::from_size_align(8, 8).unwrap();
    let aligned = Layout::from_size_align(32, 4096).unwrap();
    let empty = Layout::from_size_align(0, 8).unwrap();
    let block = HostAllocator.allocate(small, M_NOWAIT).unwrap();
    bytes(block).fill(7);
    // SAFETY: allocated above with `small`.
    let moved =
        unsafe { HostAllocator.reallocate(block.cast(), small, aligned, M_NOWAIT) }.unwrap();
    assert_eq!(moved.cast::<u8>().as_ptr() as usize % 4096, 0);
    assert!(bytes(moved)[..8].iter().all(|&b| b == 7));
    // SAFETY: reallocated above to `aligned`.
    let gone = unsafe { HostAllocator.reallocate(moved.cast(), aligned, empty, M_NOWAIT) }.unwrap();
    assert_eq!(gone.len(), 0);
    // SAFETY: the empty block from above.
    let back =
        unsafe { HostAllocator.reallocate(gone.cast(), empty, small, M_NOWAIT | M_ZERO) }.unwrap();
    assert!(bytes(back).iter().all(|&b| b == 0));
    // SAFETY: reallocated above to `small`.
    unsafe { HostAllocator.deallocate(back.cast(), small) };
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri stops at an impossible allocation instead of failing it"
)]
fn host_failed_reallocate_keeps_the_block() {
    let small = Layout::from_size_align(8, 8).unwrap();
    let huge = Layout::from_size_align(isize::MAX as usize - 4096, 8).unwrap();
    let block = HostAllocator.allocate(small, M_NOWAIT).unwrap();
    bytes(block).fill(9);
    // SAFETY: allocated above with `small`.
    let result = unsafe { HostAllocator.reallocate(block.cast(), small, huge, M_NOWAIT) };
    assert_eq!(result, Err(AllocError));
    assert!(bytes(block).iter().all(|&b| b == 9));
    // SAFETY: still allocated with `small`.
    unsafe { HostAllocator.deallocate(block.cast(), small) };
}

/// An allocator with only the required methods, counting calls, to test the
/// provided `reallocate`.
#[derive(Default)]
struct Minimal {
    allocations: Cell<usize>,
    deallocations: Cell<usize>,
    fail: Cell<bool>,
}

// SAFETY: forwards to `HostAllocator`.
unsafe impl Allocator for Minimal {
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
        if self.fail.get() {
            return Err(AllocError);
        }
        self.allocations.set(self.allocations.get() + 1);
        HostAllocator.allocate(layout, flags)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        self.deallocations.set(self.deallocations.get() + 1);
        // SAFETY: the caller's contract.
        unsafe { HostAllocator.deallocate(ptr, layout) }
    }
}

#[test]
fn provided_reallocate_moves_and_keeps_block_on_failure() {
    let alloc = Minimal::default();
    let small = Layout::from_size_align(4, 4).unwrap();
    let large = Layout::from_size_align(12, 4).unwrap();
    let block = alloc.allocate(small, M_NOWAIT).unwrap();
    bytes(block).copy_from_slice(&[1, 2, 3, 4]);

    alloc.fail.set(true);
    // SAFETY: allocated above with `small`.
    let failed = unsafe { alloc.reallocate(block.cast(), small, large, M_NOWAIT) };
    assert_eq!(failed, Err(AllocError));
    assert_eq!(bytes(block), [1, 2, 3, 4]);
    assert_eq!(alloc.deallocations.get(), 0);

    alloc.fail.set(false);
    // SAFETY: still allocated with `small`.
    let grown = unsafe { alloc.reallocate(block.cast(), small, large, M_NOWAIT | M_ZERO) }.unwrap();
    assert_eq!(bytes(grown), [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!((alloc.allocations.get(), alloc.deallocations.get()), (2, 1));
    // SAFETY: reallocated above to `large`.
    unsafe { alloc.deallocate(grown.cast(), large) };
}

#[test]
fn references_forward_to_the_allocator() {
    let alloc = FailingAllocator::new();
    let by_ref = &alloc;
    let layout = Layout::from_size_align(8, 8).unwrap();
    let block = by_ref.allocate(layout, M_NOWAIT).unwrap();
    assert_eq!(alloc.stats().live_allocations, 1);
    let larger = Layout::from_size_align(16, 8).unwrap();
    // SAFETY: allocated above through the reference.
    let block = unsafe { by_ref.reallocate(block.cast(), layout, larger, M_NOWAIT) }.unwrap();
    // SAFETY: reallocated above; freed through the allocator itself.
    unsafe { alloc.deallocate(block.cast(), larger) };
    assert!(alloc.is_clean());
    assert_eq!(alloc.stats().requests, 2);
}
