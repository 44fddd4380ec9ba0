// SPDX-License-Identifier: BSD-2-Clause
//! `/dev/rustedu<unit>`: the edu device's DMA engine between user memory
//! and its 4 KiB buffer (device address 0x40000).
//!
//! A write copies the user's bytes into a 4 KiB `bus_dma(9)` buffer (a
//! [`kern::dma::Buffer`], below the device's 28-bit DMA mask) and has the
//! engine copy them into the device's buffer at the file offset (RAM to
//! device); a read has the engine copy the device's bytes back into the
//! DMA buffer (device to RAM) and copies them out. At most 4 KiB from
//! offset 0: a write that would end past the buffer fails with `EFBIG`
//! (nothing is transferred), a read at or past its end returns 0 bytes.
//! An `EFAULT` on the user's buffer happens before the transfer, so the
//! device's buffer is unchanged.
//!
//! Each transfer asks for the completion interrupt (command bit 2,
//! interrupt status 0x100): the filter notes it, the ithread handler
//! counts it under a mutex and wakes the condition variable the writer or
//! reader sleeps on (interruptible, at most [`TIMEOUT_MS`]). Transfers are
//! serialised by an `sx` lock held across the sleep. The engine's
//! registers are written only while no transfer is pending: a transfer
//! the device never finished (a timeout) leaves the start bit set, and
//! later transfers fail with `EIO` without touching the registers. Its
//! buffer stays the device's (the transfer is abandoned, no POST sync)
//! until the engine is seen idle again, when the owed sync is made.
//! A signal ends the wait with `EINTR` (not `ERESTART`: a restarted call
//! would find the engine busy); the transfer is abandoned as for a
//! timeout, and may still complete.
//!
//! `dev.rustedu.<unit>.dma` counts the completed transfers.

use core::ffi::CStr;
use core::pin::Pin;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kern::alloc::{Arc, Box};
use kern::cdev::{CdevOptions, CharacterDevice, File, GID_WHEEL, Registration, UID_ROOT};
use kern::context::NoSleep;
use kern::dma::{Buffer, BusAddr, TagOptions};
use kern::driver::Device;
use kern::prelude::*;
use kern::sync::{CondVar, Mutex, SxLock, Wait};
use kern::uio::{UioReader, UioWriter};

use crate::Regs;

/// The DMA registers (edu.rst).
mod regs {
    /// Source bus or device address.
    pub(crate) const SRC: u64 = 0x80;
    /// Destination bus or device address.
    pub(crate) const DST: u64 = 0x88;
    /// Bytes to transfer.
    pub(crate) const COUNT: u64 = 0x90;
    /// Command: start, direction, raise an interrupt when done.
    pub(crate) const CMD: u64 = 0x98;
    /// Start (reads 1 until the transfer is done).
    pub(crate) const CMD_START: u32 = 0x1;
    /// Direction: device buffer to RAM (0: RAM to the device's buffer).
    pub(crate) const CMD_TO_RAM: u32 = 0x2;
    /// Raise the DMA interrupt when done.
    pub(crate) const CMD_IRQ: u32 = 0x4;
    /// The interrupt status bit of a finished transfer.
    pub(crate) const IRQ_DMA: u32 = 0x100;
    /// The device address of its buffer.
    pub(crate) const BUFFER: u64 = 0x40000;
}

/// The device buffer's size, and so the largest transfer.
pub(crate) const BUFFER_SIZE: usize = 4096;
/// edu's default DMA mask: 28 bits of bus address.
const DMA_MASK: u64 = (1 << 28) - 1;
/// How long a transfer may take before the device is declared hung.
pub(crate) const TIMEOUT_MS: u32 = 2000;

/// What the interrupt handlers tell the transfers.
pub(crate) struct DmaEvents {
    /// Interrupt status bits the filter saw, for the ithread handler.
    bits: AtomicU32,
    /// Transfers completed, counted by the ithread handler.
    done: Pin<Box<Mutex<u64>>>,
    /// Signalled after each completion.
    completed: CondVar,
    /// `dma`: completed transfers, for the sysctl.
    pub(crate) transfers: AtomicU64,
    /// Transfers the device never finished.
    pub(crate) timeouts: AtomicU64,
}

impl DmaEvents {
    /// Nothing seen yet.
    pub(crate) fn new(cx: &mut Sleepable) -> Self {
        Self {
            bits: AtomicU32::new(0),
            done: Mutex::new(c"rustedu dma", 0, cx.waitok()),
            completed: CondVar::new(c"edudma"),
            transfers: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
        }
    }

    /// In the filter: notes the completion bits of `status`; whether the
    /// ithread handler must run.
    pub(crate) fn filter(&self, status: u32) -> bool {
        let bits = status & (regs::IRQ_DMA | crate::regs::IRQ_FACTORIAL);
        self.bits.fetch_or(bits, Ordering::AcqRel);
        bits != 0
    }

    /// In the ithread handler: wakes the transfer that waits, if a DMA
    /// completed; returns whether a factorial completed.
    pub(crate) fn ithread(&self, cx: &mut NoSleep) -> bool {
        let bits = self.bits.swap(0, Ordering::AcqRel);
        if bits & regs::IRQ_DMA != 0 {
            let mut done = self.done.as_ref().get_ref().lock(cx);
            *done = done.wrapping_add(1);
            drop(done);
            self.completed.notify_all();
        }
        bits & crate::regs::IRQ_FACTORIAL != 0
    }

    /// Completions so far.
    fn count(&self, cx: &mut SxSleepable) -> u64 {
        *self.done.as_ref().get_ref().lock(cx)
    }

    /// Sleeps until the completion count moves past `seen`.
    ///
    /// # Errors
    /// `EINTR`/`ERESTART` (signal, with `how` interruptible),
    /// `EWOULDBLOCK` (timeout).
    fn wait(&self, seen: u64, how: Wait, cx: &mut SxSleepable) -> Result<u64> {
        let done = self.done.as_ref().get_ref();
        let g = self
            .completed
            .wait_while(done, cx, how.timeout_ms(TIMEOUT_MS), |n| *n == seen)?;
        Ok(*g)
    }
}

/// Which way a transfer goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// RAM to the device's buffer (a `write(2)`).
    ToDevice,
    /// The device's buffer to RAM (a `read(2)`).
    FromDevice,
}

/// The transfer state, under the `sx` lock.
struct Xfer {
    buf: Buffer,
}

/// `/dev/rustedu<unit>`'s state.
pub(crate) struct EduDma {
    regs: Arc<Regs>,
    xfer: Pin<Box<SxLock<Xfer>>>,
}

/// The low 32 bits a 32-bit register write takes: edu.c stores a 4-byte
/// write zero-extended, so the value must fit.
fn reg32(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| EINVAL)
}

impl EduDma {
    /// Runs one transfer of `len` bytes at `off` between the DMA buffer
    /// and the device's buffer, and waits for its interrupt.
    fn transfer(
        &self,
        x: &mut Xfer,
        dir: Dir,
        off: usize,
        len: usize,
        cx: &mut SxSleepable,
    ) -> Result {
        let off64 = u64::try_from(off).map_err(|_| EINVAL)?;
        let device = reg32(regs::BUFFER.checked_add(off64).ok_or(EINVAL)?)?;
        let count = reg32(u64::try_from(len).map_err(|_| EINVAL)?)?;
        let seen = self.regs.dma.count(cx);
        let r = match dir {
            Dir::ToDevice => {
                let g = x.buf.to_device()?;
                let ram = reg32(g.bus_addr().offset(off64).map(BusAddr::get)?)?;
                self.start(ram, device, count, regs::CMD_IRQ)?;
                let r = self.finish(seen, cx);
                if r.is_err() {
                    // The device may still own the buffer.
                    g.abandon();
                }
                // Otherwise `g` drops here: BUS_DMASYNC_POSTWRITE.
                r
            }
            Dir::FromDevice => {
                let g = x.buf.from_device()?;
                let ram = reg32(g.bus_addr().offset(off64).map(BusAddr::get)?)?;
                self.start(device, ram, count, regs::CMD_IRQ | regs::CMD_TO_RAM)?;
                let r = self.finish(seen, cx);
                if r.is_err() {
                    g.abandon();
                }
                // Otherwise `g` drops here: BUS_DMASYNC_POSTREAD.
                r
            }
        };
        if r.is_ok() {
            self.regs.dma.transfers.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Checks that no transfer is pending, and takes the buffer back from
    /// one that timed out and has finished since.
    ///
    /// # Errors
    /// `EIO`: a transfer the device never finished is still pending; its
    /// registers must not be written (edu.c drops the writes).
    fn idle(&self, x: &mut Xfer) -> Result {
        if self.regs.bar.read32(regs::CMD)? & regs::CMD_START != 0 {
            return Err(EIO);
        }
        x.buf.reclaim();
        Ok(())
    }

    /// Programs and starts the engine (the start bit last).
    fn start(&self, src: u32, dst: u32, count: u32, cmd: u32) -> Result {
        let bar = &self.regs.bar;
        bar.write32(regs::SRC, src)?;
        bar.write32(regs::DST, dst)?;
        bar.write32(regs::COUNT, count)?;
        bar.write32(regs::CMD, cmd | regs::CMD_START)
    }

    /// Waits for the transfer's interrupt, and for the start bit to clear
    /// (a late interrupt of an earlier transfer does not count).
    ///
    /// # Errors
    /// `EIO` after [`TIMEOUT_MS`] (the device is hung); `EINTR` for a
    /// signal (never `ERESTART`: a restarted call would find the engine
    /// still busy). Either way the transfer may still be running.
    fn finish(&self, mut seen: u64, cx: &mut SxSleepable) -> Result {
        loop {
            match self.regs.dma.wait(seen, Wait::INTERRUPTIBLE, cx) {
                Ok(n) => {
                    seen = n;
                    if self.regs.bar.read32(regs::CMD)? & regs::CMD_START == 0 {
                        return Ok(());
                    }
                }
                Err(e) if e == EWOULDBLOCK => {
                    self.regs.dma.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(EIO);
                }
                Err(_) => return Err(EINTR),
            }
        }
    }
}

#[kern::vtable]
impl CharacterDevice for EduDma {
    const NAME: &'static CStr = c"rustedu";

    /// RAM to device: the user's bytes at the file offset.
    fn write(&self, _file: &File<'_, Self>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let off = usize::try_from(uio.offset()).map_err(|_| EINVAL)?;
        let len = uio.resid();
        if len == 0 {
            return Ok(());
        }
        let end = off.checked_add(len).ok_or(EFBIG)?;
        if end > BUFFER_SIZE {
            return Err(EFBIG);
        }
        let mut g = self.xfer.as_ref().get_ref().xlock_sig(cx)?;
        let (x, scx) = g.split();
        self.idle(x)?;
        let part = x.buf.cpu()?.get_mut(off..end).ok_or(EFBIG)?;
        // EFAULT here: nothing reached the device.
        let n = uio.move_in(part, scx)?;
        self.transfer(x, Dir::ToDevice, off, n, scx)
    }

    /// Device to RAM: the device's bytes from the file offset on.
    fn read(&self, _file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let off = usize::try_from(uio.offset()).map_err(|_| EINVAL)?;
        if off >= BUFFER_SIZE || uio.resid() == 0 {
            return Ok(());
        }
        let len = uio.resid().min(BUFFER_SIZE.saturating_sub(off));
        let end = off.checked_add(len).ok_or(EINVAL)?;
        let mut g = self.xfer.as_ref().get_ref().xlock_sig(cx)?;
        let (x, scx) = g.split();
        self.idle(x)?;
        self.transfer(x, Dir::FromDevice, off, len, scx)?;
        let part = x.buf.cpu()?.get(off..end).ok_or(EINVAL)?;
        uio.move_out(part, scx)?;
        Ok(())
    }
}

/// The DMA part of the softc: the device node (and through it the
/// buffer and its tag).
pub(crate) struct Attached {
    dev: Registration<EduDma>,
}

impl Attached {
    /// Creates the DMA tag (4 KiB, page-aligned, below the 28-bit mask)
    /// and buffer, and `/dev/rustedu<unit>`.
    pub(crate) fn attach(
        dev: &Device<'_>,
        regs: Arc<Regs>,
        unit: &CStr,
        cx: &mut Sleepable,
    ) -> Result<Self> {
        let size = u64::try_from(BUFFER_SIZE).map_err(|_| EINVAL)?;
        let opts = TagOptions::new(size).alignment(size).lowaddr(DMA_MASK);
        let tag = dev.dma_tag(&opts, cx)?;
        let buf = Buffer::new(tag, cx)?;
        let xfer = SxLock::new(c"rustedu xfer", Xfer { buf }, cx.waitok());
        let mut name = [0u8; 24];
        let node = node_name(unit, &mut name)?;
        let options = CdevOptions::new(0o660, UID_ROOT, GID_WHEEL).with_node(node);
        let dev = Registration::register(&options, EduDma { regs, xfer }, cx)?;
        Ok(Self { dev })
    }

    /// `EBUSY` while the device node is open (detach and unload wait).
    pub(crate) fn quiesce(&self) -> Result {
        self.dev.quiesce()
    }
}

/// `rustedu<unit>` in `buf`.
fn node_name<'a>(unit: &CStr, buf: &'a mut [u8; 24]) -> Result<&'a CStr> {
    let prefix = EduDma::NAME.to_bytes();
    let digits = unit.to_bytes();
    let total = prefix.len().checked_add(digits.len()).ok_or(EINVAL)?;
    let dst = buf.get_mut(..total).ok_or(EINVAL)?;
    let (a, b) = dst.split_at_mut(prefix.len());
    a.copy_from_slice(prefix);
    b.copy_from_slice(digits);
    *buf.get_mut(total).ok_or(EINVAL)? = 0;
    CStr::from_bytes_until_nul(buf).map_err(|_| EINVAL)
}
