// SPDX-License-Identifier: BSD-2-Clause
//! Prints load/unload and I/O timings for each built module:
//! `cargo run --release -p harness --example speed`.

use harness::Kernel;
use harness::testing::module_path;
use std::time::{Duration, Instant};

fn main() {
    let k = Kernel::new();
    for name in [
        "hello",
        "rustecho",
        "kldtest_cdev",
        "kldtest_sysctl",
        "kldtest_sysinit",
    ] {
        let path = module_path(name);
        let n = 2000u32;
        let (mut load, mut unload) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..n {
            let t = Instant::now();
            let id = k.kldload(&path).unwrap();
            load += t.elapsed();
            let t = Instant::now();
            k.kldunload(id, false).unwrap();
            unload += t.elapsed();
        }
        k.clear_dmesg();
        println!("{name:16} load {:?}  unload {:?}", load / n, unload / n);
    }
}
