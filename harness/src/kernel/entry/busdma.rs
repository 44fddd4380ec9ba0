// SPDX-License-Identifier: BSD-2-Clause
//! The bus_dma(9) entry points: `bus_get_dma_tag`, `bus_dma_tag_create`,
//! `bus_dma_tag_destroy`, `bus_dmamap_load` (real functions of amd64's
//! kernel), and the `struct bus_dma_impl` methods the inline
//! `bus_dmamem_alloc`, `bus_dmamem_free`, `bus_dmamap_unload` and
//! `bus_dmamap_sync` call through a tag. The work is in
//! [`crate::kpi::busdma`], which cites FreeBSD's sources.

use super::{FuncEntry, KernelInner, kernel};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::kpi::busdma::{self, IMPL_SLOTS};
use crate::state::ViolationKind;
use crate::thread;
use core::ffi::c_int;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "bus_get_dma_tag" => harness_bus_get_dma_tag,
        "bus_dma_tag_create" => harness_bus_dma_tag_create,
        "bus_dma_tag_destroy" => harness_bus_dma_tag_destroy,
        "bus_dmamap_load" => harness_bus_dmamap_load,
    ]);
}

/// The `struct bus_dma_impl` methods, reached through the tag.
pub(super) fn by_pointer(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "(busdma mem_alloc)" => harness_busdma_mem_alloc,
        "(busdma mem_free)" => harness_busdma_mem_free,
        "(busdma map_unload)" => harness_busdma_map_unload,
        "(busdma map_sync)" => harness_busdma_map_sync,
        "(busdma unsupported)" => harness_busdma_unsupported,
    ]);
}

/// Fills the `struct bus_dma_impl` of a new kernel.
pub(in crate::kernel) fn init(k: &KernelInner) {
    let stub = |f: usize| super::host_stub(f).map_or(0, KAddr::get);
    let unsupported = stub(harness_busdma_unsupported as *const () as usize);
    let mut table = [unsupported; IMPL_SLOTS];
    table[busdma::SLOT_MEM_ALLOC] = stub(harness_busdma_mem_alloc as *const () as usize);
    table[busdma::SLOT_MEM_FREE] = stub(harness_busdma_mem_free as *const () as usize);
    table[busdma::SLOT_MAP_UNLOAD] = stub(harness_busdma_map_unload as *const () as usize);
    table[busdma::SLOT_MAP_SYNC] = stub(harness_busdma_map_sync as *const () as usize);
    k.busdma.init(table);
}

/// Reports what a call got wrong and returns its errno (0 for success).
fn finish<T>(k: &KernelInner, r: busdma::Outcome<T>) -> Result<T, c_int> {
    if let Some(v) = r.1 {
        k.core.violation(ViolationKind::Devfs, v);
    }
    r.0
}

/// `bus_get_dma_tag(dev)`.
extern "C" fn harness_bus_get_dma_tag(dev: usize) -> usize {
    kernel().busdma.device_tag(dev)
}

/// `bus_dma_tag_create(parent, alignment, boundary, lowaddr, highaddr,
/// filter, filterarg, maxsize, nsegments, maxsegsz, flags, lockfunc,
/// lockfuncarg, dmat)`.
///
/// # Safety
/// `dmat` must point to a writable pointer.
#[allow(clippy::too_many_arguments, reason = "bus_dma_tag_create's")]
unsafe extern "C" fn harness_bus_dma_tag_create(
    parent: usize,
    alignment: u64,
    boundary: u64,
    lowaddr: u64,
    highaddr: u64,
    filter: usize,
    _filterarg: usize,
    maxsize: u64,
    nsegments: c_int,
    maxsegsz: u64,
    flags: c_int,
    _lockfunc: usize,
    _lockfuncarg: usize,
    dmat: *mut usize,
) -> c_int {
    if dmat.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    let r = k.busdma.tag_create(
        parent, alignment, boundary, lowaddr, highaddr, filter, maxsize, nsegments, maxsegsz, flags,
    );
    match finish(k, r) {
        Ok(t) => {
            // SAFETY: by the caller's contract.
            unsafe { dmat.write(t) };
            0
        }
        Err(e) => {
            // common_bus_dma_tag_create: "Return a NULL tag on failure".
            // SAFETY: as above.
            unsafe { dmat.write(0) };
            e
        }
    }
}

/// `bus_dma_tag_destroy(dmat)`.
extern "C" fn harness_bus_dma_tag_destroy(dmat: usize) -> c_int {
    let k = kernel();
    let r = k.busdma.tag_destroy(dmat);
    finish(k, r).err().unwrap_or(0)
}

/// `BUS_DMA_NOWAIT`.
const BUS_DMA_NOWAIT: c_int = 0x01;

/// `bus_dmamap_load(dmat, map, buf, buflen, callback, callback_arg,
/// flags)`: the callback gets the segments or the error before this
/// returns; the return value is 0 but for `ENOMEM` (subr_bus_dma.c).
extern "C" fn harness_bus_dmamap_load(
    dmat: usize,
    map: usize,
    buf: usize,
    buflen: u64,
    callback: usize,
    callback_arg: usize,
    flags: c_int,
) -> c_int {
    let k = kernel();
    if flags & BUS_DMA_NOWAIT == 0 {
        crate::thread::witness::check_may_sleep(&k.core, "bus_dmamap_load");
    }
    let r = k.busdma.load(dmat, map, buf, buflen);
    let (segs, error) = match finish(k, r) {
        Ok(segs) => (segs, 0),
        Err(e) => (Vec::new(), e),
    };
    // bus_dma_segment_t: { bus_addr_t ds_addr; bus_size_t ds_len; }.
    let mut array: Vec<[u64; 2]> = segs.iter().map(|&(a, l)| [a, l]).collect();
    array.push([0, 0]);
    let nsegs = if error == 0 { segs.len() } else { 0 };
    if callback != 0 {
        // CAST: the int arguments, as the callback's C prototype takes
        // them (a small count, an errno).
        let args = [
            callback_arg as u64,
            array.as_mut_ptr() as u64,
            nsegs as u64,
            error as u32 as u64,
            0,
            0,
        ];
        // SAFETY: the module's `bus_dmamap_callback_t`, called with its
        // argument and a segment array that outlives the call.
        let r = unsafe { thread::call(&k.core, None, KAddr::new(callback), args) };
        if r.is_err() || k.core.is_dead() {
            thread::escape();
        }
    }
    if error == Errno::ENOMEM.0 { error } else { 0 }
}

/// `mem_alloc(dmat, vaddr, flags, mapp)` of the harness's `bus_dma_impl`.
///
/// # Safety
/// `vaddr` and `mapp` must point to writable pointers.
unsafe extern "C" fn harness_busdma_mem_alloc(
    dmat: usize,
    vaddr: *mut usize,
    flags: c_int,
    mapp: *mut usize,
) -> c_int {
    if vaddr.is_null() || mapp.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    if flags & BUS_DMA_NOWAIT == 0 {
        // BUS_DMA_WAITOK: malloc or kmem_alloc_contig with M_WAITOK.
        crate::thread::witness::check_may_sleep(&k.core, "bus_dmamem_alloc");
    }
    let r = k.busdma.mem_alloc(dmat, flags);
    match finish(k, r) {
        Ok((v, m)) => {
            // SAFETY: by the caller's contract.
            unsafe { vaddr.write(v) };
            // SAFETY: as above.
            unsafe { mapp.write(m) };
            0
        }
        Err(e) => e,
    }
}

/// `mem_free(dmat, vaddr, map)`.
extern "C" fn harness_busdma_mem_free(dmat: usize, vaddr: usize, map: usize) {
    let k = kernel();
    if let Some(v) = k.busdma.mem_free(dmat, vaddr, map) {
        k.core.violation(ViolationKind::Devfs, v);
    }
}

/// `map_unload(dmat, map)`.
extern "C" fn harness_busdma_map_unload(dmat: usize, map: usize) {
    let k = kernel();
    if let Some(v) = k.busdma.unload(dmat, map) {
        k.core.violation(ViolationKind::Devfs, v);
    }
}

/// `map_sync(dmat, map, op)`.
extern "C" fn harness_busdma_map_sync(dmat: usize, map: usize, op: c_int) {
    let k = kernel();
    if let Some(v) = k.busdma.sync(dmat, map, op) {
        k.core.violation(ViolationKind::Devfs, v);
    }
}

/// The `bus_dma_impl` methods the harness does not emulate
/// (`bus_dmamap_create`, `load_phys`, ...): a violation, and `EINVAL`.
extern "C" fn harness_busdma_unsupported() -> c_int {
    kernel().core.violation(
        ViolationKind::Devfs,
        String::from(
            "bus_dma: a method the harness does not emulate (bus_dmamap_create, \
             bus_dmamap_destroy, physical or page loads, deferred loads)",
        ),
    );
    Errno::EINVAL.0
}
