// SPDX-License-Identifier: BSD-2-Clause
//! Character devices through devfs: open/read/write/ioctl/close on
//! kldtest_cdev (a handbook-style echo device), uio and copy(9)
//! semantics, EFAULT injection, permissions, and unload races.

use harness::ioccom::{io, ior, iow, iowr};
use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, O_RDONLY, O_RDWR, O_WRONLY, Whence};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DEV: &str = "/dev/kldtest_cdev";
const XFER: usize = 16; // struct kldtest_xfer { void *; size_t; }

fn getlen() -> u64 {
    ior(b'K', 1, 4).unwrap()
}
fn setlen() -> u64 {
    iow(b'K', 2, 4).unwrap()
}
fn clear() -> u64 {
    io(b'K', 3)
}
fn get() -> u64 {
    iowr(b'K', 4, XFER).unwrap()
}
fn put() -> u64 {
    iow(b'K', 5, XFER).unwrap()
}

fn xfer(addr: u64, len: u64) -> [u8; XFER] {
    let mut b = [0u8; XFER];
    b[..8].copy_from_slice(&addr.to_le_bytes());
    b[8..].copy_from_slice(&len.to_le_bytes());
    b
}

fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_cdev")).unwrap();
    (k, id)
}

fn read_all(k: &Kernel, fd: i32) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let n = k.pread(fd, &mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn echo_write_then_read() {
    let (k, id) = loaded();
    assert!(
        k.dmesg()
            .contains("kldtest_cdev: /dev/kldtest_cdev created")
    );
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.write(fd, b"hello").unwrap(), 5);
    // Appending at the end of the message is allowed...
    assert_eq!(k.write(fd, b", world").unwrap(), 7);
    // ...but not at another offset.
    assert_eq!(k.pwrite(fd, b"x", 3).unwrap_err(), Errno::EINVAL);
    assert_eq!(k.lseek(fd, 0, Whence::Set).unwrap(), 0);
    let mut buf = [0u8; 64];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 12);
    assert_eq!(&buf[..12], b"hello, world");
    // The offset moved: the next read is at the end.
    assert_eq!(k.read(fd, &mut buf).unwrap(), 0);
    assert_eq!(k.pread(fd, &mut buf[..3], 7).unwrap(), 3);
    assert_eq!(&buf[..3], b"wor");
    // A zero-length read does not reach the driver; a write does.
    assert_eq!(k.read(fd, &mut []).unwrap(), 0);
    k.close(fd).unwrap();
    assert_eq!(k.close(fd).unwrap_err(), Errno::EBADF);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn character_devices_allow_negative_offsets() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"abc").unwrap();
    assert_eq!(k.lseek(fd, -10, Whence::Set).unwrap(), -10);
    let mut buf = [0u8; 4];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 0);
    assert_eq!(k.pread(fd, &mut buf, -1).unwrap(), 0);
    assert_eq!(k.lseek(fd, 11, Whence::Cur).unwrap(), 1);
    assert_eq!(k.read(fd, &mut buf).unwrap(), 2);
    k.close(fd).unwrap();
}

#[test]
fn access_modes_are_enforced() {
    let (k, _) = loaded();
    let ro = k.open(DEV, O_RDONLY).unwrap();
    assert_eq!(k.write(ro, b"x").unwrap_err(), Errno::EBADF);
    let wo = k.open(DEV, O_WRONLY).unwrap();
    assert_eq!(k.read(wo, &mut [0u8; 4]).unwrap_err(), Errno::EBADF);
    assert_eq!(k.open(DEV, 3).unwrap_err(), Errno::EINVAL);
    assert_eq!(k.open("/dev/nosuch", O_RDWR).unwrap_err(), Errno::ENOENT);
    // 0666: anyone may open it.
    let user = k.with_cred(Cred::user(1001, 1001));
    let fd = user.open(DEV, O_RDWR).unwrap();
    user.close(fd).unwrap();
    k.close(ro).unwrap();
    k.close(wo).unwrap();
}

#[test]
fn ioctl_follows_sys_ioctl() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"0123456789").unwrap();
    // IOC_OUT: copied out on success.
    let mut len = [0u8; 4];
    k.ioctl(fd, getlen(), &mut len).unwrap();
    assert_eq!(i32::from_le_bytes(len), 10);
    // IOC_IN: copied in.
    k.ioctl(fd, setlen(), &mut 4i32.to_le_bytes()).unwrap();
    assert_eq!(read_all(&k, fd), b"0123");
    assert_eq!(
        k.ioctl(fd, setlen(), &mut 40i32.to_le_bytes()).unwrap_err(),
        Errno::EINVAL
    );
    // IOC_VOID.
    k.ioctl_raw(fd, clear(), 0).unwrap();
    assert_eq!(read_all(&k, fd), b"");
    // A command the driver does not know: ENOIOCTL becomes ENOTTY.
    assert_eq!(k.ioctl_raw(fd, io(b'K', 99), 0).unwrap_err(), Errno::ENOTTY);
    // Malformed commands: no direction, IOC_OUT of size 0, IOC_VOID with
    // a size other than an int's.
    assert_eq!(k.ioctl_raw(fd, 0x0000_4b01, 0).unwrap_err(), Errno::ENOTTY);
    assert_eq!(
        k.ioctl_raw(fd, u64::from(harness::freebsd::IOC_OUT) | 0x4b01, 0)
            .unwrap_err(),
        Errno::ENOTTY
    );
    assert_eq!(
        k.ioctl_raw(
            fd,
            u64::from(harness::freebsd::IOC_VOID) | (8 << 16) | 0x4b01,
            0
        )
        .unwrap_err(),
        Errno::ENOTTY
    );
    // A user buffer shorter than the command's size faults in copyin.
    assert_eq!(
        k.ioctl(fd, setlen(), &mut [0u8; 2]).unwrap_err(),
        Errno::EFAULT
    );
    // Pointers inside the argument: copyin/copyout to user buffers.
    let src = k.user_buf(b"from user space".to_vec());
    k.ioctl(fd, put(), &mut xfer(src.addr(), src.len() as u64))
        .unwrap();
    assert_eq!(read_all(&k, fd), b"from user space");
    let dst = k.user_buf(vec![0; 4]);
    let mut x = xfer(dst.addr(), 4);
    k.ioctl(fd, get(), &mut x).unwrap();
    assert_eq!(dst.bytes(), b"from");
    assert_eq!(
        u64::from_le_bytes(x[8..].try_into().unwrap()),
        4,
        "IOC_OUT copied back"
    );
    // An address outside user memory faults; the driver's EFBIG passes.
    assert_eq!(
        k.ioctl(fd, get(), &mut xfer(0x1000, 4)).unwrap_err(),
        Errno::EFAULT
    );
    assert_eq!(
        k.ioctl(fd, put(), &mut xfer(src.addr(), 1 << 20))
            .unwrap_err(),
        Errno::EFBIG
    );
    // FIONBIO is passed down (this driver does not handle it: ENOTTY) but
    // the flag is set, as kern_ioctl does.
    assert_eq!(
        k.ioctl(
            fd,
            u64::from(harness::freebsd::FIONBIO),
            &mut 1i32.to_le_bytes()
        )
        .unwrap_err(),
        Errno::ENOTTY
    );
    assert!(k.ioctl_raw(99, clear(), 0).unwrap_err() == Errno::EBADF);
    k.close(fd).unwrap();
    assert!(k.uio_stats().copyin_calls >= 1 && k.uio_stats().copyout_calls >= 1);
}

#[test]
fn writev_and_readv_walk_the_iovecs() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.writev(fd, &[b"ab", b"", b"cde", b"", b"f"]).unwrap(), 6);
    let (mut a, mut b, mut c) = ([0u8; 1], [0u8; 0], [0u8; 10]);
    k.lseek(fd, 0, Whence::Set).unwrap();
    assert_eq!(k.readv(fd, &mut [&mut a, &mut b, &mut c]).unwrap(), 6);
    assert_eq!((&a[..], &c[..5]), (&b"a"[..], &b"bcdef"[..]));
    let many: Vec<&[u8]> = vec![b"x"; 1025];
    assert_eq!(
        k.writev(fd, &many).unwrap_err(),
        Errno::EINVAL,
        "more than UIO_MAXIOV"
    );
    let ok: Vec<&[u8]> = vec![b"x"; 1024];
    k.lseek(fd, 0, Whence::Set).unwrap();
    assert_eq!(k.writev(fd, &ok).unwrap(), 1024);
    k.close(fd).unwrap();
}

#[test]
fn efault_injection_at_a_chosen_byte() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    // A write whose 4th byte faults: copyin fails, nothing is consumed.
    k.inject_efault(Some(3));
    assert_eq!(k.write(fd, b"0123456789").unwrap_err(), Errno::EFAULT);
    assert_eq!(read_all(&k, fd), b"");
    // Faulting in the second iovec: the first chunk was moved.
    k.lseek(fd, 0, Whence::Set).unwrap();
    k.inject_efault(Some(4));
    assert_eq!(
        k.writev(fd, &[b"abc", b"defgh"]).unwrap_err(),
        Errno::EFAULT
    );
    assert_eq!(read_all(&k, fd), b"abc");
    // A read into a buffer whose 2nd byte faults: copyout copied the
    // first byte, the read fails.
    k.pwrite(fd, b"0123456789", 0).unwrap();
    let mut buf = [b'-'; 10];
    k.inject_efault(Some(1));
    assert_eq!(k.pread(fd, &mut buf, 0).unwrap_err(), Errno::EFAULT);
    assert_eq!(&buf[..3], b"0--");
    // The injection was one-shot.
    assert_eq!(k.pread(fd, &mut buf, 0).unwrap(), 10);
    assert!(k.uio_stats().faults >= 3);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn uio_counters_count_calls_and_bytes() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let before = k.uio_stats();
    k.write(fd, &[7u8; 100]).unwrap();
    let mut buf = [0u8; 100];
    k.pread(fd, &mut buf, 0).unwrap();
    let after = k.uio_stats();
    assert_eq!(after.uiomove_calls - before.uiomove_calls, 2);
    assert_eq!(after.uiomove_from_user - before.uiomove_from_user, 100);
    assert_eq!(after.uiomove_to_user - before.uiomove_to_user, 100);
    k.close(fd).unwrap();
}

#[test]
fn quiesce_vetoes_while_open() {
    let (k, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert!(k.devices().is_empty());
}

#[test]
fn many_threads_of_random_io() {
    let (k, id) = loaded();
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let k = k.clone();
            std::thread::spawn(move || {
                let fd = k.open(DEV, O_RDWR).unwrap();
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ t;
                let mut buf = [0u8; 256];
                for _ in 0..1000 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let n = (seed % 200) as usize + 1;
                    match seed % 4 {
                        0 => {
                            k.pwrite(fd, &[t as u8; 200][..n], 0).unwrap();
                        }
                        1 => {
                            let got = k.pread(fd, &mut buf[..n], 0).unwrap();
                            // A message is always written whole with one
                            // byte value: what is read is uniform.
                            assert!(buf[..got].windows(2).all(|w| w[0] == w[1]), "torn read");
                        }
                        2 => {
                            let mut l = [0u8; 4];
                            k.ioctl(fd, getlen(), &mut l).unwrap();
                        }
                        _ => {
                            let _ = k.lseek(fd, (seed % 300) as i64, Whence::Set).unwrap();
                            let _ = k.read(fd, &mut buf[..n]).unwrap();
                        }
                    }
                }
                k.close(fd).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

/// Keeps a reader inside `d_read` (the module's gate), then unloads.
#[test]
fn unload_races_with_threads_inside_the_driver() {
    let (k, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, b"payload").unwrap();
    k.sysctl_set("debug.kldtest_cdev_gate", "1").unwrap();
    let reader = {
        let k = k.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            let r = k.pread(fd, &mut buf, 0);
            (r, buf)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while k.dev_threads("kldtest_cdev") != Some(1) {
        assert!(Instant::now() < deadline, "reader never entered");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Unforced: MOD_QUIESCE vetoes (open, and a thread is inside).
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    // Forced: MOD_UNLOAD's destroy_dev must wait for the reader.
    let done = Arc::new(AtomicBool::new(false));
    let unloader = {
        let (k, done) = (k.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let r = k.kldunload(id, true);
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !done.load(Ordering::SeqCst),
        "destroy_dev did not wait for the reader"
    );
    assert!(
        k.devices().is_empty(),
        "the name is gone while destroy_dev waits"
    );
    assert_eq!(k.open(DEV, O_RDWR).unwrap_err(), Errno::ENOENT);
    k.sysctl_set("debug.kldtest_cdev_gate", "0").unwrap();
    unloader.join().unwrap().unwrap();
    let (r, buf) = reader.join().unwrap();
    assert_eq!(r.unwrap(), 7);
    assert_eq!(&buf[..7], b"payload");
    // The file outlived the device: operations get ENXIO, close works.
    assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap_err(), Errno::ENXIO);
    assert_eq!(k.ioctl_raw(fd, clear(), 0).unwrap_err(), Errno::ENXIO);
    k.close(fd).unwrap();
    assert_eq!(k.kldstat().len(), 1);
    assert_eq!(
        k.sysctl_get("debug.kldtest_cdev_gate").unwrap_err(),
        Errno::ENOENT
    );
    k.check().unwrap();
}

#[test]
fn a_cdevsw_of_the_wrong_version_gets_a_dead_device() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_badversion")).unwrap();
    let d = k.dmesg();
    assert!(
        d.contains(
            "WARNING: Device driver \"kldtest_badversion\" has wrong version and is disabled.  Recompile KLD module.\n"
        ),
        "{d}"
    );
    assert!(
        d.contains("kldtest_badversion: make_dev returned a device\n"),
        "{d}"
    );
    assert!(
        k.devices().iter().any(|e| e.name == "kldtest_badversion"),
        "{:?}",
        k.devices()
    );
    assert_eq!(
        k.open("/dev/kldtest_badversion", O_RDONLY).unwrap_err(),
        Errno::ENXIO
    );
    assert_eq!(
        k.open("/dev/kldtest_badversion", O_RDWR).unwrap_err(),
        Errno::ENXIO
    );
    assert!(!k.dmesg().contains("must not happen"));
    k.kldunload(id, false).unwrap();
    assert!(k.devices().iter().all(|e| e.name != "kldtest_badversion"));
    k.check().unwrap();
}
