// SPDX-License-Identifier: BSD-2-Clause
//! `kern::malloc`: alignment and the zeroed tail of a grown block.

use super::{errno_value, fail};
use crate::device::OpenFile;
use core::ptr;
use kern::alloc::{Box, Vec};
use kern::prelude::*;

/// A type that `malloc(9)` alone does not align (it promises 16 bytes).
#[repr(C, align(64))]
struct Align64([u8; 64]);

/// A type aligned to a page: the most `malloc_aligned(9)` accepts.
#[repr(C, align(4096))]
struct Align4096([u8; 4096]);

/// A type aligned beyond a page: no kernel allocator can honour it.
#[repr(C, align(8192))]
struct Align8192([u8; 8192]);

/// How far `addr` is from a multiple of `align` (0 if aligned).
fn misalignment(addr: usize, align: usize) -> usize {
    addr.checked_rem(align).unwrap_or(addr)
}

/// Rule (`kern::malloc`, *Alignment*): the allocator honours every
/// alignment up to a page, with `malloc(9)` up to 16 and
/// `malloc_aligned(9)` above, also when a buffer grows (`reallocate` moves
/// an over-aligned buffer by hand, since `realloc(9)` only keeps 16).
///
/// The value is the OR of the misalignments seen: 0.
pub(super) fn align(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "malloc_align";
    let mut off = 0usize;
    let b64 = Box::new(Align64([0xa5; 64]), cx.waitok());
    off |= misalignment(ptr::from_ref(&*b64).addr(), 64);
    // Uninitialised: a page-sized value is not built on the kernel stack.
    let b4096 = Box::<Align4096>::new_uninit(cx.waitok());
    off |= misalignment(ptr::from_ref(&*b4096).addr(), 4096);
    let mut v: Vec<Align64> = Vec::new();
    for i in 0..9u8 {
        v.push(Align64([i; 64]), cx.waitok());
        off |= misalignment(v.as_ptr().addr(), 64);
        let intact = v
            .iter()
            .zip(0u8..)
            .all(|(e, n)| e.0.iter().all(|&b| b == n));
        if !intact {
            return fail(CASE, "Vec<Align64> lost its contents when it grew", EIO);
        }
    }
    if b64.0.iter().any(|&b| b != 0xa5) {
        return fail(CASE, "Box<Align64> lost its contents", EIO);
    }
    let off = u64::try_from(off).unwrap_or(u64::MAX);
    if off != 0 {
        return fail(CASE, "misaligned memory", EFAULT);
    }
    Ok(off)
}

/// Rule (`kern::malloc`, *Alignment*): an alignment above a page fails
/// with `ENOMEM` from the `try_*` methods, even with a token's flags
/// (`M_WAITOK` never fails in FreeBSD, so the refusal is kern's), and
/// never returns misaligned memory. (Their infallible twins would call
/// `panic(9)`: an impossible request is a bug in the module.)
///
/// The value is the errno: `ENOMEM`.
pub(super) fn align_too_big(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "malloc_align_too_big";
    if Box::<Align8192>::try_new_uninit(cx.waitok()).is_ok() {
        return fail(CASE, "Box<Align8192> was allocated", EINVAL);
    }
    if Vec::<Align8192>::try_with_capacity(1, cx.waitok()).is_ok() {
        return fail(CASE, "Vec<Align8192> was allocated", EINVAL);
    }
    let mut v: Vec<Align8192> = Vec::new();
    match v.try_reserve(1, cx.waitok()) {
        Err(e) => Ok(errno_value(Error::from(e))),
        Ok(()) => fail(CASE, "Vec<Align8192> grew", EINVAL),
    }
}

/// Bytes of the buffer before it grows: a 32-byte `malloc(9)` bucket.
const OLD_LEN: usize = 20;
/// Bytes added with `M_ZERO`: still within that bucket, so `realloc(9)`
/// keeps the block (more than half of it is used) and does not zero it.
const GROWTH: usize = 10;
/// What the old bytes hold.
const FILL: u8 = 0xa5;

/// Rule (`kern::malloc`, `KernelAllocator::reallocate`): growing a block
/// with `M_ZERO` zeroes the grown tail, even when `realloc(9)` returns the
/// same block without touching it; the old contents are kept.
///
/// A `Vec<u8>` of [`OLD_LEN`] bytes grows by [`GROWTH`] with `M_ZERO`
/// (`try_reserve_exact`, which reaches `realloc(9)`). kern has no safe way
/// to read spare capacity, so the buffer stays with the open file and the
/// value is its address: the harness reads the tail there (and the bytes
/// after it, still the bucket's junk, which shows the block was reused).
pub(super) fn realloc_zero(open: &OpenFile, cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "realloc_zero";
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(OLD_LEN, cx.waitok())?;
    v.try_resize(OLD_LEN, FILL, cx.waitok())?;
    v.try_reserve_exact(GROWTH, M_ZERO)?;
    if v.capacity() != OLD_LEN.saturating_add(GROWTH) {
        return fail(CASE, "unexpected capacity", EINVAL);
    }
    if v.len() != OLD_LEN || v.iter().any(|&b| b != FILL) {
        return fail(CASE, "the old bytes were not kept", EIO);
    }
    let addr = u64::try_from(v.as_ptr().addr()).unwrap_or(0);
    // The previous buffer, if any, is freed here (free(9) does not sleep).
    *open.kept.lock(cx) = Some(v);
    Ok(addr)
}
