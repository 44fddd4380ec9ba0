// SPDX-License-Identifier: BSD-2-Clause
//! `dev2udev` and `devtoname(9)` with kldtest_devname: a device's number
//! is its devfs inode, allocated at make_dev from 3 up (the lowest free,
//! as devfs_devs.c's unit allocator does) and reused only after the
//! device is freed; NULL is `NODEV`.

use harness::testing::module_path;
use harness::{Kernel, SysctlValue};

fn udevs(k: &Kernel) -> [u64; 3] {
    let SysctlValue::Opaque(b) = k.sysctl_get("debug.kldtest_devname.udev").unwrap() else {
        panic!("not opaque");
    };
    assert_eq!(b.len(), 24);
    core::array::from_fn(|i| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap()))
}

#[test]
fn device_numbers_are_unique_stable_and_reused_after_destroy() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_devname")).unwrap();
    assert_eq!(udevs(&k), [3, 4, u64::MAX]);
    assert_eq!(udevs(&k), [3, 4, u64::MAX]);
    assert_eq!(
        k.sysctl_get("debug.kldtest_devname.names").unwrap(),
        SysctlValue::String("kldtest_dn0 kldtest_dn1".into())
    );
    // kldtest_dn0 destroyed (and freed: nobody has it open), kldtest_dn2
    // made: it gets the number freed.
    k.sysctl_set("debug.kldtest_devname.remake", "1").unwrap();
    assert_eq!(udevs(&k), [3, 4, u64::MAX]);
    assert_eq!(
        k.sysctl_get("debug.kldtest_devname.names").unwrap(),
        SysctlValue::String("kldtest_dn2 kldtest_dn1".into())
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn an_open_device_keeps_its_number_until_closed() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_devname")).unwrap();
    let fd = k.open("/dev/kldtest_dn0", harness::O_RDONLY).unwrap();
    // Destroyed but still open: its struct cdev, and number, live on.
    k.sysctl_set("debug.kldtest_devname.remake", "1").unwrap();
    assert_eq!(udevs(&k), [5, 4, u64::MAX]);
    k.close(fd).unwrap();
    k.check().unwrap();
}
