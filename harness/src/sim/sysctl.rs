// SPDX-License-Identifier: BSD-2-Clause
//! `sysctl` (`sbin/sysctl`): print a name or a subtree, set `NAME=VALUE`.

use super::{Shell, errtext};
use crate::errno::{Errno, Error};
use crate::kpi::sysctl::SysctlValue;

impl Shell<'_> {
    fn sysctl_print(&mut self, name: &str, value_only: bool) -> Result<(), Error> {
        match self.k.sysctl_get(name)? {
            SysctlValue::Node(children) => {
                for c in children {
                    let full = format!("{name}.{c}");
                    self.sysctl_print(&full, value_only)?;
                }
                Ok(())
            }
            v => {
                if value_only {
                    self.say(&format!("{v}\n"));
                } else {
                    self.say(&format!("{name}: {v}\n"));
                }
                Ok(())
            }
        }
    }

    pub(super) fn sysctl(&mut self, args: &[String]) -> i32 {
        let value_only = args.iter().any(|a| a == "-n");
        let mut st = 0;
        for a in args.iter().filter(|a| !a.starts_with('-')) {
            if let Some((name, value)) = a.split_once('=') {
                let old = match self.k.sysctl_get(name) {
                    Ok(SysctlValue::Node(_)) => {
                        self.warn(&format!("sysctl: oid '{name}' isn't a leaf node"));
                        st = 1;
                        continue;
                    }
                    Ok(v) => v,
                    Err(Error::Errno(Errno::ENOENT)) => {
                        self.warn(&format!("sysctl: unknown oid '{name}'"));
                        st = 1;
                        continue;
                    }
                    Err(e) => {
                        self.warn(&format!("sysctl: {name}: {}", errtext(&e)));
                        st = 1;
                        continue;
                    }
                };
                match self.k.sysctl_set(name, value) {
                    Ok(()) => {
                        let new = self
                            .k
                            .sysctl_get(name)
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        if value_only {
                            self.say(&format!("{old} -> {new}\n"));
                        } else {
                            self.say(&format!("{name}: {old} -> {new}\n"));
                        }
                    }
                    Err(Error::Errno(Errno::EPERM)) if self.k.cred().is_root() => {
                        self.warn(&format!("sysctl: oid '{name}' is read only"));
                        st = 1;
                    }
                    Err(Error::Errno(Errno::EINVAL))
                        if matches!(old, SysctlValue::Int(_) | SysctlValue::Uint(_))
                            && value.trim().parse::<i128>().is_err() =>
                    {
                        self.warn(&format!("sysctl: invalid integer '{value}'"));
                        st = 1;
                    }
                    Err(e) => {
                        self.warn(&format!("sysctl: {name}={value}: {}", errtext(&e)));
                        st = 1;
                    }
                }
            } else if let Err(e) = self.sysctl_print(a, value_only) {
                match e {
                    Error::Errno(Errno::ENOENT) => self.warn(&format!("sysctl: unknown oid '{a}'")),
                    e => self.warn(&format!("sysctl: {a}: {}", errtext(&e))),
                }
                st = 1;
            }
        }
        st
    }
}
