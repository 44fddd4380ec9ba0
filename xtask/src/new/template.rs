// SPDX-License-Identifier: BSD-2-Clause
//! The files `cargo xtask new` writes, with `@NAME@` standing for the
//! module's name.

use super::Kind;

/// `NAME/Cargo.toml`.
pub(super) fn manifest(name: &str, kind: Kind) -> String {
    let what = match kind {
        Kind::Device => "A Rust kernel module: /dev/@NAME@ greets its readers",
        Kind::Bare => "A Rust kernel module",
    };
    MANIFEST.replace("@WHAT@", what).replace("@NAME@", name)
}

/// `NAME/src/lib.rs`.
pub(super) fn module(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Device => DEVICE_MODULE,
        Kind::Bare => BARE_MODULE,
    }
    .replace("@NAME@", name)
    .replace("@TYPE@", &type_name(name))
}

/// `harness/tests/NAME.rs`.
pub(super) fn test(name: &str, kind: Kind) -> String {
    match kind {
        Kind::Device => DEVICE_TEST,
        Kind::Bare => BARE_TEST,
    }
    .replace("@NAME@", name)
}

/// `rot_13` -> `Rot13`: the module's type.
fn type_name(name: &str) -> String {
    let mut out = String::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

const MANIFEST: &str = r#"[package]
name = "@NAME@"
version = "0.1.0"
description = "@WHAT@"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

# A kernel module: `make` links the static library into build/@NAME@.ko.
[lib]
crate-type = ["staticlib"]
test = false
doctest = false
bench = false

[dependencies]
kern.workspace = true

[lints]
workspace = true
"#;

const DEVICE_MODULE: &str = r#"// SPDX-License-Identifier: BSD-2-Clause
//! `@NAME@.ko`: `/dev/@NAME@`, a character device that greets its readers.
//!
//! ```text
//! # kldload ./build/@NAME@.ko
//! # cat /dev/@NAME@
//! Hello from @NAME@
//! # kldunload @NAME@
//! ```
//!
//! Its test is `harness/tests/@NAME@.rs`; `make test` runs it.
#![no_std]
#![deny(unsafe_code)]

use core::ffi::CStr;
use kern::cdev::{CdevOptions, CharacterDevice, File, GID_WHEEL, Registration, UID_ROOT};
use kern::prelude::*;
use kern::uio::UioWriter;

/// What a read returns.
const GREETING: &[u8] = b"Hello from @NAME@\n";

/// `/dev/@NAME@` (the node is named after `Greeter::NAME`): readable by
/// everyone.
const DEVICE: CdevOptions<'static> = CdevOptions::new(0o444, UID_ROOT, GID_WHEEL);

/// The device's state, shared by every open file (none yet).
struct Greeter;

#[kern::vtable]
impl CharacterDevice for Greeter {
    const NAME: &'static CStr = c"@NAME@";
    // No per-open state: `#[kern::vtable]` fills in `type Open = ()` and
    // an `open` that accepts every open, which allocates nothing.

    /// The greeting from the file's offset on (`uiomove_frombuf(9)`), so a
    /// second read returns 0 (end of file) and `cat` stops.
    fn read(&self, _file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        uio.move_frombuf(GREETING, cx)?;
        Ok(())
    }
}

/// The module: the device exists while it is loaded.
struct @TYPE@ {
    _dev: Registration<Greeter>,
}

impl Module for @TYPE@ {
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let dev = Registration::register(&DEVICE, Greeter, cx)?;
        Ok(Self { _dev: dev })
    }
}

kern::module! {
    type: @TYPE@,
    name: "@NAME@",
    version: 1,
}
"#;

const BARE_MODULE: &str = r#"// SPDX-License-Identifier: BSD-2-Clause
//! `@NAME@.ko`: a Rust kernel module that greets on load and on unload.
//!
//! ```text
//! # kldload ./build/@NAME@.ko
//! @NAME@: loaded
//! # kldunload @NAME@
//! @NAME@: unloaded
//! ```
//!
//! Its test is `harness/tests/@NAME@.rs`; `make test` runs it.
#![no_std]
#![deny(unsafe_code)]

use kern::prelude::*;

/// The module's state while it is loaded (none yet).
struct @TYPE@;

impl Module for @TYPE@ {
    fn load(_cx: &mut Sleepable) -> Result<Self> {
        println!("loaded");
        Ok(Self)
    }
}

impl Drop for @TYPE@ {
    /// Runs at unload.
    fn drop(&mut self) {
        println!("unloaded");
    }
}

kern::module! {
    type: @TYPE@,
    name: "@NAME@",
    version: 1,
}
"#;

const DEVICE_TEST: &str = r#"// SPDX-License-Identifier: BSD-2-Clause
//! `@NAME@.ko` (`@NAME@/`) in the test kernel: `make test` builds it and
//! runs these tests.

use harness::sim::Shell;
use harness::testing::module_path;
use harness::{Errno, Kernel, O_RDONLY};

const DEV: &str = "/dev/@NAME@";

#[test]
fn reading_the_device_greets_then_ends() {
    let k = Kernel::new();
    let id = k.kldload(module_path("@NAME@")).unwrap();
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let mut buf = [0u8; 64];
    let n = k.read(fd, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"Hello from @NAME@\n");
    assert_eq!(k.read(fd, &mut buf).unwrap(), 0, "end of file");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert_eq!(k.open(DEV, O_RDONLY).unwrap_err(), Errno::ENOENT);
    // No leaks, no lock or sleep rule broken.
    k.check().unwrap();
}

#[test]
fn kldsim_runs_it_as_freebsd_would() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut sh = Shell::new(&mut out, &mut err);
    let ko = module_path("@NAME@");
    sh.run_script(&format!(
        "kldload {}\ncat {DEV}\nkldunload @NAME@\n",
        ko.display()
    ));
    let status = sh.status;
    drop(sh);
    let (out, err) = (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap());
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out, "Hello from @NAME@\n");
}
"#;

const BARE_TEST: &str = r#"// SPDX-License-Identifier: BSD-2-Clause
//! `@NAME@.ko` (`@NAME@/`) in the test kernel: `make test` builds it and
//! runs these tests.

use harness::Kernel;
use harness::sim::Shell;
use harness::testing::module_path;

#[test]
fn load_and_unload_greet() {
    let k = Kernel::new();
    let id = k.kldload(module_path("@NAME@")).unwrap();
    assert!(k.dmesg().contains("@NAME@: loaded\n"), "{}", k.dmesg());
    k.kldunload(id, false).unwrap();
    assert!(k.dmesg().contains("@NAME@: unloaded\n"), "{}", k.dmesg());
    // No leaks, no lock or sleep rule broken.
    k.check().unwrap();
}

#[test]
fn kldsim_runs_it_as_freebsd_would() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut sh = Shell::new(&mut out, &mut err);
    let ko = module_path("@NAME@");
    sh.run_script(&format!("kldload {}\nkldunload @NAME@\ndmesg\n", ko.display()));
    let status = sh.status;
    drop(sh);
    let (out, err) = (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap());
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out, "@NAME@: loaded\n@NAME@: unloaded\n");
}
"#;
