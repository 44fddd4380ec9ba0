// SPDX-License-Identifier: BSD-2-Clause
//! `devinfo` and `devinfo -v` (`usr.sbin/devinfo/devinfo.c`, FreeBSD 15):
//! the device tree under `pci0`, one device per line, indented by depth.
//! Without `-v` only attached devices are listed; `-v` lists every device,
//! unattached ones as "unknown", each followed by its PCI plug-and-play
//! and location strings (`pci_child_pnpinfo_method`,
//! `pci_child_location_method` in `sys/dev/pci/pci.c`).

use super::Shell;

impl Shell<'_> {
    pub(super) fn devinfo(&mut self, args: &[String]) -> i32 {
        let verbose = match args {
            [] => false,
            [v] if v == "-v" => true,
            _ => {
                self.warn("kldsim: devinfo: only devinfo and devinfo -v are emulated");
                return 1;
            }
        };
        let mut s = String::from("nexus0\n  pci0\n");
        for d in self.k.pci_devices() {
            let name = match (&d.name, verbose) {
                (Some(n), _) if d.attached || verbose => n.clone(),
                (_, true) => String::from("unknown"),
                (_, false) => continue,
            };
            s.push_str(&format!("    {name}"));
            if verbose {
                s.push_str(&format!(
                    " pnpinfo vendor={:#06x} device={:#06x} subvendor={:#06x} subdevice={:#06x} \
                     class={:#08x} at slot={} function=0 dbsf=pci0:0:{}:0",
                    d.vendor, d.device, d.subvendor, d.subdevice, d.class, d.slot, d.slot
                ));
            }
            s.push('\n');
        }
        self.say(&s);
        0
    }
}
