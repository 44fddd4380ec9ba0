// SPDX-License-Identifier: BSD-2-Clause
//! A PCI device's configuration space (`pci_read_config(9)`,
//! `pci_write_config(9)`) and bus mastering (`pci_enable_busmaster(9)`).
//!
//! Each call is the inline accessor of `dev/pci/pcivar.h`: the parent
//! bus's `PCI_READ_CONFIG`/`PCI_WRITE_CONFIG`/`PCI_ENABLE_BUSMASTER` kobj
//! method with the device as the child. FreeBSD does not check the access:
//! `pci_read_config_method` (`sys/dev/pci/pci.c`) hands it to the bridge,
//! whose `pci_cfgenable` (`sys/x86/pci/pci_cfgreg.c`) silently drops an
//! access of another width than 1, 2 or 4, a misaligned one, or one past
//! the register space (a read returns all ones). kern refuses those with
//! `EINVAL` before calling.

use super::Device;
use crate::error::{Result, code};
use core::ffi::c_int;

/// `PCIE_REGMAX` (`sys/dev/pci/pcireg.h`): the last byte of extended
/// configuration space.
const PCIE_REGMAX: u16 = 0xfff;

/// `reg` as the C `int` of a `width`-byte access, if naturally aligned and
/// inside configuration space.
///
/// # Errors
/// `EINVAL` otherwise.
fn config_reg(reg: u16, width: u16) -> Result<(c_int, c_int)> {
    let inside = reg
        .checked_add(width.saturating_sub(1))
        .is_some_and(|end| end <= PCIE_REGMAX);
    if !inside || !reg.is_multiple_of(width) {
        return Err(code::EINVAL);
    }
    Ok((c_int::from(reg), c_int::from(width)))
}

impl Device<'_> {
    /// Reads `width` bytes (1, 2 or 4) of configuration space at `reg`.
    fn read_config(&self, reg: u16, width: u16) -> Result<u32> {
        let (reg, width) = config_reg(reg, width)?;
        // SAFETY: a live device (type invariant); the access is one the
        // bus takes (checked above). A parent that is not a PCI bus
        // answers with kobj_error_method, whose ENXIO reads as a value.
        Ok(unsafe { sys::shim_pci_read_config(self.raw().as_ptr(), reg, width) })
    }

    /// Writes the low `width` bytes of `value` at `reg`.
    fn write_config(&self, reg: u16, value: u32, width: u16) -> Result {
        let (reg, width) = config_reg(reg, width)?;
        // SAFETY: as in `read_config`.
        unsafe { sys::shim_pci_write_config(self.raw().as_ptr(), reg, value, width) };
        Ok(())
    }

    /// Reads the configuration byte at `reg` (`pci_read_config(dev, reg,
    /// 1)`).
    ///
    /// # Errors
    /// `EINVAL` for `reg` past configuration space (0xfff).
    pub fn pci_config_read8(&self, reg: u16) -> Result<u8> {
        let v = self.read_config(reg, 1)?;
        u8::try_from(v & 0xff).map_err(|_| code::EINVAL)
    }

    /// Reads the 16-bit configuration register at `reg`.
    ///
    /// # Errors
    /// `EINVAL` for a misaligned `reg`, or one past configuration space.
    pub fn pci_config_read16(&self, reg: u16) -> Result<u16> {
        let v = self.read_config(reg, 2)?;
        u16::try_from(v & 0xffff).map_err(|_| code::EINVAL)
    }

    /// Reads the 32-bit configuration register at `reg`.
    ///
    /// # Errors
    /// As [`pci_config_read16`](Self::pci_config_read16).
    pub fn pci_config_read32(&self, reg: u16) -> Result<u32> {
        self.read_config(reg, 4)
    }

    /// Writes the configuration byte at `reg` (`pci_write_config(dev, reg,
    /// value, 1)`).
    ///
    /// # Errors
    /// As [`pci_config_read8`](Self::pci_config_read8): nothing is written.
    pub fn pci_config_write8(&self, reg: u16, value: u8) -> Result {
        self.write_config(reg, u32::from(value), 1)
    }

    /// Writes the 16-bit configuration register at `reg`.
    ///
    /// # Errors
    /// As [`pci_config_read16`](Self::pci_config_read16): nothing is
    /// written.
    pub fn pci_config_write16(&self, reg: u16, value: u16) -> Result {
        self.write_config(reg, u32::from(value), 2)
    }

    /// Writes the 32-bit configuration register at `reg`.
    ///
    /// # Errors
    /// As [`pci_config_read16`](Self::pci_config_read16): nothing is
    /// written.
    pub fn pci_config_write32(&self, reg: u16, value: u32) -> Result {
        self.write_config(reg, value, 4)
    }

    /// Lets the device master the bus (`pci_enable_busmaster(9)`: the
    /// command register's `PCIM_CMD_BUSMASTEREN`). Needed before the
    /// device does DMA or sends MSI messages, which are memory writes.
    ///
    /// # Errors
    /// The bus's errno (`ENXIO` from a parent that is not a PCI bus).
    pub fn pci_enable_busmaster(&self) -> Result {
        // SAFETY: a live device (type invariant).
        let r = unsafe { sys::shim_pci_enable_busmaster(self.raw().as_ptr()) };
        crate::error::Error::from_ret(r)
    }

    /// Stops the device mastering the bus (`pci_disable_busmaster(9)`).
    ///
    /// # Errors
    /// As [`pci_enable_busmaster`](Self::pci_enable_busmaster).
    pub fn pci_disable_busmaster(&self) -> Result {
        // SAFETY: a live device (type invariant).
        let r = unsafe { sys::shim_pci_disable_busmaster(self.raw().as_ptr()) };
        crate::error::Error::from_ret(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_registers_are_checked() {
        assert_eq!(config_reg(0, 4), Ok((0, 4)));
        assert_eq!(config_reg(0x2e, 2), Ok((0x2e, 2)));
        assert_eq!(config_reg(0xfff, 1), Ok((0xfff, 1)));
        assert_eq!(config_reg(0xffc, 4), Ok((0xffc, 4)));
        assert_eq!(config_reg(0x1000, 1), Err(code::EINVAL));
        assert_eq!(config_reg(0x2, 4), Err(code::EINVAL));
        assert_eq!(config_reg(0x1, 2), Err(code::EINVAL));
        assert_eq!(config_reg(u16::MAX, 2), Err(code::EINVAL));
    }
}
