// SPDX-License-Identifier: BSD-2-Clause
//! The kernel's entry points: every kernel symbol a module may reference
//! (`sys/kernel-symbols.txt`), by name.
//!
//! Functions are host functions (Rust `extern "C"` functions, or C in
//! `csrc/harness.c` for the variadic ones) with harness names
//! (`harness_malloc`); the loader binds a module's reference to `malloc`
//! to a *call stub* in low memory, `movabs $harness_malloc, %r11; jmp
//! *0(%rip); .quad harness_kstub`, so that a `PC32`/`PLT32` call from
//! module code reaches it, on the host thread's stack: `harness_kstub`
//! (`csrc/kstack.S`) leaves the module's kernel stack for the call
//! (`crate::thread`'s kernel stacks). The stubs live in one process-wide
//! read-only page built once; they hold no kernel state. The harness
//! functions module code calls through a pointer (a sysctl request's
//! `oldfunc`) get a stub too ([`host_stub`]).
//!
//! This is a thin layer: an entry point finds the kernel of the calling
//! thread ([`kernel`]), converts the C arguments, and calls into the
//! subsystem (`crate::kpi`), passing the shared core and whatever it needs
//! of the other subsystems; when the subsystem reports a panic, the entry
//! point leaves module code (`thread::escape`). Entry points that need no
//! kernel state (`memcpy`, the standard sysctl handlers, ...) are the
//! subsystems' own.
//!
//! Data symbols (`M_DEVBUF`, `Giant`, `sysctl___hw`, ...) are real,
//! initialised storage below 2 GiB, one copy per kernel (see
//! `crate::state`).

/// Function table entries, `(kernel name, host address)`:
/// `kfuncs!["malloc" => harness_malloc, ...]`.
macro_rules! kfuncs {
    ($($name:literal => $f:path),* $(,)?) => {
        [$(($name, $f as *const () as usize)),*]
    };
}

pub(super) mod busdma;
mod callout;
mod clock;
mod counter;
mod critical;
mod devfs;
mod devname;
mod firmware;
mod kenv;
pub(super) mod kqueue;
mod lock;
mod malloc;
mod module;
pub(super) mod newbus;
mod printf;
mod sbuf;
mod select;
mod sleep;
mod strdup;
pub(super) mod sysctl;
mod taskqueue;
mod uio;

use super::{KernelInner, current};
use crate::addr::KAddr;
use crate::kpi::libkern;
use crate::lowmem::LowMap;
use crate::state::DataSym;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a kernel symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KSym {
    /// A function: the address of its call stub.
    Func(KAddr),
    /// Data: which object of the kernel's data block.
    Data(DataSym),
}

/// A function table entry: kernel name, host address.
type FuncEntry = (&'static str, usize);

unsafe extern "C" {
    fn harness_kstub();
    fn harness_kern_printf();
    fn harness_kern_device_printf();
    fn harness_kern_vprintf();
    fn harness_kern_uprintf();
    fn harness_kern_log();
    fn harness_kern_snprintf();
    fn harness_kern_panic();
    fn harness_kern_stack_chk_fail();
    fn harness_kern_make_dev();
    fn harness_kern_make_dev_p();
    fn harness_kern_make_dev_s();
    fn harness_kern_vsnprintf();
}

/// Every emulated function.
fn functions() -> Vec<FuncEntry> {
    let mut v: Vec<FuncEntry> = kfuncs![
        "printf" => harness_kern_printf,
        "device_printf" => harness_kern_device_printf,
        "vprintf" => harness_kern_vprintf,
        "uprintf" => harness_kern_uprintf,
        "log" => harness_kern_log,
        "snprintf" => harness_kern_snprintf,
        "vsnprintf" => harness_kern_vsnprintf,
        "panic" => harness_kern_panic,
        "__stack_chk_fail" => harness_kern_stack_chk_fail,
        "make_dev" => harness_kern_make_dev,
        "make_dev_p" => harness_kern_make_dev_p,
        "make_dev_s" => harness_kern_make_dev_s,
        "memcpy" => libkern::harness_memcpy,
        "memmove" => libkern::harness_memmove,
        "memset" => libkern::harness_memset,
        "memcmp" => libkern::harness_memcmp,
        "strlen" => libkern::harness_strlen,
        "strcmp" => libkern::harness_strcmp,
        "strncmp" => libkern::harness_strncmp,
        "strlcpy" => libkern::harness_strlcpy,
        "strlcat" => libkern::harness_strlcat,
    ]
    .to_vec();
    malloc::functions(&mut v);
    module::functions(&mut v);
    devfs::functions(&mut v);
    uio::functions(&mut v);
    lock::functions(&mut v);
    critical::functions(&mut v);
    sysctl::functions(&mut v);
    counter::functions(&mut v);
    kenv::functions(&mut v);
    clock::functions(&mut v);
    callout::functions(&mut v);
    devname::functions(&mut v);
    firmware::functions(&mut v);
    strdup::functions(&mut v);
    sbuf::functions(&mut v);
    sleep::functions(&mut v);
    select::functions(&mut v);
    kqueue::functions(&mut v);
    taskqueue::functions(&mut v);
    newbus::functions(&mut v);
    busdma::functions(&mut v);
    v
}

/// The kernel of the calling thread, for an entry point.
///
/// Module code runs only inside a call into its kernel, which sets it; a
/// call from anywhere else cannot be answered, so the process aborts.
fn kernel<'a>() -> &'a KernelInner {
    match current() {
        Some(k) => k,
        None => std::process::abort(),
    }
}

/// Bytes per call stub.
const STUB_SIZE: usize = 32;

/// The harness functions module code reaches through a pointer the
/// harness gives it, not by name.
fn by_pointer() -> Vec<FuncEntry> {
    let mut v = kfuncs![
        "(sysctl_old_user)" => sysctl::sysctl_old_user,
        "(sysctl_new_user)" => sysctl::sysctl_new_user,
        "(sysctl_old_kernel)" => sysctl::sysctl_old_kernel,
        "(sysctl_new_kernel)" => sysctl::sysctl_new_kernel,
    ]
    .to_vec();
    newbus::by_pointer(&mut v);
    busdma::by_pointer(&mut v);
    v
}

/// The process-wide stub page.
struct Stubs {
    _map: LowMap,
    by_name: HashMap<&'static str, KAddr>,
    by_target: HashMap<usize, KAddr>,
}

fn stubs() -> &'static Stubs {
    static STUBS: OnceLock<Stubs> = OnceLock::new();
    STUBS.get_or_init(|| {
        let named = functions();
        let funcs: Vec<FuncEntry> = named.iter().copied().chain(by_pointer()).collect();
        let map = LowMap::new(funcs.len().saturating_mul(STUB_SIZE))
            .expect("cannot map the stub page below 2 GiB");
        let mut by_name = HashMap::new();
        let mut by_target = HashMap::new();
        let kstub = harness_kstub as *const () as u64;
        for (i, (name, target)) in funcs.iter().enumerate() {
            let mut stub = [0xccu8; STUB_SIZE];
            // movabs $target, %r11
            stub[..2].copy_from_slice(&[0x49, 0xbb]);
            stub[2..10].copy_from_slice(&(*target as u64).to_le_bytes());
            // jmp *0(%rip); .quad harness_kstub
            stub[10..16].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
            stub[16..24].copy_from_slice(&kstub.to_le_bytes());
            let off = i * STUB_SIZE;
            // SAFETY: `off + STUB_SIZE <= map.len()` by the size requested
            // above; the page is writable until the mprotect below and no
            // one else knows it yet.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    stub.as_ptr(),
                    map.base().wrapping_add(off),
                    STUB_SIZE,
                );
            }
            let addr = KAddr::from_ptr(map.base()).wrapping_add(off);
            if i < named.len() {
                by_name.insert(*name, addr);
            } else {
                by_target.insert(*target, addr);
            }
        }
        map.protect(0, map.len(), libc::PROT_READ | libc::PROT_EXEC)
            .expect("cannot protect the stub page");
        Stubs {
            _map: map,
            by_name,
            by_target,
        }
    })
}

/// The call stub of a harness function that module code calls through a
/// pointer (one of `by_pointer`'s), so that it runs on the host stack.
pub(super) fn host_stub(target: usize) -> Option<KAddr> {
    stubs().by_target.get(&target).copied()
}

/// Looks up a kernel symbol by name.
pub(super) fn lookup(name: &str) -> Option<KSym> {
    if let Some(d) = DataSym::from_name(name) {
        return Some(KSym::Data(d));
    }
    stubs().by_name.get(name).map(|&a| KSym::Func(a))
}

/// The names of every emulated kernel symbol (functions and data).
#[must_use]
pub fn emulated_symbols() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = functions().iter().map(|f| f.0).collect();
    v.extend(DataSym::ALL.iter().map(|d| d.name()));
    v.sort_unstable();
    v
}
