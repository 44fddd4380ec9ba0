// SPDX-License-Identifier: BSD-2-Clause
//! `pciconf -l [-v]` (`usr.sbin/pciconf/pciconf.c`, FreeBSD 15:
//! `list_devs`, `list_verbose`, `load_vendors`, `guess_class`): one line
//! per function, `name@pciD:B:S:F:` (`none<N>` for a function without a
//! driver) then class, revision, header type and the IDs; with `-v`, the
//! vendor and device names from the vendor database
//! (`PCICONF_VENDOR_DATABASE`, else `/usr/local/share/pciids/pci.ids`,
//! else `/usr/share/misc/pci_vendors`; no names without one) and the
//! class and subclass names `pciconf` knows (none for class 0xff, edu's).

use super::Shell;

/// The vendor database: (vendor ID, name, [(device ID, name)]).
type Vendors = Vec<(u16, String, Vec<(u16, String)>)>;

/// `load_vendors`: the database's vendor and device lines (subsystem
/// lines and comments skipped).
fn load_vendors() -> Vendors {
    let path = std::env::var("PCICONF_VENDOR_DATABASE").ok();
    let text = path
        .iter()
        .map(String::as_str)
        .chain([
            "/usr/local/share/pciids/pci.ids",
            "/usr/share/misc/pci_vendors",
        ])
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let mut v: Vendors = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim_end();
        if line.starts_with("\t\t") {
            continue;
        }
        let (device, body) = match line.strip_prefix('\t') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some((id, name)) = body.split_once(char::is_whitespace) else {
            continue;
        };
        let (Ok(id), name) = (u16::from_str_radix(id, 16), name.trim_start()) else {
            continue;
        };
        if id == 0 || name.is_empty() {
            continue;
        }
        if device {
            if let Some(last) = v.last_mut() {
                last.2.push((id, name.to_owned()));
            }
        } else {
            v.push((id, name.to_owned(), Vec::new()));
        }
    }
    v
}

impl Shell<'_> {
    pub(super) fn pciconf(&mut self, args: &[String]) -> i32 {
        let verbose = match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["-l"] => false,
            ["-lv" | "-vl"] | ["-l", "-v"] => true,
            _ => {
                self.warn("kldsim: pciconf: only pciconf -l and pciconf -lv are emulated");
                return 1;
            }
        };
        let vendors = if verbose { load_vendors() } else { Vec::new() };
        let mut none = 0;
        let mut s = String::new();
        for d in self.k.pci_devices() {
            let name = match &d.name {
                Some(n) if d.attached => n.clone(),
                _ => {
                    none += 1;
                    format!("none{}", none - 1)
                }
            };
            s.push_str(&format!(
                "{name}@pci0:0:{}:0:\tclass=0x{:06x} rev=0x{:02x} hdr=0x{:02x} vendor=0x{:04x} \
                 device=0x{:04x} subvendor=0x{:04x} subdevice=0x{:04x}\n",
                d.slot, d.class, d.revision, d.header, d.vendor, d.device, d.subvendor, d.subdevice
            ));
            if let Some((_, vname, devs)) = vendors.iter().find(|v| v.0 == d.vendor) {
                s.push_str(&format!("    vendor     = '{vname}'\n"));
                if let Some((_, dname)) = devs.iter().find(|x| x.0 == d.device) {
                    s.push_str(&format!("    device     = '{dname}'\n"));
                }
            }
        }
        self.say(&s);
        0
    }
}
