// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask`: the project's build driver.
//!
//! ```text
//! cargo xtask deps             install the FreeBSD headers (ziglang), check tools
//! cargo xtask build            build every module into build/*.ko
//! cargo xtask check-ko [KO..]  run the artifact checks (default: build/*.ko)
//! cargo xtask check-arm64      build every module for arm64 (build/arm64/)
//!                              and run the arm64 artifact checks
//! cargo xtask check-allowlist  every allowlisted kernel symbol is declared in the headers
//! cargo xtask size [KO..]      print section sizes (default: build/*.ko)
//! cargo xtask stable-check     fail if a nightly-only construct is in the tree,
//!                              or unsafe code in a module crate
//! cargo xtask module-cycles [--graph] [SRC..]
//!                              fail on an import cycle between sibling
//!                              modules (default: harness/src, kolink/src)
//! cargo xtask clippy           clippy -D warnings, kernel crates on their target
//! cargo xtask doc              rustdoc -D warnings on kern (broken intra-doc links)
//! cargo xtask ifcheck [--sysdir DIR]
//!                              our newbus interface headers against FreeBSD's
//! cargo xtask test             every test suite (needs `cargo xtask build` first)
//! cargo xtask bench [--quick]  rustecho against its C equivalent (BENCHMARKS.md)
//! cargo xtask demo             the README walkthrough in the test kernel (kldsim)
//! cargo xtask soak [ARGS]      the long reliability runs (reliability --soak)
//! cargo xtask new NAME [--bare]
//!                              a new module crate and its test (a character
//!                              device, or with --bare a module without one)
//! ```
//!
//! The Makefile calls these; it holds no logic of its own, so GNU make and
//! FreeBSD's make behave the same.

mod allowlist;
mod arm64;
mod bench;
mod cc;
mod checks;
mod cycles;
mod decl;
mod demo;
mod ifcheck;
mod link;
mod modules;
mod new;
mod no_unsafe;
mod soak;
mod stable;
mod stamp;
mod tools;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

/// What went wrong, as a message for the user.
type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result {
    let ws = workspace::Workspace::find()?;
    let (cmd, rest) = args.split_first().ok_or_else(usage)?;
    // The test kernel loads amd64 modules only: arm64's ET_DYN loader and
    // the harness under qemu-user are not written yet.
    if ws.arch == kbuild::Arch::Arm64
        && [
            "test",
            "demo",
            "bench",
            "soak",
            "check-allowlist",
            "ifcheck",
        ]
        .contains(&cmd.as_str())
    {
        return Err(format!(
            "`{cmd}` runs amd64 modules only for now; ARCH=arm64 supports the build \
             and its checks (make ARCH=arm64, make check-arm64)"
        ));
    }
    match cmd.as_str() {
        "deps" => deps(&ws),
        "build" => {
            deps(&ws)?;
            let built = modules::build_all(&ws)?;
            if !built.unchanged.is_empty() {
                println!("xtask: {} modules up to date", built.unchanged.len());
            }
            if built.linked.is_empty() {
                return Ok(());
            }
            link::print_sizes(&built.linked)
        }
        "check-ko" => link::check_all(&ws, &files_or_built(&ws, rest)?),
        "check-arm64" => {
            deps(&ws)?;
            arm64::check()
        }
        "check-allowlist" => {
            deps(&ws)?;
            allowlist::check_project(&ws)
        }
        "size" => link::print_sizes(&files_or_built(&ws, rest)?),
        "stable-check" => {
            stable::check(&ws.root)?;
            no_unsafe::check(&ws)
        }
        "module-cycles" => cycles::run(&ws.root, rest),
        "clippy" => checks::clippy(&ws),
        "doc" => checks::doc(&ws),
        "ifcheck" => ifcheck::ifcheck(&ws, rest),
        "test" => checks::test(&ws),
        "bench" => bench::bench(&ws, rest),
        "demo" => demo::demo(&ws),
        "soak" => soak::soak(&ws, rest),
        "new" => new::new(&ws, rest),
        _ => Err(usage()),
    }
}

fn deps(ws: &workspace::Workspace) -> Result {
    if std::env::var_os("SYSDIR").is_none() && !cfg!(target_os = "freebsd") {
        let root = kbuild::headers::default_cache_dir(&ws.root);
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        if kbuild::ziglang::install(&root, &python)? {
            println!(
                "xtask: installed the FreeBSD 15 headers into {}",
                root.display()
            );
        }
    }
    tools::Tools::find().map(drop)
}

fn files_or_built(ws: &workspace::Workspace, args: &[String]) -> Result<Vec<PathBuf>> {
    if !args.is_empty() {
        return Ok(args.iter().map(PathBuf::from).collect());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ws.build_dir)
        .map_err(|e| format!("{}: {e} (run `make` first)", ws.build_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    files.sort();
    Ok(files)
}

fn usage() -> String {
    "usage: cargo xtask deps | build | check-ko [KO...] | check-arm64 | check-allowlist | size [KO...] \
     | stable-check | module-cycles [--graph] [SRC...] | clippy | doc | ifcheck [--sysdir DIR] \
     | test | bench [--quick] | demo | soak [ARGS] | new NAME [--bare]"
        .to_owned()
}
