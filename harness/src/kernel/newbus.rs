// SPDX-License-Identifier: BSD-2-Clause
//! The test's side of newbus: putting device models on `pci0`, looking at
//! the devices (`devinfo -v`), and injecting resource failures.

use super::Kernel;
use crate::errno::{Errno, SysResult};
use crate::kpi::busdma::DmaLoad;
use crate::kpi::newbus::{Devctl, DeviceInfo, IntrStats};

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

    /// Makes MSI unavailable to the device in `slot` (`pci_msi_count` 0
    /// and `pci_alloc_msi` `ENODEV`, as with `hw.pci.enable_msi=0`), or
    /// available again. `false` if there is no such device.
    pub fn pci_set_msi_off(&self, slot: u8, off: bool) -> bool {
        self.inner.newbus.set_msi_off(slot, off)
    }

    /// Makes the `n`th `pci_alloc_msi(9)` from now fail with `ENXIO` (1:
    /// the next one), once; 0 turns the injection off.
    pub fn fail_pci_alloc_msi(&self, n: u64) {
        self.inner.newbus.fail_alloc_msi(n);
    }

    /// Reads the configuration space of the device in `slot` (`pciconf
    /// -r`); `None` for no device or an access it does not take.
    #[must_use]
    pub fn pci_config_read(&self, slot: u8, offset: u16, width: usize) -> Option<u32> {
        self.inner.newbus.config_peek(slot, offset, width)
    }

    /// Writes the configuration space of the device in `slot` (`pciconf
    /// -w`); `false` for no device or an access it does not take.
    pub fn pci_config_write(&self, slot: u8, offset: u16, width: usize, value: u32) -> bool {
        self.inner.newbus.config_poke(slot, offset, width, value)
    }

    /// The MSI messages allocated to the device in `slot`.
    #[must_use]
    pub fn pci_msi_allocated(&self, slot: u8) -> Option<i32> {
        self.inner.newbus.msi_allocated(slot)
    }

    /// `devctl(8)`: `cmd` on the device named `name` (`rustedu0`) or
    /// selected (`pci0:0:4:0`), as `devctl2_ioctl` does it.
    ///
    /// # Errors
    /// `ENOENT` for no such device, and the errnos of `devctl2_ioctl`
    /// (`EBUSY` to attach an attached device, `ENXIO` to detach one that
    /// is not, ...) or of the driver's method (a detach veto).
    pub fn devctl(&self, cmd: Devctl, name: &str) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        let r = k.enter(|| {
            let r = super::entry::newbus::devctl(k, cmd, name);
            k.locks.userret(&k.core);
            r
        });
        if r == 0 { Ok(()) } else { Err(Errno(r).into()) }
    }

    /// The system's shutdown of the devices (`bus_generic_shutdown`, as
    /// `shutdown_nice` reaches it): `DEVICE_SHUTDOWN` of every attached
    /// device. Returns those whose method failed, with the errno.
    pub fn shutdown_devices(&self) -> Vec<(String, i32)> {
        if self.alive().is_err() {
            return Vec::new();
        }
        let k = &*self.inner;
        k.enter(|| {
            let r = super::entry::newbus::shutdown(k);
            k.locks.userret(&k.core);
            r
        })
    }

    /// Makes the `n`th `bus_dma_tag_create(9)` from now fail with
    /// `ENOMEM` (1: the next one), once; 0 turns the injection off.
    pub fn fail_bus_dma_tag_create(&self, n: u64) {
        self.inner.busdma.fail_tag_create(n);
    }

    /// Makes the `n`th `bus_dmamem_alloc(9)` from now fail with `ENOMEM`,
    /// once; 0 turns the injection off.
    pub fn fail_bus_dmamem_alloc(&self, n: u64) {
        self.inner.busdma.fail_mem_alloc(n);
    }

    /// Makes the `n`th `bus_dmamap_load(9)` from now fail with `ENOMEM`
    /// (no resources for a `BUS_DMA_NOWAIT` load: the callback gets the
    /// error too), once; 0 turns the injection off.
    pub fn fail_bus_dmamap_load(&self, n: u64) {
        self.inner.busdma.fail_load(n);
    }

    /// Every loaded DMA map: the bus addresses devices may reach.
    #[must_use]
    pub fn dma_loads(&self) -> Vec<DmaLoad> {
        self.inner.busdma.loads(None)
    }

    /// Turns bus mastering on for the edu device in `slot`, as firmware
    /// may leave it before the OS runs (a driver that needs it calls
    /// `pci_enable_busmaster(9)`). `false` if there is no device there.
    pub fn pci_firmware_busmaster(&self, slot: u8) -> bool {
        self.inner.newbus.firmware_busmaster(slot)
    }

    /// The edu device's DMA registers in `slot`: source, destination,
    /// count and command.
    #[must_use]
    pub fn pci_edu_dma_registers(&self, slot: u8) -> Option<[u64; 4]> {
        self.inner.newbus.dma_registers(slot)
    }
}
