// SPDX-License-Identifier: BSD-2-Clause
//! DMA for newbus devices (`bus_dma(9)`): a [`Tag`] with the device's
//! addressing limits, and a [`Buffer`] of memory the device may master,
//! loaded for it, with its bus address given only to the device
//! ([`BusAddr`]).
//!
//! The CPU sees the buffer's bytes ([`Buffer::cpu`]) only while no
//! transfer is prepared: [`Buffer::to_device`] syncs the map for a device
//! read (`BUS_DMASYNC_PREWRITE`) and [`Buffer::from_device`] for a device
//! write (`BUS_DMASYNC_PREREAD`); each returns a guard that borrows the
//! buffer, shows the bus address, and syncs back (`POSTWRITE`, `POSTREAD`)
//! when dropped. So the CPU cannot touch the bytes between a PRE and its
//! POST sync, and never reads device-written data before `POSTREAD`. A
//! transfer the device does not finish is abandoned
//! ([`ToDevice::abandon`]): the buffer then refuses the CPU and new
//! transfers (`EBUSY`) until the driver, knowing the device is done,
//! [reclaims](Buffer::reclaim) it with the POST sync it owes.
//!
//! # Examples
//!
//! ```ignore
//! // In attach: 4 KiB, 4 KiB aligned, below 2^28 (a 28-bit DMA engine).
//! let tag = dev.dma_tag(&TagOptions::new(4096).lowaddr((1 << 28) - 1).alignment(4096), cx)?;
//! let mut buf = Buffer::new(tag, cx)?;
//! // RAM to device.
//! buf.cpu()?[..5].copy_from_slice(b"hello");
//! let xfer = buf.to_device()?;
//! bar.write32(SRC, xfer.bus_addr().low32())?;
//! // ... start the engine, wait for its interrupt ...
//! drop(xfer); // BUS_DMASYNC_POSTWRITE
//! ```
//!
//! Release happens in `Drop`, in FreeBSD's order: `bus_dmamap_unload`,
//! `bus_dmamem_free`, then `bus_dma_tag_destroy` (the buffer owns its
//! tag).
//!
//! Followed (FreeBSD 15, as the build's headers declare it and
//! freebsd-src's main branch defines it): `sys/sys/bus_dma.h`
//! (`bus_dma_tag_create`: the filter arguments are deprecated and must be
//! NULL; `bus_dmamap_load`; `BUS_DMASYNC_*`; `bus_dma_segment_t`),
//! `sys/x86/include/bus_dma.h` (`bus_dmamem_alloc`, `bus_dmamem_free`,
//! `bus_dmamap_unload` and `bus_dmamap_sync` are inline calls through the
//! tag's `struct bus_dma_impl`; unload and sync skip a NULL map, which
//! the bounce implementation's `bounce_bus_dmamem_alloc` returns in
//! `sys/x86/x86/busdma_bounce.c`, while an IOMMU's does not),
//! `sys/kern/subr_bus_dma.c` (`bus_dmamap_load`: with `BUS_DMA_NOWAIT` the
//! callback runs before it returns, with the error or the segments; it
//! returns only `ENOMEM` itself, so an `EFBIG` reaches the driver through
//! the callback alone), `sys/x86/x86/busdma_machdep.c`
//! (`common_bus_dma_tag_create`: `lowaddr` rounded up to the end of its
//! page; `EINVAL` for a zero `maxsegsz`).

use crate::context::Sleepable;
use crate::driver::Device;
use crate::error::{Error, Result, code};
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;

/// What a device can address, and how a buffer for it must lie
/// (`bus_dma_tag_create(9)`'s arguments). One segment: the buffer is
/// physically contiguous on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagOptions {
    /// Alignment of the buffer's bus address (a power of two, 1 for none).
    pub alignment: u64,
    /// A bus address boundary the buffer must not cross (a power of two,
    /// 0 for none).
    pub boundary: u64,
    /// The highest bus address the device reaches (`lowaddr`): memory
    /// above it is excluded.
    pub lowaddr: u64,
    /// The buffer's size in bytes (`maxsize`, and `maxsegsz`).
    pub maxsize: u64,
}

impl TagOptions {
    /// A buffer of `maxsize` bytes anywhere a 64-bit device reaches, with
    /// no alignment or boundary.
    #[must_use]
    pub const fn new(maxsize: u64) -> Self {
        Self {
            alignment: 1,
            boundary: 0,
            lowaddr: u64::MAX,
            maxsize,
        }
    }

    /// The same, with `lowaddr` as the highest bus address the device
    /// reaches (a device with an n-bit DMA mask: `(1 << n) - 1`).
    #[must_use]
    pub const fn lowaddr(self, lowaddr: u64) -> Self {
        Self { lowaddr, ..self }
    }

    /// The same, with the bus address aligned to `alignment`.
    #[must_use]
    pub const fn alignment(self, alignment: u64) -> Self {
        Self { alignment, ..self }
    }

    /// The same, with a boundary the buffer may not cross.
    #[must_use]
    pub const fn boundary(self, boundary: u64) -> Self {
        Self { boundary, ..self }
    }
}

/// A DMA tag (`bus_dma_tag_t`), destroyed on drop
/// (`bus_dma_tag_destroy(9)`).
///
/// # Invariants
/// `raw` is a tag `bus_dma_tag_create` created with `opts`, destroyed by
/// `Drop` only.
#[derive(Debug)]
pub struct Tag {
    raw: NonNull<sys::bus_dma_tag>,
    opts: TagOptions,
}

// SAFETY: a tag is only passed to bus_dma's functions, which lock what
// they share; it is destroyed once, in `Drop`.
unsafe impl Send for Tag {}
// SAFETY: `&Tag` allows only reading the immutable pointer and options.
unsafe impl Sync for Tag {}

/// `BUS_SPACE_MAXADDR` (`sys/x86/include/bus.h`, amd64).
const BUS_SPACE_MAXADDR: u64 = u64::MAX;

impl Device<'_> {
    /// Creates a DMA tag for this device (`bus_dma_tag_create(9)`, with
    /// `bus_get_dma_tag(9)` as the parent, so the bus's own limits apply
    /// too): one segment of `opts.maxsize` bytes, below `opts.lowaddr`.
    ///
    /// # Errors
    /// `EINVAL` for a zero size or an alignment or boundary that is not a
    /// power of two (checked here, before the kernel sees them), or as
    /// `bus_dma_tag_create` returns it; `ENOMEM`.
    ///
    /// # Context
    /// May sleep.
    pub fn dma_tag(&self, opts: &TagOptions, _cx: &mut Sleepable) -> Result<Tag> {
        check_options(opts)?;
        let dev = self.raw();
        // SAFETY: a live device (the `Device` invariant).
        let parent = unsafe { sys::bus_get_dma_tag(dev.as_ptr()) };
        let nsegments: c_int = 1;
        let mut tag: sys::bus_dma_tag_t = core::ptr::null_mut();
        // SAFETY: `parent` is the bus's tag (or NULL); the filter and the
        // lock function are NULL (no deferred loads: every load is
        // BUS_DMA_NOWAIT); `tag` is a valid pointer to write.
        let r = unsafe {
            sys::bus_dma_tag_create(
                parent,
                opts.alignment,
                opts.boundary,
                opts.lowaddr,
                BUS_SPACE_MAXADDR,
                None,
                core::ptr::null_mut(),
                opts.maxsize,
                nsegments,
                opts.maxsize,
                0,
                None,
                core::ptr::null_mut(),
                &raw mut tag,
            )
        };
        Error::from_ret(r)?;
        let raw = NonNull::new(tag).ok_or(code::ENOMEM)?;
        // INVARIANT: created with `opts`, destroyed by `Drop`.
        Ok(Tag { raw, opts: *opts })
    }
}

/// Checks what `bus_dma(9)` requires of a tag's arguments.
///
/// # Errors
/// `EINVAL`.
fn check_options(opts: &TagOptions) -> Result {
    let pow2_or_zero = |v: u64| v & v.wrapping_sub(1) == 0;
    if opts.maxsize == 0
        || opts.alignment == 0
        || !pow2_or_zero(opts.alignment)
        || !pow2_or_zero(opts.boundary)
        || (opts.boundary != 0 && opts.boundary < opts.maxsize)
        || usize::try_from(opts.maxsize).is_err()
    {
        return Err(code::EINVAL);
    }
    Ok(())
}

impl Tag {
    /// The options the tag was created with.
    #[must_use]
    pub fn options(&self) -> &TagOptions {
        &self.opts
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        // SAFETY: created by bus_dma_tag_create (type invariant), destroyed
        // once; the buffers made from it own it, so none is left.
        let _ = unsafe { sys::bus_dma_tag_destroy(self.raw.as_ptr()) };
    }
}

/// A bus address: what the device is told, never dereferenced by the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusAddr(u64);

impl BusAddr {
    /// The value to program into a device register.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The address `off` bytes further.
    ///
    /// # Errors
    /// `EINVAL` on overflow.
    pub fn offset(self, off: u64) -> Result<BusAddr> {
        self.0.checked_add(off).map(BusAddr).ok_or(code::EINVAL)
    }
}

/// What the load callback reports.
#[derive(Debug, Default)]
struct Loaded {
    called: bool,
    error: c_int,
    nsegs: c_int,
    addr: u64,
    len: u64,
}

/// `bus_dmamap_callback_t`: records the one segment or the error.
///
/// # Safety
/// `arg` is the `Loaded` of the [`Buffer::load`] call; `segs` has `nsegs`
/// entries when `error` is 0.
unsafe extern "C" fn load_callback(
    arg: *mut c_void,
    segs: *mut sys::bus_dma_segment_t,
    nsegs: c_int,
    error: c_int,
) {
    // SAFETY: by the contract, the caller's `Loaded`, not otherwise
    // borrowed during the call.
    let out = unsafe { &mut *arg.cast::<Loaded>() };
    out.called = true;
    out.error = error;
    out.nsegs = nsegs;
    if error == 0 && nsegs >= 1 && !segs.is_null() {
        // SAFETY: at least one segment, by the contract.
        let seg = unsafe { segs.read() };
        out.addr = seg.ds_addr;
        out.len = seg.ds_len;
    }
}

/// DMA-able memory for a device (`bus_dmamem_alloc(9)`), loaded for it
/// (`bus_dmamap_load(9)`): one segment at [`BusAddr`], the tag's size.
///
/// # Invariants
/// - `vaddr` is `len` bytes `bus_dmamem_alloc` returned for `tag` with
///   `map`, freed by `Drop` only.
/// - If `bus` is set, `map` is loaded with exactly those bytes at that bus
///   address, inside the tag's limits.
/// - `owed` is the POST sync of an abandoned transfer: while it is set,
///   the device may still use the memory, so the CPU gets no slice and no
///   new transfer is prepared.
pub struct Buffer {
    vaddr: NonNull<u8>,
    map: sys::bus_dmamap_t,
    len: usize,
    bus: Option<BusAddr>,
    owed: Option<u32>,
    // Dropped after `Drop::drop` unloaded and freed the memory.
    tag: Tag,
}

// SAFETY: the memory is owned by the buffer; the map and tag are only
// passed to bus_dma's functions.
unsafe impl Send for Buffer {}
// SAFETY: `&Buffer` gives only the length and the bus address; the bytes
// need `&mut`.
unsafe impl Sync for Buffer {}

/// `BUS_DMA_*` flags as the `int` of the functions.
fn flag(v: u32) -> c_int {
    // Small constants of sys/bus_dma.h: the sign bit is clear.
    v.cast_signed()
}

impl Buffer {
    /// Allocates zeroed memory under `tag`'s limits and loads it for the
    /// device (`bus_dmamem_alloc` with `BUS_DMA_WAITOK | BUS_DMA_ZERO`,
    /// then `bus_dmamap_load` with `BUS_DMA_NOWAIT`).
    ///
    /// # Errors
    /// `ENOMEM` (no memory below `lowaddr`, or the load's resources), the
    /// load callback's error (`EFBIG`: more than one segment), `EINVAL`
    /// if the segment is not the whole buffer or lies outside the tag's
    /// limits. Everything done is undone.
    ///
    /// # Context
    /// May sleep.
    pub fn new(tag: Tag, _cx: &mut Sleepable) -> Result<Buffer> {
        let len = usize::try_from(tag.opts.maxsize).map_err(|_| code::EINVAL)?;
        let mut vaddr: *mut c_void = core::ptr::null_mut();
        let mut map: sys::bus_dmamap_t = core::ptr::null_mut();
        // SAFETY: a live tag (the `Tag` invariant); both out-pointers are
        // valid. The thread may sleep (the token), as BUS_DMA_WAITOK does.
        let r = unsafe {
            sys::shim_bus_dmamem_alloc(
                tag.raw.as_ptr(),
                &raw mut vaddr,
                flag(sys::BUS_DMA_WAITOK | sys::BUS_DMA_ZERO),
                &raw mut map,
            )
        };
        Error::from_ret(r)?;
        let vaddr = NonNull::new(vaddr.cast::<u8>()).ok_or(code::ENOMEM)?;
        // INVARIANT: allocated for `tag` with `map`; not loaded yet.
        let mut buf = Buffer {
            vaddr,
            map,
            len,
            bus: None,
            owed: None,
            tag,
        };
        buf.load()?;
        Ok(buf)
    }

    /// Loads the memory (`bus_dmamap_load`, `BUS_DMA_NOWAIT`) and keeps
    /// the segment the callback reported.
    fn load(&mut self) -> Result {
        let mut out = Loaded::default();
        // SAFETY: the tag, map and memory of this buffer (type invariant),
        // `len` bytes; the callback gets `out`, which outlives the call
        // (with BUS_DMA_NOWAIT the load is never deferred: the callback
        // runs before bus_dmamap_load returns, subr_bus_dma.c).
        let r = unsafe {
            sys::bus_dmamap_load(
                self.tag.raw.as_ptr(),
                self.map,
                self.vaddr.as_ptr().cast::<c_void>(),
                self.tag.opts.maxsize,
                Some(load_callback),
                (&raw mut out).cast::<c_void>(),
                flag(sys::BUS_DMA_NOWAIT),
            )
        };
        Error::from_ret(r)?;
        if !out.called {
            return Err(code::EINVAL);
        }
        Error::from_ret(out.error)?;
        if out.nsegs != 1 {
            return Err(code::EFBIG);
        }
        let o = &self.tag.opts;
        let last = out.addr.checked_add(out.len.saturating_sub(1));
        let aligned = out.addr & o.alignment.wrapping_sub(1) == 0;
        match last {
            Some(last) if out.len == o.maxsize && last <= o.lowaddr && aligned => {
                // INVARIANT: loaded, one segment, inside the limits.
                self.bus = Some(BusAddr(out.addr));
                Ok(())
            }
            _ => Err(code::EINVAL),
        }
    }

    /// The buffer's size in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no bytes (never: a tag has a size).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's bus address.
    fn bus(&self) -> BusAddr {
        // `new` returns only loaded buffers.
        self.bus.unwrap_or(BusAddr(0))
    }

    /// The bytes, for the CPU: no transfer is prepared (a guard of
    /// [`to_device`](Self::to_device) or [`from_device`](Self::from_device)
    /// would borrow the buffer), and none was abandoned.
    ///
    /// # Errors
    /// `EBUSY` after [`ToDevice::abandon`] or [`FromDevice::abandon`], until
    /// [`reclaim`](Self::reclaim).
    pub fn cpu(&mut self) -> Result<&mut [u8]> {
        if self.owed.is_some() {
            return Err(code::EBUSY);
        }
        // SAFETY: `len` bytes owned by this buffer (type invariant), borrowed
        // mutably through `&mut self`; no device access is prepared or
        // abandoned, and the last one was followed by its POST sync.
        Ok(unsafe { core::slice::from_raw_parts_mut(self.vaddr.as_ptr(), self.len) })
    }

    /// Takes the buffer back from a transfer that was abandoned (a device
    /// that did not finish in time): makes its POST sync. Call it only once
    /// the device is known to be done with the memory (its engine is idle,
    /// or reset).
    pub fn reclaim(&mut self) {
        if let Some(op) = self.owed.take() {
            self.sync(op);
        }
    }

    /// `bus_dmamap_sync(9)` with `op`.
    fn sync(&self, op: u32) {
        // SAFETY: the tag and map of this buffer (type invariant); `op` is
        // one of the BUS_DMASYNC_* values.
        unsafe { sys::shim_bus_dmamap_sync(self.tag.raw.as_ptr(), self.map, op.cast_signed()) };
    }

    /// Prepares a device read of the buffer (RAM to device): what the CPU
    /// wrote is made visible (`BUS_DMASYNC_PREWRITE`). The guard gives the
    /// bus address and syncs `POSTWRITE` when dropped, once the transfer
    /// is done.
    ///
    /// # Errors
    /// `EBUSY` while an abandoned transfer is not reclaimed.
    pub fn to_device(&mut self) -> Result<ToDevice<'_>> {
        if self.owed.is_some() {
            return Err(code::EBUSY);
        }
        self.sync(sys::BUS_DMASYNC_PREWRITE);
        Ok(ToDevice { buf: self })
    }

    /// Prepares a device write of the buffer (device to RAM)
    /// (`BUS_DMASYNC_PREREAD`). The guard gives the bus address and syncs
    /// `POSTREAD` when dropped, after which [`cpu`](Self::cpu) shows what
    /// the device wrote.
    ///
    /// # Errors
    /// `EBUSY` while an abandoned transfer is not reclaimed.
    pub fn from_device(&mut self) -> Result<FromDevice<'_>> {
        if self.owed.is_some() {
            return Err(code::EBUSY);
        }
        self.sync(sys::BUS_DMASYNC_PREREAD);
        Ok(FromDevice { buf: self })
    }
}

impl core::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Buffer")
            .field("len", &self.len)
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the tag and map of this buffer (type invariant); unloading
        // a map that is not loaded (a failed load) does nothing.
        unsafe { sys::shim_bus_dmamap_unload(self.tag.raw.as_ptr(), self.map) };
        // SAFETY: the memory and map bus_dmamem_alloc returned for this tag
        // (type invariant), freed once, now unloaded.
        unsafe {
            sys::shim_bus_dmamem_free(
                self.tag.raw.as_ptr(),
                self.vaddr.as_ptr().cast::<c_void>(),
                self.map,
            );
        };
        // `tag` is dropped next: bus_dma_tag_destroy.
    }
}

/// A device read of a [`Buffer`] in preparation (after
/// `BUS_DMASYNC_PREWRITE`); `BUS_DMASYNC_POSTWRITE` on drop.
#[derive(Debug)]
pub struct ToDevice<'a> {
    buf: &'a mut Buffer,
}

impl ToDevice<'_> {
    /// The bus address to give the device.
    #[must_use]
    pub fn bus_addr(&self) -> BusAddr {
        self.buf.bus()
    }

    /// Gives up waiting for the transfer (the device did not finish): no
    /// POST sync now, and the buffer refuses the CPU and new transfers
    /// until [`Buffer::reclaim`].
    pub fn abandon(self) {
        // `Drop` sees the debt and makes no sync.
        self.buf.owed = Some(sys::BUS_DMASYNC_POSTWRITE);
    }
}

impl Drop for ToDevice<'_> {
    fn drop(&mut self) {
        // Unless abandoned: a guard exists only while nothing is owed.
        if self.buf.owed.is_none() {
            self.buf.sync(sys::BUS_DMASYNC_POSTWRITE);
        }
    }
}

/// A device write of a [`Buffer`] in preparation (after
/// `BUS_DMASYNC_PREREAD`); `BUS_DMASYNC_POSTREAD` on drop.
#[derive(Debug)]
pub struct FromDevice<'a> {
    buf: &'a mut Buffer,
}

impl FromDevice<'_> {
    /// The bus address to give the device.
    #[must_use]
    pub fn bus_addr(&self) -> BusAddr {
        self.buf.bus()
    }

    /// Gives up waiting for the transfer, as [`ToDevice::abandon`].
    pub fn abandon(self) {
        self.buf.owed = Some(sys::BUS_DMASYNC_POSTREAD);
    }
}

impl Drop for FromDevice<'_> {
    fn drop(&mut self) {
        if self.buf.owed.is_none() {
            self.buf.sync(sys::BUS_DMASYNC_POSTREAD);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        assert_eq!(check_options(&TagOptions::new(4096)), Ok(()));
        assert_eq!(check_options(&TagOptions::new(0)), Err(code::EINVAL));
        let o = TagOptions::new(4096).alignment(3);
        assert_eq!(check_options(&o), Err(code::EINVAL));
        let o = TagOptions::new(4096).alignment(0);
        assert_eq!(check_options(&o), Err(code::EINVAL));
        let o = TagOptions::new(4096).boundary(2048);
        assert_eq!(check_options(&o), Err(code::EINVAL));
        let o = TagOptions::new(4096).boundary(4096).alignment(4096);
        assert_eq!(check_options(&o), Ok(()));
    }

    #[test]
    fn bus_addresses_offset_without_overflow() {
        assert_eq!(BusAddr(0x1000).offset(0x10), Ok(BusAddr(0x1010)));
        assert_eq!(BusAddr(u64::MAX).offset(1), Err(code::EINVAL));
    }

    #[test]
    fn sync_ops_are_freebsds_numbers() {
        assert_eq!(sys::BUS_DMASYNC_PREREAD, 1);
        assert_eq!(sys::BUS_DMASYNC_POSTREAD, 2);
        assert_eq!(sys::BUS_DMASYNC_PREWRITE, 4);
        assert_eq!(sys::BUS_DMASYNC_POSTWRITE, 8);
    }
}
