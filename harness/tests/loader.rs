// SPDX-License-Identifier: BSD-2-Clause
//! The loader's rules (`kern_linker.c`, `link_elf_obj.c`), with the C test
//! modules of `harness/testmods` and the project's own modules.

use harness::testing::{TempModule, module_path, patch};
use harness::{Cred, Errno, KERNEL_VERSION, Kernel, SysctlValue};

fn lines_with<'a>(dmesg: &'a str, prefix: &str) -> Vec<&'a str> {
    dmesg.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn every_allowlisted_symbol_is_emulated() {
    let list = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sys/kernel-symbols.txt"
    ))
    .unwrap();
    let emulated = harness::emulated_symbols();
    let mut missing = Vec::new();
    for line in list.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sym = line.split_whitespace().next().unwrap();
        if !emulated.contains(&sym) {
            missing.push(sym.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "allowlisted but not emulated: {missing:?}"
    );
}

/// The reverse: the harness resolves no kernel symbol a module may not use,
/// so a module importing one (a macro such as `copystr`, which no FreeBSD
/// kernel exports) fails to load here as it would on FreeBSD.
#[test]
fn every_emulated_symbol_is_allowlisted() {
    let list = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sys/kernel-symbols.txt"
    ))
    .unwrap();
    let allowed: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let extra: Vec<&str> = harness::emulated_symbols()
        .into_iter()
        .filter(|s| !allowed.contains(s))
        .collect();
    assert!(extra.is_empty(), "emulated but not allowlisted: {extra:?}");
}

#[test]
fn sysinits_run_sorted_and_sysuninits_reversed() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_sysinit")).unwrap();
    assert_eq!(
        lines_with(&k.dmesg(), "kldtest_sysinit:"),
        [
            "kldtest_sysinit: step 1",
            "kldtest_sysinit: step 2",
            "kldtest_sysinit: step 3",
            "kldtest_sysinit: MOD_LOAD by pid 1000 uid 0",
            "kldtest_sysinit: step 4",
            "kldtest_sysinit: step 5",
        ]
    );
    k.clear_dmesg();
    k.kldunload(id, false).unwrap();
    assert_eq!(
        lines_with(&k.dmesg(), "kldtest_sysinit:"),
        [
            "kldtest_sysinit: MOD_QUIESCE",
            "kldtest_sysinit: MOD_UNLOAD",
            "kldtest_sysinit: undo 5",
            "kldtest_sysinit: undo 4",
            "kldtest_sysinit: undo 1",
        ]
    );
    assert_eq!(k.kldstat().len(), 1);
}

#[test]
fn failed_mod_load_unloads_the_file_with_enoexec() {
    let k = Kernel::new();
    let e = k.kldload(module_path("kldtest_loadfail")).unwrap_err();
    assert_eq!(e, Errno::ENOEXEC);
    let d = k.dmesg();
    let ours = lines_with(&d, "kldtest_loadfail:");
    assert_eq!(
        ours,
        [
            "kldtest_loadfail: MOD_LOAD fails",
            "kldtest_loadfail: MOD_UNLOAD",
            "kldtest_loadfail: SYSUNINIT"
        ]
    );
    assert!(
        d.contains("module_register_init: MOD_LOAD (kldtest_loadfail, 0x"),
        "{d}"
    );
    assert!(d.contains("error 6\n"), "{d}");
    // Nothing left: no file, no malloc type, no leak reported.
    assert_eq!(k.kldstat().len(), 1);
    assert!(k.malloc_stats("kldtest_loadfail").is_none());
    k.check().unwrap();
    // And it can be tried again.
    assert_eq!(
        k.kldload(module_path("kldtest_loadfail")).unwrap_err(),
        Errno::ENOEXEC
    );
}

#[test]
fn quiesce_vetoes_unless_forced() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_quiesce")).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    assert_eq!(k.kldstat().len(), 2);
    // The veto can be lifted through the module's static sysctl.
    assert_eq!(
        k.sysctl_get("debug.kldtest_quiesce_busy").unwrap(),
        SysctlValue::Int(1)
    );
    k.sysctl_set("debug.kldtest_quiesce_busy", "0").unwrap();
    k.kldunload(id, false).unwrap();
    assert!(k.sysctl_get("debug.kldtest_quiesce_busy").is_err());
    // Forced: the veto is ignored.
    let id = k.kldload(module_path("kldtest_quiesce")).unwrap();
    assert_eq!(
        k.kldunload("kldtest_quiesce", false).unwrap_err(),
        Errno::EBUSY
    );
    k.kldunload(id, true).unwrap();
    assert!(k.dmesg().contains("kldtest_quiesce: MOD_UNLOAD"));
}

#[test]
fn kernel_version_mismatch_fails_like_freebsd() {
    let k = Kernel::new();
    assert_eq!(KERNEL_VERSION, 1_500_068);
    let e = k.kldload(module_path("kldtest_version")).unwrap_err();
    assert_eq!(e, Errno::ENOENT);
    assert!(
        k.dmesg().contains(
            "KLD kldtest_version.ko: depends on kernel - not available or version mismatch\n"
        ),
        "{}",
        k.dmesg()
    );
    assert!(!k.dmesg().contains("must not happen"));
    assert_eq!(k.kldstat().len(), 1);
}

#[test]
fn unexpected_relocation_type_fails_the_load() {
    let mut old = 0;
    let m = TempModule::patched("hello", |b| {
        old = patch::set_reloc_type(b, ".rela.data", 10)
    });
    assert_eq!(old, 1, "R_X86_64_64 expected");
    let k = Kernel::new();
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
    assert!(
        k.dmesg()
            .contains("kldload: unexpected relocation type 10\n"),
        "{}",
        k.dmesg()
    );
    assert_eq!(k.kldstat().len(), 1);
}

#[test]
fn unknown_symbol_fails_the_load_by_name() {
    let m = TempModule::patched("hello", |b| {
        assert!(patch::rename_undefined(b, "printf", "prinzz"))
    });
    let k = Kernel::new();
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol prinzz undefined\n"),
        "{}",
        k.dmesg()
    );
    assert_eq!(k.kldstat().len(), 1);
}

#[test]
fn not_elf_and_missing_files() {
    let k = Kernel::new();
    assert_eq!(k.kldload("/nonexistent/x.ko").unwrap_err(), Errno::ENOENT);
    let m = TempModule::patched("hello", |b| b[0] = b'X');
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
    let m = TempModule::patched("hello", |b| b[16] = 2); // ET_EXEC
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
    assert!(k.dmesg().contains("unsupported file type"));
}

#[test]
fn loading_twice_is_eexist_and_unknown_ids_enoent() {
    let k = Kernel::new();
    let id = k.kldload(module_path("hello")).unwrap();
    assert_eq!(k.kldload(module_path("hello")).unwrap_err(), Errno::EEXIST);
    assert_eq!(k.kldunload(id + 100, false).unwrap_err(), Errno::ENOENT);
    assert_eq!(k.kldunload("nosuch", false).unwrap_err(), Errno::ENOENT);
    assert_eq!(k.kldunload(1, false).unwrap_err(), Errno::EBUSY);
    k.kldunload("hello", false).unwrap();
}

#[test]
fn only_root_loads() {
    let k = Kernel::new();
    let user = k.with_cred(Cred::user(1001, 1001));
    assert_eq!(
        user.kldload(module_path("hello")).unwrap_err(),
        Errno::EPERM
    );
    let id = k.kldload(module_path("hello")).unwrap();
    assert_eq!(user.kldunload(id, false).unwrap_err(), Errno::EPERM);
}

#[test]
fn kldstat_lists_the_kernel_and_files() {
    let k = Kernel::new();
    let a = k.kldload(module_path("hello")).unwrap();
    let b = k.kldload(module_path("rustecho")).unwrap();
    let st = k.kldstat();
    assert_eq!(st.len(), 3);
    // Each file references the kernel twice: every file depends on it
    // (linker_load_dependencies), and DECLARE_MODULE's MODULE_DEPEND on
    // "kernel" adds another reference.
    assert_eq!(
        (st[0].id, st[0].name.as_str(), st[0].refs),
        (1, "kernel", 5)
    );
    assert_eq!((st[1].id, st[1].name.as_str()), (a, "hello.ko"));
    assert_eq!((st[2].id, st[2].name.as_str()), (b, "rustecho.ko"));
    assert!(st[1].address + st[1].size <= 0x8000_0000, "below 2 GiB");
    k.kldunload(a, false).unwrap();
    k.kldunload(b, false).unwrap();
    assert_eq!(k.kldstat()[0].refs, 1);
}

#[test]
fn module_dependencies_are_resolved_and_counted() {
    let k = Kernel::new();
    let e = k.kldload(module_path("kldtest_dep")).unwrap_err();
    assert_eq!(e, Errno::ENOENT);
    assert!(k.dmesg().contains(
        "KLD kldtest_dep.ko: depends on kldtest_sysinit - not available or version mismatch"
    ));
    // With the module path set, the dependency is loaded first.
    k.set_module_path(vec![harness::testing::build_dir()]);
    let id = k.kldload(module_path("kldtest_dep")).unwrap();
    // The dependent file was created first (linker_make_file), so it has
    // the lower id, as on FreeBSD.
    let names: Vec<String> = k.kldstat().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["kernel", "kldtest_dep.ko", "kldtest_sysinit.ko"]);
    let d = k.dmesg();
    assert!(
        d.find("kldtest_sysinit: MOD_LOAD by").unwrap() < d.find("kldtest_dep: loaded").unwrap()
    );
    // Unloading the dependency only drops the extra reference.
    k.kldunload("kldtest_dep", false).unwrap();
    assert_eq!(k.kldstat().len(), 1, "the dependency went with it");
    let _ = id;
    // Loaded by hand, then a dependent: unloading the first keeps it.
    let s = k.kldload(module_path("kldtest_sysinit")).unwrap();
    let d = k.kldload(module_path("kldtest_dep")).unwrap();
    assert_eq!(k.kldstat()[1].refs, 2);
    k.kldunload(s, false).unwrap();
    assert_eq!(k.kldstat().len(), 3, "still referenced by kldtest_dep");
    k.kldunload(d, false).unwrap();
    assert_eq!(k.kldstat().len(), 1);
}

#[test]
fn bare_module_names_are_searched_in_the_module_path() {
    let k = Kernel::new();
    assert_eq!(k.kldload("hello").unwrap_err(), Errno::ENOENT);
    k.set_module_path(vec![harness::testing::build_dir()]);
    k.kldload("hello").unwrap();
    assert_eq!(k.kldstat()[1].name, "hello.ko");
}

#[test]
fn the_projects_modules_load() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustecho")).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
