// SPDX-License-Identifier: BSD-2-Clause
//! [`Kernel`]'s `sysctl(3)` and `sysctl(8)`: by name, raw or as values,
//! and the user side of a request (`sysctl_root`, `userland_sysctl` in
//! `sys/kern/kern_sysctl.c`). The tree is in `crate::kpi::sysctl`.

use super::entry::sysctl::{sysctl_new_user, sysctl_old_user};
use super::{Kernel, KernelInner};
use crate::addr::{KAddr, UAddr};
use crate::errno::{Errno, Error, SysResult};
use crate::kpi::sysctl::{self, Sysctl, SysctlValue};
use crate::state::DataSym;
use crate::thread::{self, Env};
use crate::user::Staged;
use core::ffi::{c_int, c_void};

/// The user side of a request: the caller's buffers for the old and the
/// new value.
struct Request<'a> {
    old: Option<&'a mut [u8]>,
    new: Option<&'a [u8]>,
}

/// Runs a request on OID `o` with the caller's credential (`sysctl_root`
/// + `userland_sysctl`); returns the size of the old value (`*oldlenp`).
fn user_request(
    k: &KernelInner,
    env: &Env<'_>,
    o: KAddr,
    req: Request<'_>,
) -> Result<usize, Error> {
    let p = Sysctl::info(o);
    if p.ctype == sys::CTLTYPE_NODE && p.handler.is_none() {
        return Err(Errno::EISDIR.into());
    }
    if req.new.is_some() && p.flags & sys::CTLFLAG_WR == 0 {
        return Err(Errno::EPERM.into());
    }
    if req.new.is_some() && p.flags & sys::CTLFLAG_ANYBODY == 0 && !env.cred.is_root() {
        return Err(Errno::EPERM.into());
    }
    let Some(handler) = p.handler else {
        return Err(Errno::EINVAL.into());
    };
    // The caller's buffers, in user memory for the request.
    let staged_old = req.old.as_deref().map(|b| Staged::new(&[b])).transpose()?;
    let staged_new = req.new.map(|b| Staged::new(&[b])).transpose()?;
    let first = |s: &Option<Staged>| {
        s.as_ref()
            .and_then(|s| s.iovs().first().copied())
            .unwrap_or((UAddr::default(), 0))
    };
    let (old_ptr, old_len) = first(&staged_old);
    let (new_ptr, new_len) = first(&staged_new);
    let handler = KAddr::new(handler as usize);
    let r = run_request(
        k,
        env,
        o,
        &p,
        handler,
        (old_ptr, old_len),
        (new_ptr, new_len),
    );
    if let (Some(st), Some(b)) = (&staged_old, req.old) {
        st.copy_back(&mut [b]);
    }
    r
}

/// `sysctl_req`'s `oldfunc` and `newfunc` for a request from user space,
/// through their call stubs: module code calls them (`SYSCTL_OUT`,
/// `SYSCTL_IN`) on its kernel stack, and they run on the host's.
fn request_functions() -> (OldFunc, NewFunc) {
    let old = super::entry::host_stub(sysctl_old_user as *const () as usize)
        .expect("sysctl_old_user has a stub");
    let new = super::entry::host_stub(sysctl_new_user as *const () as usize)
        .expect("sysctl_new_user has a stub");
    // SAFETY: a call stub jumps to its function with the caller's
    // arguments (registers and stack) untouched, so the stub's address
    // is a function of the same type.
    let old: OldFn = unsafe { core::mem::transmute::<*const (), OldFn>(old.ptr()) };
    // SAFETY: as above.
    let new: NewFn = unsafe { core::mem::transmute::<*const (), NewFn>(new.ptr()) };
    (Some(old), Some(new))
}

/// `sysctl_req`'s `oldfunc` type.
type OldFn = unsafe extern "C" fn(*mut sys::sysctl_req, *const c_void, usize) -> c_int;
/// `sysctl_req`'s `newfunc` type.
type NewFn = unsafe extern "C" fn(*mut sys::sysctl_req, *mut c_void, usize) -> c_int;
type OldFunc = Option<OldFn>;
type NewFunc = Option<NewFn>;

/// The request loop of [`user_request`], on buffers in user memory.
fn run_request(
    k: &KernelInner,
    env: &Env<'_>,
    o: KAddr,
    p: &sysctl::OidInfo,
    handler: KAddr,
    (old_ptr, old_len): (UAddr, usize),
    (new_ptr, new_len): (UAddr, usize),
) -> Result<usize, Error> {
    let mut bufs = Vec::new();
    if !old_ptr.is_null() {
        bufs.push((old_ptr, old_len));
    }
    let _reg_old = k.user.register_syscall(&bufs, true);
    let _reg_new = if new_ptr.is_null() {
        None
    } else {
        Some(k.user.register_syscall(&[(new_ptr, new_len)], false))
    };
    let (oldfunc, newfunc) = request_functions();
    loop {
        let mut r = sys::sysctl_req {
            td: thread::curthread(),
            lock: 0,
            oldptr: old_ptr.raw::<c_void>(),
            oldlen: old_len,
            oldidx: 0,
            oldfunc,
            newptr: new_ptr.raw::<c_void>(),
            newlen: new_len,
            newidx: 0,
            newfunc,
            validlen: old_len,
            flags: 0,
        };
        let giant = p.flags & sys::CTLFLAG_MPSAFE == 0;
        if giant && !k.locks.lock_addr(&k.core, k.giant()) {
            return Err(k.core.panic_error());
        }
        k.sysctl.enter(o);
        let args = [
            o.arg(),
            p.arg1.arg(),
            p.arg2.cast_unsigned(),
            KAddr::from_ptr(&raw mut r).arg(),
            0,
            0,
        ];
        // SAFETY: the OID's handler, called as sysctl_root does with the
        // OID, its arguments and a request whose buffers are registered.
        let ret = unsafe { thread::call(&k.core, Some(env), handler, args) };
        k.sysctl.leave(o);
        if giant {
            k.locks.unlock_addr(&k.core, k.giant());
        }
        k.locks.userret(&k.core);
        let ret = ret.map_err(|_| k.core.panic_error())?;
        // CAST: the handler returns `int`.
        let err = (ret & 0xffff_ffff) as u32 as i32;
        if err == Errno::EAGAIN.0 {
            continue;
        }
        if err != 0 && err != Errno::ENOMEM.0 {
            return Err(Errno(err).into());
        }
        let size = if !old_ptr.is_null() && r.oldidx > r.validlen {
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

/// An OID found by name whose removal waits until this is dropped (its
/// `oid_running` raised, as `sysctl_root` holds it over the handler).
struct Held<'a> {
    sysctl: &'a Sysctl,
    o: KAddr,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.sysctl.leave(self.o);
    }
}

impl Kernel {
    /// The OID called `name`, held: it stays registered, and its module
    /// loaded, while the caller looks at it and runs its handler.
    fn oid(&self, name: &str) -> SysResult<Held<'_>> {
        let sysctl = &self.inner.sysctl;
        let o = sysctl
            .resolve_enter(self.inner.core.data_addr(DataSym::SysctlChildren), name)
            .map_err(Error::from)?;
        Ok(Held { sysctl, o })
    }

    /// `sysctl(3)` by name with raw buffers: returns the old value's size
    /// (`*oldlenp`).
    ///
    /// A handler that fails with `ERESTART` (a signal whose handler was
    /// installed with `SA_RESTART` interrupted its sleep) restarts the
    /// whole call, after the signal is delivered, as the system call layer
    /// restarts `__sysctl(2)` (`sys___sysctl` returns the handler's error;
    /// `cpu_set_syscall_retval`, `sys/amd64/amd64/vm_machdep.c`, FreeBSD
    /// 15, backs up to the system call instruction on `ERESTART`).
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
        let held = self.oid(name)?;
        self.request(&held, old, new)
    }

    /// [`sysctl_raw`](Self::sysctl_raw) on an OID held (not looked up
    /// again: a second lookup would wait for a removal that waits for
    /// the first).
    fn request(
        &self,
        held: &Held<'_>,
        mut old: Option<&mut [u8]>,
        new: Option<&[u8]>,
    ) -> SysResult<usize> {
        let k = &*self.inner;
        k.enter(|| {
            super::vfs::restarting(k, || {
                let old = old.as_deref_mut();
                user_request(k, &self.env(), held.o, Request { old, new })
            })
        })
    }

    /// Reads a sysctl as `sysctl(8)` does (size first, then value),
    /// decoded by its type; a node gives its children's names.
    ///
    /// # Errors
    /// As [`sysctl_raw`](Self::sysctl_raw).
    pub fn sysctl_get(&self, name: &str) -> SysResult<SysctlValue> {
        self.alive()?;
        let held = self.oid(name)?;
        let o = held.o;
        let (_, is_node) = Sysctl::kind(o);
        if is_node {
            return Ok(SysctlValue::Node(
                self.inner.sysctl.child_names(Sysctl::list_of(o)),
            ));
        }
        let mut size = self.request(&held, None, None)?;
        loop {
            let mut buf = vec![0u8; size + size / 2 + 16];
            match self.request(&held, Some(&mut buf), None) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(sysctl::decode(o, &buf));
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
        let held = self.oid(name)?;
        let o = held.o;
        let (_, is_node) = Sysctl::kind(o);
        if is_node {
            return Err(Errno::EISDIR.into());
        }
        let bytes = sysctl::encode(o, value)?;
        self.request(&held, None, Some(&bytes)).map(drop)
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
                .child_names(self.inner.core.data_addr(DataSym::SysctlChildren)));
        }
        let held = self.oid(name)?;
        Ok(self.inner.sysctl.child_names(Sysctl::list_of(held.o)))
    }
}

impl Kernel {
    /// Sets a kernel environment variable (`kenv(1)` `name=value`,
    /// `kern_setenv`): a loader tunable that a `CTLFLAG_TUN` sysctl leaf
    /// added later takes as its initial value. Set it before `kldload`,
    /// as `loader.conf(5)` sets it before boot.
    pub fn kenv_set(&self, name: &str, value: &str) {
        self.inner.kenv.set(name, value);
    }

    /// A kernel environment variable (`kenv(1)` `name`), if set.
    #[must_use]
    pub fn kenv_get(&self, name: &str) -> Option<String> {
        self.inner.kenv.get(name)
    }

    /// Removes a kernel environment variable (`kenv -u name`).
    ///
    /// # Errors
    /// `ENOENT` if it is not set (`kenv(2)` `KENV_UNSET`).
    pub fn kenv_unset(&self, name: &str) -> SysResult<()> {
        if self.inner.kenv.unset(name) {
            Ok(())
        } else {
            Err(Errno::ENOENT.into())
        }
    }

    /// Every kernel environment variable, in the order they were first
    /// set (`kenv(1)` without arguments).
    #[must_use]
    pub fn kenv_list(&self) -> Vec<(String, String)> {
        self.inner.kenv.list()
    }
}

impl Kernel {
    /// counter(9) counters that modules allocated and have not freed
    /// (`counter_u64_alloc` without `counter_u64_free`).
    #[must_use]
    pub fn counters_live(&self) -> usize {
        self.inner.counters.count()
    }
}
