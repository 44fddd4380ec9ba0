// SPDX-License-Identifier: BSD-2-Clause
//! A kern device without per-open state (`type Open = ()`, `rustfifo.ko`)
//! allocates nothing per open, so its opens cannot fail with `ENOMEM`,
//! and it still counts its open files (which veto an unforced unload)
//! through its `D_TRACKCLOSE` `d_close` (`devfs_close`,
//! `sys/fs/devfs/devfs_vnops.c`, FreeBSD 15).

use harness::freebsd::{O_EXLOCK, O_SHLOCK};
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, O_NONBLOCK, O_RDONLY, O_RDWR};

const DEV: &str = "/dev/rustfifo";

/// Requests and failures of rustfifo's malloc type.
fn counts(k: &Kernel) -> (u64, u64) {
    let s = k.malloc_stats("rustfifo").unwrap();
    (s.total_allocs, s.failures)
}

#[test]
fn opens_allocate_nothing_and_never_fail_under_failing_allocations() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let before = counts(&k);
    let mut fds = Vec::new();
    for policy in [
        FailPolicy::All,
        FailPolicy::NthFromNow(1),
        FailPolicy::EveryNth(2),
    ] {
        k.set_malloc_failures(policy);
        for flags in [O_RDWR, O_RDONLY, O_RDWR | O_NONBLOCK] {
            fds.push(k.open(DEV, flags).unwrap());
        }
    }
    k.set_malloc_failures(FailPolicy::Never);
    // Nothing was asked of malloc(9), so nothing could fail: 0 per open.
    assert_eq!(counts(&k), before);
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    for fd in fds {
        k.close(fd).unwrap();
    }
    assert_eq!(counts(&k), before);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_open_count_follows_every_close_of_every_file() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDWR).unwrap();
    // Not the last close of the device: still counted as open by `b`.
    k.close(a).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    // An open whose flock(2) lock fails after d_open is closed again
    // (vn_open_vnode: VOP_CLOSE pairs the VOP_OPEN): counted once each way.
    let sh = k.open(DEV, O_RDWR | O_SHLOCK).unwrap();
    assert_eq!(
        k.open(DEV, O_RDWR | O_EXLOCK | O_NONBLOCK).unwrap_err(),
        Errno::EAGAIN
    );
    k.close(sh).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    k.close(b).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_forced_unload_with_files_open_leaves_nothing_behind() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.kldunload(id, true).unwrap();
    // The device is gone: its d_close is not called (dev_refthread fails).
    assert_eq!(k.read(fd, &mut [0u8; 1]).unwrap_err(), Errno::ENXIO);
    k.close(fd).unwrap();
    k.check().unwrap();
}

/// `/dev/kselftest_null` (`selftest/src/nulldev.rs`): no `type Open`, no
/// `open`, and a `close` for the last close of the device.
const NULL: &str = "/dev/kselftest_null";

fn last_closes(k: &Kernel) -> u64 {
    match k.sysctl_get("hw.kselftest.last_closes").unwrap() {
        harness::SysctlValue::Uint(v) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_generated_open_allocates_nothing_and_close_runs_on_the_last_close() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    let allocs = |k: &Kernel| k.malloc_stats("kselftest").unwrap().total_allocs;
    let before = allocs(&k);
    k.set_malloc_failures(FailPolicy::All);
    let a = k.open(NULL, O_RDWR).unwrap();
    let b = k.open(NULL, O_RDONLY).unwrap();
    k.set_malloc_failures(FailPolicy::Never);
    assert_eq!(allocs(&k), before, "0 allocations per open");
    // devfs_close with D_TRACKCLOSE: d_close for each file, FLASTCLOSE on
    // the last; kern runs the device's close on that one only.
    k.close(a).unwrap();
    assert_eq!(last_closes(&k), 0);
    k.close(b).unwrap();
    assert_eq!(last_closes(&k), 1);
    let c = k.open(NULL, O_RDWR).unwrap();
    k.close(c).unwrap();
    assert_eq!(last_closes(&k), 2);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
