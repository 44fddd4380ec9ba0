// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko`: a newbus PCI driver for QEMU's educational device
//! (`-device edu`, specified in QEMU's `docs/specs/edu.rst`).
//!
//! ```text
//! # kldload ./build/rustedu.ko
//! rustedu0: <QEMU edu device> ...
//! rustedu: edu 1.0 at unit 0, liveness ok
//! # sysctl dev.rustedu.0.factorial=10
//! dev.rustedu.0.factorial: 0 -> 10
//! # sysctl dev.rustedu.0.result
//! dev.rustedu.0.result: 3628800
//! # kldunload rustedu
//! ```
//!
//! Probe matches PCI 1234:11e8. Attach maps BAR 0, checks the
//! identification register (0x00, `0x010000ed`: major 1, minor 0, magic
//! 0xed) and the liveness register (0x04 returns the complement of what
//! was written), and adds `dev.rustedu.<unit>.factorial` (write n, 0 to
//! 12, to compute n! on the device) and `dev.rustedu.<unit>.result` (the
//! last result). It sets up a filter on the device's interrupt (INTx):
//! the filter reads the interrupt status (0x24), acknowledges it (0x64)
//! and counts it (`dev.rustedu.<unit>.interrupts`), or returns
//! `FILTER_STRAY` when the status is clear (`stray`). A computation asks
//! for the completion interrupt (status bit 0x80); for it the filter
//! schedules the ithread handler, which takes the completion mutex,
//! counts the completion (`completions`) and wakes the waiters of the
//! completion condition variable. The writer still polls the status
//! register: the sysctl handler gets no `Sleepable` token yet, so it
//! cannot sleep on the condition variable. Detach tears the
//! interrupt down first (`kern::intr::Interrupt`'s drop, which waits for
//! a running filter), then drops the sysctl nodes, then releases BAR 0.
//!
//! `/dev/rustedu<unit>` moves bytes through the DMA engine (`dma.rs`);
//! detach refuses with `EBUSY` while it is open, and destroys it first.
//!
//! Built on `kern`'s safe API only.
#![no_std]
#![deny(unsafe_code)]

mod dma;

use core::ffi::CStr;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kern::alloc::Arc;
use kern::alloc::Box;
use kern::context::{Filter, NoSleep};
use kern::driver::{Device, Driver, Memory, Priority, Probe};
use kern::intr::{FilterResult, Handler, Interrupt};
use kern::prelude::*;
use kern::sync::{CondVar, Mutex};
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

/// The identification register's low byte.
const ID_MAGIC: u32 = 0xed;
/// The value written to the liveness register at attach.
const LIVENESS_PROBE: u32 = 0x5a5a_1234;
/// The largest n whose factorial fits the 32-bit register (13! does not).
const MAX_FACTORIAL: u64 = 12;
/// Status polls before a computation is declared hung.
const POLLS: u32 = 100_000;

/// What the sysctl handlers reach: the registers and the values shown.
struct Regs {
    /// BAR 0.
    bar: Memory,
    /// `factorial`: the last n written.
    n: Tunable,
    /// `result`: the last n! the device computed.
    result: AtomicU64,
    /// A computation is in flight (computations are not queued yet: a
    /// second writer meanwhile is refused).
    busy: AtomicBool,
    /// `timeouts`: computations the device never finished.
    timeouts: AtomicU64,
    /// `interrupts`: interrupts acknowledged.
    interrupts: AtomicU64,
    /// `stray`: interrupts that were not this device's.
    stray: AtomicU64,
    /// Completions seen by the ithread handler, under a sleep mutex (an
    /// ithread handler may block on one, a filter may not).
    done: Pin<Box<Mutex<u64>>>,
    /// Signalled by the ithread handler after each completion.
    completed: CondVar,
    /// `completions`: the count in `done`, for the sysctl.
    completions: AtomicU64,
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

    /// A factorial finished: counts it under the completion mutex and
    /// wakes its waiters.
    fn ithread(&self, cx: &mut NoSleep) {
        // A DMA completion wakes its transfer; the rest is the factorial's.
        if !self.dma.ithread(cx) {
            return;
        }
        let mut done = self.done.as_ref().get_ref().lock(cx);
        *done = done.wrapping_add(1);
        self.completions.store(*done, Ordering::Relaxed);
        drop(done);
        self.completed.notify_all();
    }
}

impl Regs {
    /// Computes `n!` on the device: checks it is idle, writes the operand,
    /// polls the status until the "computing" bit clears, reads the
    /// result. `EIO` if it never clears.
    fn factorial(&self, n: u32) -> Result<u32> {
        // A computation the device never finished (a timeout) is still
        // running: writing the register now would be lost (edu.rst).
        if self.bar.read32(regs::STATUS)? & regs::STATUS_COMPUTING != 0 {
            return Err(EBUSY);
        }
        // Completion raises an interrupt, which the filter counts.
        self.bar.write32(regs::STATUS, regs::STATUS_IRQFACT)?;
        self.bar.write32(regs::FACTORIAL, n)?;
        for _ in 0..POLLS {
            if self.bar.read32(regs::STATUS)? & regs::STATUS_COMPUTING == 0 {
                return self.bar.read32(regs::FACTORIAL);
            }
        }
        self.timeouts.fetch_add(1, Ordering::Relaxed);
        Err(EIO)
    }
}

/// The `factorial` node's validation: computes n! for n in 0 to 12 and
/// keeps the result; refuses the write otherwise (EINVAL).
fn compute(regs: &Regs, n: u64) -> bool {
    let Ok(n32) = u32::try_from(n) else {
        return false;
    };
    if n > MAX_FACTORIAL || regs.busy.swap(true, Ordering::Acquire) {
        return false;
    }
    let r = regs.factorial(n32);
    regs.busy.store(false, Ordering::Release);
    match r {
        Ok(v) => {
            regs.result.store(u64::from(v), Ordering::Relaxed);
            true
        }
        Err(_) => false,
    }
}

/// The softc: the interrupt (torn down first), the sysctl nodes; the
/// registers they share go with the last reference, BAR 0 with them.
struct Edu {
    /// `/dev/rustedu<unit>`, destroyed first.
    dma: dma::Attached,
    _intr: Interrupt<Regs>,
    _sysctl: SysctlCtx<Regs>,
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
    sysctl.add_tunable(
        &node,
        c"factorial",
        c"Write n (0 to 12) to compute n! on the device",
        |r| &r.n,
        compute,
    )?;
    sysctl.add_u64_counter(&node, c"result", c"The last factorial computed", |r| {
        &r.result
    })?;
    sysctl.add_u64_counter(
        &node,
        c"timeouts",
        c"Computations the device never finished",
        |r| &r.timeouts,
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
        |r| &r.completions,
    )?;
    Ok(sysctl.finish())
}

/// Checks the identification and liveness registers; the id.
#[inline(never)]
fn check_device(bar: &Memory, unit: i32) -> Result<u32> {
    let id = bar.read32(regs::ID)?;
    if id & 0xff != ID_MAGIC {
        println!("unit {}: unknown identification {:#x}", unit, id);
        return Err(ENXIO);
    }
    bar.write32(regs::LIVENESS, LIVENESS_PROBE)?;
    if bar.read32(regs::LIVENESS)? != !LIVENESS_PROBE {
        println!("unit {}: liveness check failed", unit);
        return Err(ENXIO);
    }
    Ok(id)
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

    /// Refuses (`EBUSY`) while `/dev/rustedu<unit>` is open.
    fn detach(&self, _dev: &Device<'_>) -> Result {
        self.dma.quiesce()
    }

    fn attach(dev: &Device<'_>, cx: &mut Sleepable) -> Result<Self> {
        let unit = dev.unit();
        let bar = dev.alloc_memory(0)?;
        let id = check_device(&bar, unit)?;
        let irq = dev.alloc_irq()?;
        let regs = Arc::try_new(
            Regs {
                bar,
                n: Tunable::new(0),
                result: AtomicU64::new(0),
                busy: AtomicBool::new(false),
                timeouts: AtomicU64::new(0),
                interrupts: AtomicU64::new(0),
                stray: AtomicU64::new(0),
                done: Mutex::new(c"rustedu done", 0, cx.waitok()),
                completed: CondVar::new(c"edufac"),
                completions: AtomicU64::new(0),
                dma: dma::DmaEvents::new(cx),
            },
            M_NOWAIT,
        )?;
        let intr = Interrupt::setup(irq, regs.clone(), cx)?;
        let sysctl = add_sysctls(regs.clone(), unit, cx)?;
        let mut buf = [0u8; 12];
        let dma = dma::Attached::attach(dev, regs, unit_name(unit, &mut buf)?, cx)?;
        println!(
            "edu {}.{} at unit {}, liveness ok",
            id >> 24,
            (id >> 16) & 0xff,
            unit
        );
        Ok(Edu {
            dma,
            _intr: intr,
            _sysctl: sysctl,
        })
    }
}

kern::driver!(type: Edu, name: "rustedu", bus: "pci", version: 1);
