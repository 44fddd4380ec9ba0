// SPDX-License-Identifier: BSD-2-Clause
//! uprintf(9) to the process terminal and log(9) to the message buffer.

use harness::Kernel;
use harness::testing::module_path;

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
