// SPDX-License-Identifier: BSD-2-Clause
//! The kernel linker's corner cases, each failing here as FreeBSD 15's
//! `link_elf_obj.c` and `kern_linker.c` fail (or loading as they load):
//! section alignment, relocation tables for sections not loaded, SYSINIT
//! sets sorted in place, constructors and destructors, which undefined
//! symbols are looked up and where, and the kernel version. Broken modules
//! are patched copies of built ones (or, where `kolink check` refuses to
//! build the case at all, a small synthetic object).

use harness::testing::{TempModule, module_path, patch};
use harness::{Config, Errno, Error, Kernel, ViolationKind};

const SHT_NOTE: u32 = 7;
const SHT_INIT_ARRAY: u32 = 14;
const SHF_ALLOC: u64 = 2;
const STB_WEAK: u8 = 2;
const R_X86_64_NONE: u32 = 0;

/// The one violation the load recorded (FreeBSD's failure explained).
fn module_violation(k: &Kernel) -> String {
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Module);
    v[0].message.clone()
}

// --- sh_addralign ---

#[test]
fn a_zero_alignment_puts_the_section_at_null_enospc() {
    for section in [".text", ".fini_array"] {
        let m = TempModule::patched("kldtest_ctor", |b| {
            patch::set_section_align(b, section, 0);
        });
        let k = Kernel::new();
        // linker_load_file turns the ENOSPC into ENOEXEC; FreeBSD prints
        // nothing, the violation says why.
        assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
        let v = module_violation(&k);
        assert!(
            v.contains(&format!("section {section} has sh_addralign 0"))
                && v.ends_with("fails with ENOSPC"),
            "{v}"
        );
        assert!(!k.dmesg().contains("kldtest_ctor:"), "{}", k.dmesg());
        assert_eq!(k.kldstat().len(), 1);
    }
}

#[test]
fn a_zero_alignment_of_set_pcpu_fails_at_the_mapbase_check_enomem() {
    let m = TempModule::patched("kldtest_ctor", |b| {
        patch::rename_section(b, ".fini_array", "set_pcpu");
        patch::set_section_align(b, "set_pcpu", 0);
    });
    let k = Kernel::new();
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
    let d = k.dmesg();
    let want = format!("{}: mapbase 0x10 != address 0x", m.path().display());
    assert!(
        d.contains(&want) && d.contains(" + mapsize 0x10 (0x"),
        "{d}"
    );
    assert!(module_violation(&k).contains("section set_pcpu has sh_addralign 0"));
}

#[test]
fn a_zero_alignment_after_large_sections_writes_past_the_mapping() {
    // The mapping shrinks to one page, which the 5.8 KiB .text does not
    // fit: its copy faults.
    let m = TempModule::patched("rustecho", |b| {
        patch::set_section_align(b, "set_modmetadata_set", 0);
    });
    let k = Kernel::new();
    assert_eq!(
        k.kldload(m.path()).unwrap_err(),
        Error::Panic("page fault".into())
    );
    let v = module_violation(&k);
    assert!(
        v.contains("section set_modmetadata_set has sh_addralign 0")
            && v.contains("reads section .text at"),
        "{v}"
    );
    assert!(
        k.dmesg()
            .contains("Fatal trap 12: page fault while in kernel mode")
    );
    k.expect_panic();
}

#[test]
fn alignments_that_are_not_powers_of_two_load_as_on_freebsd() {
    let m = TempModule::patched("kldtest_ctor", |b| {
        assert_eq!(patch::set_section_align(b, ".data", 24), 8);
    });
    let k = Kernel::new();
    let id = k.kldload(m.path()).unwrap();
    assert!(k.dmesg().contains("kldtest_ctor: MOD_LOAD\n"));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

// --- Relocation tables ---

#[test]
fn a_relocation_table_whose_allocated_target_was_not_loaded_loses_its_base() {
    // .data keeps SHF_ALLOC but is no longer a type the kernel loads;
    // .rela.data still applies to it.
    let m = TempModule::patched("kldtest_ctor", |b| {
        patch::set_section_type(b, ".data", SHT_NOTE);
    });
    let k = Kernel::new();
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOEXEC);
    assert!(
        k.dmesg()
            .contains("kldload: kldtest_ctor.ko: lost base for reltab\n"),
        "{}",
        k.dmesg()
    );
    assert!(!k.dmesg().contains("kldtest_ctor: ctor"));
    k.check().unwrap();
}

// --- SYSINIT sets ---

#[test]
fn sysinit_sets_are_sorted_in_place_and_dummies_skipped() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_sisort")).unwrap();
    let d = k.dmesg();
    let order = d
        .lines()
        .find_map(|l| l.strip_prefix("kldtest_sisort: set in memory: "))
        .expect("the module printed its set");
    let subs: Vec<u32> = order
        .split(' ')
        .map(|x| u32::from_str_radix(x.trim_start_matches("0x"), 16).unwrap_or(0))
        .collect();
    assert_eq!(subs.len(), 5, "{order}");
    assert_eq!(subs[0], 0, "SI_SUB_DUMMY sorts first: {order}");
    assert!(subs.windows(2).all(|w| w[0] <= w[1]), "{order}");
    let runs: Vec<&str> = d
        .lines()
        .filter(|l| l.starts_with("kldtest_sisort: run"))
        .collect();
    assert_eq!(
        runs,
        [
            "kldtest_sisort: run 1",
            "kldtest_sisort: run 2",
            "kldtest_sisort: run 3"
        ]
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_read_only_sysinit_set_that_needs_sorting_faults() {
    let m = TempModule::patched("kldtest_sisort", |b| {
        patch::set_section_flags(b, "set_sysinit_set", SHF_ALLOC);
    });
    let k = Kernel::new();
    assert_eq!(
        k.kldload(m.path()).unwrap_err(),
        Error::Panic("page fault".into())
    );
    let v = module_violation(&k);
    assert!(
        v.contains("set_sysinit_set is not writable (no SHF_WRITE) and is sorted in place"),
        "{v}"
    );
    assert!(!k.dmesg().contains("kldtest_sisort: run"));
    k.expect_panic();
}

#[test]
fn a_null_sysinit_entry_is_dereferenced_and_faults() {
    // The entry's relocation is gone: the slot stays NULL.
    let m = TempModule::patched("kldtest_sisort", |b| {
        patch::set_reloc_type(b, "set_sysinit_set", R_X86_64_NONE);
    });
    let k = Kernel::new();
    assert_eq!(
        k.kldload(m.path()).unwrap_err(),
        Error::Panic("page fault".into())
    );
    let v = module_violation(&k);
    assert!(
        v.contains("entry 0 of set_sysinit_set is 0x0, not a struct sysinit"),
        "{v}"
    );
    assert!(k.dmesg().contains("fault virtual address\t= 0x0\n"));
    k.expect_panic();
}

// --- Constructors and destructors ---

/// The lines kldtest_ctor printed.
fn ctor_lines(k: &Kernel) -> Vec<String> {
    k.dmesg()
        .lines()
        .filter_map(|l| l.strip_prefix("kldtest_ctor: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn constructors_run_first_and_destructors_last_both_in_array_order() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_ctor")).unwrap();
    k.kldunload(id, false).unwrap();
    assert_eq!(
        ctor_lines(&k),
        [
            "ctor a, call 1",
            "ctor b, call 2",
            "sysinit",
            "MOD_LOAD",
            "MOD_UNLOAD",
            "sysuninit",
            "dtor a",
            "dtor b"
        ]
    );
    k.check().unwrap();
}

#[test]
fn only_the_first_constructor_section_is_used() {
    // .fini_array becomes a second constructor section: FreeBSD says so
    // and ignores it, and the module has no destructors left.
    let m = TempModule::patched("kldtest_ctor", |b| {
        patch::set_section_type(b, ".fini_array", SHT_INIT_ARRAY);
    });
    let k = Kernel::new();
    let id = k.kldload(m.path()).unwrap();
    assert!(
        k.dmesg().contains(&format!(
            "link_elf_load_file: multiple ctor sections in {}\n",
            m.path().display()
        )),
        "{}",
        k.dmesg()
    );
    k.kldunload(id, false).unwrap();
    assert_eq!(
        ctor_lines(&k),
        [
            "ctor a, call 1",
            "ctor b, call 2",
            "sysinit",
            "MOD_LOAD",
            "MOD_UNLOAD",
            "sysuninit"
        ]
    );
    k.check().unwrap();
}

#[test]
fn destructors_do_not_run_when_the_load_failed_before_the_constructors() {
    // printf is not found: the load fails in relocate_file, before the
    // constructors; unloading the half-linked file must not call the
    // destructors (whose calls to printf were never relocated).
    let m = TempModule::patched("kldtest_ctor", |b| {
        assert!(patch::rename_undefined(b, "printf", "printg"));
    });
    let k = Kernel::new();
    assert_eq!(k.kldload(m.path()).unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol printg undefined\n")
    );
    assert_eq!(k.kldstat().len(), 1);
    k.check().unwrap();
}

// --- Undefined symbols ---

#[test]
fn a_weak_undefined_symbol_that_is_not_found_is_null() {
    let m = TempModule::patched("kldtest_provider", |b| {
        assert!(patch::rename_undefined(b, "M_TEMP", "M_TEMQ"));
        patch::set_symbol_bind(b, "M_TEMQ", STB_WEAK);
    });
    let k = Kernel::new();
    k.kldload(m.path()).unwrap();
    assert!(k.dmesg().contains("kldtest_provider: M_TEMP is NULL\n"));
    k.check().unwrap();
}

#[test]
fn only_symbols_an_applied_relocation_uses_are_looked_up() {
    // Not found, and used: the load fails by name.
    let used = TempModule::patched("kldtest_provider", |b| {
        assert!(patch::rename_undefined(b, "M_TEMP", "M_TEMQ"));
    });
    let k = Kernel::new();
    assert_eq!(k.kldload(used.path()).unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol M_TEMQ undefined\n")
    );
    // Not found, and no relocation that looks it up (R_X86_64_NONE):
    // never looked up, so the load succeeds.
    let unused = TempModule::patched("kldtest_provider", |b| {
        assert!(patch::rename_undefined(b, "M_TEMP", "M_TEMQ"));
        assert_eq!(
            patch::set_reloc_type_for_symbol(b, "M_TEMQ", R_X86_64_NONE),
            1
        );
    });
    let k = Kernel::new();
    k.kldload(unused.path()).unwrap();
    assert!(k.dmesg().contains("kldtest_provider: M_TEMP is NULL\n"));
    k.check().unwrap();
}

/// kldtest_consumer, optionally with its `strlen` renamed, loaded after
/// kldtest_provider on a kernel with `cfg`.
fn consumer(cfg: Config, strlen_as: Option<&str>) -> (Kernel, harness::SysResult<i32>) {
    let m = TempModule::patched("kldtest_consumer", |b| {
        if let Some(name) = strlen_as {
            assert!(patch::rename_undefined(b, "strlen", name));
        }
    });
    let k = Kernel::with_config(cfg);
    k.kldload(module_path("kldtest_provider")).unwrap();
    let r = k.kldload(m.path());
    (k, r)
}

#[test]
fn the_kernel_is_searched_before_the_other_dependencies() {
    // Both the kernel and kldtest_provider define strlen: the kernel's is
    // the one (3 for "abc"; the provider's returns 1000).
    let (k, r) = consumer(Config::default(), None);
    r.unwrap();
    assert!(k.dmesg().contains("kldtest_consumer: strlen returned 3\n"));
    k.check().unwrap();
}

#[test]
fn symbols_only_a_dependency_defines_are_found_there_locals_included() {
    // kolink (as kmod.mk) made the provider's prvlen local, and prvloc is
    // static: with debug.link_elf_obj_leak_locals=1, FreeBSD's default,
    // both are found.
    for (name, value) in [("prvlen", 2000), ("prvloc", 3000)] {
        let (k, r) = consumer(Config::default(), Some(name));
        r.unwrap();
        assert!(
            k.dmesg()
                .contains(&format!("kldtest_consumer: strlen returned {value}\n")),
            "{}",
            k.dmesg()
        );
        k.check().unwrap();
    }
}

#[test]
fn without_leaking_locals_a_dependencys_local_symbols_are_not_found() {
    let strict = || Config {
        link_elf_obj_leak_locals: false,
        ..Config::default()
    };
    let (k, r) = consumer(strict(), Some("prvloc"));
    assert_eq!(r.unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol prvloc undefined\n")
    );
    // The kernel's global strlen is still found.
    let (k, r) = consumer(strict(), None);
    r.unwrap();
    assert!(k.dmesg().contains("kldtest_consumer: strlen returned 3\n"));
}

/// A small object: `set_foo` (8 bytes) and `.text` (16 bytes), in the
/// order given, and in `.text` an `R_X86_64_64` against `__start_set_foo`.
fn link_set_object(set_first: bool) -> Vec<u8> {
    use object::write::{Object, Relocation, Symbol, SymbolSection};
    use object::{
        Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags,
        SymbolKind, SymbolScope, elf,
    };
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let add_set = |obj: &mut Object<'_>| {
        let s = obj.add_section(Vec::new(), b"set_foo".to_vec(), SectionKind::Data);
        obj.append_section_data(s, &[0; 8], 8);
    };
    if set_first {
        add_set(&mut obj);
    }
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0xcc; 16], 16);
    if !set_first {
        add_set(&mut obj);
    }
    let sym = obj.add_symbol(Symbol {
        name: b"__start_set_foo".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    obj.add_relocation(
        text,
        Relocation {
            offset: 0,
            symbol: sym,
            addend: 0,
            flags: RelocationFlags::Elf {
                r_type: elf::R_X86_64_64,
            },
        },
    )
    .unwrap();
    obj.write().unwrap()
}

#[test]
fn a_link_set_that_is_the_first_loaded_section_loses_its_binding() {
    let dir = std::env::temp_dir().join(format!("harness-linkset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // set_foo second: __start_set_foo is bound to it, the file loads.
    let ok = dir.join("linkset_ok.ko");
    std::fs::write(&ok, link_set_object(false)).unwrap();
    let k = Kernel::new();
    let id = k.kldload(&ok).unwrap();
    k.kldunload(id, false).unwrap();
    // set_foo first: its position is 0, which reads as SHN_UNDEF, so the
    // symbol is looked up by name, and the kernel has no set_foo.
    let lost = dir.join("linkset_lost.ko");
    std::fs::write(&lost, link_set_object(true)).unwrap();
    let k = Kernel::new();
    assert_eq!(k.kldload(&lost).unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("link_elf_obj: symbol __start_set_foo undefined\n"),
        "{}",
        k.dmesg()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- The kernel version ---

#[test]
fn a_module_built_against_newer_headers_fails_on_15_0() {
    let k = Kernel::new();
    assert_eq!(
        k.kldload(module_path("kldtest_newer")).unwrap_err(),
        Errno::ENOENT
    );
    assert!(
        k.dmesg().contains(
            "KLD kldtest_newer.ko: depends on kernel - not available or version mismatch\n"
        )
    );
    assert!(!k.dmesg().contains("kldtest_newer: loaded"));
}

#[test]
fn the_running_kernel_version_is_configurable() {
    let at = |osreldate| {
        Kernel::with_config(Config {
            osreldate,
            ..Config::default()
        })
    };
    // 15.1 and a later 15.x load it; 16.0 is past MODULE_KERNEL_MAXVER.
    for v in [1_501_000, 1_599_999] {
        let k = at(v);
        k.kldload(module_path("kldtest_newer")).unwrap();
        assert!(k.dmesg().contains("kldtest_newer: loaded\n"));
    }
    let k = at(1_600_000);
    assert_eq!(
        k.kldload(module_path("kldtest_newer")).unwrap_err(),
        Errno::ENOENT
    );
    // A module built for 15.0 does not load on an older 15-CURRENT.
    let k = at(1_500_000);
    assert_eq!(k.kldload(module_path("hello")).unwrap_err(), Errno::ENOENT);
    assert!(
        k.dmesg()
            .contains("KLD hello.ko: depends on kernel - not available or version mismatch\n")
    );
}
