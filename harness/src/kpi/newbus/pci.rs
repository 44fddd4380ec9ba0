// SPDX-License-Identifier: BSD-2-Clause
//! `pci0`'s PCI methods: configuration space reads and writes, bus
//! mastering, and MSI (`pci_msi_count`, `pci_alloc_msi`,
//! `pci_release_msi`, and the programming of the MSI capability when a
//! handler is set up on a message).
//!
//! Followed (FreeBSD 15, freebsd-src main): `sys/dev/pci/pci.c`
//! (`pci_read_config_method` and `pci_write_config_method` pass the access
//! to the bridge, `PCIB_READ_CONFIG`; `pci_enable_busmaster_method` sets
//! `PCIM_CMD_BUSMASTEREN` with a read-modify-write of the command
//! register; `pci_msi_count_method` is the capability's message count, 0
//! without a capability or with `hw.pci.enable_msi=0`;
//! `pci_alloc_msi_method`: `EINVAL` for a count of 0 or not a power of
//! two, `ENXIO` with the legacy interrupt (rid 0) allocated or messages
//! already allocated, `ENODEV` without a capability, then the messages
//! become `SYS_RES_IRQ` rids 1..n and the capability's MME field says
//! how many; `pci_release_msi_method`: `ENODEV` with none allocated,
//! `EBUSY` while a handler or an IRQ resource of a message remains;
//! `pci_alloc_resource` refuses rid 0 while messages are allocated;
//! `pci_setup_intr` programs and enables MSI (`pci_enable_msi`: address,
//! data, then `PCIM_MSICTRL_MSI_ENABLE`) with the first handler and sets
//! `PCIM_CMD_INTxDIS`, `pci_teardown_intr` disables MSI with the last;
//! `pci_child_detached` prints "Device leaked MSI vectors" and releases
//! them), `sys/x86/pci/pci_cfgreg.c` (`pci_cfgenable`: an access of a
//! width other than 1, 2 or 4, or not naturally aligned, or beyond the
//! register space, is not performed: reads return all ones and writes are
//! dropped, silently, so the harness reports it), `sys/x86/x86/msi.c`
//! (`msi_map`: the message address is `0xfee00000` with the target APIC
//! ID, the data the IDT vector, edge-triggered).

use super::{Newbus, PciDevice, SYS_RES_IRQ, State};
use crate::errno::Errno;
use devmodels::pci::{MsiConfig, cmd, msi, reg};

/// `MSI_INTEL_ADDR_BASE` (`sys/x86/include/apicreg.h`): messages to
/// APIC ID 0.
pub(crate) const MSI_ADDRESS: u64 = 0xfee0_0000;

/// The first IDT vector `msi_alloc` hands out here (APIC_IO_INTS + 16
/// legacy pins in `sys/x86/include/apicvar.h` start at 48).
const MSI_VECTOR_BASE: u16 = 48 + 16;

/// `PCIE_REGMAX`: the last byte of (extended) configuration space.
const PCIE_REGMAX: i32 = 0xfff;

/// Checks a configuration access as `pci_cfgenable` does.
fn check_config(reg: i32, width: i32, write: bool) -> Result<(u16, usize), String> {
    let ok = matches!(width, 1 | 2 | 4)
        && reg >= 0
        && reg % width == 0
        && reg
            .checked_add(width - 1)
            .is_some_and(|end| end <= PCIE_REGMAX);
    if !ok {
        return Err(format!(
            "pci_{}_config: {width}-byte access at {reg:#x}: configuration accesses are 1, \
             2 or 4 bytes, naturally aligned, below 0x1000 (pci_cfgenable drops it: {})",
            if write { "write" } else { "read" },
            if write {
                "nothing is written"
            } else {
                "the read returns all ones"
            }
        ));
    }
    // CAST: checked above: 0 <= reg <= 0xfff, width 1 to 4.
    Ok((reg as u16, width as usize))
}

/// A write of the bus's own to a register the model has (aligned, below
/// 0x100): whether the model took it.
fn poke(edu: &mut devmodels::edu::Edu, offset: u16, width: usize, value: u32) -> bool {
    edu.config_write(offset, width, value).is_ok()
}

impl PciDevice {
    /// The device's name for messages (`rustedu0`, or `pci0:0:N:0`).
    pub(super) fn label(&self) -> String {
        match self.driver {
            Some(c) if self.unit >= 0 => format!("{}{}", super::class_name(c), self.unit),
            _ => format!("pci0:0:{}:0", self.slot),
        }
    }

    /// Sets or clears `bits` of the command register.
    fn command_bits(&self, bits: u16, on: bool) {
        let mut edu = self.model.lock();
        let c = edu.config_read(reg::COMMAND, 2).unwrap_or(0);
        let c = if on {
            c | u32::from(bits)
        } else {
            c & !u32::from(bits)
        };
        // A 2-byte aligned write below 0x100: the model takes it.
        poke(&mut edu, reg::COMMAND, 2, c);
    }

    /// The MSI capability's offset, if the model has one.
    fn msi_cap(&self) -> Option<u16> {
        self.model.lock().config().msi_offset()
    }

    /// Writes the MSI control word's `bits` on or off.
    fn msi_ctrl(&self, set: u16, clear: u16) {
        let Some(at) = self.msi_cap() else { return };
        let mut edu = self.model.lock();
        let c = edu.config_read(at + msi::CTRL, 2).unwrap_or(0);
        let c = (c & !u32::from(clear)) | u32::from(set);
        poke(&mut edu, at + msi::CTRL, 2, c);
    }

    /// The message `pci_enable_msi` programmed for this device.
    pub(super) fn msi_message(&self) -> MsiConfig {
        MsiConfig {
            enabled: true,
            address: MSI_ADDRESS,
            data: MSI_VECTOR_BASE + u16::from(self.slot),
        }
    }

    /// `pci_enable_msi`: address, data, then the enable bit; and
    /// `PCIM_CMD_INTxDIS`, as `pci_setup_intr` sets it for messages.
    pub(super) fn enable_msi(&self) {
        let Some(at) = self.msi_cap() else { return };
        let m = self.msi_message();
        {
            let mut edu = self.model.lock();
            // CAST: the address's halves.
            poke(&mut edu, at + msi::ADDR, 4, m.address as u32);
            poke(&mut edu, at + msi::ADDR_HIGH, 4, (m.address >> 32) as u32);
            poke(&mut edu, at + msi::DATA_64BIT, 2, u32::from(m.data));
        }
        self.msi_ctrl(msi::CTRL_ENABLE, 0);
        self.command_bits(cmd::INTX_DISABLE, true);
    }

    /// `pci_disable_msi`: clears the enable bit.
    pub(super) fn disable_msi(&self) {
        self.msi_ctrl(0, msi::CTRL_ENABLE);
    }

    /// `pci_setup_intr` on INTx clears `PCIM_CMD_INTxDIS`.
    pub(super) fn enable_intx(&self) {
        self.command_bits(cmd::INTX_DISABLE, false);
    }
}

impl Newbus {
    /// The child `child` of `bus`, if `bus` is `pci0`.
    fn child(s: &mut State, bus: usize, child: usize) -> Option<&mut PciDevice> {
        if !Self::is_bus(s, bus) {
            return None;
        }
        Self::find(s, child)
    }

    /// `pci_read_config_method(bus, child, reg, width)`.
    ///
    /// # Errors
    /// A message for an access `pci_cfgenable` refuses, or a device that
    /// is not `pci0`'s child.
    pub(crate) fn read_config(
        &self,
        bus: usize,
        child: usize,
        reg: i32,
        width: i32,
    ) -> Result<u32, String> {
        let mut s = self.lock();
        let d = Self::child(&mut s, bus, child)
            .ok_or_else(|| String::from("pci_read_config: not a child of pci0"))?;
        let (off, w) =
            check_config(reg, width, false).map_err(|e| format!("{}: {e}", d.label()))?;
        // Extended configuration space of a conventional function: the
        // access ends in a master abort, all ones.
        if off >= 0x100 {
            return Ok(u32::MAX);
        }
        d.model
            .lock()
            .config_read(off, w)
            .map_err(|e| format!("{}: {e}", d.label()))
    }

    /// `pci_write_config_method(bus, child, reg, val, width)`.
    ///
    /// # Errors
    /// As [`read_config`](Self::read_config).
    pub(crate) fn write_config(
        &self,
        bus: usize,
        child: usize,
        reg: i32,
        val: u32,
        width: i32,
    ) -> Result<(), String> {
        let mut s = self.lock();
        let d = Self::child(&mut s, bus, child)
            .ok_or_else(|| String::from("pci_write_config: not a child of pci0"))?;
        let (off, w) = check_config(reg, width, true).map_err(|e| format!("{}: {e}", d.label()))?;
        if off >= 0x100 {
            return Ok(());
        }
        d.model
            .lock()
            .config_write(off, w, val)
            .map_err(|e| format!("{}: {e}", d.label()))
    }

    /// `pci_enable_busmaster_method` / `pci_disable_busmaster_method`:
    /// 0, or `ENXIO` for a device that is not `pci0`'s child (the
    /// default method's answer).
    pub(crate) fn set_busmaster(&self, bus: usize, child: usize, on: bool) -> i32 {
        let mut s = self.lock();
        let Some(d) = Self::child(&mut s, bus, child) else {
            return Errno::ENXIO.0;
        };
        d.command_bits(cmd::BUSMASTEREN, on);
        0
    }

    /// `pci_msi_count_method`.
    pub(crate) fn msi_count(&self, bus: usize, child: usize) -> i32 {
        let mut s = self.lock();
        match Self::child(&mut s, bus, child) {
            Some(d) if !d.msi_off && d.msi_cap().is_some() => 1,
            _ => 0,
        }
    }

    /// `pci_alloc_msi_method` for `want` messages: how many were
    /// allocated, or the errno.
    pub(crate) fn alloc_msi(&self, bus: usize, child: usize, want: i32) -> Result<i32, i32> {
        let mut s = self.lock();
        let inject = if s.alloc_msi_fail_in > 0 {
            s.alloc_msi_fail_in -= 1;
            s.alloc_msi_fail_in == 0
        } else {
            false
        };
        let d = Self::child(&mut s, bus, child).ok_or(Errno::ENXIO.0)?;
        if want == 0 {
            return Err(Errno::EINVAL.0);
        }
        if d.held.iter().any(|h| h.ty == SYS_RES_IRQ && h.rid == 0) {
            return Err(Errno::ENXIO.0);
        }
        if d.msi_alloc != 0 {
            return Err(Errno::ENXIO.0);
        }
        if d.msi_off || d.msi_cap().is_none() {
            return Err(Errno::ENODEV.0);
        }
        // The device supports one message; powerof2 of what is left.
        let actual = want.min(1);
        if actual <= 0 {
            return Err(Errno::EINVAL.0);
        }
        // PCIB_ALLOC_MSI failing (no vectors left): its errno.
        if inject {
            return Err(Errno::ENXIO.0);
        }
        // MME = log2(actual) = 0.
        d.msi_ctrl(0, msi::CTRL_MME_MASK);
        d.msi_alloc = actual;
        d.msi_handlers = 0;
        Ok(actual)
    }

    /// `pci_release_msi_method`.
    pub(crate) fn release_msi(&self, bus: usize, child: usize) -> i32 {
        let mut s = self.lock();
        let Some(d) = Self::child(&mut s, bus, child) else {
            return Errno::ENXIO.0;
        };
        if d.msi_alloc == 0 {
            return Errno::ENODEV.0;
        }
        if d.msi_handlers > 0
            || d.held
                .iter()
                .any(|h| h.ty == SYS_RES_IRQ && (1..=d.msi_alloc).contains(&h.rid))
        {
            return Errno::EBUSY.0;
        }
        d.msi_ctrl(0, msi::CTRL_MME_MASK);
        d.msi_alloc = 0;
        0
    }

    /// Makes MSI unavailable (`pci_msi_count` 0) or available again for
    /// the device in `slot`. `false` if there is no such device.
    pub(crate) fn set_msi_off(&self, slot: u8, off: bool) -> bool {
        let mut s = self.lock();
        let Some(d) = s.devices.iter_mut().find(|d| d.slot == slot) else {
            return false;
        };
        d.msi_off = off;
        true
    }

    /// Fails the `n`th `pci_alloc_msi` from now (0: none).
    pub(crate) fn fail_alloc_msi(&self, n: u64) {
        self.lock().alloc_msi_fail_in = n;
    }

    /// The configuration space of the device in `slot`, read as the test
    /// asks (`None` for no device or an access it does not take).
    pub(crate) fn config_peek(&self, slot: u8, offset: u16, width: usize) -> Option<u32> {
        let s = self.lock();
        let d = s.devices.iter().find(|d| d.slot == slot)?;
        d.model.lock().config_read(offset, width).ok()
    }

    /// Writes the configuration space of the device in `slot` (as
    /// `pciconf -w` does); `false` if there is no device or the access
    /// is not one it takes.
    pub(crate) fn config_poke(&self, slot: u8, offset: u16, width: usize, value: u32) -> bool {
        let s = self.lock();
        let Some(d) = s.devices.iter().find(|d| d.slot == slot) else {
            return false;
        };
        d.model.lock().config_write(offset, width, value).is_ok()
    }

    /// The number of MSI messages allocated to the device in `slot`.
    pub(crate) fn msi_allocated(&self, slot: u8) -> Option<i32> {
        let s = self.lock();
        s.devices
            .iter()
            .find(|d| d.slot == slot)
            .map(|d| d.msi_alloc)
    }
}

#[cfg(test)]
mod tests {
    use super::check_config;

    #[test]
    fn configuration_accesses_are_checked_as_pci_cfgenable_does() {
        assert_eq!(check_config(0, 4, false), Ok((0, 4)));
        assert_eq!(check_config(0x2e, 2, false), Ok((0x2e, 2)));
        assert_eq!(check_config(0xfff, 1, true), Ok((0xfff, 1)));
        assert!(check_config(0x2, 4, false).is_err());
        assert!(check_config(0x1, 2, false).is_err());
        assert!(check_config(0, 3, false).is_err());
        assert!(check_config(0, 8, false).is_err());
        assert!(check_config(-4, 4, false).is_err());
        assert!(check_config(0x1000, 1, true).is_err());
    }
}
