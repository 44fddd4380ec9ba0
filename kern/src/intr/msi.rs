// SPDX-License-Identifier: BSD-2-Clause
//! Message-signalled interrupts of PCI devices: `pci_msi_count(9)`,
//! `pci_alloc_msi(9)` and `pci_release_msi(9)`.
//!
//! A driver asks for one message with [`Device::alloc_msi_irq`]: kern
//! allocates it (`pci_alloc_msi`, count 1), then its interrupt resource
//! (`bus_alloc_resource_any(SYS_RES_IRQ)`, rid 1, `RF_ACTIVE`), and
//! returns an [`Irq`] that owns both. Dropping the `Irq` releases the
//! resource, then the message, the order `pci_release_msi_method`
//! (`sys/dev/pci/pci.c`) requires: it returns `EBUSY` while a handler
//! or a message's resource remains. An [`Interrupt`](super::Interrupt)
//! owns its `Irq` and tears its handler down first, so the whole order
//! (teardown, resource, message) holds by construction.
//!
//! The message reaches the CPU only if the device may master the bus
//! (`Device::pci_enable_busmaster`): an MSI is a memory write.
//!
//! Followed (FreeBSD 15): `sys/dev/pci/pcivar.h` (`pci_msi_count`,
//! `pci_alloc_msi`, `pci_release_msi`), `sys/dev/pci/pci.c`
//! (`pci_alloc_msi_method`: the messages become `SYS_RES_IRQ` rids 1 to
//! n; `ENODEV` without an MSI capability, `ENXIO` with the legacy
//! interrupt allocated; `pci_release_msi_method`).

use super::Irq;
use crate::alloc::Arc;
use crate::driver::{Attachment, Device};
use crate::error::{Error, Result, code};
use core::ffi::c_int;
use core::ptr::NonNull;

/// The MSI messages allocated to a device, released on drop.
///
/// # Invariants
/// `pci_alloc_msi` succeeded for `dev`; released by `Drop` only.
#[derive(Debug)]
pub(super) struct Msi {
    dev: NonNull<sys::_device>,
    att: Arc<Attachment>,
}

// SAFETY: the device pointer is only passed to pci_release_msi, once, in
// `Drop`; the bus locks its own state.
unsafe impl Send for Msi {}

impl Drop for Msi {
    fn drop(&mut self) {
        // After the attachment ended the bus released the messages
        // (pci_child_detached).
        self.att.if_live(|| {
            // SAFETY: messages allocated for `dev` (type invariant),
            // released once; the `Irq` that owns this released the
            // message's resource first.
            let _ = unsafe { sys::shim_pci_release_msi(self.dev.as_ptr()) };
        });
    }
}

impl Device<'_> {
    /// How many MSI messages the device supports (`pci_msi_count(9)`): 0
    /// without an MSI capability, or when the system does not use MSI.
    #[must_use]
    pub fn pci_msi_count(&self) -> u32 {
        // SAFETY: a live device (the `Device` invariant).
        let n = unsafe { sys::shim_pci_msi_count(self.raw().as_ptr()) };
        u32::try_from(n).unwrap_or(0)
    }

    /// Allocates one MSI message and its interrupt resource (rid 1,
    /// `RF_ACTIVE`): `pci_alloc_msi(9)`, then `bus_alloc_resource_any(9)`.
    /// A driver falls back to [`alloc_irq`](Self::alloc_irq) when this
    /// fails.
    ///
    /// # Errors
    /// The errno of `pci_alloc_msi` (`ENODEV`: no MSI; `ENXIO`: the legacy
    /// interrupt is allocated, or no message was free), or `ENXIO` if
    /// the resource could not be allocated (the message is released), or
    /// in `probe`.
    pub fn alloc_msi_irq(&self) -> Result<Irq> {
        let att = self.attachment()?;
        let dev = self.raw();
        let mut count: c_int = 1;
        // SAFETY: a live device; `count` is a valid int to update.
        let r = unsafe { sys::shim_pci_alloc_msi(dev.as_ptr(), &raw mut count) };
        Error::from_ret(r)?;
        // INVARIANT: allocated; released by `Drop`, also on the error
        // paths below.
        let msi = Msi {
            dev,
            att: att.clone(),
        };
        if count < 1 {
            return Err(code::ENXIO);
        }
        let ty = c_int::try_from(sys::SYS_RES_IRQ).map_err(|_| code::EINVAL)?;
        let mut rid: c_int = 1;
        // SAFETY: a live device; `rid` is a valid int to update.
        let res = unsafe {
            sys::shim_bus_alloc_resource_any(dev.as_ptr(), ty, &raw mut rid, sys::RF_ACTIVE)
        };
        let res = NonNull::new(res).ok_or(code::ENXIO)?;
        // INVARIANT: the message's resource, allocated for `dev`,
        // released by `Irq`'s `Drop` before `msi`.
        Ok(Irq {
            dev,
            res,
            att,
            msi: Some(msi),
        })
    }
}
