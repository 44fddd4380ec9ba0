// SPDX-License-Identifier: BSD-2-Clause
//! [`Kernel`]'s `sysctl(3)` and `sysctl(8)`: by name, raw or as values
//! (the tree is in `crate::kpi::sysctl`).

use super::Kernel;
use crate::errno::{Errno, Error, SysResult};
use crate::kpi::kdata::DataSym;
use crate::kpi::sysctl::{Request, SysctlValue};

impl Kernel {
    fn oid(&self, name: &str) -> SysResult<usize> {
        self.inner
            .sysctl
            .resolve(self.inner.data.addr(DataSym::SysctlChildren), name)
            .map_err(Error::from)
    }

    /// `sysctl(3)` by name with raw buffers: returns the old value's size
    /// (`*oldlenp`).
    ///
    /// # Errors
    /// `ENOENT`, `EISDIR` (a node), `EPERM` (read-only or not root),
    /// `ENOMEM` (`old` too small), the handler's errors.
    pub fn sysctl_raw(
        &self,
        name: &str,
        old: Option<&mut [u8]>,
        new: Option<&[u8]>,
    ) -> SysResult<usize> {
        self.alive()?;
        let o = self.oid(name)?;
        crate::kpi::sysctl::user_request(&self.inner, &self.env(), o, Request { old, new })
    }

    /// Reads a sysctl as `sysctl(8)` does (size first, then value),
    /// decoded by its type; a node gives its children's names.
    ///
    /// # Errors
    /// As [`sysctl_raw`](Self::sysctl_raw).
    pub fn sysctl_get(&self, name: &str) -> SysResult<SysctlValue> {
        self.alive()?;
        let o = self.oid(name)?;
        let (_, is_node) = crate::kpi::sysctl::Sysctl::kind(o);
        if is_node {
            return Ok(SysctlValue::Node(
                self.inner
                    .sysctl
                    .child_names(crate::kpi::sysctl::Sysctl::list_of(o)),
            ));
        }
        let mut size = self.sysctl_raw(name, None, None)?;
        loop {
            let mut buf = vec![0u8; size + size / 2 + 16];
            match self.sysctl_raw(name, Some(&mut buf), None) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(crate::kpi::sysctl::decode(o, &buf));
                }
                Err(e) if e == Errno::ENOMEM => size = size * 2 + 64,
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes a sysctl from text, parsed for its type as `sysctl(8)`
    /// parses `name=value`.
    ///
    /// # Errors
    /// `EINVAL` for a value that does not parse, else as
    /// [`sysctl_raw`](Self::sysctl_raw).
    pub fn sysctl_set(&self, name: &str, value: &str) -> SysResult<()> {
        self.alive()?;
        let o = self.oid(name)?;
        let (_, is_node) = crate::kpi::sysctl::Sysctl::kind(o);
        if is_node {
            return Err(Errno::EISDIR.into());
        }
        let bytes = crate::kpi::sysctl::encode(o, value)?;
        self.sysctl_raw(name, None, Some(&bytes)).map(drop)
    }

    /// Names of the children of a sysctl node (`""` for the root).
    ///
    /// # Errors
    /// `ENOENT`.
    pub fn sysctl_children(&self, name: &str) -> SysResult<Vec<String>> {
        if name.is_empty() {
            return Ok(self
                .inner
                .sysctl
                .child_names(self.inner.data.addr(DataSym::SysctlChildren)));
        }
        let o = self.oid(name)?;
        Ok(self
            .inner
            .sysctl
            .child_names(crate::kpi::sysctl::Sysctl::list_of(o)))
    }
}
