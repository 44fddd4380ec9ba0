// SPDX-License-Identifier: BSD-2-Clause
//! Character devices: make_dev(9) and friends, destroy_dev(9),
//! devfs_set_cdevpriv(9), and the devfs namespace.
//!
//! Followed: `sys/kern/kern_conf.c` (`make_dev_sv`, `prep_cdevsw`,
//! `prep_devname`, `newdev`, `destroy_devl`, `fini_cdevsw`,
//! `make_dev_args_init_impl`) and `sys/fs/devfs/devfs_vnops.c`
//! (`devfs_set_cdevpriv`, `devfs_get_cdevpriv`, `devfs_clear_cdevpriv`,
//! `devfs_destroy_cdevpriv`).
//!
//! * `make_dev_s` prepares the `cdevsw` once (`D_INIT`): a wrong
//!   `d_version` prints FreeBSD's warning and fails with `EINVAL`; NULL
//!   methods get the kernel's defaults (`null_open`, `null_close`,
//!   `no_read`/`no_write`/`no_ioctl` returning `ENODEV`, ...). The name is
//!   checked as `prep_devname` does (`ENAMETOOLONG`, `EINVAL` for spaces,
//!   quotes, a trailing slash, `.`/`..` components, an empty name;
//!   `EEXIST` if taken); without `MAKEDEV_CHECKNAME` a bad name panics
//!   ("make_dev_sv: bad si_name"). `struct cdev` is allocated with
//!   malloc(9) (type `DEVFS1`, like `devfs_alloc`), so `MAKEDEV_NOWAIT`
//!   creation can fail under fault injection.
//! * `destroy_dev` removes the name, calls `d_purge` while threads are
//!   inside the device, waits until `si_threadcount` drops to zero, then
//!   runs the cdevpriv destructors of files still open on it; later
//!   operations on those files get `ENXIO`.
//! * `D_NEEDGIANT` devices have their methods called with `Giant` held
//!   (FreeBSD's `giant_*` wrappers).

mod make_dev;

use super::{FuncEntry, kernel};
use crate::errno::Errno;
use crate::kernel::{KernelInner, ViolationKind};
use crate::thread;
use core::ffi::{c_int, c_void};
use make_dev::harness_make_dev_args_init_impl;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "make_dev_args_init_impl" => harness_make_dev_args_init_impl,
        "destroy_dev" => harness_destroy_dev,
        "devfs_set_cdevpriv" => harness_devfs_set_cdevpriv,
        "devfs_get_cdevpriv" => harness_devfs_get_cdevpriv,
        "devfs_clear_cdevpriv" => harness_devfs_clear_cdevpriv,
    ]);
}

/// `SI_NAMED` (`sys/sys/conf.h`).
const SI_NAMED: u32 = 0x0004;

/// A device node: one `struct cdev` and its devfs entry.
pub(crate) struct DevNode {
    /// The name under /dev.
    pub(crate) name: String,
    /// The `struct cdev` (allocated with malloc(9), type `DEVFS1`).
    pub(crate) cdev: usize,
    /// The driver's `cdevsw` (module memory).
    pub(crate) devsw: usize,
    /// Owner, group and mode of the node.
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) state: Mutex<NodeState>,
}

/// Mutable state of a node.
#[derive(Default)]
pub(crate) struct NodeState {
    /// Threads inside the driver's methods (`si_threadcount`).
    pub(crate) threads: usize,
    /// `destroy_dev` has run (or is running).
    pub(crate) destroyed: bool,
    /// Open files (`si_usecount`).
    pub(crate) opens: usize,
    /// The cdev was freed (destroyed and no longer open).
    freed: bool,
}

impl DevNode {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `cdevsw`, for calls.
    pub(crate) fn cdevsw(&self) -> &sys::cdevsw {
        // SAFETY: `devsw` points at the module's cdevsw, which lives as
        // long as the module; nodes of an unloaded module are removed
        // from the namespace before its mapping goes away
        // (`Devfs::forget_range`) and no call is in progress then.
        unsafe { &*(self.devsw as *const sys::cdevsw) }
    }

    /// Whether the driver wants Giant.
    pub(crate) fn needs_giant(&self) -> bool {
        self.cdevsw().d_flags & sys::D_NEEDGIANT != 0
    }

    fn set_threadcount(&self, n: usize) {
        let p = self.cdev as *mut sys::cdev;
        // SAFETY: the cdev lives as long as the node; the field is a plain
        // counter the module may read.
        unsafe { (*p).si_threadcount = n as u64 };
    }

    /// `dev_refthread`: enter a method; `None` if the device is gone.
    pub(crate) fn refthread(&self) -> Option<()> {
        let mut s = self.lock();
        if s.destroyed {
            return None;
        }
        s.threads += 1;
        self.set_threadcount(s.threads);
        Some(())
    }

    /// `dev_relthread`.
    pub(crate) fn relthread(&self, devfs: &Devfs) {
        let mut s = self.lock();
        s.threads = s.threads.saturating_sub(1);
        self.set_threadcount(s.threads);
        drop(s);
        devfs.cv.notify_all();
    }

    /// Threads inside the methods now.
    pub(crate) fn threads(&self) -> usize {
        self.lock().threads
    }

    /// Frees the `struct cdev` once the node is destroyed and closed
    /// (`dev_rel` dropping the last reference).
    pub(crate) fn try_free(&self, k: &KernelInner) {
        let mut s = self.lock();
        if s.destroyed && s.opens == 0 && !s.freed {
            s.freed = true;
            drop(s);
            Devfs::free_node(k, self);
        }
    }

    /// Counts an open; returns the new count.
    pub(crate) fn add_open(&self, delta: isize) -> usize {
        let mut s = self.lock();
        s.opens = s.opens.saturating_add_signed(delta);
        s.opens
    }
}

/// A per-open private datum (`struct cdev_privdata`).
#[derive(Clone, Copy)]
struct Priv {
    data: usize,
    dtor: usize,
    cdev: usize,
}

#[derive(Default)]
struct Inner {
    by_name: BTreeMap<String, Arc<DevNode>>,
    by_cdev: HashMap<usize, Arc<DevNode>>,
    /// `struct file` address -> its cdev (open files).
    files: HashMap<usize, usize>,
    /// `struct file` address -> private data.
    privs: HashMap<usize, Priv>,
    /// cdevsw address -> number of cdevs using it (`d_devs`).
    devsw_users: HashMap<usize, usize>,
}

/// The devfs of one kernel.
#[derive(Default)]
pub(crate) struct Devfs {
    inner: Mutex<Inner>,
    /// Signalled when a thread leaves a device.
    pub(crate) cv: Condvar,
}

/// A device as `ls -l /dev` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevEntry {
    /// Name under /dev.
    pub name: String,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Threads inside the driver's methods now (`si_threadcount`).
    pub threads: usize,
    /// Open files.
    pub opens: usize,
}

impl Devfs {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks up a node by name (without "/dev/").
    pub(crate) fn lookup(&self, name: &str) -> Option<Arc<DevNode>> {
        self.lock().by_name.get(name).cloned()
    }

    /// The namespace, sorted.
    pub(crate) fn list(&self) -> Vec<DevEntry> {
        self.lock()
            .by_name
            .values()
            .map(|n| {
                let s = n.lock();
                DevEntry {
                    name: n.name.clone(),
                    uid: n.uid,
                    gid: n.gid,
                    mode: n.mode,
                    threads: s.threads,
                    opens: s.opens,
                }
            })
            .collect()
    }

    /// Records an open file.
    pub(crate) fn attach_file(&self, fp: usize, cdev: usize) {
        self.lock().files.insert(fp, cdev);
    }

    /// Forgets a closed file; returns its private datum to destroy.
    pub(crate) fn detach_file(&self, fp: usize) -> Option<(usize, usize)> {
        let mut i = self.lock();
        i.files.remove(&fp);
        i.privs.remove(&fp).map(|p| (p.data, p.dtor))
    }

    /// Takes the private datum of `fp` (devfs_clear_cdevpriv).
    pub(crate) fn take_priv(&self, fp: usize) -> Option<(usize, usize)> {
        self.lock().privs.remove(&fp).map(|p| (p.data, p.dtor))
    }

    /// Removes every node whose cdevsw lies in `start..start+len` (an
    /// unloaded module that did not destroy its devices).
    pub(crate) fn forget_range(&self, k: &KernelInner, start: usize, len: usize) {
        let mut i = self.lock();
        let stale: Vec<Arc<DevNode>> = i
            .by_cdev
            .values()
            .filter(|n| n.devsw >= start && n.devsw - start < len)
            .cloned()
            .collect();
        for n in stale {
            i.by_name.remove(&n.name);
            i.by_cdev.remove(&n.cdev);
            n.lock().destroyed = true;
            k.violation(
                ViolationKind::Devfs,
                format!("device /dev/{} still exists after its module was unloaded (missing destroy_dev)", n.name),
            );
        }
    }

    /// Frees the cdev of a node no one refers to any more.
    pub(crate) fn free_node(k: &KernelInner, n: &DevNode) {
        k.malloc.free(k, n.cdev, k.internal_type_devfs());
    }
}

/// Runs a cdevpriv destructor (module code).
fn run_dtor(k: &KernelInner, data: usize, dtor: usize) -> Result<(), thread::Panicked> {
    if dtor == 0 {
        return Ok(());
    }
    // SAFETY: `dtor` is the module's `d_priv_dtor_t` registered with
    // devfs_set_cdevpriv, called with its datum, as devfs does.
    unsafe { thread::call(k, None, dtor, [data as u64, 0, 0, 0, 0, 0]) }.map(drop)
}

/// Runs every cdevpriv destructor of files open on `cdev`.
fn destroy_privs(k: &KernelInner, cdev: usize) -> Result<(), thread::Panicked> {
    loop {
        let next = {
            let mut i = k.devfs.lock();
            let fp = i
                .privs
                .iter()
                .find(|(_, p)| p.cdev == cdev)
                .map(|(fp, _)| *fp);
            fp.and_then(|fp| i.privs.remove(&fp))
        };
        match next {
            Some(p) => run_dtor(k, p.data, p.dtor)?,
            None => return Ok(()),
        }
    }
}

/// destroy_dev(9) (`destroy_devl`).
fn destroy_dev(k: &KernelInner, cdev: usize) -> Result<(), thread::Panicked> {
    k.locks.sleep_check(k, "destroy_dev");
    let node = {
        let mut i = k.devfs.lock();
        let node = i.by_cdev.remove(&cdev);
        if let Some(n) = &node {
            i.by_name.remove(&n.name);
        }
        node
    };
    let Some(node) = node else {
        k.violation(
            ViolationKind::Devfs,
            format!("WARNING: Driver mistake: destroy_dev on {cdev:#x} (not a live device)"),
        );
        return Ok(());
    };
    node.lock().destroyed = true;
    let own = thread::in_dev_count(cdev);
    if own > 0 {
        k.violation(
            ViolationKind::Devfs,
            format!("destroy_dev(\"{}\") called from a method of that device: it would wait for itself forever", node.name),
        );
    }
    let purge = node.cdevsw().d_purge;
    let mut st = node.lock();
    while st.threads > own {
        if k.is_dead() {
            return Err(thread::Panicked);
        }
        if let Some(p) = purge {
            drop(st);
            // SAFETY: the driver's d_purge, called with its cdev as
            // destroy_devl does.
            unsafe { thread::call(k, None, p as usize, [cdev as u64, 0, 0, 0, 0, 0]) }?;
            st = node.lock();
            if st.threads <= own {
                break;
            }
        }
        drop(st);
        let g = k.devfs.lock();
        let _g = k
            .devfs
            .cv
            .wait_timeout(g, Duration::from_millis(10))
            .unwrap_or_else(PoisonError::into_inner);
        st = node.lock();
    }
    drop(st);
    destroy_privs(k, cdev)?;
    // SAFETY: the cdev lives until the node is freed, and no method runs
    // any more; destroy_devl clears these fields.
    let d = unsafe { &mut *(cdev as *mut sys::cdev) };
    d.si_drv1 = core::ptr::null_mut();
    d.si_drv2 = core::ptr::null_mut();
    d.si_flags &= !SI_NAMED;
    let last = {
        let mut i = k.devfs.lock();
        let n = i.devsw_users.entry(node.devsw).or_insert(1);
        *n = n.saturating_sub(1);
        *n == 0
    };
    if last {
        // fini_cdevsw: the switch may be prepared again.
        let d = node.devsw as *mut sys::cdevsw;
        // SAFETY: the module's cdevsw, alive while the module is.
        unsafe { (*d).d_flags &= !sys::D_INIT };
    }
    node.try_free(k);
    Ok(())
}

/// destroy_dev(9).
extern "C" fn harness_destroy_dev(dev: *mut sys::cdev) {
    let k = kernel();
    if destroy_dev(k, dev as usize).is_err() {
        thread::escape();
    }
}

/// devfs_set_cdevpriv(9).
extern "C" fn harness_devfs_set_cdevpriv(data: *mut c_void, dtor: sys::d_priv_dtor_t) -> c_int {
    let k = kernel();
    let fp = thread::fpop() as usize;
    if fp == 0 {
        return Errno::ENOENT.0;
    }
    // malloc(M_CDEVPDATA, M_WAITOK)
    k.locks.sleep_check(k, "devfs_set_cdevpriv");
    let mut i = k.devfs.lock();
    let Some(&cdev) = i.files.get(&fp) else {
        return Errno::ENOENT.0;
    };
    if i.privs.contains_key(&fp) {
        return Errno::EBUSY.0;
    }
    i.privs.insert(
        fp,
        Priv {
            data: data as usize,
            dtor: dtor.map_or(0, |f| f as usize),
            cdev,
        },
    );
    0
}

/// devfs_get_cdevpriv(9).
///
/// # Safety
/// `datap` writable.
unsafe extern "C" fn harness_devfs_get_cdevpriv(datap: *mut *mut c_void) -> c_int {
    let k = kernel();
    let fp = thread::fpop() as usize;
    if fp == 0 {
        return Errno::EBADF.0;
    }
    let p = k.devfs.lock().privs.get(&fp).copied();
    match p {
        Some(p) => {
            // SAFETY: by the caller's contract.
            unsafe { *datap = p.data as *mut c_void };
            0
        }
        None => Errno::ENOENT.0,
    }
}

/// devfs_clear_cdevpriv(9).
extern "C" fn harness_devfs_clear_cdevpriv() {
    let k = kernel();
    let fp = thread::fpop() as usize;
    if fp == 0 {
        return;
    }
    let p = k.devfs.take_priv(fp);
    if let Some((data, dtor)) = p
        && run_dtor(k, data, dtor).is_err()
    {
        thread::escape();
    }
}

/// Runs a private datum's destructor (from the close path).
pub(crate) fn run_priv_dtor(
    k: &KernelInner,
    data: usize,
    dtor: usize,
) -> Result<(), thread::Panicked> {
    run_dtor(k, data, dtor)
}
