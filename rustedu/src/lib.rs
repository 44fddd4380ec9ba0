// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko`: a newbus PCI driver for QEMU's educational device
//! (`-device edu`, specified in QEMU's `docs/specs/edu.rst`).
//!
//! ```text
//! # kldload ./build/rustedu.ko
//! rustedu0: <QEMU edu device> ...
//! rustedu0: edu 1.0, liveness ok
//! # sysctl dev.rustedu.0.factorial=10
//! dev.rustedu.0.factorial: 0 -> 3628800
//! # sysctl dev.rustedu.0.factorial
//! dev.rustedu.0.factorial: 3628800
//! # kldunload rustedu
//! ```
//!
//! Probe matches PCI 1234:11e8. Attach maps BAR 0, checks the
//! identification register (0x00, `0x010000ed`: major 1, minor 0, magic
//! 0xed) and the liveness register (0x04 returns the complement of what
//! was written), and adds `dev.rustedu.<unit>.factorial` (write n, 0 to
//! 12, to compute n! on the device; read it for the last result, also in
//! `dev.rustedu.<unit>.result`). It sets up a filter on the device's
//! interrupt, an MSI message when the device has MSI (bus mastering on),
//! else `INTx`:
//! the filter reads the interrupt status (0x24), acknowledges it (0x64)
//! and counts it (`dev.rustedu.<unit>.interrupts`), or returns
//! `FILTER_STRAY` when the status is clear (`stray`). A computation asks
//! for the completion interrupt (status bit 0x80); for it the filter
//! schedules the ithread handler, which takes the completion mutex,
//! counts the completion (`completions`) and wakes the waiters of the
//! completion condition variable. The writer of `factorial` sleeps on it
//! in its `sysctl(3)` call, interruptibly and at most a second; writers
//! queue for the device ([`factorial`] says how, and what fails how:
//! `EINVAL` above 12, `ETIMEDOUT` counted in `timeouts`, `EBUSY` while a
//! timed-out computation still runs, `EINTR`/`ERESTART` on a signal).
//! Detach first wakes every writer (they fail with `ENXIO`), then tears
//! the interrupt down (`kern::intr::Interrupt`'s drop, which waits for a
//! running filter), then drops the sysctl nodes (waiting for running
//! handlers), then releases BAR 0.
//!
//! `/dev/rustedu<unit>` moves bytes through the DMA engine (`dma.rs`);
//! detach refuses with `EBUSY` while it is open, and destroys it first.
//!
//! Built on `kern`'s safe API only.
#![no_std]
#![deny(unsafe_code)]

mod dma;
mod factorial;

use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, Ordering};
use factorial::Factorial;
use kern::alloc::Arc;
use kern::context::{Filter, NoSleep};
use kern::driver::{Device, Driver, Memory, Priority, Probe};
use kern::intr::{FilterResult, Handler, Interrupt, Irq};
use kern::prelude::*;
use kern::sysctl::{Parent, SysctlCtx, Tunable};

/// QEMU's PCI vendor ID.
const VENDOR: u16 = 0x1234;
/// edu's device ID.
const DEVICE: u16 = 0x11e8;

/// The registers of BAR 0 (edu.rst).
mod regs {
    /// Identification: `0xRRrr00ed`.
    pub(crate) const ID: u64 = 0x00;
    /// Liveness check: reads the complement of the last value written.
    pub(crate) const LIVENESS: u64 = 0x04;
    /// Factorial: write n to start computing n!, read the result.
    pub(crate) const FACTORIAL: u64 = 0x08;
    /// Status: bit 0 set while the factorial is being computed.
    pub(crate) const STATUS: u64 = 0x20;
    /// The "computing" bit of [`STATUS`].
    pub(crate) const STATUS_COMPUTING: u32 = 0x01;
    /// The "raise an interrupt on completion" bit of [`STATUS`].
    pub(crate) const STATUS_IRQFACT: u32 = 0x80;
    /// Interrupt status: the raised bits (read-only).
    pub(crate) const IRQ_STATUS: u64 = 0x24;
    /// Interrupt acknowledge: clears the bits written.
    pub(crate) const IRQ_ACK: u64 = 0x64;
    /// The interrupt status bit of a finished factorial.
    pub(crate) const IRQ_FACTORIAL: u32 = 0x01;
}

/// edu's PCI base class (0xff, "other"), at `PCIR_CLASS` (0x0b).
const CLASS: u8 = 0xff;

/// Configuration space offsets (`sys/dev/pci/pcireg.h`).
mod pcir {
    /// `PCIR_VENDOR`.
    pub(crate) const VENDOR: u16 = 0x00;
    /// `PCIR_DEVICE`.
    pub(crate) const DEVICE: u16 = 0x02;
    /// `PCIR_CLASS`.
    pub(crate) const CLASS: u16 = 0x0b;
}

/// The identification register's low byte.
const ID_MAGIC: u32 = 0xed;
/// The value written to the liveness register at attach.
const LIVENESS_PROBE: u32 = 0x5a5a_1234;

/// What the sysctl handlers reach: the registers and the values shown.
struct Regs {
    /// BAR 0.
    bar: Memory,
    /// `factorial`: the last n! computed (the node's value).
    shown: Tunable,
    /// The factorial unit: serialisation, completion, its counters.
    fact: Factorial,
    /// `interrupts`: interrupts acknowledged.
    interrupts: AtomicU64,
    /// `stray`: interrupts that were not this device's.
    stray: AtomicU64,
    /// DMA completions, for `/dev/rustedu<unit>` (`dma.rs`).
    dma: dma::DmaEvents,
}

impl Handler for Regs {
    /// Reads the interrupt status; acknowledges and counts what is set,
    /// or reports a stray (a shared line).
    fn filter(&self, _cx: &mut Filter) -> FilterResult {
        let Ok(status) = self.bar.read32(regs::IRQ_STATUS) else {
            return FilterResult::Stray;
        };
        if status == 0 {
            self.stray.fetch_add(1, Ordering::Relaxed);
            return FilterResult::Stray;
        }
        if self.bar.write32(regs::IRQ_ACK, status).is_err() {
            return FilterResult::Stray;
        }
        self.interrupts.fetch_add(1, Ordering::Relaxed);
        if self.dma.filter(status) {
            FilterResult::ScheduleThread
        } else {
            FilterResult::Handled
        }
    }

    /// A factorial finished: counts it and wakes its writer.
    fn ithread(&self, cx: &mut NoSleep) {
        // A DMA completion wakes its transfer; a factorial's its writer.
        if self.dma.ithread(cx) {
            self.fact.complete(cx);
        }
    }
}

/// The `factorial` node's write: computes n! on the device (sleeping
/// for the completion interrupt), which the node then shows.
fn compute(regs: &Regs, n: u64, cx: &mut Sleepable) -> Result {
    let v = regs.fact.compute(&regs.bar, n, cx)?;
    regs.shown.set(v);
    Ok(())
}

/// The softc: the interrupt (torn down first), the sysctl nodes; the
/// registers they share go with the last reference, BAR 0 with them.
struct Edu {
    /// `/dev/rustedu<unit>`, destroyed first.
    dma: dma::Attached,
    intr: Interrupt<Regs>,
    sysctl: SysctlCtx<Regs>,
}

/// The unit number as a NUL-terminated decimal name (`"0"`).
fn unit_name(unit: i32, buf: &mut [u8; 12]) -> Result<&CStr> {
    let mut u = u32::try_from(unit).map_err(|_| EINVAL)?;
    // Digits from the right, then the name is the tail of the buffer.
    let mut start = buf.len().checked_sub(1).ok_or(EINVAL)?;
    *buf.get_mut(start).ok_or(EINVAL)? = 0;
    loop {
        start = start.checked_sub(1).ok_or(EINVAL)?;
        let d = u8::try_from(u % 10).map_err(|_| EINVAL)?;
        *buf.get_mut(start).ok_or(EINVAL)? = b'0'.checked_add(d).ok_or(EINVAL)?;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    CStr::from_bytes_until_nul(buf.get(start..).ok_or(EINVAL)?).map_err(|_| EINVAL)
}

/// Adds `dev.rustedu.<unit>` and its leaves over `regs`.
#[inline(never)]
fn add_sysctls(regs: Arc<Regs>, unit: i32, cx: &mut Sleepable) -> Result<SysctlCtx<Regs>> {
    let sysctl = SysctlCtx::builder(regs, cx)?;
    let top = sysctl.add_top_node(Parent::Dev, c"rustedu", c"QEMU edu devices")?;
    let mut buf = [0u8; 12];
    let node = sysctl.add_node(&top, unit_name(unit, &mut buf)?, c"QEMU edu device")?;
    sysctl.add_command(
        &node,
        c"factorial",
        c"Write n (0 to 12) to compute n! on the device; read the last n!",
        |r| &r.shown,
        compute,
    )?;
    sysctl.add_u64_counter(&node, c"result", c"The last factorial computed", |r| {
        &r.fact.result
    })?;
    sysctl.add_u64_counter(
        &node,
        c"timeouts",
        c"Computations the device never finished",
        |r| &r.fact.timeouts,
    )?;
    sysctl.add_u64_counter(&node, c"interrupts", c"Interrupts acknowledged", |r| {
        &r.interrupts
    })?;
    sysctl.add_u64_counter(&node, c"stray", c"Stray interrupts", |r| &r.stray)?;
    sysctl.add_u64_counter(&node, c"dma", c"DMA transfers", |r| &r.dma.transfers)?;
    sysctl.add_u64_counter(
        &node,
        c"dma_timeouts",
        c"DMA transfers the device did not finish in time",
        |r| &r.dma.timeouts,
    )?;
    sysctl.add_u64_counter(
        &node,
        c"completions",
        c"Factorial completions seen by the interrupt thread",
        |r| &r.fact.completions,
    )?;
    Ok(sysctl.finish())
}

/// Checks the identification and liveness registers; the id.
#[inline(never)]
fn check_device(dev: &Device<'_>, bar: &Memory) -> Result<u32> {
    let id = bar.read32(regs::ID)?;
    if id & 0xff != ID_MAGIC {
        dev.println_u64_pair(
            "unknown identification ",
            u64::from(id),
            ", magic ",
            u64::from(id & 0xff),
            "",
        );
        return Err(ENXIO);
    }
    bar.write32(regs::LIVENESS, LIVENESS_PROBE)?;
    if bar.read32(regs::LIVENESS)? != !LIVENESS_PROBE {
        dev.println("liveness check failed");
        return Err(ENXIO);
    }
    Ok(id)
}

/// Checks that configuration space (`pci_read_config(9)`) says what the
/// bus's instance variables told the probe, and that the class is edu's.
#[inline(never)]
fn check_config(dev: &Device<'_>) -> Result {
    let vendor = dev.pci_config_read16(pcir::VENDOR)?;
    let device = dev.pci_config_read16(pcir::DEVICE)?;
    let class = dev.pci_config_read8(pcir::CLASS)?;
    if vendor != dev.pci_vendor() || device != dev.pci_device() || class != CLASS {
        return Err(ENXIO);
    }
    Ok(())
}

/// The device's interrupt: an MSI message if the device has MSI and one
/// can be allocated (bus mastering is on: a message is a memory write),
/// otherwise the legacy interrupt (`INTx`).
#[inline(never)]
fn alloc_interrupt(dev: &Device<'_>) -> Result<Irq> {
    if dev.pci_msi_count() > 0
        && let Ok(irq) = dev.alloc_msi_irq()
    {
        return Ok(irq);
    }
    dev.alloc_irq()
}

/// The state the handlers share, over BAR 0 (its own frame: the value
/// is built on the stack before it moves into the allocation).
#[inline(never)]
fn new_regs(bar: Memory, cx: &mut Sleepable) -> Result<Arc<Regs>> {
    Ok(Arc::try_new(
        Regs {
            bar,
            shown: Tunable::new(0),
            fact: Factorial::new(cx),
            interrupts: AtomicU64::new(0),
            stray: AtomicU64::new(0),
            dma: dma::DmaEvents::new(cx),
        },
        M_NOWAIT,
    )?)
}

impl Driver for Edu {
    fn probe(dev: &Device<'_>) -> Result<Probe> {
        if dev.pci_vendor() != VENDOR || dev.pci_device() != DEVICE {
            return Err(ENXIO);
        }
        Ok(Probe {
            priority: Priority::Default,
            description: c"QEMU edu device",
        })
    }

    fn attach(dev: &Device<'_>, cx: &mut Sleepable) -> Result<Self> {
        let unit = dev.unit();
        check_config(dev)?;
        let bar = dev.alloc_memory(0)?;
        let id = check_device(dev, &bar)?;
        // The DMA engine and MSI messages write memory.
        dev.pci_enable_busmaster()?;
        let irq = alloc_interrupt(dev)?;
        let regs = new_regs(bar, cx)?;
        let intr = Interrupt::setup(irq, regs.clone(), cx)?;
        let sysctl = add_sysctls(regs.clone(), unit, cx)?;
        let mut buf = [0u8; 12];
        let dma = dma::Attached::attach(dev, regs, unit_name(unit, &mut buf)?, cx)?;
        // device_printf(9): "rustedu0: edu 1.0, liveness ok".
        dev.println_u64_pair(
            "edu ",
            u64::from(id >> 24),
            ".",
            u64::from((id >> 16) & 0xff),
            ", liveness ok",
        );
        Ok(Edu { dma, intr, sysctl })
    }

    /// Refuses (`EBUSY`) while `/dev/rustedu<unit>` is open; then wakes
    /// the `factorial` writers (they fail with `ENXIO`) before the
    /// interrupt and the nodes go; the drop of the sysctl context then
    /// waits for their handlers to return.
    fn detach(&self, _dev: &Device<'_>, cx: &mut Sleepable) -> Result {
        self.dma.quiesce()?;
        self.sysctl.data().fact.shut_down(cx);
        Ok(())
    }

    /// Refuses (`EBUSY`) while the device computes: a computation cannot
    /// be stopped, and its result would be lost.
    fn suspend(&self, _dev: &Device<'_>) -> Result {
        let regs = self.intr.state();
        if regs.bar.read32(regs::STATUS)? & regs::STATUS_COMPUTING != 0 {
            return Err(EBUSY);
        }
        Ok(())
    }

    /// Checks that the device is still there and alive after the resume.
    fn resume(&self, dev: &Device<'_>) -> Result {
        check_device(dev, &self.intr.state().bar).map(|_| ())
    }
}

kern::driver!(type: Edu, name: "rustedu", bus: "pci", version: 1);
