// SPDX-License-Identifier: BSD-2-Clause
//! Property test: random operation sequences on [`Vec`], with random
//! allocation failures, against `std::vec::Vec` as the model.
//!
//! After each operation the vector equals the model. A failed operation
//! must leave the vector exactly as it was (same buffer, length, capacity
//! and contents) and the model untouched; at the end nothing is leaked and
//! every element was dropped exactly once.
#![allow(
    clippy::std_instead_of_alloc,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::large_stack_frames,
    reason = "a host test: std is the model, and a panic is a failed test"
)]

use alloc_kernel::testing::FailingAllocator;
use alloc_kernel::vec::InsertError;
use alloc_kernel::{M_NOWAIT, M_WAITOK, TryClone, Vec};
use core::cell::Cell;
use proptest::prelude::*;

thread_local! {
    /// Elements alive on this thread (proptest runs a test's cases on one
    /// thread).
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// An element that counts the live instances, to catch leaks and double
/// drops.
#[derive(Debug, PartialEq)]
struct Elem(u16);

impl Elem {
    fn new(value: u16) -> Self {
        LIVE.with(|live| live.set(live.get() + 1));
        Elem(value)
    }
}

impl Clone for Elem {
    fn clone(&self) -> Self {
        Elem::new(self.0)
    }
}

impl Drop for Elem {
    fn drop(&mut self) {
        LIVE.with(|live| live.set(live.get() - 1));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Push(u16),
    PushWithinCapacity(u16),
    ExtendFromSlice(std::vec::Vec<u16>),
    Extend(std::vec::Vec<u16>),
    Insert(usize, u16),
    Resize(usize, u16),
    Reserve(usize),
    ReserveExact(usize),
    Pop,
    Truncate(usize),
    Clear,
    Remove(usize),
    SwapRemove(usize),
    Retain(u16),
    Drain(usize, usize, usize),
    ShrinkToFit,
    ShrinkTo(usize),
    TryClone,
}

fn op() -> impl Strategy<Value = Op> {
    let small = || prop::collection::vec(any::<u16>(), 0..12);
    prop_oneof![
        4 => any::<u16>().prop_map(Op::Push),
        1 => any::<u16>().prop_map(Op::PushWithinCapacity),
        2 => small().prop_map(Op::ExtendFromSlice),
        1 => small().prop_map(Op::Extend),
        1 => (0..40usize, any::<u16>()).prop_map(|(i, x)| Op::Insert(i, x)),
        1 => (0..48usize, any::<u16>()).prop_map(|(n, x)| Op::Resize(n, x)),
        1 => prop_oneof![0..40usize, Just(usize::MAX), Just(usize::MAX / 16)].prop_map(Op::Reserve),
        1 => prop_oneof![0..40usize, Just(usize::MAX)].prop_map(Op::ReserveExact),
        1 => Just(Op::Pop),
        1 => (0..40usize).prop_map(Op::Truncate),
        1 => Just(Op::Clear),
        1 => (0..40usize).prop_map(Op::Remove),
        1 => (0..40usize).prop_map(Op::SwapRemove),
        1 => (1..5u16).prop_map(Op::Retain),
        1 => (0..40usize, 0..40usize, 0..10usize).prop_map(|(a, b, k)| Op::Drain(a, b, k)),
        1 => Just(Op::ShrinkToFit),
        1 => (0..40usize).prop_map(Op::ShrinkTo),
        1 => Just(Op::TryClone),
    ]
}

/// An operation and, optionally, the number of requests to let through
/// before one fails.
fn step() -> impl Strategy<Value = (Op, Option<usize>)> {
    (
        op(),
        prop_oneof![3 => Just(None), 1 => (0..2usize).prop_map(Some)],
    )
}

fn elems(values: &[u16]) -> std::vec::Vec<Elem> {
    values.iter().map(|&v| Elem::new(v)).collect()
}

/// Applies `op` to both; returns whether the vector reported a failure
/// (allocation or refused index), in which case the model is left alone.
fn apply(v: &mut Vec<Elem, FailingAllocator>, model: &mut std::vec::Vec<Elem>, op: Op) -> bool {
    let flags = M_NOWAIT;
    match op {
        Op::Push(x) => match v.try_push(Elem::new(x), flags) {
            Ok(()) => model.push(Elem::new(x)),
            Err(_) => return true,
        },
        Op::PushWithinCapacity(x) => match v.push_within_capacity(Elem::new(x)) {
            Ok(()) => model.push(Elem::new(x)),
            Err(back) => {
                assert_eq!(back.0, x);
                assert_eq!(v.len(), v.capacity());
                return true;
            }
        },
        Op::ExtendFromSlice(values) => {
            let source = elems(&values);
            match v.try_extend_from_slice(&source, M_WAITOK) {
                Ok(()) => model.extend(source),
                Err(_) => return true,
            }
        }
        // `filter` hides the length, so the vector grows (and may fail)
        // midway.
        Op::Extend(values) => {
            let items = values.iter().filter(|_| true).map(|&x| Elem::new(x));
            if v.try_extend(items, flags).is_err() {
                // The elements are as they were; the buffer may have grown
                // before the failure (as documented).
                return false;
            }
            model.extend(elems(&values));
        }
        Op::Insert(index, x) => match v.try_insert(index, Elem::new(x), flags) {
            Ok(()) => model.insert(index, Elem::new(x)),
            Err(InsertError::IndexOutOfBounds(back)) => {
                assert!(index > model.len());
                assert_eq!(back.0, x);
                return true;
            }
            Err(InsertError::Alloc(back)) => {
                assert_eq!(back.0, x);
                return true;
            }
        },
        Op::Resize(n, x) => match v.try_resize(n, Elem::new(x), flags) {
            Ok(()) => model.resize(n, Elem::new(x)),
            Err(_) => return true,
        },
        Op::Reserve(n) => match v.try_reserve(n, flags) {
            Ok(()) => assert!(v.capacity() - v.len() >= n),
            Err(_) => return true,
        },
        Op::ReserveExact(n) => match v.try_reserve_exact(n, flags) {
            Ok(()) => assert!(v.capacity() - v.len() >= n),
            Err(_) => return true,
        },
        Op::Pop => assert_eq!(v.pop(), model.pop()),
        Op::Truncate(n) => {
            v.truncate(n);
            model.truncate(n);
        }
        Op::Clear => {
            v.clear();
            model.clear();
        }
        Op::Remove(i) => {
            let expected = (i < model.len()).then(|| model.remove(i));
            assert_eq!(v.remove(i), expected);
        }
        Op::SwapRemove(i) => {
            let expected = (i < model.len()).then(|| model.swap_remove(i));
            assert_eq!(v.swap_remove(i), expected);
        }
        Op::Retain(m) => {
            v.retain(|e| e.0 % m != 0);
            model.retain(|e| e.0 % m != 0);
        }
        Op::Drain(a, b, take) => {
            let Some(mut drain) = v.drain(a..b) else {
                assert!(a > b || b > model.len());
                return true;
            };
            let expected: std::vec::Vec<Elem> = model.drain(a..b).collect();
            let got: std::vec::Vec<Elem> = drain.by_ref().take(take).collect();
            assert_eq!(got.as_slice(), &expected[..got.len()]);
            assert_eq!(drain.len(), expected.len() - got.len());
        }
        Op::ShrinkToFit => match v.shrink_to_fit(flags) {
            Ok(()) => assert!(v.capacity() == v.len()),
            Err(_) => return true,
        },
        Op::ShrinkTo(n) => {
            let old = v.capacity();
            match v.shrink_to(n, flags) {
                Ok(()) => assert!(v.capacity() <= old && v.capacity() >= v.len().max(n.min(old))),
                Err(_) => return true,
            }
        }
        Op::TryClone => match v.try_clone(flags) {
            Ok(copy) => assert_eq!(copy.as_slice(), model.as_slice()),
            Err(_) => return true,
        },
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn vec_matches_std(steps in prop::collection::vec(step(), 1..60), consume in 0..8usize) {
        let alloc = FailingAllocator::new();
        let mut v = Vec::new_in(alloc.clone());
        let mut model = std::vec::Vec::new();
        for (op, fail_after) in steps {
            if let Some(n) = fail_after {
                alloc.fail_after(n);
            }
            let before = (v.as_ptr(), v.len(), v.capacity());
            let live_before = alloc.stats().live_bytes;
            let failures_before = alloc.stats().failures;
            let failed = apply(&mut v, &mut model, op.clone());
            alloc.clear_failures();
            prop_assert_eq!(v.as_slice(), model.as_slice(), "after {:?}", op);
            prop_assert!(v.len() <= v.capacity());
            let stats = alloc.stats();
            prop_assert_eq!(stats.live_allocations, usize::from(v.capacity() != 0));
            prop_assert_eq!(stats.live_bytes, v.capacity() * size_of::<Elem>());
            if failed && alloc.stats().failures != failures_before {
                prop_assert_eq!((v.as_ptr(), v.len(), v.capacity()), before, "failed {:?}", op);
                prop_assert_eq!(stats.live_bytes, live_before);
            }
            prop_assert_eq!(LIVE.with(Cell::get), isize::try_from(2 * model.len()).unwrap());
        }
        let mut iter = v.into_iter();
        for expected in model.iter().take(consume) {
            let next = iter.next();
            prop_assert_eq!(next.as_ref(), Some(expected));
        }
        drop(iter);
        drop(model);
        prop_assert_eq!(LIVE.with(Cell::get), 0);
        prop_assert!(alloc.is_clean(), "{:?}", alloc.violations());
    }
}
