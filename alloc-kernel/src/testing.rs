// SPDX-License-Identifier: BSD-2-Clause
//! Test doubles for allocation failure (feature `host`).
//!
//! [`FailingAllocator`] wraps the host's system allocator with a ledger:
//! it fails the requests you ask it to fail, counts requests, live blocks and
//! live bytes, poisons uninitialised memory, and checks that every block comes
//! back with the pointer and layout it was handed out with. This crate's
//! own tests use it (the unit tests of every collection, and the model and
//! thread tests under `tests/`) to check that an allocation failure leaves
//! a collection unchanged and leaks nothing. Another crate's host tests can
//! do the same for their own collections by enabling the feature in their
//! `[dev-dependencies]`:
//! `alloc-kernel = { workspace = true, features = ["host"] }`. (A `.ko`'s
//! allocations go through `malloc(9)`; the test kernel, `harness/`, fails
//! those itself.)
//!
//! # Examples
//!
//! ```
//! use alloc_kernel::testing::FailingAllocator;
//! use alloc_kernel::{Vec, M_NOWAIT};
//!
//! let alloc = FailingAllocator::new();
//! let mut v = Vec::new_in(alloc.clone());
//! v.try_push(1u32, M_NOWAIT)?;
//!
//! alloc.fail_next();
//! let before = alloc.stats();
//! assert!(v.try_reserve(100, M_NOWAIT).is_err());
//! assert_eq!(v, [1]);
//! assert_eq!(alloc.stats().live_bytes, before.live_bytes);
//!
//! drop(v);
//! assert!(alloc.is_clean(), "{:?}", alloc.violations());
//! # Ok::<(), alloc_kernel::AllocError>(())
//! ```
#![expect(
    clippy::std_instead_of_alloc,
    reason = "the crate links `std` only, under the `host` feature, and never `alloc`"
)]

use crate::{AllocError, Allocator, Flags, M_WAITOK, Wait};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use std::alloc::System;
use std::collections::HashMap;
use std::sync::{Arc as StdArc, Mutex, MutexGuard, PoisonError};
use std::vec::Vec as StdVec;

/// Flags for a waiting allocation in host tests: `M_WAITOK` as a [`Wait`]
/// type, for the infallible methods (`Box::new`, `Vec::push`, ...) with
/// [`HostAllocator`](crate::HostAllocator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sleeping;

impl From<Sleeping> for Flags {
    fn from(_: Sleeping) -> Flags {
        M_WAITOK
    }
}

impl Wait for Sleeping {}

/// The byte pattern written over memory that is handed out without
/// `M_ZERO`, and over memory that is given back: `0xdeadc0de`, repeated.
pub const POISON: [u8; 4] = 0xdead_c0de_u32.to_be_bytes();

/// A rule broken by a user of a [`FailingAllocator`], recorded instead of
/// causing undefined behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A request for zero bytes reached the allocator; the collections must
    /// use dangling pointers instead. The request failed.
    ZeroSizedRequest {
        /// The requested layout.
        layout: Layout,
    },
    /// `deallocate` or `reallocate` was given a pointer that is not a live
    /// block of this allocator. The call did nothing (a `reallocate`
    /// failed).
    UnknownBlock {
        /// The address given.
        addr: usize,
        /// The layout given.
        layout: Layout,
    },
    /// A live block was given back (or reallocated) with another layout than
    /// the one it was allocated with. The block was freed (or moved) all the
    /// same, using the recorded layout.
    LayoutMismatch {
        /// The block's address.
        addr: usize,
        /// The layout it was allocated or last reallocated with.
        allocated: Layout,
        /// The layout given back.
        given: Layout,
    },
}

/// Counters of a [`FailingAllocator`], taken at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls to `allocate` and `reallocate`, failed ones included.
    pub requests: usize,
    /// Requests that failed (injected, over budget, or refused by the system
    /// allocator).
    pub failures: usize,
    /// Blocks handed out and not yet given back.
    pub live_allocations: usize,
    /// Total size of the live blocks, as requested.
    pub live_bytes: usize,
}

/// The shared state behind a [`FailingAllocator`].
#[derive(Default)]
struct Ledger {
    /// Live blocks by address, with the layout they were handed out with.
    live: HashMap<usize, Layout>,
    stats: Stats,
    /// Requests still to let through before failing one, if armed.
    fail_after: Option<usize>,
    fail_all: bool,
    byte_budget: Option<usize>,
    violations: StdVec<Violation>,
}

impl Ledger {
    /// Counts a request for `bytes` new bytes and decides whether it fails.
    fn admit(&mut self, bytes: usize) -> bool {
        self.stats.requests = self.stats.requests.saturating_add(1);
        let mut fail = self.fail_all;
        match self.fail_after {
            Some(0) => {
                fail = true;
                self.fail_after = None;
            }
            Some(n) => self.fail_after = Some(n.saturating_sub(1)),
            None => {}
        }
        if let Some(budget) = self.byte_budget {
            fail |= self.stats.live_bytes.saturating_add(bytes) > budget;
        }
        if fail {
            self.count_failure();
        }
        !fail
    }

    fn count_failure(&mut self) {
        self.stats.failures = self.stats.failures.saturating_add(1);
    }

    fn insert(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.live.insert(ptr.addr().get(), layout);
        self.stats.live_allocations = self.live.len();
        self.stats.live_bytes = self.stats.live_bytes.saturating_add(layout.size());
    }

    /// Looks up a block being given back; `None` (and a violation) if it is
    /// not live. Returns the recorded layout.
    fn check(&mut self, ptr: NonNull<u8>, given: Layout) -> Option<Layout> {
        let addr = ptr.addr().get();
        let Some(&allocated) = self.live.get(&addr) else {
            self.violations.push(Violation::UnknownBlock {
                addr,
                layout: given,
            });
            return None;
        };
        if allocated != given {
            self.violations.push(Violation::LayoutMismatch {
                addr,
                allocated,
                given,
            });
        }
        Some(allocated)
    }

    fn remove(&mut self, ptr: NonNull<u8>) {
        if let Some(layout) = self.live.remove(&ptr.addr().get()) {
            self.stats.live_allocations = self.live.len();
            self.stats.live_bytes = self.stats.live_bytes.saturating_sub(layout.size());
        }
    }
}

/// An allocator for tests: the system allocator plus injected failures,
/// counters and checks.
///
/// A cheap handle: clones share one ledger, so keep a clone in the test and
/// give another to the collection (`Vec::new_in(alloc.clone())`), or lend it
/// by reference (`Vec::new_in(&alloc)`). It is `Send` and `Sync`.
///
/// - Failures: [`fail_next`](Self::fail_next),
///   [`fail_after`](Self::fail_after), [`set_fail_all`](Self::set_fail_all),
///   [`set_byte_budget`](Self::set_byte_budget),
///   [`clear_failures`](Self::clear_failures). A *request* is a call to
///   `allocate` or `reallocate`.
/// - Counters: [`stats`](Self::stats) (requests, failures, live blocks, live
///   bytes).
/// - Checks: [`violations`](Self::violations), [`is_clean`](Self::is_clean).
///   A bad `deallocate` is recorded and ignored rather than passed on to the
///   system allocator.
/// - Memory handed out without `M_ZERO` is filled with [`POISON`], and so is
///   memory given back, so reads of uninitialised or freed memory show up.
/// - `reallocate` always moves the block (so stale pointers show up), and so
///   needs old plus new bytes of budget while it runs.
///
/// It has no `Default`: every `FailingAllocator::new()` has its own ledger,
/// so the allocator rules would not hold between two defaults. Use the `_in`
/// constructors.
#[derive(Clone)]
pub struct FailingAllocator {
    ledger: StdArc<Mutex<Ledger>>,
}

impl core::fmt::Debug for FailingAllocator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FailingAllocator")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl FailingAllocator {
    /// A new allocator with its own ledger, failing nothing.
    #[must_use]
    #[expect(
        clippy::new_without_default,
        reason = "two defaults would not share a ledger, breaking the `Allocator` rule on `Default`"
    )]
    pub fn new() -> Self {
        FailingAllocator {
            ledger: StdArc::new(Mutex::new(Ledger::default())),
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panicking test may poison the lock; the ledger stays consistent
        // (every update is a single step), so keep using it.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails the next request, once.
    pub fn fail_next(&self) {
        self.fail_after(0);
    }

    /// Lets `successes` requests through, then fails the one after, once
    /// (so `fail_after(0)` fails the next request). Replaces an earlier
    /// `fail_after`.
    pub fn fail_after(&self, successes: usize) {
        self.ledger().fail_after = Some(successes);
    }

    /// Fails every request while `on` is true.
    pub fn set_fail_all(&self, on: bool) {
        self.ledger().fail_all = on;
    }

    /// Fails every request that would bring the live bytes above `budget`
    /// (`None`: no budget).
    pub fn set_byte_budget(&self, budget: Option<usize>) {
        self.ledger().byte_budget = budget;
    }

    /// Disarms `fail_after`, `set_fail_all` and `set_byte_budget`.
    pub fn clear_failures(&self) {
        let mut ledger = self.ledger();
        ledger.fail_after = None;
        ledger.fail_all = false;
        ledger.byte_budget = None;
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.ledger().stats
    }

    /// The violations recorded so far, oldest first.
    #[must_use]
    pub fn violations(&self) -> StdVec<Violation> {
        self.ledger().violations.clone()
    }

    /// No live blocks and no violations: everything handed out came back
    /// the way it went.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        let ledger = self.ledger();
        ledger.live.is_empty() && ledger.violations.is_empty()
    }

    /// Gets a block from the system allocator and records it. The request
    /// has been admitted.
    fn system_allocate(
        ledger: &mut Ledger,
        layout: Layout,
        flags: Flags,
    ) -> Result<NonNull<u8>, AllocError> {
        // SAFETY: `layout` has a non-zero size (zero-size requests are
        // refused before this point).
        let Some(block) = NonNull::new(unsafe { System.alloc(layout) }) else {
            ledger.count_failure();
            return Err(AllocError);
        };
        let fill = if flags.zeroed() { None } else { Some(POISON) };
        // SAFETY: `block` is a fresh block of `layout.size()` bytes.
        unsafe { fill_block(block, layout.size(), fill) };
        ledger.insert(block, layout);
        Ok(block)
    }

    /// Poisons and frees a recorded block and forgets it.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live block of `ledger`, allocated with `layout`.
    unsafe fn system_deallocate(ledger: &mut Ledger, ptr: NonNull<u8>, layout: Layout) {
        ledger.remove(ptr);
        // SAFETY: the block is live and `layout.size()` bytes long (caller's
        // contract).
        unsafe { fill_block(ptr, layout.size(), Some(POISON)) };
        // SAFETY: the block was allocated by `System` with `layout` (caller's
        // contract) and is forgotten by the ledger.
        unsafe { System.dealloc(ptr.as_ptr(), layout) };
    }
}

/// Fills `len` bytes at `ptr` with zeros (`None`) or the repeated pattern.
///
/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes.
unsafe fn fill_block(ptr: NonNull<u8>, len: usize, pattern: Option<[u8; 4]>) {
    match pattern {
        None => {
            // SAFETY: valid for writes of `len` bytes (caller's contract).
            unsafe { ptr.write_bytes(0, len) };
        }
        Some(pattern) => {
            // SAFETY: valid for writes of `len` bytes (caller's contract), and
            // no reference to the block exists during this call.
            let bytes = unsafe { core::slice::from_raw_parts_mut(ptr.as_ptr(), len) };
            for (byte, value) in bytes.iter_mut().zip(pattern.iter().cycle()) {
                *byte = *value;
            }
        }
    }
}

// SAFETY: blocks come from `System` with the requested layout and are
// recorded until given back; `M_ZERO` blocks are zeroed, and `reallocate`
// copies the common prefix into a new block (zeroing the tail under `M_ZERO`)
// and frees the old one only on success. Clones share the ledger, so any clone
// can give a block back. A zero-size request fails. A pointer that is not a
// live block is never passed to `System`.
unsafe impl Allocator for FailingAllocator {
    fn allocate(&self, layout: Layout, flags: Flags) -> Result<NonNull<[u8]>, AllocError> {
        let mut ledger = self.ledger();
        if layout.size() == 0 {
            ledger.stats.requests = ledger.stats.requests.saturating_add(1);
            ledger.count_failure();
            ledger
                .violations
                .push(Violation::ZeroSizedRequest { layout });
            return Err(AllocError);
        }
        if !ledger.admit(layout.size()) {
            return Err(AllocError);
        }
        let block = Self::system_allocate(&mut ledger, layout, flags)?;
        Ok(NonNull::slice_from_raw_parts(block, layout.size()))
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        let mut ledger = self.ledger();
        if let Some(allocated) = ledger.check(ptr, layout) {
            // SAFETY: the ledger says `ptr` is live, allocated with
            // `allocated`.
            unsafe { Self::system_deallocate(&mut ledger, ptr, allocated) };
        }
    }

    unsafe fn reallocate(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        flags: Flags,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let mut ledger = self.ledger();
        let Some(allocated) = ledger.check(ptr, old) else {
            ledger.stats.requests = ledger.stats.requests.saturating_add(1);
            ledger.count_failure();
            return Err(AllocError);
        };
        if new.size() == 0 {
            ledger.stats.requests = ledger.stats.requests.saturating_add(1);
            ledger.count_failure();
            ledger
                .violations
                .push(Violation::ZeroSizedRequest { layout: new });
            return Err(AllocError);
        }
        if !ledger.admit(new.size()) {
            return Err(AllocError);
        }
        let block = Self::system_allocate(&mut ledger, new, Flags::EMPTY)?;
        let common = allocated.size().min(new.size());
        // SAFETY: the old block is live with `allocated.size()` bytes, the
        // new one has `new.size()` bytes, and they are distinct live blocks.
        unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), block.as_ptr(), common) };
        if flags.zeroed()
            && let Some(grown) = new.size().checked_sub(common)
        {
            // SAFETY: `common <= new.size()`, so the tail is in bounds.
            let tail = unsafe { block.add(common) };
            // SAFETY: the `grown` bytes up to the end of the new block.
            unsafe { fill_block(tail, grown, None) };
        }
        // SAFETY: the ledger says `ptr` is live, allocated with `allocated`.
        unsafe { Self::system_deallocate(&mut ledger, ptr, allocated) };
        Ok(NonNull::slice_from_raw_parts(block, new.size()))
    }
}

#[cfg(test)]
mod tests;
