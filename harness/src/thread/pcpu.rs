// SPDX-License-Identifier: BSD-2-Clause
//! The per-CPU areas: FreeBSD's `__pcpu[MAXCPU]` array, one `struct pcpu`
//! per CPU at a stride of `UMA_PCPU_ALLOC_SIZE` (a page:
//! `sys/amd64/include/pcpu_aux.h` asserts `sizeof(struct pcpu) ==
//! UMA_PCPU_ALLOC_SIZE`), and `%gs` pointing at the running CPU's.
//!
//! Per-CPU memory (`counter(9)`, `uma_zalloc_pcpu`) depends on that
//! layout: a per-CPU pointer is an offset from `&__pcpu[0]`
//! (`zpcpu_base_to_offset`, `sys/amd64/include/pcpu.h`, FreeBSD 15), CPU
//! `n`'s copy lies `n` pages after CPU 0's, and `counter_u64_add` adds
//! to `%gs:(offset)` with one instruction (`zpcpu_add`). Here every OS
//! thread that runs module code is a CPU of its own for as long as it
//! lives: it takes a free slot of the array (at most `MAXCPU`, 1024 on
//! amd64, at once), so no two threads ever add to the same copy at the
//! same time, as no two threads run on one CPU at once.

use crate::sync::lock_ignoring_poison;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// `MAXCPU` (`sys/amd64/include/param.h`, FreeBSD 15, `SMP` or
/// `KLD_MODULE`).
pub(crate) const MAXCPU: usize = 1024;
/// `UMA_PCPU_ALLOC_SIZE`: `PAGE_SIZE`.
pub(crate) const PCPU_STRIDE: usize = 4096;

const _: () = assert!(size_of::<sys::pcpu>() == PCPU_STRIDE);

/// The `__pcpu` array and its free slots.
struct Area {
    base: usize,
    free: Mutex<Vec<usize>>,
    /// Slots handed out so far (the highest CPU id in use is below it).
    used: AtomicUsize,
}

fn area() -> &'static Area {
    static AREA: OnceLock<Area> = OnceLock::new();
    AREA.get_or_init(|| {
        // SAFETY: an anonymous private mapping; nothing else uses it. It
        // is never unmapped (the process's `__pcpu`).
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
        assert!(p != libc::MAP_FAILED, "mmap of the pcpu area failed");
        Area {
            base: p as usize,
            free: Mutex::new(Vec::new()),
            used: AtomicUsize::new(0),
        }
    })
}

/// `&__pcpu[0]`.
pub(crate) fn pcpu0() -> usize {
    area().base
}

/// How many CPU slots were ever handed out: every CPU id is below it
/// (`CPU_FOREACH` over the CPUs that may hold per-CPU values).
pub(crate) fn cpus_used() -> usize {
    area().used.load(Ordering::Acquire)
}

/// One thread's `struct pcpu`: a slot of the `__pcpu` array, zeroed when
/// taken, given back when the thread's context is dropped.
pub(super) struct PcpuSlot {
    idx: usize,
}

impl PcpuSlot {
    /// Takes a free slot.
    ///
    /// # Panics
    /// If `MAXCPU` threads already run module code.
    pub(super) fn take() -> Self {
        let a = area();
        let idx = lock_ignoring_poison(&a.free).pop().unwrap_or_else(|| {
            let i = a.used.fetch_add(1, Ordering::AcqRel);
            assert!(i < MAXCPU, "more than MAXCPU threads run module code");
            i
        });
        let slot = PcpuSlot { idx };
        // SAFETY: the slot is this value's alone (taken from the free list
        // or new) and a valid place for a `struct pcpu` (page-aligned,
        // one page); all-zero is a valid `struct pcpu`.
        unsafe { slot.ptr().write(sys::pcpu::default()) };
        let mut slot = slot;
        // PCPU_GET(cpuid); MAXCPU fits in a u_int.
        slot.pc_cpuid = u32::try_from(idx).unwrap_or(u32::MAX);
        slot
    }

    /// The slot's `struct pcpu`.
    pub(super) fn ptr(&self) -> *mut sys::pcpu {
        (area().base + self.idx * PCPU_STRIDE) as *mut sys::pcpu
    }
}

impl core::ops::Deref for PcpuSlot {
    type Target = sys::pcpu;
    fn deref(&self) -> &sys::pcpu {
        // SAFETY: the slot is this value's alone while it lives.
        unsafe { &*self.ptr() }
    }
}

impl core::ops::DerefMut for PcpuSlot {
    fn deref_mut(&mut self) -> &mut sys::pcpu {
        // SAFETY: as above, and `&mut self` is unique.
        unsafe { &mut *self.ptr() }
    }
}

impl Drop for PcpuSlot {
    fn drop(&mut self) {
        lock_ignoring_poison(&area().free).push(self.idx);
    }
}
