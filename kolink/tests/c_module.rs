// SPDX-License-Identifier: BSD-2-Clause
//! A C module built as FreeBSD builds third-party modules, against the
//! FreeBSD 15 headers the project builds with (`kbuild`), with the kmod
//! flags and `ld.lld -r` (no `--gc-sections`, as `kmod.mk` links):
//! `kolink fix` and `kolink check` accept what FreeBSD's kernel linker
//! accepts, and still reject what it rejects.
//!
//! `tests/fixtures/pcpu_user.c` includes `<sys/pcpu.h>`, which leaves the
//! undefined globals `__start_set_pcpu` and `__stop_set_pcpu` in the object;
//! nothing uses them, `link_elf_obj.c` never looks them up, and the module
//! loads on FreeBSD. Used, they fail; so does a call to a kernel function
//! that is not on the allowlist.
//!
//! Skipped, with a notice, when `clang-16` or `ld.lld-16` is missing (as
//! the end-to-end test is); the headers are installed by `make`, and the
//! test fails if they are not there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a panic is a test failure"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use kolink::{Allowlist, CheckReport, Failure, FixOptions};

/// What the fixture needs from the kernel, and nothing else.
const ALLOWLIST: &str = "\
printf                  sys/systm.h
module_register_init    sys/module.h
__stack_chk_guard       kern/stack_protector.c
__stack_chk_fail        kern/stack_protector.c
";

fn toolchain() -> bool {
    for t in ["clang-16", "ld.lld-16"] {
        if common::tool(t).is_none() {
            println!("notice: {t} not found; skipping the C module test");
            return false;
        }
    }
    true
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles the fixture with `defines`, links it with `ld.lld -r`, runs
/// `kolink fix`, and returns the `.ko`'s bytes.
fn build(dir: &Path, defines: &[&str]) -> Vec<u8> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let headers = kbuild::HeaderTree::locate(workspace, dir)
        .unwrap_or_else(|e| panic!("{e} (run `make` first)"));
    let src: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcpu_user.c");
    let obj = dir.join("pcpu_user.o");
    run(Command::new("clang-16")
        .args(headers.clang_args(&[]))
        .args(kbuild::flags::CODEGEN)
        .args(kbuild::flags::WARNINGS)
        .args(defines)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    let linked = dir.join("pcpu_user.lo");
    run(Command::new("ld.lld-16")
        .arg("-r")
        .arg(&obj)
        .arg("-o")
        .arg(&linked));
    kolink::fix(&std::fs::read(&linked).unwrap(), &FixOptions::default())
        .unwrap()
        .object
}

fn check(ko: &[u8]) -> CheckReport {
    kolink::check(ko, &Allowlist::parse(ALLOWLIST).unwrap()).unwrap()
}

#[test]
fn unused_pcpu_bounds_from_sys_pcpu_h_pass() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("c-module-plain");
    let ko = build(&dir, &[]);
    let report = check(&ko);
    assert!(report.is_ok(), "{:#?}", report.failures);
    // The fixture does carry them, unused and unbound.
    for name in ["__start_set_pcpu", "__stop_set_pcpu"] {
        let s = report
            .undefined
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} not in {:#?}", report.undefined));
        assert!(!s.referenced && s.link_set.is_none(), "{s:?}");
    }
    assert_eq!(report.metadata.unwrap().modules[0].name, "pcpu_user");
}

#[test]
fn used_pcpu_bounds_without_set_pcpu_fail() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("c-module-dpcpu");
    let report = check(&build(&dir, &["-DUSE_DPCPU_START"]));
    assert_eq!(
        report.failures,
        [Failure::MissingLinkerSet {
            symbol: "__start_set_pcpu".into(),
            section: "set_pcpu".into(),
        }]
    );
}

#[test]
fn a_call_to_an_unlisted_kernel_function_fails() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("c-module-delay");
    let report = check(&build(&dir, &["-DCALL_DELAY"]));
    assert_eq!(
        report.failures,
        [Failure::SymbolNotAllowed {
            symbol: "DELAY".into()
        }]
    );
    assert!(report.failures[0].to_string().contains("`DELAY`"));
}
