// SPDX-License-Identifier: BSD-2-Clause
//! Device inode numbers (`cdp_inode`), which `dev2udev` returns and
//! `stat(2)` reports.
//!
//! Followed: `sys/fs/devfs/devfs_devs.c` (FreeBSD 15): `devfs_inos` is a
//! unit number allocator from `DEVFS_ROOTINO + 1` (3) to `INT_MAX`;
//! `devfs_create` (make_dev) takes the lowest free number, `devfs_free`
//! (when the last reference to the `struct cdev` goes) gives it back, so
//! a number is reused only after its device is gone.

use crate::addr::KAddr;
use crate::sync::lock_ignoring_poison;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// The first number `devfs_inos` hands out (`DEVFS_ROOTINO + 1`).
const FIRST: u32 = 3;

#[derive(Default)]
struct Inner {
    by_ino: BTreeMap<u32, KAddr>,
    by_cdev: HashMap<KAddr, u32>,
}

/// The inode numbers of one kernel's devices.
#[derive(Default)]
pub(crate) struct Inodes {
    inner: Mutex<Inner>,
}

impl Inodes {
    /// `alloc_unrl(devfs_inos)` for a new device: the lowest free number.
    pub(crate) fn alloc(&self, cdev: KAddr) -> u32 {
        let mut i = lock_ignoring_poison(&self.inner);
        let mut ino = FIRST;
        for &used in i.by_ino.keys() {
            if used != ino {
                break;
            }
            ino += 1;
        }
        i.by_ino.insert(ino, cdev);
        i.by_cdev.insert(cdev, ino);
        ino
    }

    /// `devfs_free_cdp_inode`: the device's `struct cdev` is freed.
    pub(crate) fn free(&self, cdev: KAddr) {
        let mut i = lock_ignoring_poison(&self.inner);
        if let Some(ino) = i.by_cdev.remove(&cdev) {
            i.by_ino.remove(&ino);
        }
    }

    /// The number of a device that is not freed yet.
    pub(crate) fn of(&self, cdev: KAddr) -> Option<u32> {
        lock_ignoring_poison(&self.inner)
            .by_cdev
            .get(&cdev)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Inodes;
    use crate::addr::KAddr;

    #[test]
    fn lowest_free_number_from_three() {
        let n = Inodes::default();
        let (a, b, c) = (KAddr::new(0x1000), KAddr::new(0x2000), KAddr::new(0x3000));
        assert_eq!(n.alloc(a), 3);
        assert_eq!(n.alloc(b), 4);
        n.free(a);
        assert_eq!(n.of(a), None);
        assert_eq!(n.alloc(c), 3);
        assert_eq!(n.of(b), Some(4));
    }
}
