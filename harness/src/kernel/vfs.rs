// SPDX-License-Identifier: BSD-2-Clause
//! File descriptors on devices: `open(2)`, `read(2)`, `write(2)`,
//! `readv(2)`/`writev(2)`, `pread(2)`/`pwrite(2)`, `lseek(2)`, `ioctl(2)`,
//! `close(2)`, driving the `cdevsw` as devfs does.
//!
//! Followed: `sys/kern/vfs_syscalls.c` (`kern_openat`: the open flags,
//! `O_TRUNC`; `kern_lseek`), `sys/kern/vfs_vnops.c` (`vn_open_cred`:
//! `O_CREAT`/`O_EXCL`; `vn_open_vnode`: `O_DIRECTORY`, the access asked
//! for, `O_PATH`, `vn_open_vnode_advlock` for `O_SHLOCK`/`O_EXLOCK`; see
//! [`open()`]), `sys/kern/sys_generic.c` (`sys_read`/`dofileread` — a
//! zero-length read returns 0 without calling the driver —,
//! `dofilewrite`, `sys_ioctl`/`kern_ioctl`), `sys/kern/subr_uio.c`
//! (`copyinuio`: more than `UIO_MAXIOV` iovecs or a total above
//! `IOSIZE_MAX` is `EINVAL`), `sys/kern/vfs_vnops.c` (`vn_seek`: character
//! devices may have negative offsets), `sys/kern/vfs_subr.c` (`vaccess`)
//! and `sys/fs/devfs/devfs_vnops.c` (`devfs_open`: `d_fdopen` or
//! `d_open`, cdevpriv cleared if it fails; `devfs_fp_check`: `ENXIO` on a
//! destroyed device; `devfs_read_f`/`devfs_write_f` ioflags;
//! `devfs_ioctl_f`: `ENOIOCTL` becomes `ENOTTY`; `devfs_close`: `d_close`
//! only on the last close unless `D_TRACKCLOSE`, with `FLASTCLOSE`;
//! `devfs_close_f`: then the cdevpriv destructor).
//!
//! Differences: one descriptor table per kernel (every handle shares it);
//! devfs directories exist only as the prefixes of node names and cannot
//! be opened (reading one is `ENOENT`); flock(2) locks come only from
//! `O_SHLOCK`/`O_EXLOCK`;
//! a read, write or ioctl that fails with `ERESTART` is restarted (every
//! signal handler is taken to be installed with `SA_RESTART` when the
//! test posts a restarting signal, see `Kernel::post_signal`);
//! `SEEK_END` on a device is `offset + 0` (FreeBSD asks the driver for
//! `DIOCGMEDIASIZE` first, which only disks answer); `EPIPE` raises no
//! `SIGPIPE`.

mod open;
mod poll;

pub(super) use open::open;
pub use poll::PollFd;

use super::KernelInner;
use crate::addr::{KAddr, UAddr};
use crate::errno::{Errno, Error};
use crate::kpi::devfs::DevNode;
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread::{self, Env};
use crate::user::Cred;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// `IOSIZE_MAX` with `devfs_iosize_max_clamp` (the default): `INT_MAX`.
const IOSIZE_MAX: usize = i32::MAX as usize;
/// `S_IFCHR`.
const S_IFCHR: u64 = 0o020000;
/// `FLASTCLOSE` (`O_DIRECTORY`, `sys/sys/fcntl.h`).
const FLASTCLOSE: u32 = sys::O_DIRECTORY;
/// `FHASLOCK` (`sys/sys/fcntl.h`): the file holds a flock(2) lock.
const FHASLOCK: u32 = 0x4000;
/// `FOPENFAILED` (`O_TTY_INIT`, `sys/sys/fcntl.h`): `VOP_OPEN` succeeded
/// but the open failed after it (`vn_open_vnode`).
const FOPENFAILED: u32 = sys::O_TTY_INIT;
/// Flags kept in `f_flag` (`FMASK`, `sys/sys/fcntl.h`).
const FMASK: u32 = sys::FREAD
    | sys::FWRITE
    | sys::O_APPEND
    | sys::O_ASYNC
    | sys::O_FSYNC
    | sys::O_DSYNC
    | sys::O_NONBLOCK
    | sys::O_DIRECT
    | sys::O_EXEC
    | sys::O_PATH;
/// `VEXEC`, `VWRITE`, `VREAD`, `VADMIN`, `VAPPEND` (`sys/sys/vnode.h`).
const VEXEC: u32 = 0o100;
const VWRITE: u32 = 0o200;
const VREAD: u32 = 0o400;
const VADMIN: u32 = 0o10000;
const VAPPEND: u32 = 0o40000;

/// An open file (`struct file` of type `DTYPE_VNODE` on devfs).
pub(super) struct OpenFile {
    pub(super) node: Arc<DevNode>,
    /// Stand-in for the `struct file` (`td_fpop` points here).
    fp: Box<[u64; 32]>,
    pub(super) flags: AtomicU32,
    offset: AtomicI64,
    /// The descriptor's reference plus syscalls in progress.
    refs: AtomicUsize,
    /// An `O_PATH` file (`path_fileops`): the driver never opened it.
    path_only: bool,
    /// The flock(2) lock taken with `O_SHLOCK`/`O_EXLOCK` (one of them,
    /// or 0), held until the last close.
    lock: AtomicU32,
    /// The opener's credential (`f_cred`).
    pub(super) _cred: Cred,
}

impl OpenFile {
    /// The address of the stand-in `struct file`.
    pub(super) fn fp(&self) -> KAddr {
        KAddr::from_ptr(self.fp.as_ptr())
    }
}

/// Whence for [`lseek`](crate::Kernel::lseek).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET`
    Set,
    /// `SEEK_CUR`
    Cur,
    /// `SEEK_END`
    End,
}

#[derive(Default)]
struct Inner {
    files: HashMap<i32, Arc<OpenFile>>,
}

/// The flock(2) locks on one device node (`v_lockf` of its vnode, flock
/// style only: whole-file, owned by the open file).
#[derive(Default)]
struct Flock {
    shared: usize,
    exclusive: bool,
}

/// The descriptor table.
#[derive(Default)]
pub(super) struct FdTable {
    inner: Mutex<Inner>,
    /// Locks by node (`Arc::as_ptr` of the `DevNode`, which each holder's
    /// file keeps alive).
    flocks: Mutex<HashMap<KAddr, Flock>>,
    /// Signalled when a flock(2) lock is released.
    flock_cv: Condvar,
}

impl FdTable {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock_ignoring_poison(&self.inner)
    }

    /// Open descriptors.
    pub(super) fn fds(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.lock().files.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

/// A reference to an open file for the duration of a syscall (`fget`);
/// the last reference performs the close (`fdrop`).
struct FileRef<'k> {
    k: &'k KernelInner,
    f: Arc<OpenFile>,
}

fn fget(k: &KernelInner, fd: i32) -> Result<FileRef<'_>, Error> {
    let f = k.files.lock().files.get(&fd).cloned().ok_or(Errno::EBADF)?;
    f.refs.fetch_add(1, Ordering::AcqRel);
    Ok(FileRef { k, f })
}

impl FileRef<'_> {
    /// Drops the reference; the last one closes the file.
    fn release(self, env_cred: &Cred) -> Result<(), Error> {
        if self.f.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
            final_close(self.k, env_cred, &self.f)
        } else {
            Ok(())
        }
    }
}

/// Calls a driver method with the device referenced (`dev_refthread`),
/// `td_fpop` set and Giant taken for `D_NEEDGIANT` drivers. `pick` chooses
/// the method once the device is referenced (the `cdevsw` lives in the
/// module, which cannot be unloaded while a thread is inside); a method
/// of 0 is not called.
fn dev_call(
    k: &KernelInner,
    cred: &Cred,
    fp: KAddr,
    node: &DevNode,
    pick: impl FnOnce(&sys::cdevsw) -> (usize, [u64; 6]),
) -> Result<i32, Error> {
    if node.refthread().is_none() {
        return Err(Errno::ENXIO.into());
    }
    let (func, args) = pick(node.cdevsw());
    if func == 0 {
        node.relthread(&k.devfs);
        return Ok(0);
    }
    let giant = node.needs_giant();
    if giant && !k.locks.lock_addr(&k.core, k.giant()) {
        node.relthread(&k.devfs);
        return Err(k.core.panic_error());
    }
    thread::mark_in_dev(node.cdev, true);
    let env = Env { cred, fpop: fp };
    // SAFETY: a method of the driver's prepared cdevsw, called with the
    // arguments devfs passes; `fp` is the open file.
    let r = unsafe { thread::call(&k.core, Some(&env), KAddr::new(func), args) };
    thread::mark_in_dev(node.cdev, false);
    if giant {
        k.locks.unlock_addr(&k.core, k.giant());
    }
    node.relthread(&k.devfs);
    match r {
        // CAST: methods return `int`.
        Ok(v) => Ok((v & 0xffff_ffff) as u32 as i32),
        Err(_) => Err(k.core.panic_error()),
    }
}

/// Puts an open file in the lowest free descriptor (`finstall`).
fn install(k: &KernelInner, f: Arc<OpenFile>) -> i32 {
    let mut t = k.files.lock();
    let mut fd = 3;
    while t.files.contains_key(&fd) {
        fd += 1;
    }
    t.files.insert(fd, f);
    fd
}

/// `vn_open_vnode_advlock` (`sys/kern/vfs_vnops.c`) with
/// `vop_stdadvlock`/`lf_advlock` (`sys/kern/kern_lockf.c`) for a flock
/// style lock: `O_EXLOCK` conflicts with any lock on the node, `O_SHLOCK`
/// with an exclusive one. Without `FNONBLOCK` it waits (`F_WAIT`) for
/// the holders to close; with it, a conflict is `EAGAIN` (`EWOULDBLOCK`).
/// On success the file has `FHASLOCK`.
fn flock_open(k: &KernelInner, f: &OpenFile, fmode: u32) -> Result<(), Error> {
    let exclusive = fmode & sys::O_EXLOCK != 0;
    let key = KAddr::from_ptr(Arc::as_ptr(&f.node));
    let mut locks = lock_ignoring_poison(&k.files.flocks);
    loop {
        let l = locks.entry(key).or_default();
        let conflict = l.exclusive || (exclusive && l.shared > 0);
        if !conflict {
            if exclusive {
                l.exclusive = true;
            } else {
                l.shared += 1;
            }
            break;
        }
        if fmode & sys::FNONBLOCK != 0 {
            return Err(Errno::EAGAIN.into());
        }
        if k.core.is_dead() {
            return Err(k.core.panic_error());
        }
        locks = wait_ignoring_poison(&k.files.flock_cv, locks, Duration::from_millis(50));
    }
    f.lock.store(
        if exclusive {
            sys::O_EXLOCK
        } else {
            sys::O_SHLOCK
        },
        Ordering::Relaxed,
    );
    f.flags.fetch_or(FHASLOCK, Ordering::Relaxed);
    Ok(())
}

/// Releases the file's flock(2) lock (`vn_closefile`: `F_UNLCK` after
/// `vn_close1`).
fn flock_release(k: &KernelInner, f: &OpenFile) {
    let kind = f.lock.swap(0, Ordering::Relaxed);
    if kind == 0 {
        return;
    }
    let key = KAddr::from_ptr(Arc::as_ptr(&f.node));
    let mut locks = lock_ignoring_poison(&k.files.flocks);
    if let Some(l) = locks.get_mut(&key) {
        if kind == sys::O_EXLOCK {
            l.exclusive = false;
        } else {
            l.shared = l.shared.saturating_sub(1);
        }
        if !l.exclusive && l.shared == 0 {
            locks.remove(&key);
        }
    }
    drop(locks);
    k.files.flock_cv.notify_all();
}

/// The last reference to a file went away: `devfs_close_f` (for an
/// `O_PATH` file `path_close`, which leaves the driver alone).
fn final_close(k: &KernelInner, cred: &Cred, f: &OpenFile) -> Result<(), Error> {
    if f.path_only {
        return Ok(());
    }
    let node = &f.node;
    let mut result = Ok(());
    let last = node.add_open(0) == 1;
    let fflag = f.flags.load(Ordering::Relaxed) | if last { FLASTCLOSE } else { 0 };
    let args = [
        node.cdev.arg(),
        u64::from(fflag),
        S_IFCHR,
        KAddr::from_ptr(thread::curthread()).arg(),
        0,
        0,
    ];
    let pick = |sw: &sys::cdevsw| {
        if last || sw.d_flags & sys::D_TRACKCLOSE != 0 {
            (sw.d_close.map_or(0, |c| c as usize), args)
        } else {
            (0, args)
        }
    };
    match dev_call(k, cred, f.fp(), node, pick) {
        // A destroyed device (ENXIO) closes silently: its vnode is dead.
        Ok(0) | Err(Error::Errno(Errno::ENXIO)) => {}
        Ok(e) => result = Err(Errno(e).into()),
        Err(e) => return Err(e),
    }
    flock_release(k, f);
    node.add_open(-1);
    if let Some(p) = k.devfs.detach_file(f.fp()) {
        p.destroy(&k.core).map_err(|_| k.core.panic_error())?;
    }
    node.try_free(k);
    k.locks.userret(&k.core);
    result
}

/// `close(2)`.
pub(super) fn close(k: &KernelInner, cred: &Cred, fd: i32) -> Result<(), Error> {
    let f = k.files.lock().files.remove(&fd).ok_or(Errno::EBADF)?;
    FileRef { k, f }.release(cred)
}

/// `copyinuio`'s checks on iovecs of lengths `lens`: at most
/// `UIO_MAXIOV` of them, at most `IOSIZE_MAX` bytes in all (`EINVAL`).
/// Returns the total.
pub(super) fn check_iovs(lens: impl ExactSizeIterator<Item = usize>) -> Result<usize, Error> {
    if lens.len() > sys::UIO_MAXIOV as usize {
        return Err(Errno::EINVAL.into());
    }
    let mut resid = 0usize;
    for len in lens {
        if len > IOSIZE_MAX - resid {
            return Err(Errno::EINVAL.into());
        }
        resid += len;
    }
    Ok(resid)
}

/// Read or write with iovecs: `dofileread`/`dofilewrite` + devfs.
pub(super) fn rw(
    k: &KernelInner,
    cred: &Cred,
    fd: i32,
    iovs: &[(UAddr, usize)],
    offset: Option<i64>,
    write: bool,
) -> Result<usize, Error> {
    let resid = check_iovs(iovs.iter().map(|&(_, len)| len))?;
    let fr = fget(k, fd)?;
    let r = restarting(k, || rw_file(k, cred, &fr.f, iovs, resid, offset, write));
    fr.release(cred)?;
    k.locks.userret(&k.core);
    r
}

fn rw_file(
    k: &KernelInner,
    cred: &Cred,
    f: &OpenFile,
    iovs: &[(UAddr, usize)],
    resid: usize,
    offset: Option<i64>,
    write: bool,
) -> Result<usize, Error> {
    let fflag = f.flags.load(Ordering::Relaxed);
    let need = if write { sys::FWRITE } else { sys::FREAD };
    if fflag & need == 0 {
        return Err(Errno::EBADF.into());
    }
    if !write && resid == 0 {
        return Ok(0);
    }
    let node = &f.node;
    let mut iov: Vec<sys::iovec> = iovs
        .iter()
        .map(|&(base, len)| sys::iovec {
            iov_base: base.raw(),
            iov_len: len,
        })
        .collect();
    let start = offset.unwrap_or_else(|| f.offset.load(Ordering::Relaxed));
    let mut uio = sys::uio {
        uio_iov: iov.as_mut_ptr(),
        uio_iovcnt: i32::try_from(iov.len()).unwrap_or(0),
        uio_offset: start,
        uio_resid: isize::try_from(resid).unwrap_or(isize::MAX),
        uio_segflg: sys::UIO_USERSPACE,
        uio_rw: if write { sys::UIO_WRITE } else { sys::UIO_READ },
        uio_td: thread::curthread(),
    };
    let ioflag = if write {
        fflag & (sys::O_NONBLOCK | sys::O_DIRECT | sys::O_FSYNC)
    } else {
        fflag & (sys::O_NONBLOCK | sys::O_DIRECT)
    };
    let _reg = k.user.register_syscall(iovs, !write);
    let args = [
        node.cdev.arg(),
        KAddr::from_ptr(&raw mut uio).arg(),
        u64::from(ioflag),
        0,
        0,
        0,
    ];
    let pick = |sw: &sys::cdevsw| {
        let m = if write { sw.d_write } else { sw.d_read };
        (m.map_or(0, |m| m as usize), args)
    };
    let r = dev_call(k, cred, f.fp(), node, pick);
    let err = r?;
    let left = usize::try_from(uio.uio_resid).unwrap_or(0);
    let done = resid.saturating_sub(left);
    if offset.is_none() {
        f.offset.store(uio.uio_offset, Ordering::Relaxed);
    }
    if err != 0 {
        if done != 0
            && (err == Errno::ERESTART.0 || err == Errno::EINTR.0 || err == Errno::EAGAIN.0)
        {
            return Ok(done);
        }
        return Err(Errno(err).into());
    }
    Ok(done)
}

/// Runs a system call's work again for as long as it fails with
/// `ERESTART` (which it does only before moving any data): the signal
/// that interrupted it had a handler installed with `SA_RESTART`, which
/// runs (the signal is delivered) before the call restarts
/// (`sys/amd64/amd64/vm_machdep.c`, `cpu_set_syscall_retval`: `ERESTART`
/// backs the program counter up to the system call instruction).
pub(super) fn restarting<T>(
    k: &KernelInner,
    mut f: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    loop {
        match f() {
            Err(Error::Errno(e)) if e == Errno::ERESTART => k.sleepq.deliver_signal(),
            r => return r,
        }
    }
}

/// `lseek(2)` (`vn_seek` for a character device).
pub(super) fn lseek(k: &KernelInner, fd: i32, off: i64, whence: Whence) -> Result<i64, Error> {
    let f = k.files.lock().files.get(&fd).cloned().ok_or(Errno::EBADF)?;
    // kern_lseek: "(fp->f_ops->fo_flags & DFLAG_SEEKABLE) != 0 ? ... :
    // ESPIPE"; path_fileops is not seekable.
    if f.path_only {
        return Err(Errno::ESPIPE.into());
    }
    let cur = f.offset.load(Ordering::Relaxed);
    let new = match whence {
        Whence::Set => off,
        Whence::Cur => cur.checked_add(off).ok_or(Errno::EOVERFLOW)?,
        Whence::End => off,
    };
    f.offset.store(new, Ordering::Relaxed);
    Ok(new)
}

/// `sys_ioctl` + `kern_ioctl` + `devfs_ioctl_f`; restarted as a whole
/// (the argument copied in again) after `ERESTART`.
pub(super) fn ioctl(
    k: &KernelInner,
    cred: &Cred,
    fd: i32,
    cmd: u64,
    arg: u64,
) -> Result<(), Error> {
    restarting(k, || ioctl_once(k, cred, fd, cmd, arg))
}

/// One attempt of [`ioctl`].
fn ioctl_once(k: &KernelInner, cred: &Cred, fd: i32, cmd: u64, arg: u64) -> Result<(), Error> {
    let mut com = cmd;
    if com > 0xffff_ffff {
        k.core.console(&format!(
            "WARNING pid 1000 (kldsim): ioctl sign-extension ioctl {com:x}\n"
        ));
        com &= 0xffff_ffff;
    }
    let size = sys::ioccom::iocparm_len(com);
    let dir = com & u64::from(sys::IOC_VOID | sys::IOC_IN | sys::IOC_OUT);
    if size > sys::IOCPARM_MAX as usize
        || dir == 0
        || (com & u64::from(sys::IOC_OUT) != 0 && size == 0)
        || (com & u64::from(sys::IOC_VOID) != 0 && size > 0 && size != size_of::<i32>())
    {
        return Err(Errno::ENOTTY.into());
    }
    // The argument as a user pointer, for IOC_IN/IOC_OUT commands.
    let user_arg = UAddr::new(arg as usize);
    // The kernel copy of the argument, 8-byte aligned.
    let mut buf: Vec<u64> = vec![0; size.div_ceil(8).max(1)];
    let mut intarg: i64 = arg.cast_signed();
    let mut ptrarg: u64 = arg;
    let (data_ptr, copy_size): (*mut u8, usize) = if size > 0 {
        if com & u64::from(sys::IOC_VOID) != 0 {
            ((&raw mut intarg).cast(), 0)
        } else {
            (buf.as_mut_ptr().cast(), size)
        }
    } else {
        ((&raw mut ptrarg).cast(), 0)
    };
    if com & u64::from(sys::IOC_IN) != 0 {
        // SAFETY: `data_ptr` has `copy_size` bytes (the buffer above).
        unsafe { k.uio.copyin_raw(&k.user, user_arg, data_ptr, copy_size) }?;
    }
    let fr = fget(k, fd)?;
    let r = ioctl_file(k, cred, &fr.f, com, data_ptr);
    fr.release(cred)?;
    let mut r = r;
    if r.is_ok() && com & u64::from(sys::IOC_OUT) != 0 {
        // SAFETY: `data_ptr` has `copy_size` bytes.
        r = unsafe { k.uio.copyout_raw(&k.user, data_ptr, user_arg, copy_size) }
            .map_err(Error::from);
    }
    k.locks.userret(&k.core);
    r
}

fn ioctl_file(
    k: &KernelInner,
    cred: &Cred,
    f: &OpenFile,
    com: u64,
    data: *mut u8,
) -> Result<(), Error> {
    if f.flags.load(Ordering::Relaxed) & (sys::FREAD | sys::FWRITE) == 0 {
        return Err(Errno::EBADF.into());
    }
    let mut tmp: i32;
    let mut data = data;
    match com {
        c if c == u64::from(sys::FIOCLEX) || c == u64::from(sys::FIONCLEX) => return Ok(()),
        c if c == u64::from(sys::FIONBIO) || c == u64::from(sys::FIOASYNC) => {
            // SAFETY: an IOC_IN int argument was copied into `data`.
            tmp = unsafe { data.cast::<i32>().read_unaligned() };
            let bit = if c == u64::from(sys::FIONBIO) {
                sys::FNONBLOCK
            } else {
                sys::O_ASYNC
            };
            if tmp != 0 {
                f.flags.fetch_or(bit, Ordering::Relaxed);
            } else {
                f.flags.fetch_and(!bit, Ordering::Relaxed);
            }
            data = (&raw mut tmp).cast();
        }
        _ => {}
    }
    let node = &f.node;
    if com == u64::from(sys::FIODTYPE) {
        let pick = |sw: &sys::cdevsw| {
            let t = sw.d_flags & sys::D_TYPEMASK;
            // SAFETY: FIODTYPE is IOC_OUT int: `data` has 4 bytes.
            unsafe { data.cast::<i32>().write_unaligned(t.cast_signed()) };
            (0, [0; 6])
        };
        return dev_call(k, cred, f.fp(), node, pick).map(drop);
    }
    let fflag = f.flags.load(Ordering::Relaxed);
    let args = [
        node.cdev.arg(),
        com,
        KAddr::from_ptr(data).arg(),
        u64::from(fflag),
        KAddr::from_ptr(thread::curthread()).arg(),
        0,
    ];
    let pick = |sw: &sys::cdevsw| (sw.d_ioctl.map_or(0, |m| m as usize), args);
    match dev_call(k, cred, f.fp(), node, pick)? {
        0 => Ok(()),
        e if e == Errno::ENOIOCTL.0 => Err(Errno::ENOTTY.into()),
        e => Err(Errno(e).into()),
    }
}

/// Threads inside a device now.
pub(super) fn dev_threads(k: &KernelInner, name: &str) -> Option<usize> {
    k.devfs.lookup(name).map(|n| n.threads())
}

/// Closes everything (teardown), ignoring errors.
pub(super) fn close_all(k: &KernelInner, cred: &Cred) {
    for fd in k.files.fds() {
        drop(close(k, cred, fd));
    }
}
