// SPDX-License-Identifier: BSD-2-Clause
//! counter(9): per-CPU 64-bit counters.
//!
//! Followed (FreeBSD 15): `sys/kern/subr_counter.c` (`counter_u64_alloc`
//! = `uma_zalloc_pcpu(pcpu_zone_8, flags | M_ZERO)`, `counter_u64_free`,
//! `counter_u64_fetch` summing every CPU's copy, `counter_u64_zero`,
//! `sysctl_handle_counter_u64`: a read gives the sum, any write zeroes
//! the counter) and `sys/amd64/include/counter.h` with
//! `sys/amd64/include/pcpu.h`: a `counter_u64_t` is an offset from
//! `&__pcpu[0]` (`zpcpu_base_to_offset`), CPU `n`'s copy is `n` pages
//! after CPU 0's, and `counter_u64_add` is module code, one
//! `addq inc, %gs:(c)` on the running CPU's copy. The harness's CPUs are
//! its threads (`crate::thread::pcpu`); the copies live in chunks of
//! `MAXCPU` pages, 512 counters a chunk (`UMA_PCPU_ALLOC_SIZE / 8`).
//!
//! Differences: `counter_u64_zero` stores zero into each copy in turn
//! (FreeBSD runs it on every CPU at once with `smp_rendezvous`), so an
//! add racing with it may survive; allocation never fails (no
//! `MALLOC_MAKE_FAILURES` for UMA in FreeBSD either).

use crate::sync::lock_ignoring_poison;
use crate::thread::pcpu::{MAXCPU, PCPU_STRIDE, cpus_used, pcpu0};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counter slots of CPU 0 not in use, process-wide (every copy of a free
/// slot is zero).
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A new chunk: `MAXCPU` pages, never unmapped; its slots go to `free`.
fn new_chunk(free: &mut Vec<usize>) {
    // SAFETY: an anonymous private mapping nothing else uses; pages are
    // zero until written.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            MAXCPU * PCPU_STRIDE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert!(p != libc::MAP_FAILED, "mmap of a counter chunk failed");
    let base = p as usize;
    free.extend((0..PCPU_STRIDE / 8).rev().map(|i| base + i * 8));
}

/// CPU `cpu`'s copy of the counter whose CPU 0 copy is at `base`.
fn copy(base: usize, cpu: usize) -> &'static AtomicU64 {
    // SAFETY: `base` is a slot of a chunk (8-aligned), and every CPU's
    // copy lies in the chunk, which is never unmapped. Module code adds
    // to it with a plain `addq` on its own CPU's copy only; this reads or
    // stores whole aligned words, as FreeBSD's fetch and zero do.
    unsafe { AtomicU64::from_ptr((base + cpu * PCPU_STRIDE) as *mut u64) }
}

/// The counters one kernel's modules hold.
#[derive(Default)]
pub(crate) struct Counters {
    live: Mutex<HashSet<usize>>,
}

impl Counters {
    /// `counter_u64_alloc`: a zeroed counter, as its offset from
    /// `&__pcpu[0]`.
    pub(crate) fn alloc(&self) -> usize {
        let mut free = lock_ignoring_poison(&FREE);
        if free.is_empty() {
            new_chunk(&mut free);
        }
        let base = free.pop().unwrap_or_default();
        drop(free);
        lock_ignoring_poison(&self.live).insert(base);
        base.wrapping_sub(pcpu0())
    }

    /// `counter_u64_free`; false if `c` is not a live counter of this
    /// kernel.
    pub(crate) fn free(&self, c: usize) -> bool {
        let base = c.wrapping_add(pcpu0());
        if !lock_ignoring_poison(&self.live).remove(&base) {
            return false;
        }
        zero_base(base);
        lock_ignoring_poison(&FREE).push(base);
        true
    }

    /// Whether `c` is a live counter of this kernel.
    pub(crate) fn is_live(&self, c: usize) -> bool {
        lock_ignoring_poison(&self.live).contains(&c.wrapping_add(pcpu0()))
    }

    /// Counters allocated and not freed.
    pub(crate) fn count(&self) -> usize {
        lock_ignoring_poison(&self.live).len()
    }
}

/// `counter_u64_fetch`: the sum of every CPU's copy (wrapping, as the C
/// sum of `uint64_t`s).
pub(crate) fn fetch(c: usize) -> u64 {
    let base = c.wrapping_add(pcpu0());
    (0..cpus_used()).fold(0u64, |sum, cpu| {
        sum.wrapping_add(copy(base, cpu).load(Ordering::Relaxed))
    })
}

/// `counter_u64_zero`.
pub(crate) fn zero(c: usize) {
    zero_base(c.wrapping_add(pcpu0()));
}

fn zero_base(base: usize) {
    for cpu in 0..cpus_used() {
        copy(base, cpu).store(0, Ordering::Relaxed);
    }
}
