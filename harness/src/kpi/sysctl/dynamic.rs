// SPDX-License-Identifier: BSD-2-Clause
//! Dynamic OIDs and contexts: `sysctl_add_oid`, `sysctl_remove_oid`,
//! `sysctl_ctx_init` and `sysctl_ctx_free` (`sys/kern/kern_sysctl.c`), and
//! the clean-up of OIDs a module left behind.

use super::{Handler, Inner, Sysctl, children_of, ctype, name_of, oid, parent_list};
use crate::addr::{KAddr, KRange};
use crate::errno::Errno;
use crate::state::{Core, ViolationKind};
use crate::sync::lock_ignoring_poison;
use crate::thread::{Panicked, witness};
use core::ffi::{CStr, c_char, c_int, c_void};
use std::ffi::CString;
use std::sync::MutexGuard;
use std::time::Duration;

/// Strings owned by a dynamic OID.
pub(super) struct DynOid {
    _name: CString,
    _descr: Option<CString>,
    _label: Option<CString>,
    _storage: Box<sys::sysctl_oid>,
}

// SAFETY: the OID and its strings are plain data owned by this value; the
// raw pointers inside point to its own strings or to memory of the module
// that added it, accessed under the tree's mutex or by module code that
// owns it, from any thread.
unsafe impl Send for DynOid {}

impl Sysctl {
    /// `sysctl_add_oid`: the new (or shared) OID, or null.
    #[allow(clippy::too_many_arguments, reason = "mirrors the C function")]
    pub(crate) fn add_oid(
        &self,
        k: &Core,
        ctx: KAddr,
        parent: KAddr,
        number: c_int,
        name: &CStr,
        kind: u32,
        arg1: *mut c_void,
        arg2: i64,
        handler: Handler,
        fmt: *const c_char,
        descr: *const c_char,
        label: *const c_char,
    ) -> KAddr {
        if parent.is_null() {
            return KAddr::NULL;
        }
        witness::check_may_sleep(k, "sysctl_add_oid");
        let mut i = self.lock();
        let sname = name.to_string_lossy().into_owned();
        if let Some(existing) = Self::find_child(&i, parent, &sname) {
            let e = oid(existing);
            if ctype(e) == sys::CTLTYPE_NODE {
                e.oid_refcnt += 1;
                if !ctx.is_null() {
                    i.ctxs.entry(ctx).or_default().push(existing);
                }
                return existing;
            }
            drop(i);
            k.console(&format!("sysctl_add_oid: can't re-use a leaf ({sname})!\n"));
            return KAddr::NULL;
        }
        let cstr_opt = |p: *const c_char| {
            if p.is_null() {
                None
            } else {
                // SAFETY: descriptions and labels are NUL-terminated.
                Some(unsafe { CStr::from_ptr(p) }.to_owned())
            }
        };
        let owned_name = name.to_owned();
        let owned_descr = cstr_opt(descr);
        let owned_label = cstr_opt(label);
        let mut storage: Box<sys::sysctl_oid> = Box::default();
        storage.oid_parent = parent.ptr();
        storage.oid_number = number;
        storage.oid_refcnt = 1;
        storage.oid_name = owned_name.as_ptr();
        storage.oid_handler = handler;
        storage.oid_kind = sys::CTLFLAG_DYN | kind;
        storage.oid_arg1 = arg1;
        storage.oid_arg2 = arg2;
        storage.oid_fmt = fmt;
        storage.oid_descr = owned_descr
            .as_ref()
            .map_or(core::ptr::null(), |d| d.as_ptr());
        storage.oid_label = owned_label
            .as_ref()
            .map_or(core::ptr::null(), |d| d.as_ptr());
        let addr = KAddr::from_ptr(&raw const *storage);
        i.dynamic.insert(
            addr,
            DynOid {
                _name: owned_name,
                _descr: owned_descr,
                _label: owned_label,
                _storage: storage,
            },
        );
        if !ctx.is_null() {
            i.ctxs.entry(ctx).or_default().push(addr);
        }
        Self::register(k, &mut i, addr);
        addr
    }

    /// `sysctl_remove_oid_locked`.
    fn remove_locked(
        &self,
        k: &Core,
        i: &mut MutexGuard<'_, Inner>,
        o: KAddr,
        del: bool,
        recurse: bool,
    ) -> Result<(), Errno> {
        let p = oid(o);
        if p.oid_kind & sys::CTLFLAG_DYN == 0 {
            k.console(&format!(
                "Warning: can't remove non-dynamic nodes ({})!\n",
                name_of(p)
            ));
            return Err(Errno::EINVAL);
        }
        if ctype(p) == sys::CTLTYPE_NODE && p.oid_refcnt == 1 {
            let kids = i.children.get(&children_of(o)).cloned().unwrap_or_default();
            for c in kids {
                if !recurse {
                    k.console(&format!(
                        "Warning: failed attempt to remove oid {} with child {}\n",
                        name_of(p),
                        name_of(oid(c))
                    ));
                    return Err(Errno::ENOTEMPTY);
                }
                self.remove_locked(k, i, c, del, recurse)?;
            }
        }
        if p.oid_refcnt > 1 {
            p.oid_refcnt -= 1;
            return Ok(());
        }
        if p.oid_refcnt == 0 {
            k.console(&format!(
                "Warning: bad oid_refcnt={} ({})!\n",
                p.oid_refcnt,
                name_of(p)
            ));
            return Err(Errno::EINVAL);
        }
        Self::unregister(i, o);
        if del {
            // Wait for handlers running on other threads to drain (a
            // handler does not touch the tree's lock, so holding it is
            // safe); give up after a while rather than hang a test.
            let mut waited = 0u32;
            while lock_ignoring_poison(&self.running)
                .get(&o)
                .copied()
                .unwrap_or(0)
                > 0
            {
                p.oid_kind |= sys::CTLFLAG_DYING;
                if waited > 5000 {
                    k.violation(
                        ViolationKind::Sysctl,
                        format!("sysctl_remove_oid: handler of {} still running", name_of(p)),
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
                waited += 1;
            }
            i.children.remove(&children_of(o));
            i.dynamic.remove(&o);
            for v in i.ctxs.values_mut() {
                v.retain(|&x| x != o);
            }
        }
        Ok(())
    }

    /// Removes dynamic OIDs whose handler or data lies in a module's
    /// mapping (the module did not free its context).
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut i = self.lock();
        let stale: Vec<KAddr> = i
            .dynamic
            .keys()
            .copied()
            .filter(|&o| {
                let p = oid(o);
                let handler = KAddr::new(p.oid_handler.map_or(0, |h| h as usize));
                range.contains(handler) || range.contains(KAddr::from_ptr(p.oid_arg1))
            })
            .collect();
        for o in stale {
            if !i.dynamic.contains_key(&o) {
                continue;
            }
            let full = self.full_name_locked(&i, o);
            k.violation(
                ViolationKind::Sysctl,
                format!("sysctl {full} still refers to module memory after its module was unloaded (missing sysctl_ctx_free)"),
            );
            oid(o).oid_refcnt = 1;
            if self.remove_locked(k, &mut i, o, true, true).is_err() {
                continue;
            }
        }
        i.ctxs.retain(|&c, _| !range.contains(c));
    }

    fn full_name_locked(&self, i: &Inner, o: KAddr) -> String {
        let mut parts = vec![name_of(oid(o))];
        let mut list = parent_list(oid(o));
        // Climb: the parent is the OID whose children list is `list`.
        while let Some(p) = i
            .children
            .values()
            .flatten()
            .copied()
            .find(|&c| children_of(c) == list)
        {
            parts.push(name_of(oid(p)));
            list = parent_list(oid(p));
        }
        parts.reverse();
        parts.join(".")
    }
}

impl Sysctl {
    /// sysctl_ctx_init(9).
    ///
    /// # Safety
    /// `c` must be a writable `struct sysctl_ctx_list`.
    pub(crate) unsafe fn ctx_init(&self, c: *mut sys::sysctl_ctx_list) -> Result<(), Errno> {
        if c.is_null() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: by the caller's contract `c` is the module's writable list.
        let list = unsafe { &mut *c };
        // TAILQ_INIT
        list.tqh_first = core::ptr::null_mut();
        list.tqh_last = &raw mut list.tqh_first;
        self.lock().ctxs.insert(KAddr::from_ptr(c), Vec::new());
        Ok(())
    }

    /// sysctl_ctx_free(9): removes every OID added through the context,
    /// newest first, after checking that none would leave a child
    /// behind (`EBUSY`). A failure half-way is a corrupt tree: a panic.
    pub(crate) fn ctx_free(&self, k: &Core, c: KAddr) -> Result<Result<(), Errno>, Panicked> {
        if c.is_null() {
            return Ok(Err(Errno::EINVAL));
        }
        let mut i = self.lock();
        let entries = i.ctxs.get(&c).cloned().unwrap_or_default();
        // Dry run: every node with a single reference must lose all its
        // children with the context.
        for &o in &entries {
            let p = oid(o);
            if ctype(p) == sys::CTLTYPE_NODE && p.oid_refcnt == 1 {
                let kids = i.children.get(&children_of(o)).cloned().unwrap_or_default();
                if kids.iter().any(|kid| !entries.contains(kid)) {
                    return Ok(Err(Errno::EBUSY));
                }
            }
        }
        // Newest first (sysctl_ctx_entry_add inserts at the head).
        for &o in entries.iter().rev() {
            if !i.dynamic.contains_key(&o) && oid(o).oid_kind & sys::CTLFLAG_DYN != 0 {
                continue;
            }
            if let Err(e) = self.remove_locked(k, &mut i, o, true, false) {
                drop(i);
                k.record_panic(&format!(
                    "sysctl_remove_oid: corrupt tree, entry: {o:#x} ({e:?})"
                ));
                return Err(Panicked);
            }
        }
        // The list is empty again (TAILQ_INIT); a context the module frees
        // and never uses again (one in malloc'ed memory, say) leaves no
        // entry behind, else the table would grow with every such
        // context and every OID removal would walk it.
        i.ctxs.remove(&c);
        Ok(Ok(()))
    }

    /// sysctl_remove_oid(9).
    pub(crate) fn remove_oid(
        &self,
        k: &Core,
        o: KAddr,
        del: bool,
        recurse: bool,
    ) -> Result<(), Errno> {
        if o.is_null() || oid(o).oid_kind & sys::CTLFLAG_DYN == 0 {
            return Err(Errno::EINVAL);
        }
        let mut i = self.lock();
        self.remove_locked(k, &mut i, o, del, recurse)
    }
}
