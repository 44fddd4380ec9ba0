// SPDX-License-Identifier: BSD-2-Clause
//! SMAP: module code that touches user memory directly takes a fatal page
//! fault, as on amd64 FreeBSD with SMAP (`trap_pfault`, `trap_is_smap` in
//! `sys/amd64/amd64/trap.c`); `copyin(9)` from the same address works.
//! kldtest_smap's d_ioctl does it both ways.

use harness::testing::module_path;
use harness::{Error, Kernel, O_RDWR, ViolationKind, ioccom};

const DEV: &str = "/dev/kldtest_smap";

/// `struct kldtest_smap_req` is 24 bytes.
const REQ: usize = 24;

fn cmd(nr: u8) -> u64 {
    ioccom::iowr(b'S', nr, REQ).unwrap()
}

/// `struct kldtest_smap_req` for user address `addr`, `len` bytes.
fn req(addr: u64, len: u64) -> [u8; REQ] {
    let mut r = [0u8; REQ];
    r[..8].copy_from_slice(&addr.to_le_bytes());
    r[8..16].copy_from_slice(&len.to_le_bytes());
    r
}

fn sum_of(r: &[u8; REQ]) -> u64 {
    u64::from_le_bytes(r[16..24].try_into().unwrap())
}

fn setup() -> (Kernel, i32) {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_smap")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd)
}

#[test]
fn copyin_from_a_user_buffer_works() {
    let (k, fd) = setup();
    let ub = k.user_buf(vec![1, 2, 3, 4]);
    let mut r = req(ub.addr(), 4);
    k.ioctl(fd, cmd(3), &mut r).unwrap();
    assert_eq!(sum_of(&r), 10);
    k.check().unwrap();
}

#[test]
fn reading_a_user_buffer_directly_is_a_fatal_page_fault() {
    let (k, fd) = setup();
    let ub = k.user_buf(vec![1, 2, 3, 4]);
    // The same address through copyin(9) is fine...
    let mut r = req(ub.addr(), 4);
    k.ioctl(fd, cmd(3), &mut r).unwrap();
    assert_eq!(sum_of(&r), 10);
    // ... dereferenced directly, it is a fatal page fault.
    let mut r = req(ub.addr(), 4);
    let e = k.ioctl(fd, cmd(1), &mut r).unwrap_err();
    assert_eq!(e, Error::Panic("page fault".into()));
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Smap);
    let m = &v[0].message;
    assert!(m.starts_with("SMAP: kldtest_smap_ioctl+0x"), "{m}");
    assert!(
        m.contains(&format!("read user address {:#x} directly", ub.addr())),
        "{m}"
    );
    let d = k.dmesg();
    assert!(
        d.contains("\n\nFatal trap 12: page fault while in kernel mode\n"),
        "{d}"
    );
    assert!(
        d.contains(&format!("fault virtual address\t= {:#x}\n", ub.addr())),
        "{d}"
    );
    assert!(
        d.contains("fault code\t\t= supervisor read data, protection violation\n"),
        "{d}"
    );
    assert!(d.contains("instruction pointer\t= 0x20:0x"), "{d}");
    assert!(d.contains("panic: page fault\n"), "{d}");
    assert_eq!(k.expect_panic().as_deref(), Some("page fault"));
}

#[test]
fn writing_a_user_buffer_directly_is_a_fatal_page_fault() {
    let (k, fd) = setup();
    let ub = k.user_buf(vec![7; 8]);
    let mut r = req(ub.addr(), 8);
    assert!(k.ioctl(fd, cmd(2), &mut r).is_err());
    let v = k.take_violations();
    assert!(
        v[0].message
            .contains(&format!("wrote user address {:#x} directly", ub.addr())),
        "{v:?}"
    );
    assert!(
        k.dmesg()
            .contains("supervisor write data, protection violation")
    );
    // The user buffer is untouched.
    assert_eq!(ub.bytes(), &[7; 8]);
    k.expect_panic();
}

#[test]
fn memcpy_from_a_user_buffer_names_its_caller() {
    // memcpy(9) is an emulated kernel function: the fault is in the
    // kernel's code, on behalf of the module function that called it.
    let (k, fd) = setup();
    let ub = k.user_buf(vec![5; 4]);
    let mut r = req(ub.addr(), 4);
    assert_eq!(
        k.ioctl(fd, cmd(4), &mut r).unwrap_err(),
        Error::Panic("page fault".into())
    );
    let v = k.take_violations();
    assert_eq!(v[0].kind, ViolationKind::Smap);
    assert!(
        v[0].message
            .starts_with("SMAP: the kernel function called from kldtest_smap_ioctl+0x"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].message
            .contains(&format!("read user address {:#x}", ub.addr())),
        "{}",
        v[0].message
    );
    k.expect_panic();
}
