// SPDX-License-Identifier: BSD-2-Clause
//! open(2) on devfs: the open flags, the access check (`vaccess`), the
//! errors for names that are not devices, and `devfs_open`.

use super::super::KernelInner;
use super::{
    FMASK, FOPENFAILED, OpenFile, S_IFCHR, VADMIN, VAPPEND, VEXEC, VREAD, VWRITE, dev_call,
    final_close, flock_open, install,
};
use crate::addr::KAddr;
use crate::errno::{Errno, Error};
use crate::thread;
use crate::user::Cred;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};

/// `vaccess` (`sys/kern/vfs_subr.c`) for a character device, as
/// `devfs_access` calls it: may `cred` have `accmode` (`VREAD`, `VWRITE`,
/// `VEXEC`, `VAPPEND`, `VADMIN`) on a node with this mode and owner?
///
/// The owner, group or other bits grant access (only the first class that
/// matches counts); failing that, root's privileges (`priv_check_cred`)
/// grant read, write and admin, but execute only if at least one execute
/// bit is set: "a privileged user will always succeed, and we don't want
/// this to happen unless the file really is executable". So root may not
/// `O_EXEC` a 0666 device (`EACCES`). `devfs_access`'s exception for the
/// caller's controlling terminal does not arise: no session has one.
fn vaccess(mode: u32, uid: u32, gid: u32, accmode: u32, cred: &Cred) -> Result<(), Errno> {
    let (class, mut granted) = if cred.uid == uid {
        ((mode >> 6) & 7, VADMIN)
    } else if cred.in_group(gid) {
        ((mode >> 3) & 7, 0)
    } else {
        (mode & 7, 0)
    };
    if class & 1 != 0 {
        granted |= VEXEC;
    }
    if class & 4 != 0 {
        granted |= VREAD;
    }
    if class & 2 != 0 {
        granted |= VWRITE | VAPPEND;
    }
    if accmode & granted == accmode {
        return Ok(());
    }
    // privcheck:
    if cred.is_root() {
        granted |= VREAD | VWRITE | VAPPEND | VADMIN;
        if mode & 0o111 != 0 {
            granted |= VEXEC;
        }
        if accmode & granted == accmode {
            return Ok(());
        }
    }
    Err(if accmode & VADMIN != 0 {
        Errno::EPERM
    } else {
        Errno::EACCES
    })
}

/// The access `vn_open_vnode` checks for open flags `fmode` (after
/// `FFLAGS`): write for `FWRITE` or `O_TRUNC`, read for `FREAD`, append
/// for `O_APPEND` with `FWRITE`, execute for `FEXEC`; only execute for
/// `O_PATH`.
fn open_accmode(fmode: u32) -> u32 {
    let mut accmode = 0;
    if fmode & sys::O_PATH == 0 {
        if fmode & (sys::FWRITE | sys::O_TRUNC) != 0 {
            accmode |= VWRITE;
        }
        if fmode & sys::FREAD != 0 {
            accmode |= VREAD;
        }
        if fmode & sys::O_APPEND != 0 && fmode & sys::FWRITE != 0 {
            accmode |= VAPPEND;
        }
    }
    if fmode & sys::O_EXEC != 0 {
        accmode |= VEXEC;
    }
    accmode
}

/// `kern_openat` (`sys/kern/vfs_syscalls.c`): the `open(2)` flags as the
/// file's flags. "Only one of the O_EXEC, O_RDONLY, O_WRONLY and O_RDWR
/// flags may be specified", else `EINVAL`; `O_PATH` ignores the access
/// mode and `O_CREAT`; otherwise `FFLAGS` turns the access mode into
/// `FREAD`/`FWRITE`.
fn open_flags(oflags: u32) -> Result<u32, Errno> {
    if oflags & sys::O_PATH != 0 {
        Ok(oflags & !(sys::O_CREAT | sys::O_ACCMODE))
    } else if oflags & sys::O_EXEC != 0 {
        if oflags & sys::O_ACCMODE != 0 {
            Err(Errno::EINVAL)
        } else {
            Ok(oflags)
        }
    } else if oflags & sys::O_ACCMODE == sys::O_ACCMODE {
        Err(Errno::EINVAL)
    } else {
        // FFLAGS()
        Ok(oflags + 1)
    }
}

/// Whether `name` (without "/dev/") is a devfs directory: the root, or a
/// prefix of a node's name ending at a `/`.
fn is_dir(k: &KernelInner, name: &str) -> bool {
    name.is_empty()
        || k.devfs.list().iter().any(|d| {
            d.name
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The lookup part of `vn_open_cred` (`sys/kern/vfs_vnops.c`) for a name
/// that is not a device node.
///
/// * `O_CREAT` without `O_DIRECTORY` looks the name up to create it.
///   Present as a directory: `EEXIST` with `O_EXCL`, else `EISDIR`.
///   Absent in an existing directory: `devfs_lookupx` lets the creation
///   go on (`EJUSTRETURN`), and `VOP_CREATE` fails with `EOPNOTSUPP`,
///   because devfs directories have no `vop_create` and the default
///   vnode operations answer `EOPNOTSUPP` (`vop_bypass` in
///   `sys/kern/vfs_default.c`): devfs nodes are made only by drivers.
/// * Otherwise a directory opened for writing or truncation is `EISDIR`
///   (`vn_open_vnode`).
/// * Anything else is `ENOENT`, including reading a directory: the
///   harness has no directory files.
fn open_missing(k: &KernelInner, name: &str, fmode: u32) -> Errno {
    let creating = fmode & (sys::O_CREAT | sys::O_DIRECTORY) == sys::O_CREAT;
    if is_dir(k, name) {
        if creating {
            return if fmode & sys::O_EXCL != 0 {
                Errno::EEXIST
            } else {
                Errno::EISDIR
            };
        }
        if fmode & sys::O_PATH == 0 && fmode & (sys::FWRITE | sys::O_TRUNC) != 0 {
            return Errno::EISDIR;
        }
        return Errno::ENOENT;
    }
    let parent = name.rsplit_once('/').map_or("", |(dir, _)| dir);
    if creating && is_dir(k, parent) {
        Errno::EOPNOTSUPP
    } else {
        Errno::ENOENT
    }
}

/// `open(2)` on `/dev/NAME`: `kern_openat` (`sys/kern/vfs_syscalls.c`),
/// `vn_open_cred` and `vn_open_vnode` (`sys/kern/vfs_vnops.c`),
/// `devfs_access` and `devfs_open` (`sys/fs/devfs/devfs_vnops.c`), in
/// their order:
///
/// 1. the flags (`open_flags`): `EINVAL` for two access modes;
/// 2. `O_CREAT|O_EXCL|O_DIRECTORY` and `O_CREAT|O_EMPTY_PATH` are
///    `EINVAL` (`vn_open_cred`);
/// 3. the name (`open_missing` for one that is no device); `O_CREAT`
///    on an existing node: `EEXIST` with `O_EXCL`, else `O_CREAT` is
///    dropped and the node opened as usual (`vn_open_cred`);
/// 4. `O_DIRECTORY` on a device: `ENOTDIR` (`vn_open_vnode`);
/// 5. the access check, `VOP_ACCESS` = `devfs_access` = `vaccess`;
/// 6. `O_PATH` stops here: no `d_open`, a file only `close` accepts;
/// 7. `d_fdopen`/`d_open` (`devfs_open`; its `ERESTART` becomes
///    `EINTR`);
/// 8. `O_SHLOCK`/`O_EXLOCK` take a flock(2) lock
///    (`vn_open_vnode_advlock`; devfs has no `vop_advlock`, so
///    `vop_stdadvlock` locks as on any file); failing that, the file is
///    closed again (`d_close`) and the open fails (`EAGAIN` with
///    `O_NONBLOCK`, else it waits);
/// 9. `O_TRUNC` truncates (`kern_openat`: `fo_truncate` =
///    `devfs_truncate_f` = `vn_truncate`, whose `VOP_SETATTR` of
///    `va_size` `devfs_setattr` ignores): nothing happens, as
///    `echo > /dev/null` shows.
pub(in crate::kernel) fn open(
    k: &KernelInner,
    cred: &Cred,
    path: &str,
    oflags: u32,
) -> Result<i32, Error> {
    let mut fmode = open_flags(oflags)?;
    if fmode & (sys::O_CREAT | sys::O_EXCL | sys::O_DIRECTORY)
        == (sys::O_CREAT | sys::O_EXCL | sys::O_DIRECTORY)
        || fmode & (sys::O_CREAT | sys::O_EMPTY_PATH) == (sys::O_CREAT | sys::O_EMPTY_PATH)
    {
        return Err(Errno::EINVAL.into());
    }
    let name = path
        .strip_prefix("/dev/")
        .ok_or(Errno::ENOENT)?
        .trim_start_matches('/');
    let Some(node) = k.devfs.lookup(name) else {
        return Err(open_missing(k, name, fmode).into());
    };
    if fmode & (sys::O_CREAT | sys::O_DIRECTORY) == sys::O_CREAT {
        if fmode & sys::O_EXCL != 0 {
            return Err(Errno::EEXIST.into());
        }
        fmode &= !sys::O_CREAT;
    }
    // vn_open_vnode: a device is no directory.
    if fmode & sys::O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR.into());
    }
    let accmode = open_accmode(fmode);
    if accmode != 0 {
        vaccess(node.mode, node.uid, node.gid, accmode, cred)?;
    }
    let path_only = fmode & sys::O_PATH != 0;
    let f = Arc::new(OpenFile {
        node: Arc::clone(&node),
        fp: Box::new([0; 32]),
        flags: AtomicU32::new(fmode & FMASK),
        offset: AtomicI64::new(0),
        refs: AtomicUsize::new(1),
        path_only,
        lock: AtomicU32::new(0),
        _cred: cred.clone(),
    });
    if path_only {
        // kern_openat truncates even an O_PATH file: path_fileops'
        // fo_truncate is badfo_truncate.
        if fmode & sys::O_TRUNC != 0 {
            return Err(Errno::EINVAL.into());
        }
        return Ok(install(k, f));
    }
    k.devfs.attach_file(f.fp(), node.cdev);
    // d_fdopen(dev, fflags, td, fp) or d_open(dev, fflags, S_IFCHR, td):
    // the third and fourth arguments differ.
    let td = KAddr::from_ptr(thread::curthread()).arg();
    let (cdev, fp) = (node.cdev.arg(), f.fp().arg());
    let r = dev_call(k, cred, f.fp(), &node, |sw| match sw.d_fdopen {
        Some(m) => (m as usize, [cdev, u64::from(fmode), td, fp, 0, 0]),
        None => (
            sw.d_open.map_or(0, |m| m as usize),
            [cdev, u64::from(fmode), S_IFCHR, td, 0, 0],
        ),
    });
    let err = match r {
        Ok(0) => None,
        // devfs_open: "if (error == ERESTART) error = EINTR;"
        Ok(e) if e == Errno::ERESTART.0 => Some(Error::Errno(Errno::EINTR)),
        Ok(e) => Some(Error::Errno(Errno(e))),
        Err(e) => Some(e),
    };
    if let Some(e) = err {
        // Clean up any cdevpriv upon error.
        if let Some(p) = k.devfs.detach_file(f.fp()) {
            p.destroy(&k.core).map_err(|_| k.core.panic_error())?;
        }
        k.locks.userret(&k.core);
        return Err(e);
    }
    node.add_open(1);
    if fmode & (sys::O_SHLOCK | sys::O_EXLOCK) != 0
        && let Err(e) = flock_open(k, &f, fmode)
    {
        // vn_open_vnode: "Error from advlock ... still requires calling
        // VOP_CLOSE() to pair with earlier VOP_OPEN()": the file is marked
        // FOPENFAILED and dropped, which closes it.
        f.flags.fetch_or(FOPENFAILED, Ordering::Relaxed);
        return match final_close(k, cred, &f) {
            Err(p @ Error::Panic(_)) => Err(p),
            _ => Err(e),
        };
    }
    let fd = install(k, f);
    k.locks.userret(&k.core);
    Ok(fd)
}

#[cfg(test)]
mod tests;
