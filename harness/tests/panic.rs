// SPDX-License-Identifier: BSD-2-Clause
//! panic(9) from module code, and printf(9)'s format language.

use harness::testing::module_path;
use harness::{Error, Kernel, O_RDWR};

#[test]
fn panic_escapes_module_code_and_kills_the_kernel() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_panic")).unwrap();
    let fd = k.open("/dev/kldtest_panic", O_RDWR).unwrap();
    let e = k.write(fd, b"boom").unwrap_err();
    assert_eq!(e, Error::Panic("kldtest_panic: boom".into()));
    assert_eq!(e.to_string(), "kernel panicked: kldtest_panic: boom");
    assert!(k.dmesg().contains("panic: kldtest_panic: boom\n"));
    assert_eq!(k.kldunload(id, true).unwrap_err(), e);
    assert!(k.check().is_err());
    assert_eq!(k.expect_panic().as_deref(), Some("kldtest_panic: boom"));
}

#[test]
fn other_kernels_survive_a_panic() {
    let a = Kernel::new();
    let b = Kernel::new();
    a.kldload(module_path("kldtest_panic")).unwrap();
    b.kldload(module_path("kldtest_panic")).unwrap();
    let fd = a.open("/dev/kldtest_panic", O_RDWR).unwrap();
    assert!(a.write(fd, b"x").is_err());
    a.expect_panic();
    let fd = b.open("/dev/kldtest_panic", O_RDWR).unwrap();
    b.close(fd).unwrap();
    b.check().unwrap();
}

#[test]
fn printf_conversions_through_a_module() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_panic")).unwrap();
    let d = k.dmesg();
    let lines: Vec<&str> = d.lines().filter(|l| l.starts_with("fmt: ")).collect();
    assert_eq!(
        lines,
        [
            "fmt: -42 7 4000000000 beef BEEF 10 Z str|   12|12   |00012|abc|   9|123456789012 -9 1122334455 77 -123 44 0x1000 0",
            "fmt: 3<TWO,ONE> 0 00:1b:21:ab:cd:ef (null)",
            "fmt: snprintf 9 \"truncat\"",
        ]
    );
}

#[test]
fn the_formatter_directly() {
    let mut buf = [0 as core::ffi::c_char; 128];
    // SAFETY: the buffer is 128 bytes; the arguments match the format.
    let n = unsafe {
        harness::format::harness_test_format(
            buf.as_mut_ptr(),
            buf.len(),
            c"%#x %#o %+d % d %-4s| %r %y".as_ptr(),
            255u32,
            8u32,
            5i32,
            5i32,
            c"ab".as_ptr(),
            12u32,
            -255i32,
        )
    };
    // SAFETY: NUL-terminated by the formatter.
    let s = unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(s, "0xff 010 +5  5 ab  | 12 -ff");
    assert_eq!(usize::try_from(n).unwrap(), s.len());
}

#[test]
fn a_page_fault_in_module_code_is_a_kernel_panic() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_panic")).unwrap();
    let fd = k.open("/dev/kldtest_panic", O_RDWR).unwrap();
    let poke = harness::ioccom::iow(b'X', 1, 8).unwrap();
    let e = k.ioctl(fd, poke, &mut 8u64.to_le_bytes()).unwrap_err();
    // trap_fatal prints the trap, then panics with the trap's name.
    assert_eq!(e, Error::Panic("page fault".into()));
    let d = k.dmesg();
    assert!(
        d.contains("Fatal trap 12: page fault while in kernel mode\n"),
        "{d}"
    );
    assert!(d.contains("fault virtual address\t= 0x8\n"), "{d}");
    assert!(
        d.contains("fault code\t\t= supervisor write data, page not present\n"),
        "{d}"
    );
    assert!(
        d.contains("instruction pointer is in kldtest_panic_ioctl+0x"),
        "{d}"
    );
    // Not a direct access to user memory: no SMAP violation.
    assert!(k.violations().is_empty());
    k.expect_panic();
    // The process and other kernels go on.
    let other = Kernel::new();
    other.kldload(module_path("hello")).unwrap();
}
