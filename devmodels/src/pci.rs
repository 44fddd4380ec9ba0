// SPDX-License-Identifier: BSD-2-Clause
//! The configuration space of a conventional PCI function (256 bytes,
//! header type 0), as a device model presents it to the PCI bus.
//!
//! Followed: QEMU's PCI core, `hw/pci/pci.c` (which bits of the header a
//! write may change, BAR sizing by writing all ones, the default
//! subsystem IDs, the interrupt-status bit) and `hw/pci/msi.c` (the MSI
//! capability `msi_init()` adds: first free dword after the header,
//! 64-bit address, no per-vector masking). Register offsets and bits are
//! FreeBSD's names from `sys/dev/pci/pcireg.h`, which the driver side
//! uses.
//!
//! Writes to read-only bits are dropped, as PCI defines (FreeBSD writes
//! whole registers); an access of a width or at an offset configuration
//! space does not have is a [`ConfigViolation`].

use std::fmt;

/// Register offsets (`PCIR_*`).
pub mod reg {
    /// Vendor ID (16 bits).
    pub const VENDOR: u16 = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE: u16 = 0x02;
    /// Command (16 bits).
    pub const COMMAND: u16 = 0x04;
    /// Status (16 bits).
    pub const STATUS: u16 = 0x06;
    /// Revision ID.
    pub const REVID: u16 = 0x08;
    /// Programming interface.
    pub const PROGIF: u16 = 0x09;
    /// Subclass.
    pub const SUBCLASS: u16 = 0x0a;
    /// Base class.
    pub const CLASS: u16 = 0x0b;
    /// Header type.
    pub const HDRTYPE: u16 = 0x0e;
    /// The first BAR; BAR `n` is at `BAR0 + 4 * n`.
    pub const BAR0: u16 = 0x10;
    /// Subsystem vendor ID (16 bits).
    pub const SUBVEND: u16 = 0x2c;
    /// Subsystem ID (16 bits).
    pub const SUBDEV: u16 = 0x2e;
    /// Offset of the first capability.
    pub const CAP_PTR: u16 = 0x34;
    /// Interrupt line (written by the OS).
    pub const INTLINE: u16 = 0x3c;
    /// Interrupt pin: 1 for INTA# to 4 for INTD#, 0 for none.
    pub const INTPIN: u16 = 0x3d;
}

/// Command register bits (`PCIM_CMD_*`).
pub mod cmd {
    /// I/O space decoding.
    pub const PORTEN: u16 = 0x0001;
    /// Memory space decoding: the memory BARs answer.
    pub const MEMEN: u16 = 0x0002;
    /// Bus mastering: DMA and MSI writes reach memory.
    pub const BUSMASTEREN: u16 = 0x0004;
    /// INTx disabled: the pin is not driven.
    pub const INTX_DISABLE: u16 = 0x0400;
}

/// Status register bits (`PCIM_STATUS_*`).
pub mod status {
    /// The function's INTx is asserted (whether or not it is disabled).
    pub const INTR: u16 = 0x0008;
    /// The capability list at `CAP_PTR` is valid.
    pub const CAPPRESENT: u16 = 0x0010;
}

/// MSI capability (`PCIY_MSI`, `PCIR_MSI_*`, `PCIM_MSICTRL_*`).
pub mod msi {
    /// Capability ID.
    pub const CAP_ID: u8 = 0x05;
    /// Offset of the control word in the capability.
    pub const CTRL: u16 = 0x02;
    /// Offset of the address (low 32 bits).
    pub const ADDR: u16 = 0x04;
    /// Offset of the address, high 32 bits (64-bit capability).
    pub const ADDR_HIGH: u16 = 0x08;
    /// Offset of the data word (64-bit capability).
    pub const DATA_64BIT: u16 = 0x0c;
    /// Control: MSI enabled.
    pub const CTRL_ENABLE: u16 = 0x0001;
    /// Control: messages the function can send, log2, in bits 1-3.
    pub const CTRL_MMC_MASK: u16 = 0x000e;
    /// Control: messages the OS allocated, log2, in bits 4-6.
    pub const CTRL_MME_MASK: u16 = 0x0070;
    /// Control: 64-bit addresses.
    pub const CTRL_64BIT: u16 = 0x0080;
    /// Size of a 64-bit capability without masking.
    pub const SIZE_64BIT: u16 = 0x0e;
}

/// QEMU's default subsystem vendor (Red Hat / Qumranet), which its PCI core
/// gives every device that sets none.
pub const QEMU_SUBVENDOR: u16 = 0x1af4;
/// QEMU's default subsystem ID.
pub const QEMU_SUBDEVICE: u16 = 0x1100;

/// Who a function is: what the PCI bus reads to find its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Subsystem vendor ID.
    pub subvendor: u16,
    /// Subsystem ID.
    pub subdevice: u16,
    /// Revision ID.
    pub revision: u8,
    /// Base class.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub progif: u8,
    /// Interrupt pin (1 = INTA#), 0 for none.
    pub intpin: u8,
}

/// An access configuration space does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigViolation {
    /// Offset of the access.
    pub offset: u16,
    /// Its width in bytes.
    pub width: usize,
    /// Whether it was a write.
    pub write: bool,
}

impl fmt::Display for ConfigViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config space {} of {} bytes at {:#x}: configuration accesses are 1, 2 or 4 \
             bytes, naturally aligned, below 0x100",
            if self.write { "write" } else { "read" },
            self.width,
            self.offset
        )
    }
}

impl std::error::Error for ConfigViolation {}

/// The MSI state the OS programmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsiConfig {
    /// MSI is enabled: interrupts are messages, not INTx.
    pub enabled: bool,
    /// The message address.
    pub address: u64,
    /// The message data.
    pub data: u16,
}

/// Size of conventional configuration space.
pub const CONFIG_SIZE: usize = 256;

/// First byte after the type-0 header, where QEMU places the first
/// capability.
const HEADER_SIZE: u16 = 0x40;

/// The configuration space of one function.
///
/// # Invariants
///
/// Every byte outside `wmask` keeps the value [`ConfigSpace::new`] gave it.
#[derive(Debug, Clone)]
pub struct ConfigSpace {
    bytes: [u8; CONFIG_SIZE],
    wmask: [u8; CONFIG_SIZE],
    msi: Option<u16>,
}

impl ConfigSpace {
    /// A function with identity `id`, one 32-bit non-prefetchable memory
    /// BAR of `bar0_size` bytes (a power of two, at least 16), and an MSI
    /// capability for one vector if `msi` is set.
    ///
    /// # Panics
    /// `bar0_size` is not a power of two of at least 16 bytes and at most
    /// 2 GiB.
    #[must_use]
    pub fn new(id: &Identity, bar0_size: u32, msi: bool) -> Self {
        assert!(
            bar0_size.is_power_of_two() && (16..=1 << 31).contains(&bar0_size),
            "a memory BAR is a power of two of 16 bytes to 2 GiB"
        );
        let mut space = Self {
            bytes: [0; CONFIG_SIZE],
            wmask: [0; CONFIG_SIZE],
            msi: None,
        };
        space.init(reg::VENDOR, &id.vendor.to_le_bytes(), &[0, 0]);
        space.init(reg::DEVICE, &id.device.to_le_bytes(), &[0, 0]);
        let cmd_wmask = cmd::PORTEN | cmd::MEMEN | cmd::BUSMASTEREN | cmd::INTX_DISABLE;
        space.init(reg::COMMAND, &[0, 0], &cmd_wmask.to_le_bytes());
        space.init(reg::REVID, &[id.revision], &[0]);
        space.init(reg::PROGIF, &[id.progif], &[0]);
        space.init(reg::SUBCLASS, &[id.subclass], &[0]);
        space.init(reg::CLASS, &[id.class], &[0]);
        space.init(reg::HDRTYPE, &[0], &[0]);
        // Memory, 32-bit, not prefetchable: type bits 0; the size is the
        // bits that do not stick when all ones are written.
        space.init(reg::BAR0, &[0; 4], &(!(bar0_size - 1)).to_le_bytes());
        space.init(reg::SUBVEND, &id.subvendor.to_le_bytes(), &[0, 0]);
        space.init(reg::SUBDEV, &id.subdevice.to_le_bytes(), &[0, 0]);
        space.init(reg::INTLINE, &[0], &[0xff]);
        space.init(reg::INTPIN, &[id.intpin], &[0]);
        if msi {
            let at = HEADER_SIZE;
            space.msi = Some(at);
            space.init(reg::STATUS, &status::CAPPRESENT.to_le_bytes(), &[0, 0]);
            space.init(reg::CAP_PTR, &[at as u8], &[0]);
            space.init(at, &[msi::CAP_ID, 0], &[0, 0]);
            let ctrl_wmask = msi::CTRL_ENABLE | msi::CTRL_MME_MASK;
            space.init(
                at + msi::CTRL,
                &msi::CTRL_64BIT.to_le_bytes(),
                &ctrl_wmask.to_le_bytes(),
            );
            space.init(at + msi::ADDR, &[0; 4], &0xffff_fffc_u32.to_le_bytes());
            space.init(at + msi::ADDR_HIGH, &[0; 4], &[0xff; 4]);
            space.init(at + msi::DATA_64BIT, &[0; 2], &[0xff; 2]);
        }
        space
    }

    fn init(&mut self, offset: u16, value: &[u8], wmask: &[u8]) {
        let at = usize::from(offset);
        self.bytes[at..at + value.len()].copy_from_slice(value);
        self.wmask[at..at + wmask.len()].copy_from_slice(wmask);
    }

    fn check(offset: u16, width: usize, write: bool) -> Result<usize, ConfigViolation> {
        let at = usize::from(offset);
        let fits =
            matches!(width, 1 | 2 | 4) && at.is_multiple_of(width) && at + width <= CONFIG_SIZE;
        if fits {
            Ok(at)
        } else {
            Err(ConfigViolation {
                offset,
                width,
                write,
            })
        }
    }

    /// Reads `width` bytes (1, 2 or 4) at `offset`, little-endian.
    ///
    /// # Errors
    /// Another width, a misaligned offset, or beyond 256 bytes.
    pub fn read(&self, offset: u16, width: usize) -> Result<u32, ConfigViolation> {
        let at = Self::check(offset, width, false)?;
        Ok(self.bytes[at..at + width]
            .iter()
            .rev()
            .fold(0, |v, b| (v << 8) | u32::from(*b)))
    }

    /// Writes the low `width` bytes (1, 2 or 4) of `value` at `offset`;
    /// read-only bits keep their value.
    ///
    /// # Errors
    /// Another width, a misaligned offset, or beyond 256 bytes.
    pub fn write(&mut self, offset: u16, width: usize, value: u32) -> Result<(), ConfigViolation> {
        let at = Self::check(offset, width, true)?;
        for (i, b) in value.to_le_bytes().iter().take(width).enumerate() {
            let mask = self.wmask[at + i];
            // INVARIANT: only the bits of `wmask` change.
            self.bytes[at + i] = (self.bytes[at + i] & !mask) | (b & mask);
        }
        Ok(())
    }

    fn word(&self, offset: u16) -> u16 {
        let at = usize::from(offset);
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    fn dword(&self, offset: u16) -> u32 {
        let at = usize::from(offset);
        u32::from_le_bytes([
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ])
    }

    /// The command register.
    #[must_use]
    pub fn command(&self) -> u16 {
        self.word(reg::COMMAND)
    }

    /// Memory decoding is on: the memory BARs answer.
    #[must_use]
    pub fn memory_enabled(&self) -> bool {
        self.command() & cmd::MEMEN != 0
    }

    /// Bus mastering is on: DMA and MSI messages reach memory.
    #[must_use]
    pub fn bus_master(&self) -> bool {
        self.command() & cmd::BUSMASTEREN != 0
    }

    /// The OS disabled INTx (the pin is not driven).
    #[must_use]
    pub fn intx_disabled(&self) -> bool {
        self.command() & cmd::INTX_DISABLE != 0
    }

    /// The bus address the OS assigned to BAR 0.
    #[must_use]
    pub fn bar0(&self) -> u32 {
        self.dword(reg::BAR0) & !0xf
    }

    /// The MSI capability's offset, if the function has one.
    #[must_use]
    pub fn msi_offset(&self) -> Option<u16> {
        self.msi
    }

    /// What the OS programmed into the MSI capability, if there is one.
    #[must_use]
    pub fn msi(&self) -> Option<MsiConfig> {
        let at = self.msi?;
        Some(MsiConfig {
            enabled: self.word(at + msi::CTRL) & msi::CTRL_ENABLE != 0,
            address: (u64::from(self.dword(at + msi::ADDR_HIGH)) << 32)
                | u64::from(self.dword(at + msi::ADDR)),
            data: self.word(at + msi::DATA_64BIT),
        })
    }

    /// Reflects the INTx level in the status register, as the PCI core does
    /// whenever the device changes it.
    pub fn set_interrupt_status(&mut self, asserted: bool) {
        let at = usize::from(reg::STATUS);
        let [low, _] = status::INTR.to_le_bytes();
        if asserted {
            self.bytes[at] |= low;
        } else {
            self.bytes[at] &= !low;
        }
    }
}
