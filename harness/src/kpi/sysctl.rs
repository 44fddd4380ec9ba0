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
//! the dynamic OIDs and contexts, `handlers` the standard handlers (entry
//! points of their own: they need no kernel state), and `value` the
//! values as `sysctl(8)` shows and parses them. The user side of a
//! request (`sysctl_root`, `userland_sysctl`) drives a handler with the
//! rest of the kernel (Giant, user memory), so it is the kernel's.

mod dynamic;
mod handlers;
mod value;

pub(crate) use handlers::{sysctl_handle_num, sysctl_handle_opaque, sysctl_handle_string};
pub use value::SysctlValue;
pub(crate) use value::{decode, encode};

use crate::addr::KAddr;
use crate::errno::Errno;
use crate::state::Core;
use crate::sync::lock_ignoring_poison;
use core::ffi::{CStr, c_int, c_void};
use core::mem::offset_of;
use dynamic::DynOid;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// `oid_handler`'s type.
pub(crate) type Handler = Option<
    unsafe extern "C" fn(*mut sys::sysctl_oid, *mut c_void, i64, *mut sys::sysctl_req) -> c_int,
>;

/// `CTL_AUTO_START`: the first number handed to `OID_AUTO`.
const CTL_AUTO_START: c_int = 0x100;

/// What a request needs to know of an OID (`sysctl_root`).
pub(crate) struct OidInfo {
    /// `oid_kind & CTLTYPE`.
    pub(crate) ctype: u32,
    /// `oid_kind` (the `CTLFLAG_*` bits).
    pub(crate) flags: u32,
    /// `oid_handler`.
    pub(crate) handler: Handler,
    /// `oid_arg1`.
    pub(crate) arg1: KAddr,
    /// `oid_arg2`.
    pub(crate) arg2: i64,
}

#[derive(Default)]
struct Inner {
    /// List address (a `sysctl_oid_list`) -> member OIDs.
    children: HashMap<KAddr, Vec<KAddr>>,
    /// Dynamic OIDs by address.
    dynamic: HashMap<KAddr, DynOid>,
    /// Context address -> OIDs added through it, oldest first.
    ctxs: HashMap<KAddr, Vec<KAddr>>,
}

/// The sysctl tree of one kernel.
#[derive(Default)]
pub(crate) struct Sysctl {
    inner: Mutex<Inner>,
    /// Handlers running per OID (`oid_running`).
    running: Mutex<HashMap<KAddr, usize>>,
}

fn oid<'a>(addr: KAddr) -> &'a mut sys::sysctl_oid {
    // SAFETY: every address in the tree is a live `struct sysctl_oid`
    // (kernel data, module data while the module is loaded, or a dynamic
    // OID this table owns); the tree's mutex serialises changes.
    unsafe { &mut *addr.ptr::<sys::sysctl_oid>() }
}

/// The list an OID's children are in (`oid_children`).
fn children_of(oid_addr: KAddr) -> KAddr {
    oid_addr.wrapping_add(offset_of!(sys::sysctl_oid, oid_children))
}

/// The list an OID is in (`oid_parent`).
fn parent_list(o: &sys::sysctl_oid) -> KAddr {
    KAddr::from_ptr(o.oid_parent)
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
        lock_ignoring_poison(&self.inner)
    }

    /// Registers the static root nodes (kernel creation).
    pub(crate) fn init_roots(&self, root: KAddr, nodes: &[KAddr]) {
        let mut i = self.lock();
        i.children.insert(root, nodes.to_vec());
        for &n in nodes {
            i.children.insert(children_of(n), Vec::new());
        }
    }

    fn find_child(i: &Inner, list: KAddr, name: &str) -> Option<KAddr> {
        i.children
            .get(&list)?
            .iter()
            .copied()
            .find(|&o| name_of(oid(o)) == name)
    }

    /// `sysctl_register_oid`. Returns false if the name is taken by a
    /// leaf (a warning is printed).
    fn register(k: &Core, i: &mut Inner, o: KAddr) -> bool {
        let p = oid(o);
        let list = parent_list(p);
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

    fn unregister(i: &mut Inner, o: KAddr) {
        let list = parent_list(oid(o));
        if let Some(v) = i.children.get_mut(&list) {
            v.retain(|&c| c != o);
        }
    }

    /// Registers a module's static OID (`set_sysctl_set`).
    pub(crate) fn register_static(&self, k: &Core, o: KAddr) -> bool {
        let mut i = self.lock();
        Self::register(k, &mut i, o)
    }

    /// Unregisters a module's static OID.
    pub(crate) fn unregister_static(&self, o: KAddr) {
        let mut i = self.lock();
        let p = oid(o);
        // A static node that others reused keeps its place.
        if ctype(p) == sys::CTLTYPE_NODE && p.oid_refcnt > 1 {
            p.oid_refcnt -= 1;
            return;
        }
        Self::unregister(&mut i, o);
    }

    /// Resolves a dotted name from `root`, and a handler of the OID found starts running
    /// ([`Sysctl::enter`]) before the tree's lock is released, as
    /// `sysctl_root` (`sys/kern/kern_sysctl.c`, FreeBSD 15) finds the OID
    /// and raises its `oid_running` under `SYSCTL_RLOCK`: its removal
    /// (and so the module's unload) waits until [`Sysctl::leave`]. A
    /// lookup that released the lock first could call the handler of an
    /// OID removed meanwhile, in a module unloaded meanwhile.
    pub(crate) fn resolve_enter(&self, root: KAddr, name: &str) -> Result<KAddr, Errno> {
        let i = self.lock();
        let o = Self::resolve_locked(&i, root, name)?;
        self.enter(o);
        drop(i);
        Ok(o)
    }

    /// Resolves a dotted name from `root`, with the tree's lock held.
    fn resolve_locked(i: &Inner, root: KAddr, name: &str) -> Result<KAddr, Errno> {
        let mut list = root;
        let mut found = KAddr::NULL;
        let parts: Vec<&str> = name.split('.').collect();
        for (n, part) in parts.iter().enumerate() {
            let o = Self::find_child(i, list, part).ok_or(Errno::ENOENT)?;
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
        if found.is_null() {
            Err(Errno::ENOENT)
        } else {
            Ok(found)
        }
    }

    /// Names of the children of an OID (or of the root list).
    pub(crate) fn child_names(&self, list: KAddr) -> Vec<String> {
        let i = self.lock();
        i.children
            .get(&list)
            .map(|v| v.iter().map(|&o| name_of(oid(o))).collect())
            .unwrap_or_default()
    }

    /// What a request needs to know of an OID.
    pub(crate) fn info(o: KAddr) -> OidInfo {
        let p = oid(o);
        OidInfo {
            ctype: ctype(p),
            flags: p.oid_kind,
            handler: p.oid_handler,
            arg1: KAddr::from_ptr(p.oid_arg1),
            arg2: p.oid_arg2,
        }
    }

    /// For a leaf flagged `CTLFLAG_TUN` and not yet `CTLFLAG_NOFETCH`:
    /// sets `CTLFLAG_NOFETCH` ("only fetch value once") and returns its
    /// full name, as `sysctl_register_oid` and
    /// `sysctl_load_tunable_by_oid_locked` (`sys/kern/kern_sysctl.c`,
    /// FreeBSD 15) build it, walking up to the root list `root`. `Err`
    /// with the console message for a name longer than the kernel's
    /// 96-byte buffer.
    pub(crate) fn take_tunable(o: KAddr, root: KAddr) -> Option<Result<String, String>> {
        const PATH: usize = 96;
        let p = oid(o);
        if ctype(p) == sys::CTLTYPE_NODE
            || p.oid_kind & sys::CTLFLAG_TUN == 0
            || p.oid_kind & sys::CTLFLAG_NOFETCH != 0
        {
            return None;
        }
        p.oid_kind |= sys::CTLFLAG_NOFETCH;
        let mut names = vec![name_of(p)];
        let mut list = parent_list(p);
        while list != root && !list.is_null() {
            let parent = list.wrapping_sub(offset_of!(sys::sysctl_oid, oid_children));
            let q = oid(parent);
            names.push(name_of(q));
            list = parent_list(q);
        }
        names.reverse();
        let path = names.join(".");
        if path.len() > PATH - 1 {
            return Some(Err(format!("OID path exceeds {PATH} bytes\n")));
        }
        Some(Ok(path))
    }

    /// The children list of an OID.
    pub(crate) fn list_of(o: KAddr) -> KAddr {
        children_of(o)
    }

    /// The type of an OID (`CTLTYPE_*`) and whether it is a node with no
    /// handler.
    pub(crate) fn kind(o: KAddr) -> (u32, bool) {
        let p = oid(o);
        (
            ctype(p),
            ctype(p) == sys::CTLTYPE_NODE && p.oid_handler.is_none(),
        )
    }

    /// A handler of `o` starts running (removal waits for it).
    pub(crate) fn enter(&self, o: KAddr) {
        *lock_ignoring_poison(&self.running).entry(o).or_insert(0) += 1;
    }

    /// A handler of `o` returned.
    pub(crate) fn leave(&self, o: KAddr) {
        if let Some(n) = lock_ignoring_poison(&self.running).get_mut(&o) {
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
