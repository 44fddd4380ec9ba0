// SPDX-License-Identifier: BSD-2-Clause
//! `kern::alloc`: `Vec`, `String`, `Arc` and `Box` when `malloc(9)` fails.
//!
//! These cases expect every `M_NOWAIT` allocation to fail (the harness's
//! `FailPolicy::All`, as `debug.malloc.failure_rate=1`), while `M_WAITOK`
//! ones succeed (FreeBSD's `M_WAITOK` never fails). Without that, the first
//! check finds an allocation that succeeded and the case fails with
//! `EAGAIN`.

use super::{errno_value, fail};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU32, Ordering};
use kern::alloc::{AllocError, Arc, Box, String, Vec, try_format, try_vec};
use kern::prelude::*;

/// Text formatted by `core::fmt` through a `Display` this crate compiles:
/// the formatting goes through `kern::alloc::String`'s `fmt::Write`, but
/// no integer `Display` of rustc's precompiled `core`, which writes x18
/// (the per-CPU pointer of FreeBSD/arm64; docs/arm64.md).
struct Text(&'static str);

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Checks that an allocating call failed; `EAGAIN` if it succeeded (the
/// fault injection is not on).
fn expect_enomem<T>(case: &str, what: &str, r: core::result::Result<T, AllocError>) -> Result {
    match r {
        Err(e) if Error::from(e) == ENOMEM => Ok(()),
        Err(e) => fail(case, what, Error::from(e)),
        Ok(value) => {
            drop(value);
            fail(case, what, EAGAIN)
        }
    }
}

/// Rule (`kern::alloc`, *fallible allocation everywhere*): when a `Vec`
/// cannot grow, every growing method returns an error that converts to
/// `ENOMEM` (`try_insert` gives the element back) and the vector is
/// unchanged; growth that may sleep (`push` with `cx.waitok()`, which
/// cannot fail) then keeps the contents.
///
/// The value is the errno seen: `ENOMEM`.
pub(super) fn vec_fault(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "vec_fault";
    let mut v: Vec<u32> = Vec::with_capacity(4, cx.waitok());
    let mut n = 0u32;
    while v.push_within_capacity(n).is_ok() {
        n = n.wrapping_add(1);
    }
    let cap = v.capacity();
    let intact = |v: &Vec<u32>, n: u32| v.iter().copied().eq(0..n);
    expect_enomem(CASE, "try_push", v.try_push(99, M_NOWAIT))?;
    expect_enomem(CASE, "try_reserve", v.try_reserve(1, M_NOWAIT))?;
    expect_enomem(
        CASE,
        "try_reserve_exact",
        v.try_reserve_exact(100, M_NOWAIT),
    )?;
    expect_enomem(
        CASE,
        "try_extend_from_slice",
        v.try_extend_from_slice(&[7, 8], M_NOWAIT),
    )?;
    expect_enomem(CASE, "try_resize", v.try_resize(64, 5, M_NOWAIT))?;
    match v.try_insert(0, 42, M_NOWAIT) {
        Err(e) if e.alloc_error().is_some() => {
            if e.into_inner() != 42 {
                return fail(CASE, "try_insert did not give the element back", EINVAL);
            }
        }
        Err(_) => return fail(CASE, "try_insert: not an allocation error", EINVAL),
        Ok(()) => return fail(CASE, "try_insert", EAGAIN),
    }
    let fresh: core::result::Result<Vec<u8>, AllocError> = try_vec![0u8; 64; M_NOWAIT];
    expect_enomem(CASE, "try_vec!", fresh)?;
    expect_enomem(
        CASE,
        "try_with_capacity",
        Vec::<u64>::try_with_capacity(8, M_NOWAIT),
    )?;
    if v.capacity() != cap || !intact(&v, n) {
        return fail(CASE, "contents changed by a failed growth", EIO);
    }
    // Growth that may sleep (M_WAITOK) cannot fail and keeps the contents.
    v.push(n, cx.waitok());
    if !intact(&v, n.wrapping_add(1)) {
        return fail(CASE, "contents lost when growing", EIO);
    }
    Ok(errno_value(ENOMEM))
}

/// Rule (`kern::alloc`): when a `String` cannot grow, `try_push_str`,
/// `try_push`, `try_write_fmt` and `try_format!` fail with `ENOMEM`, and
/// its `fmt::Write` (`write!`) reports `fmt::Error` instead of aborting;
/// the contents are unchanged. Formatting that fits the capacity needs no
/// allocation and succeeds.
///
/// The value is the errno seen: `ENOMEM`.
pub(super) fn string_fault(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "string_fault";
    let mut s = String::with_capacity(16, cx.waitok());
    // Fill the capacity: pushing into spare room never allocates.
    while s.len() < s.capacity() {
        s.try_push('x', M_NOWAIT)?;
    }
    let len = s.len();
    let intact = |s: &String| s.len() == len && s.bytes().all(|b| b == b'x');
    expect_enomem(CASE, "try_push_str", s.try_push_str("more", M_NOWAIT))?;
    expect_enomem(CASE, "try_push", s.try_push('y', M_NOWAIT))?;
    expect_enomem(
        CASE,
        "try_write_fmt",
        s.try_write_fmt(format_args!("{}", Text("42")), M_NOWAIT),
    )?;
    if write!(s, "{}{}", Text("4"), Text("2")).is_ok() {
        return fail(CASE, "fmt::Write succeeded without memory", EAGAIN);
    }
    if s.write_char('z').is_ok() {
        return fail(CASE, "fmt::Write::write_char succeeded", EAGAIN);
    }
    let formatted: core::result::Result<String, AllocError> =
        try_format!("{} and {}", Text("1"), Text("x"); M_NOWAIT);
    expect_enomem(CASE, "try_format!", formatted)?;
    if !intact(&s) {
        return fail(CASE, "contents changed by a failed growth", EIO);
    }
    formats_with_room(cx)?;
    Ok(errno_value(ENOMEM))
}

/// The control half of [`string_fault`]: what needs no `M_NOWAIT`
/// allocation still works under fault injection.
fn formats_with_room(cx: &mut Sleepable) -> Result {
    const CASE: &str = "string_fault";
    // With room, write! needs no allocation and works under injection.
    let mut room = String::with_capacity(16, cx.waitok());
    if write!(room, "{}-{}", Text("4"), Text("2")).is_err() || room != "4-2" {
        return fail(CASE, "write! into spare capacity failed", EIO);
    }
    // try_format! may sleep for its memory, and then succeeds.
    let ok: String = try_format!("{}/{}", Text("4"), Text("7"); cx.waitok())?;
    if ok != "4/7" {
        return fail(CASE, "try_format! with M_WAITOK", EIO);
    }
    Ok(())
}

/// Counts its drops.
struct Counted<'a>(&'a AtomicU32);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A type only `malloc_aligned(9)` allocates.
#[repr(C, align(64))]
struct Align64([u8; 64]);

/// Rule (`kern::alloc`): `Arc::try_new` and `Box::try_new` fail with
/// `ENOMEM` without memory and drop the value they were given exactly once
/// (nothing leaks, nothing is dropped twice); the over-aligned path fails
/// the same way; cloning an `Arc` needs no memory.
///
/// The value is the number of drops: 3 (two failed creations, one `Arc`
/// released by its last clone).
pub(super) fn arc_fault(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "arc_fault";
    let drops = AtomicU32::new(0);
    expect_enomem(
        CASE,
        "Arc::try_new",
        Arc::try_new(Counted(&drops), M_NOWAIT),
    )?;
    expect_enomem(
        CASE,
        "Box::try_new",
        Box::try_new(Counted(&drops), M_NOWAIT),
    )?;
    expect_enomem(
        CASE,
        "Box::<Align64>::try_new_uninit",
        Box::<Align64>::try_new_uninit(M_NOWAIT),
    )?;
    if drops.load(Ordering::Relaxed) != 2 {
        return fail(CASE, "a value was leaked or dropped twice", EIO);
    }
    let a = Arc::new(Counted(&drops), cx.waitok());
    let b = Arc::clone(&a);
    if Arc::strong_count(&a) != 2 {
        return fail(CASE, "clone did not count", EIO);
    }
    drop(a);
    if drops.load(Ordering::Relaxed) != 2 {
        return fail(CASE, "dropped with a clone alive", EIO);
    }
    drop(b);
    Ok(u64::from(drops.load(Ordering::Relaxed)))
}
