// SPDX-License-Identifier: BSD-2-Clause
//! Each fact the crate states about `rustecho.ko`, checked against the
//! built module (`build/rustecho.ko`, loaded fresh) and its C header, so
//! that a change to the module that the tests' copy misses fails here
//! with the fact's name rather than somewhere in a long test.

use echo_testkit::{
    DEFAULT_MAXLEN, DEFAULT_MESSAGE, DEV, DEV_NAME, INFO_SIZE, MALLOC_TYPE, MAXLEN_MAX, MODULE,
    SYSCTL_NODE, header, info, live_allocs, loaded, message, sysctl,
};
use harness::ioccom::{iocgroup, iocparm_len};
use harness::{Errno, O_RDONLY};

#[test]
fn a_fresh_module_has_the_stated_defaults() {
    let (k, _) = loaded();
    assert_eq!(message(&k), DEFAULT_MESSAGE, "DEFAULT_MESSAGE");
    assert_eq!(sysctl(&k, "maxlen"), DEFAULT_MAXLEN, "DEFAULT_MAXLEN");
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let i = info(&k, fd);
    k.close(fd).unwrap();
    assert_eq!(i.length, DEFAULT_MESSAGE.len() as u64, "ri_length");
    assert_eq!(i.limit, DEFAULT_MAXLEN, "ri_limit");
    assert_eq!(i.generation, 0, "ri_generation");
    let line = format!("{MODULE}: {DEV} created, messages up to {DEFAULT_MAXLEN} bytes\n");
    assert!(k.dmesg().contains(&line), "{}", k.dmesg());
}

#[test]
fn the_module_registers_the_stated_names() {
    let (k, id) = loaded();
    let stat = k.kldstat();
    let file = stat.iter().find(|s| s.id == id).unwrap();
    assert_eq!(file.name, format!("{MODULE}.ko"), "MODULE");
    let dev = k.devices();
    assert!(dev.iter().any(|d| d.name == DEV_NAME), "DEV_NAME: {dev:?}");
    assert_eq!(DEV, format!("/dev/{DEV_NAME}"), "DEV");
    assert!(k.malloc_stats(MALLOC_TYPE).is_some(), "MALLOC_TYPE");
    assert!(live_allocs(&k) > 0, "the message lives in MALLOC_TYPE");
    let leaves = k.sysctl_children(SYSCTL_NODE).unwrap();
    assert!(
        leaves.iter().any(|l| l.ends_with("maxlen")),
        "SYSCTL_NODE: {leaves:?}"
    );
}

#[test]
fn maxlen_max_is_the_largest_value_accepted() {
    let (k, _) = loaded();
    let leaf = format!("{SYSCTL_NODE}.maxlen");
    k.sysctl_set(&leaf, &MAXLEN_MAX.to_string()).unwrap();
    assert_eq!(sysctl(&k, "maxlen"), MAXLEN_MAX, "MAXLEN_MAX");
    assert_eq!(
        k.sysctl_set(&leaf, &(MAXLEN_MAX + 1).to_string())
            .unwrap_err(),
        Errno::EINVAL,
        "MAXLEN_MAX + 1"
    );
    assert_eq!(sysctl(&k, "maxlen"), MAXLEN_MAX);
}

/// `info` decodes `INFO_SIZE` bytes as three little-endian `uint64_t` in
/// the header's member order.
#[test]
fn the_header_declares_the_info_layout_the_kit_decodes() {
    let h = header();
    let fields: Vec<(&str, &str)> = h
        .info_fields
        .iter()
        .map(|(ty, name)| (ty.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("uint64_t", "ri_length"),
            ("uint64_t", "ri_limit"),
            ("uint64_t", "ri_generation"),
        ]
    );
    assert_eq!(iocparm_len(h.getinfo), INFO_SIZE, "INFO_SIZE");
    assert_eq!(iocparm_len(h.clear), 0);
    assert_eq!(iocgroup(h.clear), iocgroup(h.getinfo));
}
