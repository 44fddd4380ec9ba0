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

use super::FuncEntry;
use crate::errno::Errno;
use crate::kernel::{KernelInner, ViolationKind};
use crate::thread;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::offset_of;
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&[
        (
            "sysctl_ctx_init",
            harness_sysctl_ctx_init as *const () as usize,
        ),
        (
            "sysctl_ctx_free",
            harness_sysctl_ctx_free as *const () as usize,
        ),
        (
            "sysctl_add_oid",
            harness_sysctl_add_oid as *const () as usize,
        ),
        (
            "sysctl_remove_oid",
            harness_sysctl_remove_oid as *const () as usize,
        ),
        (
            "sysctl_handle_int",
            harness_sysctl_handle_int as *const () as usize,
        ),
        (
            "sysctl_handle_long",
            harness_sysctl_handle_long as *const () as usize,
        ),
        (
            "sysctl_handle_64",
            harness_sysctl_handle_64 as *const () as usize,
        ),
        (
            "sysctl_handle_string",
            harness_sysctl_handle_string as *const () as usize,
        ),
        (
            "sysctl_handle_opaque",
            harness_sysctl_handle_opaque as *const () as usize,
        ),
    ]);
}

/// `oid_handler`'s type.
type Handler = Option<
    unsafe extern "C" fn(*mut sys::sysctl_oid, *mut c_void, i64, *mut sys::sysctl_req) -> c_int,
>;

/// `CTL_AUTO_START`: the first number handed to `OID_AUTO`.
const CTL_AUTO_START: c_int = 0x100;

/// Strings owned by a dynamic OID.
struct DynOid {
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

/// A value read with [`Kernel::sysctl_get`](crate::Kernel::sysctl_get).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SysctlValue {
    /// A signed integer (`CTLTYPE_INT`, `LONG`, `S8`...`S64`).
    Int(i64),
    /// An unsigned integer (`CTLTYPE_UINT`, `ULONG`, `U8`...`U64`).
    Uint(u64),
    /// A string (`CTLTYPE_STRING`).
    String(String),
    /// Raw bytes (`CTLTYPE_OPAQUE`/`STRUCT`).
    Opaque(Vec<u8>),
    /// A node: its children's names.
    Node(Vec<String>),
}

impl core::fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SysctlValue::Int(v) => write!(f, "{v}"),
            SysctlValue::Uint(v) => write!(f, "{v}"),
            SysctlValue::String(s) => f.write_str(s),
            SysctlValue::Opaque(b) => {
                write!(f, "Format:S Length:{} Dump:0x", b.len())?;
                for x in b.iter().take(16) {
                    write!(f, "{x:02x}")?;
                }
                if b.len() > 16 {
                    f.write_str("...")?;
                }
                Ok(())
            }
            SysctlValue::Node(c) => write!(f, "{}", c.join(" ")),
        }
    }
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

/// The user side of a request: `sysctl_root` + `userland_sysctl`.
pub(crate) struct Request<'a> {
    pub(crate) old: Option<&'a mut [u8]>,
    pub(crate) new: Option<&'a [u8]>,
}

/// Runs a request on OID `o` with the caller's credential; returns the
/// size of the old value (`*oldlenp`).
pub(crate) fn user_request(
    k: &KernelInner,
    env: &thread::Env<'_>,
    o: usize,
    req: Request<'_>,
) -> Result<usize, crate::errno::Error> {
    let p = oid(o);
    if ctype(p) == sys::CTLTYPE_NODE && p.oid_handler.is_none() {
        return Err(Errno::EISDIR.into());
    }
    if req.new.is_some() && p.oid_kind & sys::CTLFLAG_WR == 0 {
        return Err(Errno::EPERM.into());
    }
    if req.new.is_some() && p.oid_kind & sys::CTLFLAG_ANYBODY == 0 && !env.cred.is_root() {
        return Err(Errno::EPERM.into());
    }
    let Some(handler) = p.oid_handler else {
        return Err(Errno::EINVAL.into());
    };
    let (old_ptr, old_len) = match &req.old {
        Some(b) => (b.as_ptr() as usize, b.len()),
        None => (0, 0),
    };
    let (new_ptr, new_len) = match req.new {
        Some(b) => (b.as_ptr() as usize, b.len()),
        None => (0, 0),
    };
    let mut bufs = Vec::new();
    if old_ptr != 0 {
        bufs.push((old_ptr, old_len));
    }
    let _reg_old = k.user.register_syscall(&bufs, true);
    let _reg_new = if new_ptr != 0 {
        Some(k.user.register_syscall(&[(new_ptr, new_len)], false))
    } else {
        None
    };
    loop {
        let mut r = sys::sysctl_req {
            td: thread::curthread(),
            lock: 0,
            oldptr: old_ptr as *mut c_void,
            oldlen: old_len,
            oldidx: 0,
            oldfunc: Some(sysctl_old_user),
            newptr: new_ptr as *const c_void,
            newlen: new_len,
            newidx: 0,
            newfunc: Some(sysctl_new_user),
            validlen: old_len,
            flags: 0,
        };
        let giant = p.oid_kind & sys::CTLFLAG_MPSAFE == 0;
        if giant && !k.locks.lock_addr(k, k.giant()) {
            return Err(k.panic_error());
        }
        k.sysctl.enter(o);
        // SAFETY: the OID's handler, called as sysctl_root does with the
        // OID, its arguments and a request whose buffers are registered.
        let ret = unsafe {
            thread::call(
                k,
                Some(env),
                handler as usize,
                [
                    o as u64,
                    p.oid_arg1 as u64,
                    p.oid_arg2 as u64,
                    (&raw mut r) as u64,
                    0,
                    0,
                ],
            )
        };
        k.sysctl.leave(o);
        if giant {
            k.locks.unlock_addr(k, k.giant());
        }
        k.locks.userret(k);
        let ret = ret.map_err(|_| k.panic_error())?;
        // CAST: the handler returns `int`.
        let err = (ret & 0xffff_ffff) as u32 as i32;
        if err == Errno::EAGAIN.0 {
            continue;
        }
        if err != 0 && err != Errno::ENOMEM.0 {
            return Err(Errno(err).into());
        }
        let size = if old_ptr != 0 && r.oldidx > r.validlen {
            r.validlen
        } else {
            r.oldidx
        };
        if err == Errno::ENOMEM.0 {
            return Err(Errno::ENOMEM.into());
        }
        return Ok(size);
    }
}

fn kernel<'a>() -> &'a KernelInner {
    match thread::current() {
        Some(k) => k,
        None => std::process::abort(),
    }
}

/// `sysctl_old_user`: `SYSCTL_OUT` to the caller's buffer.
///
/// # Safety
/// `req` valid; `p` readable for `l` bytes (or NULL when only sizing).
unsafe extern "C" fn sysctl_old_user(
    req: *mut sys::sysctl_req,
    p: *const c_void,
    l: usize,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    let origidx = r.oldidx;
    r.oldidx = r.oldidx.saturating_add(l);
    if r.oldptr.is_null() {
        return 0;
    }
    k.locks.sleep_check(k, "sysctl_old_user()");
    let len = r.validlen;
    let mut i = l;
    if len <= origidx {
        i = 0;
    } else {
        i = i.min(len - origidx);
        if i > 0 && !p.is_null() {
            // SAFETY: `p` readable for `l >= i` bytes by the contract.
            let e = unsafe {
                super::uio::copyout_raw(k, p.cast(), (r.oldptr as usize).wrapping_add(origidx), i)
            };
            if let Err(e) = e {
                return e.0;
            }
        }
    }
    if i < l { Errno::ENOMEM.0 } else { 0 }
}

/// `sysctl_new_user`: `SYSCTL_IN` from the caller's buffer.
///
/// # Safety
/// `req` valid; `p` writable for `l` bytes.
unsafe extern "C" fn sysctl_new_user(req: *mut sys::sysctl_req, p: *mut c_void, l: usize) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let r = unsafe { &mut *req };
    if r.newptr.is_null() {
        return 0;
    }
    if r.newlen.saturating_sub(r.newidx) < l {
        return Errno::EINVAL.0;
    }
    k.locks.sleep_check(k, "sysctl_new_user()");
    // SAFETY: `p` writable for `l` bytes by the contract.
    let e = unsafe {
        super::uio::copyin_raw(k, (r.newptr as usize).wrapping_add(r.newidx), p.cast(), l)
    };
    r.newidx += l;
    match e {
        Ok(()) => 0,
        Err(e) => e.0,
    }
}

/// `SYSCTL_OUT(req, p, l)`.
///
/// # Safety
/// `req` valid with its `oldfunc` set.
unsafe fn out(req: *mut sys::sysctl_req, p: *const c_void, l: usize) -> c_int {
    // SAFETY: by the caller's contract.
    match unsafe { (*req).oldfunc } {
        // SAFETY: the request's own output function.
        Some(f) => unsafe { f(req, p, l) },
        None => Errno::EINVAL.0,
    }
}

/// `SYSCTL_IN(req, p, l)`.
///
/// # Safety
/// `req` valid with its `newfunc` set.
unsafe fn inp(req: *mut sys::sysctl_req, p: *mut c_void, l: usize) -> c_int {
    // SAFETY: by the caller's contract.
    match unsafe { (*req).newfunc } {
        // SAFETY: the request's own input function.
        Some(f) => unsafe { f(req, p, l) },
        None => Errno::EINVAL.0,
    }
}

/// The integer handlers differ only in width.
///
/// # Safety
/// `arg1` NULL or pointing at a `T`; `req` valid.
unsafe fn handle_num<T: Copy + TryFrom<i64> + Default>(
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let tmp: T = if arg1.is_null() {
        T::try_from(arg2).unwrap_or_default()
    } else {
        // SAFETY: by the caller's contract.
        unsafe { *arg1.cast::<T>() }
    };
    // SAFETY: `tmp` is a local of `size_of::<T>()` bytes.
    let e = unsafe { out(req, (&raw const tmp).cast(), size_of::<T>()) };
    // SAFETY: `req` valid.
    if e != 0 || unsafe { (*req).newptr }.is_null() {
        return e;
    }
    if arg1.is_null() {
        return Errno::EPERM.0;
    }
    // SAFETY: `arg1` points at a `T` by the contract.
    unsafe { inp(req, arg1, size_of::<T>()) }
}

/// sysctl_handle_int(9).
///
/// # Safety
/// As the kernel's: `arg1` NULL or an `int`, `req` a live request.
unsafe extern "C" fn harness_sysctl_handle_int(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { handle_num::<i32>(arg1, arg2, req) }
}

/// sysctl_handle_long(9).
///
/// # Safety
/// As the kernel's: `arg1` NULL or a `long`.
unsafe extern "C" fn harness_sysctl_handle_long(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { handle_num::<i64>(arg1, arg2, req) }
}

/// sysctl_handle_64(9).
///
/// # Safety
/// As the kernel's: `arg1` NULL or a 64-bit integer.
unsafe extern "C" fn harness_sysctl_handle_64(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { handle_num::<i64>(arg1, arg2, req) }
}

/// sysctl_handle_string(9).
///
/// # Safety
/// As the kernel's: `arg1` a NUL-terminated buffer of `arg2` bytes (or a
/// read-only string when `arg2` is 0).
unsafe extern "C" fn harness_sysctl_handle_string(
    o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let s = arg1.cast::<c_char>();
    // SAFETY: `o` is the OID being handled.
    let kind = unsafe { (*o).oid_kind };
    // SAFETY: `arg1` is NUL-terminated by the contract.
    let slen = unsafe { CStr::from_ptr(s) }.count_bytes();
    let mut arg2 = usize::try_from(arg2).unwrap_or(0);
    if kind & (sys::CTLFLAG_WR | sys::CTLFLAG_TUN) == 0 || arg2 == 0 {
        arg2 = slen + 1;
    }
    // SAFETY: `req` valid.
    let has_old = !unsafe { (*req).oldptr }.is_null();
    let e = if has_old {
        // SAFETY: `slen + 1` bytes of `s` are readable.
        unsafe { out(req, s.cast(), slen + 1) }
    } else {
        // SAFETY: sizing only.
        unsafe { out(req, core::ptr::null(), slen + 1) }
    };
    // SAFETY: `req` valid.
    let r = unsafe { &mut *req };
    if e != 0 || r.newptr.is_null() {
        return e;
    }
    let avail = r.newlen.saturating_sub(r.newidx);
    if avail >= arg2 {
        return Errno::EINVAL.0;
    }
    if avail == 0 {
        // SAFETY: the buffer has at least one byte.
        unsafe { *s = 0 };
        return 0;
    }
    let mut tmp = vec![0u8; avail];
    // SAFETY: `tmp` has `avail` bytes.
    let e = unsafe { inp(req, tmp.as_mut_ptr().cast(), avail) };
    if e != 0 {
        return e;
    }
    // SAFETY: `avail < arg2`, the buffer's size: the copy fits.
    unsafe { core::ptr::copy_nonoverlapping(tmp.as_ptr(), s.cast::<u8>(), avail) };
    // SAFETY: as above, and so does the NUL.
    unsafe { *s.wrapping_add(avail) = 0 };
    // SAFETY: `req` valid.
    unsafe { (*req).newidx += avail };
    0
}

/// sysctl_handle_opaque(9).
///
/// # Safety
/// As the kernel's: `arg1` readable and writable for `arg2` bytes.
unsafe extern "C" fn harness_sysctl_handle_opaque(
    _o: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: i64,
    req: *mut sys::sysctl_req,
) -> c_int {
    let n = usize::try_from(arg2).unwrap_or(0);
    // SAFETY: forwarded contract.
    let e = unsafe { out(req, arg1, n) };
    if e != 0 {
        return e;
    }
    // SAFETY: forwarded contract.
    unsafe { inp(req, arg1, n) }
}

/// sysctl_ctx_init(9).
///
/// # Safety
/// `c` a writable `struct sysctl_ctx_list`.
unsafe extern "C" fn harness_sysctl_ctx_init(c: *mut sys::sysctl_ctx_list) -> c_int {
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
extern "C" fn harness_sysctl_ctx_free(c: *mut sys::sysctl_ctx_list) -> c_int {
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
unsafe extern "C" fn harness_sysctl_add_oid(
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
extern "C" fn harness_sysctl_remove_oid(
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

/// Reads an OID's value as `sysctl(8)` would show it.
pub(crate) fn decode(o: usize, bytes: &[u8]) -> SysctlValue {
    let (t, _) = Sysctl::kind(o);
    let le = |n: usize| -> [u8; 8] {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(bytes.iter().take(n)) {
            *d = *s;
        }
        b
    };
    let signed = |n: usize| -> i64 {
        let v = u64::from_le_bytes(le(n));
        let shift = 64 - 8 * n.min(8) as u32;
        (v << shift).cast_signed() >> shift
    };
    match t {
        sys::CTLTYPE_INT | sys::CTLTYPE_S32 => SysctlValue::Int(signed(4)),
        sys::CTLTYPE_UINT | sys::CTLTYPE_U32 => SysctlValue::Uint(u64::from_le_bytes(le(4))),
        sys::CTLTYPE_LONG | sys::CTLTYPE_S64 => SysctlValue::Int(signed(8)),
        sys::CTLTYPE_ULONG | sys::CTLTYPE_U64 => SysctlValue::Uint(u64::from_le_bytes(le(8))),
        sys::CTLTYPE_U8 => SysctlValue::Uint(u64::from_le_bytes(le(1))),
        sys::CTLTYPE_U16 => SysctlValue::Uint(u64::from_le_bytes(le(2))),
        sys::CTLTYPE_S8 => SysctlValue::Int(signed(1)),
        sys::CTLTYPE_S16 => SysctlValue::Int(signed(2)),
        sys::CTLTYPE_STRING => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            SysctlValue::String(String::from_utf8_lossy(&bytes[..end]).into_owned())
        }
        _ => SysctlValue::Opaque(bytes.to_vec()),
    }
}

/// Encodes a new value given as text for an OID's type (as `sysctl(8)`
/// parses `name=value`).
pub(crate) fn encode(o: usize, text: &str) -> Result<Vec<u8>, Errno> {
    let (t, _) = Sysctl::kind(o);
    let int = || -> Result<i128, Errno> {
        let s = text.trim();
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            i128::from_str_radix(h, 16)
        } else {
            s.parse::<i128>()
        }
        .map_err(|_| Errno::EINVAL)?;
        Ok(if neg { -v } else { v })
    };
    let fit = |v: i128, lo: i128, hi: i128, n: usize| -> Result<Vec<u8>, Errno> {
        if v < lo || v > hi {
            return Err(Errno::EINVAL);
        }
        Ok(v.to_le_bytes()[..n].to_vec())
    };
    match t {
        sys::CTLTYPE_INT | sys::CTLTYPE_S32 => fit(int()?, i32::MIN.into(), i32::MAX.into(), 4),
        sys::CTLTYPE_UINT | sys::CTLTYPE_U32 => fit(int()?, 0, u32::MAX.into(), 4),
        sys::CTLTYPE_LONG | sys::CTLTYPE_S64 => fit(int()?, i64::MIN.into(), i64::MAX.into(), 8),
        sys::CTLTYPE_ULONG | sys::CTLTYPE_U64 => fit(int()?, 0, u64::MAX.into(), 8),
        sys::CTLTYPE_U8 => fit(int()?, 0, 255, 1),
        sys::CTLTYPE_U16 => fit(int()?, 0, 65535, 2),
        sys::CTLTYPE_S8 => fit(int()?, -128, 127, 1),
        sys::CTLTYPE_S16 => fit(int()?, -32768, 32767, 2),
        sys::CTLTYPE_STRING => Ok(text.as_bytes().to_vec()),
        _ => Err(Errno::EINVAL),
    }
}
