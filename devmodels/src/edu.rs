// SPDX-License-Identifier: BSD-2-Clause
//! QEMU's educational PCI device, `-device edu`.
//!
//! Followed: QEMU's `docs/specs/edu.rst` and `hw/misc/edu.c` (`edu_mmio_read`,
//! `edu_mmio_write`, `edu_fact_thread`, `edu_dma_timer`, `edu_raise_irq`,
//! `edu_lower_irq`, `pci_edu_realize`, `edu_class_init`) at QEMU commit
//! 06b40d25, and the memory core's access check
//! (`memory_region_access_valid` in `system/memory.c`: edu's accesses
//! must be 4 or 8 bytes, naturally aligned).
//!
//! # The device
//!
//! PCI 1234:11e8, revision 0x10, class 0xff (other); BAR 0 is 1 MiB of
//! 32-bit memory space holding the registers of [`regs`]; INTA#, and an
//! MSI capability for one vector. The device computes factorials in the
//! background and copies between RAM and its 4 KiB buffer at device
//! address 0x40000 with a DMA engine that reaches 28 bits of bus address
//! (the default `dma_mask`).
//!
//! # Driving it
//!
//! * Register accesses: [`Edu::mmio_read`], [`Edu::mmio_write`] (offset in
//!   BAR 0, width in bytes). Configuration space: [`Edu::config_read`],
//!   [`Edu::config_write`].
//! * Time: a factorial or a DMA transfer starts with a register write and
//!   is then pending ([`Edu::factorial_pending`], [`Edu::dma_pending`])
//!   until the harness calls [`Edu::complete_factorial`] or
//!   [`Edu::complete_dma`]. QEMU computes the factorial on a worker thread
//!   as soon as it runs and does the DMA [`regs::DMA_DELAY_MS`] of virtual
//!   time after the command; a harness can complete at once, after a
//!   virtual delay, from another thread, or never (a hung device).
//! * Interrupts: [`Edu::intx`] is the INTA# pin's level; each MSI message
//!   the device sends is queued for [`Edu::take_msi`], or given to the
//!   sink set with [`Edu::set_interrupt_sink`] together with INTx changes.
//! * DMA reaches memory only through the [`DmaMemory`] passed to
//!   [`Edu::complete_dma`].
//!
//! # Violations
//!
//! Where edu.c (or QEMU's memory core) silently ignores an access, returns
//! all ones, or corrupts memory, the model returns a [`Violation`] the
//! harness reports against the driver, and leaves the device as QEMU would
//! leave it. Beyond access widths and offsets, the model flags what a
//! driver must not do to this device:
//!
//! * writing the factorial register while a factorial is being computed
//!   (edu.c drops the write, the driver's operand is lost);
//! * writing a DMA register, or starting a transfer, while one is pending
//!   (edu.c drops the write);
//! * a transfer whose device-side range is outside the 4 KiB buffer
//!   (edu.c only logs it and then copies out of its buffer's bounds), or
//!   whose RAM address is outside the DMA mask (edu.c logs and clamps it,
//!   so the copy lands elsewhere), or that the bus refuses (bus mastering
//!   off, or memory not mapped for DMA);
//! * an MSI sent while bus mastering is off (the message never arrives).
//!
//! Not modelled: the `dma_mask` property is set with
//! [`Edu::with_dma_mask`]; migration and reset are not part of the model;
//! reading the factorial register while computing is not flagged (edu.c
//! returns the operand, which a driver that polls the status never sees).
//!
//! # Examples
//!
//! ```
//! use devmodels::edu::{Edu, regs};
//! use devmodels::pci::{cmd, reg};
//!
//! let mut edu = Edu::new();
//! edu.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN)).unwrap();
//! assert_eq!(edu.mmio_read(regs::ID, 4), Ok(0x0100_00ed));
//! edu.mmio_write(regs::FACTORIAL, 4, 5).unwrap();
//! assert!(edu.factorial_pending());
//! edu.complete_factorial().unwrap();
//! assert_eq!(edu.mmio_read(regs::FACTORIAL, 4), Ok(120));
//! ```

pub mod regs;

use crate::dma::{DmaError, DmaMemory};
use crate::pci::{self, ConfigSpace, ConfigViolation, Identity};
use std::collections::VecDeque;
use std::fmt;

/// An interrupt output change, for [`Edu::set_interrupt_sink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// INTA# went high.
    IntxAsserted,
    /// INTA# went low.
    IntxDeasserted,
    /// An MSI message was written (one edge).
    Msi(MsiMessage),
}

/// An MSI message: what the device writes, where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsiMessage {
    /// The address the OS programmed.
    pub address: u64,
    /// The data the OS programmed.
    pub data: u16,
}

/// A register access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Offset in BAR 0.
    pub offset: u64,
    /// Width in bytes.
    pub width: usize,
    /// The value written, for a write.
    pub written: Option<u64>,
}

/// What the driver did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// Beyond the 1 MiB of BAR 0.
    OutsideBar,
    /// Memory decoding is off in the command register: the BAR does not
    /// answer.
    DecodeDisabled,
    /// Not 4 or 8 bytes: QEMU's memory core refuses it before edu.c.
    Width,
    /// Not naturally aligned: QEMU's memory core refuses it.
    Unaligned,
    /// 8 bytes below 0x80: edu.c returns all ones, drops a write.
    WideBelow0x80,
    /// No register there: edu.c returns all ones, drops a write.
    NoRegister,
    /// A write to a read-only register (0x00, 0x24): dropped.
    ReadOnly,
    /// A read of a write-only register (0x60, 0x64): all ones.
    WriteOnly,
    /// The factorial register written while computing: dropped.
    FactorialBusy,
    /// A DMA register written while a transfer is pending: dropped.
    DmaBusy,
    /// The transfer's range in the device (`start`, `len`) is not inside
    /// the 4 KiB buffer at 0x40000.
    DmaOutsideBuffer {
        /// Device address of the transfer.
        start: u64,
        /// Its length.
        len: u64,
    },
    /// The transfer's RAM address is beyond the DMA mask.
    DmaMask {
        /// The address the driver gave.
        addr: u64,
        /// The device's mask.
        mask: u64,
    },
    /// A transfer with bus mastering off: it does not reach memory.
    DmaWithoutBusMaster,
    /// The transfer reached memory not mapped for DMA.
    DmaMemory(DmaError),
    /// An MSI message with bus mastering off: it never arrives.
    MsiWithoutBusMaster,
}

/// A driver's misuse of the device, with the access that did it (none for
/// what happens when pending work completes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// The register access, if the violation is one.
    pub access: Option<Access>,
    /// What was wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("edu: ")?;
        if let Some(a) = self.access {
            match a.written {
                Some(v) => write!(
                    f,
                    "write of {v:#x} ({} bytes) at {:#x}: ",
                    a.width, a.offset
                )?,
                None => write!(f, "read ({} bytes) at {:#x}: ", a.width, a.offset)?,
            }
        }
        match self.kind {
            ViolationKind::OutsideBar => f.write_str("outside BAR 0 (1 MiB)"),
            ViolationKind::DecodeDisabled => f.write_str("memory decoding is off"),
            ViolationKind::Width => f.write_str("registers take 4- or 8-byte accesses"),
            ViolationKind::Unaligned => f.write_str("not naturally aligned"),
            ViolationKind::WideBelow0x80 => f.write_str("8-byte accesses start at 0x80"),
            ViolationKind::NoRegister => f.write_str("no register at this offset"),
            ViolationKind::ReadOnly => f.write_str("read-only register"),
            ViolationKind::WriteOnly => f.write_str("write-only register"),
            ViolationKind::FactorialBusy => {
                f.write_str("factorial written while computing (the write is lost)")
            }
            ViolationKind::DmaBusy => {
                f.write_str("DMA register written while a transfer is pending (lost)")
            }
            ViolationKind::DmaOutsideBuffer { start, len } => write!(
                f,
                "DMA of {len} bytes at device address {start:#x} is outside the buffer \
                 [0x40000, 0x41000)"
            ),
            ViolationKind::DmaMask { addr, mask } => {
                write!(
                    f,
                    "DMA address {addr:#x} is beyond the device's mask {mask:#x}"
                )
            }
            ViolationKind::DmaWithoutBusMaster => f.write_str("DMA with bus mastering off"),
            ViolationKind::DmaMemory(e) => write!(f, "{e}"),
            ViolationKind::MsiWithoutBusMaster => {
                f.write_str("MSI with bus mastering off (the interrupt is lost)")
            }
        }
    }
}

impl std::error::Error for Violation {}

/// The DMA registers.
#[derive(Debug, Clone, Copy, Default)]
struct DmaRegs {
    src: u64,
    dst: u64,
    count: u64,
    cmd: u64,
}

/// Called on every interrupt output change.
pub type InterruptSink = Box<dyn FnMut(Interrupt) + Send>;

/// One edu device.
pub struct Edu {
    config: ConfigSpace,
    liveness: u32,
    factorial: u32,
    status: u32,
    irq_status: u32,
    dma: DmaRegs,
    buffer: Box<[u8; regs::DMA_BUFFER_SIZE]>,
    dma_mask: u64,
    /// INTx as edu.c drives it (before the command register's disable).
    intx_level: bool,
    msi_queue: VecDeque<MsiMessage>,
    sink: Option<InterruptSink>,
}

impl fmt::Debug for Edu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edu")
            .field("status", &self.status)
            .field("irq_status", &self.irq_status)
            .field("factorial", &self.factorial)
            .field("dma_cmd", &self.dma.cmd)
            .field("intx_level", &self.intx_level)
            .finish_non_exhaustive()
    }
}

impl Default for Edu {
    fn default() -> Self {
        Self::new()
    }
}

/// `width` bytes of ones.
fn ones(width: usize) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1 << (width * 8)) - 1
    }
}

/// `n!` in 32 bits, as edu.c's worker multiplies (wrapping).
#[must_use]
pub fn factorial(n: u32) -> u32 {
    let mut acc: u32 = 1;
    for k in (1..=n).rev() {
        acc = acc.wrapping_mul(k);
        // Once 32 factors of two are in, the product stays 0 (n >= 34);
        // this keeps a huge operand from looping for minutes.
        if acc == 0 {
            break;
        }
    }
    acc
}

impl Edu {
    /// A device as QEMU realizes it, with the default 28-bit DMA mask.
    #[must_use]
    pub fn new() -> Self {
        Self::with_dma_mask(regs::DMA_MASK_DEFAULT)
    }

    /// A device whose DMA engine reaches `mask` (QEMU's `dma_mask`
    /// property).
    #[must_use]
    pub fn with_dma_mask(mask: u64) -> Self {
        let id = Identity {
            vendor: regs::VENDOR,
            device: regs::DEVICE,
            subvendor: pci::QEMU_SUBVENDOR,
            subdevice: pci::QEMU_SUBDEVICE,
            revision: regs::REVISION,
            class: regs::CLASS,
            subclass: 0,
            progif: 0,
            intpin: regs::INTPIN,
        };
        Self {
            config: ConfigSpace::new(&id, regs::BAR0_SIZE, true),
            liveness: 0,
            factorial: 0,
            status: 0,
            irq_status: 0,
            dma: DmaRegs::default(),
            buffer: Box::new([0; regs::DMA_BUFFER_SIZE]),
            dma_mask: mask,
            intx_level: false,
            msi_queue: VecDeque::new(),
            sink: None,
        }
    }

    /// The configuration space.
    #[must_use]
    pub fn config(&self) -> &ConfigSpace {
        &self.config
    }

    /// Reads configuration space.
    ///
    /// # Errors
    /// See [`ConfigSpace::read`].
    pub fn config_read(&self, offset: u16, width: usize) -> Result<u32, ConfigViolation> {
        self.config.read(offset, width)
    }

    /// Writes configuration space; a change of the INTx-disable bit shows
    /// on the pin.
    ///
    /// # Errors
    /// See [`ConfigSpace::write`].
    pub fn config_write(
        &mut self,
        offset: u16,
        width: usize,
        value: u32,
    ) -> Result<(), ConfigViolation> {
        let before = self.intx();
        self.config.write(offset, width, value)?;
        self.pin_changed(before);
        Ok(())
    }

    /// The DMA buffer's contents.
    #[must_use]
    pub fn buffer(&self) -> &[u8; regs::DMA_BUFFER_SIZE] {
        &self.buffer
    }

    /// The interrupt status register.
    #[must_use]
    pub fn irq_status(&self) -> u32 {
        self.irq_status
    }

    /// The INTA# pin: edu.c's level, unless the OS disabled INTx.
    #[must_use]
    pub fn intx(&self) -> bool {
        self.intx_level && !self.config.intx_disabled()
    }

    /// The oldest MSI message not yet taken (when no sink is set).
    pub fn take_msi(&mut self) -> Option<MsiMessage> {
        // A queue, not a `Vec`: a storm can leave many messages, and
        // taking each from the front must not move the rest.
        self.msi_queue.pop_front()
    }

    /// Calls `sink` on every interrupt output change from now on, instead
    /// of queueing MSI messages; `None` goes back to queueing.
    pub fn set_interrupt_sink(&mut self, sink: Option<InterruptSink>) {
        self.sink = sink;
    }

    /// A factorial is being computed.
    #[must_use]
    pub fn factorial_pending(&self) -> bool {
        self.status & regs::STATUS_COMPUTING != 0
    }

    /// A DMA transfer was started and is not done.
    #[must_use]
    pub fn dma_pending(&self) -> bool {
        self.dma.cmd & regs::DMA_CMD_START != 0
    }

    fn emit(&mut self, event: Interrupt) {
        match (&mut self.sink, event) {
            (Some(sink), e) => sink(e),
            (None, Interrupt::Msi(m)) => self.msi_queue.push_back(m),
            (None, _) => {}
        }
    }

    fn pin_changed(&mut self, before: bool) {
        let now = self.intx();
        if now != before {
            self.emit(if now {
                Interrupt::IntxAsserted
            } else {
                Interrupt::IntxDeasserted
            });
        }
    }

    fn set_intx_level(&mut self, level: bool) {
        let before = self.intx();
        self.intx_level = level;
        self.config.set_interrupt_status(level);
        self.pin_changed(before);
    }

    /// edu.c's `edu_raise_irq`: OR `value` in; if any bit is set, send an
    /// MSI (when enabled) or assert INTx.
    fn raise(&mut self, value: u32) -> Result<(), ViolationKind> {
        self.irq_status |= value;
        if self.irq_status == 0 {
            return Ok(());
        }
        match self.config.msi() {
            Some(msi) if msi.enabled => {
                if !self.config.bus_master() {
                    return Err(ViolationKind::MsiWithoutBusMaster);
                }
                self.emit(Interrupt::Msi(MsiMessage {
                    address: msi.address,
                    data: msi.data,
                }));
            }
            _ => self.set_intx_level(true),
        }
        Ok(())
    }

    /// edu.c's `edu_lower_irq`: clear `value`'s bits; INTx goes low when
    /// none is left (MSI has nothing to lower).
    fn lower(&mut self, value: u32) {
        self.irq_status &= !value;
        let msi = self.config.msi().is_some_and(|m| m.enabled);
        if self.irq_status == 0 && !msi {
            self.set_intx_level(false);
        }
    }

    fn check(&self, offset: u64, width: usize, written: Option<u64>) -> Result<(), Violation> {
        let fail = |kind| {
            Err(Violation {
                access: Some(Access {
                    offset,
                    width,
                    written,
                }),
                kind,
            })
        };
        let size = u64::from(regs::BAR0_SIZE);
        let end = u64::try_from(width)
            .ok()
            .and_then(|w| offset.checked_add(w));
        if end.is_none_or(|end| end > size) {
            return fail(ViolationKind::OutsideBar);
        }
        if !self.config.memory_enabled() {
            return fail(ViolationKind::DecodeDisabled);
        }
        if width != 4 && width != 8 {
            return fail(ViolationKind::Width);
        }
        if !offset.is_multiple_of(width as u64) {
            return fail(ViolationKind::Unaligned);
        }
        if offset < regs::WIDE_FROM && width == 8 {
            return fail(ViolationKind::WideBelow0x80);
        }
        Ok(())
    }

    /// Reads `width` bytes at `offset` of BAR 0.
    ///
    /// # Errors
    /// The access is not one the device takes (see [`ViolationKind`]).
    pub fn mmio_read(&mut self, offset: u64, width: usize) -> Result<u64, Violation> {
        self.check(offset, width, None)?;
        let value = match offset {
            regs::ID => u64::from(regs::ID_VALUE),
            regs::LIVENESS => u64::from(self.liveness),
            regs::FACTORIAL => u64::from(self.factorial),
            regs::STATUS => u64::from(self.status),
            regs::IRQ_STATUS => u64::from(self.irq_status),
            regs::DMA_SRC => self.dma.src,
            regs::DMA_DST => self.dma.dst,
            regs::DMA_COUNT => self.dma.count,
            regs::DMA_CMD => self.dma.cmd,
            _ => {
                let kind = if matches!(offset, regs::IRQ_RAISE | regs::IRQ_ACK) {
                    ViolationKind::WriteOnly
                } else {
                    ViolationKind::NoRegister
                };
                return Err(Violation {
                    access: Some(Access {
                        offset,
                        width,
                        written: None,
                    }),
                    kind,
                });
            }
        };
        Ok(value & ones(width))
    }

    /// Writes the low `width` bytes of `value` at `offset` of BAR 0.
    ///
    /// # Errors
    /// The access is not one the device takes, or the device is busy with
    /// what it would change (see [`ViolationKind`]). The device is left as
    /// QEMU's would be: a dropped write changed nothing, an interrupt that
    /// could not be sent is still in the interrupt status.
    pub fn mmio_write(&mut self, offset: u64, width: usize, value: u64) -> Result<(), Violation> {
        let value = value & ones(width);
        self.check(offset, width, Some(value))?;
        // CAST: the registers below 0x80 are 32 bits; the memory core only
        // passes 4-byte accesses there (checked above).
        let low = value as u32;
        let result = match offset {
            regs::LIVENESS => {
                self.liveness = !low;
                Ok(())
            }
            regs::FACTORIAL if self.factorial_pending() => Err(ViolationKind::FactorialBusy),
            regs::FACTORIAL => {
                self.factorial = low;
                self.status |= regs::STATUS_COMPUTING;
                Ok(())
            }
            regs::STATUS => {
                if low & regs::STATUS_IRQFACT != 0 {
                    self.status |= regs::STATUS_IRQFACT;
                } else {
                    self.status &= !regs::STATUS_IRQFACT;
                }
                Ok(())
            }
            regs::IRQ_RAISE => self.raise(low),
            regs::IRQ_ACK => {
                self.lower(low);
                Ok(())
            }
            regs::DMA_SRC | regs::DMA_DST | regs::DMA_COUNT | regs::DMA_CMD
                if self.dma_pending() =>
            {
                Err(ViolationKind::DmaBusy)
            }
            regs::DMA_SRC => {
                self.dma.src = value;
                Ok(())
            }
            regs::DMA_DST => {
                self.dma.dst = value;
                Ok(())
            }
            regs::DMA_COUNT => {
                self.dma.count = value;
                Ok(())
            }
            // edu.c ignores a command without the start bit.
            regs::DMA_CMD if value & regs::DMA_CMD_START == 0 => Ok(()),
            regs::DMA_CMD => {
                self.dma.cmd = value;
                Ok(())
            }
            regs::ID | regs::IRQ_STATUS => Err(ViolationKind::ReadOnly),
            _ => Err(ViolationKind::NoRegister),
        };
        result.map_err(|kind| Violation {
            access: Some(Access {
                offset,
                width,
                written: Some(value),
            }),
            kind,
        })
    }

    /// Finishes the pending factorial, as edu.c's worker thread does:
    /// stores the result, clears "computing", and raises
    /// [`regs::IRQ_FACTORIAL`] if status bit 7 is set. Returns whether one
    /// was pending.
    ///
    /// # Errors
    /// The completion interrupt was an MSI with bus mastering off.
    pub fn complete_factorial(&mut self) -> Result<bool, Violation> {
        if !self.factorial_pending() {
            return Ok(false);
        }
        self.factorial = factorial(self.factorial);
        self.status &= !regs::STATUS_COMPUTING;
        if self.status & regs::STATUS_IRQFACT != 0 {
            self.raise(regs::IRQ_FACTORIAL)
                .map_err(|kind| Violation { access: None, kind })?;
        }
        Ok(true)
    }

    /// Performs the pending DMA transfer through `mem`, as edu.c's DMA
    /// timer does: copies, clears the start bit, and raises
    /// [`regs::IRQ_DMA`] if the command asked. Returns whether one was
    /// pending.
    ///
    /// # Errors
    /// The transfer is outside the buffer or the DMA mask, or the bus
    /// refused it: nothing is copied, but the transfer ends (and
    /// interrupts) as in QEMU. Or the completion interrupt was an MSI with
    /// bus mastering off.
    pub fn complete_dma(&mut self, mem: &mut dyn DmaMemory) -> Result<bool, Violation> {
        if !self.dma_pending() {
            return Ok(false);
        }
        let copied = self.transfer(mem);
        self.dma.cmd &= !regs::DMA_CMD_START;
        let raised = if self.dma.cmd & regs::DMA_CMD_IRQ != 0 {
            self.raise(regs::IRQ_DMA)
        } else {
            Ok(())
        };
        copied
            .and(raised)
            .map(|()| true)
            .map_err(|kind| Violation { access: None, kind })
    }

    fn transfer(&mut self, mem: &mut dyn DmaMemory) -> Result<(), ViolationKind> {
        let to_ram = self.dma.cmd & regs::DMA_CMD_TO_RAM != 0;
        let (device, ram) = if to_ram {
            (self.dma.src, self.dma.dst)
        } else {
            (self.dma.dst, self.dma.src)
        };
        let len = self.dma.count;
        let outside = ViolationKind::DmaOutsideBuffer { start: device, len };
        let offset = device.checked_sub(regs::DMA_BUFFER).ok_or(outside)?;
        let end = offset.checked_add(len).ok_or(outside)?;
        let (Ok(offset), Ok(end)) = (usize::try_from(offset), usize::try_from(end)) else {
            return Err(outside);
        };
        if end > regs::DMA_BUFFER_SIZE {
            return Err(outside);
        }
        if ram & self.dma_mask != ram {
            return Err(ViolationKind::DmaMask {
                addr: ram,
                mask: self.dma_mask,
            });
        }
        if !self.config.bus_master() {
            return Err(ViolationKind::DmaWithoutBusMaster);
        }
        let part = &mut self.buffer[offset..end];
        if to_ram {
            mem.write(ram, part).map_err(ViolationKind::DmaMemory)
        } else {
            // Read into a copy first, so that a refused read leaves the
            // buffer as it was.
            let mut incoming = vec![0; part.len()];
            mem.read(ram, &mut incoming)
                .map_err(ViolationKind::DmaMemory)?;
            part.copy_from_slice(&incoming);
            Ok(())
        }
    }
}
