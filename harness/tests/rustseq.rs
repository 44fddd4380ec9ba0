// SPDX-License-Identifier: BSD-2-Clause
//! Functions exported between modules: `rustseq.ko` exports
//! (`kern::export!`), `rustsequser.ko` depends on it and calls them
//! (`kern::import!`), on the built modules.
//!
//! FreeBSD's kernel linker resolves a dependent module's reference in the
//! files of its dependencies (`elf_obj_lookup`, `sys/kern/link_elf_obj.c`):
//! global symbols always, local ones only while
//! `debug.link_elf_obj_leak_locals` is 1. An export stays global, so it
//! resolves under both settings; a local function would not.

use harness::testing::{TempModule, build_dir, module_path, patch};
use harness::{Config, Errno, Kernel};
use kolink::peers::Peers;
use kolink::{Allowlist, Failure};

/// `STB_LOCAL` (`sys/sys/elf_common.h`).
const STB_LOCAL: u8 = 0;

fn kernel(leak_locals: bool) -> Kernel {
    let k = Kernel::with_config(Config {
        link_elf_obj_leak_locals: leak_locals,
        ..Config::default()
    });
    k.set_module_path(vec![build_dir()]);
    k
}

#[test]
fn the_dependent_module_calls_the_exports_under_both_settings() {
    for leak_locals in [true, false] {
        let k = kernel(leak_locals);
        // The dependency comes first, from the module path.
        k.kldload(module_path("rustsequser")).unwrap();
        assert!(
            k.dmesg().contains("rustsequser: tickets up to 2\n"),
            "{}",
            k.dmesg()
        );
        // The sequence is rustseq's: a second user continues it.
        k.kldunload("rustsequser", false).unwrap();
        assert!(
            k.dmesg().contains("rustseq: handed out 2 numbers\n"),
            "the dependency went with its last user: {}",
            k.dmesg()
        );
        k.check().unwrap();
    }
}

/// `rustseq.ko` with `rustseq_next` made local, as the build makes every
/// symbol that is not exported.
fn unexported() -> TempModule {
    TempModule::patched("rustseq", |b| {
        patch::set_symbol_bind(b, "rustseq_next", STB_LOCAL);
    })
}

#[test]
fn a_local_function_resolves_only_while_locals_leak() {
    let provider = unexported();
    // FreeBSD's default: a dependency's locals are visible.
    let k = kernel(true);
    k.kldload(provider.path()).unwrap();
    k.kldload(module_path("rustsequser")).unwrap();
    // debug.link_elf_obj_leak_locals=0: not found, as FreeBSD says.
    let k = kernel(false);
    k.kldload(provider.path()).unwrap();
    assert_eq!(
        k.kldload(module_path("rustsequser")).unwrap_err(),
        Errno::ENOENT
    );
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol rustseq_next undefined\n"),
        "{}",
        k.dmesg()
    );
}

#[test]
fn kolink_check_accepts_an_export_and_explains_a_local() {
    let allowlist = Allowlist::from_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sys/kernel-symbols.txt"),
    )
    .unwrap();
    let user = module_path("rustsequser");
    let data = std::fs::read(&user).unwrap();
    let check = |peers: &Peers| {
        kolink::check::check_among(&data, &allowlist, peers, "rustsequser.ko")
            .unwrap()
            .failures
    };
    // With the exporting module in view: passes.
    let peers = Peers::read(&[module_path("rustseq"), user.clone()]).unwrap();
    assert_eq!(check(&peers), []);
    // Alone: the symbol is no kernel's.
    let alone = Peers::read(std::slice::from_ref(&user)).unwrap();
    assert_eq!(
        check(&alone),
        [Failure::SymbolNotAllowed {
            symbol: "rustseq_next".into()
        }]
    );
    // Defined but local in the dependency: the fix is to export it.
    let provider = unexported();
    let peers = Peers::read(&[provider.path().to_path_buf(), user]).unwrap();
    let failures = check(&peers);
    assert!(
        matches!(
            failures.as_slice(),
            [Failure::SymbolNotExported { symbol, .. }] if symbol == "rustseq_next"
        ),
        "{failures:?}"
    );
    assert!(failures[0].to_string().contains("kern::export!"));
}
