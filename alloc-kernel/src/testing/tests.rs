// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`FailingAllocator`].

use super::*;
use crate::{M_NOWAIT, M_ZERO};
use std::format;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

fn bytes(block: NonNull<[u8]>) -> &'static mut [u8] {
    // SAFETY: the block is live and nothing else refers to it while
    // the test looks at it.
    unsafe { &mut *block.as_ptr() }
}

#[test]
fn counts_and_frees() {
    let alloc = FailingAllocator::new();
    let a = alloc.allocate(layout(10, 2), M_NOWAIT).unwrap();
    let b = alloc.allocate(layout(6, 2), M_NOWAIT).unwrap();
    assert_eq!(
        alloc.stats(),
        Stats {
            requests: 2,
            failures: 0,
            live_allocations: 2,
            live_bytes: 16
        }
    );
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(a.cast(), layout(10, 2)) };
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(b.cast(), layout(6, 2)) };
    assert_eq!(alloc.stats().live_bytes, 0);
    assert!(alloc.is_clean());
    assert!(format!("{alloc:?}").contains("requests: 2"));
}

#[test]
fn poisons_unzeroed_memory_and_zeroes_on_request() {
    let alloc = FailingAllocator::new();
    let poisoned = alloc.allocate(layout(9, 1), M_NOWAIT).unwrap();
    assert_eq!(
        bytes(poisoned),
        [0xde, 0xad, 0xc0, 0xde, 0xde, 0xad, 0xc0, 0xde, 0xde]
    );
    let zeroed = alloc.allocate(layout(9, 1), M_NOWAIT | M_ZERO).unwrap();
    assert_eq!(bytes(zeroed), [0; 9]);
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(poisoned.cast(), layout(9, 1)) };
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(zeroed.cast(), layout(9, 1)) };
    assert!(alloc.is_clean());
}

#[test]
fn honours_alignment() {
    let alloc = FailingAllocator::new();
    let block = alloc.allocate(layout(3, 512), M_NOWAIT).unwrap();
    assert_eq!(block.cast::<u8>().as_ptr() as usize % 512, 0);
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(block.cast(), layout(3, 512)) };
}

#[test]
fn fail_next_and_fail_after() {
    let alloc = FailingAllocator::new();
    alloc.fail_next();
    assert!(alloc.allocate(layout(1, 1), M_NOWAIT).is_err());
    let ok = alloc.allocate(layout(1, 1), M_NOWAIT).unwrap();

    alloc.fail_after(2);
    let first = alloc.allocate(layout(1, 1), M_NOWAIT).unwrap();
    let second = alloc.allocate(layout(1, 1), M_NOWAIT).unwrap();
    assert!(alloc.allocate(layout(1, 1), M_NOWAIT).is_err());
    let after = alloc.allocate(layout(1, 1), M_NOWAIT).unwrap();

    let stats = alloc.stats();
    assert_eq!(
        (stats.requests, stats.failures, stats.live_allocations),
        (6, 2, 4)
    );
    for block in [ok, first, second, after] {
        // SAFETY: allocated above.
        unsafe { alloc.deallocate(block.cast(), layout(1, 1)) };
    }
    assert!(alloc.is_clean());
}

#[test]
fn fail_all_and_budget() {
    let alloc = FailingAllocator::new();
    alloc.set_fail_all(true);
    assert!(alloc.allocate(layout(1, 1), M_NOWAIT).is_err());
    alloc.set_fail_all(false);

    alloc.set_byte_budget(Some(10));
    let a = alloc.allocate(layout(6, 1), M_NOWAIT).unwrap();
    assert!(alloc.allocate(layout(5, 1), M_NOWAIT).is_err());
    let b = alloc.allocate(layout(4, 1), M_NOWAIT).unwrap();
    // Reallocation moves, so it needs old plus new bytes.
    // SAFETY: allocated above.
    assert!(unsafe { alloc.reallocate(b.cast(), layout(4, 1), layout(2, 1), M_NOWAIT) }.is_err());

    alloc.clear_failures();
    alloc.fail_after(5);
    alloc.clear_failures();
    let c = alloc.allocate(layout(100, 1), M_NOWAIT).unwrap();
    assert_eq!(alloc.stats().failures, 3);
    for (block, size) in [(a, 6), (b, 4), (c, 100)] {
        // SAFETY: allocated above.
        unsafe { alloc.deallocate(block.cast(), layout(size, 1)) };
    }
    assert!(alloc.is_clean());
}

#[test]
fn clones_share_the_ledger() {
    let alloc = FailingAllocator::new();
    let other = alloc.clone();
    let block = other.allocate(layout(4, 4), M_NOWAIT).unwrap();
    assert_eq!(alloc.stats().live_allocations, 1);
    alloc.fail_next();
    assert!(other.allocate(layout(4, 4), M_NOWAIT).is_err());
    // SAFETY: allocated above through the clone.
    unsafe { alloc.deallocate(block.cast(), layout(4, 4)) };
    assert!(other.is_clean());
}

#[test]
fn records_zero_size_requests() {
    let alloc = FailingAllocator::new();
    assert!(alloc.allocate(layout(0, 8), M_NOWAIT).is_err());
    assert_eq!(
        alloc.violations(),
        [Violation::ZeroSizedRequest {
            layout: layout(0, 8)
        }]
    );
    assert!(!alloc.is_clean());
}

#[test]
fn records_unknown_blocks_without_freeing_them() {
    let alloc = FailingAllocator::new();
    let mut local = 0u64;
    let ptr = NonNull::from(&mut local).cast::<u8>();
    // SAFETY: deliberately breaks the contract; the allocator must
    // only record it.
    unsafe { alloc.deallocate(ptr, layout(8, 8)) };
    // SAFETY: as above.
    let realloc = unsafe { alloc.reallocate(ptr, layout(8, 8), layout(16, 8), M_NOWAIT) };
    assert!(realloc.is_err());
    let addr = ptr.addr().get();
    assert_eq!(
        alloc.violations(),
        [
            Violation::UnknownBlock {
                addr,
                layout: layout(8, 8)
            },
            Violation::UnknownBlock {
                addr,
                layout: layout(8, 8)
            },
        ]
    );
}

#[test]
fn records_layout_mismatches_and_frees_with_the_recorded_layout() {
    let alloc = FailingAllocator::new();
    let block = alloc.allocate(layout(32, 8), M_NOWAIT).unwrap();
    let addr = block.cast::<u8>().addr().get();
    // SAFETY: the block is live; the wrong layout is recorded and
    // the recorded one used.
    unsafe { alloc.deallocate(block.cast(), layout(16, 8)) };
    assert_eq!(
        alloc.violations(),
        [Violation::LayoutMismatch {
            addr,
            allocated: layout(32, 8),
            given: layout(16, 8)
        }]
    );
    assert_eq!(alloc.stats().live_allocations, 0);
}

#[test]
fn reallocate_moves_copies_and_fills() {
    let alloc = FailingAllocator::new();
    let block = alloc.allocate(layout(4, 4), M_NOWAIT).unwrap();
    bytes(block).copy_from_slice(&[1, 2, 3, 4]);
    // SAFETY: allocated above.
    let grown =
        unsafe { alloc.reallocate(block.cast(), layout(4, 4), layout(8, 4), M_NOWAIT) }.unwrap();
    assert_ne!(grown.cast::<u8>(), block.cast::<u8>());
    assert_eq!(bytes(grown), [1, 2, 3, 4, 0xde, 0xad, 0xc0, 0xde]);
    // SAFETY: reallocated above.
    let zeroed =
        unsafe { alloc.reallocate(grown.cast(), layout(8, 4), layout(12, 4), M_NOWAIT | M_ZERO) }
            .unwrap();
    assert_eq!(
        bytes(zeroed),
        [1, 2, 3, 4, 0xde, 0xad, 0xc0, 0xde, 0, 0, 0, 0]
    );
    // SAFETY: reallocated above.
    let shrunk =
        unsafe { alloc.reallocate(zeroed.cast(), layout(12, 4), layout(2, 4), M_NOWAIT) }.unwrap();
    assert_eq!(bytes(shrunk), [1, 2]);

    alloc.fail_next();
    // SAFETY: reallocated above.
    let failed = unsafe { alloc.reallocate(shrunk.cast(), layout(2, 4), layout(64, 4), M_NOWAIT) };
    assert!(failed.is_err());
    assert_eq!(bytes(shrunk), [1, 2]);

    // SAFETY: a zero new size is a recorded violation and fails.
    let empty = unsafe { alloc.reallocate(shrunk.cast(), layout(2, 4), layout(0, 4), M_NOWAIT) };
    assert!(empty.is_err());
    assert_eq!(
        alloc.violations(),
        [Violation::ZeroSizedRequest {
            layout: layout(0, 4)
        }]
    );

    // SAFETY: still allocated with the last layout.
    unsafe { alloc.deallocate(shrunk.cast(), layout(2, 4)) };
    assert_eq!(alloc.stats().live_allocations, 0);
}

#[test]
fn survives_a_poisoned_lock() {
    let alloc = FailingAllocator::new();
    let clone = alloc.clone();
    let result = std::thread::spawn(move || {
        let _guard = clone.ledger();
        panic!("poison the lock");
    })
    .join();
    assert!(result.is_err());
    let block = alloc.allocate(layout(1, 1), M_NOWAIT).unwrap();
    // SAFETY: allocated above.
    unsafe { alloc.deallocate(block.cast(), layout(1, 1)) };
    assert!(alloc.is_clean());
}
