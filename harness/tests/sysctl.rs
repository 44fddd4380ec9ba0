// SPDX-License-Identifier: BSD-2-Clause
//! sysctl(9): kldtest_sysctl's dynamic tree and static leaf, read and
//! written by name as sysctl(8) does.

use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, SysctlValue};

fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_sysctl")).unwrap();
    (k, id)
}

#[test]
fn dynamic_nodes_of_each_type() {
    let (k, id) = loaded();
    assert_eq!(
        k.sysctl_get("hw.kldtest").unwrap(),
        SysctlValue::Node(
            [
                "value", "name", "big", "counter", "blob", "even", "anybody", "sub"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.value").unwrap(),
        SysctlValue::Int(42)
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.name").unwrap(),
        SysctlValue::String("initial".into())
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.big").unwrap(),
        SysctlValue::Int(-5_000_000_000)
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.counter").unwrap(),
        SysctlValue::Uint(7)
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.sub.leaf").unwrap(),
        SysctlValue::Int(99)
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.blob").unwrap(),
        SysctlValue::Opaque(vec![0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55])
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest_static").unwrap(),
        SysctlValue::Int(5)
    );
    k.sysctl_set("hw.kldtest.value", "-17").unwrap();
    assert_eq!(
        k.sysctl_get("hw.kldtest.value").unwrap(),
        SysctlValue::Int(-17)
    );
    k.sysctl_set("hw.kldtest.big", "0x7fffffffffff").unwrap();
    assert_eq!(
        k.sysctl_get("hw.kldtest.big").unwrap(),
        SysctlValue::Int(0x7fff_ffff_ffff)
    );
    k.sysctl_set("hw.kldtest.name", "renamed").unwrap();
    assert_eq!(
        k.sysctl_get("hw.kldtest.name").unwrap(),
        SysctlValue::String("renamed".into())
    );
    // A string longer than its buffer: EINVAL (sysctl_handle_string).
    assert_eq!(
        k.sysctl_set("hw.kldtest.name", &"x".repeat(40))
            .unwrap_err(),
        Errno::EINVAL
    );
    k.kldunload(id, false).unwrap();
    assert_eq!(k.sysctl_get("hw.kldtest.value").unwrap_err(), Errno::ENOENT);
    assert_eq!(
        k.sysctl_get("hw.kldtest_static").unwrap_err(),
        Errno::ENOENT
    );
    assert_eq!(k.sysctl_children("hw").unwrap(), Vec::<String>::new());
    k.check().unwrap();
}

#[test]
fn access_rules_of_sysctl_root() {
    let (k, _) = loaded();
    // CTLFLAG_RD: EPERM on write.
    assert_eq!(
        k.sysctl_set("hw.kldtest.counter", "1").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(
        k.sysctl_set("hw.kldtest_static", "1").unwrap_err(),
        Errno::EPERM
    );
    // Only root writes, unless CTLFLAG_ANYBODY.
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(
        user.sysctl_set("hw.kldtest.value", "1").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(
        user.sysctl_get("hw.kldtest.value").unwrap(),
        SysctlValue::Int(42)
    );
    user.sysctl_set("hw.kldtest.anybody", "3").unwrap();
    assert_eq!(
        k.sysctl_get("hw.kldtest.anybody").unwrap(),
        SysctlValue::Int(3)
    );
    // A node without handler, an unknown name, a leaf used as a node.
    assert_eq!(
        k.sysctl_raw("hw.kldtest", None, None).unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(k.sysctl_get("hw.nosuch").unwrap_err(), Errno::ENOENT);
    assert_eq!(
        k.sysctl_get("hw.kldtest.value.x").unwrap_err(),
        Errno::ENOTDIR
    );
    // Values that do not parse for the type.
    assert_eq!(
        k.sysctl_set("hw.kldtest.value", "abc").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.sysctl_set("hw.kldtest.value", "4294967296").unwrap_err(),
        Errno::EINVAL
    );
}

#[test]
fn handlers_validate_and_buffers_are_checked() {
    let (k, _) = loaded();
    k.sysctl_set("hw.kldtest.even", "10").unwrap();
    assert_eq!(
        k.sysctl_set("hw.kldtest.even", "11").unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.even").unwrap(),
        SysctlValue::Int(10)
    );
    // Sizing with no buffer, then a buffer too small: ENOMEM with the
    // bytes that fit (sysctl_old_user).
    assert_eq!(k.sysctl_raw("hw.kldtest.big", None, None).unwrap(), 8);
    let mut small = [0u8; 4];
    assert_eq!(
        k.sysctl_raw("hw.kldtest.big", Some(&mut small), None)
            .unwrap_err(),
        Errno::ENOMEM
    );
    // A new value of the wrong size: EINVAL (sysctl_new_user).
    assert_eq!(
        k.sysctl_raw("hw.kldtest.value", None, Some(&[1, 2]))
            .unwrap_err(),
        Errno::EINVAL
    );
    let mut old = [0u8; 4];
    k.sysctl_raw(
        "hw.kldtest.value",
        Some(&mut old),
        Some(&7i32.to_le_bytes()),
    )
    .unwrap();
    assert_eq!(
        i32::from_le_bytes(old),
        42,
        "old value returned with the write"
    );
    assert_eq!(
        k.sysctl_get("hw.kldtest.value").unwrap(),
        SysctlValue::Int(7)
    );
}
