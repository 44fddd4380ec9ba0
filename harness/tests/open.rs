// SPDX-License-Identifier: BSD-2-Clause
//! open(2) flags on device nodes, as `kern_openat`
//! (`sys/kern/vfs_syscalls.c`), `vn_open_cred`/`vn_open_vnode`
//! (`sys/kern/vfs_vnops.c`) and devfs (`sys/fs/devfs/devfs_vnops.c`)
//! handle them: `O_EXEC`, `O_CREAT`/`O_EXCL`, `O_TRUNC`, `O_DIRECTORY`,
//! `O_PATH`, `O_SHLOCK`/`O_EXLOCK`.

use harness::freebsd::{
    O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_EXEC, O_EXLOCK, O_PATH, O_SHLOCK, O_TRUNC,
};
use harness::ioccom::ior;
use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SysctlValue, Whence};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// kldtest_cdev: 0666 root:wheel; MOD_QUIESCE vetoes while it is open.
const CDEV: &str = "/dev/kldtest_cdev";
/// kldtest_cdevpriv: 0600 root:wheel, D_TRACKCLOSE, a record per d_open.
const PRIV: &str = "/dev/kldtest/priv0";

fn user() -> Cred {
    Cred::user(1001, 1001)
}

fn int(k: &Kernel, name: &str) -> i64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Int(v) => v,
        v => panic!("{name}: {v:?}"),
    }
}

/// Records the driver's d_open made and its destructors have not freed.
fn live(k: &Kernel) -> i64 {
    int(k, "debug.kldtest_cdevpriv_live")
}

/// d_close calls (every close: D_TRACKCLOSE).
fn closes(k: &Kernel) -> i64 {
    int(k, "debug.kldtest_cdevpriv_closes")
}

/// `O_EXEC` asks for `VEXEC` (`vn_open_vnode`); `devfs_access` is
/// `vaccess`, which grants root execute only if some execute bit is set
/// ("we don't want this to happen unless the file really is
/// executable"): a 0666 node is not, so even root gets `EACCES`, before
/// the driver is called.
#[test]
fn o_exec_on_a_device_is_eacces_even_for_root() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_cdev")).unwrap();
    assert_eq!(k.open(CDEV, O_EXEC).unwrap_err(), Errno::EACCES);
    assert_eq!(
        k.with_cred(user()).open(CDEV, O_EXEC).unwrap_err(),
        Errno::EACCES
    );
    // "Only one of the O_EXEC, O_RDONLY, O_WRONLY and O_RDWR flags may
    // be specified" (kern_openat), checked before the name.
    assert_eq!(k.open(CDEV, O_EXEC | O_WRONLY).unwrap_err(), Errno::EINVAL);
    assert_eq!(k.open(CDEV, O_EXEC | O_RDWR).unwrap_err(), Errno::EINVAL);
    assert_eq!(
        k.open("/dev/nosuch", O_EXEC | O_RDWR).unwrap_err(),
        Errno::EINVAL
    );
    // Nothing is open: MOD_QUIESCE does not veto.
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

/// `vn_open_cred`: `O_CREAT|O_EXCL` on an existing name is `EEXIST`, before
/// any access check or driver call; `O_CREAT` alone opens the node.
#[test]
fn o_creat_o_excl_on_an_existing_node_is_eexist() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    assert_eq!(
        k.open(PRIV, O_RDWR | O_CREAT | O_EXCL).unwrap_err(),
        Errno::EEXIST
    );
    // The node is 0600 root's: EEXIST still comes first.
    assert_eq!(
        k.with_cred(user())
            .open(PRIV, O_RDONLY | O_CREAT | O_EXCL)
            .unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(live(&k), 0, "d_open was not called");
    let fd = k.open(PRIV, O_RDONLY | O_CREAT).unwrap();
    assert_eq!(live(&k), 1);
    k.close(fd).unwrap();
    k.check().unwrap();
}

/// devfs nodes are made by drivers only: `O_CREAT` of a new name gets as
/// far as `VOP_CREATE`, which devfs directories do not have, so the
/// default vnode operations answer `EOPNOTSUPP`. A directory is `EEXIST`
/// with `O_EXCL`, else `EISDIR`, as is opening one for writing.
#[test]
fn o_creat_cannot_make_a_node() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    for path in ["/dev/newnode", "/dev/kldtest/new"] {
        assert_eq!(
            k.open(path, O_WRONLY | O_CREAT).unwrap_err(),
            Errno::EOPNOTSUPP,
            "{path}"
        );
        assert_eq!(
            k.open(path, O_WRONLY | O_CREAT | O_EXCL).unwrap_err(),
            Errno::EOPNOTSUPP,
            "{path}"
        );
        assert_eq!(k.open(path, O_WRONLY).unwrap_err(), Errno::ENOENT);
    }
    // The parent directory must exist.
    assert_eq!(
        k.open("/dev/nodir/new", O_WRONLY | O_CREAT).unwrap_err(),
        Errno::ENOENT
    );
    // /dev/kldtest is a directory.
    assert_eq!(
        k.open("/dev/kldtest", O_RDONLY | O_CREAT | O_EXCL)
            .unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(
        k.open("/dev/kldtest", O_RDONLY | O_CREAT).unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(k.open("/dev/kldtest", O_RDWR).unwrap_err(), Errno::EISDIR);
    assert_eq!(
        k.open("/dev/kldtest", O_RDONLY | O_TRUNC).unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(live(&k), 0);
}

/// `vn_open_vnode`: "if (vp->v_type != VDIR && fmode & O_DIRECTORY)
/// return (ENOTDIR)", before the access check; `vn_open_cred` refuses
/// `O_CREAT|O_EXCL|O_DIRECTORY` outright.
#[test]
fn o_directory_on_a_device_is_enotdir() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    assert_eq!(
        k.open(PRIV, O_RDONLY | O_DIRECTORY).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        k.with_cred(user())
            .open(PRIV, O_RDWR | O_DIRECTORY)
            .unwrap_err(),
        Errno::ENOTDIR
    );
    // O_CREAT with O_DIRECTORY only looks up.
    assert_eq!(
        k.open(PRIV, O_RDONLY | O_CREAT | O_DIRECTORY).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        k.open(PRIV, O_RDONLY | O_CREAT | O_EXCL | O_DIRECTORY)
            .unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(live(&k), 0);
}

/// `O_TRUNC` needs write access (`vn_open_vnode`) and then truncates with
/// `fo_truncate` (`kern_openat`), which for a device ends in
/// `devfs_setattr`, which ignores the size: the driver's data stays, as
/// `echo > /dev/null` relies on.
#[test]
fn o_trunc_on_a_device_truncates_nothing() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdev")).unwrap();
    let fd = k.open(CDEV, O_RDWR).unwrap();
    k.write(fd, b"kept").unwrap();
    // A shell's `>`.
    let t = k.open(CDEV, O_WRONLY | O_CREAT | O_TRUNC).unwrap();
    k.close(t).unwrap();
    let t = k.open(CDEV, O_RDONLY | O_TRUNC).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(k.pread(t, &mut buf, 0).unwrap(), 4);
    assert_eq!(&buf[..4], b"kept");
    // O_TRUNC does not give write access.
    assert_eq!(k.write(t, b"x").unwrap_err(), Errno::EBADF);
    k.close(t).unwrap();
    // O_APPEND is kept in the file's flags (FMASK) but devfs ignores it.
    let a = k.open(CDEV, O_WRONLY | O_APPEND).unwrap();
    k.close(a).unwrap();
    k.close(fd).unwrap();
    k.check().unwrap();
}

/// `O_PATH` (`kern_openat`, `vn_open_vnode`): no access mode, no
/// `VOP_OPEN` and so no `d_open`/`d_close`; reads, writes and ioctls are
/// `EBADF`, seeks `ESPIPE`; only `O_EXEC` is checked; `O_CREAT` and
/// `O_EXLOCK` are ignored (FreeBSD's `tests/sys/file/path_test.c`).
#[test]
fn o_path_opens_the_node_without_the_driver() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let u = k.with_cred(user());
    // The user may not open the 0600 node, but may have a path to it.
    assert_eq!(u.open(PRIV, O_RDONLY).unwrap_err(), Errno::EACCES);
    let fd = u.open(PRIV, O_PATH | O_RDWR).unwrap();
    assert_eq!(live(&k), 0, "d_open was not called");
    let mut buf = [0u8; 8];
    assert_eq!(u.read(fd, &mut buf).unwrap_err(), Errno::EBADF);
    assert_eq!(u.pread(fd, &mut buf, 0).unwrap_err(), Errno::EBADF);
    assert_eq!(u.write(fd, b"x").unwrap_err(), Errno::EBADF);
    assert_eq!(
        u.ioctl(fd, ior(b'P', 3, 4).unwrap(), &mut [0u8; 4])
            .unwrap_err(),
        Errno::EBADF
    );
    assert_eq!(u.lseek(fd, 0, Whence::Set).unwrap_err(), Errno::ESPIPE);
    u.close(fd).unwrap();
    assert_eq!(closes(&k), 0, "d_close was not called");
    // O_EXEC is still checked: no execute bit.
    assert_eq!(k.open(PRIV, O_PATH | O_EXEC).unwrap_err(), Errno::EACCES);
    // O_CREAT is dropped: a missing name is ENOENT.
    assert_eq!(
        k.open("/dev/kldtest/new", O_PATH | O_CREAT).unwrap_err(),
        Errno::ENOENT
    );
    // O_EXLOCK is ignored.
    let locked = k.open(PRIV, O_RDONLY | O_EXLOCK).unwrap();
    let p = k.open(PRIV, O_PATH | O_EXLOCK | O_NONBLOCK).unwrap();
    k.close(p).unwrap();
    k.close(locked).unwrap();
    assert!(!k.dmesg().contains("dtor 2"));
    k.check().unwrap();
}

/// `O_SHLOCK`/`O_EXLOCK` take a flock(2) lock after `d_open`
/// (`vn_open_vnode_advlock`; devfs has no `vop_advlock`, so
/// `vop_stdadvlock` locks the device as any file). A conflict is `EAGAIN`
/// with `O_NONBLOCK`, after which the file is closed again (`d_close`,
/// the cdevpriv destructor); without it the open waits for the holder to
/// close.
#[test]
fn o_exlock_and_o_shlock_take_a_flock_lock() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    let ex = k.open(PRIV, O_RDWR | O_EXLOCK).unwrap();
    assert_eq!(
        k.open(PRIV, O_RDONLY | O_SHLOCK | O_NONBLOCK).unwrap_err(),
        Errno::EAGAIN
    );
    // The driver saw an open and a close; its record was destroyed.
    assert_eq!((live(&k), closes(&k)), (1, 1));
    assert!(k.dmesg().contains("kldtest_cdevpriv: dtor 2\n"));
    // Without a lock flag there is no conflict.
    let plain = k.open(PRIV, O_RDONLY).unwrap();
    k.close(plain).unwrap();
    // Without O_NONBLOCK the open waits for the exclusive lock to go.
    let done = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (k, done) = (k.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let r = k.open(PRIV, O_RDONLY | O_SHLOCK);
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!done.load(Ordering::SeqCst), "O_SHLOCK did not wait");
    k.close(ex).unwrap();
    let sh1 = waiter.join().unwrap().unwrap();
    // Shared locks coexist; an exclusive one conflicts with them.
    let sh2 = k.open(PRIV, O_RDONLY | O_SHLOCK | O_NONBLOCK).unwrap();
    assert_eq!(
        k.open(PRIV, O_RDWR | O_EXLOCK | O_NONBLOCK).unwrap_err(),
        Errno::EAGAIN
    );
    k.close(sh1).unwrap();
    k.close(sh2).unwrap();
    // The last close released them.
    let ex = k.open(PRIV, O_RDWR | O_EXLOCK | O_NONBLOCK).unwrap();
    k.close(ex).unwrap();
    assert_eq!(live(&k), 0);
    k.check().unwrap();
}
