// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask new` on a scratch workspace: what it writes, what it
//! refuses, and that a refusal writes nothing.

use super::{Kind, add_member, check_name, generate, module_names};
use std::path::Path;

/// A workspace shaped like ours: a kernel group, the host group after it,
/// a module crate, a C module and a harness test.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files: &[(&str, &str)] = &[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\n    # Kernel crates.\n    \"kern\",\n    \"echo\",\n    \
             # Host crates.\n    \"kbuild\",\n    \"harness\",\n]\n",
        ),
        ("kern/Cargo.toml", "[package]\nname = \"kern\"\n"),
        ("echo/Cargo.toml", "[package]\nname = \"echo\"\n"),
        (
            "echo/src/lib.rs",
            "kern::module! {\n    type: E,\n    name: \"rustecho\",\n    version: 1,\n}\n",
        ),
        ("kbuild/Cargo.toml", "[package]\nname = \"kbuild\"\n"),
        ("harness/Cargo.toml", "[package]\nname = \"harness\"\n"),
        ("harness/tests/cdevpriv.rs", "\n"),
        (
            "bench/c-echo/Makefile",
            "KMOD=\tcecho\nSRCS=\tcecho.c\n.include <bsd.kmod.mk>\n",
        ),
    ];
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap()
}

#[test]
fn a_device_module_gets_its_crate_its_test_and_a_member_entry() {
    let ws = scratch();
    let root = ws.path();
    generate(root, "rot13", Kind::Device).unwrap();
    let lib = read(root, "rot13/src/lib.rs");
    assert!(lib.contains("#![no_std]\n#![deny(unsafe_code)]\n"), "{lib}");
    assert!(lib.contains("impl CharacterDevice for Greeter"), "{lib}");
    // The name is given once, as the driver's; the node takes it.
    assert!(
        lib.contains("const NAME: &'static CStr = c\"rot13\";"),
        "{lib}"
    );
    assert_eq!(lib.matches("c\"rot13\"").count(), 1, "{lib}");
    // No per-open state, so no `open` boilerplate.
    assert!(!lib.contains("fn open"), "{lib}");
    assert!(lib.contains("struct Rot13 {"), "{lib}");
    assert_eq!(module_names(&lib), ["rot13"]);
    assert!(!lib.contains('@'), "a placeholder is left: {lib}");
    let manifest = read(root, "rot13/Cargo.toml");
    assert!(manifest.contains("name = \"rot13\""), "{manifest}");
    assert!(
        manifest.contains("crate-type = [\"staticlib\"]"),
        "{manifest}"
    );
    assert!(manifest.contains("kern.workspace = true"), "{manifest}");
    assert!(manifest.contains("[lints]\nworkspace = true"), "{manifest}");
    let test = read(root, "harness/tests/rot13.rs");
    assert!(test.contains("module_path(\"rot13\")"), "{test}");
    assert!(test.contains("/dev/rot13"), "{test}");
    // In the kernel group, the comments kept.
    assert_eq!(
        read(root, "Cargo.toml"),
        "[workspace]\nmembers = [\n    # Kernel crates.\n    \"kern\",\n    \"echo\",\n    \
         \"rot13\",\n    # Host crates.\n    \"kbuild\",\n    \"harness\",\n]\n"
    );
}

#[test]
fn a_bare_module_has_no_device() {
    let ws = scratch();
    let root = ws.path();
    generate(root, "tick_counter", Kind::Bare).unwrap();
    let lib = read(root, "tick_counter/src/lib.rs");
    assert!(!lib.contains("CharacterDevice"), "{lib}");
    assert!(lib.contains("struct TickCounter;"), "{lib}");
    assert!(lib.contains("name: \"tick_counter\""), "{lib}");
    let test = read(root, "harness/tests/tick_counter.rs");
    assert!(test.contains("tick_counter: loaded\\n"), "{test}");
}

#[test]
fn invalid_names_are_refused_with_the_rule() {
    for bad in ["", "Rot13", "9lives", "my-mod", "mod.ko", "_x", "é"] {
        let e = check_name(bad).unwrap_err();
        assert!(e.contains("not a valid module name"), "{bad}: {e}");
    }
    let long = "a".repeat(32);
    assert!(check_name(&long).unwrap_err().contains("MAXMODNAME"));
    check_name(&"a".repeat(31)).unwrap();
    assert!(check_name("fn").unwrap_err().contains("Rust keyword"));
    assert!(check_name("kernel").unwrap_err().contains("kernel itself"));
}

#[test]
fn taken_names_are_refused_and_nothing_is_written() {
    let ws = scratch();
    let root = ws.path();
    let before = read(root, "Cargo.toml");
    // A folder, a package, a module name, a C module, a harness test.
    for taken in ["bench", "kern", "rustecho", "cecho", "cdevpriv"] {
        let e = generate(root, taken, Kind::Device).unwrap_err();
        assert!(e.contains("is taken"), "{taken}: {e}");
    }
    assert_eq!(read(root, "Cargo.toml"), before);
    assert!(!root.join("harness/tests/rustecho.rs").exists());
    // Twice the same name: the second is refused.
    generate(root, "twice", Kind::Bare).unwrap();
    let e = generate(root, "twice", Kind::Bare).unwrap_err();
    assert!(e.contains("is taken"), "{e}");
}

#[test]
fn a_manifest_without_a_host_group_gets_the_member_last() {
    let text = "[workspace]\nmembers = [\"kern\"]\n";
    let out = add_member(text, "m").unwrap();
    assert!(out.contains("\"kern\",") && out.contains("\"m\""), "{out}");
    assert!(out.find("\"kern\"").unwrap() < out.find("\"m\"").unwrap());
}
