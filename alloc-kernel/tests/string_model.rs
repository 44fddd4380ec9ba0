// SPDX-License-Identifier: BSD-2-Clause
//! Property test: random operation sequences on [`String`], with random
//! allocation failures, against `std::string::String` as the model.
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
use alloc_kernel::{M_NOWAIT, String, TryClone};
use core::fmt::Write;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    PushStr(std::string::String),
    Push(char),
    Pop,
    Truncate(usize),
    Clear,
    Reserve(usize),
    ShrinkToFit,
    WriteFmt(u32, char),
    FmtWrite(std::string::String),
    TryClone,
    Utf8RoundTrip,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => "\\PC{0,12}".prop_map(Op::PushStr),
        3 => any::<char>().prop_map(Op::Push),
        1 => Just(Op::Pop),
        1 => (0..64usize).prop_map(Op::Truncate),
        1 => Just(Op::Clear),
        1 => (0..64usize).prop_map(Op::Reserve),
        1 => Just(Op::ShrinkToFit),
        1 => (any::<u32>(), any::<char>()).prop_map(|(n, c)| Op::WriteFmt(n, c)),
        1 => "\\PC{0,8}".prop_map(Op::FmtWrite),
        1 => Just(Op::TryClone),
        1 => Just(Op::Utf8RoundTrip),
    ]
}

fn step() -> impl Strategy<Value = (Op, Option<usize>)> {
    (
        op(),
        prop_oneof![3 => Just(None), 1 => (0..2usize).prop_map(Some)],
    )
}

/// Applies `op` to both; returns whether the string reported a failure.
fn apply(s: &mut String<FailingAllocator>, model: &mut std::string::String, op: Op) -> bool {
    match op {
        Op::PushStr(piece) => match s.try_push_str(&piece, M_NOWAIT) {
            Ok(()) => model.push_str(&piece),
            Err(_) => return true,
        },
        Op::Push(c) => match s.try_push(c, M_NOWAIT) {
            Ok(()) => model.push(c),
            Err(_) => return true,
        },
        Op::Pop => assert_eq!(s.pop(), model.pop()),
        Op::Truncate(n) => match s.truncate(n) {
            Ok(()) => model.truncate(n),
            Err(error) => {
                assert!(!model.is_char_boundary(n));
                assert_eq!(error.index(), n);
                return true;
            }
        },
        Op::Clear => {
            s.clear();
            model.clear();
        }
        Op::Reserve(n) => match s.try_reserve(n, M_NOWAIT) {
            Ok(()) => assert!(s.capacity() - s.len() >= n),
            Err(_) => return true,
        },
        Op::ShrinkToFit => match s.shrink_to_fit(M_NOWAIT) {
            Ok(()) => assert_eq!(s.capacity(), s.len()),
            Err(_) => return true,
        },
        Op::WriteFmt(n, c) => {
            // Written piece by piece: on failure, a prefix may stay.
            let expected = std::format!("{n}{c}");
            let before = s.len();
            let result = s.try_write_fmt(format_args!("{n}{c}"), M_NOWAIT);
            let written = &s[before..];
            assert!(expected.starts_with(written));
            model.push_str(written);
            // A failure may leave a prefix: not an "unchanged" failure.
            assert_eq!(result.is_ok(), written == expected);
        }
        Op::FmtWrite(piece) => match s.write_str(&piece) {
            Ok(()) => model.push_str(&piece),
            Err(_) => return true,
        },
        Op::TryClone => match s.try_clone(M_NOWAIT) {
            Ok(copy) => assert_eq!(copy.as_str(), model.as_str()),
            Err(_) => return true,
        },
        Op::Utf8RoundTrip => {
            let taken = core::mem::replace(s, String::new_in(s.allocator().clone()));
            *s = String::from_utf8(taken.into_bytes()).unwrap();
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn string_matches_std(steps in prop::collection::vec(step(), 1..60)) {
        let alloc = FailingAllocator::new();
        let mut s = String::new_in(alloc.clone());
        let mut model = std::string::String::new();
        for (op, fail_after) in steps {
            if let Some(n) = fail_after {
                alloc.fail_after(n);
            }
            let before = (s.as_ptr(), s.capacity());
            let failures_before = alloc.stats().failures;
            let failed = apply(&mut s, &mut model, op.clone());
            alloc.clear_failures();
            prop_assert_eq!(s.as_str(), model.as_str(), "after {:?}", op);
            let stats = alloc.stats();
            prop_assert_eq!(stats.live_allocations, usize::from(s.capacity() != 0));
            prop_assert_eq!(stats.live_bytes, s.capacity());
            if failed && alloc.stats().failures != failures_before {
                prop_assert_eq!((s.as_ptr(), s.capacity()), before, "failed {:?}", op);
            }
        }
        drop(s);
        prop_assert!(alloc.is_clean(), "{:?}", alloc.violations());
    }
}
