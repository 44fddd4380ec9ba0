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

use super::FuncEntry;
use crate::errno::Errno;
use crate::kernel::{KernelInner, ViolationKind};
use crate::thread;
use core::ffi::{c_char, c_int, c_void};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&[
        (
            "make_dev_args_init_impl",
            harness_make_dev_args_init_impl as *const () as usize,
        ),
        ("destroy_dev", harness_destroy_dev as *const () as usize),
        (
            "devfs_set_cdevpriv",
            harness_devfs_set_cdevpriv as *const () as usize,
        ),
        (
            "devfs_get_cdevpriv",
            harness_devfs_get_cdevpriv as *const () as usize,
        ),
        (
            "devfs_clear_cdevpriv",
            harness_devfs_clear_cdevpriv as *const () as usize,
        ),
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

/// `prep_devname`: the checks on a formatted name. Returns the cleaned
/// name.
fn prep_devname(raw: &[u8], len: c_int) -> Result<String, Errno> {
    if usize::try_from(len).is_ok_and(|l| l > sys::SPECNAMELEN as usize) {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut s: &[u8] = raw;
    while let [b'/', rest @ ..] = s {
        s = rest;
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_whitespace() || c == b'"' {
            return Err(Errno::EINVAL);
        }
        while s.get(i) == Some(&b'/') && s.get(i + 1) == Some(&b'/') {
            i += 1;
        }
        if s.get(i) == Some(&b'/') && i + 1 == s.len() {
            return Err(Errno::EINVAL);
        }
        out.push(s[i]);
        i += 1;
    }
    if out.is_empty() {
        return Err(Errno::EINVAL);
    }
    for comp in out.split(|&c| c == b'/') {
        if comp == b"." || comp == b".." {
            return Err(Errno::EINVAL);
        }
    }
    String::from_utf8(out).map_err(|_| Errno::EINVAL)
}

/// Default methods installed by `prep_cdevsw` (`kern_conf.c`).
extern "C" fn null_open(
    _dev: *mut sys::cdev,
    _f: c_int,
    _t: c_int,
    _td: *mut sys::thread,
) -> c_int {
    0
}
extern "C" fn null_close(
    _dev: *mut sys::cdev,
    _f: c_int,
    _t: c_int,
    _td: *mut sys::thread,
) -> c_int {
    0
}
extern "C" fn no_read(_dev: *mut sys::cdev, _uio: *mut sys::uio, _f: c_int) -> c_int {
    Errno::ENODEV.0
}
extern "C" fn no_write(_dev: *mut sys::cdev, _uio: *mut sys::uio, _f: c_int) -> c_int {
    Errno::ENODEV.0
}
extern "C" fn no_ioctl(
    _dev: *mut sys::cdev,
    _c: u64,
    _d: *mut c_char,
    _f: c_int,
    _td: *mut sys::thread,
) -> c_int {
    Errno::ENODEV.0
}
extern "C" fn no_poll(_dev: *mut sys::cdev, events: c_int, _td: *mut sys::thread) -> c_int {
    // poll_no_poll: POLLSTANDARD events are "ready", others POLLNVAL.
    events & 0x1f7
}
extern "C" fn no_mmap(
    _dev: *mut sys::cdev,
    _o: i64,
    _p: *mut u64,
    _n: c_int,
    _m: *mut c_int,
) -> c_int {
    Errno::ENODEV.0
}
extern "C" fn no_strategy(_bp: *mut c_void) {}
extern "C" fn no_kqfilter(_dev: *mut sys::cdev, _kn: *mut c_void) -> c_int {
    Errno::EOPNOTSUPP.0
}
extern "C" fn no_mmap_single(
    _dev: *mut sys::cdev,
    _o: *mut i64,
    _s: u64,
    _obj: *mut c_void,
    _n: c_int,
) -> c_int {
    Errno::ENODEV.0
}

/// `prep_cdevsw`.
///
/// # Safety
/// `devsw` must point to the module's writable `struct cdevsw`.
unsafe fn prep_cdevsw(k: &KernelInner, devsw: *mut sys::cdevsw) -> Result<(), Errno> {
    // SAFETY: by the caller's contract.
    let d = unsafe { &mut *devsw };
    if d.d_flags & sys::D_INIT != 0 {
        return Ok(());
    }
    if d.d_version != sys::D_VERSION.cast_signed() {
        let name = if d.d_name.is_null() {
            String::from("???")
        } else {
            // SAFETY: d_name is the driver's NUL-terminated name.
            unsafe { core::ffi::CStr::from_ptr(d.d_name) }
                .to_string_lossy()
                .into_owned()
        };
        k.console(&format!(
            "WARNING: Device driver \"{name}\" has wrong version and is disabled.  Recompile KLD module.\n"
        ));
        return Err(Errno::EINVAL);
    }
    macro_rules! fixup {
        ($field:ident, $default:expr, $ty:ty) => {
            if d.$field.is_none() {
                let addr = $default as *const () as usize;
                // SAFETY: the default has the method's C signature up to
                // pointer types (all pointers), which the ABI passes alike.
                let method = unsafe { core::mem::transmute::<usize, $ty>(addr) };
                d.$field = method;
            }
        };
    }
    fixup!(d_open, null_open, sys::d_open_t);
    fixup!(d_close, null_close, sys::d_close_t);
    fixup!(d_read, no_read, sys::d_read_t);
    fixup!(d_write, no_write, sys::d_write_t);
    fixup!(d_ioctl, no_ioctl, sys::d_ioctl_t);
    fixup!(d_poll, no_poll, sys::d_poll_t);
    fixup!(d_mmap, no_mmap, sys::d_mmap_t);
    fixup!(d_strategy, no_strategy, sys::d_strategy_t);
    fixup!(d_kqfilter, no_kqfilter, sys::d_kqfilter_t);
    fixup!(d_mmap_single, no_mmap_single, sys::d_mmap_single_t);
    d.d_flags |= sys::D_INIT;
    Ok(())
}

/// `make_dev_sv` with the name already formatted.
///
/// # Safety
/// `args` must point to a `struct make_dev_args` of `mda_size` bytes whose
/// `mda_devsw` is the module's cdevsw; `dres` writable.
unsafe fn make_dev_sv(
    k: &KernelInner,
    args: *const sys::make_dev_args,
    dres: *mut *mut sys::cdev,
    name: &[u8],
    len: c_int,
) -> c_int {
    let mut a = sys::make_dev_args::default();
    // SAFETY: `mda_size` is the first field; by the caller's contract
    // `args` is readable.
    let size = unsafe { (*args).mda_size };
    if size > size_of::<sys::make_dev_args>() {
        return Errno::EINVAL.0;
    }
    // SAFETY: copies `size <= sizeof(args)` bytes, as bcopy in make_dev_sv.
    unsafe { core::ptr::copy_nonoverlapping(args.cast::<u8>(), (&raw mut a).cast::<u8>(), size) };
    let flags = a.mda_flags.cast_unsigned();
    if flags & sys::MAKEDEV_WAITOK != 0 && flags & sys::MAKEDEV_NOWAIT != 0 {
        k.violation(
            ViolationKind::Devfs,
            String::from("make_dev_sv: both WAITOK and NOWAIT specified"),
        );
    }
    // devfs_alloc
    let mflags = sys::M_ZERO
        | if flags & sys::MAKEDEV_NOWAIT != 0 {
            sys::M_NOWAIT
        } else {
            sys::M_WAITOK
        };
    let cdev = k
        .malloc
        .malloc(k, size_of::<sys::cdev>(), k.internal_type_devfs(), mflags);
    if cdev.is_null() {
        return Errno::ENOMEM.0;
    }
    let devsw = a.mda_devsw;
    // SAFETY: by the caller's contract `devsw` is the module's cdevsw.
    if let Err(e) = unsafe { prep_cdevsw(k, devsw) } {
        k.malloc.free(k, cdev as usize, k.internal_type_devfs());
        return e.0;
    }
    let dev = cdev.cast::<sys::cdev>();
    let devname = prep_devname(name, len).and_then(|n| {
        if k.devfs.lock().by_name.contains_key(&n) {
            Err(Errno::EEXIST)
        } else {
            Ok(n)
        }
    });
    let devname = match devname {
        Ok(n) => n,
        Err(e) => {
            k.malloc.free(k, cdev as usize, k.internal_type_devfs());
            if flags & sys::MAKEDEV_CHECKNAME == 0 {
                k.record_panic(&format!(
                    "make_dev_sv: bad si_name (error={}, si_name={})",
                    e.0,
                    String::from_utf8_lossy(name)
                ));
                return -1;
            }
            return e.0;
        }
    };
    // SAFETY: `dev` is a fresh zeroed allocation of a `struct cdev`.
    let d = unsafe { &mut *dev };
    d.si_drv0 = a.mda_unit;
    d.si_devsw = devsw;
    d.si_drv1 = a.mda_si_drv1;
    d.si_drv2 = a.mda_si_drv2;
    d.si_flags |= SI_NAMED;
    d.si_cred = a.mda_cr;
    d.si_uid = a.mda_uid;
    d.si_gid = a.mda_gid;
    d.si_mode = u16::try_from(a.mda_mode & 0o7777).unwrap_or(0);
    d.si_refcount = 1;
    for (dst, src) in d
        .si_name
        .iter_mut()
        .zip(devname.bytes().chain(core::iter::once(0)))
    {
        *dst = src.cast_signed();
    }
    let node = Arc::new(DevNode {
        name: devname.clone(),
        cdev: dev as usize,
        devsw: devsw as usize,
        uid: a.mda_uid,
        gid: a.mda_gid,
        mode: a.mda_mode.cast_unsigned() & 0o7777,
        state: Mutex::new(NodeState::default()),
    });
    {
        let mut i = k.devfs.lock();
        i.by_name.insert(devname, Arc::clone(&node));
        i.by_cdev.insert(dev as usize, node);
        *i.devsw_users.entry(devsw as usize).or_insert(0) += 1;
    }
    // SAFETY: writable by the caller's contract.
    unsafe { *dres = dev };
    0
}

fn kernel<'a>() -> &'a KernelInner {
    match thread::current() {
        Some(k) => k,
        None => std::process::abort(),
    }
}

fn name_bytes<'a>(name: *const c_char) -> &'a [u8] {
    // SAFETY: harness.c passes a NUL-terminated buffer of 256 bytes.
    unsafe { core::ffi::CStr::from_ptr(name) }.to_bytes()
}

/// make_dev_s(9), after formatting (`csrc/harness.c`).
///
/// # Safety
/// As [`make_dev_sv`]; `name` NUL-terminated.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn harness_rs_make_dev_s(
    args: *const c_void,
    dres: *mut *mut c_void,
    name: *const c_char,
    len: c_int,
) -> c_int {
    let k = kernel();
    // SAFETY: forwarded contract.
    let r = unsafe { make_dev_sv(k, args.cast(), dres.cast(), name_bytes(name), len) };
    if k.is_dead() {
        thread::escape();
    }
    r
}

/// make_dev(9) / make_dev_p(9) (`make_dev_credv`).
///
/// # Safety
/// `devsw` the module's cdevsw; `dres` writable; `name` NUL-terminated.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn harness_rs_make_dev_credv(
    flags: c_int,
    dres: *mut *mut c_void,
    devsw: *mut c_void,
    unit: c_int,
    cr: *mut c_void,
    uid: u32,
    gid: u32,
    mode: c_int,
    name: *const c_char,
    len: c_int,
) -> c_int {
    let k = kernel();
    let args = sys::make_dev_args {
        mda_size: size_of::<sys::make_dev_args>(),
        mda_flags: flags,
        mda_devsw: devsw.cast(),
        mda_cr: cr.cast(),
        mda_uid: uid,
        mda_gid: gid,
        mda_mode: mode,
        mda_unit: unit,
        ..sys::make_dev_args::default()
    };
    // SAFETY: forwarded contract; `args` is a complete local.
    let r = unsafe { make_dev_sv(k, &raw const args, dres.cast(), name_bytes(name), len) };
    if k.is_dead() {
        thread::escape();
    }
    r
}

/// make_dev_args_init_impl(9): `bzero(args, sz); args->mda_size = sz`.
///
/// # Safety
/// `args` writable for `sz` bytes.
unsafe extern "C" fn harness_make_dev_args_init_impl(args: *mut sys::make_dev_args, sz: usize) {
    // SAFETY: by the caller's contract.
    unsafe { core::ptr::write_bytes(args.cast::<u8>(), 0, sz) };
    if sz >= size_of::<usize>() {
        // SAFETY: `mda_size` is the first member and fits in `sz`.
        unsafe { (*args).mda_size = sz };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prep_devname_rules() {
        let ok = |s: &str| prep_devname(s.as_bytes(), i32::try_from(s.len()).unwrap());
        assert_eq!(ok("echo").unwrap(), "echo");
        assert_eq!(ok("//a//b").unwrap(), "a/b");
        assert_eq!(ok("a/").unwrap_err(), Errno::EINVAL);
        assert_eq!(ok("").unwrap_err(), Errno::EINVAL);
        assert_eq!(ok("a b").unwrap_err(), Errno::EINVAL);
        assert_eq!(ok("a\"b").unwrap_err(), Errno::EINVAL);
        assert_eq!(ok("a/../b").unwrap_err(), Errno::EINVAL);
        assert_eq!(ok("./b").unwrap_err(), Errno::EINVAL);
        assert_eq!(prep_devname(b"x", 256).unwrap_err(), Errno::ENAMETOOLONG);
    }
}
