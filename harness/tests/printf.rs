// SPDX-License-Identifier: BSD-2-Clause
//! uprintf(9) to the process terminal, log(9) and printf(9) to the message
//! buffer, which is a ring like FreeBSD's msgbuf.

use harness::testing::module_path;
use harness::{Config, Kernel, O_RDONLY};

#[test]
fn uprintf_goes_to_the_callers_terminal() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_uprintf")).unwrap();
    assert_eq!(k.take_tty(), "kldtest_uprintf: hello, terminal 1\n");
    assert!(!k.dmesg().contains("hello, terminal"));
    k.kldunload(id, false).unwrap();
    assert_eq!(k.take_tty(), "kldtest_uprintf: goodbye, terminal\n");
}

#[test]
fn log_records_priority_and_reaches_dmesg() {
    let k = Kernel::new();
    k.kldload(module_path("kldtest_uprintf")).unwrap();
    assert_eq!(
        k.log_records(),
        [(5, "kldtest_uprintf: logged at notice\n".to_owned())]
    );
    assert!(k.dmesg().contains("kldtest_uprintf: logged at notice\n"));
}

/// The message buffer is a ring of `msgbuf_size` bytes
/// (`sys/kern/subr_msgbuf.c`): the oldest bytes are overwritten, `dmesg`
/// shows the rest in order from the first whole line (`dmesg(8)` skips
/// the first, probably cut, line once the ring has wrapped).
#[test]
fn dmesg_keeps_the_newest_lines_in_order_once_the_ring_wraps() {
    let k = Kernel::with_config(Config {
        msgbuf_size: 1000,
        ..Config::default()
    });
    k.kldload(module_path("kldtest_cdevpriv")).unwrap();
    // Each open and close prints "kldtest_cdevpriv: dtor N\n".
    for _ in 0..300 {
        let fd = k.open("/dev/kldtest/priv0", O_RDONLY).unwrap();
        k.close(fd).unwrap();
    }
    let d = k.dmesg();
    assert!(d.len() <= 1000 && d.len() > 1000 - 30, "{}", d.len());
    let ids: Vec<u32> = d
        .lines()
        .map(|l| {
            l.strip_prefix("kldtest_cdevpriv: dtor ")
                .unwrap_or_else(|| panic!("a cut or foreign line: {l:?}"))
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.last(), Some(&300));
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    // dmesg -c, then only what follows.
    k.clear_dmesg();
    let fd = k.open("/dev/kldtest/priv0", O_RDONLY).unwrap();
    k.close(fd).unwrap();
    assert_eq!(k.dmesg(), "kldtest_cdevpriv: dtor 301\n");
}

/// log(9) records live in the message buffer in FreeBSD (with their
/// `<pri>` prefix, `msgbuf_addstr`), so they age out with it instead of
/// accumulating for the kernel's lifetime.
#[test]
fn log_records_are_bounded_by_the_message_buffer() {
    let k = Kernel::with_config(Config {
        msgbuf_size: 256,
        ..Config::default()
    });
    let ko = module_path("kldtest_uprintf");
    for _ in 0..100 {
        let id = k.kldload(&ko).unwrap();
        k.kldunload(id, false).unwrap();
    }
    let line = "kldtest_uprintf: logged at notice\n";
    // "<5>" + the line: 37 bytes, six of which fit in 256.
    assert_eq!(k.log_records(), vec![(5, line.to_owned()); 6]);
    assert!(k.dmesg().len() <= 256);
    assert!(k.dmesg().ends_with(line));
    k.clear_dmesg();
    assert!(k.log_records().is_empty());
}
