// SPDX-License-Identifier: BSD-2-Clause
//! sysctl(9): the tree, dynamic OIDs and contexts, the standard handlers,
//! and the user side (`sysctl(3)` by name).
//!
//! Followed: `sys/kern/kern_sysctl.c` (`sysctl_add_oid`,
//! `sysctl_register_oid`, `sysctl_remove_oid_locked`, `sysctl_ctx_init`,
//! `sysctl_ctx_free`, `sysctl_handle_int`/`long`/`64`/`string`/`opaque`,
//! `sysctl_old_user`, `sysctl_new_user`, `sysctl_root`,
//! `userland_sysctl`) and `sysctl(9)`.
//!
//! The `struct sysctl_oid`s are real (the module's static ones, the
//! kernel's `sysctl___hw` & co., and the ones `sysctl_add_oid` allocates
//! with their name and description copied, as FreeBSD `strdup`s them);
//! the children of each list are kept in a side table rather than in the
//! `RB_HEAD` (modules never walk it). A request is a real
//! `struct sysctl_req` whose `oldfunc`/`newfunc` copy to and from the
//! caller's buffers with `copyout`/`copyin` semantics, so handlers written
//! against `SYSCTL_OUT`/`SYSCTL_IN` work unchanged. Writes need
//! `CTLFLAG_WR` (else `EPERM`) and root unless `CTLFLAG_ANYBODY` (else
//! `EPERM`, from `priv_check`); a node without handler gives `EISDIR`;
//! handlers without `CTLFLAG_MPSAFE` run with `Giant`.
//!
//! This file keeps the tree (registration, lookup by name); `dynamic` has
//! the dynamic OIDs and contexts, `handlers` the standard handlers,
//! `request` the user side, and `value` the values as `sysctl(8)` shows
//! and parses them.

mod dynamic;
mod handlers;
mod request;
mod value;

pub(crate) use request::{Request, user_request};
pub use value::SysctlValue;
pub(crate) use value::{decode, encode};

use super::FuncEntry;
use crate::errno::Errno;
use crate::kernel::KernelInner;
use core::ffi::{CStr, c_int, c_void};
use core::mem::offset_of;
use dynamic::{
    DynOid, harness_sysctl_add_oid, harness_sysctl_ctx_free, harness_sysctl_ctx_init,
    harness_sysctl_remove_oid,
};
use handlers::{
    harness_sysctl_handle_num, harness_sysctl_handle_opaque, harness_sysctl_handle_string,
};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "sysctl_ctx_init" => harness_sysctl_ctx_init,
        "sysctl_ctx_free" => harness_sysctl_ctx_free,
        "sysctl_add_oid" => harness_sysctl_add_oid,
        "sysctl_remove_oid" => harness_sysctl_remove_oid,
        "sysctl_handle_int" => harness_sysctl_handle_num::<i32>,
        "sysctl_handle_long" => harness_sysctl_handle_num::<i64>,
        "sysctl_handle_64" => harness_sysctl_handle_num::<i64>,
        "sysctl_handle_string" => harness_sysctl_handle_string,
        "sysctl_handle_opaque" => harness_sysctl_handle_opaque,
    ]);
}

/// `oid_handler`'s type.
type Handler = Option<
    unsafe extern "C" fn(*mut sys::sysctl_oid, *mut c_void, i64, *mut sys::sysctl_req) -> c_int,
>;

/// `CTL_AUTO_START`: the first number handed to `OID_AUTO`.
const CTL_AUTO_START: c_int = 0x100;

#[derive(Default)]
struct Inner {
    /// List address (a `sysctl_oid_list`) -> member OIDs.
    children: HashMap<usize, Vec<usize>>,
    /// Dynamic OIDs by address.
    dynamic: HashMap<usize, DynOid>,
    /// Context address -> OIDs added through it, oldest first.
    ctxs: HashMap<usize, Vec<usize>>,
}

/// The sysctl tree of one kernel.
#[derive(Default)]
pub(crate) struct Sysctl {
    inner: Mutex<Inner>,
    /// Handlers running per OID (`oid_running`).
    running: Mutex<HashMap<usize, usize>>,
}

fn oid<'a>(addr: usize) -> &'a mut sys::sysctl_oid {
    // SAFETY: every address in the tree is a live `struct sysctl_oid`
    // (kernel data, module data while the module is loaded, or a dynamic
    // OID this table owns); the tree's mutex serialises changes.
    unsafe { &mut *(addr as *mut sys::sysctl_oid) }
}

fn children_of(oid_addr: usize) -> usize {
    oid_addr + offset_of!(sys::sysctl_oid, oid_children)
}

fn name_of(o: &sys::sysctl_oid) -> String {
    if o.oid_name.is_null() {
        return String::new();
    }
    // SAFETY: OID names are NUL-terminated strings.
    unsafe { CStr::from_ptr(o.oid_name) }
        .to_string_lossy()
        .into_owned()
}

fn ctype(o: &sys::sysctl_oid) -> u32 {
    o.oid_kind & sys::CTLTYPE
}

impl Sysctl {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the static root nodes (kernel creation).
    pub(crate) fn init_roots(&self, root: usize, nodes: &[usize]) {
        let mut i = self.lock();
        i.children.insert(root, nodes.to_vec());
        for &n in nodes {
            i.children.insert(children_of(n), Vec::new());
        }
    }

    fn find_child(i: &Inner, list: usize, name: &str) -> Option<usize> {
        i.children
            .get(&list)?
            .iter()
            .copied()
            .find(|&o| name_of(oid(o)) == name)
    }

    /// `sysctl_register_oid`. Returns false if the name is taken by a
    /// leaf (a warning is printed).
    fn register(k: &KernelInner, i: &mut Inner, o: usize) -> bool {
        let p = oid(o);
        let list = p.oid_parent as usize;
        let name = name_of(p);
        if let Some(existing) = Self::find_child(i, list, &name) {
            let e = oid(existing);
            if ctype(e) == sys::CTLTYPE_NODE && ctype(p) == sys::CTLTYPE_NODE {
                e.oid_refcnt += 1;
                return false;
            }
            k.console(&format!(
                "sysctl_register_oid: can't re-use a leaf ({name})!\n"
            ));
            return false;
        }
        if p.oid_number == sys::OID_AUTO {
            let used: Vec<c_int> = i
                .children
                .get(&list)
                .map(|v| v.iter().map(|&c| oid(c).oid_number).collect())
                .unwrap_or_default();
            let mut n = CTL_AUTO_START;
            while used.contains(&n) {
                n += 1;
            }
            p.oid_number = n;
        }
        let v = i.children.entry(list).or_default();
        let pos = v
            .iter()
            .position(|&c| oid(c).oid_number > p.oid_number)
            .unwrap_or(v.len());
        v.insert(pos, o);
        i.children.entry(children_of(o)).or_default();
        true
    }

    fn unregister(i: &mut Inner, o: usize) {
        let list = oid(o).oid_parent as usize;
        if let Some(v) = i.children.get_mut(&list) {
            v.retain(|&c| c != o);
        }
    }

    /// Registers a module's static OID (`set_sysctl_set`).
    pub(crate) fn register_static(&self, k: &KernelInner, o: usize) -> bool {
        let mut i = self.lock();
        Self::register(k, &mut i, o)
    }

    /// Unregisters a module's static OID.
    pub(crate) fn unregister_static(&self, o: usize) {
        let mut i = self.lock();
        let p = oid(o);
        // A static node that others reused keeps its place.
        if ctype(p) == sys::CTLTYPE_NODE && p.oid_refcnt > 1 {
            p.oid_refcnt -= 1;
            return;
        }
        Self::unregister(&mut i, o);
    }

    /// Resolves a dotted name from `root`.
    pub(crate) fn resolve(&self, root: usize, name: &str) -> Result<usize, Errno> {
        let i = self.lock();
        let mut list = root;
        let mut found = 0usize;
        let parts: Vec<&str> = name.split('.').collect();
        for (n, part) in parts.iter().enumerate() {
            let o = Self::find_child(&i, list, part).ok_or(Errno::ENOENT)?;
            let p = oid(o);
            if n + 1 < parts.len() {
                if ctype(p) != sys::CTLTYPE_NODE {
                    return Err(Errno::ENOTDIR);
                }
                if p.oid_handler.is_some() {
                    return Err(Errno::ENOENT);
                }
            }
            found = o;
            list = children_of(o);
        }
        if found == 0 {
            Err(Errno::ENOENT)
        } else {
            Ok(found)
        }
    }

    /// Names of the children of an OID (or of the root list).
    pub(crate) fn child_names(&self, list: usize) -> Vec<String> {
        let i = self.lock();
        i.children
            .get(&list)
            .map(|v| v.iter().map(|&o| name_of(oid(o))).collect())
            .unwrap_or_default()
    }

    /// The children list of an OID.
    pub(crate) fn list_of(o: usize) -> usize {
        children_of(o)
    }

    /// The type of an OID (`CTLTYPE_*`) and whether it is a node with no
    /// handler.
    pub(crate) fn kind(o: usize) -> (u32, bool) {
        let p = oid(o);
        (
            ctype(p),
            ctype(p) == sys::CTLTYPE_NODE && p.oid_handler.is_none(),
        )
    }

    fn enter(&self, o: usize) {
        *self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(o)
            .or_insert(0) += 1;
    }

    fn leave(&self, o: usize) {
        if let Some(n) = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&o)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Frees every dynamic OID (kernel teardown).
    pub(crate) fn clear(&self) {
        let mut i = self.lock();
        i.dynamic.clear();
        i.ctxs.clear();
    }
}
