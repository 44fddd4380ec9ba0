// SPDX-License-Identifier: BSD-2-Clause
//! Dynamic OIDs and contexts: `sysctl_add_oid`, `sysctl_remove_oid`,
//! `sysctl_ctx_init` and `sysctl_ctx_free` (`sys/kern/kern_sysctl.c`), and
//! the clean-up of OIDs a module left behind.

use super::{Handler, Inner, Sysctl, children_of, ctype, name_of, oid};
use crate::errno::Errno;
use crate::kernel::{KernelInner, ViolationKind};
use crate::kpi::kernel;
use crate::thread;
use core::ffi::{CStr, c_char, c_int, c_void};
use std::ffi::CString;
use std::sync::{MutexGuard, PoisonError};
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
    /// `sysctl_add_oid`.
    #[allow(clippy::too_many_arguments, reason = "mirrors the C function")]
    fn add_oid(
        &self,
        k: &KernelInner,
        ctx: usize,
        parent: usize,
        number: c_int,
        name: &CStr,
        kind: u32,
        arg1: *mut c_void,
        arg2: i64,
        handler: usize,
        fmt: *const c_char,
        descr: *const c_char,
        label: *const c_char,
    ) -> usize {
        if parent == 0 {
            return 0;
        }
        k.locks.sleep_check(k, "sysctl_add_oid");
        let mut i = self.lock();
        let sname = name.to_string_lossy().into_owned();
        if let Some(existing) = Self::find_child(&i, parent, &sname) {
            let e = oid(existing);
            if ctype(e) == sys::CTLTYPE_NODE {
                e.oid_refcnt += 1;
                if ctx != 0 {
                    i.ctxs.entry(ctx).or_default().push(existing);
                }
                return existing;
            }
            drop(i);
            k.console(&format!("sysctl_add_oid: can't re-use a leaf ({sname})!\n"));
            return 0;
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
        storage.oid_parent = parent as *mut sys::sysctl_oid_list;
        storage.oid_number = number;
        storage.oid_refcnt = 1;
        storage.oid_name = owned_name.as_ptr();
        // SAFETY: a handler address from the module (or 0 for none); the
        // field is an `Option` of a function pointer with that ABI.
        storage.oid_handler = unsafe { core::mem::transmute::<usize, Handler>(handler) };
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
        let addr = (&raw const *storage) as usize;
        i.dynamic.insert(
            addr,
            DynOid {
                _name: owned_name,
                _descr: owned_descr,
                _label: owned_label,
                _storage: storage,
            },
        );
        if ctx != 0 {
            i.ctxs.entry(ctx).or_default().push(addr);
        }
        Self::register(k, &mut i, addr);
        addr
    }

    /// `sysctl_remove_oid_locked`.
    fn remove_locked(
        &self,
        k: &KernelInner,
        i: &mut MutexGuard<'_, Inner>,
        o: usize,
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
            while self
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
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
    pub(crate) fn forget_range(&self, k: &KernelInner, start: usize, len: usize) {
        let inside = |a: usize| a >= start && a - start < len;
        let mut i = self.lock();
        let stale: Vec<usize> = i
            .dynamic
            .keys()
            .copied()
            .filter(|&o| {
                let p = oid(o);
                inside(p.oid_handler.map_or(0, |h| h as usize)) || inside(p.oid_arg1 as usize)
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
        i.ctxs.retain(|&c, _| !inside(c));
    }

    fn full_name_locked(&self, i: &Inner, o: usize) -> String {
        let mut parts = vec![name_of(oid(o))];
        let mut list = oid(o).oid_parent as usize;
        // Climb: the parent is the OID whose children list is `list`.
        while let Some(p) = i
            .children
            .values()
            .flatten()
            .copied()
            .find(|&c| children_of(c) == list)
        {
            parts.push(name_of(oid(p)));
            list = oid(p).oid_parent as usize;
        }
        parts.reverse();
        parts.join(".")
    }
}

/// sysctl_ctx_init(9).
///
/// # Safety
/// `c` a writable `struct sysctl_ctx_list`.
pub(super) unsafe extern "C" fn harness_sysctl_ctx_init(c: *mut sys::sysctl_ctx_list) -> c_int {
    if c.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    // SAFETY: by the caller's contract `c` is the module's writable list.
    let list = unsafe { &mut *c };
    // TAILQ_INIT
    list.tqh_first = core::ptr::null_mut();
    list.tqh_last = &raw mut list.tqh_first;
    k.sysctl.lock().ctxs.insert(c as usize, Vec::new());
    0
}

/// sysctl_ctx_free(9).
pub(super) extern "C" fn harness_sysctl_ctx_free(c: *mut sys::sysctl_ctx_list) -> c_int {
    if c.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    let mut i = k.sysctl.lock();
    let entries = i.ctxs.get(&(c as usize)).cloned().unwrap_or_default();
    // Dry run: every node with a single reference must lose all its
    // children with the context.
    for &o in &entries {
        let p = oid(o);
        if ctype(p) == sys::CTLTYPE_NODE && p.oid_refcnt == 1 {
            let kids = i.children.get(&children_of(o)).cloned().unwrap_or_default();
            if kids.iter().any(|kid| !entries.contains(kid)) {
                return Errno::EBUSY.0;
            }
        }
    }
    // Newest first (sysctl_ctx_entry_add inserts at the head).
    for &o in entries.iter().rev() {
        if !i.dynamic.contains_key(&o) && oid(o).oid_kind & sys::CTLFLAG_DYN != 0 {
            continue;
        }
        if let Err(e) = k.sysctl.remove_locked(k, &mut i, o, true, false) {
            drop(i);
            k.record_panic(&format!(
                "sysctl_remove_oid: corrupt tree, entry: {o:#x} ({e:?})"
            ));
            thread::escape();
        }
    }
    i.ctxs.insert(c as usize, Vec::new());
    0
}

/// sysctl_add_oid(9).
///
/// # Safety
/// Pointers as the kernel's function expects.
pub(super) unsafe extern "C" fn harness_sysctl_add_oid(
    clist: *mut sys::sysctl_ctx_list,
    parent: *mut sys::sysctl_oid_list,
    nbr: c_int,
    name: *const c_char,
    kind: c_int,
    arg1: *mut c_void,
    arg2: i64,
    handler: usize,
    fmt: *const c_char,
    descr: *const c_char,
    label: *const c_char,
) -> *mut sys::sysctl_oid {
    let k = kernel();
    if name.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: `name` is NUL-terminated by the contract.
    let cname = unsafe { CStr::from_ptr(name) };
    let o = k.sysctl.add_oid(
        k,
        clist as usize,
        parent as usize,
        nbr,
        cname,
        kind.cast_unsigned(),
        arg1,
        arg2,
        handler,
        fmt,
        descr,
        label,
    );
    o as *mut sys::sysctl_oid
}

/// sysctl_remove_oid(9).
pub(super) extern "C" fn harness_sysctl_remove_oid(
    o: *mut sys::sysctl_oid,
    del: c_int,
    recurse: c_int,
) -> c_int {
    let k = kernel();
    if o.is_null() || oid(o as usize).oid_kind & sys::CTLFLAG_DYN == 0 {
        return Errno::EINVAL.0;
    }
    let mut i = k.sysctl.lock();
    match k
        .sysctl
        .remove_locked(k, &mut i, o as usize, del != 0, recurse != 0)
    {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}
