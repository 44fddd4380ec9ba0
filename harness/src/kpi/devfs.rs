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
//!   `d_version` prints FreeBSD's warning and gets `dead_cdevsw`'s
//!   methods (the device is created and answers `ENXIO`); NULL
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

mod inode;
mod make_dev;

pub(crate) use make_dev::make_dev_args_init_impl;

use crate::addr::{KAddr, KRange};
use crate::errno::Errno;
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread::{self, Panicked, witness};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Where `struct cdev`s come from and go: malloc(9) with the kernel's
/// `DEVFS1` type, as `devfs_alloc` and `devfs_free` do. The kernel passes
/// it in, so that devfs needs to know nothing of malloc.
pub(crate) trait CdevMemory {
    /// A `struct cdev` allocated with `flags` (`M_ZERO` and one of
    /// `M_WAITOK`/`M_NOWAIT`), or null.
    fn alloc_cdev(&self, flags: u32) -> *mut sys::cdev;
    /// Frees a `struct cdev` from [`alloc_cdev`](Self::alloc_cdev).
    fn free_cdev(&self, cdev: KAddr);
}

/// `SI_NAMED` (`sys/sys/conf.h`).
const SI_NAMED: u32 = 0x0004;

/// A device node: one `struct cdev` and its devfs entry.
pub(crate) struct DevNode {
    /// The name under /dev.
    pub(crate) name: String,
    /// The `struct cdev` (allocated with malloc(9), type `DEVFS1`).
    pub(crate) cdev: KAddr,
    /// The driver's `cdevsw` (module memory).
    pub(crate) devsw: KAddr,
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
        lock_ignoring_poison(&self.state)
    }

    /// The `cdevsw`, for calls.
    pub(crate) fn cdevsw(&self) -> &sys::cdevsw {
        // SAFETY: `devsw` points at the module's cdevsw, which lives as
        // long as the module; nodes of an unloaded module are removed
        // from the namespace before its mapping goes away
        // (`Devfs::forget_range`) and no call is in progress then.
        unsafe { &*self.devsw.ptr::<sys::cdevsw>() }
    }

    /// Whether the driver wants Giant.
    pub(crate) fn needs_giant(&self) -> bool {
        self.cdevsw().d_flags & sys::D_NEEDGIANT != 0
    }

    fn set_threadcount(&self, n: usize) {
        let p = self.cdev.ptr::<sys::cdev>();
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
    pub(crate) fn try_free(&self, mem: &impl CdevMemory) {
        let mut s = self.lock();
        if s.destroyed && s.opens == 0 && !s.freed {
            s.freed = true;
            drop(s);
            mem.free_cdev(self.cdev);
        }
    }

    /// Counts an open; returns the new count.
    pub(crate) fn add_open(&self, delta: isize) -> usize {
        let mut s = self.lock();
        s.opens = s.opens.saturating_add_signed(delta);
        s.opens
    }
}

/// A per-open private datum (`struct cdev_privdata`): the datum and its
/// destructor (`d_priv_dtor_t`, null for none).
#[derive(Clone, Copy)]
pub(crate) struct Priv {
    pub(crate) data: KAddr,
    pub(crate) dtor: KAddr,
    cdev: KAddr,
}

#[derive(Default)]
struct Inner {
    by_name: BTreeMap<String, Arc<DevNode>>,
    by_cdev: HashMap<KAddr, Arc<DevNode>>,
    /// `struct file` address -> its cdev (open files).
    files: HashMap<KAddr, KAddr>,
    /// `struct file` address -> private data.
    privs: HashMap<KAddr, Priv>,
    /// cdevsw address -> number of cdevs using it (`d_devs`).
    devsw_users: HashMap<KAddr, usize>,
}

/// The devfs of one kernel.
#[derive(Default)]
pub(crate) struct Devfs {
    inner: Mutex<Inner>,
    /// Signalled when a thread leaves a device.
    cv: Condvar,
    /// The devices' inode numbers (`dev2udev`).
    inodes: inode::Inodes,
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
        lock_ignoring_poison(&self.inner)
    }

    /// The inode number of a device whose `struct cdev` is not freed yet
    /// (`cdp_inode`, what `dev2udev` returns).
    pub(crate) fn inode_of(&self, cdev: KAddr) -> Option<u32> {
        self.inodes.of(cdev)
    }

    /// Gives back the inode number of a `struct cdev` being freed
    /// (`devfs_free`); the kernel calls it from its `CdevMemory`.
    pub(crate) fn cdev_freed(&self, cdev: KAddr) {
        self.inodes.free(cdev);
    }

    /// Wakes every thread waiting for threads to leave a device (the
    /// kernel died).
    pub(crate) fn wake_all(&self) {
        self.cv.notify_all();
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
    pub(crate) fn attach_file(&self, fp: KAddr, cdev: KAddr) {
        self.lock().files.insert(fp, cdev);
    }

    /// Forgets a closed file; returns its private datum to destroy.
    pub(crate) fn detach_file(&self, fp: KAddr) -> Option<Priv> {
        let mut i = self.lock();
        i.files.remove(&fp);
        i.privs.remove(&fp)
    }

    /// Removes every node whose cdevsw lies in `range` (an unloaded
    /// module that did not destroy its devices).
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut i = self.lock();
        let stale: Vec<Arc<DevNode>> = i
            .by_cdev
            .values()
            .filter(|n| range.contains(n.devsw))
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
}

impl Priv {
    /// Runs the destructor (module code) on the datum, as devfs does when
    /// the file closes or the datum is cleared.
    pub(crate) fn destroy(self, k: &Core) -> Result<(), Panicked> {
        if self.dtor.is_null() {
            return Ok(());
        }
        // SAFETY: `dtor` is the module's `d_priv_dtor_t` registered with
        // devfs_set_cdevpriv, called with its datum, as devfs does.
        unsafe { thread::call(k, None, self.dtor, [self.data.arg(), 0, 0, 0, 0, 0]) }.map(drop)
    }
}

impl Devfs {
    /// Runs every cdevpriv destructor of files open on `cdev`.
    fn destroy_privs(&self, k: &Core, cdev: KAddr) -> Result<(), Panicked> {
        loop {
            let next = {
                let mut i = self.lock();
                let fp = i
                    .privs
                    .iter()
                    .find(|(_, p)| p.cdev == cdev)
                    .map(|(fp, _)| *fp);
                fp.and_then(|fp| i.privs.remove(&fp))
            };
            match next {
                Some(p) => p.destroy(k)?,
                None => return Ok(()),
            }
        }
    }

    /// destroy_dev(9) (`destroy_devl`).
    pub(crate) fn destroy_dev(
        &self,
        k: &Core,
        mem: &impl CdevMemory,
        cdev: KAddr,
    ) -> Result<(), Panicked> {
        witness::check_may_sleep(k, "destroy_dev");
        let node = {
            let mut i = self.lock();
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
                return Err(Panicked);
            }
            if let Some(p) = purge {
                drop(st);
                // SAFETY: the driver's d_purge, called with its cdev as
                // destroy_devl does.
                unsafe {
                    thread::call(k, None, KAddr::new(p as usize), [cdev.arg(), 0, 0, 0, 0, 0])
                }?;
                st = node.lock();
                if st.threads <= own {
                    break;
                }
            }
            drop(st);
            let g = self.lock();
            let _g = wait_ignoring_poison(&self.cv, g, Duration::from_millis(10));
            st = node.lock();
        }
        drop(st);
        self.destroy_privs(k, cdev)?;
        // SAFETY: the cdev lives until the node is freed, and no method runs
        // any more; destroy_devl clears these fields.
        let d = unsafe { &mut *cdev.ptr::<sys::cdev>() };
        d.si_drv1 = core::ptr::null_mut();
        d.si_drv2 = core::ptr::null_mut();
        d.si_flags &= !SI_NAMED;
        let last = {
            let mut i = self.lock();
            let n = i.devsw_users.entry(node.devsw).or_insert(1);
            *n = n.saturating_sub(1);
            *n == 0
        };
        if last {
            // fini_cdevsw: the switch may be prepared again.
            let d = node.devsw.ptr::<sys::cdevsw>();
            // SAFETY: the module's cdevsw, alive while the module is.
            unsafe { (*d).d_flags &= !sys::D_INIT };
        }
        node.try_free(mem);
        Ok(())
    }

    /// devfs_set_cdevpriv(9) on the file this thread operates on.
    ///
    /// # Errors
    /// `ENOENT` outside a file operation, `EBUSY` if the file has a datum.
    pub(crate) fn set_cdevpriv(&self, k: &Core, data: KAddr, dtor: KAddr) -> Result<(), Errno> {
        let fp = thread::fpop();
        if fp.is_null() {
            return Err(Errno::ENOENT);
        }
        // malloc(M_CDEVPDATA, M_WAITOK)
        witness::check_may_sleep(k, "devfs_set_cdevpriv");
        let mut i = self.lock();
        let Some(&cdev) = i.files.get(&fp) else {
            return Err(Errno::ENOENT);
        };
        if i.privs.contains_key(&fp) {
            return Err(Errno::EBUSY);
        }
        i.privs.insert(fp, Priv { data, dtor, cdev });
        Ok(())
    }

    /// devfs_get_cdevpriv(9): the datum of the file this thread operates
    /// on.
    ///
    /// # Errors
    /// `EBADF` outside a file operation, `ENOENT` if there is no datum.
    pub(crate) fn get_cdevpriv(&self) -> Result<KAddr, Errno> {
        let fp = thread::fpop();
        if fp.is_null() {
            return Err(Errno::EBADF);
        }
        let p = self.lock().privs.get(&fp).copied();
        p.map(|p| p.data).ok_or(Errno::ENOENT)
    }

    /// devfs_clear_cdevpriv(9): destroys the datum of the file this
    /// thread operates on, if any.
    pub(crate) fn clear_cdevpriv(&self, k: &Core) -> Result<(), Panicked> {
        let fp = thread::fpop();
        if fp.is_null() {
            return Ok(());
        }
        let p = self.lock().privs.remove(&fp);
        match p {
            Some(p) => p.destroy(k),
            None => Ok(()),
        }
    }
}
