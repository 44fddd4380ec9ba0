// SPDX-License-Identifier: BSD-2-Clause
//! Library routines modules call directly or through the compiler:
//! `memcpy`, `memmove`, `memset`, `memcmp`, `strlen`,
//! `strcmp`, `strncmp`, `strlcpy`, `strlcat` (`sys/sys/systm.h`,
//! `sys/sys/libkern.h`; semantics of `sys/libkern/*.c` and
//! `sys/amd64/amd64/support.S`). `strdup`, which allocates, is an entry
//! point of the kernel (`kernel/entry/libkern.rs`).
//!
//! `memcpy` tolerates overlap (it is `memmove`): a module that relies on
//! overlapping `memcpy` is wrong, but the result is then at least defined.

use core::ffi::{c_char, c_int, c_void};

/// `memcpy(3)`.
///
/// # Safety
/// As `memcpy(3)`: `src` readable and `dst` writable for `n` bytes.
pub(crate) unsafe extern "C" fn harness_memcpy(
    dst: *mut c_void,
    src: *const c_void,
    n: usize,
) -> *mut c_void {
    // SAFETY: by the caller's contract.
    unsafe { core::ptr::copy(src.cast::<u8>(), dst.cast::<u8>(), n) };
    dst
}

/// `memmove(3)`.
///
/// # Safety
/// As `memmove(3)`.
pub(crate) unsafe extern "C" fn harness_memmove(
    dst: *mut c_void,
    src: *const c_void,
    n: usize,
) -> *mut c_void {
    // SAFETY: by the caller's contract.
    unsafe { core::ptr::copy(src.cast::<u8>(), dst.cast::<u8>(), n) };
    dst
}

/// `memset(3)`.
///
/// # Safety
/// As `memset(3)`.
pub(crate) unsafe extern "C" fn harness_memset(
    dst: *mut c_void,
    c: c_int,
    n: usize,
) -> *mut c_void {
    // CAST: memset stores `(unsigned char)c`.
    let byte = c.to_le_bytes()[0];
    // SAFETY: by the caller's contract.
    unsafe { core::ptr::write_bytes(dst.cast::<u8>(), byte, n) };
    dst
}

/// `memcmp(3)`.
///
/// # Safety
/// As `memcmp(3)`.
pub(crate) unsafe extern "C" fn harness_memcmp(
    a: *const c_void,
    b: *const c_void,
    n: usize,
) -> c_int {
    // SAFETY: by the caller's contract, both are readable for `n` bytes.
    let x = unsafe { core::slice::from_raw_parts(a.cast::<u8>(), n) };
    // SAFETY: as above.
    let y = unsafe { core::slice::from_raw_parts(b.cast::<u8>(), n) };
    x.iter()
        .zip(y)
        .find(|(p, q)| p != q)
        .map_or(0, |(p, q)| c_int::from(*p) - c_int::from(*q))
}

/// `strlen(3)`.
///
/// # Safety
/// `s` must be a NUL-terminated string.
pub(crate) unsafe extern "C" fn harness_strlen(s: *const c_char) -> usize {
    // SAFETY: by the caller's contract.
    unsafe { core::ffi::CStr::from_ptr(s) }.count_bytes()
}

/// `strcmp(3)`.
///
/// # Safety
/// Both must be NUL-terminated strings.
pub(crate) unsafe extern "C" fn harness_strcmp(a: *const c_char, b: *const c_char) -> c_int {
    // SAFETY: by the caller's contract.
    unsafe { harness_strncmp(a, b, usize::MAX) }
}

/// `strncmp(3)`.
///
/// # Safety
/// Both must be readable up to their NUL or `n` bytes.
pub(crate) unsafe extern "C" fn harness_strncmp(
    a: *const c_char,
    b: *const c_char,
    n: usize,
) -> c_int {
    let mut i = 0usize;
    while i < n {
        // SAFETY: by the caller's contract, bytes up to the first NUL (or
        // `n`) are readable; the loop stops at the first NUL.
        let x = unsafe { *a.wrapping_add(i) }.cast_unsigned();
        // SAFETY: as above.
        let y = unsafe { *b.wrapping_add(i) }.cast_unsigned();
        if x != y {
            return c_int::from(x) - c_int::from(y);
        }
        if x == 0 {
            return 0;
        }
        i += 1;
    }
    0
}

/// `strlcpy(3)`: returns `strlen(src)`.
///
/// # Safety
/// `src` NUL-terminated; `dst` writable for `size` bytes.
pub(crate) unsafe extern "C" fn harness_strlcpy(
    dst: *mut c_char,
    src: *const c_char,
    size: usize,
) -> usize {
    // SAFETY: by the caller's contract.
    let len = unsafe { harness_strlen(src) };
    if size > 0 {
        let n = len.min(size - 1);
        // SAFETY: `n < size` bytes fit `dst`; `src` has `len >= n` bytes.
        unsafe { core::ptr::copy(src, dst, n) };
        // SAFETY: `n < size`.
        unsafe { *dst.wrapping_add(n) = 0 };
    }
    len
}

/// `strlcat(3)` (`sys/libkern/strlcat.c`): appends `src` to the string in
/// `dst`, a buffer of `size` bytes, NUL-terminated unless `dst` has no NUL
/// within `size`; returns the length it tried to make, `min(size,
/// strlen(dst)) + strlen(src)`.
///
/// # Safety
/// `src` NUL-terminated; `dst` writable for `size` bytes and readable up
/// to its NUL or `size` bytes.
pub(crate) unsafe extern "C" fn harness_strlcat(
    dst: *mut c_char,
    src: *const c_char,
    size: usize,
) -> usize {
    let mut dlen = 0usize;
    // SAFETY: bytes of `dst` up to its NUL or `size` are readable.
    while dlen < size && unsafe { *dst.wrapping_add(dlen) } != 0 {
        dlen += 1;
    }
    // SAFETY: by the caller's contract.
    let slen = unsafe { harness_strlen(src) };
    if dlen == size {
        return dlen + slen;
    }
    let n = slen.min(size - dlen - 1);
    // SAFETY: `dlen + n < size` bytes fit `dst`; `src` has `slen >= n`.
    unsafe { core::ptr::copy(src, dst.wrapping_add(dlen), n) };
    // SAFETY: `dlen + n < size`.
    unsafe { *dst.wrapping_add(dlen + n) = 0 };
    dlen + slen
}
