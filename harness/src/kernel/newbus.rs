// SPDX-License-Identifier: BSD-2-Clause
//! The test's side of newbus: putting device models on `pci0`, looking at
//! the devices (`devinfo -v`), and injecting resource failures.

use super::Kernel;
use crate::kpi::newbus::{DeviceInfo, IntrStats};

impl Kernel {
    /// Puts a QEMU edu device (1234:11e8) in the next free slot of `pci0`
    /// and returns the slot. A driver loaded later probes it.
    pub fn pci_add_edu(&self) -> u8 {
        self.inner.newbus.add_edu()
    }

    /// The devices on `pci0`, with their drivers.
    #[must_use]
    pub fn pci_devices(&self) -> Vec<DeviceInfo> {
        self.inner.newbus.devices()
    }

    /// Hangs the edu device in `slot` (it never finishes a factorial), or
    /// revives it. `false` if there is no device there.
    pub fn pci_edu_hang(&self, slot: u8, hung: bool) -> bool {
        self.inner.newbus.set_hung(slot, hung)
    }

    /// Makes the `n`th `bus_alloc_resource(9)` from now fail (1: the next
    /// one), once; 0 turns the injection off.
    pub fn fail_bus_alloc_resource(&self, n: u64) {
        self.inner.newbus.fail_alloc(n);
    }

    /// Makes the `n`th `bus_setup_intr(9)` from now fail with `ENOMEM`
    /// (1: the next one), once; 0 turns the injection off.
    pub fn fail_bus_setup_intr(&self, n: u64) {
        self.inner.newbus.fail_setup_intr(n);
    }

    /// Raises interrupt bits on the edu device in `slot`, as a write of
    /// its raise register (0x60) does; the interrupt thread delivers the
    /// interrupt. `false` if there is no such device.
    pub fn pci_edu_raise(&self, slot: u8, bits: u32) -> bool {
        self.inner.newbus.raise(slot, bits)
    }

    /// Asserts the interrupt line of the device in `slot` once without
    /// the device raising anything (a stray: another device on a shared
    /// line, or noise); the handlers run with the status as it is.
    /// `false` if there is no such device.
    pub fn pci_intr_stray(&self, slot: u8) -> bool {
        self.inner.newbus.stray(slot)
    }

    /// What the interrupt thread did so far: filters called and what
    /// they returned, ithread handlers run.
    #[must_use]
    pub fn intr_stats(&self) -> IntrStats {
        self.inner.newbus.intr_stats()
    }

    /// The interrupt status register (0x24) of the edu device in `slot`.
    #[must_use]
    pub fn pci_edu_irq_status(&self, slot: u8) -> Option<u32> {
        self.inner.newbus.irq_status(slot)
    }
}
