// SPDX-License-Identifier: BSD-2-Clause
//! The edu model against QEMU's `docs/specs/edu.rst` and `hw/misc/edu.c`:
//! every register, the asynchronous factorial and DMA, INTx and MSI, the
//! DMA mask and buffer bounds, and the violations a driver can commit.
#![allow(
    clippy::unreadable_literal,
    reason = "register values read as in edu.rst"
)]

use devmodels::dma::{DmaError, DmaMemory};
use devmodels::edu::{
    Access, Edu, Interrupt, MsiMessage, Violation, ViolationKind, factorial, regs,
};
use devmodels::pci::{cmd, msi, reg};
use std::sync::{Arc, Mutex};

/// Flat RAM from bus address `base`.
struct Ram {
    base: u64,
    bytes: Vec<u8>,
}

impl Ram {
    fn new(base: u64, len: usize) -> Self {
        Self {
            base,
            bytes: (0..len).map(|i| (i % 251) as u8).collect(),
        }
    }

    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, DmaError> {
        let err = DmaError {
            addr,
            len: len as u64,
        };
        let start = usize::try_from(addr.checked_sub(self.base).ok_or(err)?).map_err(|_| err)?;
        let end = start.checked_add(len).ok_or(err)?;
        if end > self.bytes.len() {
            return Err(err);
        }
        Ok(start..end)
    }
}

impl DmaMemory for Ram {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
        let r = self.range(addr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }
}

const RAM_BASE: u64 = 0x0010_0000;

/// A device the OS has set up: memory decoding and bus mastering on.
fn set_up() -> Edu {
    let mut edu = Edu::new();
    edu.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN | cmd::BUSMASTEREN))
        .unwrap();
    edu
}

fn read(edu: &mut Edu, offset: u64) -> u64 {
    edu.mmio_read(offset, 4).unwrap()
}

fn write(edu: &mut Edu, offset: u64, value: u64) {
    edu.mmio_write(offset, 4, value).unwrap();
}

fn kind_of(r: Result<impl std::fmt::Debug, Violation>) -> ViolationKind {
    r.unwrap_err().kind
}

/// Enables MSI with this address and data.
fn enable_msi(edu: &mut Edu, address: u64, data: u16) {
    let at = edu.config().msi_offset().unwrap();
    edu.config_write(at + msi::ADDR, 4, address as u32).unwrap();
    edu.config_write(at + msi::ADDR_HIGH, 4, (address >> 32) as u32)
        .unwrap();
    edu.config_write(at + msi::DATA_64BIT, 2, u32::from(data))
        .unwrap();
    edu.config_write(at + msi::CTRL, 2, u32::from(msi::CTRL_ENABLE))
        .unwrap();
}

// --- PCI identity and configuration space ---------------------------------

#[test]
fn pci_identity_is_qemus() {
    let edu = Edu::new();
    let c = |off, w| edu.config_read(off, w).unwrap();
    assert_eq!(c(reg::VENDOR, 2), 0x1234);
    assert_eq!(c(reg::DEVICE, 2), 0x11e8);
    assert_eq!(c(reg::VENDOR, 4), 0x11e8_1234);
    assert_eq!(c(reg::REVID, 1), 0x10);
    assert_eq!(c(reg::CLASS, 1), 0xff);
    assert_eq!(c(reg::SUBCLASS, 1), 0);
    assert_eq!(c(reg::PROGIF, 1), 0);
    assert_eq!(c(reg::HDRTYPE, 1), 0);
    assert_eq!(c(reg::SUBVEND, 2), 0x1af4);
    assert_eq!(c(reg::SUBDEV, 2), 0x1100);
    assert_eq!(c(reg::INTPIN, 1), 1, "INTA#");
    assert_eq!(c(reg::COMMAND, 2), 0, "decoding starts off");
}

#[test]
fn bar0_sizes_as_one_mib_of_32_bit_memory() {
    let mut edu = Edu::new();
    edu.config_write(reg::BAR0, 4, 0xffff_ffff).unwrap();
    let probe = edu.config_read(reg::BAR0, 4).unwrap();
    assert_eq!(probe & 0xf, 0, "memory, 32-bit, not prefetchable");
    assert_eq!(!(probe & !0xf) + 1, 1 << 20);
    edu.config_write(reg::BAR0, 4, 0xfeb0_0000).unwrap();
    assert_eq!(edu.config().bar0(), 0xfeb0_0000);
    // Address bits below the size do not stick.
    edu.config_write(reg::BAR0, 4, 0xfeb1_2345).unwrap();
    assert_eq!(edu.config().bar0(), 0xfeb0_0000);
    for bar in 1..6 {
        let at = reg::BAR0 + 4 * bar;
        edu.config_write(at, 4, 0xffff_ffff).unwrap();
        assert_eq!(
            edu.config_read(at, 4),
            Ok(0),
            "BAR {bar} is not implemented"
        );
    }
}

#[test]
fn read_only_config_fields_keep_their_values() {
    let mut edu = Edu::new();
    edu.config_write(reg::VENDOR, 4, 0).unwrap();
    edu.config_write(reg::REVID, 4, 0).unwrap();
    edu.config_write(reg::INTPIN, 1, 4).unwrap();
    assert_eq!(edu.config_read(reg::VENDOR, 4), Ok(0x11e8_1234));
    assert_eq!(edu.config_read(reg::REVID, 1), Ok(0x10));
    assert_eq!(edu.config_read(reg::INTPIN, 1), Ok(1));
    edu.config_write(reg::INTLINE, 1, 11).unwrap();
    assert_eq!(edu.config_read(reg::INTLINE, 1), Ok(11), "the OS's scratch");
    edu.config_write(reg::COMMAND, 2, 0xffff).unwrap();
    assert_eq!(
        edu.config_read(reg::COMMAND, 2),
        Ok(u32::from(
            cmd::PORTEN | cmd::MEMEN | cmd::BUSMASTEREN | cmd::INTX_DISABLE
        ))
    );
}

#[test]
fn msi_capability_is_one_64_bit_vector_after_the_header() {
    let mut edu = Edu::new();
    let status = edu.config_read(reg::STATUS, 2).unwrap();
    assert_ne!(status & 0x10, 0, "capability list present");
    let at = edu.config_read(reg::CAP_PTR, 1).unwrap() as u16;
    assert_eq!(at, 0x40);
    assert_eq!(edu.config_read(at, 1), Ok(u32::from(msi::CAP_ID)));
    assert_eq!(edu.config_read(at + 1, 1), Ok(0), "the last capability");
    let ctrl = edu.config_read(at + msi::CTRL, 2).unwrap() as u16;
    assert_ne!(ctrl & msi::CTRL_64BIT, 0);
    assert_eq!(ctrl & msi::CTRL_MMC_MASK, 0, "one message");
    assert_eq!(ctrl & msi::CTRL_ENABLE, 0);
    enable_msi(&mut edu, 0x1_fee0_1003, 0x4041);
    let m = edu.config().msi().unwrap();
    assert!(m.enabled);
    assert_eq!(m.address, 0x1_fee0_1000, "the low two address bits are 0");
    assert_eq!(m.data, 0x4041);
}

#[test]
fn config_accesses_must_be_aligned_and_in_range() {
    let mut edu = Edu::new();
    assert!(edu.config_read(0x01, 2).is_err());
    assert!(edu.config_read(0x02, 4).is_err());
    assert!(edu.config_read(0x00, 3).is_err());
    assert!(edu.config_read(0x00, 8).is_err());
    assert!(edu.config_read(0x100, 1).is_err());
    assert!(edu.config_read(0xfc, 4).is_ok());
    let err = edu.config_write(0x3e, 4, 0).unwrap_err();
    assert!(err.write);
    assert!(err.to_string().contains("0x3e"), "{err}");
}

// --- register window --------------------------------------------------------

#[test]
fn identification_register() {
    let mut edu = set_up();
    assert_eq!(read(&mut edu, regs::ID), 0x0100_00ed);
    let v = kind_of(edu.mmio_write(regs::ID, 4, 0));
    assert_eq!(v, ViolationKind::ReadOnly);
    assert_eq!(read(&mut edu, regs::ID), 0x0100_00ed);
}

#[test]
fn liveness_check_inverts() {
    let mut edu = set_up();
    assert_eq!(read(&mut edu, regs::LIVENESS), 0);
    for v in [0, 1, 0x1234_5678, 0xffff_ffff, 0xdead_beef] {
        write(&mut edu, regs::LIVENESS, v);
        assert_eq!(read(&mut edu, regs::LIVENESS), !v & 0xffff_ffff);
    }
}

#[test]
fn registers_need_memory_decoding() {
    let mut edu = Edu::new();
    assert_eq!(
        kind_of(edu.mmio_read(regs::ID, 4)),
        ViolationKind::DecodeDisabled
    );
    edu.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN))
        .unwrap();
    assert_eq!(edu.mmio_read(regs::ID, 4), Ok(0x0100_00ed));
}

#[test]
fn accesses_are_4_bytes_or_8_from_0x80() {
    let mut edu = set_up();
    for width in [1, 2, 3, 16] {
        assert_eq!(
            kind_of(edu.mmio_read(regs::ID, width)),
            ViolationKind::Width,
            "{width}"
        );
        assert_eq!(
            kind_of(edu.mmio_write(regs::LIVENESS, width, 1)),
            ViolationKind::Width
        );
    }
    assert_eq!(
        read(&mut edu, regs::LIVENESS),
        0,
        "refused writes change nothing"
    );
    assert_eq!(kind_of(edu.mmio_read(0x02, 4)), ViolationKind::Unaligned);
    assert_eq!(
        kind_of(edu.mmio_read(regs::DMA_SRC + 4, 8)),
        ViolationKind::Unaligned
    );
    assert_eq!(
        kind_of(edu.mmio_read(regs::ID, 8)),
        ViolationKind::WideBelow0x80
    );
    let v = edu.mmio_write(regs::LIVENESS - 4, 8, 1).unwrap_err();
    assert_eq!(v.kind, ViolationKind::WideBelow0x80);
    assert_eq!(
        v.access,
        Some(Access {
            offset: 0,
            width: 8,
            written: Some(1)
        })
    );
    assert_eq!(read(&mut edu, regs::LIVENESS), 0);
    assert!(edu.mmio_read(regs::DMA_CMD, 8).is_ok());
    assert!(edu.mmio_read(regs::DMA_CMD, 4).is_ok());
}

#[test]
fn the_window_is_one_mib() {
    let mut edu = set_up();
    assert_eq!(
        kind_of(edu.mmio_read(1 << 20, 4)),
        ViolationKind::OutsideBar
    );
    assert_eq!(
        kind_of(edu.mmio_read((1 << 20) - 4, 8)),
        ViolationKind::OutsideBar
    );
    assert_eq!(
        kind_of(edu.mmio_read(u64::MAX - 1, 4)),
        ViolationKind::OutsideBar
    );
    assert_eq!(
        kind_of(edu.mmio_read((1 << 20) - 4, 4)),
        ViolationKind::NoRegister
    );
}

#[test]
fn holes_and_write_only_registers_are_violations() {
    let mut edu = set_up();
    for hole in [0x0c, 0x10, 0x28, 0x68, 0xa0, regs::DMA_BUFFER] {
        assert_eq!(
            kind_of(edu.mmio_read(hole, 4)),
            ViolationKind::NoRegister,
            "{hole:#x}"
        );
        assert_eq!(
            kind_of(edu.mmio_write(hole, 4, 1)),
            ViolationKind::NoRegister
        );
    }
    assert_eq!(
        kind_of(edu.mmio_read(regs::IRQ_RAISE, 4)),
        ViolationKind::WriteOnly
    );
    assert_eq!(
        kind_of(edu.mmio_read(regs::IRQ_ACK, 4)),
        ViolationKind::WriteOnly
    );
    assert_eq!(
        kind_of(edu.mmio_write(regs::IRQ_STATUS, 4, 1)),
        ViolationKind::ReadOnly
    );
    assert_eq!(edu.irq_status(), 0);
    // The high halves of the 64-bit DMA registers are not registers of
    // their own.
    assert_eq!(
        kind_of(edu.mmio_read(regs::DMA_SRC + 4, 4)),
        ViolationKind::NoRegister
    );
}

// --- factorial ---------------------------------------------------------------

#[test]
fn factorial_is_computed_later_and_clears_computing() {
    let mut edu = set_up();
    write(&mut edu, regs::FACTORIAL, 10);
    assert!(edu.factorial_pending());
    assert_eq!(read(&mut edu, regs::STATUS) & 0x1, 0x1, "computing");
    assert_eq!(edu.complete_factorial(), Ok(true));
    assert!(!edu.factorial_pending());
    assert_eq!(read(&mut edu, regs::STATUS), 0);
    assert_eq!(read(&mut edu, regs::FACTORIAL), 3_628_800);
    assert_eq!(edu.irq_status(), 0, "no interrupt without status bit 7");
    assert!(!edu.intx());
    assert_eq!(edu.complete_factorial(), Ok(false), "nothing left");
}

#[test]
fn factorial_values_are_32_bit() {
    assert_eq!(factorial(0), 1);
    assert_eq!(factorial(1), 1);
    assert_eq!(factorial(5), 120);
    assert_eq!(factorial(12), 479_001_600);
    assert_eq!(factorial(13), 6_227_020_800_u64 as u32, "13! wraps");
    assert_ne!(factorial(33), 0);
    assert_eq!(factorial(34), 0, "34! has 32 factors of two");
    assert_eq!(factorial(u32::MAX), 0);
}

#[test]
fn writing_the_factorial_while_computing_is_a_violation() {
    let mut edu = set_up();
    write(&mut edu, regs::FACTORIAL, 4);
    let v = edu.mmio_write(regs::FACTORIAL, 4, 6).unwrap_err();
    assert_eq!(v.kind, ViolationKind::FactorialBusy);
    assert!(v.to_string().contains("while computing"), "{v}");
    edu.complete_factorial().unwrap();
    assert_eq!(
        read(&mut edu, regs::FACTORIAL),
        24,
        "the second operand was dropped"
    );
    write(&mut edu, regs::FACTORIAL, 6);
    edu.complete_factorial().unwrap();
    assert_eq!(read(&mut edu, regs::FACTORIAL), 720);
}

#[test]
fn status_bit_7_is_the_only_writable_status_bit() {
    let mut edu = set_up();
    write(&mut edu, regs::STATUS, 0xffff_ffff);
    assert_eq!(read(&mut edu, regs::STATUS), 0x80, "computing is read-only");
    assert!(!edu.factorial_pending());
    write(&mut edu, regs::FACTORIAL, 3);
    write(&mut edu, regs::STATUS, 0);
    assert_eq!(
        read(&mut edu, regs::STATUS),
        0x01,
        "clearing bit 7 keeps computing"
    );
    write(&mut edu, regs::STATUS, 0x80);
    assert_eq!(read(&mut edu, regs::STATUS), 0x81);
}

#[test]
fn factorial_interrupt_when_status_bit_7_is_set() {
    let mut edu = set_up();
    write(&mut edu, regs::STATUS, 0x80);
    write(&mut edu, regs::FACTORIAL, 3);
    assert!(!edu.intx(), "nothing until the result");
    edu.complete_factorial().unwrap();
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0x1);
    assert!(edu.intx());
    assert_eq!(read(&mut edu, regs::FACTORIAL), 6);
    write(&mut edu, regs::IRQ_ACK, 0x1);
    assert!(!edu.intx());
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0);
}

// --- interrupts ----------------------------------------------------------------

#[test]
fn intx_is_a_level_held_while_interrupt_status_is_not_zero() {
    let mut edu = set_up();
    write(&mut edu, regs::IRQ_RAISE, 0x5);
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0x5);
    assert!(edu.intx());
    assert_ne!(
        edu.config_read(reg::STATUS, 2).unwrap() & 0x8,
        0,
        "status: INTx"
    );
    write(&mut edu, regs::IRQ_ACK, 0x1);
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0x4);
    assert!(edu.intx(), "still asserted: 0x4 is not acknowledged");
    write(&mut edu, regs::IRQ_RAISE, 0x4);
    assert!(edu.intx());
    write(&mut edu, regs::IRQ_ACK, 0xffff_ffff);
    assert!(!edu.intx());
    assert_eq!(edu.config_read(reg::STATUS, 2).unwrap() & 0x8, 0);
    write(&mut edu, regs::IRQ_RAISE, 0);
    assert!(!edu.intx(), "raising nothing raises nothing");
    assert_eq!(edu.take_msi(), None);
}

#[test]
fn intx_disable_masks_the_pin_not_the_device() {
    let mut edu = set_up();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    edu.set_interrupt_sink(Some(Box::new(move |e| seen.lock().unwrap().push(e))));
    let command = cmd::MEMEN | cmd::BUSMASTEREN;
    edu.config_write(reg::COMMAND, 2, u32::from(command | cmd::INTX_DISABLE))
        .unwrap();
    write(&mut edu, regs::IRQ_RAISE, 0x2);
    assert!(!edu.intx());
    assert_ne!(edu.config_read(reg::STATUS, 2).unwrap() & 0x8, 0);
    edu.config_write(reg::COMMAND, 2, u32::from(command))
        .unwrap();
    assert!(edu.intx(), "the level shows once INTx is enabled");
    write(&mut edu, regs::IRQ_ACK, 0x2);
    assert_eq!(
        *events.lock().unwrap(),
        [Interrupt::IntxAsserted, Interrupt::IntxDeasserted]
    );
}

#[test]
fn msi_is_one_message_per_raise_and_no_intx() {
    let mut edu = set_up();
    enable_msi(&mut edu, 0xfee0_0000, 0x31);
    let message = MsiMessage {
        address: 0xfee0_0000,
        data: 0x31,
    };
    write(&mut edu, regs::IRQ_RAISE, 0x1);
    assert!(!edu.intx());
    assert_eq!(edu.take_msi(), Some(message));
    assert_eq!(edu.take_msi(), None);
    // Another raise before the acknowledgement is another edge.
    write(&mut edu, regs::IRQ_RAISE, 0x2);
    write(&mut edu, regs::IRQ_RAISE, 0);
    assert_eq!(edu.take_msi(), Some(message));
    assert_eq!(
        edu.take_msi(),
        Some(message),
        "status is not 0: edu.c notifies again"
    );
    write(&mut edu, regs::IRQ_ACK, 0x3);
    assert_eq!(edu.take_msi(), None, "acknowledging sends nothing");
    assert_eq!(
        edu.irq_status(),
        0,
        "the driver still acknowledges with MSI"
    );
}

#[test]
fn msi_goes_to_the_sink_when_there_is_one() {
    let mut edu = set_up();
    enable_msi(&mut edu, 0xfee0_0000, 7);
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    edu.set_interrupt_sink(Some(Box::new(move |e| seen.lock().unwrap().push(e))));
    write(&mut edu, regs::STATUS, 0x80);
    write(&mut edu, regs::FACTORIAL, 2);
    edu.complete_factorial().unwrap();
    let expected = Interrupt::Msi(MsiMessage {
        address: 0xfee0_0000,
        data: 7,
    });
    assert_eq!(*events.lock().unwrap(), [expected]);
    assert_eq!(edu.take_msi(), None, "given to the sink, not queued");
}

#[test]
fn msi_without_bus_mastering_is_lost_and_a_violation() {
    let mut edu = set_up();
    enable_msi(&mut edu, 0xfee0_0000, 1);
    edu.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN))
        .unwrap();
    let v = edu.mmio_write(regs::IRQ_RAISE, 4, 0x1).unwrap_err();
    assert_eq!(v.kind, ViolationKind::MsiWithoutBusMaster);
    assert_eq!(edu.irq_status(), 0x1, "the status is set all the same");
    assert_eq!(edu.take_msi(), None);
    write(&mut edu, regs::STATUS, 0x80);
    write(&mut edu, regs::FACTORIAL, 2);
    let v = edu.complete_factorial().unwrap_err();
    assert_eq!(
        v,
        Violation {
            access: None,
            kind: ViolationKind::MsiWithoutBusMaster
        }
    );
    assert_eq!(read(&mut edu, regs::FACTORIAL), 2, "the result is there");
}

// --- DMA ---------------------------------------------------------------------

/// Programs a transfer of `count` bytes (8-byte writes, so that any
/// 64-bit value gets in).
fn start_dma(edu: &mut Edu, src: u64, dst: u64, count: u64, cmd: u64) {
    edu.mmio_write(regs::DMA_SRC, 8, src).unwrap();
    edu.mmio_write(regs::DMA_DST, 8, dst).unwrap();
    edu.mmio_write(regs::DMA_COUNT, 8, count).unwrap();
    edu.mmio_write(regs::DMA_CMD, 8, cmd).unwrap();
}

#[test]
fn dma_from_ram_into_the_buffer() {
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 8192);
    start_dma(
        &mut edu,
        RAM_BASE + 100,
        regs::DMA_BUFFER + 8,
        64,
        regs::DMA_CMD_START,
    );
    assert!(edu.dma_pending());
    assert_eq!(read(&mut edu, regs::DMA_CMD) & 1, 1, "running");
    assert_eq!(edu.buffer()[8], 0, "nothing before completion");
    assert_eq!(edu.complete_dma(&mut ram), Ok(true));
    assert_eq!(edu.buffer()[8..72], ram.bytes[100..164]);
    assert_eq!(edu.buffer()[7], 0);
    assert_eq!(edu.buffer()[72], 0);
    assert_eq!(read(&mut edu, regs::DMA_CMD), 0, "start clears");
    assert_eq!(edu.irq_status(), 0, "no interrupt was asked for");
    assert_eq!(edu.complete_dma(&mut ram), Ok(false));
}

#[test]
fn dma_round_trip_with_the_completion_interrupt() {
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 8192);
    let payload = b"hello-dma";
    ram.bytes[..payload.len()].copy_from_slice(payload);
    let len = payload.len() as u64;
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER,
        len,
        regs::DMA_CMD_START | regs::DMA_CMD_IRQ,
    );
    edu.complete_dma(&mut ram).unwrap();
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0x100);
    assert!(edu.intx());
    write(&mut edu, regs::IRQ_ACK, 0x100);
    assert!(!edu.intx());
    let back = RAM_BASE + 4096;
    let to_ram = regs::DMA_CMD_START | regs::DMA_CMD_TO_RAM | regs::DMA_CMD_IRQ;
    start_dma(&mut edu, regs::DMA_BUFFER, back, len, to_ram);
    assert_eq!(read(&mut edu, regs::DMA_CMD), 0x7);
    edu.complete_dma(&mut ram).unwrap();
    assert_eq!(&ram.bytes[4096..4096 + payload.len()], payload);
    assert_eq!(read(&mut edu, regs::IRQ_STATUS), 0x100);
    assert_eq!(
        read(&mut edu, regs::DMA_CMD),
        0x6,
        "start clears, the rest stays"
    );
}

#[test]
fn dma_registers_read_back_and_take_4_or_8_bytes() {
    let mut edu = set_up();
    edu.mmio_write(regs::DMA_SRC, 8, 0x1_2345_6789).unwrap();
    assert_eq!(edu.mmio_read(regs::DMA_SRC, 8), Ok(0x1_2345_6789));
    assert_eq!(
        edu.mmio_read(regs::DMA_SRC, 4),
        Ok(0x2345_6789),
        "the low half"
    );
    edu.mmio_write(regs::DMA_SRC, 4, 0xffff_ffff_0000_1000)
        .unwrap();
    assert_eq!(
        edu.mmio_read(regs::DMA_SRC, 8),
        Ok(0x1000),
        "4 bytes zero-extend"
    );
    edu.mmio_write(regs::DMA_COUNT, 8, 4096).unwrap();
    assert_eq!(edu.mmio_read(regs::DMA_COUNT, 8), Ok(4096));
    edu.mmio_write(regs::DMA_DST, 8, regs::DMA_BUFFER).unwrap();
    assert_eq!(edu.mmio_read(regs::DMA_DST, 4), Ok(regs::DMA_BUFFER));
}

#[test]
fn a_command_without_start_does_nothing() {
    let mut edu = set_up();
    write(
        &mut edu,
        regs::DMA_CMD,
        regs::DMA_CMD_IRQ | regs::DMA_CMD_TO_RAM,
    );
    assert!(!edu.dma_pending());
    assert_eq!(read(&mut edu, regs::DMA_CMD), 0, "edu.c does not store it");
}

#[test]
fn writing_dma_registers_while_running_is_a_violation() {
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 4096);
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER,
        16,
        regs::DMA_CMD_START,
    );
    for r in [regs::DMA_SRC, regs::DMA_DST, regs::DMA_COUNT, regs::DMA_CMD] {
        let v = edu
            .mmio_write(r, 8, 0x42 | regs::DMA_CMD_START)
            .unwrap_err();
        assert_eq!(v.kind, ViolationKind::DmaBusy, "{r:#x}");
    }
    assert_eq!(edu.mmio_read(regs::DMA_SRC, 8), Ok(RAM_BASE), "unchanged");
    assert_eq!(edu.mmio_read(regs::DMA_COUNT, 8), Ok(16));
    assert_eq!(edu.mmio_read(regs::DMA_CMD, 8), Ok(regs::DMA_CMD_START));
    edu.complete_dma(&mut ram).unwrap();
    assert_eq!(edu.buffer()[..16], ram.bytes[..16]);
    edu.mmio_write(regs::DMA_SRC, 8, RAM_BASE + 8).unwrap();
}

#[test]
fn transfers_outside_the_buffer_are_violations_and_copy_nothing() {
    let cases = [
        (regs::DMA_BUFFER + 4000, 100),
        (regs::DMA_BUFFER - 1, 1),
        (0, 4),
        (regs::DMA_BUFFER, 4097),
        (regs::DMA_BUFFER + 8, u64::MAX),
    ];
    for (device, len) in cases {
        let mut edu = set_up();
        let mut ram = Ram::new(RAM_BASE, 8192);
        start_dma(
            &mut edu,
            RAM_BASE,
            device,
            len,
            regs::DMA_CMD_START | regs::DMA_CMD_IRQ,
        );
        let v = edu.complete_dma(&mut ram).unwrap_err();
        assert_eq!(
            v.kind,
            ViolationKind::DmaOutsideBuffer { start: device, len },
            "{device:#x}+{len}"
        );
        assert!(edu.buffer().iter().all(|b| *b == 0));
        assert!(!edu.dma_pending(), "the transfer ends as in QEMU");
        assert_eq!(edu.irq_status(), 0x100, "and interrupts as asked");
    }
    // The last byte of the buffer and the whole buffer are inside.
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 8192);
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER + 4095,
        1,
        regs::DMA_CMD_START,
    );
    edu.complete_dma(&mut ram).unwrap();
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER,
        4096,
        regs::DMA_CMD_START,
    );
    edu.complete_dma(&mut ram).unwrap();
    assert_eq!(edu.buffer()[..], ram.bytes[..4096]);
}

#[test]
fn ram_addresses_beyond_the_28_bit_mask_are_violations() {
    let high = 1 << 28;
    let mut edu = set_up();
    let mut ram = Ram::new(high, 4096);
    start_dma(&mut edu, high, regs::DMA_BUFFER, 16, regs::DMA_CMD_START);
    let v = edu.complete_dma(&mut ram).unwrap_err();
    assert_eq!(
        v.kind,
        ViolationKind::DmaMask {
            addr: high,
            mask: 0x0fff_ffff
        }
    );
    let to_ram = regs::DMA_CMD_START | regs::DMA_CMD_TO_RAM;
    start_dma(&mut edu, regs::DMA_BUFFER, high + 16, 16, to_ram);
    assert!(matches!(
        edu.complete_dma(&mut ram).unwrap_err().kind,
        ViolationKind::DmaMask { .. }
    ));
    // The last address under the mask is fine; a wider mask reaches more.
    let mut edu2 = set_up();
    let mut low = Ram::new(high - 16, 16);
    start_dma(
        &mut edu2,
        high - 16,
        regs::DMA_BUFFER,
        16,
        regs::DMA_CMD_START,
    );
    edu2.complete_dma(&mut low).unwrap();
    let mut wide = Edu::with_dma_mask(u64::MAX);
    wide.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN | cmd::BUSMASTEREN))
        .unwrap();
    start_dma(&mut wide, high, regs::DMA_BUFFER, 16, regs::DMA_CMD_START);
    wide.complete_dma(&mut ram).unwrap();
    assert_eq!(wide.buffer()[..16], ram.bytes[..16]);
}

#[test]
fn dma_needs_bus_mastering() {
    let mut edu = Edu::new();
    edu.config_write(reg::COMMAND, 2, u32::from(cmd::MEMEN))
        .unwrap();
    let mut ram = Ram::new(RAM_BASE, 4096);
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER,
        16,
        regs::DMA_CMD_START,
    );
    let v = edu.complete_dma(&mut ram).unwrap_err();
    assert_eq!(v.kind, ViolationKind::DmaWithoutBusMaster);
    assert!(edu.buffer().iter().all(|b| *b == 0));
}

#[test]
fn dma_to_unmapped_memory_is_a_violation() {
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 4096);
    start_dma(
        &mut edu,
        RAM_BASE + 4090,
        regs::DMA_BUFFER,
        16,
        regs::DMA_CMD_START,
    );
    let v = edu.complete_dma(&mut ram).unwrap_err();
    assert_eq!(
        v.kind,
        ViolationKind::DmaMemory(DmaError {
            addr: RAM_BASE + 4090,
            len: 16
        })
    );
    assert!(
        edu.buffer().iter().all(|b| *b == 0),
        "a refused read copies nothing"
    );
    let to_ram = regs::DMA_CMD_START | regs::DMA_CMD_TO_RAM;
    start_dma(&mut edu, regs::DMA_BUFFER, RAM_BASE - 16, 16, to_ram);
    assert!(matches!(
        edu.complete_dma(&mut ram).unwrap_err().kind,
        ViolationKind::DmaMemory(_)
    ));
}

#[test]
fn factorial_and_dma_run_independently() {
    let mut edu = set_up();
    let mut ram = Ram::new(RAM_BASE, 4096);
    write(&mut edu, regs::STATUS, 0x80);
    write(&mut edu, regs::FACTORIAL, 4);
    start_dma(
        &mut edu,
        RAM_BASE,
        regs::DMA_BUFFER,
        4,
        regs::DMA_CMD_START | regs::DMA_CMD_IRQ,
    );
    edu.complete_dma(&mut ram).unwrap();
    assert_eq!(edu.irq_status(), 0x100);
    assert!(edu.factorial_pending());
    edu.complete_factorial().unwrap();
    assert_eq!(edu.irq_status(), 0x101);
    write(&mut edu, regs::IRQ_ACK, 0x100);
    assert!(edu.intx(), "the factorial's interrupt is still up");
    write(&mut edu, regs::IRQ_ACK, 0x1);
    assert!(!edu.intx());
}

#[test]
fn the_model_can_move_to_the_harness_threads() {
    fn send<T: Send>() {}
    send::<Edu>();
}

#[test]
fn violations_say_what_and_where() {
    let mut edu = set_up();
    let v = edu.mmio_write(regs::DMA_CMD + 8, 4, 5).unwrap_err();
    let text = v.to_string();
    assert!(
        text.contains("0xa0") && text.contains("write of 0x5"),
        "{text}"
    );
    let v = edu.mmio_read(regs::ID, 2).unwrap_err();
    assert!(v.to_string().contains("4- or 8-byte"), "{v}");
}
