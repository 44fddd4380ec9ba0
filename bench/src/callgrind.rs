// SPDX-License-Identifier: BSD-2-Clause
//! Instruction counts inside each module, from `valgrind --tool=callgrind`.
//!
//! The benchmark runs itself under callgrind in a child mode
//! (`--callgrind-child DIR ITERS`) with collection off at start
//! (`--collect-atstart=no`) and per-instruction costs
//! (`--dump-instr=yes`). The child loads each pair of modules (the echo
//! devices, then the FIFOs, each pair in a kernel of its own), writes each
//! module's mapping (`kldstat` address and size, and the bytes in memory)
//! to `DIR`, and for each message size and module runs `ITERS` round
//! trips twice: once with collection on around the `write(2)` only, once
//! around the `read(2)` only (callgrind client requests
//! `CALLGRIND_TOGGLE_COLLECT`), ending each with
//! `CALLGRIND_DUMP_STATS_AT(label)`, which writes one profile file and
//! zeroes the counters.
//!
//! The parent reads the profiles and adds up the cost of every
//! instruction whose address lies in a module's mapping: that is the
//! module's own code (its functions and the `core`/`compiler_builtins`
//! code linked into it), and excludes the emulated kernel functions it
//! calls (`uiomove`, `malloc`, locks), which are harness code.
//!
//! Copies inside a module: the `memcpy`/`memmove` of `compiler_builtins`
//! move bytes with `rep movsb`/`rep movsq`. Valgrind executes a `rep`
//! instruction one iteration at a time, re-entering it until `%rcx` is 0,
//! so callgrind charges it `iterations + 1` per execution: the bytes moved
//! are `(cost(rep) - entries) * width`, where `entries` is the cost of the
//! instruction that falls through into it. A calibration phase checks
//! this on a `rep movsb` of known length in this program.

use crate::image::Image;
use crate::targets::{Loaded, PAIRS, SIZES, locate, payload};
use std::collections::HashMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `VG_USERREQ_TOOL_BASE('C', 'T')` (callgrind.h).
const CT_BASE: u64 = (0x43 << 24) | (0x54 << 16);
/// `VG_USERREQ__TOGGLE_COLLECT`.
const TOGGLE_COLLECT: u64 = CT_BASE + 2;
/// `VG_USERREQ__DUMP_STATS_AT`.
const DUMP_STATS_AT: u64 = CT_BASE + 3;
/// `VG_USERREQ__RUNNING_ON_VALGRIND` (valgrind.h).
const RUNNING_ON_VALGRIND: u64 = 0x1001;

/// Round trips of each module and size before the measured ones.
pub(crate) const WARMUP: u64 = 10;

/// Calibration: calls and bytes per call.
const CAL_CALLS: u64 = 3;
const CAL_BYTES: usize = 1000;

/// A valgrind client request (valgrind.h, `VALGRIND_DO_CLIENT_REQUEST_EXPR`
/// for amd64): returns `default` when not running under valgrind.
fn client_request(default: u64, request: u64, arg1: u64) -> u64 {
    let args: [u64; 6] = [request, arg1, 0, 0, 0, 0];
    let mut result = default;
    // SAFETY: natively the four rotations turn %rdi by 128 bits (leaving
    // it unchanged) and `xchg rbx, rbx` changes nothing; under valgrind the
    // sequence is the client-request preamble, which reads the six words at
    // %rax (`args`, alive across the block) and writes only %rdx.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") args.as_ptr(),
            options(nostack),
        );
    }
    result
}

/// Whether this process runs under valgrind.
pub(crate) fn running_on_valgrind() -> bool {
    client_request(0, RUNNING_ON_VALGRIND, 0) != 0
}

fn toggle_collect() {
    client_request(0, TOGGLE_COLLECT, 0);
}

fn dump_stats_at(label: &str) -> Result<(), String> {
    let c = CString::new(label).map_err(|e| e.to_string())?;
    client_request(0, DUMP_STATS_AT, c.as_ptr() as u64);
    Ok(())
}

/// Copies `src` into `dst` with one `rep movsb`; returns the address of
/// that instruction (a 7-byte `lea` falls through into it).
#[inline(never)]
fn calibration_copy(dst: &mut [u8], src: &[u8]) -> u64 {
    let n = dst.len().min(src.len());
    let at: u64;
    // SAFETY: `rep movsb` copies `n` bytes from `src` to `dst`, two
    // distinct live buffers at least `n` long; the direction flag is clear
    // (SysV ABI); the `lea` only computes an address.
    unsafe {
        core::arch::asm!(
            "lea {at}, [rip + 2f]",
            "2:",
            "rep movsb",
            at = out(reg) at,
            inout("rcx") n => _,
            inout("rsi") src.as_ptr() => _,
            inout("rdi") dst.as_mut_ptr() => _,
            options(nostack, preserves_flags),
        );
    }
    at
}

/// Reads `len` bytes of this process's memory at `addr`.
///
/// # Safety
/// `addr..addr + len` must be mapped readable and not written meanwhile.
unsafe fn read_memory(addr: usize, len: usize) -> Vec<u8> {
    // SAFETY: by the caller's contract.
    unsafe { std::slice::from_raw_parts(addr as *const u8, len) }.to_vec()
}

/// This program's path and load base (its mapping at file offset 0, from
/// `/proc/self/maps`).
fn exe_base() -> Result<(String, u64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let exe = exe.to_string_lossy().into_owned();
    let maps =
        std::fs::read_to_string("/proc/self/maps").map_err(|e| format!("/proc/self/maps: {e}"))?;
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [range, _, offset, _, _, path] = f.as_slice()
            && *path == exe
            && u64::from_str_radix(offset, 16) == Ok(0)
            && let Some((start, _)) = range.split_once('-')
        {
            let base = u64::from_str_radix(start, 16).map_err(|e| e.to_string())?;
            return Ok((exe, base));
        }
    }
    Err(format!("{exe} not found in /proc/self/maps"))
}

/// The child: runs the measured phases under callgrind.
pub(crate) fn child(dir: &Path, iters: u64) -> Result<(), String> {
    if !running_on_valgrind() {
        return Err("--callgrind-child runs under valgrind --tool=callgrind only".to_owned());
    }
    // One kernel per pair: the echo modules, then the FIFOs.
    let loaded = PAIRS
        .iter()
        .map(|pair| Loaded::of(*pair, true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut manifest = String::new();
    for l in &loaded {
        for t in &l.targets {
            let (addr, size) = l.mapping(t)?;
            // SAFETY: kldstat gives the mapping of a loaded module; every
            // page of it is readable (text r-x, rodata r--, data rw-) and it
            // stays mapped until the unload in `finish`; no module code runs
            // now.
            let bytes = unsafe { read_memory(addr, size) };
            let file = dir.join(format!("{}.img", t.module));
            std::fs::write(&file, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            writeln!(manifest, "module {} {addr:#x} {}", t.module, file.display())
                .map_err(|e| e.to_string())?;
        }
    }

    let src = vec![0x5au8; CAL_BYTES];
    let mut dst = vec![0u8; CAL_BYTES];
    let mut rep = 0;
    toggle_collect();
    for _ in 0..CAL_CALLS {
        rep = calibration_copy(&mut dst, &src);
    }
    toggle_collect();
    dump_stats_at("calibration")?;
    // SAFETY: the 7-byte lea and the 2-byte rep movsb of
    // `calibration_copy`: this program's text, mapped read-execute.
    let code = unsafe { read_memory(usize::try_from(rep - 7).map_err(|e| e.to_string())?, 9) };
    let file = dir.join("calibration.img");
    std::fs::write(&file, code).map_err(|e| format!("{}: {e}", file.display()))?;
    let (exe, exe_base) = exe_base()?;
    writeln!(
        manifest,
        "calibration {:#x} {} {} {exe} {exe_base:#x}",
        rep - 7,
        file.display(),
        CAL_CALLS * CAL_BYTES as u64
    )
    .map_err(|e| e.to_string())?;

    for l in &loaded {
        measure_pair(l, iters)?;
    }
    let file = dir.join("manifest");
    std::fs::write(&file, manifest).map_err(|e| format!("{}: {e}", file.display()))?;
    for l in loaded {
        l.finish()?;
    }
    Ok(())
}

/// The measured phases of one pair: for each size and module, `iters`
/// round trips with collection on around the write only, then as many
/// around the read only, each set ending with a dump.
fn measure_pair(l: &Loaded, iters: u64) -> Result<(), String> {
    for (i, &size) in SIZES.iter().enumerate() {
        let data = payload(size);
        let mut back = vec![0u8; size];
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let (t, fd) = (&l.targets[which], l.fds[which]);
            let err = |e: harness::Error| format!("{}: {e}", t.module);
            for _ in 0..WARMUP {
                crate::targets::round_trip(&l.k, t, fd, &data, &mut back)?;
            }
            for dir in ["write", "read"] {
                let on_write = dir == "write";
                for _ in 0..iters {
                    if on_write {
                        toggle_collect();
                    }
                    let w = l.k.write(fd, &data);
                    // Off after the write, or on before the read.
                    toggle_collect();
                    let r = t.read_back(&l.k, fd, &mut back);
                    if !on_write {
                        toggle_collect();
                    }
                    w.map_err(err)?;
                    if r.map_err(err)? != size {
                        return Err(format!("{}: a short read", t.module));
                    }
                }
                dump_stats_at(&format!("{dir} {} {size} {iters}", t.module))?;
            }
            if back != data {
                return Err(format!("{}: wrong message read back", t.module));
            }
        }
    }
    Ok(())
}

/// The cost of one measured phase, attributed to a region.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attributed {
    /// Instructions executed in the region.
    pub(crate) ir: u64,
    /// Bytes moved by `rep movs` in the region.
    pub(crate) copied: u64,
    /// Whether some `rep movs` had no fall-through predecessor, so its
    /// entries were not subtracted (the bytes are an upper bound).
    pub(crate) approx: bool,
    /// Instructions per function of the region.
    pub(crate) funcs: HashMap<String, u64>,
}

/// One dump: its label and the self cost of each instruction, by object
/// (`ob=`: a file, or `???` for anonymous memory such as the modules'
/// mappings) and address (absolute for anonymous memory, relative to the
/// load base for a file).
#[derive(Debug, Default)]
pub(crate) struct Dump {
    pub(crate) label: String,
    pub(crate) costs: HashMap<String, HashMap<u64, u64>>,
    pub(crate) total: u64,
}

/// The object name callgrind gives anonymous memory.
pub(crate) const ANON: &str = "???";

/// Parses a callgrind profile written with `--dump-instr=yes
/// --dump-line=no --compress-pos=no` (absolute instruction addresses).
/// A `calls=` line is followed by the inclusive cost of that call, which
/// is not the call site's own cost and is skipped.
pub(crate) fn parse(text: &str) -> Result<Dump, String> {
    let mut d = Dump::default();
    let mut summary = None;
    let mut inclusive_next = false;
    let mut ob = String::new();
    for line in text.lines() {
        if let Some(o) = line.strip_prefix("ob=") {
            o.clone_into(&mut ob);
        } else if let Some(l) = line.strip_prefix("desc: Trigger: Client Request: ") {
            l.trim().clone_into(&mut d.label);
        } else if line.starts_with("calls=") {
            inclusive_next = true;
        } else if line.starts_with("0x") {
            let mut it = line.split_whitespace();
            let addr = it
                .next()
                .and_then(|a| u64::from_str_radix(&a[2..], 16).ok());
            let ir = it.next().map_or(Ok(0), str::parse::<u64>);
            let (Some(addr), Ok(ir)) = (addr, ir) else {
                return Err(format!("bad cost line: {line}"));
            };
            if inclusive_next {
                inclusive_next = false;
            } else {
                *d.costs
                    .entry(ob.clone())
                    .or_default()
                    .entry(addr)
                    .or_default() += ir;
                d.total += ir;
            }
        } else if let Some(v) = line
            .strip_prefix("summary:")
            .or_else(|| line.strip_prefix("totals:"))
        {
            summary = v.trim().parse::<u64>().ok();
        } else if line.starts_with(['+', '-', '*'])
            || line.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(format!(
                "compressed or line positions in the profile: {line}"
            ));
        }
    }
    if let Some(s) = summary
        && s != d.total
    {
        return Err(format!(
            "profile {:?}: self costs add up to {}, summary says {s}",
            d.label, d.total
        ));
    }
    Ok(d)
}

/// Attributes the costs of object `ob` in a dump to `img`.
pub(crate) fn attribute(d: &Dump, ob: &str, img: &Image) -> Attributed {
    let mut a = Attributed::default();
    let Some(costs) = d.costs.get(ob) else {
        return a;
    };
    let mut here: Vec<(u64, u64)> = costs
        .iter()
        .filter(|(addr, _)| img.contains(**addr))
        .map(|(a, c)| (*a, *c))
        .collect();
    here.sort_unstable();
    for (i, &(addr, ir)) in here.iter().enumerate() {
        a.ir += ir;
        let name = img
            .func(addr)
            .map_or_else(|| "(no symbol)".to_owned(), |f| f.name.clone());
        *a.funcs.entry(name).or_default() += ir;
        if let Some(width) = img.rep_movs_width(addr) {
            let entries = match i.checked_sub(1).and_then(|j| here.get(j)) {
                Some(&(prev, n)) if img.falls_through_to(prev, addr) => n,
                _ => {
                    a.approx = true;
                    0
                }
            };
            a.copied += ir.saturating_sub(entries) * width;
        }
    }
    a
}

/// Per module and size: the write and the read phase.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModuleCost {
    pub(crate) write: Attributed,
    pub(crate) read: Attributed,
    /// All instructions collected (module plus emulated kernel and the
    /// harness's syscall layer), write and read phases together.
    pub(crate) all: u64,
    pub(crate) iters: u64,
}

impl ModuleCost {
    /// Instructions per round trip inside the module.
    pub(crate) fn ir_per_rt(&self) -> f64 {
        (self.write.ir + self.read.ir) as f64 / self.iters.max(1) as f64
    }
}

/// Everything the callgrind run found.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// `[target][size]` of the echo modules, in
    /// [`BOTH`](crate::targets::BOTH) and [`SIZES`] order.
    pub(crate) cost: [[ModuleCost; 3]; 2],
    /// The same for the FIFOs ([`FIFOS`](crate::targets::FIFOS)).
    pub(crate) fifo_cost: [[ModuleCost; 3]; 2],
    /// Calibration: bytes measured, bytes copied.
    pub(crate) calibration: (u64, u64),
    /// Share of each module's executable bytes found where the layout puts
    /// them (1.0: the function names are right).
    pub(crate) layout_match: [f64; 2],
    /// The same for the FIFOs.
    pub(crate) fifo_layout_match: [f64; 2],
    /// The command line.
    pub(crate) command: String,
}

/// Finds valgrind on `PATH` (or `$VALGRIND`).
pub(crate) fn valgrind() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("VALGRIND") {
        return Some(PathBuf::from(v));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("valgrind"))
        .find(|p| p.is_file())
}

/// Runs this program's child mode under callgrind and reads the profiles.
pub(crate) fn run(valgrind: &Path, iters: u64) -> Result<Results, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = std::env::temp_dir().join(format!("rustecho-bench-{}", std::process::id()));
    drop(std::fs::remove_dir_all(&dir));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("callgrind.out");
    let mut cmd = Command::new(valgrind);
    cmd.args([
        "--tool=callgrind",
        "--collect-atstart=no",
        "--dump-instr=yes",
        "--dump-line=no",
        "--compress-strings=no",
        "--compress-pos=no",
    ])
    .arg(format!("--callgrind-out-file={}", out.display()))
    .arg(&exe)
    .arg("--callgrind-child")
    .arg(&dir)
    .arg(iters.to_string());
    let shown = format!(
        "valgrind --tool=callgrind --collect-atstart=no --dump-instr=yes --dump-line=no \
         --compress-strings=no --compress-pos=no --callgrind-out-file=DIR/callgrind.out \
         bench --callgrind-child DIR {iters}"
    );
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", valgrind.display()))?;
    if !output.status.success() {
        return Err(format!(
            "callgrind run failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let r = analyse(&dir, shown);
    if r.is_ok() && std::env::var_os("BENCH_KEEP").is_none() {
        drop(std::fs::remove_dir_all(&dir));
    }
    r
}

fn analyse(dir: &Path, command: String) -> Result<Results, String> {
    let manifest =
        std::fs::read_to_string(dir.join("manifest")).map_err(|e| format!("manifest: {e}"))?;
    let mut modules: HashMap<String, Image> = HashMap::new();
    let mut cal = None;
    let mut cal_ob = String::new();
    for line in manifest.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let addr = |s: &str| {
            u64::from_str_radix(s.trim_start_matches("0x"), 16)
                .map_err(|e| format!("manifest: {e}"))
        };
        match f.as_slice() {
            ["module", name, base, file] => {
                let (pi, ti) = locate(name).ok_or("manifest: unknown module")?;
                let t = &PAIRS[pi][ti];
                let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                let ko =
                    std::fs::read(t.path()).map_err(|e| format!("{}: {e}", t.path().display()))?;
                modules.insert(
                    (*name).to_owned(),
                    Image::module(name, addr(base)?, bytes, &ko)?,
                );
            }
            ["calibration", base, file, bytes, exe, exe_base] => {
                let code = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                let expected = bytes.parse::<u64>().map_err(|e| format!("manifest: {e}"))?;
                // Callgrind gives a file's addresses relative to its base.
                let rel = addr(base)? - addr(exe_base)?;
                cal = Some((Image::raw(rel, code), expected));
                (*exe).clone_into(&mut cal_ob);
            }
            _ => return Err(format!("manifest: bad line {line:?}")),
        }
    }
    let mut res = Results {
        command,
        ..Results::default()
    };
    for (pi, pair) in PAIRS.iter().enumerate() {
        for (i, t) in pair.iter().enumerate() {
            let m = modules.get(t.module).map_or(0.0, Image::verify);
            if pi == 0 {
                res.layout_match[i] = m;
            } else {
                res.fifo_layout_match[i] = m;
            }
        }
    }
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("callgrind.out."))
        })
        .collect();
    profiles.sort();
    let mut seen = 0;
    for p in profiles {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let d = parse(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        let f: Vec<&str> = d.label.split_whitespace().collect();
        match f.as_slice() {
            ["calibration"] => {
                let (img, expected) = cal.as_ref().ok_or("no calibration region")?;
                res.calibration = (attribute(&d, &cal_ob, img).copied, *expected);
            }
            [dir, module, size, iters] => {
                let (pi, ti) = locate(module).ok_or("unknown module in a label")?;
                let si = SIZES
                    .iter()
                    .position(|s| s.to_string() == *size)
                    .ok_or("unknown size in a label")?;
                let img = modules
                    .get(*module)
                    .ok_or("module missing from the manifest")?;
                let c = if pi == 0 {
                    &mut res.cost[ti][si]
                } else {
                    &mut res.fifo_cost[ti][si]
                };
                c.iters = iters
                    .parse()
                    .map_err(|_| "bad iteration count in a label")?;
                c.all += d.total;
                let a = attribute(&d, ANON, img);
                if *dir == "write" {
                    c.write = a;
                } else {
                    c.read = a;
                }
                seen += 1;
            }
            _ => {}
        }
    }
    let expected = PAIRS.len() * 2 * 2 * SIZES.len();
    if seen != expected {
        return Err(format!(
            "expected {expected} measured profiles, found {seen}"
        ));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "\
# callgrind format
version: 1
positions: instr
events: Ir
desc: Trigger: Client Request: write rustecho 16 100
summary: 17

ob=/x
fl=???
fn=0x1000
0x1000 3
0x1002 5
calls=1 0x2000
0x1004 1000
0x1004 1
fn=0x2000
0x2000 8
totals: 17
";

    #[test]
    fn parse_skips_inclusive_call_costs() {
        let d = parse(PROFILE).unwrap();
        assert_eq!(d.label, "write rustecho 16 100");
        assert_eq!(d.total, 17);
        assert_eq!(d.costs["/x"][&0x1004], 1);
        assert_eq!(d.costs["/x"][&0x2000], 8);
    }

    #[test]
    fn parse_rejects_a_wrong_sum() {
        assert!(parse(&PROFILE.replace("totals: 17", "totals: 18")).is_err());
    }

    #[test]
    fn rep_movs_bytes_subtract_entries() {
        // mov rcx, rdx (3 bytes) falls into rep movsq; then rep movsb.
        let img = Image::raw(0x1000, vec![0x48, 0x89, 0xd1, 0xf3, 0x48, 0xa5, 0xf3, 0xa4]);
        let mut d = Dump::default();
        // 2 entries: 2 x (10 + 1) for movsq; movsb entered twice (its
        // predecessor is the movsq, which does not fall through).
        let c = d.costs.entry(ANON.to_owned()).or_default();
        c.insert(0x1000, 2);
        c.insert(0x1003, 22);
        c.insert(0x1006, 2);
        c.insert(0x2000, 99);
        let a = attribute(&d, ANON, &img);
        assert_eq!(a.ir, 26);
        assert_eq!(a.copied, 160 + 2);
        assert!(a.approx);
    }

    #[test]
    fn client_requests_are_no_ops_natively() {
        assert!(!running_on_valgrind());
        let src = [1u8, 2, 3];
        let mut dst = [0u8; 3];
        calibration_copy(&mut dst, &src);
        assert_eq!(dst, src);
    }
}
