// SPDX-License-Identifier: BSD-2-Clause
//! bus_dma(9): tags, DMA-able memory placed in a bus address space the
//! harness controls, loads, syncs, and the device's view of exactly the
//! loaded memory ([`DeviceDma`], a [`DmaMemory`] for the device models).
//!
//! Followed (FreeBSD 15 headers of the build; freebsd-src main):
//! - `sys/x86/x86/busdma_machdep.c`: `bus_dma_tag_create` goes to the
//!   parent's implementation (`tc->impl->tag_create`), and
//!   `common_bus_dma_tag_create` rounds `lowaddr` up to the end of its page,
//!   takes the parent's lower `lowaddr` and its `boundary`, and returns
//!   `EINVAL` for a zero `maxsegsz` (after `boundary` lowered it).
//!   `sys/sys/bus_dma.h`: the filter arguments are deprecated and must be
//!   NULL (`EINVAL` here, as the busdma back ends of FreeBSD 14 and later
//!   refuse them).
//! - `sys/x86/include/bus_dma.h` and `sys/x86/include/busdma_impl.h`: a
//!   tag starts with `struct bus_dma_tag_common`, whose first word is the
//!   `struct bus_dma_impl *` the inline `bus_dmamem_alloc`,
//!   `bus_dmamem_free`, `bus_dmamap_unload` and `bus_dmamap_sync` call
//!   through; unload and sync skip a NULL map.
//! - `sys/x86/x86/busdma_bounce.c` (`bounce_bus_dmamem_alloc`: memory below
//!   `lowaddr`, aligned, not crossing `boundary`, `ENOMEM` otherwise;
//!   `bounce_bus_dma_tag_destroy`: `EBUSY` while the tag has maps, while
//!   a child tag only holds a reference; `_bus_dmamap_addseg`: segments split at `maxsegsz` and
//!   `boundary`, `EFBIG` beyond `nsegments`). Unlike the bounce
//!   implementation, whose `bus_dmamem_alloc` returns a NULL map, the
//!   harness returns a real map, as the IOMMU implementation
//!   (`sys/dev/iommu/busdma_iommu.c`, `iommu_bus_dmamem_alloc`) does: so
//!   a driver must not rely on a NULL map, and its syncs reach the harness;
//!   and, as there, the memory's map counts against the tag, so destroying
//!   a tag whose memory is not freed is `EBUSY`.
//! - `sys/kern/subr_bus_dma.c` (`bus_dmamap_load`: with `BUS_DMA_NOWAIT`
//!   the callback gets the error, or the segments, before the function
//!   returns, and the function itself returns only `ENOMEM`).
//!
//! What the harness checks beyond FreeBSD (a real machine corrupts
//! memory or shows stale data instead): the device reaches only loaded
//! memory of its own tags; a device read needs a `PREWRITE` sync since the
//! last `POSTWRITE`, a device write a `PREREAD`; device-written data must
//! be synced `POSTREAD` before the next `PRE` sync or the unload; freeing
//! loaded memory; tags, maps and memory left at detach (leaks).
//!
//! Not emulated: loading memory other than `bus_dmamem_alloc`'s (bounce
//! pages), deferred loads, `bus_dmamap_create`, and the `load_ma`,
//! `load_phys` and `map_waitok` back ends (each a violation when called).

use devmodels::dma::{DmaError, DmaMemory};
use std::alloc::Layout;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// `EINVAL`.
const EINVAL: i32 = crate::errno::Errno::EINVAL.0;
/// `ENOMEM`.
const ENOMEM: i32 = crate::errno::Errno::ENOMEM.0;
/// `EBUSY`.
const EBUSY: i32 = crate::errno::Errno::EBUSY.0;
/// `EFBIG`.
const EFBIG: i32 = crate::errno::Errno::EFBIG.0;

/// `BUS_DMASYNC_PREREAD` (`sys/sys/bus_dma.h`).
const PREREAD: i32 = 1;
/// `BUS_DMASYNC_POSTREAD`.
const POSTREAD: i32 = 2;
/// `BUS_DMASYNC_PREWRITE`.
const PREWRITE: i32 = 4;
/// `BUS_DMASYNC_POSTWRITE`.
const POSTWRITE: i32 = 8;
/// `BUS_DMA_ZERO`.
const BUS_DMA_ZERO: i32 = 0x08;
/// `PAGE_SIZE` on amd64.
const PAGE_SIZE: u64 = 4096;
/// The top of the simulated RAM's bus addresses: 8 GiB, so that memory
/// for a tag without a low `lowaddr` lies above 4 GiB, where a device with
/// a narrow DMA mask cannot reach it.
const RAM_TOP: u64 = 8 << 30;

/// The function pointers of `struct bus_dma_impl` (`busdma_impl.h`,
/// without `KMSAN`'s `load_kmsan`): `tag_create`, `tag_destroy`,
/// `tag_set_domain`, `id_mapped`, `map_create`, `map_destroy`,
/// `mem_alloc`, `mem_free`, `load_ma`, `load_phys`, `load_buffer`,
/// `map_waitok`, `map_complete`, `map_unload`, `map_sync`.
pub(crate) const IMPL_SLOTS: usize = 15;
/// `mem_alloc`'s slot.
pub(crate) const SLOT_MEM_ALLOC: usize = 6;
/// `mem_free`'s slot.
pub(crate) const SLOT_MEM_FREE: usize = 7;
/// `map_unload`'s slot.
pub(crate) const SLOT_MAP_UNLOAD: usize = 13;
/// `map_sync`'s slot.
pub(crate) const SLOT_MAP_SYNC: usize = 14;

/// `struct bus_dma_tag_common` (`sys/x86/include/busdma_impl.h`), as module
/// code and the inline functions read it.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct TagCommon {
    /// `struct bus_dma_impl *impl`.
    pub(crate) impl_: usize,
    alignment: u64,
    boundary: u64,
    lowaddr: u64,
    highaddr: u64,
    maxsize: u64,
    nsegments: u32,
    maxsegsz: u64,
    flags: i32,
    lockfunc: usize,
    lockfuncarg: usize,
    domain: i32,
}

/// A tag.
struct Tag {
    obj: Box<TagCommon>,
    /// The device whose `bus_get_dma_tag` the tag descends from (0: none).
    dev: usize,
    /// Maps (with their memory) made from it.
    maps: u32,
    /// A device's own root tag (`bus_get_dma_tag`), never destroyed.
    root: bool,
}

/// How a map's memory is synchronised.
#[derive(Debug, Default, Clone, Copy)]
struct SyncState {
    /// `PREWRITE` since the last `POSTWRITE`: the device may read.
    pre_write: bool,
    /// `PREREAD` since the last `POSTREAD`: the device may write.
    pre_read: bool,
    /// The device wrote; a `POSTREAD` must come before the CPU looks.
    device_wrote: bool,
}

/// A map, with its memory (`bus_dmamem_alloc` makes both).
struct Map {
    obj: Box<u64>,
    tag: usize,
    vaddr: usize,
    layout: Layout,
    bus: u64,
    /// The loaded segment (bus address, length).
    loaded: Option<(u64, u64)>,
    sync: SyncState,
}

/// Failure injection counters: the Nth call from now fails (1: the next).
#[derive(Debug, Default)]
struct Faults {
    tag_create: u64,
    mem_alloc: u64,
    load: u64,
}

/// Counts down `n`; true when it reaches 0 now.
fn due(n: &mut u64) -> bool {
    if *n == 0 {
        return false;
    }
    *n -= 1;
    *n == 0
}

#[derive(Default)]
struct State {
    tags: Vec<Tag>,
    maps: Vec<Map>,
    faults: Faults,
    /// The `struct bus_dma_impl` tags point to (its 15 function pointers,
    /// without `KMSAN`'s), set by `init`.
    impl_table: Option<Box<[usize; IMPL_SLOTS]>>,
    /// Its address.
    impl_addr: usize,
}

/// The bus_dma state of a kernel.
#[derive(Default)]
pub(crate) struct BusDma {
    inner: Mutex<State>,
}

/// A load, as a test sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaLoad {
    /// The segment's bus address.
    pub bus_addr: u64,
    /// Its length.
    pub len: u64,
    /// The tag's `lowaddr`, after rounding and the parent's limit.
    pub lowaddr: u64,
}

/// What a call into the emulation got wrong: (errno, violation).
pub(crate) type Outcome<T> = (Result<T, i32>, Option<String>);

impl BusDma {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the `struct bus_dma_impl` the tags use, from its function
    /// pointers in `busdma_impl.h`'s order.
    pub(crate) fn init(&self, table: [usize; IMPL_SLOTS]) {
        let table = Box::new(table);
        let mut s = self.lock();
        s.impl_addr = table.as_ptr() as usize;
        s.impl_table = Some(table);
    }

    /// Fails the `n`th `bus_dma_tag_create` from now with `ENOMEM`.
    pub(crate) fn fail_tag_create(&self, n: u64) {
        self.lock().faults.tag_create = n;
    }

    /// Fails the `n`th `bus_dmamem_alloc` from now with `ENOMEM`.
    pub(crate) fn fail_mem_alloc(&self, n: u64) {
        self.lock().faults.mem_alloc = n;
    }

    /// Fails the `n`th `bus_dmamap_load` from now with `ENOMEM` (no bounce
    /// resources for a `BUS_DMA_NOWAIT` load).
    pub(crate) fn fail_load(&self, n: u64) {
        self.lock().faults.load = n;
    }

    fn find_tag(s: &State, t: usize) -> Option<&Tag> {
        s.tags.iter().find(|x| &raw const *x.obj as usize == t)
    }

    /// `bus_get_dma_tag(dev)`: the device's root tag (as a bus behind an
    /// IOMMU gives each device its own), made on first use.
    pub(crate) fn device_tag(&self, dev: usize) -> usize {
        let mut s = self.lock();
        if let Some(t) = s.tags.iter().find(|t| t.root && t.dev == dev) {
            return &raw const *t.obj as usize;
        }
        let obj = Box::new(TagCommon {
            impl_: s.impl_addr,
            alignment: 1,
            boundary: 0,
            lowaddr: u64::MAX,
            highaddr: u64::MAX,
            maxsize: u64::MAX,
            nsegments: u32::MAX,
            maxsegsz: u64::MAX,
            flags: 0,
            lockfunc: 0,
            lockfuncarg: 0,
            domain: 0,
        });
        let p = &raw const *obj as usize;
        s.tags.push(Tag {
            obj,
            dev,
            maps: 0,
            root: true,
        });
        p
    }

    /// `bus_dma_tag_create(parent, ...)`: the new tag, or an errno.
    #[allow(clippy::too_many_arguments, reason = "bus_dma_tag_create's")]
    pub(crate) fn tag_create(
        &self,
        parent: usize,
        alignment: u64,
        boundary: u64,
        lowaddr: u64,
        highaddr: u64,
        filter: usize,
        maxsize: u64,
        nsegments: i32,
        maxsegsz: u64,
        flags: i32,
    ) -> Outcome<usize> {
        let mut s = self.lock();
        if due(&mut s.faults.tag_create) {
            return (Err(ENOMEM), None);
        }
        if filter != 0 {
            return (Err(EINVAL), None);
        }
        let maxsegsz = if boundary != 0 && boundary < maxsegsz {
            boundary
        } else {
            maxsegsz
        };
        if maxsegsz == 0 {
            return (Err(EINVAL), None);
        }
        // bus_dma(9): alignment and boundary are powers of two (or 0 for
        // no boundary); 0 alignment is no alignment.
        if (alignment != 0 && !alignment.is_power_of_two())
            || (boundary != 0 && !boundary.is_power_of_two())
        {
            return (Err(EINVAL), None);
        }
        let Ok(nsegs) = u32::try_from(nsegments) else {
            return (Err(EINVAL), None);
        };
        let page_end = |a: u64| (a & !(PAGE_SIZE - 1)).saturating_add(PAGE_SIZE - 1);
        let mut obj = TagCommon {
            impl_: s.impl_addr,
            alignment: alignment.max(1),
            boundary,
            lowaddr: page_end(lowaddr),
            highaddr: page_end(highaddr),
            maxsize,
            nsegments: nsegs,
            maxsegsz,
            flags,
            lockfunc: 0,
            lockfuncarg: 0,
            domain: 0,
        };
        let mut dev = 0;
        if parent != 0 {
            let Some(p) = Self::find_tag(&s, parent) else {
                return (
                    Err(EINVAL),
                    Some(format!(
                        "bus_dma_tag_create: parent {parent:#x} is not a DMA tag"
                    )),
                );
            };
            obj.lowaddr = obj.lowaddr.min(p.obj.lowaddr);
            obj.highaddr = obj.highaddr.max(p.obj.highaddr);
            if obj.boundary == 0 {
                obj.boundary = p.obj.boundary;
            } else if p.obj.boundary != 0 {
                obj.boundary = obj.boundary.min(p.obj.boundary);
            }
            dev = p.dev;
        }
        let obj = Box::new(obj);
        let t = &raw const *obj as usize;
        s.tags.push(Tag {
            obj,
            dev,
            maps: 0,
            root: false,
        });
        (Ok(t), None)
    }

    /// `bus_dma_tag_destroy(tag)`: 0, `EBUSY` while maps remain (a child
    /// tag keeps its own copy of the limits, as its reference keeps
    /// FreeBSD's parent).
    pub(crate) fn tag_destroy(&self, t: usize) -> Outcome<()> {
        let mut s = self.lock();
        let Some(i) = s
            .tags
            .iter()
            .position(|x| &raw const *x.obj as usize == t && !x.root)
        else {
            return (
                Err(EINVAL),
                Some(format!("bus_dma_tag_destroy: {t:#x} is not a DMA tag")),
            );
        };
        if s.tags[i].maps != 0 {
            return (Err(EBUSY), None);
        }
        s.tags.remove(i);
        (Ok(()), None)
    }

    /// A free bus range of `len` bytes at or below `limit` (the last byte),
    /// aligned and inside one `boundary` window, as high as possible.
    fn place(s: &State, len: u64, limit: u64, align: u64, boundary: u64) -> Option<u64> {
        let align = align.max(PAGE_SIZE);
        let top = limit.min(RAM_TOP - 1).checked_add(1)?;
        let mut start = top.checked_sub(len)? & !(align - 1);
        loop {
            let end = start.checked_add(len)?;
            let crosses = boundary != 0 && start / boundary != (end - 1) / boundary;
            let clash = s
                .maps
                .iter()
                .find(|m| m.bus < end && start < m.bus + m.layout.size() as u64);
            match (crosses, clash) {
                (false, None) if start >= PAGE_SIZE => return Some(start),
                (true, _) => {
                    // Down to the boundary window's start minus len.
                    let win = (end - 1) / boundary * boundary;
                    start = win.checked_sub(len)? & !(align - 1);
                }
                (_, Some(m)) => start = m.bus.checked_sub(len)? & !(align - 1),
                (false, None) => return None,
            }
        }
    }

    /// `bus_dmamem_alloc(tag, &vaddr, flags, &map)`: (vaddr, map).
    pub(crate) fn mem_alloc(&self, t: usize, flags: i32) -> Outcome<(usize, usize)> {
        let mut s = self.lock();
        let Some(tag) = Self::find_tag(&s, t) else {
            return (
                Err(EINVAL),
                Some(format!("bus_dmamem_alloc: {t:#x} is not a DMA tag")),
            );
        };
        let (len, lowaddr, align, boundary) = (
            tag.obj.maxsize,
            tag.obj.lowaddr,
            tag.obj.alignment,
            tag.obj.boundary,
        );
        if due(&mut s.faults.mem_alloc) {
            return (Err(ENOMEM), None);
        }
        let Ok(size) = usize::try_from(len) else {
            return (Err(ENOMEM), None);
        };
        let Some(bus) = Self::place(&s, len, lowaddr, align, boundary) else {
            return (Err(ENOMEM), None);
        };
        let Ok(layout) = Layout::from_size_align(size.max(1), 4096) else {
            return (Err(ENOMEM), None);
        };
        // SAFETY: a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        if p.is_null() {
            return (Err(ENOMEM), None);
        }
        if flags & BUS_DMA_ZERO == 0 {
            // Not asked to be zeroed: stale bytes, as recycled pages have.
            // SAFETY: `size` bytes just allocated.
            unsafe { p.write_bytes(0xa5, size) };
        }
        s.maps.push(Map {
            obj: Box::new(0),
            tag: t,
            vaddr: p as usize,
            layout,
            bus,
            loaded: None,
            sync: SyncState::default(),
        });
        let m = s.maps.last().map_or(0, |m| &raw const *m.obj as usize);
        if let Some(tag) = s.tags.iter_mut().find(|x| &raw const *x.obj as usize == t) {
            tag.maps += 1;
        }
        (Ok((p as usize, m)), None)
    }

    fn map_index(s: &State, t: usize, m: usize) -> Option<usize> {
        s.maps
            .iter()
            .position(|x| &raw const *x.obj as usize == m && x.tag == t)
    }

    /// `bus_dmamem_free(tag, vaddr, map)`.
    pub(crate) fn mem_free(&self, t: usize, vaddr: usize, m: usize) -> Option<String> {
        let mut s = self.lock();
        let Some(i) = Self::map_index(&s, t, m).filter(|&i| s.maps[i].vaddr == vaddr) else {
            return Some(format!(
                "bus_dmamem_free: {vaddr:#x} with map {m:#x} was not allocated by \
                 bus_dmamem_alloc on tag {t:#x}"
            ));
        };
        let map = s.maps.remove(i);
        if let Some(tag) = s.tags.iter_mut().find(|x| &raw const *x.obj as usize == t) {
            tag.maps = tag.maps.saturating_sub(1);
        }
        // SAFETY: allocated in `mem_alloc` with this layout, freed once.
        unsafe { std::alloc::dealloc(map.vaddr as *mut u8, map.layout) };
        map.loaded.map(|_| {
            String::from("bus_dmamem_free: memory freed while still loaded (no bus_dmamap_unload)")
        })
    }

    /// `bus_dmamap_load(tag, map, buf, buflen, ..., flags)`: the segments,
    /// or the error the callback gets.
    pub(crate) fn load(
        &self,
        t: usize,
        m: usize,
        buf: usize,
        buflen: u64,
    ) -> Outcome<Vec<(u64, u64)>> {
        let mut s = self.lock();
        let Some(tag) = Self::find_tag(&s, t) else {
            return (
                Err(EINVAL),
                Some(format!("bus_dmamap_load: {t:#x} is not a DMA tag")),
            );
        };
        let (maxsegsz, boundary, nsegs) = (tag.obj.maxsegsz, tag.obj.boundary, tag.obj.nsegments);
        let Some(i) = Self::map_index(&s, t, m) else {
            return (
                Err(EINVAL),
                Some(String::from(
                    "bus_dmamap_load: the harness emulates loads of bus_dmamem_alloc's memory \
                     with its map only",
                )),
            );
        };
        let map = &s.maps[i];
        let inside =
            buf >= map.vaddr && (buf - map.vaddr) as u64 + buflen <= map.layout.size() as u64;
        if !inside {
            return (
                Err(EINVAL),
                Some(format!(
                    "bus_dmamap_load: {buflen} bytes at {buf:#x} are not inside the map's memory"
                )),
            );
        }
        if map.loaded.is_some() {
            return (
                Err(EINVAL),
                Some(String::from("bus_dmamap_load: the map is already loaded")),
            );
        }
        let start = map.bus + (buf - map.vaddr) as u64;
        if due(&mut s.faults.load) {
            return (Err(ENOMEM), None);
        }
        // _bus_dmamap_addseg: contiguous bus memory, split at maxsegsz and
        // at boundary crossings.
        let mut segs = Vec::new();
        let mut addr = start;
        let mut left = buflen;
        while left > 0 {
            let mut len = left.min(maxsegsz);
            if let Some(window) = addr.checked_div(boundary) {
                let next = (window + 1) * boundary;
                len = len.min(next - addr);
            }
            segs.push((addr, len));
            addr += len;
            left -= len;
        }
        if segs.len() > nsegs as usize {
            return (Err(EFBIG), None);
        }
        s.maps[i].loaded = Some((start, buflen));
        s.maps[i].sync = SyncState::default();
        (Ok(segs), None)
    }

    /// `bus_dmamap_unload(tag, map)`.
    pub(crate) fn unload(&self, t: usize, m: usize) -> Option<String> {
        let mut s = self.lock();
        let Some(i) = Self::map_index(&s, t, m) else {
            return Some(format!(
                "bus_dmamap_unload: {m:#x} is not a map of tag {t:#x}"
            ));
        };
        let map = &mut s.maps[i];
        let stale = map.loaded.is_some() && map.sync.device_wrote;
        map.loaded = None;
        map.sync = SyncState::default();
        stale.then(|| {
            String::from(
                "bus_dmamap_unload: the device wrote the memory and no \
                 BUS_DMASYNC_POSTREAD followed",
            )
        })
    }

    /// `bus_dmamap_sync(tag, map, op)`.
    pub(crate) fn sync(&self, t: usize, m: usize, op: i32) -> Option<String> {
        let mut s = self.lock();
        let Some(i) = Self::map_index(&s, t, m) else {
            return Some(format!(
                "bus_dmamap_sync: {m:#x} is not a map of tag {t:#x}"
            ));
        };
        let map = &mut s.maps[i];
        if map.loaded.is_none() {
            return Some(String::from("bus_dmamap_sync: the map is not loaded"));
        }
        if op & !(PREREAD | POSTREAD | PREWRITE | POSTWRITE) != 0 || op == 0 {
            return Some(format!("bus_dmamap_sync: bad operation {op:#x}"));
        }
        let mut v = None;
        if op & (PREREAD | PREWRITE) != 0 && op & POSTREAD == 0 && map.sync.device_wrote {
            v = Some(String::from(
                "bus_dmamap_sync: the device wrote the memory and no BUS_DMASYNC_POSTREAD \
                 followed before the next PRE sync (the CPU may have read stale data)",
            ));
        }
        if op & POSTREAD != 0 {
            map.sync.pre_read = false;
            map.sync.device_wrote = false;
        }
        if op & POSTWRITE != 0 {
            map.sync.pre_write = false;
        }
        if op & PREREAD != 0 {
            map.sync.pre_read = true;
        }
        if op & PREWRITE != 0 {
            map.sync.pre_write = true;
        }
        v
    }

    /// The loads reachable by `dev`'s DMA (its tags', and those of tags
    /// with no device).
    pub(crate) fn loads(&self, dev: Option<usize>) -> Vec<DmaLoad> {
        let s = self.lock();
        s.maps
            .iter()
            .filter_map(|m| {
                let (bus_addr, len) = m.loaded?;
                let tag = Self::find_tag(&s, m.tag)?;
                if dev.is_some_and(|d| tag.dev != d && tag.dev != 0) {
                    return None;
                }
                Some(DmaLoad {
                    bus_addr,
                    len,
                    lowaddr: tag.obj.lowaddr,
                })
            })
            .collect()
    }

    /// What `dev` still holds (tags made from its `bus_get_dma_tag`, maps
    /// and memory): leaks at detach, which are forgotten (the memory
    /// stays allocated, as it would in the kernel).
    pub(crate) fn leaks(&self, dev: usize) -> Vec<String> {
        let mut s = self.lock();
        let mine: Vec<usize> = s
            .tags
            .iter()
            .filter(|t| t.dev == dev && !t.root)
            .map(|t| &raw const *t.obj as usize)
            .collect();
        let mut out = Vec::new();
        let maps = s.maps.iter().filter(|m| mine.contains(&m.tag)).count();
        if maps > 0 {
            out.push(format!(
                "bus_dma: {maps} map(s) with memory from bus_dmamem_alloc not freed \
                 (bus_dmamem_free) at detach"
            ));
        }
        let loaded = s
            .maps
            .iter()
            .filter(|m| mine.contains(&m.tag) && m.loaded.is_some())
            .count();
        if loaded > 0 {
            out.push(format!(
                "bus_dma: {loaded} map(s) still loaded (no bus_dmamap_unload) at detach"
            ));
        }
        if !mine.is_empty() {
            out.push(format!(
                "bus_dma: {} tag(s) not destroyed (bus_dma_tag_destroy) at detach",
                mine.len()
            ));
        }
        // Forgotten: the device cannot reach them any more, and a later
        // attach starts clean. The memory is leaked on purpose.
        s.maps.retain(|m| !mine.contains(&m.tag));
        s.tags
            .retain(|t| !mine.contains(&(&raw const *t.obj as usize)));
        out
    }

    /// The memory `dev`'s DMA engine reaches.
    pub(crate) fn device(&self, dev: usize) -> DeviceDma<'_> {
        DeviceDma {
            dma: self,
            dev,
            violations: Vec::new(),
        }
    }
}

/// A device's view of memory: exactly the loads of its tags.
pub(crate) struct DeviceDma<'a> {
    dma: &'a BusDma,
    dev: usize,
    /// Sync rules the transfers broke.
    pub(crate) violations: Vec<String>,
}

impl DeviceDma<'_> {
    /// The host address of `len` bytes at bus address `addr`, and the
    /// map's index, if one load of the device covers them.
    fn find(&self, s: &State, addr: u64, len: u64) -> Option<(usize, usize)> {
        s.maps.iter().enumerate().find_map(|(i, m)| {
            let (bus, l) = m.loaded?;
            let tag = BusDma::find_tag(s, m.tag)?;
            if tag.dev != self.dev && tag.dev != 0 {
                return None;
            }
            let end = addr.checked_add(len)?;
            if addr >= bus && end <= bus + l {
                let off = usize::try_from(addr - m.bus).ok()?;
                Some((i, m.vaddr + off))
            } else {
                None
            }
        })
    }
}

impl DmaMemory for DeviceDma<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let err = DmaError {
            addr,
            len: buf.len() as u64,
        };
        let s = self.dma.lock();
        let (i, host) = self.find(&s, addr, buf.len() as u64).ok_or(err)?;
        if !s.maps[i].sync.pre_write {
            self.violations.push(String::from(
                "DMA read of memory the CPU prepared without BUS_DMASYNC_PREWRITE \
                 (the device may see stale data)",
            ));
        }
        // SAFETY: inside the map's live allocation (found above), which
        // the state lock keeps from being freed meanwhile.
        unsafe { core::ptr::copy_nonoverlapping(host as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
        let err = DmaError {
            addr,
            len: data.len() as u64,
        };
        let mut s = self.dma.lock();
        let (i, host) = self.find(&s, addr, data.len() as u64).ok_or(err)?;
        if !s.maps[i].sync.pre_read {
            self.violations.push(String::from(
                "DMA write to memory not synced with BUS_DMASYNC_PREREAD",
            ));
        }
        s.maps[i].sync.device_wrote = true;
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), host as *mut u8, data.len()) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(d: &BusDma, lowaddr: u64, align: u64, boundary: u64, size: u64) -> usize {
        d.tag_create(0, align, boundary, lowaddr, u64::MAX, 0, size, 1, size, 0)
            .0
            .unwrap()
    }

    fn bus(d: &BusDma, t: usize) -> u64 {
        let (v, m) = d.mem_alloc(t, BUS_DMA_ZERO).0.unwrap();
        let size = d.lock().maps.last().unwrap().layout.size() as u64;
        d.load(t, m, v, size).0.unwrap()[0].0
    }

    #[test]
    fn memory_lies_below_lowaddr_aligned_and_inside_its_boundary() {
        let d = BusDma::default();
        let t = tag(&d, (1 << 28) - 1, 4096, 0, 4096);
        let a = bus(&d, t);
        assert!(a + 4096 <= 1 << 28 && a.is_multiple_of(4096), "{a:#x}");
        let b = bus(&d, t);
        assert!(b + 4096 <= a, "below the first, not overlapping: {b:#x}");
        // No limit: above 4 GiB, where a 28-bit device cannot reach.
        let t = tag(&d, u64::MAX, 1, 0, 4096);
        assert!(bus(&d, t) >= 1 << 32);
        // A 64 KiB alignment and a 1 MiB boundary.
        let t = tag(&d, (1 << 30) - 1, 1 << 16, 1 << 20, 12288);
        let c = bus(&d, t);
        assert!(c.is_multiple_of(1 << 16));
        assert_eq!(c >> 20, (c + 12288 - 1) >> 20, "{c:#x} crosses 1 MiB");
    }

    #[test]
    fn freebsds_errors() {
        let d = BusDma::default();
        // lowaddr below one page of memory: no room, ENOMEM.
        let t = tag(&d, 0x800, 1, 0, 4096);
        assert_eq!(d.mem_alloc(t, 0).0, Err(ENOMEM));
        // A zero maxsegsz, a filter: EINVAL.
        assert_eq!(
            d.tag_create(0, 1, 0, u64::MAX, u64::MAX, 0, 4096, 1, 0, 0)
                .0,
            Err(EINVAL)
        );
        assert_eq!(
            d.tag_create(0, 1, 0, u64::MAX, u64::MAX, 8, 4096, 1, 4096, 0)
                .0,
            Err(EINVAL)
        );
        // More segments than the tag allows: EFBIG.
        let t = d
            .tag_create(0, 1, 0, u64::MAX, u64::MAX, 0, 8192, 1, 4096, 0)
            .0
            .unwrap();
        let (v, m) = d.mem_alloc(t, 0).0.unwrap();
        assert_eq!(d.load(t, m, v, 8192).0, Err(EFBIG));
        // Memory still allocated: EBUSY.
        assert_eq!(d.tag_destroy(t).0, Err(EBUSY));
        assert_eq!(d.mem_free(t, v, m), None);
        assert_eq!(d.tag_destroy(t).0, Ok(()));
    }
}
