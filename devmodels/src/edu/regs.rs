// SPDX-License-Identifier: BSD-2-Clause
//! The edu device's facts: identity, BAR layout, register offsets and bits
//! (QEMU `docs/specs/edu.rst`, `hw/misc/edu.c`).

/// PCI vendor ID (QEMU's, `PCI_VENDOR_ID_QEMU`).
pub const VENDOR: u16 = 0x1234;
/// PCI device ID.
pub const DEVICE: u16 = 0x11e8;
/// Revision ID.
pub const REVISION: u8 = 0x10;
/// Base class: `PCI_CLASS_OTHERS` (0xff, subclass 0, interface 0).
pub const CLASS: u8 = 0xff;
/// Interrupt pin: INTA#.
pub const INTPIN: u8 = 1;
/// Size of BAR 0, the register window (1 MiB of memory space).
pub const BAR0_SIZE: u32 = 1 << 20;

/// 0x00, read-only: identification, `0xRRrr00ed` for version RR.rr.
pub const ID: u64 = 0x00;
/// 0x04: liveness check; reads give the inverse of the last value written.
pub const LIVENESS: u64 = 0x04;
/// 0x08: factorial; a write starts computing the factorial of the value,
/// a read gives the register (the result once computing has finished).
pub const FACTORIAL: u64 = 0x08;
/// 0x20: status, [`STATUS_COMPUTING`] and [`STATUS_IRQFACT`].
pub const STATUS: u64 = 0x20;
/// 0x24, read-only: interrupt status, the OR of the raised values.
pub const IRQ_STATUS: u64 = 0x24;
/// 0x60, write-only: raise an interrupt, ORing the value into 0x24.
pub const IRQ_RAISE: u64 = 0x60;
/// 0x64, write-only: acknowledge, clearing the value's bits from 0x24.
pub const IRQ_ACK: u64 = 0x64;
/// 0x80: DMA source address.
pub const DMA_SRC: u64 = 0x80;
/// 0x88: DMA destination address.
pub const DMA_DST: u64 = 0x88;
/// 0x90: DMA transfer count in bytes.
pub const DMA_COUNT: u64 = 0x90;
/// 0x98: DMA command, [`DMA_CMD_START`], [`DMA_CMD_TO_RAM`],
/// [`DMA_CMD_IRQ`].
pub const DMA_CMD: u64 = 0x98;

/// The identification register's value: version 1.0.
pub const ID_VALUE: u32 = 0x0100_00ed;

/// Status bit 0, read-only: a factorial is being computed.
pub const STATUS_COMPUTING: u32 = 0x01;
/// Status bit 7: raise [`IRQ_FACTORIAL`] when a factorial is done.
pub const STATUS_IRQFACT: u32 = 0x80;

/// Interrupt status value raised when a factorial is done.
pub const IRQ_FACTORIAL: u32 = 0x0000_0001;
/// Interrupt status value raised when a DMA transfer is done.
pub const IRQ_DMA: u32 = 0x0000_0100;

/// DMA command bit 0: start (reads 1 until the transfer is done).
pub const DMA_CMD_START: u64 = 0x1;
/// DMA command bit 1: direction; 0 is RAM to the device's buffer, 1 is the
/// buffer to RAM.
pub const DMA_CMD_TO_RAM: u64 = 0x2;
/// DMA command bit 2: raise [`IRQ_DMA`] when the transfer is done.
pub const DMA_CMD_IRQ: u64 = 0x4;

/// Device address of the DMA buffer (the DMA engine's side only: it is not
/// in the register window).
pub const DMA_BUFFER: u64 = 0x40000;
/// Size of the DMA buffer.
pub const DMA_BUFFER_SIZE: usize = 4096;
/// The default DMA mask: the device reaches 28 bits of bus address.
pub const DMA_MASK_DEFAULT: u64 = (1 << 28) - 1;
/// Registers from this offset on take 8-byte accesses as well as 4-byte
/// ones.
pub const WIDE_FROM: u64 = 0x80;

/// Virtual time QEMU waits between the DMA command and the transfer, in
/// milliseconds (`QEMU_CLOCK_VIRTUAL`).
pub const DMA_DELAY_MS: u64 = 100;
