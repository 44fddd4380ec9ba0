// SPDX-License-Identifier: BSD-2-Clause
//! `devctl(8)` on `pci0`'s children: attach, detach, disable, enable,
//! suspend and resume; and the system's shutdown of every device.
//!
//! Followed (FreeBSD 15, freebsd-src main): `sys/kern/subr_bus.c`
//! (`devctl2_ioctl`: `find_device` takes a device name or, through the
//! PCI bus's `dev_lookup` handler, a `pciD:B:S:F` selector; `DEV_ATTACH`
//! is `EBUSY` when attached and `ENXIO` when disabled, else
//! `device_probe_and_attach`; `DEV_DETACH` is `ENXIO` unless attached,
//! then `device_detach`, whose error vetoes and after which the device
//! loses its name (`devclass_delete_device`); `DEV_DISABLE` is `ENXIO`
//! when already disabled, then detaches keeping the name
//! (`DF_FIXEDCLASS` around the detach) and `device_disable`;
//! `DEV_ENABLE` is `EBUSY` when enabled, then `device_enable` and
//! `device_probe_and_attach`; `DEV_SUSPEND` is `EBUSY` when suspended,
//! `DEV_RESUME` `EINVAL` when not; `device_probe`: a disabled device is
//! not probed; `bus_generic_suspend_child`: `DEVICE_SUSPEND` of an
//! attached child, `DF_SUSPENDED` on success; `bus_generic_resume_child`:
//! `DEVICE_RESUME`, then `DF_SUSPENDED` cleared; `bus_generic_shutdown`:
//! `DEVICE_SHUTDOWN` of every attached child), `sys/dev/pci/pci.c`
//! (`pci_suspend_child` saves the configuration, `pci_cfg_save`, before
//! the driver's suspend; `pci_resume_child` restores it, `pci_cfg_restore`,
//! before the driver's resume), `sys/sys/device_if.m` (`suspend`,
//! `resume` and `shutdown` default to methods returning 0).
//!
//! Not modelled: `device_quiesce` (`DEVICE_QUIESCE` defaults to 0 and
//! kern's drivers have none), power states (the edu model has no power
//! management capability, so `pci_set_powerstate` does nothing), and the
//! probe's bidding between several drivers (the first driver whose probe
//! matches attaches).

use super::{Call, Descs, Newbus, PciDevice, State, class_name, method_func};
use crate::errno::Errno;
use devmodels::pci::{msi, reg};

/// A `devctl(8)` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Devctl {
    /// `devctl attach`.
    Attach,
    /// `devctl detach`.
    Detach,
    /// `devctl disable`.
    Disable,
    /// `devctl enable`.
    Enable,
    /// `devctl suspend`.
    Suspend,
    /// `devctl resume`.
    Resume,
}

impl Devctl {
    /// The command called `name` (`devctl(8)`'s words).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "attach" => Devctl::Attach,
            "detach" => Devctl::Detach,
            "disable" => Devctl::Disable,
            "enable" => Devctl::Enable,
            "suspend" => Devctl::Suspend,
            "resume" => Devctl::Resume,
            _ => return None,
        })
    }
}

/// `pciD:B:S:F` (or `pciB:S:F`, or `pciS:F`... as `pci_lookup` parses):
/// the slot, for domain 0, bus 0, function 0.
fn parse_selector(name: &str) -> Option<u8> {
    let rest = name.strip_prefix("pci")?;
    let parts: Vec<&str> = rest.split(':').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let nums = nums?;
    let (domain, bus, slot, func) = match nums.as_slice() {
        [d, b, s, f] => (*d, *b, *s, *f),
        [b, s, f] => (0, *b, *s, *f),
        _ => return None,
    };
    if domain != 0 || bus != 0 || func != 0 {
        return None;
    }
    u8::try_from(slot).ok()
}

impl PciDevice {
    /// The name the device answers to: its driver's name and unit while
    /// it has one, or the one a disabled device keeps.
    pub(super) fn name(&self) -> Option<String> {
        let (class, unit) = match (self.driver, self.kept) {
            (Some(c), _) if self.attached => (c, self.unit),
            (_, Some(k)) => k,
            _ => return None,
        };
        Some(format!("{}{}", class_name(class), unit))
    }

    /// `pci_cfg_save`: the command register and the MSI capability.
    fn cfg_save(&mut self) {
        let edu = self.model.lock();
        let mut saved = vec![(
            reg::COMMAND,
            2,
            edu.config_read(reg::COMMAND, 2).unwrap_or(0),
        )];
        if let Some(at) = edu.config().msi_offset() {
            for (off, w) in [
                (msi::ADDR, 4),
                (msi::ADDR_HIGH, 4),
                (msi::DATA_64BIT, 2),
                (msi::CTRL, 2),
            ] {
                saved.push((at + off, w, edu.config_read(at + off, w).unwrap_or(0)));
            }
        }
        drop(edu);
        self.saved_cfg = saved;
    }

    /// `pci_cfg_restore`.
    fn cfg_restore(&mut self) {
        let mut edu = self.model.lock();
        for (off, w, v) in core::mem::take(&mut self.saved_cfg) {
            let _ok = edu.config_write(off, w, v).is_ok();
        }
    }
}

impl Newbus {
    /// `find_device`: the device named `name` (`rustedu0`) or selected
    /// (`pci0:0:4:0`).
    fn lookup(s: &State, name: &str) -> Option<usize> {
        let slot = parse_selector(name);
        s.devices
            .iter()
            .find(|d| Some(d.slot) == slot || d.name().as_deref() == Some(name))
            .map(|d| &raw const *d.obj as usize)
    }

    /// Calls device method `desc` of `dev`'s driver, or its default (0:
    /// `null_suspend`, `null_resume`, `null_shutdown` of `device_if.m`).
    fn call_method(host: &dyn Call, class: usize, desc: usize, dev: usize) -> i32 {
        match super::find_method(class, desc) {
            // CAST: device methods return an int.
            Some(m) => host
                .call(method_func(m), [dev as u64, 0, 0, 0, 0, 0])
                .map_or(Errno::EBUSY.0, |v| v as u32 as i32),
            None => 0,
        }
    }

    /// `devctl(8)`'s `cmd` on the device `name`: 0 or the errno.
    pub(crate) fn devctl(&self, host: &dyn Call, descs: Descs, cmd: Devctl, name: &str) -> i32 {
        let (dev, attached, enabled, suspended, class) = {
            let s = self.lock();
            let Some(dev) = Self::lookup(&s, name) else {
                return Errno::ENOENT.0;
            };
            let Some(d) = s.devices.iter().find(|d| &raw const *d.obj as usize == dev) else {
                return Errno::ENOENT.0;
            };
            (
                dev,
                d.attached,
                d.enabled,
                d.suspended,
                d.driver.filter(|_| d.attached),
            )
        };
        match cmd {
            Devctl::Attach if attached => Errno::EBUSY.0,
            Devctl::Attach if !enabled => Errno::ENXIO.0,
            Devctl::Attach => self.attach_any(host, descs, dev),
            Devctl::Detach if !attached => Errno::ENXIO.0,
            Devctl::Detach => self.detach_one(host, descs, dev, false),
            Devctl::Disable if !enabled => Errno::ENXIO.0,
            Devctl::Disable => {
                let r = if attached {
                    self.detach_one(host, descs, dev, true)
                } else {
                    0
                };
                if r == 0 {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.enabled = false;
                    }
                }
                r
            }
            Devctl::Enable if enabled => Errno::EBUSY.0,
            Devctl::Enable => {
                {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.enabled = true;
                    }
                }
                self.attach_any(host, descs, dev)
            }
            Devctl::Suspend if suspended => Errno::EBUSY.0,
            Devctl::Suspend => {
                {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.cfg_save();
                    }
                }
                let r = class.map_or(0, |c| Self::call_method(host, c, descs.suspend, dev));
                if r == 0 {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.suspended = true;
                    }
                }
                r
            }
            Devctl::Resume if !suspended => Errno::EINVAL.0,
            Devctl::Resume => {
                {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.cfg_restore();
                    }
                }
                let r = class.map_or(0, |c| Self::call_method(host, c, descs.resume, dev));
                let mut s = self.lock();
                if let Some(d) = Self::find(&mut s, dev) {
                    d.suspended = false;
                }
                r
            }
        }
    }

    /// `device_probe_and_attach` with the bus's drivers: a disabled
    /// device's kept class first. `ENXIO` if no driver takes it.
    fn attach_any(&self, host: &dyn Call, descs: Descs, dev: usize) -> i32 {
        let classes: Vec<usize> = {
            let mut s = self.lock();
            let kept = Self::find(&mut s, dev).and_then(|d| d.kept.map(|k| k.0));
            let all = s.drivers.iter().map(|d| d.class);
            kept.into_iter().chain(all).collect()
        };
        for class in classes {
            match self.probe_and_attach(host, class, descs, dev) {
                Some(0) => {
                    let mut s = self.lock();
                    if let Some(d) = Self::find(&mut s, dev) {
                        d.kept = None;
                    }
                    return 0;
                }
                // The probe won but attach failed: device_attach's errno.
                Some(e) => return e,
                None => {}
            }
        }
        Errno::ENXIO.0
    }

    /// `device_detach` of an attached device: the driver's veto, or 0
    /// with the device unattached (keeping its name if `keep`).
    fn detach_one(&self, host: &dyn Call, descs: Descs, dev: usize, keep: bool) -> i32 {
        let (class, name, unit) = {
            let mut s = self.lock();
            let Some(d) = Self::find(&mut s, dev) else {
                return Errno::ENXIO.0;
            };
            let Some(class) = d.driver else {
                return Errno::ENXIO.0;
            };
            (class, d.name().unwrap_or_default(), d.unit)
        };
        let r = match super::find_method(class, descs.detach) {
            // CAST: DEVICE_DETACH returns an int.
            Some(m) => host
                .call(method_func(m), [dev as u64, 0, 0, 0, 0, 0])
                .map_or(Errno::EBUSY.0, |v| v as u32 as i32),
            None => Errno::ENXIO.0,
        };
        if r != 0 {
            return r;
        }
        self.reclaim(host, dev, &name);
        self.unset_driver(dev);
        let mut s = self.lock();
        if let Some(d) = Self::find(&mut s, dev) {
            d.suspended = false;
            d.kept = keep.then_some((class, unit));
        }
        0
    }

    /// `bus_generic_shutdown`: `DEVICE_SHUTDOWN` of every attached
    /// device; the names and errors of those that failed.
    pub(crate) fn shutdown(&self, host: &dyn Call, descs: Descs) -> Vec<(String, i32)> {
        let devs: Vec<(usize, usize, String)> = {
            let s = self.lock();
            s.devices
                .iter()
                .filter(|d| d.attached)
                .filter_map(|d| Some((&raw const *d.obj as usize, d.driver?, d.name()?)))
                .collect()
        };
        devs.into_iter()
            .filter_map(|(dev, class, name)| {
                let r = Self::call_method(host, class, descs.shutdown, dev);
                (r != 0).then_some((name, r))
            })
            .collect()
    }

    /// Forgets the names disabled devices keep for `class` (its module is
    /// going).
    pub(super) fn forget_kept(s: &mut State, class: usize) {
        for d in &mut s.devices {
            if d.kept.is_some_and(|k| k.0 == class) {
                d.kept = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_selector;

    #[test]
    fn pci_selectors_are_parsed_as_pci_lookup_does() {
        assert_eq!(parse_selector("pci0:0:4:0"), Some(4));
        assert_eq!(parse_selector("pci0:5:0"), Some(5));
        assert_eq!(parse_selector("pci0:0:4:1"), None);
        assert_eq!(parse_selector("pci1:0:4:0"), None);
        assert_eq!(parse_selector("rustedu0"), None);
        assert_eq!(parse_selector("pci0:x:4:0"), None);
    }
}
