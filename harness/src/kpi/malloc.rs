// SPDX-License-Identifier: BSD-2-Clause
//! malloc(9): `malloc`, `malloc_aligned`, `realloc`, `reallocf`, `free`,
//! `malloc_init`, `malloc_uninit`, with per-type statistics, poisoning and
//! fault injection.
//!
//! Followed: `sys/kern/kern_malloc.c` (FreeBSD 15) and `malloc(9)`.
//!
//! * Sizes are rounded to the `kmemzones` buckets (16, 32, 64, 128, 256,
//!   384, 512, 1024, ..., 65536 bytes), larger requests to whole pages, and
//!   the statistics count bucket sizes, as `malloc_type_zone_allocated`
//!   does (so the "leaked" bytes match FreeBSD's message).
//! * Alignment: malloc(9) promises memory "suitably aligned for storage of
//!   any type of object"; in fact a UMA bucket of size `s` lays items out
//!   at multiples of `s` in a page-aligned slab, so an item is aligned to
//!   the largest power of two dividing its bucket size (a 384-byte item to
//!   128), and a large allocation to a page. `malloc_domainset_aligned`
//!   relies on that ("malloc zones provide alignment equal to their
//!   size"); the harness reproduces exactly this alignment.
//! * `M_WAITOK` never returns NULL, whatever the failure policy: `malloc()`
//!   asserts it (`KASSERT((flags & M_WAITOK) == 0, ("malloc(M_WAITOK)
//!   returned NULL"))`), and `MALLOC_MAKE_FAILURES` in `malloc_dbg` fails
//!   only requests with `M_NOWAIT` set (`if ((flags & M_NOWAIT) &&
//!   (malloc_failure_rate != 0))`). Exactly one of `M_WAITOK`/`M_NOWAIT`
//!   must be given (`malloc_dbg`: "Bad malloc flags"). A size that no
//!   memory can satisfy is a violation with `M_WAITOK` (FreeBSD would sleep
//!   forever) and NULL with `M_NOWAIT`.
//! * Memory not requested with `M_ZERO` is filled with `0xdeadc0de`, and
//!   freed memory is too, as an `INVARIANTS` kernel's trash functions do
//!   (`sys/vm/uma_dbg.c`).
//! * Fault injection follows `MALLOC_MAKE_FAILURES`
//!   (`debug.malloc.failure_rate`: every Nth `M_NOWAIT` allocation
//!   fails), plus "exactly the Nth from now" and "all".
//! * `malloc_uninit` reports a type that still has memory: "Warning:
//!   memory type %s leaked memory on destroy (%ld allocations, %ld bytes
//!   leaked)." (printed, and recorded as a violation so the test fails).

use crate::addr::{KAddr, KRange};
use crate::lowmem::PAGE_SIZE;
use crate::state::{Core, Injectable, ViolationKind};
use crate::sync::lock_ignoring_poison;
use crate::thread::{Panicked, witness};
use std::alloc::Layout;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// `kmemzones[]` of kern_malloc.c.
const ZONES: [usize; 14] = [
    16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];

/// The INVARIANTS trash pattern (`uma_junk`).
const JUNK: u32 = 0xdead_c0de;

/// When `M_NOWAIT` allocations fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FailPolicy {
    /// Never (the default).
    #[default]
    Never,
    /// Every Nth allocation (as `debug.malloc.failure_rate = N`).
    EveryNth(u64),
    /// Exactly the Nth allocation from now (1 = the next one), once.
    NthFromNow(u64),
    /// All of them.
    All,
}

/// Statistics of one malloc type (as `vmstat -m` shows them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MallocStats {
    /// The type's short description (`vmstat -m`'s "Type").
    pub name: String,
    /// Allocations not yet freed ("InUse").
    pub live_allocs: u64,
    /// Bytes (bucket sizes) not yet freed ("MemUse").
    pub live_bytes: u64,
    /// Successful allocations ("Requests").
    pub total_allocs: u64,
    /// Frees.
    pub total_frees: u64,
    /// Allocations that returned NULL (injected failures).
    pub failures: u64,
    /// The `kmemzones` bucket sizes this type has ever allocated from,
    /// ascending ("Size(s)": the `mts_size` bits `malloc` sets, never
    /// cleared; allocations larger than the largest bucket set none).
    pub sizes: Vec<usize>,
}

/// A live allocation.
struct Alloc {
    layout: Layout,
    /// Its malloc type.
    mtp: KAddr,
}

#[derive(Default)]
struct Inner {
    /// Live allocations by address.
    allocs: HashMap<KAddr, Alloc>,
    /// Initialised types by the address of their `struct malloc_type`.
    types: HashMap<KAddr, MallocStats>,
    /// `M_NOWAIT` allocation attempts (for "count, then fail each").
    nowait_seen: u64,
    /// All allocation attempts.
    all_seen: u64,
    policy: FailPolicy,
    /// Position within the current policy.
    countdown: u64,
    /// When each type was registered (`malloc_init` order).
    seq: HashMap<KAddr, u64>,
    next_seq: u64,
}

impl Inner {
    /// Registers `mtp` with its statistics.
    fn register(&mut self, mtp: KAddr, stats: MallocStats) {
        self.types.insert(mtp, stats);
        self.seq.insert(mtp, self.next_seq);
        self.next_seq += 1;
    }
}

/// The malloc state of one kernel.
#[derive(Default)]
pub(crate) struct MallocState {
    inner: Mutex<Inner>,
}

fn junk(p: *mut u8, len: usize) {
    let pat = JUNK.to_le_bytes();
    for i in 0..len {
        // SAFETY: callers pass a block they own of at least `len` bytes.
        unsafe { *p.wrapping_add(i) = pat[i % 4] };
    }
}

/// Bucket size and alignment for a request.
fn bucket(size: usize) -> Option<(usize, usize)> {
    if let Some(&z) = ZONES.iter().find(|&&z| z >= size) {
        let align = (1usize << z.trailing_zeros()).min(PAGE_SIZE);
        Some((z, align))
    } else {
        Some((crate::lowmem::round_up(size, PAGE_SIZE)?, PAGE_SIZE))
    }
}

impl MallocState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock_ignoring_poison(&self.inner)
    }

    /// Registers a type (malloc_init, or the kernel's own types).
    pub(crate) fn init_type(&self, mtp: KAddr, name: String) {
        self.lock().register(
            mtp,
            MallocStats {
                name,
                ..MallocStats::default()
            },
        );
    }

    /// Statistics of the type called `name`.
    pub(crate) fn stats(&self, name: &str) -> Option<MallocStats> {
        self.lock().types.values().find(|t| t.name == name).cloned()
    }

    /// Every type's statistics.
    pub(crate) fn all_stats(&self) -> Vec<MallocStats> {
        let mut v: Vec<MallocStats> = self.lock().types.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every type's statistics, oldest registration first: the order of
    /// `memstat_sysctl_malloc`'s list (the kernel's `kmemstatistics`
    /// list is newest first, and libmemstat inserts each type at the
    /// head of its own).
    pub(crate) fn registration_order(&self) -> Vec<MallocStats> {
        let i = self.lock();
        let mut v: Vec<(u64, MallocStats)> = i
            .types
            .iter()
            .map(|(a, t)| (i.seq.get(a).copied().unwrap_or(u64::MAX), t.clone()))
            .collect();
        v.sort_by_key(|(seq, _)| *seq);
        v.into_iter().map(|(_, t)| t).collect()
    }

    pub(crate) fn set_policy(&self, p: FailPolicy) {
        let mut i = self.lock();
        i.policy = p;
        i.countdown = 0;
    }

    /// (`M_NOWAIT` attempts, all attempts) so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let i = self.lock();
        (i.nowait_seen, i.all_seen)
    }

    /// Whether this allocation is to fail (and counts it).
    fn should_fail(i: &mut Inner, nowait: bool) -> bool {
        i.all_seen += 1;
        if nowait {
            i.nowait_seen += 1;
        }
        if !nowait {
            // kern_malloc.c: failure injection is for M_NOWAIT only, and
            // an M_WAITOK malloc() never returns NULL.
            return false;
        }
        match i.policy {
            FailPolicy::Never => false,
            FailPolicy::All => true,
            FailPolicy::EveryNth(n) => {
                i.countdown += 1;
                n > 0 && i.countdown.is_multiple_of(n)
            }
            FailPolicy::NthFromNow(n) => {
                i.countdown += 1;
                if i.countdown == n {
                    i.policy = FailPolicy::Never;
                    i.countdown = 0;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// malloc(9): `size` bytes of type `mtp`, reporting misuse to `k`.
    pub(crate) fn malloc(&self, k: &Core, size: usize, mtp: KAddr, flags: u32) -> *mut u8 {
        let mut flags = flags;
        let wait = flags & (sys::M_WAITOK | sys::M_NOWAIT);
        if wait != sys::M_WAITOK && wait != sys::M_NOWAIT {
            k.console(&format!("Bad malloc flags: {wait:x}\n"));
            k.violation(
                ViolationKind::Malloc,
                format!("malloc: bad malloc flags {flags:#x} (exactly one of M_WAITOK, M_NOWAIT)"),
            );
            flags |= sys::M_WAITOK;
            flags &= !sys::M_NOWAIT;
        }
        let nowait = flags & sys::M_NOWAIT != 0;
        if !nowait {
            witness::check_may_sleep(k, "malloc(M_WAITOK)");
        }
        let Some((bsize, align)) = bucket(size) else {
            if !nowait {
                k.violation(
                    ViolationKind::Malloc,
                    format!("malloc(M_WAITOK) of {size} bytes can never be satisfied (FreeBSD would sleep forever)"),
                );
            }
            return core::ptr::null_mut();
        };
        let mut i = self.lock();
        if !i.types.contains_key(&mtp) {
            drop(i);
            k.violation(ViolationKind::Malloc, format!("malloc: malloc type {mtp:#x} was not initialised (MALLOC_DEFINE's malloc_init did not run)"));
            i = self.lock();
            i.register(
                mtp,
                MallocStats {
                    name: format!("<unknown {mtp:#x}>"),
                    ..MallocStats::default()
                },
            );
        }
        // Both knobs count the call: the per-malloc policy and the
        // call-order injector (`state/inject.rs`).
        let injected = nowait && k.inject_fails(Injectable::MallocNowait);
        if Self::should_fail(&mut i, nowait) | injected {
            if let Some(t) = i.types.get_mut(&mtp) {
                t.failures += 1;
            }
            return core::ptr::null_mut();
        }
        let Ok(layout) = Layout::from_size_align(bsize, align) else {
            return core::ptr::null_mut();
        };
        // SAFETY: `layout` has a non-zero size (the smallest bucket is 16).
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            drop(i);
            if nowait {
                return p;
            }
            std::alloc::handle_alloc_error(layout);
        }
        if flags & sys::M_ZERO != 0 {
            // SAFETY: `p` is a fresh block of `bsize` bytes.
            unsafe { core::ptr::write_bytes(p, 0, bsize) };
        } else {
            junk(p, bsize);
        }
        i.allocs.insert(KAddr::from_ptr(p), Alloc { layout, mtp });
        if let Some(t) = i.types.get_mut(&mtp) {
            t.live_allocs += 1;
            t.live_bytes += bsize as u64;
            t.total_allocs += 1;
            if ZONES.contains(&bsize) && !t.sizes.contains(&bsize) {
                t.sizes.push(bsize);
                t.sizes.sort_unstable();
            }
        }
        p
    }

    /// free(9) of `addr`, said to be of type `mtp`.
    pub(crate) fn free(&self, k: &Core, addr: KAddr, mtp: KAddr) {
        if addr.is_null() {
            return;
        }
        let mut i = self.lock();
        let Some(a) = i.allocs.remove(&addr) else {
            drop(i);
            k.violation(
                ViolationKind::Malloc,
                format!("free: address {addr:#x} has not been allocated"),
            );
            return;
        };
        let owner = a.mtp;
        if owner != mtp {
            let (was, now) = (
                i.types
                    .get(&owner)
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                i.types
                    .get(&mtp)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| format!("{mtp:#x}")),
            );
            drop(i);
            k.violation(
                ViolationKind::Malloc,
                format!("free: address {addr:#x} allocated as type {was}, freed as type {now}"),
            );
            i = self.lock();
        }
        if let Some(t) = i.types.get_mut(&owner) {
            t.live_allocs = t.live_allocs.saturating_sub(1);
            t.live_bytes = t.live_bytes.saturating_sub(a.layout.size() as u64);
            t.total_frees += 1;
        }
        drop(i);
        junk(addr.ptr(), a.layout.size());
        // SAFETY: `addr` was returned by `alloc` with this layout (it was in
        // the table) and is removed from the table, so freed once.
        unsafe { std::alloc::dealloc(addr.ptr(), a.layout) };
    }

    /// The memory of a live allocation starting at `addr`.
    pub(crate) fn live_range(&self, addr: KAddr) -> Option<KRange> {
        self.alloc_size(addr).map(|len| KRange { start: addr, len })
    }

    /// The bucket size of a live allocation.
    fn alloc_size(&self, addr: KAddr) -> Option<usize> {
        self.lock().allocs.get(&addr).map(|a| a.layout.size())
    }

    /// malloc_aligned(9) (`malloc_domainset_aligned` in kern_malloc.c):
    /// a power-of-two size at least `align` gets its alignment from the
    /// bucket.
    pub(crate) fn malloc_aligned(
        &self,
        k: &Core,
        size: usize,
        align: usize,
        mtp: KAddr,
        flags: u32,
    ) -> *mut u8 {
        if !align.is_power_of_two() || align > PAGE_SIZE {
            k.violation(
                ViolationKind::Malloc,
                format!("malloc_domainset_aligned: wrong align {align:#x} size {size:#x}"),
            );
        }
        let size = size.max(1);
        let asize = if size <= align {
            align
        } else {
            size.next_power_of_two()
        };
        self.malloc(k, asize, mtp, flags)
    }

    /// realloc(9).
    pub(crate) fn realloc(
        &self,
        k: &Core,
        addr: KAddr,
        size: usize,
        mtp: KAddr,
        flags: u32,
    ) -> *mut u8 {
        if addr.is_null() {
            return self.malloc(k, size, mtp, flags);
        }
        let Some(alloc) = self.alloc_size(addr) else {
            k.violation(
                ViolationKind::Malloc,
                format!("realloc: address {addr:#x} has not been allocated"),
            );
            return core::ptr::null_mut();
        };
        // Reuse the block if the new size fits and is more than half of it
        // (REALLOC_FRACTION 1).
        if size <= alloc && (size > alloc >> 1 || alloc == ZONES[0]) {
            return addr.ptr();
        }
        let new = self.malloc(k, size, mtp, flags);
        if new.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `addr` is a live block of `alloc` bytes (it is in the
        // table) and `new` a fresh one of at least `size`: both are at
        // least `min(size, alloc)` long, and distinct.
        unsafe { core::ptr::copy_nonoverlapping(addr.ptr::<u8>(), new, size.min(alloc)) };
        self.free(k, addr, mtp);
        new
    }

    /// reallocf(9): realloc(9) that frees the block when it fails.
    pub(crate) fn reallocf(
        &self,
        k: &Core,
        addr: KAddr,
        size: usize,
        mtp: KAddr,
        flags: u32,
    ) -> *mut u8 {
        let p = self.realloc(k, addr, size, mtp, flags);
        if p.is_null() {
            self.free(k, addr, mtp);
        }
        p
    }

    /// malloc_init (the SYSINIT of MALLOC_DEFINE); an unsupported
    /// version panics, as kern_malloc.c does ("malloc_init: unsupported
    /// malloc type version").
    ///
    /// # Safety
    /// `mtp` must point to the module's `struct malloc_type`.
    pub(crate) unsafe fn init(
        &self,
        k: &Core,
        mtp: *const sys::malloc_type,
    ) -> Result<(), Panicked> {
        // SAFETY: by the caller's contract.
        let version = unsafe { (*mtp).ks_version };
        if version != u64::from(sys::M_VERSION) {
            k.record_panic(&format!(
                "malloc_init: unsupported malloc type version {version}"
            ));
            return Err(Panicked);
        }
        // SAFETY: as above.
        let name = unsafe { type_name(mtp) };
        self.init_type(KAddr::from_ptr(mtp), name);
        Ok(())
    }

    /// malloc_uninit (the SYSUNINIT of MALLOC_DEFINE).
    ///
    /// # Safety
    /// `mtp` must point to the module's `struct malloc_type`.
    pub(crate) unsafe fn uninit(&self, k: &Core, mtp: *const sys::malloc_type) {
        // SAFETY: by the caller's contract.
        let name = unsafe { type_name(mtp) };
        self.uninit_type(k, KAddr::from_ptr(mtp), &name);
    }

    /// The leak check and removal of a type at malloc_uninit(9).
    fn uninit_type(&self, k: &Core, mtp: KAddr, fallback: &str) {
        let t = self.lock().types.remove(&mtp);
        let Some(t) = t else {
            k.violation(
                ViolationKind::Malloc,
                format!("malloc_uninit: type '{fallback}' not found"),
            );
            return;
        };
        if t.live_allocs > 0 || t.live_bytes > 0 {
            let msg = format!(
                "Warning: memory type {} leaked memory on destroy ({} allocations, {} bytes leaked).",
                t.name, t.live_allocs, t.live_bytes
            );
            k.console(&format!("{msg}\n"));
            k.violation(ViolationKind::Leak, msg);
        }
    }

    /// Forgets the types whose structure lies in `range`, the mapping of
    /// module `file` being unloaded, which did not `malloc_uninit` them.
    pub(crate) fn forget_module_types(&self, k: &Core, range: KRange, file: &str) {
        let names: Vec<String> = {
            let mut i = self.lock();
            let gone: Vec<KAddr> = i
                .types
                .keys()
                .copied()
                .filter(|&a| range.contains(a))
                .collect();
            gone.iter()
                .filter_map(|a| i.types.remove(a))
                .map(|t| t.name)
                .collect()
        };
        for name in names {
            k.violation(
                ViolationKind::Malloc,
                format!("malloc type {name} of {file} was not uninitialised before unload (missing malloc_uninit)"),
            );
        }
    }

    /// Frees every allocation (kernel teardown).
    pub(crate) fn release_all(&self) {
        let mut i = self.lock();
        for (addr, a) in i.allocs.drain() {
            // SAFETY: each entry was allocated with its layout and is
            // removed from the table here, so freed once; no module code
            // runs any more.
            unsafe { std::alloc::dealloc(addr.ptr(), a.layout) };
        }
    }
}

/// Reads `ks_shortdesc`.
///
/// # Safety
/// `mtp` must point to a `struct malloc_type`.
unsafe fn type_name(mtp: *const sys::malloc_type) -> String {
    // SAFETY: by the caller's contract.
    let desc = unsafe { (*mtp).ks_shortdesc };
    if desc.is_null() {
        return String::from("(null)");
    }
    // SAFETY: a malloc type's description is a NUL-terminated string
    // (MALLOC_DEFINE's string literal).
    unsafe { core::ffi::CStr::from_ptr(desc) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn buckets_and_alignment_follow_kmemzones() {
        assert_eq!(bucket(0), Some((16, 16)));
        assert_eq!(bucket(17), Some((32, 32)));
        assert_eq!(bucket(300), Some((384, 128)));
        assert_eq!(bucket(65536), Some((65536, 4096)));
        assert_eq!(bucket(65537), Some((69632, 4096)));
    }
}
