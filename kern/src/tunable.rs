// SPDX-License-Identifier: BSD-2-Clause
//! Loader tunables read directly from the kernel environment, as C's
//! `TUNABLE_INT_FETCH`, `TUNABLE_QUAD_FETCH` and `TUNABLE_STR_FETCH` read
//! them (`getenv_int(9)`, `getenv_quad(9)`, `getenv_string(9)`;
//! `sys/kern/kern_environment.c`).
//!
//! The variables come from `loader.conf(5)` or `kenv(1)`. A sysctl leaf
//! that is also a loader tunable needs none of this:
//! [`SysctlLeaf::loader_tunable`](crate::sysctl::SysctlLeaf::loader_tunable)
//! sets it at registration. These functions are for a value the module
//! uses once, at load, without a sysctl.
//!
//! ```
//! use kern::prelude::*;
//! use kern::tunable;
//!
//! fn queue_len(cx: &mut Sleepable) -> i64 {
//!     // `hw.mymod.queue_len="4k"` in loader.conf gives 4096.
//!     tunable::fetch_quad(c"hw.mymod.queue_len", cx)
//!         .filter(|n| (1..=65536).contains(n))
//!         .unwrap_or(256)
//! }
//! ```
//!
//! # Context
//! The kernel takes its environment mutex (`kenv_lock`): each function
//! takes a token that may block on a mutex. None sleeps.

use crate::context::MayBlock;
use core::ffi::{CStr, c_char, c_int};

/// `getenv_quad(9)` (`TUNABLE_QUAD_FETCH`): the number in variable
/// `name`, as `strtoq(3)` reads it with base 0 (`42`, `0x2a`, `052`),
/// optionally followed by one `k`, `m`, `g` or `t` (times 1024 per step).
/// `None` if the variable is not set or holds anything else.
pub fn fetch_quad(name: &CStr, cx: &mut impl MayBlock) -> Option<i64> {
    let _ = cx;
    let mut v: i64 = 0;
    // SAFETY: a NUL-terminated name and a writable `quad_t`.
    let found = unsafe { sys::getenv_quad(name.as_ptr(), &raw mut v) };
    (found != 0).then_some(v)
}

/// `getenv_int(9)` (`TUNABLE_INT_FETCH`): as [`fetch_quad`], then cut
/// to an `int` as C's `(int)` cast cuts it.
pub fn fetch_int(name: &CStr, cx: &mut impl MayBlock) -> Option<i32> {
    let _ = cx;
    let mut v: c_int = 0;
    // SAFETY: a NUL-terminated name and a writable `int`.
    let found = unsafe { sys::getenv_int(name.as_ptr(), &raw mut v) };
    (found != 0).then_some(v)
}

/// `getenv_string(9)` (`TUNABLE_STR_FETCH`): the value of variable
/// `name`, copied into `buf` (cut to `buf.len() - 1` bytes, as `strlcpy`
/// cuts it), or `None` if it is not set.
pub fn fetch_str<'b>(name: &CStr, buf: &'b mut [u8], cx: &mut impl MayBlock) -> Option<&'b [u8]> {
    let _ = cx;
    let size = c_int::try_from(buf.len()).unwrap_or(c_int::MAX);
    if size == 0 {
        return None;
    }
    // SAFETY: a NUL-terminated name and `size` writable bytes.
    let found =
        unsafe { sys::getenv_string(name.as_ptr(), buf.as_mut_ptr().cast::<c_char>(), size) };
    if found == 0 {
        return None;
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.get(..len)
}
