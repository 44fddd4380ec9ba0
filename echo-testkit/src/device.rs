// SPDX-License-Identifier: BSD-2-Clause
//! Loading the module and reading the device's state through the system
//! calls a user program would make.
//!
//! Every helper panics if a call it makes fails: it is for tests, where a
//! panic is a failed check.

use crate::{DEV, INFO_SIZE, MALLOC_TYPE, MODULE, SYSCTL_NODE, header};
use harness::testing::module_path;
use harness::{Kernel, SysctlValue};

/// A fresh kernel with rustecho loaded; returns the kernel and file id.
///
/// # Panics
/// If `build/rustecho.ko` is missing or does not load.
pub fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path(MODULE)).unwrap();
    (k, id)
}

/// What `RUSTECHO_GETINFO` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// `ri_length`.
    pub length: u64,
    /// `ri_limit`.
    pub limit: u64,
    /// `ri_generation`.
    pub generation: u64,
}

/// `ioctl(fd, RUSTECHO_GETINFO, &info)`.
///
/// # Panics
/// If the ioctl fails.
pub fn info(k: &Kernel, fd: i32) -> Info {
    let mut buf = [0u8; INFO_SIZE];
    k.ioctl(fd, header().getinfo, &mut buf).unwrap();
    let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
    Info {
        length: word(0),
        limit: word(1),
        generation: word(2),
    }
}

/// `ioctl(fd, FIONREAD, &n)`.
///
/// # Panics
/// If the ioctl fails.
pub fn fionread(k: &Kernel, fd: i32) -> i32 {
    let mut n = [0xffu8; 4];
    k.ioctl(fd, u64::from(harness::freebsd::FIONREAD), &mut n)
        .unwrap();
    i32::from_le_bytes(n)
}

/// Reads from the file offset until end of file (`cat`), `bs` bytes at a
/// time.
///
/// # Panics
/// If a read fails.
pub fn cat(k: &Kernel, fd: i32, bs: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; bs];
    loop {
        let n = k.read(fd, &mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Opens the device, reads it whole and closes it.
///
/// # Panics
/// If a call fails.
pub fn message(k: &Kernel) -> Vec<u8> {
    let fd = k.open(DEV, harness::O_RDONLY).unwrap();
    let m = cat(k, fd, 4096);
    k.close(fd).unwrap();
    m
}

/// Opens the device, writes `data` in one call and closes it.
///
/// # Panics
/// If a call fails or the write is short.
pub fn store(k: &Kernel, data: &[u8]) {
    let fd = k.open(DEV, harness::O_WRONLY).unwrap();
    assert_eq!(k.write(fd, data).unwrap(), data.len());
    k.close(fd).unwrap();
}

/// A `hw.rustecho.*` value.
///
/// # Panics
/// If the leaf is missing or not an unsigned integer.
pub fn sysctl(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(&format!("{SYSCTL_NODE}.{name}")).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{SYSCTL_NODE}.{name}: {other:?}"),
    }
}

/// Live allocations of the module's malloc type (0 once it is gone).
pub fn live_allocs(k: &Kernel) -> u64 {
    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_allocs)
}
