// SPDX-License-Identifier: BSD-2-Clause
//! Speed: load/unload cycles and read/write calls are measured and
//! printed (run with `--nocapture` to see them); nothing is asserted on
//! time. The 10,000-cycle soak checks that nothing accumulates.

use harness::testing::module_path;
use harness::{Kernel, O_RDWR};
use std::time::Instant;

#[test]
fn load_unload_cycles_and_io_calls() {
    let k = Kernel::new();
    let hello = module_path("hello");
    let n = 1000u32;
    let t = Instant::now();
    for _ in 0..n {
        let id = k.kldload(&hello).unwrap();
        k.kldunload(id, false).unwrap();
    }
    let cycle = t.elapsed() / n;
    let cdev = module_path("kldtest_cdev");
    k.kldload(&cdev).unwrap();
    let fd = k.open("/dev/kldtest_cdev", O_RDWR).unwrap();
    let data = [0x5au8; 512];
    let mut buf = [0u8; 512];
    let t = Instant::now();
    for _ in 0..n {
        k.pwrite(fd, &data, 0).unwrap();
    }
    let write = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        k.pread(fd, &mut buf, 0).unwrap();
    }
    let read = t.elapsed() / n;
    k.close(fd).unwrap();
    println!(
        "harness speed: load+unload {cycle:?}/cycle, write(512) {write:?}/call, read(512) {read:?}/call"
    );
    k.check().unwrap();
}

#[test]
fn soak_ten_thousand_cycles() {
    let k = Kernel::new();
    let path = module_path("kldtest_cdev");
    let t = Instant::now();
    for _ in 0..10_000 {
        let id = k.kldload(&path).unwrap();
        let fd = k.open("/dev/kldtest_cdev", O_RDWR).unwrap();
        k.write(fd, b"x").unwrap();
        k.close(fd).unwrap();
        k.kldunload(id, false).unwrap();
    }
    println!(
        "harness soak: 10000 load/open/write/close/unload cycles in {:?}",
        t.elapsed()
    );
    assert_eq!(k.kldstat().len(), 1);
    assert!(k.devices().is_empty());
    let devfs = k.malloc_stats("DEVFS1").unwrap();
    assert_eq!((devfs.live_allocs, devfs.total_allocs), (0, 10_000));
    k.clear_dmesg();
    k.check().unwrap();
}
