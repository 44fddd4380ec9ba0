// SPDX-License-Identifier: BSD-2-Clause
//! [`Kernel`]: one emulated FreeBSD 15 kernel, and the userland API tests
//! drive it with.
//!
//! Many kernels live in one process at once (cargo runs tests in
//! parallel): each has its own data block, message buffer, malloc
//! statistics, lock table, devfs, sysctl tree, linker state and
//! descriptor table. The only process-wide state is the call-stub page and
//! each thread's `%gs`/`struct thread` (see [`crate::thread`]).
//!
//! This module is where the parts meet. `KernelInner` holds one of each
//! subsystem next to the shared [`Core`]; it is named only here and in
//! the children of this module: the façade (`Kernel` and its system calls
//! in `files` and `sysctl`), the system-call side of devices (`vfs`), and
//! the entry points module code calls (`entry`), which find the kernel of
//! the calling thread ([`current`]) and dispatch into the subsystems,
//! passing each what it needs of the others.
//!
//! Every method returns what the syscall would return: a value, or an
//! [`Error`](crate::Error) holding the errno, or a panic (after which the
//! kernel is dead and every call fails with the same panic). A kernel records
//! violations of kernel rules (WITNESS-like lock checks, malloc misuse,
//! leaks at `malloc_uninit`, devices or sysctls left behind by an unloaded
//! module, ...). When the last handle is dropped the kernel unloads what
//! is still loaded and, unless the test acknowledged them, panics on
//! violations or a kernel panic so that the test fails.

mod entry;
mod files;
mod intr;
mod newbus;
mod softclock;
mod sysctl;
mod taskq;
mod vfs;
mod workers;

pub use entry::emulated_symbols;
pub use vfs::{PollFd, Whence};

use crate::addr::{KAddr, KRange};
use crate::errno::{Errno, SysResult};
use crate::kpi::callout::Callouts;
use crate::kpi::clock::{Clock, duration_to_sbt};
use crate::kpi::counter::Counters;
use crate::kpi::devfs::{CdevMemory, Devfs};
use crate::kpi::firmware::{Firmware, FirmwareHost, FirmwareImage};
use crate::kpi::kenv::Kenv;
use crate::kpi::kqueue::Kqueues;
use crate::kpi::lock::LockTable;
use crate::kpi::malloc::{FailPolicy, MallocState, MallocStats};
use crate::kpi::newbus::Newbus;
use crate::kpi::sbuf::SbufMemory;
use crate::kpi::select::Select;
use crate::kpi::sleep::{SleepInfo, SleepQueues};
use crate::kpi::sysctl::Sysctl;
use crate::kpi::taskqueue::Taskqueues;
use crate::kpi::uio::{Uio, UioStats};
use crate::loader::{self, Host, KldStat, KldTarget, LinkerState, ModStat};
use crate::state::{Config, Core, DataSym, StackUse, Violation, ViolationKind};
use crate::thread::Env;
use crate::user::{Cred, UserMem};
use core::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use vfs::FdTable;

/// The parts of one kernel.
struct KernelInner {
    core: Core,
    malloc: MallocState,
    locks: LockTable,
    devfs: Devfs,
    sysctl: Sysctl,
    /// The kernel environment (`kenv(1)`): loader tunables.
    kenv: Kenv,
    /// counter(9) counters allocated by modules.
    counters: Counters,
    user: UserMem,
    uio: Uio,
    linker: LinkerState,
    files: FdTable,
    clock: Clock,
    sleepq: SleepQueues,
    callouts: Callouts,
    taskqueues: Taskqueues,
    select: Select,
    kqueues: Kqueues,
    workers: workers::Workers,
    firmware: Firmware,
    /// newbus: `pci0`, its devices and the drivers added to it.
    newbus: Newbus,
    /// bus_dma(9): tags, DMA memory and loads.
    busdma: crate::kpi::busdma::BusDma,
    /// The kernel's own malloc types (`DEVFS1` for `struct cdev`, `sbuf`,
    /// `firmware`).
    internal_types: InternalTypes,
}

/// The kernel's own `struct malloc_type`s (only their addresses are used):
/// `DEVFS1` (`M_CDEVP`, devfs_devs.c), `sbuf` (`M_SBUF`, subr_sbuf.c),
/// `firmware` (`M_FIRMWARE`, subr_firmware.c), `taskqueue`
/// (`M_TASKQUEUE`, subr_taskqueue.c).
struct InternalTypes(Box<[sys::malloc_type; 4]>);

/// Indexes into [`InternalTypes`].
const TYPE_DEVFS: usize = 0;
const TYPE_SBUF: usize = 1;
const TYPE_FIRMWARE: usize = 2;
pub(super) const TYPE_TASKQUEUE: usize = 3;
/// Their names (`ks_shortdesc`).
const TYPE_NAMES: [&core::ffi::CStr; 4] = [c"DEVFS1", c"sbuf", c"firmware", c"taskqueue"];

// SAFETY: the structures are written once at creation and only their
// addresses are used afterwards; their pointers refer to static strings.
unsafe impl Send for InternalTypes {}
// SAFETY: as above, nothing mutates them after creation.
unsafe impl Sync for InternalTypes {}

thread_local! {
    /// The kernel whose call this thread is in (null outside one).
    static CURRENT: Cell<*const KernelInner> = const { Cell::new(core::ptr::null()) };
}

/// The kernel whose call this thread is in, for the entry points module
/// code calls; `None` outside a call.
fn current<'a>() -> Option<&'a KernelInner> {
    let p = CURRENT.with(Cell::get);
    // SAFETY: `KernelInner::enter` sets the pointer from a live
    // `&KernelInner` for the duration of a closure and restores the
    // previous value when the closure returns or unwinds; module code,
    // and the entry points it calls, run only inside that closure, which
    // the kernel outlives.
    unsafe { p.as_ref() }
}

impl KernelInner {
    fn new(cfg: Config) -> Result<Self, Errno> {
        let mut internal_types: Box<[sys::malloc_type; 4]> = Box::default();
        for (t, name) in internal_types.iter_mut().zip(TYPE_NAMES) {
            t.ks_version = u64::from(sys::M_VERSION);
            t.ks_shortdesc = name.as_ptr();
        }
        let clock = Clock::new(cfg.hz, cfg.real_time_clock);
        let linker = LinkerState::new(&cfg);
        let k = KernelInner {
            core: Core::new(cfg)?,
            malloc: MallocState::default(),
            locks: LockTable::default(),
            devfs: Devfs::default(),
            sysctl: Sysctl::default(),
            kenv: Kenv::default(),
            counters: Counters::default(),
            user: UserMem::default(),
            uio: Uio::default(),
            linker,
            files: FdTable::default(),
            clock,
            sleepq: SleepQueues::default(),
            callouts: Callouts::default(),
            taskqueues: Taskqueues::default(),
            select: Select::default(),
            kqueues: Kqueues::default(),
            workers: workers::Workers::default(),
            firmware: Firmware::default(),
            newbus: Newbus::default(),
            busdma: crate::kpi::busdma::BusDma::default(),
            internal_types: InternalTypes(internal_types),
        };
        k.malloc
            .init_type(k.core.data_addr(DataSym::MDevbuf), String::from("devbuf"));
        k.malloc
            .init_type(k.core.data_addr(DataSym::MTemp), String::from("temp"));
        for (i, name) in TYPE_NAMES.iter().enumerate() {
            k.malloc
                .init_type(k.internal_type(i), name.to_string_lossy().into_owned());
        }
        k.clock.sync(&k.core);
        entry::newbus::init(&k);
        entry::busdma::init(&k);
        k.locks.init_giant(k.giant());
        k.sysctl.init_roots(
            k.core.data_addr(DataSym::SysctlChildren),
            &[
                k.core.data_addr(DataSym::SysctlKern),
                k.core.data_addr(DataSym::SysctlDebug),
                k.core.data_addr(DataSym::SysctlHw),
                k.core.data_addr(DataSym::SysctlDev),
                k.core.data_addr(DataSym::SysctlSecurity),
            ],
        );
        Ok(k)
    }

    /// `&Giant`.
    fn giant(&self) -> KAddr {
        self.core.data_addr(DataSym::Giant)
    }

    /// One of the kernel's own malloc types (`TYPE_*`).
    fn internal_type(&self, i: usize) -> KAddr {
        KAddr::from_ptr(&raw const self.internal_types.0[i])
    }

    /// The malloc type of `struct cdev`s.
    fn devfs_malloc_type(&self) -> KAddr {
        self.internal_type(TYPE_DEVFS)
    }

    /// Runs `f`, a call into this kernel from user space (or its
    /// teardown): the entry points module code calls meanwhile on this
    /// thread find the kernel through [`current`]. If the kernel panicked
    /// during the call, every thread sleeping in it is woken on the way
    /// out, so that it notices at once rather than at its next poll.
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        /// Puts the previous kernel back, also when `f` unwinds.
        struct Restore(*const KernelInner);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        /// Leaves the sleep queues' record of threads in the kernel, also
        /// when `f` unwinds (a pending signal is then delivered).
        struct Leave<'a>(&'a SleepQueues);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave_kernel();
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(self)));
        self.sleepq.enter_kernel();
        let leave = Leave(&self.sleepq);
        if self.clock.is_real() {
            self.clock.sync(&self.core);
        }
        let r = f();
        drop(leave);
        // The firmware taskqueue: modules loaded for images no longer used.
        if !self.core.is_dead() {
            self.firmware.run_unload_task(self);
        }
        if self.core.is_dead() {
            self.locks.wake_all();
            self.devfs.wake_all();
            self.sleepq.notify();
            self.select.notify();
            self.kqueues.notify();
        }
        r
    }
}

impl CdevMemory for KernelInner {
    fn alloc_cdev(&self, flags: u32) -> *mut sys::cdev {
        self.malloc
            .malloc(
                &self.core,
                size_of::<sys::cdev>(),
                self.devfs_malloc_type(),
                flags,
            )
            .cast()
    }

    fn free_cdev(&self, cdev: KAddr) {
        self.devfs.cdev_freed(cdev);
        self.malloc.free(&self.core, cdev, self.devfs_malloc_type());
    }
}

impl SbufMemory for KernelInner {
    fn sbuf_alloc(&self, size: usize, flags: u32) -> *mut u8 {
        self.malloc
            .malloc(&self.core, size, self.internal_type(TYPE_SBUF), flags)
    }

    fn sbuf_free(&self, p: KAddr) {
        self.malloc
            .free(&self.core, p, self.internal_type(TYPE_SBUF));
    }
}

impl FirmwareHost for KernelInner {
    fn fw_alloc(&self, size: usize, flags: u32) -> *mut u8 {
        self.malloc
            .malloc(&self.core, size, self.internal_type(TYPE_FIRMWARE), flags)
    }

    fn fw_free(&self, p: KAddr) {
        self.malloc
            .free(&self.core, p, self.internal_type(TYPE_FIRMWARE));
    }

    fn may_load_firmware(&self) -> bool {
        let td = crate::thread::curthread();
        // SAFETY: this thread's own `struct thread`, whose `td_ucred` points
        // at its credential (set for the call in progress).
        let cred = unsafe { (*td).td_ucred };
        // SAFETY: as above.
        !cred.is_null() && unsafe { (*cred).cr_uid } == 0
    }

    fn reference_module(&self, name: &str) -> Result<i32, Errno> {
        // The firmware taskqueue's thread, which runs as the kernel.
        let root = Cred::root();
        loader::reference_module(self, &Env::new(&root), name)
    }

    fn release_module(&self, file: i32) {
        let root = Cred::root();
        // An unload a module vetoes stays loaded, as on FreeBSD.
        let _vetoed = loader::release_file(self, &Env::new(&root), file);
    }
}

impl Host for KernelInner {
    fn core(&self) -> &Core {
        &self.core
    }

    fn linker(&self) -> &LinkerState {
        &self.linker
    }

    fn kernel_symbol(&self, name: &str) -> Option<KAddr> {
        match entry::lookup(name)? {
            entry::KSym::Func(stub) => Some(stub),
            entry::KSym::Data(d) => Some(self.core.data_addr(d)),
        }
    }

    fn lock_giant(&self) -> bool {
        self.locks.lock_addr(&self.core, self.giant())
    }

    fn unlock_giant(&self) {
        self.locks.unlock_addr(&self.core, self.giant());
    }

    fn register_sysctl(&self, oid: KAddr) -> bool {
        self.sysctl.register_static(&self.core, oid)
    }

    fn unregister_sysctl(&self, oid: KAddr) {
        self.sysctl.unregister_static(oid);
    }

    fn file_unloading(&self, range: KRange, file: &str) {
        self.firmware.forget_range(&self.core, self, range, file);
        self.devfs.forget_range(&self.core, range);
        self.sysctl.forget_range(&self.core, range);
        self.callouts.forget_range(&self.core, range);
        self.taskqueues.forget_range(&self.core, range);
        self.select.forget_range(&self.core, range);
        self.kqueues.forget_range(&self.core, range);
        self.locks.forget_range(&self.core, range);
        for name in self
            .newbus
            .forget_handlers_in(|a| range.contains(KAddr::new(a)))
        {
            self.core.violation(
                ViolationKind::Devfs,
                format!("{name}: interrupt handler still set up when {file} unloads"),
            );
        }
        self.malloc.forget_module_types(&self.core, range, file);
    }
}

impl Drop for KernelInner {
    fn drop(&mut self) {
        let root = Cred::root();
        if !self.core.is_dead() {
            self.enter(|| {
                vfs::close_all(self, &root);
                loader::unload_all(self, &Env::new(&root));
                self.firmware.teardown(&self.core, self);
            });
        }
        self.stop_workers();
        self.sysctl.clear();
        self.malloc.release_all();
        if std::thread::panicking() {
            return;
        }
        if let Some(report) = self.core.teardown_report() {
            panic!("{report}");
        }
    }
}

/// A handle on an emulated kernel, acting with one credential.
///
/// Cloning gives another handle on the same kernel; handles are `Send` and
/// `Sync`, so many threads can make calls at once.
#[derive(Clone)]
pub struct Kernel {
    inner: Arc<KernelInner>,
    cred: Cred,
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("cred", &self.cred)
            .field("dead", &self.inner.core.is_dead())
            .finish_non_exhaustive()
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new()
    }
}

impl Kernel {
    /// A fresh kernel (strict: violations fail the test), acting as root.
    ///
    /// # Panics
    /// If memory below 2 GiB cannot be mapped.
    #[must_use]
    pub fn new() -> Self {
        Kernel::with_config(Config::default())
    }

    /// A fresh kernel with `cfg`.
    ///
    /// # Panics
    /// If memory below 2 GiB cannot be mapped.
    #[must_use]
    pub fn with_config(cfg: Config) -> Self {
        let inner = KernelInner::new(cfg).expect("cannot map the kernel's data below 2 GiB");
        let inner = Arc::new(inner);
        inner.start_workers();
        Kernel {
            inner,
            cred: Cred::root(),
        }
    }

    /// A handle on the same kernel acting with `cred`.
    #[must_use]
    pub fn with_cred(&self, cred: Cred) -> Kernel {
        Kernel {
            inner: Arc::clone(&self.inner),
            cred,
        }
    }

    /// The credential of this handle.
    #[must_use]
    pub fn cred(&self) -> &Cred {
        &self.cred
    }

    fn env(&self) -> Env<'_> {
        Env::new(&self.cred)
    }

    fn alive(&self) -> SysResult<()> {
        if self.inner.core.is_dead() {
            Err(self.inner.core.panic_error())
        } else {
            Ok(())
        }
    }

    // --- The linker ---

    /// The address of kernel symbol `name` in this test kernel (an
    /// emulated function's call stub, or kernel data), `None` if the
    /// kernel lacks it: what a module's relocation against `name` gets.
    pub fn kernel_symbol_address(&self, name: &str) -> Option<usize> {
        Host::kernel_symbol(&*self.inner, name).map(|a| a.get())
    }

    /// Loads the arm64 `ET_DYN` module at `path` as FreeBSD/arm64's
    /// `link_elf.c` would, relocated against this kernel's symbols, without
    /// registering it or running any of its code. Symbols resolve to this
    /// kernel's, then to arm64-only kernel data
    /// ([`crate::loader::link_elf::arm64_kernel_symbol`]); other modules
    /// are not searched
    /// ([`crate::loader::link_elf`]); an unreadable file is `ENOENT`.
    pub fn link_elf_dyn(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<loader::link_elf::DynFile, loader::link_elf::DynError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|e| loader::link_elf::DynError {
            errno: Errno::ENOENT,
            messages: Vec::new(),
            why: Some(format!("{}: {e}", path.display())),
        })?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        loader::link_elf::load(&name, &data, &|s| {
            self.kernel_symbol_address(s)
                .map(|a| a as u64)
                .or_else(|| loader::link_elf::arm64_kernel_symbol(s))
        })
    }

    /// `kldload(2)`: loads a `.ko` (a path with `/` or `.`), or finds
    /// `NAME.ko` in the module path. Returns the file id.
    ///
    /// # Errors
    /// As kldload(2): `ENOENT` (no file, or a dependency or symbol that
    /// cannot be resolved), `ENOEXEC` (not loadable, or every module of
    /// the file failed `MOD_LOAD`), `EEXIST` (already loaded), `EPERM`.
    pub fn kldload(&self, path: impl AsRef<Path>) -> SysResult<i32> {
        self.alive()?;
        let p = path.as_ref().to_string_lossy().into_owned();
        let k = &*self.inner;
        k.enter(|| {
            let r = loader::kldload(k, &self.env(), &p);
            k.locks.userret(&k.core);
            r
        })
    }

    /// `kldunload(2)`/`kldunloadf(2)`: by id or name; `force` ignores a
    /// `MOD_QUIESCE` veto (but not a `MOD_UNLOAD` error).
    ///
    /// # Errors
    /// `ENOENT`, `EBUSY` (or the module's veto), `EPERM`.
    pub fn kldunload(&self, target: impl Into<KldTarget>, force: bool) -> SysResult<()> {
        self.alive()?;
        let target = target.into();
        let k = &*self.inner;
        k.enter(|| {
            let r = loader::kldunload(k, &self.env(), &target, force);
            k.locks.userret(&k.core);
            r
        })
    }

    /// `kldstat(2)` for every file, the kernel first.
    #[must_use]
    pub fn kldstat(&self) -> Vec<KldStat> {
        loader::kldstat(&*self.inner)
    }

    /// `modstat(2)` for every registered module, file by file, as
    /// `kldstat -v` lists them.
    #[must_use]
    pub fn modstat(&self) -> Vec<ModStat> {
        loader::modstat(&*self.inner)
    }

    /// Sets `kern.module_path` (where dependencies and bare names are
    /// looked for).
    pub fn set_module_path(&self, dirs: Vec<PathBuf>) {
        loader::set_module_path(&*self.inner, dirs);
    }

    // --- Messages ---

    /// The kernel message buffer (`dmesg`): the last
    /// [`Config::msgbuf_size`] bytes, oldest first; once older text was
    /// overwritten, from the first complete line, as `dmesg(8)` prints.
    #[must_use]
    pub fn dmesg(&self) -> String {
        self.inner.core.dmesg()
    }

    /// Empties the message buffer (`dmesg -c`).
    pub fn clear_dmesg(&self) {
        self.inner.core.clear_dmesg();
    }

    /// `log(9)` records: (priority, text), oldest first; the newest that
    /// fit in the message buffer with their `<pri>` prefixes, as FreeBSD
    /// keeps them there.
    #[must_use]
    pub fn log_records(&self) -> Vec<(i32, String)> {
        self.inner.core.log_records()
    }

    /// What `uprintf(9)` wrote to the process terminal, taken.
    #[must_use]
    pub fn take_tty(&self) -> String {
        self.inner.core.take_tty()
    }

    // --- malloc ---

    /// Statistics of the malloc type called `name` (its short
    /// description, as `vmstat -m` shows it).
    #[must_use]
    pub fn malloc_stats(&self, name: &str) -> Option<MallocStats> {
        self.inner.malloc.stats(name)
    }

    /// Every malloc type's statistics.
    #[must_use]
    pub fn malloc_types(&self) -> Vec<MallocStats> {
        self.inner.malloc.all_stats()
    }

    /// Every malloc type's statistics in the order `vmstat -m` lists them
    /// (`memstat_sysctl_malloc(3)`: oldest registration first).
    #[must_use]
    pub fn memstat_malloc(&self) -> Vec<MallocStats> {
        self.inner.malloc.registration_order()
    }

    /// Sets when `M_NOWAIT` allocations fail (`MALLOC_MAKE_FAILURES`).
    /// `M_WAITOK` ones never do, as in FreeBSD.
    pub fn set_malloc_failures(&self, policy: FailPolicy) {
        self.inner.malloc.set_policy(policy);
    }

    /// Fault injection by call order (`state/inject.rs`): counts, from
    /// now, every call that can fail ([`crate::Injectable`]: `M_NOWAIT`
    /// mallocs, `bus_alloc_resource`, `bus_setup_intr`, `sysctl_add_oid`,
    /// `make_dev_s` with `MAKEDEV_CHECKNAME`, and whatever is added
    /// there) and fails the `n`-th, once; `n = 0`
    /// only counts. [`Kernel::injectable_calls`] stops it.
    pub fn fail_injectable(&self, n: u64) {
        self.inner.core.inject_arm(n);
    }

    /// Stops [`Kernel::fail_injectable`]; the injectable calls made since,
    /// in order (the failed one included).
    pub fn injectable_calls(&self) -> Vec<crate::Injectable> {
        self.inner.core.inject_disarm()
    }

    /// `M_NOWAIT` allocation attempts so far.
    #[must_use]
    pub fn malloc_nowait_count(&self) -> u64 {
        self.inner.malloc.counts().0
    }

    /// All allocation attempts so far.
    #[must_use]
    pub fn malloc_count(&self) -> u64 {
        self.inner.malloc.counts().1
    }

    // --- uio ---

    /// Counters of data movement (uiomove, copyin, copyout).
    #[must_use]
    pub fn uio_stats(&self) -> UioStats {
        self.inner.uio.snapshot()
    }

    // --- Checks ---

    /// Violations recorded so far.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.inner.core.violations()
    }

    /// Takes (acknowledges) the violations recorded so far.
    pub fn take_violations(&self) -> Vec<Violation> {
        self.inner.core.take_violations()
    }

    /// Peak kernel stack use per entry point into module code since the
    /// kernel started, sorted by name. Module code runs on a 16 KiB
    /// kernel stack (FreeBSD amd64's `KSTACK_PAGES`), less what the
    /// kernel keeps at its top; see `thread/kstack.rs`.
    #[must_use]
    pub fn stack_usage(&self) -> Vec<StackUse> {
        self.inner.core.stack_usage()
    }

    /// The panic message, if the kernel panicked.
    #[must_use]
    pub fn panicked(&self) -> Option<String> {
        self.inner.core.panicked()
    }

    /// Acknowledges an expected panic; returns its message.
    pub fn expect_panic(&self) -> Option<String> {
        self.inner.core.acknowledge_panic();
        self.panicked()
    }

    /// `Ok` if the kernel is alive and no violation was recorded.
    ///
    /// # Errors
    /// A description of the panic and the violations.
    pub fn check(&self) -> Result<(), String> {
        let v = self.violations();
        let p = self.panicked();
        if v.is_empty() && p.is_none() {
            return Ok(());
        }
        let mut s = String::new();
        if let Some(p) = p {
            s.push_str(&format!("kernel panicked: {p}\n"));
        }
        for x in v {
            s.push_str(&format!("{x}\n"));
        }
        Err(s)
    }
}

/// Sleeping threads and signals, as a test drives them.
impl Kernel {
    /// Posts a signal to `thread`, a host thread inside a system call of
    /// this kernel (blocked in a module, or about to be): its current or
    /// next interruptible sleep in that call (`PCATCH`, `cv_wait_sig`)
    /// returns `ERESTART` if the signal's handler was installed with
    /// `SA_RESTART` (`restart`), `EINTR` otherwise; the signal is
    /// delivered when the call returns. A read, write or ioctl that ends
    /// with `ERESTART` before moving any data is restarted, as the system
    /// call layer does after a restarting handler. Returns whether the
    /// thread was in the kernel (a signal to a thread in user space is
    /// delivered there and changes nothing).
    pub fn post_signal(&self, thread: std::thread::ThreadId, restart: bool) -> bool {
        let r = self.inner.sleepq.post_signal(thread, restart);
        self.inner.select.notify();
        self.inner.kqueues.notify();
        r
    }

    /// The threads sleeping in this kernel now, oldest first.
    #[must_use]
    pub fn sleepers(&self) -> Vec<SleepInfo> {
        self.inner.sleepq.sleepers()
    }

    /// What a deadlock watchdog prints about the threads asleep: for
    /// each, its wait message, wait channel and interlock, and the
    /// wakeups on that channel that found no sleeper before it slept,
    /// naming the function that issued each (`function+0xoff`) and the
    /// locks it held, and flagging those issued without the sleeper's
    /// interlock (a wakeup possibly lost). A diagnostic: whether a wakeup
    /// was really lost depends on reads the test kernel does not see.
    #[must_use]
    pub fn sleep_report(&self) -> String {
        let locks = &self.inner.locks;
        self.inner.sleepq.report(|l| {
            locks
                .name_of(l)
                .map_or_else(|| format!("{l:#x}"), |n| format!("\"{n}\""))
        })
    }

    /// Waits (in real time, at most `timeout`) until at least `n` threads
    /// sleep with the wait message `wmesg`; returns whether they do.
    #[must_use]
    pub fn wait_for_sleepers(&self, wmesg: &str, n: usize, timeout: Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            let c = self.sleepers().iter().filter(|s| s.wmesg == wmesg).count();
            if c >= n {
                return true;
            }
            if std::time::Instant::now() >= end || self.inner.core.is_dead() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Wakeups (`wakeup`, `wakeup_one`, `cv_signal`, ...) that woke at
    /// least one thread so far.
    #[must_use]
    pub fn wakeup_count(&self) -> u64 {
        self.inner.sleepq.wakeup_count()
    }
}

/// The clock and firmware(9), as a test drives them.
impl Kernel {
    /// Lets `d` of time pass: the virtual clock jumps (`ticks`, uptime
    /// and the wall clock move with it); a real-time clock (`kldsim`) is
    /// waited for. Returns the uptime after.
    pub fn advance_clock(&self, d: Duration) -> Duration {
        let k = &*self.inner;
        let target = k.clock.now().saturating_add(duration_to_sbt(d));
        let after = k.enter(|| k.advance_to(target, true));
        crate::kpi::clock::sbt_to_duration(after)
    }

    /// Callouts pending now (scheduled and not yet run or stopped).
    #[must_use]
    pub fn pending_callouts(&self) -> usize {
        self.inner.callouts.pending()
    }

    /// Lets time pass until the next pending callout's expiry and runs
    /// what is due then; returns the uptime after, or `None` if no
    /// callout is pending.
    pub fn run_next_callout(&self) -> Option<Duration> {
        let k = &*self.inner;
        let next = k.callouts.next_deadline()?;
        let after = k.enter(|| k.advance_to(next.max(k.clock.now()), true));
        Some(crate::kpi::clock::sbt_to_duration(after))
    }

    /// The uptime (`binuptime`): one second at boot.
    #[must_use]
    pub fn uptime(&self) -> Duration {
        crate::kpi::clock::sbt_to_duration(self.inner.clock.now())
    }

    /// `hz`, the clock's frequency ([`Config::hz`]).
    #[must_use]
    pub fn hz(&self) -> i32 {
        self.inner.clock.hz()
    }

    /// `ticks`: hardclock ticks since boot (as `ticksl`, which does not
    /// wrap).
    #[must_use]
    pub fn ticks(&self) -> i64 {
        let k = &*self.inner;
        if k.clock.is_real() {
            k.clock.sync(&k.core);
        }
        let p = k.core.data_addr(DataSym::Ticksl).ptr::<i64>();
        // SAFETY: the data block holds `ticksl` for the kernel's lifetime;
        // the clock stores it atomically.
        unsafe { core::sync::atomic::AtomicI64::from_ptr(p) }
            .load(core::sync::atomic::Ordering::Acquire)
    }

    /// Registers a firmware image, as a module the test does not load
    /// would with `firmware_register(9)`; the kernel keeps a copy of
    /// `data`.
    ///
    /// # Errors
    /// `EEXIST` if an image of that name (ignoring case) is registered.
    pub fn firmware_register(&self, name: &str, data: Vec<u8>, version: u32) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| k.firmware.register_owned(&k.core, k, name, data, version))
            .map_err(Into::into)
    }

    /// `firmware_unregister(9)` of an image.
    ///
    /// # Errors
    /// `EBUSY` while a module holds a reference on it.
    pub fn firmware_unregister(&self, name: &str) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| k.firmware.unregister(k, name))
            .map_err(Into::into)
    }

    /// The registered firmware images, by name.
    #[must_use]
    pub fn firmware_images(&self) -> Vec<FirmwareImage> {
        self.inner.firmware.images()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_independent() {
        let a = Kernel::new();
        let b = Kernel::new();
        assert_ne!(
            a.inner.core.data_addr(DataSym::Giant),
            b.inner.core.data_addr(DataSym::Giant)
        );
        assert!(a.inner.core.data_addr(DataSym::MDevbuf).get() < 0x8000_0000);
        assert_eq!(
            a.sysctl_children("").unwrap(),
            ["kern", "debug", "hw", "dev", "security"]
        );
    }
}
