// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`Box`].

use super::*;
use crate::test_support::Log;
use crate::testing::FailingAllocator;
use crate::{HostAllocator, M_NOWAIT, M_WAITOK, TryClone};
use core::borrow::{Borrow, BorrowMut};
use core::cmp::Ordering;
use core::fmt;
use core::hash::BuildHasher;
use std::collections::hash_map::RandomState;
use std::format;

type HostBox<T> = Box<T, HostAllocator>;

#[test]
fn try_new_and_deref() {
    let mut b: HostBox<u64> = Box::try_new(5, M_NOWAIT).unwrap();
    *b += 1;
    assert_eq!(*b, 6);
    assert_eq!(*b.as_ref(), 6);
    *b.as_mut() = 7;
    assert_eq!(*Borrow::<u64>::borrow(&b), 7);
    *BorrowMut::<u64>::borrow_mut(&mut b) = 8;
    assert_eq!(Box::into_inner(b), 8);
}

#[test]
fn try_new_in_counts_and_frees() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let b = Box::try_new_in(log.make(1), alloc.clone(), M_WAITOK).unwrap();
    assert_eq!(alloc.stats().live_allocations, 1);
    assert_eq!(
        alloc.stats().live_bytes,
        size_of::<crate::test_support::Tracked<'_>>()
    );
    drop(b);
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());
}

#[test]
fn try_new_failure_drops_the_value_and_leaks_nothing() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    alloc.fail_next();
    assert_eq!(
        Box::try_new_in(log.make(1), &alloc, M_NOWAIT).map(drop),
        Err(AllocError)
    );
    assert_eq!(log.drops(), 1);
    assert_eq!(alloc.stats().failures, 1);
    assert!(alloc.is_clean());
}

#[test]
fn zero_sized_values_do_not_allocate() {
    let alloc = FailingAllocator::new();
    alloc.set_fail_all(true);
    let b = Box::try_new_in((), &alloc, M_NOWAIT).unwrap();
    let empty = Box::<[u64], _>::try_new_uninit_slice_in(0, &alloc, M_NOWAIT).unwrap();
    let zsts = Box::<[()], _>::try_new_uninit_slice_in(1000, &alloc, M_NOWAIT).unwrap();
    assert_eq!(empty.len(), 0);
    assert_eq!(zsts.len(), 1000);
    drop((b, empty, zsts));
    assert_eq!(alloc.stats().requests, 0);
    assert!(alloc.is_clean());
}

#[test]
fn uninit_write_and_assume_init() {
    let alloc = FailingAllocator::new();
    let uninit = Box::<[u8; 4], _>::try_new_uninit_in(&alloc, M_NOWAIT).unwrap();
    let b = Box::write(uninit, [1, 2, 3, 4]);
    assert_eq!(*b, [1, 2, 3, 4]);
    let host = HostBox::<u8>::try_new_uninit(M_NOWAIT).unwrap();
    assert_eq!(*Box::write(host, 3), 3);
    drop(b);
    assert!(alloc.is_clean());
}

#[test]
fn zeroed_is_zero_even_from_a_poisoning_allocator() {
    let alloc = FailingAllocator::new();
    let zeroed = Box::<[u32; 16], _>::try_new_zeroed_in(&alloc, M_NOWAIT).unwrap();
    // SAFETY: zero bytes are a valid `[u32; 16]`.
    let zeroed = unsafe { zeroed.assume_init() };
    assert_eq!(*zeroed, [0; 16]);
    let host = HostBox::<u64>::try_new_zeroed(M_NOWAIT).unwrap();
    // SAFETY: zero bytes are a valid `u64`.
    assert_eq!(*unsafe { host.assume_init() }, 0);
    alloc.fail_next();
    assert!(Box::<u8, _>::try_new_zeroed_in(&alloc, M_NOWAIT).is_err());
    drop(zeroed);
    assert!(alloc.is_clean());
}

#[test]
fn uninit_slices() {
    let alloc = FailingAllocator::new();
    let mut b = Box::<[u16], _>::try_new_uninit_slice_in(3, &alloc, M_NOWAIT).unwrap();
    for (i, slot) in b.iter_mut().enumerate() {
        slot.write(u16::try_from(i).unwrap() * 10);
    }
    // SAFETY: every element was written.
    let b = unsafe { b.assume_init() };
    assert_eq!(*b, [0, 10, 20]);
    assert_eq!(alloc.stats().live_bytes, 6);
    alloc.fail_next();
    assert!(Box::<[u16], _>::try_new_uninit_slice_in(3, &alloc, M_NOWAIT).is_err());
    assert!(Box::<[u16], _>::try_new_uninit_slice_in(usize::MAX, &alloc, M_NOWAIT).is_err());
    let host = HostBox::<[u8]>::try_new_uninit_slice(2, M_NOWAIT).unwrap();
    assert_eq!(host.len(), 2);
    drop(b);
    assert!(alloc.is_clean());
}

#[test]
fn slices_from_slices_and_vectors() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let source = [log.make(1), log.make(2)];
    let b = Box::try_from_slice_in(&source, &alloc, M_NOWAIT).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(log.clones.get(), 2);
    let v = Box::into_vec(b);
    assert_eq!((v.len(), v.capacity()), (2, 2));
    drop(v);
    assert_eq!(log.drops(), 2);
    alloc.fail_next();
    assert!(Box::try_from_slice_in(&source, &alloc, M_NOWAIT).is_err());
    assert_eq!(log.drops(), 2);
    let host = HostBox::<[u8]>::try_from_slice(b"ab", M_NOWAIT).unwrap();
    assert_eq!(&*host, b"ab");
    let empty = Box::<[u8], _>::try_from_slice_in(&[], &alloc, M_NOWAIT).unwrap();
    assert!(Box::into_vec(empty).is_empty());
    drop(source);
    assert!(alloc.is_clean());
}

#[test]
fn raw_round_trips() {
    let alloc = FailingAllocator::new();
    let b = Box::try_new_in(41u32, alloc.clone(), M_NOWAIT).unwrap();
    let (raw, a) = Box::into_raw_with_allocator(b);
    // SAFETY: `raw` is a valid `u32` owned by nobody else.
    unsafe { *raw += 1 };
    // SAFETY: from `into_raw_with_allocator`, taken back once.
    let b = unsafe { Box::from_raw_in(raw, a) };
    assert_eq!(*b, 42);
    drop(b);
    // `into_raw` leaks the allocator value: lend it, so that nothing leaks.
    let b = Box::try_new_in(43u32, &alloc, M_NOWAIT).unwrap();
    let raw = Box::into_raw(b);
    // SAFETY: from `into_raw`, taken back once, with a copy of the allocator.
    drop(unsafe { Box::from_raw_in(raw, &alloc) });
    assert!(alloc.is_clean());

    let host: HostBox<u8> = Box::try_new(1, M_NOWAIT).unwrap();
    let raw = Box::into_raw(host);
    // SAFETY: from `into_raw`, taken back once.
    let host: HostBox<u8> = unsafe { Box::from_raw(raw) };
    assert_eq!(*host, 1);
}

#[test]
fn unsized_through_raw_pointers() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let b = Box::try_new_in([log.make(1), log.make(2), log.make(3)], &alloc, M_NOWAIT).unwrap();
    let raw = Box::into_raw(b);
    let raw: *mut [crate::test_support::Tracked<'_>] = raw;
    // SAFETY: from `into_raw`, unsized by coercion, taken back once.
    let slice = unsafe { Box::from_raw_in(raw, &alloc) };
    assert_eq!(slice.len(), 3);
    drop(slice);
    assert_eq!(log.drops(), 3);

    let b = Box::try_new_in(log.make(4), &alloc, M_NOWAIT).unwrap();
    let raw = Box::into_raw(b);
    let raw: *mut dyn fmt::Debug = raw;
    // SAFETY: from `into_raw`, unsized by coercion, taken back once.
    let dynamic: Box<dyn fmt::Debug, _> = unsafe { Box::from_raw_in(raw, &alloc) };
    assert!(format!("{dynamic:?}").contains("id: 4"));
    drop(dynamic);
    assert_eq!(log.drops(), 4);
    // The layouts given back matched the ones allocated.
    assert!(alloc.is_clean(), "{:?}", alloc.violations());
}

#[test]
fn leak_keeps_the_value() {
    let alloc = FailingAllocator::new();
    let b = Box::try_new_in(7u8, &alloc, M_NOWAIT).unwrap();
    let leaked: &mut u8 = Box::leak(b);
    *leaked += 1;
    assert_eq!(alloc.stats().live_allocations, 1);
    // SAFETY: the leaked box, taken back once.
    let b = unsafe { Box::from_raw_in(leaked, &alloc) };
    assert_eq!(*b, 8);
    drop(b);
    assert!(alloc.is_clean());
}

#[test]
fn pinning() {
    let pinned: Pin<HostBox<u32>> = Box::try_pin(3, M_NOWAIT).unwrap();
    assert_eq!(*pinned, 3);
    let alloc = FailingAllocator::new();
    let pinned = Box::try_pin_in(core::marker::PhantomPinned, &alloc, M_NOWAIT).unwrap();
    drop(pinned);
    alloc.fail_next();
    assert!(Box::try_pin_in(1u8, &alloc, M_NOWAIT).is_err());
    let b: HostBox<u8> = Box::try_new(9, M_NOWAIT).unwrap();
    let pinned: Pin<HostBox<u8>> = b.into();
    assert_eq!(*pinned, 9);
    assert!(alloc.is_clean());
}

#[test]
fn formatting_and_comparison() {
    let a: HostBox<u32> = Box::try_new(1, M_NOWAIT).unwrap();
    let b: HostBox<u32> = Box::try_new(2, M_NOWAIT).unwrap();
    assert_eq!(format!("{a:?} {b}"), "1 2");
    assert!(format!("{a:p}").starts_with("0x"));
    assert!(a < b);
    assert_eq!(a.cmp(&b), Ordering::Less);
    assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
    assert_ne!(a, b);
    let state = RandomState::new();
    assert_eq!(state.hash_one(&a), state.hash_one(1u32));
    assert_eq!(Box::allocator(&a), &HostAllocator);
}

#[test]
fn try_clone_copies_with_the_same_allocator() {
    let alloc = FailingAllocator::new();
    let b = Box::try_new_in(5u8, alloc.clone(), M_NOWAIT).unwrap();
    let c = b.try_clone(M_NOWAIT).unwrap();
    assert_eq!((*b, *c), (5, 5));
    assert_eq!(alloc.stats().live_allocations, 2);
    alloc.fail_next();
    assert!(b.try_clone(M_NOWAIT).is_err());
    let slice = Box::try_from_slice_in(&[1u8, 2], alloc.clone(), M_NOWAIT).unwrap();
    assert_eq!(*slice.try_clone(M_NOWAIT).unwrap(), [1, 2]);
    drop((b, c, slice));
    assert!(alloc.is_clean());
}

#[test]
fn send_and_sync_follow_the_contents() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<HostBox<u8>>();
    send_sync::<Box<[u8], FailingAllocator>>();
}
