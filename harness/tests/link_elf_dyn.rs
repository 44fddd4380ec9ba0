// SPDX-License-Identifier: BSD-2-Clause
//! The `link_elf.c`-style loader for arm64 `ET_DYN` modules
//! (`harness::loader::link_elf`): every module `make ARCH=arm64` built
//! (`build/arm64/*.ko`, made by `make test`'s `check-arm64` step before
//! the tests run) is laid out and relocated against the test kernel's
//! symbols, its metadata read; broken copies fail as FreeBSD/arm64 fails.
//! No arm64 code runs (this is an x86-64 host).

use harness::loader::link_elf::{self, DynFile, MetadataKind, Target};
use harness::testing::build_dir;
use harness::{Errno, Kernel};
use object::{Object, ObjectSection};
use std::path::PathBuf;

const R_AARCH64_GLOB_DAT: u32 = 1025;
const R_AARCH64_JUMP_SLOT: u32 = 1026;
const R_AARCH64_RELATIVE: u32 = 1027;

/// Modules that import symbols from another module (resolved on FreeBSD
/// through the dependency `linker_load_dependencies` loads first; this
/// loader searches only the module and the kernel), and the symbol.
const NEEDS_OTHER_MODULES: [(&str, &str); 1] = [("rustsequser.ko", "rustseq_next")];

/// A kernel symbol's address as the loader resolves it.
fn kaddr(k: &Kernel, s: &str) -> Option<u64> {
    k.kernel_symbol_address(s)
        .map(|a| a as u64)
        .or_else(|| link_elf::arm64_kernel_symbol(s))
}

fn arm64_dir() -> PathBuf {
    build_dir().join("arm64")
}

/// Every arm64 module, sorted.
fn arm64_modules() -> Vec<PathBuf> {
    let dir = arm64_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run `make ARCH=arm64` first", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ko"))
        .collect();
    v.sort();
    assert!(
        v.len() > 10,
        "only {} arm64 modules in {}",
        v.len(),
        dir.display()
    );
    v
}

fn arm64(name: &str) -> PathBuf {
    let p = arm64_dir().join(format!("{name}.ko"));
    assert!(p.exists(), "{}: run `make ARCH=arm64` first", p.display());
    p
}

fn load(k: &Kernel, name: &str) -> DynFile {
    k.link_elf_dyn(arm64(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A patched copy of an arm64 module, loaded.
fn load_patched(
    k: &Kernel,
    name: &str,
    patch: impl FnOnce(&mut Vec<u8>),
) -> Result<DynFile, harness::loader::link_elf::DynError> {
    let mut b = std::fs::read(arm64(name)).unwrap();
    patch(&mut b);
    harness::loader::link_elf::load(&format!("{name}.ko"), &b, &|s| kaddr(k, s))
}

/// The file range of section `name`.
fn section(b: &[u8], name: &str) -> (usize, usize) {
    let f = object::File::parse(b).unwrap();
    let s = f
        .section_by_name(name)
        .unwrap_or_else(|| panic!("no {name}"));
    let (off, size) = s.file_range().unwrap();
    (off as usize, size as usize)
}

/// Replaces the first occurrence of `from` in `.dynstr` by `to` (same
/// length).
fn rename_dynstr(b: &mut [u8], from: &str, to: &str) {
    rename_in(b, ".dynstr", from, to);
}

/// Replaces the first occurrence of `from` in string table `table` by
/// `to` (same length).
fn rename_in(b: &mut [u8], table: &str, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let (off, size) = section(b, table);
    let mut needle = vec![0u8];
    needle.extend_from_slice(from.as_bytes());
    needle.push(0);
    let at = b[off..off + size]
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{from} not in {table}"));
    b[off + at + 1..off + at + 1 + from.len()].copy_from_slice(to.as_bytes());
}

#[test]
fn every_arm64_module_loads_and_every_relocation_resolves() {
    let k = Kernel::new();
    let mut failed = Vec::new();
    for p in arm64_modules() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some((_, sym)) = NEEDS_OTHER_MODULES.iter().find(|(m, _)| *m == name) {
            let e = k
                .link_elf_dyn(&p)
                .expect_err("resolved another module's symbol");
            assert_eq!(e.messages, [format!("link_elf: symbol {sym} undefined")]);
            continue;
        }
        let mut f = match k.link_elf_dyn(&p) {
            Ok(f) => f,
            Err(e) => {
                failed.push(format!("{name}: {e}"));
                continue;
            }
        };
        let (lo, hi) = (f.address(), f.address() + f.size() as u64);
        assert!(!f.relocations().is_empty(), "{name}: no relocations");
        for r in f.relocations() {
            let word = f.word_at(lo + r.offset).unwrap();
            assert_eq!(word, r.value, "{name}: {r:?}");
            match &r.target {
                Target::Kernel(s) => {
                    assert_eq!(r.symbol.as_deref(), Some(s.as_str()), "{name}: {r:?}");
                    let want = kaddr(&k, s).unwrap();
                    if matches!(r.kind, R_AARCH64_GLOB_DAT | R_AARCH64_JUMP_SLOT) {
                        assert_eq!(word, want, "{name}: {s}");
                    }
                }
                Target::Module => {
                    assert!(
                        (lo..hi).contains(&word),
                        "{name}: {r:?} outside {lo:#x}..{hi:#x}"
                    );
                }
                Target::None | Target::WeakUndefined => {}
            }
        }
        // The sets the linker registers from: module metadata, and a
        // kernel dependency on every module.
        let md = f.metadata().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            md.iter()
                .any(|m| m.name == "kernel" && matches!(m.kind, MetadataKind::Depend { .. })),
            "{name}: no MODULE_DEPEND on kernel: {md:?}"
        );
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn rustecho_metadata_and_relocated_words_are_the_modules() {
    let k = Kernel::new();
    let mut f = load(&k, "rustecho");
    let md = f.metadata().unwrap();
    // The same records the amd64 build registers: its module name is the
    // one modstat shows after an amd64 kldload.
    let amd64 = Kernel::new();
    let id = amd64
        .kldload(harness::testing::module_path("rustecho"))
        .unwrap();
    let amd64_names: Vec<String> = amd64
        .modstat()
        .into_iter()
        .filter(|m| m.file == id)
        .map(|m| m.name)
        .collect();
    let arm64_names: Vec<String> = md
        .iter()
        .filter_map(|m| match &m.kind {
            MetadataKind::Module(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(arm64_names, amd64_names, "{md:?}");
    let dep = md
        .iter()
        .find(|m| m.name == "kernel")
        .expect("MODULE_DEPEND(kernel)");
    let MetadataKind::Depend { min, max, .. } = dep.kind else {
        panic!("{dep:?}")
    };
    assert!(
        min <= harness::KERNEL_VERSION && harness::KERNEL_VERSION <= max,
        "{dep:?}"
    );
    assert!(
        md.iter()
            .any(|m| matches!(m.kind, MetadataKind::Version(v) if v >= 1)
                && m.name == amd64_names[0]),
        "{md:?}"
    );
    // A few known kernel symbols: the GOT/PLT word is the kernel's address.
    let base = f.address();
    let mut seen = 0;
    for sym in ["printf", "M_DEVBUF", "malloc"] {
        for r in f
            .relocations()
            .iter()
            .filter(|r| r.symbol.as_deref() == Some(sym))
        {
            let want = k.kernel_symbol_address(sym).unwrap() as u64;
            assert_eq!(r.target, Target::Kernel(sym.to_owned()));
            assert_eq!(f.word_at(base + r.offset), Some(want), "{sym}");
            seen += 1;
        }
    }
    assert!(seen > 0, "no relocation against printf, M_DEVBUF or malloc");
    // RELATIVE words point into the module.
    assert!(
        f.relocations()
            .iter()
            .filter(|r| r.kind == R_AARCH64_RELATIVE)
            .all(|r| r.value >= base && r.value < base + f.size() as u64)
    );
    // The sysinit set holds module addresses.
    let si = f.set_entries("sysinit_set").unwrap();
    assert!(!si.is_empty());
    assert!(si.iter().all(|&p| p >= base && p < base + f.size() as u64));
}

#[test]
fn the_wrong_machine_is_refused() {
    let k = Kernel::new();
    let e = load_patched(&k, "hello", |b| {
        b[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    })
    .expect_err("loaded an EM_X86_64 file");
    assert_eq!(e.errno, Errno::ENOEXEC);
    assert_eq!(e.messages, ["kldload: hello.ko: Unsupported machine"]);
    assert!(e.why.unwrap().contains("e_machine 62"));
}

#[test]
fn the_amd64_et_rel_build_is_refused_with_enosys_or_machine() {
    // An amd64 module is ET_REL: link_elf.c refuses the type (ENOSYS)
    // before it looks at the machine.
    let k = Kernel::new();
    let e = k
        .link_elf_dyn(harness::testing::module_path("hello"))
        .expect_err("loaded an ET_REL file");
    assert_eq!(e.errno, Errno::ENOSYS, "{e}");
}

#[test]
fn a_file_without_pt_dynamic_is_refused() {
    let k = Kernel::new();
    let e = load_patched(&k, "hello", |b| {
        let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
        let phnum = u16::from_le_bytes(b[56..58].try_into().unwrap()) as usize;
        for i in 0..phnum {
            let at = phoff + 56 * i;
            if u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) == 2 {
                b[at..at + 4].copy_from_slice(&0u32.to_le_bytes()); // PT_NULL
            }
        }
    })
    .expect_err("loaded without PT_DYNAMIC");
    assert_eq!(e.errno, Errno::ENOEXEC);
    assert_eq!(
        e.messages,
        ["kldload: hello.ko: Object is not dynamically-linked"]
    );
}

#[test]
fn an_unknown_relocation_type_is_refused_and_named() {
    let k = Kernel::new();
    let e = load_patched(&k, "rustecho", |b| {
        let (off, _) = section(b, ".rela.dyn");
        // R_AARCH64_ADR_PREL_PG_HI21 (275), a static-link type.
        b[off + 8..off + 12].copy_from_slice(&275u32.to_le_bytes());
    })
    .expect_err("applied an R_AARCH64_ADR_PREL_PG_HI21");
    assert_eq!(e.errno, Errno::ENOENT);
    assert_eq!(
        e.messages[0], "kldload: unexpected relocation type 275",
        "{e}"
    );
    assert!(e.messages[1].starts_with("link_elf: symbol "), "{e}");
    assert!(e.why.unwrap().contains("relocation type 275"));
}

#[test]
fn a_symbol_the_kernel_lacks_is_refused_with_its_name() {
    let k = Kernel::new();
    let e = load_patched(&k, "rustecho", |b| rename_dynstr(b, "printf", "printQ"))
        .expect_err("resolved printQ");
    assert_eq!(e.errno, Errno::ENOENT);
    assert_eq!(e.messages, ["link_elf: symbol printQ undefined"], "{e}");
}

#[test]
fn missing_set_bounds_leave_the_metadata_unreadable() {
    let k = Kernel::new();
    // Renamed in the dynamic table only, the bound is still found: after
    // the load link_elf_lookup_symbol falls back to an exhaustive search
    // of the full .symtab.
    let (from, to) = ("__start_set_modmetadata_set", "__start_set_modmetadata_sex");
    let mut f = load_patched(&k, "hello", |b| rename_dynstr(b, from, to)).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 3);
    // Gone from both, the set cannot be read.
    let mut f = load_patched(&k, "hello", |b| {
        rename_dynstr(b, from, to);
        rename_in(b, ".strtab", from, to);
    })
    .unwrap();
    let e = f.metadata().unwrap_err();
    assert_eq!(e.errno, Errno::ENOENT);
    assert!(e.why.unwrap().contains("__start_set_modmetadata_set"));
}

/// Program header `i`'s file offset.
fn phdr_at(b: &[u8], i: usize) -> usize {
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    phoff + 56 * i
}

/// Sets the `p_type` of every program header of type `from` to `to`.
fn retype_phdrs(b: &mut [u8], from: u32, to: u32) {
    let phnum = u16::from_le_bytes(b[56..58].try_into().unwrap()) as usize;
    let mut n = 0;
    for i in 0..phnum {
        let at = phdr_at(b, i);
        if u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) == from {
            b[at..at + 4].copy_from_slice(&to.to_le_bytes());
            n += 1;
        }
    }
    assert!(n > 0, "no program header of type {from:#x}");
}

/// Sets the value of dynamic tag `tag` (which must be present).
fn set_dyn(b: &mut [u8], tag: u64, val: u64) {
    let (off, size) = section(b, ".dynamic");
    let at = (off..off + size)
        .step_by(16)
        .find(|&a| u64::from_le_bytes(b[a..a + 8].try_into().unwrap()) == tag)
        .unwrap_or_else(|| panic!("no dynamic tag {tag}"));
    b[at + 8..at + 16].copy_from_slice(&val.to_le_bytes());
}

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_GNU_STACK: u32 = 0x6474_e551;

#[test]
fn more_than_maxsegs_load_segments_are_too_many_sections() {
    // hello.ko has three PT_LOADs; two more make five, over MAXSEGS (4).
    let k = Kernel::new();
    let e = load_patched(&k, "hello", |b| {
        retype_phdrs(b, PT_PHDR, PT_LOAD);
        retype_phdrs(b, PT_GNU_STACK, PT_LOAD);
    })
    .expect_err("loaded five PT_LOAD segments");
    assert_eq!(e.errno, Errno::ENOEXEC);
    assert_eq!(e.messages, ["kldload: hello.ko: Too many sections"]);
}

#[test]
fn a_pt_interp_is_enosys() {
    let k = Kernel::new();
    let e = load_patched(&k, "hello", |b| retype_phdrs(b, PT_GNU_STACK, PT_INTERP))
        .expect_err("loaded a file with PT_INTERP");
    assert_eq!(e.errno, Errno::ENOSYS);
    assert!(e.messages.is_empty(), "{e}");
}

#[test]
fn parse_dynamic_refuses_wrong_entry_sizes_and_plt_types_silently() {
    const DT_RELAENT: u64 = 9;
    const DT_SYMENT: u64 = 11;
    const DT_PLTREL: u64 = 20;
    let k = Kernel::new();
    for (tag, val, why) in [
        (DT_RELAENT, 16, "DT_RELAENT 16, not 24"),
        (DT_SYMENT, 16, "DT_SYMENT 16, not 24"),
        (DT_PLTREL, 5, "DT_PLTREL 5 is neither DT_REL nor DT_RELA"),
    ] {
        let e = load_patched(&k, "hello", |b| set_dyn(b, tag, val))
            .expect_err("parse_dynamic accepted it");
        assert_eq!(e.errno, Errno::ENOEXEC, "{why}");
        assert!(e.messages.is_empty(), "{e}");
        assert!(e.why.as_deref().unwrap().ends_with(why), "{e}");
    }
}

#[test]
fn a_segment_past_the_end_of_the_file_is_refused_not_read() {
    // FreeBSD's vn_rdwr would come up short; the harness refuses the
    // segment and says where it lies.
    let k = Kernel::new();
    let e = load_patched(&k, "hello", |b| {
        let phnum = u16::from_le_bytes(b[56..58].try_into().unwrap()) as usize;
        let len = b.len() as u64;
        for i in 0..phnum {
            let at = phdr_at(b, i);
            if u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) == PT_LOAD {
                b[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
            }
        }
    })
    .expect_err("read a segment past the end");
    assert_eq!(e.errno, Errno::ENOEXEC);
    assert!(e.why.unwrap().contains("PT_LOAD segment 0 lies outside"));
}

#[test]
fn the_main_modules_declare_the_modules_their_amd64_builds_register() {
    // The arm64 MDT_MODULE records against what an amd64 kldload of the
    // same sources registers (modstat), and a version in each file.
    for name in [
        "rustecho", "rustfifo", "rustseq", "rustedu", "hello", "chello", "cecho", "cfifo",
    ] {
        let k = Kernel::new();
        let mut f = load(&k, name);
        let md = f.metadata().unwrap();
        let mut arm64_names: Vec<String> = md
            .iter()
            .filter_map(|m| match &m.kind {
                MetadataKind::Module(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        let amd64 = Kernel::new();
        let id = amd64
            .kldload(harness::testing::module_path(name))
            .unwrap_or_else(|e| panic!("amd64 {name}: {e}"));
        let mut amd64_names: Vec<String> = amd64
            .modstat()
            .into_iter()
            .filter(|m| m.file == id)
            .map(|m| m.name)
            .collect();
        arm64_names.sort();
        amd64_names.sort();
        assert_eq!(arm64_names, amd64_names, "{name}: {md:?}");
        // A version per file (DRIVER_MODULE's "pci/x" module has its
        // MODULE_VERSION under the driver's name).
        assert!(
            md.iter()
                .any(|v| matches!(v.kind, MetadataKind::Version(_))),
            "{name}: no MODULE_VERSION: {md:?}"
        );
    }
}

#[test]
fn unreadable_program_headers_are_printed_and_the_load_goes_on() {
    // link_elf_load_file prints the message without failing and reads the
    // headers with sizeof(Elf_Phdr) strides.
    let k = Kernel::new();
    let f = load_patched(&k, "hello", |b| {
        b[54..56].copy_from_slice(&0u16.to_le_bytes())
    })
    .expect("e_phentsize 0 stops the load");
    assert_eq!(
        f.messages(),
        ["kldload: hello.ko: Unreadable program headers"]
    );
    assert!(!f.relocations().is_empty());
}
