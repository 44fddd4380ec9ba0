// SPDX-License-Identifier: BSD-2-Clause
//! make_dev(9): preparing the driver's `cdevsw` (`prep_cdevsw`, with the
//! kernel's default methods), checking the name (`prep_devname`) and creating
//! the node (`make_dev_sv`), for `make_dev_s`, `make_dev`, `make_dev_p` and
//! `make_dev_args_init_impl`.

use super::{CdevMemory, DevNode, Devfs, NodeState, SI_NAMED};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::state::{Core, Injectable, ViolationKind};
use core::ffi::{c_char, c_int, c_void};
use std::sync::{Arc, Mutex};

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

/// The methods of `dead_cdevsw` (`kern_conf.c`), which `prep_cdevsw`
/// installs in a `cdevsw` of the wrong version: a device that exists and
/// answers `ENXIO` (`ENODEV` for poll; the mmaps and strategy are the
/// defaults' own).
extern "C" fn dead_open(
    _dev: *mut sys::cdev,
    _f: c_int,
    _t: c_int,
    _td: *mut sys::thread,
) -> c_int {
    Errno::ENXIO.0
}
extern "C" fn dead_close(
    _dev: *mut sys::cdev,
    _f: c_int,
    _t: c_int,
    _td: *mut sys::thread,
) -> c_int {
    Errno::ENXIO.0
}
extern "C" fn dead_read(_dev: *mut sys::cdev, _uio: *mut sys::uio, _f: c_int) -> c_int {
    Errno::ENXIO.0
}
extern "C" fn dead_write(_dev: *mut sys::cdev, _uio: *mut sys::uio, _f: c_int) -> c_int {
    Errno::ENXIO.0
}
extern "C" fn dead_ioctl(
    _dev: *mut sys::cdev,
    _c: u64,
    _d: *mut c_char,
    _f: c_int,
    _td: *mut sys::thread,
) -> c_int {
    Errno::ENXIO.0
}
extern "C" fn dead_poll(_dev: *mut sys::cdev, _events: c_int, _td: *mut sys::thread) -> c_int {
    Errno::ENODEV.0
}
extern "C" fn dead_kqfilter(_dev: *mut sys::cdev, _kn: *mut c_void) -> c_int {
    Errno::ENXIO.0
}

/// The address of a harness function as the `cdevsw` method type `T`.
///
/// # Safety
/// `f` must have `T`'s C signature up to pointer types.
unsafe fn method<T>(f: *const ()) -> T {
    // SAFETY: by the caller's contract `f` is a function with the
    // method's C signature up to pointer types (all pointers), which the
    // ABI passes alike; `T` is an `Option<extern "C" fn>`, pointer-sized.
    unsafe { core::mem::transmute_copy::<usize, T>(&(f as usize)) }
}

/// `prep_cdevsw`: a `cdevsw` whose `d_version` is not `D_VERSION` gets
/// the warning and `dead_cdevsw`'s methods, and is then prepared as any
/// other (the device is created and answers `ENXIO`).
///
/// # Safety
/// `devsw` must point to the module's writable `struct cdevsw`.
unsafe fn prep_cdevsw(k: &Core, devsw: *mut sys::cdevsw) -> Result<(), Errno> {
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
        macro_rules! dead {
            ($field:ident, $dead:expr, $ty:ty) => {
                // SAFETY: the `dead_*` function has the method's C
                // signature up to pointer types.
                d.$field = unsafe { method::<$ty>($dead as *const ()) };
            };
        }
        dead!(d_open, dead_open, sys::d_open_t);
        dead!(d_close, dead_close, sys::d_close_t);
        dead!(d_read, dead_read, sys::d_read_t);
        dead!(d_write, dead_write, sys::d_write_t);
        dead!(d_ioctl, dead_ioctl, sys::d_ioctl_t);
        dead!(d_poll, dead_poll, sys::d_poll_t);
        // dead_cdevsw's mmaps answer ENODEV, as the defaults do; its
        // strategy finishes the bio with ENXIO, but the harness has no bio
        // layer, so nothing calls a d_strategy.
        dead!(d_mmap, no_mmap, sys::d_mmap_t);
        dead!(d_mmap_single, no_mmap_single, sys::d_mmap_single_t);
        dead!(d_strategy, no_strategy, sys::d_strategy_t);
        dead!(d_kqfilter, dead_kqfilter, sys::d_kqfilter_t);
    }
    macro_rules! fixup {
        ($field:ident, $default:expr, $ty:ty) => {
            if d.$field.is_none() {
                // SAFETY: the default has the method's C signature up to
                // pointer types.
                d.$field = unsafe { method::<$ty>($default as *const ()) };
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

impl Devfs {
    /// `make_dev_sv` with the name already formatted (`len` is what the
    /// formatter returned, longer than `name` if it was cut). Returns 0
    /// or an errno; -1 if the kernel panicked (a bad name without
    /// `MAKEDEV_CHECKNAME`).
    ///
    /// # Safety
    /// `args` must point to a `struct make_dev_args` of `mda_size` bytes
    /// whose `mda_devsw` is the module's cdevsw; `dres` writable.
    pub(crate) unsafe fn make_dev_sv(
        &self,
        k: &Core,
        mem: &impl CdevMemory,
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
        // SAFETY: copies `size <= sizeof(args)` bytes, as bcopy in
        // make_dev_sv.
        unsafe {
            core::ptr::copy_nonoverlapping(args.cast::<u8>(), (&raw mut a).cast::<u8>(), size);
        };
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
        let dev = mem.alloc_cdev(mflags);
        if dev.is_null() {
            return Errno::ENOMEM.0;
        }
        let cdev = KAddr::from_ptr(dev);
        let devsw = a.mda_devsw;
        // SAFETY: by the caller's contract `devsw` is the module's cdevsw.
        if let Err(e) = unsafe { prep_cdevsw(k, devsw) } {
            mem.free_cdev(cdev);
            return e.0;
        }
        // With MAKEDEV_CHECKNAME a taken name is an error the caller
        // handles, and so one the call-order injector may produce
        // (`state/inject.rs`); without it, a panic it must not.
        let clash =
            flags & sys::MAKEDEV_CHECKNAME != 0 && k.inject_fails(Injectable::MakeDevCheckname);
        let devname = prep_devname(name, len).and_then(|n| {
            if clash || self.lock().by_name.contains_key(&n) {
                Err(Errno::EEXIST)
            } else {
                Ok(n)
            }
        });
        let devname = match devname {
            Ok(n) => n,
            Err(e) => {
                mem.free_cdev(cdev);
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
        let devsw = KAddr::from_ptr(devsw);
        let node = Arc::new(DevNode {
            name: devname.clone(),
            cdev,
            devsw,
            uid: a.mda_uid,
            gid: a.mda_gid,
            mode: a.mda_mode.cast_unsigned() & 0o7777,
            state: Mutex::new(NodeState::default()),
        });
        {
            let mut i = self.lock();
            i.by_name.insert(devname, Arc::clone(&node));
            i.by_cdev.insert(cdev, node);
            // devfs_create: the device's inode number.
            self.inodes.alloc(cdev);
            *i.devsw_users.entry(devsw).or_insert(0) += 1;
        }
        // SAFETY: writable by the caller's contract.
        unsafe { *dres = dev };
        0
    }

    /// make_dev(9) / make_dev_p(9) (`make_dev_credv`): the arguments as a
    /// `struct make_dev_args`, then `make_dev_sv`.
    ///
    /// # Safety
    /// `devsw` the module's cdevsw; `dres` writable.
    #[allow(clippy::too_many_arguments, reason = "mirrors the C function")]
    pub(crate) unsafe fn make_dev_credv(
        &self,
        k: &Core,
        mem: &impl CdevMemory,
        flags: c_int,
        dres: *mut *mut sys::cdev,
        devsw: *mut sys::cdevsw,
        unit: c_int,
        cr: *mut sys::ucred,
        uid: u32,
        gid: u32,
        mode: c_int,
        name: &[u8],
        len: c_int,
    ) -> c_int {
        let args = sys::make_dev_args {
            mda_size: size_of::<sys::make_dev_args>(),
            mda_flags: flags,
            mda_devsw: devsw,
            mda_cr: cr,
            mda_uid: uid,
            mda_gid: gid,
            mda_mode: mode,
            mda_unit: unit,
            ..sys::make_dev_args::default()
        };
        // SAFETY: forwarded contract; `args` is a complete local.
        unsafe { self.make_dev_sv(k, mem, &raw const args, dres, name, len) }
    }
}

/// make_dev_args_init_impl(9): `bzero(args, sz); args->mda_size = sz`
/// (no kernel state: an entry point of its own).
///
/// # Safety
/// `args` writable for `sz` bytes.
pub(crate) unsafe extern "C" fn make_dev_args_init_impl(args: *mut sys::make_dev_args, sz: usize) {
    // SAFETY: by the caller's contract.
    unsafe { core::ptr::write_bytes(args.cast::<u8>(), 0, sz) };
    if sz >= size_of::<usize>() {
        // SAFETY: `mda_size` is the first member and fits in `sz`.
        unsafe { (*args).mda_size = sz };
    }
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
