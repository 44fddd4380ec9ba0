// SPDX-License-Identifier: BSD-2-Clause
//! Helpers shared by the `rustecho_*` tests (each includes this file with
//! `#[path]`) and by the `reliability` crate (which includes it the same
//! way): loading the module, the ioctl numbers read from
//! `echo/include/rustecho.h`, and small readers of the device's state.
#![allow(dead_code, reason = "each test file uses a different subset")]

use harness::testing::module_path;
use harness::{Kernel, SysctlValue};

/// The device node.
pub(crate) const DEV: &str = "/dev/rustmodule";

/// The device's name in devfs (and for `Kernel::dev_threads`).
pub(crate) const DEV_NAME: &str = "rustmodule";

/// The message at load.
pub(crate) const DEFAULT_MESSAGE: &[u8] = b"Default hello message\n";

/// `hw.rustecho.maxlen` at load.
pub(crate) const DEFAULT_MAXLEN: u64 = 64 * 1024;

/// The malloc type of the module (`vmstat -m`).
pub(crate) const MALLOC_TYPE: &str = "rustecho";

/// A fresh kernel with rustecho loaded; returns the kernel and file id.
pub(crate) fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustecho")).unwrap();
    (k, id)
}

/// The text of the C header.
pub(crate) fn header_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../echo/include/rustecho.h");
    std::fs::read_to_string(path).unwrap()
}

/// The ioctl interface as the C header defines it.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// `RUSTECHO_CLEAR`.
    pub(crate) clear: u64,
    /// `RUSTECHO_GETINFO`.
    pub(crate) getinfo: u64,
    /// The members of `struct rustecho_info`, in order: (C type, name).
    pub(crate) info_fields: Vec<(String, String)>,
}

/// The size of a C type of the header.
fn c_size(ty: &str) -> usize {
    match ty {
        "uint64_t" | "int64_t" => 8,
        "uint32_t" | "int32_t" | "int" => 4,
        other => panic!("rustecho.h: type {other} not handled by the test"),
    }
}

/// Parses `_IO('G', N)` or `_IOR('G', N, struct rustecho_info)` and
/// computes it as `sys/sys/ioccom.h` does.
fn ioc(expr: &str, info_size: usize) -> u64 {
    let (mac, args) = expr.split_once('(').unwrap();
    let args: Vec<&str> = args
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .collect();
    let group = args[0].trim_matches('\'').as_bytes();
    assert_eq!(group.len(), 1, "{expr}");
    let num: u8 = args[1].parse().unwrap();
    match (mac.trim(), args.len()) {
        ("_IO", 2) => harness::ioccom::io(group[0], num),
        ("_IOR", 3) => {
            assert_eq!(args[2], "struct rustecho_info", "{expr}");
            harness::ioccom::ior(group[0], num, info_size).unwrap()
        }
        _ => panic!("rustecho.h: {expr} not handled by the test"),
    }
}

/// Reads the header: the struct's members and the two commands. The file
/// is parsed once per process (`info` calls this for every ioctl).
pub(crate) fn header() -> Header {
    static HEADER: std::sync::OnceLock<Header> = std::sync::OnceLock::new();
    HEADER.get_or_init(parse_header).clone()
}

fn parse_header() -> Header {
    let text = header_text();
    let body = text
        .split_once("struct rustecho_info {")
        .unwrap()
        .1
        .split_once("};")
        .unwrap()
        .0;
    let info_fields: Vec<(String, String)> = body
        .lines()
        .filter_map(|l| l.split_once(';').map(|(decl, _)| decl.trim()))
        .filter(|decl| !decl.is_empty())
        .map(|decl| {
            let (ty, name) = decl.split_once(char::is_whitespace).unwrap();
            (ty.to_owned(), name.trim().to_owned())
        })
        .collect();
    let info_size = info_fields.iter().map(|(ty, _)| c_size(ty)).sum();
    let define = |name: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with("#define") && l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("rustecho.h: no {name}"));
        let expr = line
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ");
        ioc(&expr, info_size)
    };
    Header {
        clear: define("RUSTECHO_CLEAR"),
        getinfo: define("RUSTECHO_GETINFO"),
        info_fields,
    }
}

/// What `RUSTECHO_GETINFO` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Info {
    /// `ri_length`.
    pub(crate) length: u64,
    /// `ri_limit`.
    pub(crate) limit: u64,
    /// `ri_generation`.
    pub(crate) generation: u64,
}

/// `ioctl(fd, RUSTECHO_GETINFO, &info)`.
pub(crate) fn info(k: &Kernel, fd: i32) -> Info {
    let mut buf = [0u8; 24];
    k.ioctl(fd, header().getinfo, &mut buf).unwrap();
    let word = |i: usize| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
    Info {
        length: word(0),
        limit: word(1),
        generation: word(2),
    }
}

/// `ioctl(fd, FIONREAD, &n)`.
pub(crate) fn fionread(k: &Kernel, fd: i32) -> i32 {
    let mut n = [0xffu8; 4];
    k.ioctl(fd, u64::from(harness::freebsd::FIONREAD), &mut n)
        .unwrap();
    i32::from_le_bytes(n)
}

/// Reads from the file offset until end of file (`cat`), `bs` bytes at a
/// time.
pub(crate) fn cat(k: &Kernel, fd: i32, bs: usize) -> Vec<u8> {
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
pub(crate) fn message(k: &Kernel) -> Vec<u8> {
    let fd = k.open(DEV, harness::O_RDONLY).unwrap();
    let m = cat(k, fd, 4096);
    k.close(fd).unwrap();
    m
}

/// Opens the device, writes `data` in one call and closes it.
pub(crate) fn store(k: &Kernel, data: &[u8]) {
    let fd = k.open(DEV, harness::O_WRONLY).unwrap();
    assert_eq!(k.write(fd, data).unwrap(), data.len());
    k.close(fd).unwrap();
}

/// A `hw.rustecho.*` value.
pub(crate) fn sysctl(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(&format!("hw.rustecho.{name}")).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("hw.rustecho.{name}: {other:?}"),
    }
}

/// Live allocations of the module's malloc type (0 once it is gone).
pub(crate) fn live_allocs(k: &Kernel) -> u64 {
    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_allocs)
}
