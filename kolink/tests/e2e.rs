// SPDX-License-Identifier: BSD-2-Clause
//! End-to-end test with the real toolchain: C compiled by `clang-16` for
//! `x86_64-unknown-freebsd15.0` with kmod-style flags, linked with
//! `ld.lld-16 -r`, then `kolink fix`, `kolink check` and `kolink size` run
//! through the command-line binary.
//!
//! The rewrite is also checked for meaning, not just form: the original
//! object (linked by `ld.lld --no-relax`, which builds a real GOT) and the
//! fixed one (linked without a GOT) are both placed at a kernel address, and
//! every instruction that referenced the GOT must resolve to the same
//! address in both.
//!
//! Skipped, with a notice, when `clang-16` or `ld.lld-16` is missing.

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

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use object::Endianness;
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};

/// Module boilerplate: stand-ins for `sys/module.h` and `sys/linker_set.h`
/// (`DECLARE_MODULE`, `MODULE_DEPEND`, `MODULE_VERSION`, `DATA_SET`).
const MODULE_C: &str = r#"
struct mod_depend { int md_ver_minimum; int md_ver_preferred; int md_ver_maximum; };
struct mod_version { int mv_version; };
struct mod_metadata { int md_version; int md_type; const void *md_data; const char *md_cval; };
typedef struct moduledata {
	const char *name;
	int (*evhand)(void *, int, void *);
	void *priv;
} moduledata_t;

extern int printf(const char *, ...);
extern int call_then_return(int);

__asm__(".globl __start_set_modmetadata_set");
__asm__(".globl __stop_set_modmetadata_set");

static int
echo_modevent(void *mod, int what, void *arg)
{
	(void)mod;
	(void)arg;
	printf("echo: event %d\n", what);
	return (call_then_return(what) - what - 1);
}

static moduledata_t echo_mod = { "echo", echo_modevent, 0 };
static struct mod_depend _echo_depend_on_kernel = { 1500000, 1500000, 1599999 };
static struct mod_metadata _mod_metadata_md_echo_on_kernel = { 1, 1, &_echo_depend_on_kernel, "kernel" };
static struct mod_metadata _mod_metadata_md_echo = { 1, 2, &echo_mod, "echo" };
static struct mod_version _echo_version = { 1 };
static struct mod_metadata _mod_metadata_echo_version = { 1, 3, &_echo_version, "echo" };

static void const *__set_modmetadata_set_sym_a __attribute__((section("set_modmetadata_set"), used)) =
    &_mod_metadata_md_echo_on_kernel;
static void const *__set_modmetadata_set_sym_b __attribute__((section("set_modmetadata_set"), used)) =
    &_mod_metadata_md_echo;
static void const *__set_modmetadata_set_sym_c __attribute__((section("set_modmetadata_set"), used)) =
    &_mod_metadata_echo_version;
"#;

/// Code compiled with `-fPIC -fno-plt`, so that every external (and
/// preemptible) reference goes through the GOT: `mov`, `cmp`, `call *`,
/// `jmp *`.
const GOT_C: &str = r"
extern int ext_counter;
extern void ext_fn(int);
extern int ext_table[16];
int helper(int x) { return x * 3; }
int *counter_addr(void) { return &ext_counter; }
int is_ext(void (*f)(int)) { return f == ext_fn; }
int table_at(int i) { return ext_table[i] + ext_counter; }
int (*helper_addr(void))(int) { return helper; }
void tail_ext(int x) { ext_fn(x); }
int call_then_return(int x) { ext_fn(x); return x + 1; }
";

const KMOD_CFLAGS: &[&str] = &[
    "--target=x86_64-unknown-freebsd15.0",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mno-mmx",
    "-mno-sse",
    "-msoft-float",
    "-ffreestanding",
    "-fno-common",
    "-fno-asynchronous-unwind-tables",
    "-O2",
    "-c",
];

const ALLOWLIST: &str = "\
# kernel symbols the test module uses
printf       sys/systm.h
ext_fn       sys/ext.h
ext_counter  sys/ext.h
ext_table    sys/ext.h
";

/// Kernel-like addresses for the final links: the module's text, and the
/// kernel symbols it references.
const TEXT_BASE: u64 = 0xffff_ffff_8010_0000;
const EXTERN_BASE: u64 = 0xffff_ffff_8100_0000;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn kolink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kolink"))
}

fn compile(dir: &Path, name: &str, source: &str, extra: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let obj = dir.join(format!("{name}.o"));
    std::fs::write(&src, source).unwrap();
    run(Command::new("clang-16")
        .args(KMOD_CFLAGS)
        .args(extra)
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    obj
}

fn toolchain() -> bool {
    for t in ["clang-16", "ld.lld-16"] {
        if common::tool(t).is_none() {
            println!("notice: {t} not found; skipping the end-to-end test");
            return false;
        }
    }
    true
}

/// Builds `linked.o` (`ld.lld -r` of the two C files) in `dir`; `extra`
/// flags are for the GOT-heavy file.
fn build_linked(dir: &Path, extra: &[&str]) -> PathBuf {
    let module = compile(dir, "module", MODULE_C, &["-fno-pic"]);
    let got = compile(dir, "got", GOT_C, &[&["-fPIC", "-fno-plt"], extra].concat());
    let linked = dir.join("linked.o");
    run(Command::new("ld.lld-16")
        .arg("-r")
        .arg(&module)
        .arg(&got)
        .arg("-o")
        .arg(&linked));
    linked
}

#[test]
fn clang_object_is_fixed_and_checked() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("e2e");
    let linked = build_linked(&dir, &[]);
    let ko = dir.join("echo.ko");
    let allow = dir.join("allowlist.txt");
    std::fs::write(&allow, ALLOWLIST).unwrap();

    // The input really has GOT relocations, and check rejects it.
    let before = common::parse(&std::fs::read(&linked).unwrap());
    let got_sites = before
        .relocs
        .iter()
        .filter(|r| matches!(r.r_type, 9 | 41 | 42))
        .count();
    assert!(got_sites >= 7, "{:#?}", before.relocs);
    let out = kolink()
        .arg("check")
        .arg(&linked)
        .arg("--allowlist")
        .arg(&allow)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("R_X86_64_REX_GOTPCRELX"), "{stderr}");
    assert!(stderr.contains("R_X86_64_GOTPCRELX"), "{stderr}");

    // fix, through the CLI.
    let out = run(kolink().arg("fix").arg(&linked).arg("-o").arg(&ko));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("relaxed 1 call, 1 jmp"), "{stdout}");

    // The library reports the same, in detail.
    let fixed = kolink::fix(
        &std::fs::read(&linked).unwrap(),
        &kolink::FixOptions::default(),
    )
    .unwrap();
    let got = &fixed.report.got;
    assert_eq!((got.relaxed_calls, got.relaxed_jumps), (1, 1), "{got:?}");
    assert_eq!(got.relaxed_movs, 4, "{got:?}");
    // `cmp f, ext_fn@GOTPCREL(%rip)` needs a slot.
    assert_eq!(got.slot_symbols, ["ext_fn"], "{got:?}");
    assert_eq!(got.total(), got_sites);
    assert_eq!(std::fs::read(&ko).unwrap(), fixed.object);

    let after = common::parse(&fixed.object);
    after.assert_only_accepted_relocations();
    for name in ["helper", "counter_addr", "call_then_return", "tail_ext"] {
        assert_eq!(after.symbol(name).bind, elf::STB_LOCAL.0, "{name}");
    }
    for name in ["printf", "ext_fn", "ext_counter", "ext_table"] {
        assert_eq!(after.symbol(name).bind, elf::STB_GLOBAL.0, "{name}");
        assert_eq!(after.symbol(name).section, "UND", "{name}");
    }

    // check passes, through the CLI.
    let out = run(kolink()
        .arg("check")
        .arg(&ko)
        .arg("--allowlist")
        .arg(&allow));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": ok"), "{stdout}");
    assert!(stdout.contains("module echo"), "{stdout}");
    assert!(stdout.contains("kernel 1500000..1599999"), "{stdout}");
    assert!(stdout.contains("4 kernel symbol(s)"), "{stdout}");

    // Metadata through the library.
    let md = kolink::parse_metadata_file(&ko).unwrap();
    assert_eq!(md.modules[0].name, "echo");
    assert_eq!(md.versions[0].version, 1);
    let kernel = md.kernel_dependency().unwrap();
    assert_eq!(
        (kernel.minimum, kernel.preferred, kernel.maximum),
        (1_500_000, 1_500_000, 1_599_999)
    );

    // A symbol missing from the allowlist fails check, naming it.
    let short = dir.join("short.txt");
    std::fs::write(&short, "printf sys/systm.h\next_fn sys/ext.h\n").unwrap();
    let out = kolink()
        .arg("check")
        .arg(&ko)
        .arg("--allowlist")
        .arg(&short)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`ext_counter`"), "{stderr}");
    assert!(stderr.contains("`ext_table`"), "{stderr}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");

    // size, through the CLI.
    let out = run(kolink().arg("size").arg(&ko).arg(&linked));
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].trim_start().starts_with("text"), "{table}");
    assert!(lines[1].ends_with("echo.ko"), "{table}");
    let sizes = kolink::size_file(&ko).unwrap();
    assert_eq!(sizes.kernel_symbols, 4);
    // .kolink.got (one slot) is the only growth.
    let old = kolink::size_file(&linked).unwrap();
    assert_eq!(sizes.data, old.data + 8);
    assert_eq!(sizes.text, old.text);

    // llvm-objdump, if present: no GOT relocation left, relaxed forms shown.
    if common::tool("llvm-objdump-16").is_some() {
        let out = run(Command::new("llvm-objdump-16").arg("-dr").arg(&ko));
        let dis = String::from_utf8_lossy(&out.stdout);
        assert!(!dis.contains("GOTPC"), "{dis}");
        assert!(dis.contains("addr32"), "{dis}");
    }
}

#[test]
fn relaxed_and_slot_references_resolve_like_a_real_got() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("e2e-semantics");
    let linked = build_linked(&dir, &[]);
    let got = assert_same_resolution(&dir, &linked);
    assert_eq!(
        (got.relaxed_calls, got.relaxed_jumps, got.relaxed_movs),
        (1, 1, 4)
    );
}

/// As above, with the plain `R_X86_64_GOTPCREL` (9) that rustc emits: the
/// assembler told not to use the relaxable `X` forms.
#[test]
fn plain_gotpcrel_resolves_like_a_real_got() {
    if !toolchain() {
        return;
    }
    let dir = common::scratch("e2e-semantics-plain");
    let linked = build_linked(&dir, &["-Wa,-mrelax-relocations=no"]);
    let before = common::parse(&std::fs::read(&linked).unwrap());
    assert!(before.relocs.iter().any(|r| r.r_type == 9));
    assert!(!before.relocs.iter().any(|r| matches!(r.r_type, 41 | 42)));
    let got = assert_same_resolution(&dir, &linked);
    assert_eq!(
        (got.relaxed_calls, got.relaxed_jumps, got.relaxed_movs),
        (1, 1, 4)
    );
    assert_eq!(got.slot_symbols, ["ext_fn"]);
}

/// Any relocatable object named by `KOLINK_E2E_OBJECT` (for example a real
/// module linked with all code in one `.text`), checked the same way.
#[test]
fn external_object_resolves_like_a_real_got() {
    let Some(path) = std::env::var_os("KOLINK_E2E_OBJECT") else {
        println!("notice: KOLINK_E2E_OBJECT not set; nothing to do");
        return;
    };
    if !toolchain() {
        return;
    }
    let dir = common::scratch("e2e-external");
    let got = assert_same_resolution(&dir, Path::new(&path));
    println!("{got}");
}

/// Fixes `linked`, then links the original (with a real GOT, `--no-relax`)
/// and the fixed object at kernel addresses, with every kernel symbol
/// defined, and asserts that each instruction that referenced the GOT in
/// `.text` resolves to the same address in both. Returns the GOT report.
fn assert_same_resolution(dir: &Path, linked: &Path) -> kolink::GotReport {
    let ko = dir.join("fixed.ko");
    let report = kolink::fix_file(linked, &ko).unwrap();
    let defsyms: Vec<(String, u64)> = kolink::kernel_symbols(&std::fs::read(linked).unwrap())
        .unwrap()
        .into_iter()
        .zip(0u64..)
        .map(|(name, i)| (name, EXTERN_BASE + i * 0x40))
        .collect();
    let link = |input: &Path, out: &str, no_relax: bool| {
        let path = dir.join(out);
        let mut cmd = Command::new("ld.lld-16");
        cmd.arg("-o").arg(&path).arg("-e").arg("0");
        cmd.arg(format!("-Ttext={TEXT_BASE:#x}"));
        if no_relax {
            cmd.arg("--no-relax");
        }
        for (name, addr) in &defsyms {
            cmd.arg("--defsym").arg(format!("{name}={addr:#x}"));
        }
        run(cmd.arg(input));
        std::fs::read(path).unwrap()
    };
    let with_got = link(linked, "with-got.elf", true);
    let fixed = link(&ko, "fixed.elf", false);

    let sites: Vec<u64> = common::parse(&std::fs::read(linked).unwrap())
        .relocs
        .iter()
        .filter(|r| r.target == ".text" && matches!(r.r_type, 9 | 41 | 42))
        .map(|r| r.offset)
        .collect();
    assert!(!sites.is_empty(), "no GOT references in .text");
    for site in &sites {
        let a = resolve(&with_got, *site);
        let b = resolve(&fixed, *site);
        assert_eq!(a, b, "GOT site at .text+{site:#x}");
        assert!(
            a >= TEXT_BASE,
            "GOT site at .text+{site:#x} resolves to {a:#x}"
        );
    }
    report.got
}

/// The address the instruction containing `.text+site` refers to: the
/// branch target, the `lea` address, or the pointer loaded from memory.
fn resolve(image: &[u8], site: u64) -> u64 {
    let header = FileHeader64::<Endianness>::parse(image).unwrap();
    let endian = header.endian().unwrap();
    let sections = header.sections(endian, image).unwrap();
    let (_, text) = sections.section_by_name(endian, b".text").unwrap();
    let code = text.data(endian, image).unwrap();
    let base = text.sh_addr(endian);
    assert_eq!(base, TEXT_BASE);
    let mut decoder = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    for instr in &mut decoder {
        let start = instr.ip() - base;
        if !(start..start + instr.len() as u64).contains(&site) {
            continue;
        }
        if instr.is_ip_rel_memory_operand() {
            let addr = instr.ip_rel_memory_address();
            if instr.mnemonic() == Mnemonic::Lea {
                return addr;
            }
            // A load through a GOT entry: read the pointer.
            for s in sections.iter() {
                let lo = s.sh_addr(endian);
                let data = s.data(endian, image).unwrap();
                if s.sh_flags(endian).contains(elf::SHF_ALLOC)
                    && (lo..lo + data.len() as u64).contains(&addr)
                {
                    let off = usize::try_from(addr - lo).unwrap();
                    return u64::from_le_bytes(data[off..off + 8].try_into().unwrap());
                }
            }
            panic!(
                "{instr} at {:#x}: {addr:#x} is not in a loaded section",
                instr.ip()
            );
        }
        assert!(
            instr.is_call_near() || instr.is_jmp_near(),
            "unexpected instruction {instr} at GOT site {site:#x}"
        );
        return instr.near_branch_target();
    }
    panic!("no instruction covers .text+{site:#x}");
}
