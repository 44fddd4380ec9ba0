// SPDX-License-Identifier: BSD-2-Clause
//! make_dev_s(9) and devfs_set_cdevpriv(9): kldtest_cdevpriv (a
//! DEV_MODULE with per-open records and D_TRACKCLOSE).

use harness::ioccom::{io, ior};
use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, O_RDONLY, O_RDWR, SysctlValue};

const DEV: &str = "/dev/kldtest/priv0";

fn live(k: &Kernel) -> SysctlValue {
    k.sysctl_get("debug.kldtest_cdevpriv_live").unwrap()
}

fn read_line(k: &Kernel, fd: i32) -> String {
    let mut buf = [0u8; 64];
    let n = k.pread(fd, &mut buf, 0).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn make_dev_s_creates_the_node_with_its_attributes() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let d = k.devices();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].name.as_str(), d[0].uid, d[0].gid, d[0].mode),
        ("kldtest/priv0", 0, 0, 0o600)
    );
    // 0600 root:wheel: others may not open it (VOP_ACCESS).
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(user.open(DEV, O_RDONLY).unwrap_err(), Errno::EACCES);
    let wheel_member = k.with_cred(Cred {
        uid: 1002,
        gid: 20,
        groups: vec![20, 0],
    });
    assert_eq!(
        wheel_member.open(DEV, O_RDONLY).unwrap_err(),
        Errno::EACCES,
        "group bits are 0"
    );
}

#[test]
fn each_open_has_its_own_record_and_destructor() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(live(&k), SysctlValue::Int(2));
    assert_eq!(read_line(&k, a), "open 1 reads 1\n");
    assert_eq!(read_line(&k, a), "open 1 reads 2\n");
    assert_eq!(read_line(&k, b), "open 2 reads 1\n");
    let mut idb = [0u8; 4];
    k.ioctl(b, ior(b'P', 3, 4).unwrap(), &mut idb).unwrap();
    assert_eq!(i32::from_le_bytes(idb), 2);
    // A second devfs_set_cdevpriv on the same file: EBUSY.
    assert_eq!(k.ioctl_raw(a, io(b'P', 2), 0).unwrap_err(), Errno::EBUSY);
    // D_TRACKCLOSE: d_close on every close; the destructor after it.
    k.close(a).unwrap();
    assert!(k.dmesg().contains("kldtest_cdevpriv: dtor 1\n"));
    assert_eq!(live(&k), SysctlValue::Int(1));
    assert_eq!(
        k.sysctl_get("debug.kldtest_cdevpriv_closes").unwrap(),
        SysctlValue::Int(1)
    );
    // devfs_clear_cdevpriv runs the destructor now; then get fails ENOENT.
    k.ioctl_raw(b, io(b'P', 1), 0).unwrap();
    assert!(k.dmesg().contains("kldtest_cdevpriv: dtor 2\n"));
    assert_eq!(k.pread(b, &mut [0u8; 8], 0).unwrap_err(), Errno::ENOENT);
    k.close(b).unwrap();
    assert_eq!(live(&k), SysctlValue::Int(0));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn destroy_dev_runs_the_destructors_of_open_files() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDWR).unwrap();
    // This driver does not veto: MOD_UNLOAD destroys the device while
    // it is open.
    k.kldunload(id, false).unwrap();
    let d = k.dmesg();
    assert!(d.contains("dtor 1") && d.contains("dtor 2"), "{d}");
    assert_eq!(k.read(a, &mut [0u8; 8]).unwrap_err(), Errno::ENXIO);
    k.close(a).unwrap();
    k.close(b).unwrap();
    assert_eq!(
        k.malloc_stats("kldtest_cdevpriv"),
        None,
        "type gone with the module"
    );
    k.check().unwrap();
}

#[test]
fn make_dev_s_refuses_taken_and_bad_names_with_checkname() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let make = harness::ioccom::iow(b'P', 4, 4).unwrap();
    assert_eq!(
        k.ioctl(fd, make, &mut 0i32.to_le_bytes()).unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(
        k.ioctl(fd, make, &mut 1i32.to_le_bytes()).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(k.devices().len(), 1);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn names_are_checked_as_prep_devname_does() {
    // Two kernels each get their own /dev: no collision across kernels.
    let k1 = Kernel::new();
    let k2 = Kernel::new();
    k1.kldload(module_path("kldtest_cdevpriv")).unwrap();
    k2.kldload(module_path("kldtest_cdevpriv")).unwrap();
    // A second device with a taken name: kldtest_cdev uses make_dev
    // (no MAKEDEV_CHECKNAME), so a collision would panic; creating the
    // same module's name in the same kernel is refused by the linker
    // first (EEXIST), which is what FreeBSD does too.
    assert_eq!(
        k1.kldload(module_path("kldtest_cdevpriv")).unwrap_err(),
        Errno::EEXIST
    );
}
