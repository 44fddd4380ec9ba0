// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`String`], its errors and its formatting.

use super::*;
use crate::testing::FailingAllocator;
use crate::{HostAllocator, M_NOWAIT, M_WAITOK, TryClone, TryToOwned, try_format, try_vec};
use core::borrow::{Borrow, BorrowMut};
use core::fmt::Write;
use core::hash::BuildHasher;
use std::collections::hash_map::RandomState;
use std::format;

type HostString = String<HostAllocator>;

#[test]
fn new_and_capacity() {
    let alloc = FailingAllocator::new();
    let s = String::new_in(&alloc);
    assert!(s.is_empty());
    assert_eq!((s.len(), s.capacity()), (0, 0));
    let d = HostString::default();
    assert_eq!(d, "");
    let c = String::try_with_capacity_in(10, &alloc, M_NOWAIT).unwrap();
    assert_eq!(c.capacity(), 10);
    let h = HostString::try_with_capacity(4, M_NOWAIT).unwrap();
    assert_eq!(h.capacity(), 4);
    alloc.fail_next();
    assert!(String::try_with_capacity_in(10, &alloc, M_NOWAIT).is_err());
    assert_eq!(s.allocator().stats().requests, 2);
    drop(c);
    assert!(alloc.is_clean());
    assert_eq!(HostString::new(), "");
}

#[test]
fn push_and_its_failure() {
    let alloc = FailingAllocator::new();
    let mut s = String::new_in(&alloc);
    s.try_push_str("héllo", M_NOWAIT).unwrap();
    s.try_push(' ', M_WAITOK).unwrap();
    s.try_push('€', M_NOWAIT).unwrap();
    assert_eq!(s, "héllo €");
    let before = (s.as_ptr(), s.len(), s.capacity());
    alloc.set_fail_all(true);
    assert!(s.try_push_str(&"x".repeat(100), M_NOWAIT).is_err());
    assert!(s.try_reserve(100, M_NOWAIT).is_err());
    assert!(s.try_reserve_exact(100, M_NOWAIT).is_err());
    alloc.set_fail_all(false);
    while s.len() < s.capacity() {
        s.try_push('.', M_NOWAIT).unwrap();
    }
    let before_full = (s.as_ptr(), s.len(), s.capacity());
    alloc.fail_next();
    assert!(s.try_push('y', M_NOWAIT).is_err());
    assert_eq!((s.as_ptr(), s.len(), s.capacity()), before_full);
    assert_eq!(before.0, s.as_ptr());
    drop(s);
    assert!(alloc.is_clean());
}

#[test]
fn pop_truncate_clear() {
    let mut s: HostString = "aé€".try_to_owned(M_NOWAIT).unwrap();
    assert_eq!(s.pop(), Some('€'));
    assert_eq!(s, "aé");
    assert_eq!(s.truncate(2), Err(CharBoundaryError::new(2)));
    let error = s.truncate(2).unwrap_err();
    assert_eq!(error.index(), 2);
    assert_eq!(
        format!("{error}"),
        "byte offset 2 is not a character boundary"
    );
    assert_eq!(s, "aé");
    assert_eq!(s.truncate(10), Ok(()));
    assert_eq!(s.truncate(1), Ok(()));
    assert_eq!(s, "a");
    let capacity = s.capacity();
    s.clear();
    assert_eq!((s.len(), s.capacity()), (0, capacity));
    assert_eq!(s.pop(), None);
}

#[test]
fn shrink_to_fit_and_its_failure() {
    let alloc = FailingAllocator::new();
    let mut s = String::try_with_capacity_in(16, &alloc, M_NOWAIT).unwrap();
    s.try_push_str("abc", M_NOWAIT).unwrap();
    alloc.fail_next();
    assert!(s.shrink_to_fit(M_NOWAIT).is_err());
    assert_eq!((s.as_str(), s.capacity()), ("abc", 16));
    s.shrink_to_fit(M_NOWAIT).unwrap();
    assert_eq!((s.as_str(), s.capacity()), ("abc", 3));
}

#[test]
fn utf8_conversions() {
    let bytes: crate::Vec<u8, HostAllocator> = try_vec![b'o', b'k'; M_NOWAIT].unwrap();
    let s = String::from_utf8(bytes).unwrap();
    assert_eq!(s.as_bytes(), b"ok");
    let bytes = s.into_bytes();
    assert_eq!(bytes, *b"ok");

    let bad: crate::Vec<u8, HostAllocator> = try_vec![b'a', 0xff, b'b'; M_NOWAIT].unwrap();
    let error = String::from_utf8(bad).unwrap_err();
    assert_eq!(error.as_bytes(), [b'a', 0xff, b'b']);
    assert_eq!(error.utf8_error().valid_up_to(), 1);
    assert_eq!(format!("{error}"), format!("{}", error.utf8_error()));
    assert!(format!("{error:?}").starts_with("FromUtf8Error"));
    assert_eq!(error.into_bytes().len(), 3);

    let raw: crate::Vec<u8, HostAllocator> = try_vec![b'z'; M_NOWAIT].unwrap();
    // SAFETY: "z" is UTF-8.
    let z = unsafe { String::from_utf8_unchecked(raw) };
    assert_eq!(z, "z");
}

#[test]
fn fmt_write_uses_nowait_and_keeps_written_content() {
    let alloc = FailingAllocator::new();
    let mut s = String::new_in(&alloc);
    let (one, x) = (1, 'x');
    write!(s, "{one}-{x}").unwrap();
    s.write_char('!').unwrap();
    assert_eq!(s, "1-x!");
    alloc.set_fail_all(true);
    let long = "a long piece that needs more room";
    assert!(write!(s, "{long}").is_err());
    assert!(s.write_char('?').is_ok() || s.len() == s.capacity());
    while s.len() < s.capacity() {
        s.write_char('.').unwrap();
    }
    assert!(s.write_char('?').is_err());
    assert!(s.starts_with("1-x!"));
    alloc.set_fail_all(false);
    drop(s);
    assert!(alloc.is_clean());
}

#[test]
fn fallible_formatting() {
    let alloc = FailingAllocator::new();
    let s = String::try_from_fmt_in(format_args!("{:03}", 7), &alloc, M_NOWAIT).unwrap();
    assert_eq!(s, "007");
    let constant = String::try_from_fmt_in(format_args!("plain"), &alloc, M_NOWAIT).unwrap();
    assert_eq!(constant, "plain");
    alloc.fail_next();
    assert!(String::try_from_fmt_in(format_args!("{}", 1), &alloc, M_NOWAIT).is_err());
    let mut t = String::new_in(&alloc);
    t.try_write_fmt(format_args!("a{}", 1), M_NOWAIT).unwrap();
    alloc.set_fail_all(true);
    assert!(
        t.try_write_fmt(format_args!("{}{}", "b", "c".repeat(50)), M_NOWAIT)
            .is_err()
    );
    assert!(t.starts_with("a1"));
    alloc.set_fail_all(false);

    let unit = 3;
    let h: HostString = try_format!("echo{unit}"; M_NOWAIT).unwrap();
    assert_eq!(h, "echo3");
    let h: HostString = try_format!("{}:{}", 1, { 1 + 1 }; M_WAITOK).unwrap();
    assert_eq!(h, "1:2");
    let h: HostString = try_format!("{n:>4}", n = 5; M_NOWAIT).unwrap();
    assert_eq!(h, "   5");
    drop((s, constant, t));
    assert!(alloc.is_clean());
}

#[test]
fn failing_display_gives_alloc_error() {
    struct Failing;
    impl core::fmt::Display for Failing {
        fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            Err(core::fmt::Error)
        }
    }
    let result: Result<HostString, AllocError> = try_format!("{}", Failing; M_NOWAIT);
    assert_eq!(result.map(drop), Err(AllocError));
}

#[test]
fn str_access_and_traits() {
    let mut s: HostString = "Hello".try_to_owned(M_NOWAIT).unwrap();
    s.as_mut_str().make_ascii_uppercase();
    assert_eq!(s.as_str(), "HELLO");
    s.make_ascii_lowercase();
    assert_eq!(&*s, "hello");
    assert_eq!(AsRef::<str>::as_ref(&s), "hello");
    assert_eq!(AsRef::<[u8]>::as_ref(&s), b"hello");
    AsMut::<str>::as_mut(&mut s).make_ascii_uppercase();
    assert_eq!(Borrow::<str>::borrow(&s), "HELLO");
    BorrowMut::<str>::borrow_mut(&mut s).make_ascii_lowercase();
    assert_eq!(format!("{s} {s:?}"), "hello \"hello\"");
    assert_eq!(s, "hello");
    assert_eq!(*"hello", s);
    assert_eq!("hello", s);
    assert!(s == *"hello");
    let other: String<FailingAllocator> = "hellp"
        .try_to_owned_in(FailingAllocator::new(), M_NOWAIT)
        .unwrap();
    assert!(s != other);
    assert!(s < other);
    assert_eq!(s.cmp(&s), core::cmp::Ordering::Equal);
    let state = RandomState::new();
    assert_eq!(state.hash_one(&s), state.hash_one("hello"));
}

#[test]
fn try_clone_and_to_owned() {
    let alloc = FailingAllocator::new();
    let s = "abc".try_to_owned_in(alloc.clone(), M_NOWAIT).unwrap();
    let t = s.try_clone(M_NOWAIT).unwrap();
    assert_eq!(s, t);
    alloc.fail_next();
    assert!(s.try_clone(M_NOWAIT).is_err());
    alloc.fail_next();
    assert!("abc".try_to_owned_in(&alloc, M_NOWAIT).is_err());
    let empty = "".try_to_owned_in(&alloc, M_NOWAIT).unwrap();
    assert!(empty.is_empty());
    drop((s, t));
    assert!(alloc.is_clean());
}
