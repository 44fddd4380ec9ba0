// SPDX-License-Identifier: BSD-2-Clause
//! `devctl attach|detach|disable|enable|suspend|resume DEVICE`
//! (`usr.sbin/devctl/devctl.c`, FreeBSD 15): the device by name
//! (`rustedu0`) or PCI selector (`pci0:0:4:0`); on failure, `err(3)`'s
//! "devctl: Failed to <verb> <device>: <strerror>" and status 1.

use super::{Shell, errtext};
use crate::kpi::newbus::Devctl;

impl Shell<'_> {
    pub(super) fn devctl(&mut self, args: &[String]) -> i32 {
        let (cmd, dev) = match args {
            [c, d] => (c.as_str(), d.as_str()),
            _ => {
                self.warn("usage: devctl attach|detach|disable|enable|suspend|resume device");
                return 1;
            }
        };
        let Some(op) = Devctl::from_name(cmd) else {
            self.warn(&format!("devctl: unknown command {cmd}"));
            return 1;
        };
        match self.k.devctl(op, dev) {
            Ok(()) => 0,
            Err(e) => {
                self.warn(&format!("devctl: Failed to {cmd} {dev}: {}", errtext(&e)));
                1
            }
        }
    }
}
