// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`Vec`], [`IntoIter`] and [`Drain`].

use super::*;
use crate::test_support::{Log, Tracked};
use crate::testing::{FailingAllocator, Stats};
use crate::{HostAllocator, M_NOWAIT, M_WAITOK, M_ZERO, TryClone, try_vec};
use core::borrow::{Borrow, BorrowMut};
use core::hash::BuildHasher;
use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::collections::hash_map::RandomState;
use std::format;
use std::panic::catch_unwind;

type HostVec<T> = Vec<T, HostAllocator>;

/// Everything observable about a vector, to check that a failed call
/// changed nothing.
fn snapshot<T: Clone, A: Allocator>(v: &Vec<T, A>) -> (*const T, usize, usize, std::vec::Vec<T>) {
    (v.as_ptr(), v.len(), v.capacity(), v.as_slice().to_vec())
}

/// The counters without the request and failure counts.
fn live(stats: Stats) -> (usize, usize) {
    (stats.live_allocations, stats.live_bytes)
}

#[test]
fn new_does_not_allocate() {
    let alloc = FailingAllocator::new();
    let v = Vec::<u32, _>::new_in(&alloc);
    assert_eq!((v.len(), v.capacity(), v.is_empty()), (0, 0, true));
    let d: HostVec<u8> = Vec::default();
    let n: HostVec<u8> = Vec::new();
    assert_eq!(d.capacity() + n.capacity(), 0);
    assert_eq!(v.allocator().stats().requests, 0);
    drop(v);
    assert_eq!(alloc.stats().requests, 0);
}

#[test]
fn with_capacity_allocates_exactly() {
    let alloc = FailingAllocator::new();
    let v = Vec::<u32, _>::try_with_capacity_in(10, &alloc, M_NOWAIT).unwrap();
    assert_eq!((v.len(), v.capacity()), (0, 10));
    assert_eq!(live(alloc.stats()), (1, 40));
    let empty = Vec::<u32, _>::try_with_capacity_in(0, &alloc, M_NOWAIT).unwrap();
    assert_eq!(empty.capacity(), 0);
    assert_eq!(alloc.stats().requests, 1);
    let host: HostVec<u8> = Vec::try_with_capacity(3, M_NOWAIT).unwrap();
    assert_eq!(host.capacity(), 3);
    drop(v);
    assert!(alloc.is_clean());
}

#[test]
fn with_capacity_failures() {
    let alloc = FailingAllocator::new();
    alloc.fail_next();
    assert!(Vec::<u32, _>::try_with_capacity_in(10, &alloc, M_NOWAIT).is_err());
    // Overflow never reaches the allocator.
    assert!(Vec::<u32, _>::try_with_capacity_in(usize::MAX, &alloc, M_NOWAIT).is_err());
    assert!(Vec::<u32, _>::try_with_capacity_in(usize::MAX / 4 + 1, &alloc, M_NOWAIT).is_err());
    assert_eq!(alloc.stats().requests, 1);
    assert!(alloc.is_clean());
}

#[test]
fn push_grows_like_std() {
    let alloc = FailingAllocator::new();
    let mut bytes = Vec::new_in(&alloc);
    let mut words = Vec::new_in(&alloc);
    let mut big = Vec::<[u8; 2048], _>::new_in(&alloc);
    let mut byte_caps = std::vec::Vec::new();
    let mut word_caps = std::vec::Vec::new();
    for i in 0..20u32 {
        bytes.try_push(u8::try_from(i).unwrap(), M_NOWAIT).unwrap();
        words.try_push(i, M_WAITOK).unwrap();
        byte_caps.push(bytes.capacity());
        word_caps.push(words.capacity());
    }
    big.try_reserve(1, M_NOWAIT).unwrap();
    assert_eq!(big.capacity(), 1);
    byte_caps.dedup();
    word_caps.dedup();
    assert_eq!(byte_caps, [8, 16, 32]);
    assert_eq!(word_caps, [4, 8, 16, 32]);
    assert_eq!(bytes, (0..20).collect::<std::vec::Vec<u8>>().as_slice());
    assert_eq!(words.iter().sum::<u32>(), 190);
    drop((bytes, words, big));
    assert!(alloc.is_clean(), "{:?}", alloc.violations());
}

#[test]
fn push_failure_changes_nothing_and_drops_the_value() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    for id in 0..4 {
        v.try_push(log.make(id), M_NOWAIT).unwrap();
    }
    assert_eq!(v.capacity(), 4);
    let before = snapshot(&v);
    let stats = alloc.stats();
    alloc.fail_next();
    assert_eq!(v.try_push(log.make(9), M_NOWAIT), Err(AllocError));
    assert_eq!(snapshot(&v), before);
    assert_eq!(live(alloc.stats()), live(stats));
    assert_eq!(log.drops(), 1 + 4); // the rejected value and the snapshot
    drop(v);
    assert_eq!(log.drops(), 1 + 4 + 4);
    assert!(alloc.is_clean());
}

#[test]
fn push_within_capacity_never_allocates() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::try_with_capacity_in(2, &alloc, M_NOWAIT).unwrap();
    assert_eq!(v.push_within_capacity(1u8), Ok(()));
    assert_eq!(v.push_within_capacity(2), Ok(()));
    assert_eq!(v.push_within_capacity(3), Err(3));
    assert_eq!(alloc.stats().requests, 1);
    assert_eq!(v, [1, 2]);
    let mut empty = Vec::new_in(&alloc);
    assert_eq!(empty.push_within_capacity(1u8), Err(1));
}

#[test]
fn reserve_and_reserve_exact() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::<u16, _>::new_in(&alloc);
    v.try_reserve_exact(3, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 3);
    v.try_reserve(3, M_NOWAIT).unwrap();
    assert_eq!((v.capacity(), alloc.stats().requests), (3, 1));
    v.try_extend_from_slice(&[1, 2, 3], M_NOWAIT).unwrap();
    v.try_reserve(1, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 6);
    v.try_reserve(10, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 13);
    v.try_reserve_exact(20, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 23);
    assert_eq!(v, [1, 2, 3]);
    drop(v);
    assert!(alloc.is_clean(), "{:?}", alloc.violations());
}

#[test]
fn reserve_failures_change_nothing() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend_from_slice(&[1u64, 2, 3], M_NOWAIT).unwrap();
    let before = snapshot(&v);
    let stats = alloc.stats();
    alloc.fail_next();
    assert!(v.try_reserve(10, M_NOWAIT).is_err());
    alloc.fail_next();
    assert!(v.try_reserve_exact(10, M_NOWAIT).is_err());
    assert!(v.try_reserve(usize::MAX, M_NOWAIT).is_err());
    assert!(v.try_reserve_exact(usize::MAX - 2, M_NOWAIT).is_err());
    assert!(v.try_reserve(usize::MAX / 8, M_NOWAIT).is_err());
    assert_eq!(snapshot(&v), before);
    assert_eq!(live(alloc.stats()), live(stats));
    assert_eq!(alloc.stats().requests, stats.requests + 2);
}

#[test]
fn extend_from_slice_and_its_failure() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend_from_slice(b"abc", M_NOWAIT).unwrap();
    v.try_extend_from_slice(b"", M_NOWAIT).unwrap();
    v.try_extend_from_slice(b"de", M_ZERO | M_NOWAIT).unwrap();
    assert_eq!(v, *b"abcde");
    let before = snapshot(&v);
    alloc.fail_next();
    assert!(v.try_extend_from_slice(&[0; 100], M_NOWAIT).is_err());
    assert_eq!(snapshot(&v), before);
}

#[test]
fn extend_from_slice_survives_a_panicking_clone() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let source: std::vec::Vec<Tracked<'_>> = (0..5).map(|id| log.make(id)).collect();
    let mut v = Vec::new_in(&alloc);
    v.try_push(log.make(100), M_NOWAIT).unwrap();
    log.clones_before_panic.set(Some(3));
    let result = catch_unwind(AssertUnwindSafe(|| {
        v.try_extend_from_slice(&source, M_NOWAIT)
    }));
    assert!(result.is_err());
    log.clones_before_panic.set(None);
    // The three clones made before the panic were kept.
    assert_eq!(
        v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(),
        [100, 0, 1, 2]
    );
    drop(v);
    assert_eq!(log.drops(), 4);
    drop(source);
    assert_eq!(log.drops(), 9);
    assert!(alloc.is_clean());
}

#[test]
fn extend_from_an_iterator() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..3).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    v.try_extend(core::iter::from_fn(|| None), M_NOWAIT)
        .unwrap();
    assert_eq!(v.len(), 3);
    let ids = |v: &Vec<Tracked<'_>, _>| v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>();
    // Fails after growing once: the items appended by the call are dropped.
    alloc.fail_after(0);
    let mut next = 10;
    let unsized_hint = core::iter::from_fn(|| {
        next += 1;
        (next < 30).then(|| log.make(next))
    });
    assert!(v.try_extend(unsized_hint, M_NOWAIT).is_err());
    assert_eq!(ids(&v), [0, 1, 2]);
    assert_eq!(log.drops(), 2); // the items 11 and 12 (the second one was rejected)
    drop(v);
    assert!(alloc.is_clean());
}

#[test]
fn insert() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::new_in(&alloc);
    v.try_insert(0, 2, M_NOWAIT).unwrap();
    v.try_insert(0, 0, M_NOWAIT).unwrap();
    v.try_insert(1, 1, M_NOWAIT).unwrap();
    v.try_insert(3, 3, M_NOWAIT).unwrap();
    assert_eq!(v, [0, 1, 2, 3]);
    let before = snapshot(&v);
    let error = v.try_insert(5, 9, M_NOWAIT).unwrap_err();
    assert_eq!(error.alloc_error(), None);
    assert_eq!(
        format!("{error} {error:?}"),
        "insertion index is past the end of the vector IndexOutOfBounds(..)"
    );
    assert_eq!(error.into_inner(), 9);
    alloc.fail_next();
    let error = v.try_insert(1, 8, M_NOWAIT).unwrap_err();
    assert_eq!(error.alloc_error(), Some(AllocError));
    assert_eq!(
        format!("{error} {error:?}"),
        "memory allocation failed Alloc(..)"
    );
    assert_eq!(error, InsertError::Alloc(8));
    assert_eq!(snapshot(&v), before);
}

#[test]
fn resize() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_resize(3, log.make(1), M_NOWAIT).unwrap();
    assert_eq!((v.len(), log.clones.get(), log.drops()), (3, 2, 0));
    v.try_resize(3, log.make(2), M_NOWAIT).unwrap();
    assert_eq!(log.drops(), 1);
    v.try_resize(1, log.make(3), M_NOWAIT).unwrap();
    assert_eq!((v.len(), log.drops()), (1, 4));
    let stats = alloc.stats();
    alloc.fail_next();
    assert!(v.try_resize(100, log.make(4), M_NOWAIT).is_err());
    assert_eq!((v.len(), log.drops()), (1, 5));
    assert_eq!(live(alloc.stats()), live(stats));
    drop(v);
    assert!(alloc.is_clean());
}

#[test]
fn from_elem_and_from_array() {
    let alloc = FailingAllocator::new();
    let v = Vec::try_from_elem_in(7u8, 3, &alloc, M_NOWAIT).unwrap();
    assert_eq!(v, [7, 7, 7]);
    let empty = Vec::try_from_elem_in(7u8, 0, &alloc, M_NOWAIT).unwrap();
    assert!(empty.is_empty());
    let log = Log::new();
    alloc.fail_next();
    assert!(Vec::try_from_array_in([log.make(1), log.make(2)], &alloc, M_NOWAIT).is_err());
    assert_eq!(log.drops(), 2);
    let moved = Vec::try_from_array_in([log.make(3), log.make(4)], &alloc, M_NOWAIT).unwrap();
    assert_eq!(log.drops(), 2);
    drop(moved);
    assert_eq!(log.drops(), 4);
    let host: HostVec<u8> = Vec::try_from_elem(1, 2, M_NOWAIT).unwrap();
    let array: HostVec<u8> = Vec::try_from_array([1, 1], M_NOWAIT).unwrap();
    assert_eq!(host, array);
    drop(v);
    assert!(alloc.is_clean());
}

#[test]
fn macros() {
    let list: HostVec<i32> = try_vec![1, 2, 3; M_NOWAIT].unwrap();
    let trailing: HostVec<i32> = try_vec![1, 2, 3,; M_NOWAIT].unwrap();
    let one: HostVec<&str> = try_vec!["x"; M_NOWAIT].unwrap();
    let repeated: HostVec<u8> = try_vec![0xaa; 4; M_WAITOK | M_ZERO].unwrap();
    let empty: HostVec<u8> = try_vec![].unwrap();
    assert_eq!(list, trailing);
    assert_eq!(one, ["x"]);
    assert_eq!(repeated, [0xaa; 4]);
    assert!(empty.is_empty());
}

#[test]
fn pop_truncate_clear() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..6).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    assert_eq!(v.pop().map(|t| t.id), Some(5));
    assert_eq!(log.drops(), 1);
    v.truncate(10);
    v.truncate(5);
    assert_eq!(log.drops(), 1);
    v.truncate(2);
    assert_eq!((v.len(), log.drops()), (2, 4));
    let capacity = v.capacity();
    v.clear();
    assert_eq!((v.len(), v.capacity(), log.drops()), (0, capacity, 6));
    assert!(v.pop().is_none());
    drop(v);
    assert!(alloc.is_clean());
}

#[test]
fn remove_and_swap_remove() {
    let mut v: HostVec<u8> = try_vec![0, 1, 2, 3, 4; M_NOWAIT].unwrap();
    assert_eq!(v.remove(1), Some(1));
    assert_eq!(v, [0, 2, 3, 4]);
    assert_eq!(v.remove(3), Some(4));
    assert_eq!(v.remove(3), None);
    assert_eq!(v.swap_remove(0), Some(0));
    assert_eq!(v, [3, 2]);
    assert_eq!(v.swap_remove(1), Some(2));
    assert_eq!(v.swap_remove(1), None);
    assert_eq!(v, [3]);
}

#[test]
fn retain_keeps_order_and_drops_once() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..10).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    v.retain(|t| t.id % 3 != 0);
    assert_eq!(
        v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(),
        [1, 2, 4, 5, 7, 8]
    );
    assert_eq!(log.drops(), 4);
    v.retain_mut(|t| {
        t.id += 100;
        t.id != 104
    });
    assert_eq!(
        v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(),
        [101, 102, 105, 107, 108]
    );
    v.retain(|_| true);
    assert_eq!(v.len(), 5);
    v.retain(|_| false);
    assert_eq!((v.len(), log.drops()), (0, 10));
}

#[test]
fn retain_survives_a_panicking_predicate() {
    let log = Log::new();
    let mut v: HostVec<Tracked<'_>> = Vec::new();
    v.try_extend((0..6).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        v.retain(|t| {
            assert!(t.id != 3, "predicate panics on purpose");
            t.id % 2 == 0
        });
    }));
    assert!(result.is_err());
    // Elements 1 was removed; 3 (where it panicked) and later are kept.
    assert_eq!(
        v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(),
        [0, 2, 3, 4, 5]
    );
    assert_eq!(log.drops(), 1);
    drop(v);
    assert_eq!(log.drops(), 6);
}

#[test]
fn drain_ranges() {
    let mut v: HostVec<u8> = try_vec![0, 1, 2, 3, 4, 5; M_NOWAIT].unwrap();
    assert_eq!(v.drain(1..3).unwrap().collect::<std::vec::Vec<_>>(), [1, 2]);
    assert_eq!(v, [0, 3, 4, 5]);
    assert_eq!(v.drain(..=0).unwrap().collect::<std::vec::Vec<_>>(), [0]);
    assert_eq!(
        v.drain(1..).unwrap().rev().collect::<std::vec::Vec<_>>(),
        [5, 4]
    );
    v.try_extend_from_slice(&[4], M_NOWAIT).unwrap();
    assert_eq!(
        v.drain((core::ops::Bound::Excluded(0), core::ops::Bound::Unbounded))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(v, [3]);
    assert_eq!(v.drain(1..1).unwrap().count(), 0);
    assert!(v.drain(0..2).is_none());
    assert!(v.drain(..=usize::MAX).is_none());
    assert!(
        v.drain((
            core::ops::Bound::Excluded(usize::MAX),
            core::ops::Bound::Unbounded
        ))
        .is_none()
    );
    {
        #[expect(
            clippy::reversed_empty_ranges,
            reason = "checks that a decreasing range is refused"
        )]
        let decreasing = v.drain(1..0);
        assert!(decreasing.is_none());
    }
    assert_eq!(v, [3]);
    assert_eq!(v.drain(..).unwrap().size_hint(), (1, Some(1)));
    assert!(v.is_empty());
}

#[test]
fn drain_dropped_midway_drops_the_rest_and_moves_the_tail() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..8).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    {
        let mut drain = v.drain(2..6).unwrap();
        assert_eq!(drain.next().map(|t| t.id), Some(2));
        assert_eq!(drain.next_back().map(|t| t.id), Some(5));
        assert_eq!(
            drain
                .as_slice()
                .iter()
                .map(|t| t.id)
                .collect::<std::vec::Vec<_>>(),
            [3, 4]
        );
        assert!(format!("{drain:?}").starts_with("Drain(["));
    }
    assert_eq!(log.drops(), 4);
    assert_eq!(
        v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(),
        [0, 1, 6, 7]
    );
    drop(v);
    assert_eq!(log.drops(), 8);
    assert!(alloc.is_clean());
}

#[test]
fn drain_leaked_is_sound() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..6).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    let mut drain = core::mem::ManuallyDrop::new(v.drain(1..3).unwrap());
    assert_eq!(drain.next().map(|t| t.id), Some(1));
    // The vector keeps only the elements before the range; the rest leaks.
    assert_eq!(v.iter().map(|t| t.id).collect::<std::vec::Vec<_>>(), [0]);
    v.try_push(log.make(9), M_NOWAIT).unwrap();
    drop(v);
    assert_eq!(log.drops(), 3);
    assert!(alloc.is_clean());
}

#[test]
fn drain_survives_a_panicking_drop() {
    struct PanicOnDrop(u8, &'static AtomicUsize);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
            assert!(self.0 != 2, "drop panics on purpose");
        }
    }
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let mut v: HostVec<PanicOnDrop> = Vec::new();
    v.try_extend((0..5).map(|i| PanicOnDrop(i, &DROPS)), M_NOWAIT)
        .unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| drop(v.drain(1..4).unwrap())));
    assert!(result.is_err());
    assert_eq!(DROPS.load(Ordering::Relaxed), 3);
    assert_eq!(v.iter().map(|p| p.0).collect::<std::vec::Vec<_>>(), [0, 4]);
}

#[test]
fn into_iter_by_value() {
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let mut v = Vec::new_in(&alloc);
    v.try_extend((0..5).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    let mut iter = v.into_iter();
    assert_eq!(iter.size_hint(), (5, Some(5)));
    assert_eq!(iter.next().map(|t| t.id), Some(0));
    assert_eq!(iter.next_back().map(|t| t.id), Some(4));
    assert_eq!(iter.as_slice().len(), 3);
    iter.as_mut_slice()[0].id = 10;
    assert!(format!("{iter:?}").contains("id: 10"));
    assert_eq!(log.drops(), 2);
    drop(iter);
    assert_eq!(log.drops(), 5);
    assert!(alloc.is_clean());

    let numbers: HostVec<u8> = try_vec![1, 2, 3; M_NOWAIT].unwrap();
    let mut collected = std::vec::Vec::new();
    for n in numbers {
        collected.push(n);
    }
    assert_eq!(collected, [1, 2, 3]);
    let mut empty = HostVec::<u8>::new().into_iter();
    assert_eq!((empty.next(), empty.next_back()), (None, None));
}

#[test]
fn into_iter_leaked_is_sound() {
    let log = Log::new();
    let mut v: HostVec<Tracked<'_>> = Vec::new();
    v.try_extend((0..3).map(|id| log.make(id)), M_NOWAIT)
        .unwrap();
    let mut iter = core::mem::ManuallyDrop::new(v.into_iter());
    assert_eq!(iter.next().map(|t| t.id), Some(0));
    assert_eq!(log.drops(), 1);
    // SAFETY: the iterator is dropped once, to free its memory.
    unsafe { core::mem::ManuallyDrop::drop(&mut iter) };
    assert_eq!(log.drops(), 3);
}

#[test]
fn iteration_by_reference() {
    let mut v: HostVec<u32> = try_vec![1, 2, 3; M_NOWAIT].unwrap();
    for x in &mut v {
        *x *= 2;
    }
    let mut sum = 0;
    for x in &v {
        sum += x;
    }
    assert_eq!(sum, 12);
}

#[test]
fn slices_and_pointers() {
    let mut v: HostVec<u32> = try_vec![1, 2; M_NOWAIT].unwrap();
    v.as_mut_slice()[0] = 5;
    assert_eq!(v.as_slice(), [5, 2]);
    let second = v.as_mut_ptr().wrapping_add(1);
    // SAFETY: index 1 is in bounds.
    unsafe { *second = 6 };
    let second = v.as_ptr().wrapping_add(1);
    // SAFETY: index 1 is in bounds.
    assert_eq!(unsafe { *second }, 6);
    assert_eq!(AsRef::<[u32]>::as_ref(&v), [5, 6]);
    AsMut::<[u32]>::as_mut(&mut v)[1] = 7;
    assert_eq!(Borrow::<[u32]>::borrow(&v), [5, 7]);
    BorrowMut::<[u32]>::borrow_mut(&mut v)[1] = 8;
    assert_eq!(AsRef::<HostVec<u32>>::as_ref(&v)[1], 8);
    v.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(v, [8, 5]);
}

#[test]
fn spare_capacity_and_set_len() {
    let mut v: HostVec<u16> = Vec::try_with_capacity(4, M_NOWAIT).unwrap();
    v.try_push(1, M_NOWAIT).unwrap();
    let spare = v.spare_capacity_mut();
    assert_eq!(spare.len(), 3);
    spare[0].write(2);
    spare[1].write(3);
    // SAFETY: two more elements were written, within capacity.
    unsafe { v.set_len(3) };
    assert_eq!(v, [1, 2, 3]);
    // SAFETY: shrinking over `Copy` elements.
    unsafe { v.set_len(1) };
    assert_eq!(v, [1]);
}

#[test]
fn shrink_to_fit_and_its_failure() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::<u32, _>::try_with_capacity_in(10, &alloc, M_NOWAIT).unwrap();
    v.try_extend_from_slice(&[1, 2, 3], M_NOWAIT).unwrap();
    let before = snapshot(&v);
    alloc.fail_next();
    assert!(v.shrink_to_fit(M_NOWAIT).is_err());
    assert_eq!(snapshot(&v), before);
    v.shrink_to(5, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 5);
    v.shrink_to(8, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), 5);
    v.shrink_to_fit(M_NOWAIT).unwrap();
    assert_eq!((v.capacity(), alloc.stats().live_bytes), (3, 12));
    v.clear();
    let requests = alloc.stats().requests;
    v.shrink_to_fit(M_NOWAIT).unwrap();
    assert_eq!((v.capacity(), alloc.stats().requests), (0, requests));
    assert!(alloc.is_clean());
    v.try_push(1, M_NOWAIT).unwrap();
    assert_eq!(v, [1]);
}

#[test]
fn into_boxed_slice() {
    let alloc = FailingAllocator::new();
    let mut v = Vec::try_with_capacity_in(8, &alloc, M_NOWAIT).unwrap();
    v.try_extend_from_slice(&[1u64, 2, 3], M_NOWAIT).unwrap();
    let boxed = v.try_into_boxed_slice(M_NOWAIT).unwrap();
    assert_eq!(*boxed, [1, 2, 3]);
    assert_eq!(alloc.stats().live_bytes, 24);
    let back = Box::into_vec(boxed);
    assert_eq!(back.capacity(), 3);
    drop(back);

    let empty = Vec::<u64, _>::try_with_capacity_in(8, &alloc, M_NOWAIT).unwrap();
    assert_eq!(empty.try_into_boxed_slice(M_NOWAIT).unwrap().len(), 0);
    assert!(alloc.is_clean(), "{:?}", alloc.violations());

    let log = Log::new();
    let mut v = Vec::try_with_capacity_in(4, &alloc, M_NOWAIT).unwrap();
    v.try_push(log.make(1), M_NOWAIT).unwrap();
    alloc.fail_next();
    assert!(v.try_into_boxed_slice(M_NOWAIT).is_err());
    assert_eq!(log.drops(), 1);
    assert!(alloc.is_clean());
}

#[test]
fn zero_sized_elements_never_allocate() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    #[derive(Clone, Debug, PartialEq)]
    struct Zst;
    impl Drop for Zst {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let alloc = FailingAllocator::new();
    alloc.set_fail_all(true);
    let mut v = Vec::try_with_capacity_in(5, &alloc, M_NOWAIT).unwrap();
    assert_eq!(v.capacity(), usize::MAX);
    for _ in 0..100 {
        v.try_push(Zst, M_NOWAIT).unwrap();
    }
    v.try_extend_from_slice(&[Zst, Zst], M_NOWAIT).unwrap();
    DROPS.store(0, Ordering::Relaxed);
    v.try_reserve(usize::MAX - 102, M_NOWAIT).unwrap();
    assert!(v.try_reserve(usize::MAX, M_NOWAIT).is_err());
    v.shrink_to_fit(M_NOWAIT).unwrap();
    assert!(v.pop().is_some());
    assert!(v.remove(3).is_some());
    assert_eq!(DROPS.load(Ordering::Relaxed), 2);
    assert_eq!(v.drain(10..20).unwrap().count(), 10);
    v.truncate(50);
    assert_eq!(DROPS.load(Ordering::Relaxed), 2 + 10 + 40);
    let mut iter = v.into_iter();
    assert!(iter.next().is_some());
    drop(iter);
    assert_eq!(DROPS.load(Ordering::Relaxed), 102);
    let boxed = Vec::try_from_elem_in(Zst, 3, &alloc, M_NOWAIT)
        .unwrap()
        .try_into_boxed_slice(M_NOWAIT)
        .unwrap();
    assert_eq!(Box::into_vec(boxed).len(), 3);
    assert_eq!(alloc.stats().requests, 0);
    assert!(alloc.is_clean());
}

#[test]
fn comparison_hashing_formatting() {
    let a: HostVec<u8> = try_vec![1, 2; M_NOWAIT].unwrap();
    let alloc = FailingAllocator::new();
    let b = Vec::try_from_array_in([1u8, 2], &alloc, M_NOWAIT).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, [1, 2]);
    assert_eq!(a, &[1, 2]);
    assert_eq!(a, [1u8, 2][..]);
    assert_eq!(a, &[1u8, 2][..]);
    assert_eq!([1u8, 2][..], a);
    assert_eq!(&[1u8, 2][..], a);
    let larger: HostVec<u8> = try_vec![1, 3; M_NOWAIT].unwrap();
    assert!(a < larger);
    assert_eq!(a.cmp(&a), core::cmp::Ordering::Equal);
    assert_eq!(a.partial_cmp(&b), Some(core::cmp::Ordering::Equal));
    let state = RandomState::new();
    assert_eq!(state.hash_one(&a), state.hash_one([1u8, 2].as_slice()));
    assert_eq!(format!("{a:?}"), "[1, 2]");
}

#[test]
fn try_clone_and_to_owned() {
    use crate::TryToOwned;
    let alloc = FailingAllocator::new();
    let v = Vec::try_from_array_in([1u8, 2, 3], alloc.clone(), M_NOWAIT).unwrap();
    let w = v.try_clone(M_NOWAIT).unwrap();
    assert_eq!(v, w);
    alloc.fail_next();
    assert!(v.try_clone(M_NOWAIT).is_err());
    let owned = [4u8, 5].try_to_owned_in(&alloc, M_NOWAIT).unwrap();
    assert_eq!(owned, [4, 5]);
    let from_slice: HostVec<u8> = [6u8][..].try_to_owned(M_NOWAIT).unwrap();
    assert_eq!(from_slice, [6]);
    alloc.fail_next();
    assert!([4u8, 5].try_to_owned_in(&alloc, M_NOWAIT).is_err());
    drop((v, w, owned));
    assert!(alloc.is_clean());
}

#[test]
fn to_owned_survives_a_panicking_clone() {
    use crate::TryToOwned;
    let alloc = FailingAllocator::new();
    let log = Log::new();
    let source = [log.make(0), log.make(1), log.make(2)];
    log.clones_before_panic.set(Some(2));
    let result = catch_unwind(AssertUnwindSafe(|| {
        source.try_to_owned_in(&alloc, M_NOWAIT).map(drop)
    }));
    assert!(result.is_err());
    assert_eq!(log.drops(), 2);
    assert!(alloc.is_clean());
}

#[test]
fn send_and_sync_follow_the_contents() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<HostVec<u8>>();
    send_sync::<IntoIter<u8, FailingAllocator>>();
    send_sync::<Drain<'static, u8, HostAllocator>>();
}
