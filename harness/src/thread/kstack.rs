// SPDX-License-Identifier: BSD-2-Clause
//! Kernel stacks: module code runs on a stack of the kernel's size.
//!
//! FreeBSD amd64 gives each kernel thread `KSTACK_PAGES` (4) pages of
//! stack, 16 KiB, with `KSTACK_GUARD_PAGES` (1) unmapped page below it
//! (`sys/amd64/include/param.h`). Module code here would otherwise run on
//! the host thread's stack (8 MiB or 2 MiB) and a 64 KiB local array
//! would pass, so every entry into module code (`super::call`: module
//! events, SYSINITs, `cdevsw` methods, sysctl handlers, and the callouts
//! and tasks to come) switches to this thread's [`KStack`]
//! (`csrc/kstack.S`), and every emulated kernel function module code
//! calls switches back to the host stack, so that the harness's own
//! frames neither overflow it nor count in its use.
//!
//! What a module has is less than 16 KiB. In FreeBSD 15,
//! `cpu_thread_alloc` (`sys/amd64/amd64/vm_machdep.c`) puts the thread's
//! `struct trapframe` at the top of the stack (`td_frame =
//! (struct trapframe *)td->td_md.md_stack_base - 1`); the `pcb` lives in
//! `struct thread` and the user FPU state is allocated apart
//! (`fpu_save_area_alloc`). FreeBSD 13 and earlier also kept the `pcb` and
//! the XSAVE area (`cpu_max_ext_state_size`, CPU-dependent) there. Then
//! come the kernel's own frames from the system call to the driver
//! (`amd64_syscall`, `syscallenter`, `sys_ioctl` with its 128-byte
//! `smalldata`, `kern_ioctl`, `devfs_ioctl_f`, `devfs_ioctl`, ...). The
//! harness reserves [`RESERVED`] bytes for all that: the 192-byte
//! trapframe and 1 KiB for the path, an estimate (the frames depend on
//! the compiler and the path).
//!
//! The guard is 1 MiB instead of one page, so that a frame larger than a
//! page that skips over a single guard page is caught too; a fault in it
//! is reported as a kernel stack overflow (a [`FaultRange`] of kind
//! [`FaultKind::StackGuard`]).
//!
//! Peak use is measured by painting: before an entry the free part of the
//! stack is filled with [`PAINT`] (only what earlier calls dirtied), after
//! it the lowest word that changed tells how deep the entry went.

use crate::fault::{FaultKind, FaultRange};
use crate::lowmem::PAGE_SIZE;

/// `KSTACK_PAGES` (`sys/amd64/include/param.h`).
pub(crate) const KSTACK_PAGES: usize = 4;

/// The stack's size, 16 KiB.
pub(crate) const KSTACK_SIZE: usize = KSTACK_PAGES * PAGE_SIZE;

/// The guard below the stack.
const GUARD: usize = 1 << 20;

/// Bytes at the top that module code does not get: `struct trapframe`
/// (192 bytes on amd64) and an allowance of 1 KiB for the kernel's frames
/// between the system call and the driver.
pub(crate) const RESERVED: usize = 192 + 1024;

/// What the free part of the stack is painted with.
const PAINT: u64 = 0x6b73_7461_636b_2121;

/// The alternate signal stack's size: the fault handler runs there when
/// module code overflowed its kernel stack.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// One thread's kernel stack, with its guard.
///
/// # Invariants
/// `base..base + GUARD` is mapped `PROT_NONE` and `base + GUARD..base +
/// GUARD + KSTACK_SIZE` read-write, owned by this value.
pub(crate) struct KStack {
    base: usize,
    _guard: Option<FaultRange>,
    /// An alternate signal stack installed for this thread, if it had
    /// none.
    altstack: Option<(Box<[u8]>, libc::stack_t)>,
}

impl KStack {
    /// Maps a stack for the calling thread and makes sure the fault
    /// handler has an alternate stack to run on.
    pub(crate) fn new() -> Self {
        let len = GUARD + KSTACK_SIZE;
        // SAFETY: a new private anonymous mapping at an address of the
        // kernel's choosing; it aliases nothing.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "cannot map a kernel stack");
        let base = p as usize;
        // SAFETY: the top KSTACK_SIZE bytes of the mapping just made.
        let r = unsafe {
            libc::mprotect(
                p.cast::<u8>().wrapping_add(GUARD).cast(),
                KSTACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        assert_eq!(r, 0, "cannot protect a kernel stack");
        // Should the table be full (more threads in module code at once
        // than it has slots), an overflow is still a fatal page fault,
        // reported without its cause.
        let guard = FaultRange::new(base, GUARD, FaultKind::StackGuard, 0);
        // INVARIANT: mapped and protected above.
        KStack {
            base,
            _guard: guard,
            altstack: ensure_altstack(),
        }
    }

    /// The lowest address of the guard and the top of the stack: the
    /// range the call stubs treat as "on the kernel stack".
    pub(crate) fn range(&self) -> (usize, usize) {
        (self.base, self.top())
    }

    /// The lowest byte of the stack proper.
    fn bottom(&self) -> usize {
        self.base + GUARD
    }

    /// One past the highest byte.
    pub(crate) fn top(&self) -> usize {
        self.base + GUARD + KSTACK_SIZE
    }

    /// Where an outermost entry starts.
    pub(crate) fn entry_sp(&self) -> usize {
        self.top() - RESERVED
    }

    /// Paints the stack between `from` and `sp` (both in it, `from`
    /// below): the part of the free stack that is not paint any more.
    pub(crate) fn paint(&self, from: usize, sp: usize) {
        let lo = from.max(self.bottom()) & !7;
        if lo < sp {
            // SAFETY: `lo..sp` lies in the read-write part of the mapping
            // (type invariant), below every live frame of module code on
            // this thread.
            unsafe { harness_kstack_paint(lo, sp & !7, PAINT) };
        }
    }

    /// The lowest address below `sp` that is no longer paint (`sp` if
    /// none is).
    pub(crate) fn lowest_used(&self, sp: usize) -> usize {
        // SAFETY: `bottom..sp` lies in the read-write part of the
        // mapping; module code on this thread is not running.
        unsafe { harness_kstack_lowest(self.bottom(), sp & !7, PAINT) }
    }

    /// The lowest byte of the stack proper: everything from there is
    /// unknown until painted.
    pub(crate) fn bottom_addr(&self) -> usize {
        self.bottom()
    }
}

unsafe extern "C" {
    /// Fills `lo..hi` (8-byte aligned) with `pat`.
    fn harness_kstack_paint(lo: usize, hi: usize, pat: u64);
    /// The lowest word of `lo..hi` that is not `pat`, or `hi`.
    fn harness_kstack_lowest(lo: usize, hi: usize, pat: u64) -> usize;
}

impl Drop for KStack {
    fn drop(&mut self) {
        if let Some((_, prev)) = &self.altstack {
            // SAFETY: puts back the thread's previous alternate stack (the
            // runtime's, still allocated until the thread exits) or
            // disables ours, before its memory is freed.
            unsafe { libc::sigaltstack(prev, core::ptr::null_mut()) };
        }
        // SAFETY: by the type invariant the mapping is ours; no module
        // code runs on it any more (the thread is exiting).
        unsafe {
            libc::munmap(
                core::ptr::with_exposed_provenance_mut(self.base),
                GUARD + KSTACK_SIZE,
            )
        };
    }
}

/// Installs an alternate signal stack for the calling thread if it has
/// none (Rust's runtime gives its threads one; a thread made otherwise
/// may not have one), so that a fault on an overflowed kernel stack can
/// be handled.
fn ensure_altstack() -> Option<(Box<[u8]>, libc::stack_t)> {
    let mut cur = libc::stack_t {
        ss_sp: core::ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: only reads the current setting into `cur`.
    let r = unsafe { libc::sigaltstack(core::ptr::null(), &raw mut cur) };
    // A stack smaller than ours (Rust's runtime gives its threads a few
    // pages) is replaced too: the fault dispatcher emulates MMIO accesses
    // on it (crate::fault::mmio), which needs more.
    if r != 0 || (cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_size >= ALTSTACK_SIZE) {
        return None;
    }
    if cur.ss_flags & libc::SS_DISABLE != 0 {
        cur = libc::stack_t {
            ss_sp: core::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
    }
    let mut mem = vec![0u8; ALTSTACK_SIZE].into_boxed_slice();
    let ss = libc::stack_t {
        ss_sp: mem.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: mem.len(),
    };
    // SAFETY: `mem` lives as long as the `KStack`, whose drop disables
    // the alternate stack before freeing it.
    let r = unsafe { libc::sigaltstack(&raw const ss, core::ptr::null_mut()) };
    (r == 0).then_some((mem, cur))
}
