// SPDX-License-Identifier: BSD-2-Clause
//! Kernel stacks: module code runs on a 16 KiB stack with a guard below
//! (FreeBSD amd64's `KSTACK_PAGES` 4, `KSTACK_GUARD_PAGES` 1, in
//! `sys/amd64/include/param.h`); an overflow is a kernel stack overflow
//! naming the entry point, and each entry point's peak use is measured.
//! kldtest_stack keeps 8 KiB on the stack in d_read (fits) and 64 KiB in
//! d_write (does not); the project's modules stay well below the limit.

use echo_testkit as device;
use echo_testkit::{DEV, MODULE};
use harness::testing::module_path;
use harness::{Error, Kernel, O_RDWR, StackUse, ViolationKind};

/// What an entry point of the project's modules may use: the issue's
/// goal of 2 KiB per entry point.
const BOUND: usize = 2048;

fn peak(k: &Kernel, entry: &str) -> Option<StackUse> {
    k.stack_usage().into_iter().find(|u| u.entry == entry)
}

/// Prints the figures (shown with `--nocapture`) and checks that every
/// entry point used some stack and less than `bound`.
fn check_all_below(k: &Kernel, module: &str, bound: usize) {
    let usage = k.stack_usage();
    assert!(!usage.is_empty(), "{module}: nothing measured");
    for u in &usage {
        println!(
            "{module}: {:>5} bytes peak over {:>3} calls  {}",
            u.peak, u.calls, u.entry
        );
    }
    for u in &usage {
        assert!(u.peak > 0, "{module}: {} used no stack", u.entry);
        assert!(
            u.peak < bound,
            "{module}: {} used {} bytes of kernel stack",
            u.entry,
            u.peak
        );
    }
}

#[test]
fn a_large_frame_that_fits_is_measured() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_stack")).unwrap();
    let fd = k.open("/dev/kldtest_stack", O_RDWR).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 16);
    assert_eq!(&buf, b"kkkkkkkkkkkkkkkk");
    let u = peak(&k, "kldtest_stack_read").unwrap();
    assert!(u.peak >= 8192 && u.peak < 16 * 1024, "{u:?}");
    assert_eq!(u.calls, 1);
    k.check().unwrap();
}

#[test]
fn an_overflow_is_reported_with_its_entry_point() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_stack")).unwrap();
    let fd = k.open("/dev/kldtest_stack", O_RDWR).unwrap();
    let e = k.write(fd, b"x").unwrap_err();
    assert_eq!(e, Error::Panic("double fault".into()));
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Stack);
    assert!(
        v[0].message
            .starts_with("kernel stack overflow in kldtest_stack_write"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].message.contains("(entry point kldtest_stack_write)"),
        "{}",
        v[0].message
    );
    assert!(k.dmesg().contains("\nFatal double fault\nrip 0x"));
    assert_eq!(k.expect_panic().as_deref(), Some("double fault"));
}

#[test]
fn the_process_goes_on_after_an_overflow() {
    // The overflowed thread's stack is reused by its next call into
    // module code, in another kernel.
    let a = Kernel::new();
    a.kldload(module_path("kldtest_stack")).unwrap();
    let fd = a.open("/dev/kldtest_stack", O_RDWR).unwrap();
    assert!(a.write(fd, b"x").is_err());
    a.take_violations();
    a.expect_panic();
    let b = Kernel::new();
    b.kldload(module_path("kldtest_stack")).unwrap();
    let fd = b.open("/dev/kldtest_stack", O_RDWR).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(b.read(fd, &mut buf).unwrap(), 4);
    b.check().unwrap();
}

#[test]
fn rustecho_stays_below_the_bound() {
    let (k, id) = device::loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.write(fd, b"stack").unwrap(), 5);
    assert_eq!(device::info(&k, fd).length, 5);
    assert!(device::fionread(&k, fd) >= 0);
    k.lseek(fd, 0, harness::Whence::Set).unwrap();
    assert_eq!(device::cat(&k, fd, 3), b"stack");
    k.close(fd).unwrap();
    assert!(device::sysctl(&k, "maxlen") > 0);
    k.sysctl_set("hw.rustecho.maxlen", "1024").unwrap();
    k.kldunload(id, false).unwrap();
    for entry in [
        "kern::cdev::cdev_write",
        "kern::cdev::cdev_read",
        "kern::cdev::cdev_ioctl",
    ] {
        assert!(peak(&k, entry).is_some(), "{entry} not measured");
    }
    check_all_below(&k, MODULE, BOUND);
    k.check().unwrap();
}

#[test]
fn hello_stays_below_the_bound() {
    let k = Kernel::new();
    let id = k.kldload(module_path("hello")).unwrap();
    k.sysctl_set("hw.hello.repeat", "3").unwrap();
    k.sysctl_get("hw.hello.repeat").unwrap();
    assert!(k.sysctl_set("hw.hello.repeat", "1000").is_err());
    k.kldunload(id, false).unwrap();
    check_all_below(&k, "hello", BOUND);
    k.take_violations();
}

#[test]
fn kselftest_stays_below_the_bound() {
    /// `_IOWR('K', 1, struct kselftest_case)`.
    const KSELFTEST_RUN: u64 = 0xc010_4b01;
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    let fd = k.open("/dev/kselftest", O_RDWR).unwrap();
    // KC_PING, KC_MALLOC_ALIGN, KC_REALLOC_ZERO, KC_PRINT_LONG.
    for case in [0u32, 1, 3, 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&case.to_ne_bytes());
        k.ioctl(fd, KSELFTEST_RUN, &mut b).unwrap();
    }
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    check_all_below(&k, "kselftest", BOUND);
    k.check().unwrap();
}

#[test]
fn a_nested_entry_runs_below_its_callers_frames() {
    // kldtest_sbuf's sysctl handler calls sbuf_finish, whose emulation
    // (on the host stack) calls the module's drain back: the drain runs
    // on the same kernel stack, below the handler's frames, so the
    // handler's peak includes the drain's.
    let k = Kernel::new();
    k.kldload(module_path("kldtest_sbuf")).unwrap();
    let v = k.sysctl_get("debug.kldtest_sbuf.drains").unwrap();
    assert_eq!(v, harness::SysctlValue::String("110 0 -1 5 3".into()));
    let drain = peak(&k, "kldtest_sbuf_drain").unwrap();
    let handler = peak(&k, "kldtest_sbuf_drains_handler").unwrap();
    // Two requests (sysctl(8) asks for the size, then the value), three
    // drain calls each.
    assert_eq!(drain.calls, 6);
    assert!(drain.peak > 0, "{drain:?}");
    assert!(handler.peak > drain.peak, "{handler:?} {drain:?}");
    k.check().unwrap();
}
