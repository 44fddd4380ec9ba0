// SPDX-License-Identifier: BSD-2-Clause
//! Tests of [`Flags`](super::Flags).

use super::*;
use std::format;

#[test]
fn values_match_freebsd() {
    assert_eq!(M_NOWAIT.bits(), 0x0001);
    assert_eq!(M_WAITOK.bits(), 0x0002);
    assert_eq!(M_ZERO.bits(), 0x0100);
    assert_eq!(Flags::EMPTY.bits(), 0);
}

#[test]
fn queries() {
    assert!(M_WAITOK.may_sleep());
    assert!(!M_NOWAIT.may_sleep());
    assert!(!(M_NOWAIT | M_WAITOK).may_sleep());
    assert!(!Flags::EMPTY.may_sleep());
    assert!((M_NOWAIT | M_ZERO).zeroed());
    assert!(!M_NOWAIT.zeroed());
    assert!((M_NOWAIT | M_ZERO).contains(M_ZERO));
    assert!(!M_NOWAIT.contains(M_ZERO));
}

#[test]
fn operators() {
    let mut flags = M_NOWAIT;
    flags |= M_ZERO;
    assert_eq!(flags, Flags::from_bits(0x0101));
    assert_eq!(flags & M_ZERO, M_ZERO);
    assert_eq!(M_WAITOK.union(M_ZERO), M_WAITOK | M_ZERO);
}

#[test]
fn debug_uses_c_names() {
    assert_eq!(format!("{:?}", M_WAITOK | M_ZERO), "M_WAITOK | M_ZERO");
    assert_eq!(format!("{M_NOWAIT:?}"), "M_NOWAIT");
    assert_eq!(format!("{:?}", Flags::EMPTY), "0x0000");
    assert_eq!(
        format!("{:?}", M_NOWAIT | Flags::from_bits(0x0800)),
        "M_NOWAIT | 0x0800"
    );
}
