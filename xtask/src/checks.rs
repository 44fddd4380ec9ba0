// SPDX-License-Identifier: BSD-2-Clause
//! Lints and tests over the whole workspace.
//!
//! Kernel crates are linted for `x86_64-unknown-none`, where they are
//! built; module crates are never built for the host (they are static
//! libraries with the kernel's panic handler), everything else is linted
//! and tested on the host.

use crate::modules::{TARGET, rust_modules};
use crate::workspace::{Workspace, run};
use std::process::Command;

/// Crates that run in the kernel (besides the module crates).
const KERNEL_LIBS: &[&str] = &["alloc-kernel", "sys", "kern"];

fn cargo(ws: &Workspace) -> Command {
    let mut c = Command::new(&ws.cargo);
    c.current_dir(&ws.root);
    c
}

fn exclude_modules(ws: &Workspace, cmd: &mut Command) -> crate::Result {
    for m in rust_modules(ws)? {
        cmd.args(["--exclude", &m.package]);
    }
    Ok(())
}

/// `cargo clippy -D warnings`: host view of every non-module crate (with
/// tests and all features), kernel view of kernel crates and modules.
pub(crate) fn clippy(ws: &Workspace) -> crate::Result {
    let mut host = cargo(ws);
    host.args(["clippy", "--workspace", "--all-targets", "--all-features"]);
    exclude_modules(ws, &mut host)?;
    run(host.args(["--", "-D", "warnings"]))?;
    let mut kernel = cargo(ws);
    kernel.args(["clippy", "--target", TARGET]);
    for p in KERNEL_LIBS {
        kernel.args(["-p", p]);
    }
    for m in rust_modules(ws)? {
        kernel.args(["-p", &m.package]);
    }
    run(kernel.args(["--", "-D", "warnings"]))
}

/// `cargo doc -D warnings` on `kern`, the crate module authors read: a
/// broken or private intra-doc link is an error, not a dead link in the
/// published documentation.
pub(crate) fn doc(ws: &Workspace) -> crate::Result {
    let mut c = cargo(ws);
    c.args(["doc", "--no-deps", "-p", "kern"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(&mut c)
}

/// The interface header check, then every test suite on the host; the
/// harness tests load `build/*.ko`. Then the quick reliability run (its
/// summary table) and the benchmark's smoke run.
pub(crate) fn test(ws: &Workspace) -> crate::Result {
    crate::ifcheck::ifcheck(ws, &[])?;
    let mut tests = cargo(ws);
    tests.args(["test", "--workspace", "--all-features"]);
    exclude_modules(ws, &mut tests)?;
    tests.env("KMOD_BUILD_DIR", &ws.build_dir);
    run(&mut tests)?;
    crate::soak::quick(ws)?;
    crate::bench::smoke(ws)
}
