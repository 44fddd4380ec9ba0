// SPDX-License-Identifier: BSD-2-Clause
//! A fault in module code, reported as FreeBSD reports a fatal trap.
//!
//! Followed: `sys/amd64/amd64/trap.c` of FreeBSD 15 (`trap_pfault`, which
//! makes a kernel-mode fault on a user page fatal when SMAP caught it,
//! `trap_is_smap`; `trap_diag` and `trap_fatal`, which print the trap and
//! `panic("%s", traptype_to_msg(type))`; `dblfault_handler`, which reports
//! a fault while pushing a trap frame, what a kernel stack overflow into
//! its guard page becomes, and panics with "double fault").
//!
//! On top of what FreeBSD prints, the harness records a violation that
//! names the cause: a direct access to user memory (SMAP), or a kernel
//! stack overflow and the entry point that overflowed.

use super::curthread;
use crate::addr::KAddr;
use crate::fault::{Fault, FaultKind};
use crate::ksyms;
use crate::state::{Core, ViolationKind};

/// `PGEX_P`, `PGEX_W`, `PGEX_I` (`sys/amd64/include/pmap.h`).
const PGEX_P: u64 = 0x01;
const PGEX_W: u64 = 0x02;
const PGEX_I: u64 = 0x10;

/// `PSL_T`, `PSL_I`, `PSL_NT`, `PSL_RF`, `PSL_IOPL`
/// (`sys/x86/include/psl.h`).
const PSL_T: u64 = 0x100;
const PSL_I: u64 = 0x200;
const PSL_IOPL: u64 = 0x3000;
const PSL_NT: u64 = 0x4000;
const PSL_RF: u64 = 0x1_0000;

/// The kernel's code and data selectors, `GSEL(GCODE_SEL, SEL_KPL)` and
/// `GSEL(GDATA_SEL, SEL_KPL)` (`sys/x86/include/segments.h`).
const KCSEL: u64 = 0x20;
const KDSEL: u64 = 0x28;

/// Reports fault `f`, taken in module code called at `entry`: the
/// console report, then a violation naming the cause (so that it is the
/// line before the panic on the console), and the panic.
pub(super) fn report(k: &Core, entry: KAddr, f: Fault) {
    let at = culprit(&f);
    match f.kind() {
        Some(FaultKind::StackGuard) => {
            k.console(&format!(
                "\nFatal double fault\nrip {:#x} rsp {:#x} rbp {:#x}\ncpuid = 0; apic id = 00\n",
                f.rip, f.rsp, f.rbp
            ));
            k.violation(
                ViolationKind::Stack,
                format!(
                    "kernel stack overflow in {at} (entry point {}): it reached {:#x}, below its \
                     {} KiB kernel stack",
                    ksyms::describe(entry.get()),
                    f.addr,
                    super::kstack::KSTACK_SIZE / 1024,
                ),
            );
            k.record_panic("double fault");
        }
        Some(FaultKind::UserMemory) => {
            // The user page is mapped: SMAP's fault is a protection
            // violation.
            fatal(k, 12, &f, f.err | PGEX_P);
            let what = if f.err & PGEX_W != 0 { "wrote" } else { "read" };
            k.violation(
                ViolationKind::Smap,
                format!(
                    "SMAP: {at} {what} user address {:#x} directly (user memory is only \
                     reached through copyin(9), copyout(9), uiomove(9), fueword(9) and the like)",
                    f.addr
                ),
            );
            k.record_panic(trap_msg(12));
        }
        Some(FaultKind::Mmio) => {
            // A bus that does not decode the access: fatal, with the
            // device's reason (crate::fault::mmio).
            fatal(k, 12, &f, f.err | PGEX_P);
            let why = crate::fault::mmio::take_refusal()
                .unwrap_or_else(|| String::from("not an emulated access"));
            k.violation(
                ViolationKind::Devfs,
                format!(
                    "MMIO: {at} accessed device registers at {:#x}: {why}",
                    f.addr
                ),
            );
            k.record_panic(trap_msg(12));
        }
        None => {
            let trap = match f.sig {
                libc::SIGSEGV | libc::SIGBUS => 12,
                libc::SIGFPE => 18,
                libc::SIGILL => 1,
                _ => 9,
            };
            fatal(k, trap, &f, if trap == 12 { f.err } else { 0 });
            k.record_panic(trap_msg(trap));
        }
    }
}

/// Where the fault happened, for the violation: the module function, or,
/// when an emulated kernel function faulted on the module's behalf (a
/// `memcpy` from a user address), the module code that called it.
fn culprit(f: &Fault) -> String {
    let rip = usize::try_from(f.rip).unwrap_or(0);
    if ksyms::in_module(rip) || f.kern_sp == 0 {
        return ksyms::describe(rip);
    }
    // harness_kstub's frame on the kernel stack: the saved %rax, %r12
    // and %rbx, then the return address into module code.
    let slot = usize::try_from(f.kern_sp).unwrap_or(0).wrapping_add(24);
    let ret = super::CTX.with(|c| {
        let (lo, hi) = c.kstack.get()?.range();
        (slot >= lo && slot + 8 <= hi).then(|| {
            let p = core::ptr::with_exposed_provenance::<u64>(slot);
            // SAFETY: `slot` is an aligned word inside this thread's
            // kernel stack mapping (checked above), which no module code
            // runs on now.
            unsafe { p.read_volatile() }
        })
    });
    match ret {
        Some(r) => format!(
            "the kernel function called from {}",
            ksyms::describe(usize::try_from(r).unwrap_or(0))
        ),
        None => ksyms::describe(rip),
    }
}

/// `trap_msg[type]` (`sys/amd64/amd64/trap.c`), for the types a fault in
/// module code can be.
fn trap_msg(t: u32) -> &'static str {
    match t {
        1 => "privileged instruction fault",
        12 => "page fault",
        18 => "integer divide fault",
        _ => "general protection fault",
    }
}

/// `trap_diag`: the report `trap_fatal` prints before it panics with
/// `trap_msg`.
fn fatal(k: &Core, trap: u32, f: &Fault, code: u64) {
    let mut s = format!(
        "\n\nFatal trap {trap}: {} while in kernel mode\ncpuid = 0; apic id = 00\n",
        trap_msg(trap)
    );
    if trap == 12 {
        s.push_str(&format!(
            "fault virtual address\t= {:#x}\nfault code\t\t= supervisor {} {}, {}\n",
            f.addr,
            if code & PGEX_W != 0 { "write" } else { "read" },
            if code & PGEX_I != 0 {
                "instruction"
            } else {
                "data"
            },
            if code & PGEX_P != 0 {
                "protection violation"
            } else {
                "page not present"
            },
        ));
    }
    s.push_str(&format!(
        "instruction pointer\t= {KCSEL:#x}:{:#x}\nstack pointer\t        = {KDSEL:#x}:{:#x}\n\
         frame pointer\t        = {KDSEL:#x}:{:#x}\nprocessor eflags\t= {}\n\
         current thread\t\t= {}\n",
        f.rip,
        f.rsp,
        f.rbp,
        eflags(f.rflags),
        current_thread(),
    ));
    s.push_str(&format!(
        "instruction pointer is in {}\n",
        ksyms::describe(usize::try_from(f.rip).unwrap_or(0))
    ));
    k.console(&s);
}

/// The flags part of `trap_diag`'s "processor eflags" line.
fn eflags(fl: u64) -> String {
    let mut s = String::new();
    for (bit, name) in [
        (PSL_T, "trace trap, "),
        (PSL_I, "interrupt enabled, "),
        (PSL_NT, "nested task, "),
        (PSL_RF, "resume, "),
    ] {
        if fl & bit != 0 {
            s.push_str(name);
        }
    }
    s.push_str(&format!("IOPL = {}", (fl & PSL_IOPL) >> 12));
    s
}

/// `trap_diag`'s "current thread": `pid/tid (comm/tdname)`.
fn current_thread() -> String {
    let td = curthread();
    // SAFETY: `td` is this thread's own `struct thread`, which module
    // code no longer runs on: the fault unwound it.
    let t = unsafe { &*td };
    // SAFETY: `td_proc` points at this thread's own `struct proc`.
    let pid = unsafe { (*t.td_proc).p_pid };
    let tid = t.td_tid;
    format!("{pid}/{tid} (kldsim/kldsim)")
}
