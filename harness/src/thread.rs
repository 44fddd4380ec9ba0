// SPDX-License-Identifier: BSD-2-Clause
//! Threads: `curthread`, `%gs`, and every entry into module code.
//!
//! On amd64 FreeBSD finds the current thread through the per-CPU area:
//! `curthread` is `%gs:0`, `pc_curthread` being the first member of
//! `struct pcpu` (`sys/amd64/include/pcpu_aux.h`, `__curthread()`). Every
//! OS thread that runs module code gets its own `struct pcpu` and
//! `struct thread` (with a `struct proc` and a `struct ucred`), and its
//! `%gs` base is pointed at that `pcpu` with `arch_prctl(ARCH_SET_GS)`
//! (glibc uses `%fs` for its own thread pointer, never `%gs`). The
//! `pcpu`s form the `__pcpu` array, so per-CPU memory works ([`pcpu`]).
//!
//! Every call into module code goes through [`call`]: it sets `td_ucred`
//! and `td_fpop` for the call and enters the module through the C
//! trampoline `harness_call` (`csrc/harness.c`), which does `setjmp` so
//! that `panic(9)` can `longjmp` out of module code. No Rust frame with a
//! destructor lies between the two: the frames in between are module code
//! and `extern "C"` emulated functions that escape only when they hold
//! nothing that needs dropping. (Which kernel the thread works for is
//! recorded by the kernel itself when a system call enters it.)
//!
//! Module code runs on the thread's kernel stack (`kstack`: 16 KiB with a
//! guard, painted to measure each entry point's peak use), the emulated
//! functions it calls on the host stack; a fault in module code is
//! reported as FreeBSD reports a fatal trap (`trap`).
//!
//! [`witness`] keeps the locks each thread holds, for the WITNESS-like
//! checks.

mod kstack;
pub(crate) mod pcpu;
mod trap;
pub(crate) mod witness;

use crate::addr::KAddr;
use crate::fault;
use crate::state::Core;
use crate::user::Cred;
use core::cell::{Cell, OnceCell, RefCell};
use core::ffi::c_int;
use kstack::KStack;
use std::sync::atomic::{AtomicU64, Ordering};
use witness::Held;

unsafe extern "C" {
    /// Calls `fn(args[0..6])` under `setjmp`, on the stack at `sp` (0:
    /// the current one); 1 if it was unwound by panic(9), 2 by a fault.
    fn harness_call(func: u64, args: *const u64, ret: *mut u64, sp: usize) -> c_int;
    /// Tells the call stubs where this thread's kernel stack is.
    fn harness_kstack_set(lo: usize, hi: usize);
    /// Where the kernel stack stopped at the innermost call stub (0 if
    /// no module code is running on this thread).
    fn harness_kstack_resume() -> usize;
    /// `longjmp`s to the innermost `harness_call` of this thread.
    fn harness_escape() -> !;
}

/// `ARCH_SET_GS` (`asm/prctl.h`).
const ARCH_SET_GS: libc::c_int = 0x1001;

/// Thread ids handed to `td_tid`, FreeBSD-style (above `PID_MAX`).
static NEXT_TID: AtomicU64 = AtomicU64::new(100_000);

/// A `struct thread` aligned as FreeBSD allocates them: the `THREAD`
/// UMA zone has an alignment mask of `32 - 1` (`sys/kern/kern_thread.c`,
/// `threadinit`), which leaves the low five bits of a thread's address
/// free for the flags a lock word keeps beside its owner
/// (`SX_LOCK_FLAGMASK`, `MTX_FLAGMASK`): `sx_xlocked()` masks them off
/// and compares with `curthread`.
#[repr(C, align(32))]
#[derive(Default)]
struct AlignedThread(sys::thread);

/// The per-OS-thread kernel context.
///
/// # Invariants
/// `pcpu.pc_curthread` points at `*td`, `td.td_proc` at `*proc_`,
/// `td.td_ucred` and `proc_.p_ucred` at `*ucred`; the boxes never move.
struct ThreadCtx {
    pcpu: pcpu::PcpuSlot,
    td: Box<AlignedThread>,
    _proc: Box<sys::proc_>,
    ucred: Box<sys::ucred>,
    /// Whether `%gs` points at `pcpu` yet.
    gs_set: Cell<bool>,
    /// Nesting depth of calls into module code.
    depth: Cell<u32>,
    /// The functions called through [`call`], innermost last.
    entries: RefCell<Vec<KAddr>>,
    /// Locks held, innermost last.
    held: RefCell<Vec<Held>>,
    /// Devices whose methods this thread is inside (`struct cdev` address).
    in_dev: RefCell<Vec<KAddr>>,
    /// The kernel stack module code runs on (made at the first call).
    kstack: OnceCell<KStack>,
    /// The lowest kernel stack address the active entries used before a
    /// nested entry repainted it.
    low: Cell<usize>,
    /// Below this address the free kernel stack is known to be paint.
    dirty: Cell<usize>,
    /// Why this thread may not sleep now (`td_no_sleeping`, with the
    /// context that set it), innermost last.
    no_sleep: RefCell<Vec<&'static str>>,
}

impl ThreadCtx {
    fn new() -> Self {
        let mut pcpu = pcpu::PcpuSlot::take();
        let mut td_box: Box<AlignedThread> = Box::default();
        let td = &mut td_box.0;
        let mut proc_: Box<sys::proc_> = Box::default();
        let mut ucred: Box<sys::ucred> = Box::default();
        let tid = NEXT_TID.fetch_add(1, Ordering::Relaxed);
        td.td_tid = i32::try_from(tid % 1_000_000_000).unwrap_or(100_000);
        for (dst, src) in td.td_name.iter_mut().zip(b"kldsim\0") {
            *dst = *src as core::ffi::c_char;
        }
        proc_.p_pid = 1000;
        for (dst, src) in proc_.p_comm.iter_mut().zip(b"kldsim\0") {
            *dst = *src as core::ffi::c_char;
        }
        ucred.cr_ref = 1;
        ucred.cr_ngroups = 1;
        let groups = ucred.cr_smallgroups.as_mut_ptr();
        ucred.cr_groups = groups;
        ucred.cr_agroups = 16;
        let ucred_ptr: *mut sys::ucred = &raw mut *ucred;
        let proc_ptr: *mut sys::proc_ = &raw mut *proc_;
        let td_ptr: *mut sys::thread = &raw mut *td;
        td.td_proc = proc_ptr;
        td.td_ucred = ucred_ptr;
        td.td_realucred = ucred_ptr;
        proc_.p_ucred = ucred_ptr;
        pcpu.pc_curthread = td_ptr;
        let pcpu_ptr: *mut sys::pcpu = pcpu.ptr();
        pcpu.pc_prvspace = pcpu_ptr;
        // INVARIANT: the pointers above link the boxes, which never move.
        ThreadCtx {
            pcpu,
            td: td_box,
            _proc: proc_,
            ucred,
            gs_set: Cell::new(false),
            depth: Cell::new(0),
            entries: RefCell::new(Vec::new()),
            held: RefCell::new(Vec::new()),
            in_dev: RefCell::new(Vec::new()),
            kstack: OnceCell::new(),
            low: Cell::new(usize::MAX),
            dirty: Cell::new(usize::MAX),
            no_sleep: RefCell::new(Vec::new()),
        }
    }

    /// Points `%gs` at this thread's `pcpu`, once.
    fn ensure_gs(&self) {
        if self.gs_set.get() {
            return;
        }
        fault::install();
        let pcpu: *const sys::pcpu = self.pcpu.ptr();
        // SAFETY: ARCH_SET_GS only changes this thread's %gs base, which
        // neither Rust nor glibc uses on x86-64 Linux; the pcpu box lives
        // as long as the thread-local context.
        let r = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_SET_GS, pcpu as usize) };
        assert_eq!(r, 0, "arch_prctl(ARCH_SET_GS) failed");
        self.gs_set.set(true);
    }

    /// This thread's kernel stack.
    fn kstack(&self) -> &KStack {
        self.kstack.get_or_init(|| {
            let ks = KStack::new();
            let (lo, hi) = ks.range();
            // SAFETY: only stores the bounds in this thread's words.
            unsafe { harness_kstack_set(lo, hi) };
            // Nothing is painted yet.
            self.dirty.set(ks.bottom_addr());
            ks
        })
    }

    /// Prepares an entry into module code on the kernel stack: the
    /// outermost one starts at the top, a nested one (module code called
    /// back from an emulated function) below where the kernel stack
    /// stopped. The free part is painted.
    fn enter_kstack(&self) -> KEntry {
        let ks = self.kstack();
        // SAFETY: reads this thread's word.
        let resume = unsafe { harness_kstack_resume() };
        let outer = resume == 0;
        let (sp, from) = if outer {
            self.low.set(usize::MAX);
            // Below `dirty` the stack is still paint.
            (ks.entry_sp(), self.dirty.get())
        } else {
            let sp = resume.saturating_sub(64) & !15;
            // What the active entries used below `sp` is about to be
            // painted over: remember how deep they went.
            let used = ks.lowest_used(sp);
            self.low.set(self.low.get().min(used));
            (sp, used)
        };
        ks.paint(from, sp);
        self.dirty.set(sp);
        KEntry { sp, outer }
    }

    /// The bytes of kernel stack entry `e` used, after it returned.
    fn leave_kstack(&self, e: KEntry) -> usize {
        let ks = self.kstack();
        let mut lowest = ks.lowest_used(e.sp);
        // What the call dirtied is painted again at the next entry.
        self.dirty.set(self.dirty.get().min(lowest));
        if e.outer {
            lowest = lowest.min(self.low.get());
        }
        e.sp.saturating_sub(lowest)
    }
}

/// An entry into module code on the kernel stack.
#[derive(Clone, Copy)]
struct KEntry {
    /// Where it starts.
    sp: usize,
    /// It is the outermost on this thread.
    outer: bool,
}

thread_local! {
    static CTX: ThreadCtx = ThreadCtx::new();
}

/// Credentials and file context of one call into module code.
pub(crate) struct Env<'a> {
    /// The calling process's credential (`td_ucred`).
    pub(crate) cred: &'a Cred,
    /// The file being operated on (`td_fpop`), or null.
    pub(crate) fpop: KAddr,
}

impl<'a> Env<'a> {
    /// A context with no file.
    pub(crate) fn new(cred: &'a Cred) -> Self {
        Env {
            cred,
            fpop: KAddr::NULL,
        }
    }
}

/// The kernel panicked (module code called `panic(9)` or faulted, or a
/// check found a misuse that is fatal), or was already dead: the caller
/// leaves module code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Panicked;

/// Calls module code at `func` with up to six integer arguments (as
/// `long`s; an `int` argument is passed in the low half, which is what the
/// SysV ABI expects), with `Giant` not taken, for the kernel whose core is
/// `k`. Returns the raw return value (`rax`); for a function returning
/// `int` take the low 32 bits. A fault in module code is recorded as that
/// kernel's panic.
///
/// # Safety
/// `func` must be the address of code that is safe to call with these
/// arguments (module code of a loaded file, or a harness function), and
/// every pointer argument must be valid for what that code does with it.
pub(crate) unsafe fn call(
    k: &Core,
    env: Option<&Env<'_>>,
    func: KAddr,
    args: [u64; 6],
) -> Result<u64, Panicked> {
    if k.is_dead() {
        return Err(Panicked);
    }
    CTX.with(|c| {
        c.ensure_gs();
        let td: *mut sys::thread = (&raw const c.td.0).cast_mut();
        let ucred: *mut sys::ucred = (&raw const *c.ucred).cast_mut();
        // SAFETY: `td` is this thread's own thread struct; module code on
        // this thread is not running now, so nothing else accesses it.
        let prev_fpop = unsafe { (*td).td_fpop };
        let saved = env.map(|e| {
            // SAFETY: as above, for this thread's own ucred.
            unsafe { (*td).td_fpop = e.fpop.ptr() };
            // SAFETY: as above.
            unsafe { e.cred.apply(ucred) }
        });
        c.depth.set(c.depth.get().saturating_add(1));
        c.entries.borrow_mut().push(func);
        // Module code runs on the kernel stack; a harness function
        // called this way (a standard sysctl handler, a dead device's
        // method) on the host's.
        let entry = crate::ksyms::in_module(func.get()).then(|| c.enter_kstack());
        let mut ret = 0u64;
        // SAFETY: the caller guarantees `func` and the arguments; the
        // trampoline returns normally or after `longjmp` from panic(9) or
        // a fault; the kernel stack at `sp` is this thread's, free below
        // `sp`.
        let r = unsafe {
            harness_call(
                func.arg(),
                args.as_ptr(),
                &raw mut ret,
                entry.map_or(0, |e| e.sp),
            )
        };
        if let Some(e) = entry {
            k.record_stack(func, c.leave_kstack(e));
        }
        c.depth.set(c.depth.get().saturating_sub(1));
        c.entries.borrow_mut().pop();
        if c.depth.get() == 0 && r != 0 {
            // SAFETY: as above. A panic or a fault unwound the module
            // code out of its critical sections: none is left for the
            // next entry on this OS thread, which may serve another
            // kernel.
            unsafe { (*td).td_critnest = 0 };
        }
        if let Some(saved) = saved {
            // SAFETY: as above; restores the outer call's context.
            unsafe { (*td).td_fpop = prev_fpop };
            // SAFETY: as above.
            unsafe { Cred::restore(ucred, &saved) };
        }
        if r == 2 {
            trap::report(k, func, fault::take().unwrap_or_default());
        }
        if r == 0 && !k.is_dead() {
            Ok(ret)
        } else {
            Err(Panicked)
        }
    })
}

/// Leaves module code by `longjmp` to the innermost trampoline (after a
/// panic was recorded). The caller must hold nothing that needs dropping.
pub(crate) fn escape() -> ! {
    // SAFETY: called only from emulated functions running inside `call`
    // (so a trampoline frame exists), with no live destructors in the
    // frames between (each caller's contract).
    unsafe { harness_escape() }
}

/// The return address into module code of the emulated kernel function
/// running now on this thread: who called it. `harness_kstub` pushed
/// `%rbx`, `%r12` and `%rax` below the caller's return address and left
/// that stack pointer in `harness_kern_sp` (`csrc/kstack.S`). `None`
/// when no call stub is active or the word is not an address in module
/// code.
pub(crate) fn kernel_caller() -> Option<usize> {
    // SAFETY: reads this thread's word.
    let sp = unsafe { harness_kstack_resume() };
    if sp == 0 {
        return None;
    }
    let slot = sp.checked_add(24)?;
    let (lo, hi) = CTX.with(|c| c.kstack.get().map(KStack::range))?;
    if slot < lo || slot.checked_add(8)? > hi || slot % 8 != 0 {
        return None;
    }
    // SAFETY: an aligned word inside this thread's kernel stack, which is
    // mapped while the thread lives; the stub wrote the return address
    // there and module code below it is suspended in the stub.
    let ra = unsafe { (slot as *const usize).read() };
    crate::ksyms::in_module(ra).then_some(ra)
}

/// The innermost module function this thread entered through [`call`]
/// and is still running (an entry point of the module whose code called
/// the kernel function now running), if any.
pub(crate) fn module_entry() -> Option<KAddr> {
    CTX.with(|c| {
        c.entries
            .borrow()
            .iter()
            .rev()
            .copied()
            .find(|f| crate::ksyms::in_module(f.get()))
    })
}

/// This thread's `struct thread` (curthread).
pub(crate) fn curthread() -> *mut sys::thread {
    CTX.with(|c| (&raw const c.td.0).cast_mut())
}

/// The current file (`curthread->td_fpop`).
pub(crate) fn fpop() -> KAddr {
    CTX.with(|c| KAddr::from_ptr(c.td.0.td_fpop))
}

/// Records that this thread enters (`true`) or leaves a device's methods.
pub(crate) fn mark_in_dev(cdev: KAddr, enter: bool) {
    CTX.with(|c| {
        let mut v = c.in_dev.borrow_mut();
        if enter {
            v.push(cdev);
        } else if let Some(i) = v.iter().rposition(|&d| d == cdev) {
            v.remove(i);
        }
    });
}

/// How many of this thread's active device calls are on `cdev`.
pub(crate) fn in_dev_count(cdev: KAddr) -> usize {
    CTX.with(|c| c.in_dev.borrow().iter().filter(|&&d| d == cdev).count())
}

/// A small per-thread identifier (for lock ownership): the address of
/// `curthread`, which is what FreeBSD stores in an owned lock word.
pub(crate) fn thread_key() -> usize {
    curthread().expose_provenance()
}
