// SPDX-License-Identifier: BSD-2-Clause
//! The ioctl interface as `echo/include/rustecho.h` defines it, read from
//! the header at run time so that a test that reaches the module through
//! a command also checks that the header and the module agree.

use std::sync::OnceLock;

/// The text of the C header.
///
/// # Panics
/// If `echo/include/rustecho.h` cannot be read.
pub fn header_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../echo/include/rustecho.h");
    std::fs::read_to_string(path).unwrap()
}

/// The ioctl interface as the C header defines it.
#[derive(Debug, Clone)]
pub struct Header {
    /// `RUSTECHO_CLEAR`.
    pub clear: u64,
    /// `RUSTECHO_GETINFO`.
    pub getinfo: u64,
    /// The members of `struct rustecho_info`, in order: (C type, name).
    pub info_fields: Vec<(String, String)>,
}

/// Reads the header: the struct's members and the two commands. The file
/// is parsed once per process ([`info`](crate::info) calls this for every
/// ioctl).
///
/// # Panics
/// If the header cannot be read or uses a form the parser does not know.
pub fn header() -> Header {
    static HEADER: OnceLock<Header> = OnceLock::new();
    HEADER.get_or_init(parse_header).clone()
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
