// SPDX-License-Identifier: BSD-2-Clause
//! `dev2udev` and `devtoname(9)`: a device's number and name.
//!
//! Followed: `dev2udev` in `sys/fs/devfs/devfs_vnops.c` (FreeBSD 15; the
//! device's `cdp_inode`, `NODEV` for NULL), `devfs_create` and
//! `devfs_free` in `sys/fs/devfs/devfs_devs.c` (the inode number is
//! allocated when the device is made, the lowest free one above
//! `DEVFS_ROOTINO`, and freed with the `struct cdev`), `devtoname` in
//! `sys/kern/kern_conf.c` (`dev->si_name`).

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::state::ViolationKind;
use core::ffi::c_char;
use core::mem::offset_of;

/// `NODEV` (sys/types.h): `(dev_t)(-1)`.
const NODEV: u64 = u64::MAX;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "dev2udev" => harness_dev2udev,
        "devtoname" => harness_devtoname,
    ]);
}

/// `dev2udev`: the device's inode number, which is also what `stat(2)`
/// reports as its `st_rdev`.
extern "C" fn harness_dev2udev(x: *mut sys::cdev) -> u64 {
    if x.is_null() {
        return NODEV;
    }
    let k = kernel();
    match k.devfs.inode_of(KAddr::from_ptr(x)) {
        Some(ino) => u64::from(ino),
        None => {
            // FreeBSD would read cdev_priv memory around whatever this is.
            k.core.violation(
                ViolationKind::Devfs,
                format!(
                    "dev2udev: {:#x} is not a struct cdev made by make_dev(9)",
                    x.addr()
                ),
            );
            NODEV
        }
    }
}

/// `devtoname(9)`: `dev->si_name` (computed, not read, as in C).
extern "C" fn harness_devtoname(dev: *mut sys::cdev) -> *const c_char {
    dev.cast::<c_char>()
        .wrapping_add(offset_of!(sys::cdev, si_name))
        .cast_const()
}
