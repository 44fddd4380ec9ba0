// SPDX-License-Identifier: BSD-2-Clause
//! counter(9): per-CPU 64-bit statistics counters.
//!
//! C header: `sys/sys/counter.h` (and `machine/counter.h`). Manual page:
//! `counter(9)`. Implementation: `sys/kern/subr_counter.c`.
//!
//! A [`Counter`] is a `counter_u64_t`: one 64-bit word per CPU. Adding
//! touches only the running CPU's word, with no lock and no atomic
//! instruction (on amd64 `counter_u64_add` is one `addq` to
//! `%gs`-relative memory, inline in `machine/counter.h`, reached through
//! the C shim's `shim_counter_u64_add`), so it scales where an
//! `AtomicU64` bounces its cache line between CPUs; reading
//! ([`fetch`](Counter::fetch)) sums every CPU's word, so it costs more and
//! may miss adds running at that moment. Use it for statistics that are
//! bumped often and read rarely. A sysctl leaf shows one with
//! [`SysctlBuilder::add_counter`](crate::sysctl::SysctlBuilder::add_counter)
//! (`SYSCTL_ADD_COUNTER_U64`): a read gives the sum, a write (root)
//! zeroes it.
//!
//! ```
//! use kern::counter::Counter;
//! use kern::prelude::*;
//!
//! struct Stats {
//!     packets: Counter,
//! }
//!
//! fn load(cx: &mut Sleepable) -> Stats {
//!     Stats { packets: Counter::new(cx) }   // M_WAITOK: cannot fail
//! }
//!
//! fn on_packet(stats: &Stats) {
//!     stats.packets.add(1);                  // any context, never sleeps
//! }
//! ```
//!
//! # Context
//! [`add`](Counter::add), [`fetch`](Counter::fetch) and
//! [`zero`](Counter::zero) never sleep and take no lock: any context,
//! interrupt filters included. [`Counter::new`] may sleep (`M_WAITOK`);
//! [`Counter::try_new`] does not. Dropping frees the counter
//! (`counter_u64_free`), which does not sleep.

use crate::context::Sleepable;
use crate::error::{Result, code};
use crate::malloc::MallocFlags;
use core::ffi::c_int;
use core::ptr::NonNull;

/// A counter(9) counter (`counter_u64_t`), freed when dropped.
///
/// # Invariants
/// `c` is a live counter from `counter_u64_alloc`, freed only by `Drop`.
/// The type is `repr(transparent)`, so a `&Counter` points at the
/// `counter_u64_t` itself, as `SYSCTL_ADD_COUNTER_U64` wants.
#[repr(transparent)]
#[derive(Debug)]
pub struct Counter {
    c: NonNull<u64>,
}

// SAFETY: a counter may be used and freed from any thread: every CPU adds
// to its own word, and fetch/zero/free are the kernel's, safe from any
// thread.
unsafe impl Send for Counter {}
// SAFETY: `&Counter` only adds, fetches and zeroes, which the kernel allows
// concurrently from any number of threads.
unsafe impl Sync for Counter {}

impl Counter {
    /// A zeroed counter, allocated with `M_WAITOK` (may sleep, cannot
    /// fail: should the kernel return NULL, this calls `panic(9)` as its
    /// own assertion would).
    #[must_use]
    pub fn new(cx: &mut Sleepable) -> Self {
        let _ = cx;
        match alloc(sys::M_WAITOK) {
            Some(c) => Self { c },
            None => waitok_failed(),
        }
    }

    /// A zeroed counter, allocated without sleeping.
    ///
    /// # Errors
    /// `ENOMEM` if the kernel has no memory at hand.
    pub fn try_new(flags: MallocFlags) -> Result<Self> {
        let flags = alloc_kernel::Flags::from(flags).bits() & !sys::M_ZERO;
        // INVARIANT: a live counter from counter_u64_alloc.
        alloc(flags).map(|c| Self { c }).ok_or(code::ENOMEM)
    }

    /// Adds `n` (which may be negative) to this CPU's word
    /// (`counter_u64_add`).
    pub fn add(&self, n: i64) {
        // SAFETY: a live counter (type invariant).
        unsafe { sys::shim_counter_u64_add(self.c.as_ptr(), n) };
    }

    /// The sum over every CPU (`counter_u64_fetch`), wrapping.
    #[must_use]
    pub fn fetch(&self) -> u64 {
        // SAFETY: a live counter (type invariant).
        unsafe { sys::counter_u64_fetch(self.c.as_ptr()) }
    }

    /// Zeroes every CPU's word (`counter_u64_zero`).
    pub fn zero(&self) {
        // SAFETY: a live counter (type invariant).
        unsafe { sys::counter_u64_zero(self.c.as_ptr()) };
    }

    /// The `counter_u64_t` variable, for `SYSCTL_ADD_COUNTER_U64`.
    pub(crate) fn as_raw(&self) -> *mut sys::counter_u64_t {
        core::ptr::from_ref(self).cast_mut().cast()
    }
}

impl Drop for Counter {
    /// `counter_u64_free`.
    fn drop(&mut self) {
        // SAFETY: a live counter (type invariant), freed once.
        unsafe { sys::counter_u64_free(self.c.as_ptr()) };
    }
}

/// `counter_u64_alloc(flags)`; `None` for NULL.
fn alloc(flags: u32) -> Option<NonNull<u64>> {
    let flags = c_int::try_from(flags).ok()?;
    // SAFETY: no precondition beyond valid flags; M_WAITOK callers hold a
    // sleepable context.
    NonNull::new(unsafe { sys::counter_u64_alloc(flags) })
}

/// `panic(9)`: `counter_u64_alloc(M_WAITOK)` returned NULL.
#[cold]
#[inline(never)]
fn waitok_failed() -> ! {
    // SAFETY: a NUL-terminated message without conversions; panic(9) does
    // not return.
    unsafe { sys::panic(c"kern: counter_u64_alloc(M_WAITOK) returned NULL".as_ptr()) }
}
