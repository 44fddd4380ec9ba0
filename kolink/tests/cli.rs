// SPDX-License-Identifier: BSD-2-Clause
//! Tests of the `kolink` command line: usage errors, exit codes, messages.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::struct_excessive_bools,
    reason = "tests: a panic is a test failure; long tests read top to bottom; fault knobs are bools"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{new_object, reloc, section, undefined, write};
use object::SectionKind;
use object::elf::R_X86_64_GOTPCRELX;

fn kolink(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kolink"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small object with one relaxable GOT call.
fn write_object(path: &Path) {
    let mut obj = new_object();
    let text = section(
        &mut obj,
        ".text",
        SectionKind::Text,
        &[0xff, 0x15, 0, 0, 0, 0, 0xc3],
    );
    let f = undefined(&mut obj, "ext_fn", false);
    reloc(&mut obj, text, 2, f, R_X86_64_GOTPCRELX, -4);
    std::fs::write(path, write(&obj)).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["fix", "in.o"],
        vec!["fix", "-o", "out.ko"],
        vec!["fix", "a.o", "b.o", "-o", "c.ko"],
        vec!["check", "x.ko"],
        vec!["size"],
        vec!["size", "--bogus", "x.ko"],
    ] {
        let argv: Vec<&dyn AsRef<std::ffi::OsStr>> = args
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        let out = kolink(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("usage: kolink fix IN -o OUT"),
            "{args:?}"
        );
    }
}

#[test]
fn help_and_version() {
    let out = kolink(&[&"--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("kolink check KO --allowlist FILE"));
    let out = kolink(&[&"--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("kolink "));
}

#[test]
fn fix_in_place_and_errors() {
    let dir = common::scratch("cli-fix");
    let obj = dir.join("mod.o");
    write_object(&obj);
    let out = kolink(&[&"fix", &obj, &"-o", &obj, &"--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let fixed = common::parse(&std::fs::read(&obj).unwrap());
    assert_eq!(fixed.reloc_at(".text", 2).r_type, 2);
    assert!(!dir.join("mod.o.kolink-tmp").exists());

    let junk = dir.join("junk.o");
    std::fs::write(&junk, b"\x7fELF but not really").unwrap();
    let out = kolink(&[&"fix", &junk, &"-o", &dir.join("junk.ko")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("malformed or unsupported ELF object"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("junk.ko").exists());

    let out = kolink(&[&"fix", &dir.join("missing.o"), &"-o", &dir.join("x.ko")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.o"), "{}", stderr(&out));
}

#[test]
fn malformed_allowlist_is_reported_with_its_line() {
    let dir = common::scratch("cli-allowlist");
    let obj = dir.join("mod.o");
    write_object(&obj);
    let allow = dir.join("allow.txt");
    std::fs::write(&allow, "# ok\nprintf sys/systm.h\nmalloc\n").unwrap();
    let out = kolink(&[&"check", &obj, &"--allowlist", &allow]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("allowlist line 3"), "{err}");
    assert!(err.contains("malloc"), "{err}");
    assert!(err.contains("allow.txt"), "{err}");
}

#[test]
fn check_lists_every_failure() {
    let dir = common::scratch("cli-check");
    let obj = dir.join("mod.o");
    write_object(&obj);
    let allow = dir.join("allow.txt");
    std::fs::write(&allow, "printf sys/systm.h\n").unwrap();
    let out = kolink(&[&"check", &obj, &"--allowlist", &allow]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // GOT relocation, unlisted symbol, no metadata.
    assert!(err.contains("R_X86_64_GOTPCRELX"), "{err}");
    assert!(err.contains("`ext_fn` is not on the allowlist"), "{err}");
    assert!(err.contains("set_modmetadata_set"), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
}
