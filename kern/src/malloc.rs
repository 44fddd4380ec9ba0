// SPDX-License-Identifier: BSD-2-Clause
//! Kernel memory: the module's malloc type and an `alloc-kernel` allocator
//! over `malloc(9)`, `realloc(9)` and `free(9)`.
//!
//! C header: `sys/sys/malloc.h`. Manual pages: `malloc(9)`,
//! `MALLOC_DEFINE(9)`. Implementation: `sys/kern/kern_malloc.c`.
//!
//! Every allocation of a module is charged to its own malloc type, `M_KMOD`,
//! which `shim/module.c` defines with `MALLOC_DEFINE` under the module's
//! name, so `vmstat -m` shows what the module holds and the kernel warns at
//! unload if anything leaked.
//!
//! The flags say whether an allocation may sleep. [`M_NOWAIT`] and
//! [`M_ZERO`] are plain constants; there is no free-standing `M_WAITOK`:
//! waiting is only obtainable from a context token,
//! [`Sleepable::waitok`](crate::context::Sleepable::waitok), so the compiler
//! rejects a waiting allocation where sleeping is not allowed (see
//! [`context`](crate::context)).
//!
//! # What can fail
//! - `M_NOWAIT` allocations fail when memory is short: the `try_*` methods
//!   return `Err`, which `?` turns into `ENOMEM`. Every size a user
//!   chooses (the length of a `write(2)`, say) is allocated this way, even
//!   where sleeping is allowed: a huge `M_WAITOK` request may never return,
//!   and the user must get `ENOMEM` rather than park a kernel thread.
//! - `M_WAITOK` allocations do not fail: "The `malloc()`, `realloc()`, and
//!   `reallocf()` functions cannot return `NULL` if `M_WAITOK` is
//!   specified" (malloc(9)); the kernel sleeps until memory is free, and
//!   `malloc()` in `sys/kern/kern_malloc.c` (FreeBSD 15) asserts it:
//!   `KASSERT((flags & M_WAITOK) == 0, ("malloc(M_WAITOK) returned
//!   NULL"))`. Even the failure injection of `MALLOC_MAKE_FAILURES`
//!   (`malloc_dbg`, same file) fails only `M_NOWAIT` requests. So
//!   `Box::new(x, cx.waitok())`, `Arc::new`, `Vec::with_capacity`, `push`,
//!   `extend_from_slice`, `reserve`, `String::with_capacity` and `push_str`
//!   return the value itself. Should the kernel break its promise (or a
//!   request be impossible: an alignment above a page, a size that
//!   overflows), [`KernelAllocator`] calls `panic(9)`, as FreeBSD's
//!   assertion would.
//!
//! # Alignment
//! `malloc(9)` returns memory "suitably aligned for storage of any type of
//! object" (RETURN VALUES), which on amd64 is 16 bytes (`max_align_t`; the
//! smallest malloc zone is 16 bytes and larger ones are multiples of it, or
//! whole pages). Larger alignments up to a page use `malloc_aligned(9)`, whose
//! blocks are freed with `free(9)` like any other; a larger alignment fails.
//!
//! # Context
//! `M_NOWAIT` allocation and `free(9)` never sleep and may be used under a
//! mutex; `M_WAITOK` allocation may sleep. Neither may be used in a critical
//! section or under a spin lock (`malloc(9)`).
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//! use kern::alloc::{Box, Vec};
//!
//! fn example(cx: &mut Sleepable) -> Result {
//!     let mut v: Vec<u8> = Vec::new();
//!     v.try_push(1, M_NOWAIT)?; // may fail with ENOMEM, never sleeps
//!     let b = Box::new([0u64; 16], cx.waitok() | M_ZERO); // may sleep, never fails
//!     Ok(())
//! }
//! ```

use alloc_kernel::{AllocError, Allocator, Flags, Wait, WaitAllocator};
use core::alloc::Layout;
use core::ffi::c_int;
use core::marker::PhantomData;
use core::ops::BitOr;
use core::ptr::{self, NonNull};

/// Flags for an allocation that does not sleep: [`M_NOWAIT`], optionally
/// with [`M_ZERO`].
///
/// Converts into `alloc_kernel::Flags`, so it is what the allocating methods
/// of [`kern::alloc`](crate::alloc) take as their last argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MallocFlags(Flags);

/// Do not sleep: fail with `ENOMEM` if memory is not at hand.
///
/// The only choice under a mutex, and the rule for every allocation a user
/// can trigger from a system call (a user must not be able to park a kernel
/// thread indefinitely).
pub const M_NOWAIT: MallocFlags = MallocFlags(alloc_kernel::M_NOWAIT);

/// Zero the memory. Alone, it means `M_NOWAIT | M_ZERO`.
pub const M_ZERO: MallocFlags = MallocFlags(alloc_kernel::M_ZERO);

impl BitOr for MallocFlags {
    type Output = MallocFlags;

    fn bitor(self, rhs: MallocFlags) -> MallocFlags {
        MallocFlags(self.0 | rhs.0)
    }
}

impl From<MallocFlags> for Flags {
    fn from(f: MallocFlags) -> Flags {
        f.0
    }
}

/// Flags for an allocation that may sleep (`M_WAITOK`), borrowing a context
/// token ([`Sleepable::waitok`](crate::context::Sleepable::waitok)).
///
/// `cx.waitok() | M_ZERO` also zeroes the memory. Only `M_ZERO` is taken
/// from the right-hand side: a waiting allocation stays one (an allocation
/// that must not sleep is [`M_NOWAIT`] alone), so that the infallible
/// methods (`Box::new`, ...) that take it never see `M_NOWAIT`.
#[derive(Clone, Copy, Debug)]
pub struct WaitOk<'a> {
    extra: Flags,
    _cx: PhantomData<&'a ()>,
}

impl WaitOk<'_> {
    /// Only context tokens create this (they pass their own lifetime).
    pub(crate) const fn new() -> Self {
        Self {
            extra: Flags::EMPTY,
            _cx: PhantomData,
        }
    }
}

impl<'a> BitOr<MallocFlags> for WaitOk<'a> {
    type Output = WaitOk<'a>;

    fn bitor(self, rhs: MallocFlags) -> WaitOk<'a> {
        WaitOk {
            extra: self.extra | (rhs.0 & alloc_kernel::M_ZERO),
            _cx: PhantomData,
        }
    }
}

impl From<WaitOk<'_>> for Flags {
    fn from(w: WaitOk<'_>) -> Flags {
        alloc_kernel::M_WAITOK | w.extra
    }
}

/// A token's flags always wait (see the `BitOr` above).
impl Wait for WaitOk<'_> {}

/// The alignment `malloc(9)` guarantees on amd64 (see the module docs).
pub const MALLOC_MIN_ALIGN: usize = 16;

/// The largest alignment `malloc_aligned(9)` accepts: a page.
pub const MALLOC_MAX_ALIGN: usize = page_size();

const fn page_size() -> usize {
    // CAST: a u32 constant widens losslessly to usize on 64-bit targets.
    #[allow(clippy::as_conversions, reason = "widening in a const fn")]
    let size = sys::PAGE_SIZE as usize;
    size
}

/// How a layout is allocated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Strategy {
    /// `malloc(9)`: the alignment is at most [`MALLOC_MIN_ALIGN`].
    Malloc,
    /// `malloc_aligned(9)`: a power of two up to a page.
    Aligned,
    /// The alignment cannot be honoured.
    Unsupported,
}

const fn strategy(layout: Layout) -> Strategy {
    // `Layout` guarantees a power-of-two alignment.
    if layout.align() <= MALLOC_MIN_ALIGN {
        Strategy::Malloc
    } else if layout.align() <= MALLOC_MAX_ALIGN {
        Strategy::Aligned
    } else {
        Strategy::Unsupported
    }
}

/// The `malloc(9)` flags for `flags`: exactly one of `M_WAITOK` and
/// `M_NOWAIT` (as `malloc(9)` requires; `M_NOWAIT` unless the flags may
/// sleep), plus `M_ZERO` if asked. Other bits are dropped.
fn malloc_bits(flags: Flags) -> c_int {
    const NOWAIT: c_int = to_c_int(sys::M_NOWAIT);
    const WAITOK: c_int = to_c_int(sys::M_WAITOK);
    const ZERO: c_int = to_c_int(sys::M_ZERO);
    let wait = if flags.may_sleep() { WAITOK } else { NOWAIT };
    if flags.zeroed() { wait | ZERO } else { wait }
}

/// A `malloc(9)` flag constant as the `int` the functions take.
const fn to_c_int(flag: u32) -> c_int {
    // CAST: the M_* flags are small positive constants (below 1 << 17).
    #[allow(
        clippy::as_conversions,
        clippy::cast_possible_wrap,
        reason = "small constants"
    )]
    let v = flag as c_int;
    v
}

/// The `alloc-kernel` allocator over `malloc(9)` with the module's malloc
/// type `M_KMOD`.
///
/// A zero-sized type: collections that use it (the aliases in
/// [`kern::alloc`](crate::alloc)) are as small as with a global allocator.
/// Alignments above [`MALLOC_MIN_ALIGN`] use `malloc_aligned(9)`; above a
/// page, allocation fails.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct KernelAllocator;

// SAFETY:
// - Blocks come from malloc(9), realloc(9) or malloc_aligned(9) with
//   `M_KMOD`: at least the requested size, valid, disjoint from other live
//   blocks, until free(9). `strategy` picks malloc(9) only for alignments it
//   guarantees (16 on amd64) and malloc_aligned(9) only for powers of two up
//   to a page (its contract); anything else fails.
// - `M_ZERO` zeroes new blocks; `reallocate` zeroes the grown tail itself,
//   because realloc(9) may return the same block without zeroing it.
// - A failed realloc(9) returns NULL and leaves the old block alone.
// - The allocator is a ZST without state: every value frees every block.
unsafe impl Allocator for KernelAllocator {
    // Out of line: a module has many allocation sites (most at load), and
    // the flag and alignment logic inlined into each one cost more text
    // than the call (steady-state I/O paths do not allocate).
    #[inline(never)]
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
        let bits = malloc_bits(flags);
        let ptr = match strategy(layout) {
            Strategy::Malloc => raw::malloc(layout.size(), bits),
            Strategy::Aligned => raw::malloc_aligned(layout.size(), layout.align(), bits),
            Strategy::Unsupported => return Err(AllocError),
        };
        NonNull::new(ptr)
            .map(|p| NonNull::slice_from_raw_parts(p, layout.size()))
            .ok_or(AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, _layout: Layout) {
        // SAFETY: by the caller's contract `ptr` is a live block of this
        // allocator, so of malloc(9)/malloc_aligned(9) with `M_KMOD`.
        unsafe { raw::free(ptr.as_ptr()) };
    }

    #[inline(never)]
    unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if strategy(new) != Strategy::Malloc || old.align() != new.align() {
            // realloc(9) guarantees only malloc(9)'s alignment: move by hand.
            let block = self.allocate(new, flags)?;
            // SAFETY: the old block is valid for reads of `old.size()` bytes
            // (caller's contract), the new one for writes of `new.size()`;
            // two live blocks are disjoint.
            unsafe {
                ptr::copy_nonoverlapping(
                    ptr.as_ptr(),
                    block.cast::<u8>().as_ptr(),
                    old.size().min(new.size()),
                );
            };
            // SAFETY: `ptr` is a live block of this allocator (caller's
            // contract) and is not used again.
            unsafe { self.deallocate(ptr, old) };
            return Ok(block);
        }
        // SAFETY: `ptr` is a live block of malloc(9) with `M_KMOD` (caller's
        // contract); on success it must not be used again, and it is not.
        let moved = unsafe { raw::realloc(ptr.as_ptr(), new.size(), malloc_bits(flags)) };
        let moved = NonNull::new(moved).ok_or(AllocError)?;
        if flags.zeroed() && new.size() > old.size() {
            // SAFETY: the block holds at least `new.size()` bytes, so the
            // tail from `old.size()` is in bounds.
            let tail = unsafe { moved.as_ptr().add(old.size()) };
            // SAFETY: `new.size() - old.size()` writable bytes at `tail`.
            unsafe { ptr::write_bytes(tail, 0, new.size().saturating_sub(old.size())) };
        }
        Ok(NonNull::slice_from_raw_parts(moved, new.size()))
    }
}

impl WaitAllocator for KernelAllocator {
    /// `panic(9)`: `M_WAITOK` returned NULL, which FreeBSD's `malloc()`
    /// asserts never happens, or the request was impossible. Out of line
    /// and cold, so a waiting allocation costs its call site one branch.
    /// The message is that of the `KASSERT` in `malloc()`
    /// (`sys/kern/kern_malloc.c`, freebsd-src main).
    #[cold]
    #[inline(never)]
    fn wait_failed() -> ! {
        // SAFETY: a constant NUL-terminated message without conversions;
        // panic(9) does not return.
        unsafe { sys::panic(c"malloc(M_WAITOK) returned NULL".as_ptr()) }
    }
}

/// The kernel's allocation functions with `M_KMOD`.
mod raw {
    use core::ffi::{c_int, c_void};

    unsafe extern "C" {
        /// The module's malloc type, defined by `MALLOC_DEFINE` in
        /// `shim/module.c` (a one-element array, as the macro makes it).
        /// The kernel updates it (statistics), so it is only ever used
        /// through raw pointers.
        static mut M_KMOD: [sys::malloc_type; 1];
    }

    fn mtype() -> *mut sys::malloc_type {
        (&raw mut M_KMOD).cast::<sys::malloc_type>()
    }

    pub(super) fn malloc(size: usize, flags: c_int) -> *mut u8 {
        // SAFETY: `M_KMOD` is a malloc type registered by the module's
        // SYSINIT before any module code runs; `flags` holds exactly one of
        // M_WAITOK/M_NOWAIT (see `malloc_bits`).
        unsafe { sys::malloc(size, mtype(), flags) }.cast::<u8>()
    }

    pub(super) fn malloc_aligned(size: usize, align: usize, flags: c_int) -> *mut u8 {
        // SAFETY: as for `malloc`; `align` is a power of two no larger than
        // a page (checked by `strategy`), as malloc_aligned(9) requires.
        unsafe { sys::malloc_aligned(size, align, mtype(), flags) }.cast::<u8>()
    }

    /// # Safety
    /// `ptr` is a live block of `M_KMOD`, not used after a successful call.
    pub(super) unsafe fn realloc(ptr: *mut u8, size: usize, flags: c_int) -> *mut u8 {
        // SAFETY: the caller's contract; flags as for `malloc`.
        unsafe { sys::realloc(ptr.cast::<c_void>(), size, mtype(), flags) }.cast::<u8>()
    }

    /// # Safety
    /// `ptr` is a live block of `M_KMOD`, not used afterwards.
    pub(super) unsafe fn free(ptr: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { sys::free(ptr.cast::<c_void>(), mtype()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::sleepable;

    #[test]
    fn flags_are_normalised() {
        let nowait = to_c_int(sys::M_NOWAIT);
        let waitok = to_c_int(sys::M_WAITOK);
        let zero = to_c_int(sys::M_ZERO);
        assert_eq!(malloc_bits(M_NOWAIT.into()), nowait);
        assert_eq!(malloc_bits(M_ZERO.into()), nowait | zero);
        assert_eq!(malloc_bits((M_NOWAIT | M_ZERO).into()), nowait | zero);
        let cx = sleepable();
        assert_eq!(malloc_bits(cx.waitok().into()), waitok);
        assert_eq!(malloc_bits((cx.waitok() | M_ZERO).into()), waitok | zero);
        // A token's flags stay waiting: M_NOWAIT is not taken from it.
        assert_eq!(malloc_bits((cx.waitok() | M_NOWAIT).into()), waitok);
        // Unknown bits never reach malloc(9).
        assert_eq!(malloc_bits(Flags::from_bits(0x4000 | 0x1)), nowait);
        assert_eq!(malloc_bits(Flags::EMPTY), nowait);
    }

    #[test]
    fn alignment_strategy() {
        let l = |align| Layout::from_size_align(8, align).unwrap();
        assert_eq!(strategy(l(1)), Strategy::Malloc);
        assert_eq!(strategy(l(16)), Strategy::Malloc);
        assert_eq!(strategy(l(32)), Strategy::Aligned);
        assert_eq!(strategy(l(4096)), Strategy::Aligned);
        assert_eq!(strategy(l(8192)), Strategy::Unsupported);
    }
}
