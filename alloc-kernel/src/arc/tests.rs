// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`Arc`] (single-threaded; see `tests/arc_threads.rs` for
//! threads).

use super::*;
use crate::test_support::{Log, Tracked};
use crate::testing::FailingAllocator;
use crate::{HostAllocator, M_NOWAIT, M_ZERO};
use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::BuildHasher;
use std::collections::hash_map::RandomState;
use std::format;

type HostArc<T> = Arc<T, HostAllocator>;

#[test]
fn new_clone_drop() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let a = Arc::try_new_in(log.make(1), alloc.clone(), M_NOWAIT).unwrap();
    assert_eq!(alloc.stats().live_allocations, 1);
    let requests = alloc.stats().requests;
    let b = a.clone();
    let c = b.clone();
    assert_eq!(alloc.stats().requests, requests);
    assert_eq!(Arc::strong_count(&a), 3);
    assert_eq!(b.id, 1);
    drop(a);
    drop(b);
    assert_eq!((log.drops(), Arc::strong_count(&c)), (0, 1));
    drop(c);
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());
}

#[test]
fn new_failure_drops_the_value() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    alloc.fail_next();
    assert!(Arc::try_new_in(log.make(1), &alloc, M_NOWAIT).is_err());
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());
    let h: HostArc<u8> = Arc::try_new(1, M_NOWAIT).unwrap();
    assert_eq!(*h, 1);
}

#[test]
fn zero_sized_values_still_count() {
    let alloc = FailingAllocator::new();
    let a = Arc::try_new_in((), &alloc, M_NOWAIT).unwrap();
    let b = a.clone();
    assert_eq!(Arc::strong_count(&b), 2);
    drop((a, b));
    assert!(alloc.is_clean());
}

#[test]
fn get_mut_only_when_unique() {
    let mut a: HostArc<u32> = Arc::try_new(1, M_NOWAIT).unwrap();
    *Arc::get_mut(&mut a).unwrap() = 2;
    let b = a.clone();
    assert!(Arc::get_mut(&mut a).is_none());
    drop(b);
    assert_eq!(Arc::get_mut(&mut a).copied(), Some(2));
}

#[test]
fn get_mut_unchecked_writes_a_new_arc() {
    let mut a: HostArc<u32> = Arc::try_new(1, M_NOWAIT).unwrap();
    // SAFETY: just made, so unique; nothing clones it meanwhile.
    *unsafe { Arc::get_mut_unchecked(&mut a) } = 3;
    assert_eq!(*a, 3);
}

#[test]
fn try_unwrap_and_into_inner() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let a = Arc::try_new_in(log.make(5), &alloc, M_NOWAIT).unwrap();
    let b = a.clone();
    let a = Arc::try_unwrap(a).unwrap_err();
    assert_eq!(Arc::strong_count(&a), 2);
    assert_eq!(Arc::into_inner(b), None);
    let value: Tracked<'_> = Arc::try_unwrap(a).unwrap();
    assert_eq!((value.id, log.drops()), (5, 0));
    drop(value);
    assert!(alloc.is_clean());

    let c = Arc::try_new_in(log.make(6), &alloc, M_NOWAIT).unwrap();
    let d = c.clone();
    assert!(Arc::into_inner(c).is_none());
    assert_eq!(Arc::into_inner(d).map(|t| t.id), Some(6));
    assert_eq!(log.drops(), 2);
    assert!(alloc.is_clean());
}

#[test]
fn pointers() {
    let a: HostArc<u32> = Arc::try_new(1, M_NOWAIT).unwrap();
    let b = a.clone();
    let c: HostArc<u32> = Arc::try_new(1, M_NOWAIT).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(Arc::as_ptr(&a), &raw const *b);
    assert_eq!(a, c);
    assert!(format!("{a:p}").starts_with("0x"));
    assert_eq!(Arc::allocator(&a), &HostAllocator);
}

#[test]
fn raw_round_trips() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let a = Arc::try_new_in(log.make(7), alloc.clone(), M_NOWAIT).unwrap();
    let b = a.clone();
    let (raw, a_alloc) = Arc::into_raw_with_allocator(a);
    assert_eq!(Arc::strong_count(&b), 2);
    // SAFETY: `raw` is valid while `b` lives.
    assert_eq!(unsafe { (*raw).id }, 7);
    // SAFETY: from `into_raw_with_allocator`, taken back once.
    let a = unsafe { Arc::from_raw_in(raw, a_alloc) };
    assert!(Arc::ptr_eq(&a, &b));
    drop((a, b));
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());

    // `into_raw` leaks the allocator value: lend it, so that nothing leaks.
    let c = Arc::try_new_in(log.make(8), &alloc, M_NOWAIT).unwrap();
    let raw = Arc::into_raw(c);
    // SAFETY: from `into_raw`, taken back once, with a copy of the allocator.
    drop(unsafe { Arc::from_raw_in(raw, &alloc) });
    assert_eq!(log.drops(), 2);
    assert!(alloc.is_clean());

    let h: HostArc<u64> = Arc::try_new(3, M_NOWAIT).unwrap();
    // SAFETY: from `into_raw`, taken back once.
    let h: HostArc<u64> = unsafe { Arc::from_raw(Arc::into_raw(h)) };
    assert_eq!(*h, 3);
}

#[test]
fn unsized_through_raw_pointers() {
    #[repr(align(64))]
    #[derive(Debug)]
    struct Aligned(#[expect(dead_code, reason = "only printed by `Debug`")] u8);

    let alloc = FailingAllocator::new();
    let a = Arc::try_new_in(Aligned(9), &alloc, M_NOWAIT).unwrap();
    let raw = Arc::into_raw(a);
    let raw: *const dyn fmt::Debug = raw;
    // SAFETY: from `into_raw`, unsized by coercion, taken back once.
    let dynamic: Arc<dyn fmt::Debug, _> = unsafe { Arc::from_raw_in(raw, &alloc) };
    assert_eq!(format!("{dynamic:?}"), "Aligned(9)");
    let clone = dynamic.clone();
    drop(dynamic);
    drop(clone);

    let log = Log::new();
    let b = Arc::try_new_in([log.make(1), log.make(2)], &alloc, M_NOWAIT).unwrap();
    let raw = Arc::into_raw(b);
    let raw: *const [Tracked<'_>] = raw;
    // SAFETY: from `into_raw`, unsized by coercion, taken back once.
    let slice: Arc<[Tracked<'_>], _> = unsafe { Arc::from_raw_in(raw, &alloc) };
    assert_eq!(slice.len(), 2);
    drop(slice);
    assert_eq!(log.drops(), 2);
    // The layouts given back matched the ones allocated.
    assert!(alloc.is_clean(), "{:?}", alloc.violations());
}

#[test]
fn pinning() {
    let alloc = FailingAllocator::new();
    let pinned = Arc::try_pin_in(core::marker::PhantomPinned, &alloc, M_NOWAIT).unwrap();
    let other = pinned.clone();
    drop((pinned, other));
    alloc.fail_next();
    assert!(Arc::try_pin_in(1u8, &alloc, M_NOWAIT).is_err());
    let h: Pin<HostArc<u8>> = Arc::try_pin(4, M_NOWAIT).unwrap();
    assert_eq!(*h, 4);
    assert!(alloc.is_clean());
}

#[test]
fn saturated_count_leaks_instead_of_freeing() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let a = Arc::try_new_in(log.make(1), &alloc, M_NOWAIT).unwrap();
    // Pretend that `MAX_REFCOUNT - 1` clones were leaked.
    a.inner()
        .count
        .store(MAX_REFCOUNT, atomic::Ordering::Relaxed);
    let b = a.clone();
    assert_eq!(Arc::strong_count(&a), SATURATED);
    drop(b);
    assert_eq!(Arc::strong_count(&a), SATURATED);
    let c = a.clone();
    assert_eq!(Arc::into_inner(c).map(drop), None);
    let mut a = Arc::try_unwrap(a).unwrap_err();
    assert!(Arc::get_mut(&mut a).is_none());
    let last = a.clone();
    drop(a);
    // The value is leaked: never dropped, never freed.
    assert_eq!(log.drops(), 0);
    assert_eq!(alloc.stats().live_allocations, 1);
    // Clean up (for leak checkers): pretend the count was right all along.
    last.inner().count.store(1, atomic::Ordering::Relaxed);
    drop(last);
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());
}

#[test]
fn saturation_starts_at_max_refcount_on_clone_and_above_it_on_drop() {
    let alloc = FailingAllocator::new();
    let a = Arc::try_new_in(7u8, &alloc, M_NOWAIT).unwrap();
    let count = |x: &Arc<u8, &FailingAllocator>| Arc::strong_count(x);
    // The last clone that is still counted...
    a.inner()
        .count
        .store(MAX_REFCOUNT - 1, atomic::Ordering::Relaxed);
    let b = a.clone();
    assert_eq!(count(&a), MAX_REFCOUNT);
    // ...a drop that leaves the count at or below MAX_REFCOUNT counts...
    drop(b);
    assert_eq!(count(&a), MAX_REFCOUNT - 1);
    // ...and the clone from MAX_REFCOUNT saturates.
    a.inner()
        .count
        .store(MAX_REFCOUNT, atomic::Ordering::Relaxed);
    let c = a.clone();
    assert_eq!(count(&a), SATURATED);
    // A drop that leaves it above MAX_REFCOUNT pins it again.
    a.inner()
        .count
        .store(MAX_REFCOUNT + 2, atomic::Ordering::Relaxed);
    drop(c);
    assert_eq!(count(&a), SATURATED);
    // Clean up (for leak checkers).
    a.inner().count.store(1, atomic::Ordering::Relaxed);
    drop(a);
    assert!(alloc.is_clean());
}

#[test]
fn uninit_is_built_in_place_then_behaves_as_the_value() {
    let alloc = FailingAllocator::new();
    alloc.fail_next();
    assert!(Arc::<u64, _>::try_new_uninit_in(&alloc, M_NOWAIT).is_err());
    let mut zeroed = Arc::<[u8; 24], _>::try_new_uninit_in(&alloc, M_NOWAIT | M_ZERO).unwrap();
    let slot = Arc::get_mut(&mut zeroed).unwrap();
    // SAFETY: allocated with M_ZERO: all-zero bytes, a valid `[u8; 24]`.
    assert_eq!(unsafe { slot.assume_init_ref() }, &[0u8; 24]);
    let log = Log::new();
    let mut b = Arc::<Tracked<'_>, _>::try_new_uninit_in(&alloc, M_NOWAIT).unwrap();
    Arc::get_mut(&mut b).unwrap().write(log.make(5));
    // SAFETY: written just above.
    let b = unsafe { Arc::assume_init(b) };
    let c = b.clone();
    assert_eq!(Arc::strong_count(&c), 2);
    drop(b);
    assert_eq!(log.drops(), 0);
    drop(c);
    assert_eq!(log.drops(), 1);
    // An uninitialised value is freed without being dropped.
    drop(zeroed);
    assert!(alloc.is_clean());
}

#[test]
fn saturation_constants() {
    assert_eq!(MAX_REFCOUNT, isize::MAX as usize);
    // Room on both sides for racing increments and decrements.
    const { assert!(SATURATED - MAX_REFCOUNT > 1 << 61) };
    const { assert!(usize::MAX - SATURATED > 1 << 61) };
    assert_eq!(SATURATED, 0b11 << (usize::BITS - 2));
}

#[test]
fn comparison_hashing_formatting() {
    let a: HostArc<u32> = Arc::try_new(1, M_NOWAIT).unwrap();
    let b: HostArc<u32> = Arc::try_new(2, M_NOWAIT).unwrap();
    assert!(a < b);
    assert_eq!(a.cmp(&b), Ordering::Less);
    assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
    assert_eq!(format!("{a} {b:?}"), "1 2");
    assert_eq!(*a.as_ref(), 1);
    assert_eq!(*Borrow::<u32>::borrow(&a), 1);
    let state = RandomState::new();
    assert_eq!(state.hash_one(&a), state.hash_one(1u32));
}

#[test]
fn send_and_sync_are_those_of_std() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<HostArc<u8>>();
    send_sync::<Arc<std::sync::Mutex<u8>, FailingAllocator>>();
}
