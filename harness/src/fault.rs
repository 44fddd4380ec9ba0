// SPDX-License-Identifier: BSD-2-Clause
//! The fault dispatcher: what a fault in module code hit, and the
//! regions the harness keeps inaccessible on purpose.
//!
//! The signal handler is C (`harness_fault` in `csrc/harness.c`): on a
//! `SIGSEGV`, `SIGBUS`, `SIGILL` or `SIGFPE` inside a call into module
//! code it records what a CPU trap frame would hold (the faulting
//! address, `%rip`, `%rsp`, `%rbp`, `%rflags`, the page fault error code)
//! and unwinds to the innermost trampoline; [`take`] hands the record to
//! the Rust side, which reports it as FreeBSD's `trap_fatal` does.
//!
//! A [`FaultRange`] registers a region the harness maps `PROT_NONE` on
//! purpose, with a [`FaultKind`] saying what touching it means: the
//! module's view of user memory (an access without `copyin(9)`, which
//! SMAP turns into a fatal page fault), or a kernel stack's guard (an
//! overflow). The registry is a fixed table the handler reads without
//! locks; the tag says which object a range belongs to. Every kind but
//! one is fatal, so the handler unwinds; the MMIO windows of device
//! models ([`FaultKind::Mmio`]) are emulated and resumed instead: the
//! handler calls [`mmio`] back, which decodes the access, performs it on
//! the model and lets the handler return past the instruction. An access
//! the model refuses unwinds as a fatal fault.

pub(crate) mod mmio;

use core::ffi::c_int;

unsafe extern "C" {
    /// Installs the fault handler (once per process).
    fn harness_install_fault_handler();
    /// Takes this thread's last fault record (`sig` 0 if none).
    fn harness_take_fault(out: *mut Fault);
    /// Registers `start..start + len`; the slot, or -1 if the table is full.
    fn harness_fault_range_add(start: usize, len: usize, kind: c_int, tag: u64) -> c_int;
    /// Frees a slot.
    fn harness_fault_range_remove(slot: c_int);
}

/// What a fault in a registered range means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum FaultKind {
    /// The module's (`PROT_NONE`) view of user memory: a direct access,
    /// which SMAP makes fatal.
    UserMemory = 1,
    /// The guard below a kernel stack: a stack overflow.
    StackGuard = 2,
    /// A device's memory-mapped registers: emulated (see [`mmio`]); a
    /// fault of this kind that unwinds is an access the device refused.
    Mmio = 3,
}

impl FaultKind {
    fn from_raw(k: c_int) -> Option<Self> {
        match k {
            1 => Some(FaultKind::UserMemory),
            2 => Some(FaultKind::StackGuard),
            3 => Some(FaultKind::Mmio),
            _ => None,
        }
    }
}

/// A fault in module code, as the handler recorded it (the layout of
/// `struct harness_fault` in `csrc/harness.h`).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Fault {
    /// The signal (`SIGSEGV`, ...).
    pub(crate) sig: c_int,
    kind: c_int,
    /// The faulting address (`si_addr`; `%cr2` for a page fault).
    pub(crate) addr: u64,
    /// The faulting instruction.
    pub(crate) rip: u64,
    /// The stack pointer at the fault.
    pub(crate) rsp: u64,
    /// The frame pointer at the fault.
    pub(crate) rbp: u64,
    /// The page fault error code (`PGEX_*` bits of
    /// `sys/amd64/include/pmap.h`: 1 present, 2 write, 4 user, 16
    /// instruction fetch).
    pub(crate) err: u64,
    /// `%rflags` at the fault.
    pub(crate) rflags: u64,
    /// The tag of the range hit.
    pub(crate) tag: u64,
    /// Where the module's kernel stack stopped when it called the
    /// emulated function that faulted (0 if the fault was in module
    /// code itself): the call stub's frame, whose return address names
    /// the caller (`csrc/kstack.S`).
    pub(crate) kern_sp: u64,
}

impl Fault {
    /// The registered range the address fell in, if any.
    pub(crate) fn kind(&self) -> Option<FaultKind> {
        FaultKind::from_raw(self.kind)
    }
}

/// Installs the fault handler (idempotent).
pub(crate) fn install() {
    // SAFETY: installs the process's handlers once (pthread_once); they
    // act only on faults inside calls into module code and hand the
    // others to the previous handlers.
    unsafe { harness_install_fault_handler() };
}

/// Takes this thread's last fault in module code.
pub(crate) fn take() -> Option<Fault> {
    let mut f = Fault::default();
    // SAFETY: `f` is a valid `struct harness_fault` to write into.
    unsafe { harness_take_fault(&raw mut f) };
    (f.sig != 0).then_some(f)
}

/// A registered fault range; unregistered on drop.
#[derive(Debug)]
pub(crate) struct FaultRange {
    slot: c_int,
}

impl FaultRange {
    /// Registers `start..start + len` as `kind`, with a tag the report
    /// gets back (which stack, which device). `None` if the table is
    /// full or `len` is 0.
    pub(crate) fn new(start: usize, len: usize, kind: FaultKind, tag: u64) -> Option<Self> {
        // SAFETY: only stores the numbers in the handler's table.
        let slot = unsafe { harness_fault_range_add(start, len, kind as c_int, tag) };
        (slot >= 0).then_some(FaultRange { slot })
    }
}

impl Drop for FaultRange {
    fn drop(&mut self) {
        // SAFETY: `slot` was returned by `harness_fault_range_add` and is
        // freed only here.
        unsafe { harness_fault_range_remove(self.slot) };
    }
}
