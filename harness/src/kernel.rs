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
//! Every method returns what the syscall would return: a value, or an
//! [`Error`] holding the errno, or a panic (after which the kernel is
//! dead and every call fails with the same panic). A kernel records
//! violations of kernel rules (WITNESS-like lock checks, malloc misuse,
//! leaks at `malloc_uninit`, devices or sysctls left behind by an unloaded
//! module, ...). When the last handle is dropped the kernel unloads what
//! is still loaded and, unless the test acknowledged them, panics on
//! violations or a kernel panic so that the test fails.

mod files;
mod sysctl;

use crate::errno::{Errno, Error, SysResult};
use crate::kpi::kdata::{DataSym, KernelData};
use crate::kpi::malloc::{FailPolicy, MallocState, MallocStats};
use crate::kpi::printf::MsgBuf;
use crate::kpi::uio::{UioCounters, UioStats};
use crate::kpi::{devfs::Devfs, lock::LockTable, sysctl::Sysctl};
use crate::loader::{self, KldStat, KldTarget, LinkerState};
use crate::thread::Env;
use crate::user::{Cred, UserMem};
use crate::vfs::{self, FdTable};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What kind of rule a [`Violation`] broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// Lock misuse (WITNESS-like).
    Lock,
    /// malloc(9) misuse (bad flags, bad free, uninitialised type).
    Malloc,
    /// Memory still allocated at `malloc_uninit`.
    Leak,
    /// uio(9) misuse.
    Uio,
    /// Device misuse (left behind, destroyed from its own method...).
    Devfs,
    /// sysctl(9) misuse.
    Sysctl,
    /// Module or linker problem.
    Module,
}

/// A broken kernel rule, as the kernel would have reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub kind: ViolationKind,
    /// The message (FreeBSD's wording where it has one).
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// How a kernel behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Panic (fail the test) when the last handle is dropped if there are
    /// unacknowledged violations or an unacknowledged kernel panic.
    pub strict: bool,
    /// Copy console output (printf, log) to the host's stderr.
    pub echo_console: bool,
    /// Bytes kept in the message buffer (a ring like FreeBSD's `msgbuf`:
    /// the oldest bytes are overwritten; `log(9)` records share the
    /// budget).
    pub msgbuf_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strict: true,
            echo_console: std::env::var_os("HARNESS_CONSOLE").is_some(),
            msgbuf_size: 1 << 20,
        }
    }
}

/// The shared state of one kernel.
pub(crate) struct KernelInner {
    pub(crate) cfg: Config,
    pub(crate) data: KernelData,
    pub(crate) msgbuf: Mutex<MsgBuf>,
    tty: Mutex<String>,
    pub(crate) malloc: MallocState,
    pub(crate) locks: LockTable,
    pub(crate) devfs: Devfs,
    pub(crate) sysctl: Sysctl,
    pub(crate) user: UserMem,
    pub(crate) uio: UioCounters,
    pub(crate) linker: LinkerState,
    pub(crate) files: FdTable,
    violations: Mutex<Vec<Violation>>,
    panic: Mutex<Option<String>>,
    panic_acked: AtomicBool,
    dead: AtomicBool,
    /// The kernel's own malloc types (`DEVFS1` for `struct cdev`).
    internal_types: InternalTypes,
}

/// The kernel's own `struct malloc_type`s (only their addresses are used).
struct InternalTypes(Box<[sys::malloc_type; 1]>);

// SAFETY: the structures are written once at creation and only their
// addresses are used afterwards; their pointers refer to static strings.
unsafe impl Send for InternalTypes {}
// SAFETY: as above, nothing mutates them after creation.
unsafe impl Sync for InternalTypes {}

fn lk<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl KernelInner {
    fn new(cfg: Config) -> Result<Self, Errno> {
        let data = KernelData::new()?;
        let mut internal_types: Box<[sys::malloc_type; 1]> = Box::default();
        internal_types[0].ks_version = u64::from(sys::M_VERSION);
        internal_types[0].ks_shortdesc = c"DEVFS1".as_ptr();
        let k = KernelInner {
            msgbuf: Mutex::new(MsgBuf::new(cfg.msgbuf_size)),
            cfg,
            data,
            tty: Mutex::new(String::new()),
            malloc: MallocState::default(),
            locks: LockTable::default(),
            devfs: Devfs::default(),
            sysctl: Sysctl::default(),
            user: UserMem::default(),
            uio: UioCounters::default(),
            linker: LinkerState::default(),
            files: FdTable::default(),
            violations: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
            panic_acked: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            internal_types: InternalTypes(internal_types),
        };
        k.malloc
            .init_type(k.data.addr(DataSym::MDevbuf), String::from("devbuf"));
        k.malloc
            .init_type(k.data.addr(DataSym::MTemp), String::from("temp"));
        k.malloc
            .init_type(k.internal_type_devfs(), String::from("DEVFS1"));
        k.locks.init_giant(k.giant());
        k.sysctl.init_roots(
            k.data.addr(DataSym::SysctlChildren),
            &[
                k.data.addr(DataSym::SysctlKern),
                k.data.addr(DataSym::SysctlDebug),
                k.data.addr(DataSym::SysctlHw),
            ],
        );
        Ok(k)
    }

    /// `&Giant`.
    pub(crate) fn giant(&self) -> usize {
        self.data.addr(DataSym::Giant)
    }

    /// The malloc type of `struct cdev`s.
    pub(crate) fn internal_type_devfs(&self) -> usize {
        self.internal_types.0.as_ptr() as usize
    }

    /// Whether the kernel panicked.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Records a panic (the caller then unwinds out of module code).
    pub(crate) fn record_panic(&self, msg: &str) {
        let msg = msg.trim_end_matches('\n').to_owned();
        {
            let mut p = lk(&self.panic);
            if p.is_none() {
                *p = Some(msg.clone());
            }
        }
        self.console(&format!("panic: {msg}\n"));
        self.dead.store(true, Ordering::Release);
        self.locks.wake_all();
        self.devfs.cv.notify_all();
    }

    /// The error every call returns once the kernel is dead.
    pub(crate) fn panic_error(&self) -> Error {
        Error::Panic(
            lk(&self.panic)
                .clone()
                .unwrap_or_else(|| String::from("(unknown)")),
        )
    }

    /// Console output (printf(9)).
    pub(crate) fn console(&self, s: &str) {
        lk(&self.msgbuf).push(s);
        self.echo(s);
    }

    /// Copies to stderr if configured.
    pub(crate) fn echo(&self, s: &str) {
        if self.cfg.echo_console {
            eprint!("{s}");
        }
    }

    /// uprintf(9) output.
    pub(crate) fn tty_write(&self, s: &str) {
        lk(&self.tty).push_str(s);
    }

    /// Records a violation (also printed to the console, as WITNESS and
    /// INVARIANTS print).
    pub(crate) fn violation(&self, kind: ViolationKind, message: String) {
        if kind != ViolationKind::Leak {
            self.console(&format!("{message}\n"));
        }
        lk(&self.violations).push(Violation { kind, message });
    }

    /// Forgets malloc types whose structure is in an unloaded mapping.
    pub(crate) fn malloc_forget_range(&self, start: usize, len: usize, file: &str) {
        for name in self.malloc.forget_types_in(start, len) {
            self.violation(
                ViolationKind::Malloc,
                format!("malloc type {name} of {file} was not uninitialised before unload (missing malloc_uninit)"),
            );
        }
    }
}

impl Drop for KernelInner {
    fn drop(&mut self) {
        let root = Cred::root();
        if !self.is_dead() {
            vfs::close_all(self, &root);
            loader::unload_all(self, &Env::new(&root));
        }
        self.sysctl.clear();
        self.malloc.release_all();
        if !self.cfg.strict || std::thread::panicking() {
            return;
        }
        let v = lk(&self.violations).clone();
        let p = if self.panic_acked.load(Ordering::Acquire) {
            None
        } else {
            lk(&self.panic).clone()
        };
        if p.is_some() || !v.is_empty() {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            panic!(
                "kernel checks failed:{}{}\n--- dmesg ---\n{}",
                p.map(|m| format!("\nkernel panicked: {m}"))
                    .unwrap_or_default(),
                if list.is_empty() {
                    String::new()
                } else {
                    format!("\nviolations:\n{}", list.join("\n"))
                },
                lk(&self.msgbuf).text()
            );
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
            .field("dead", &self.inner.is_dead())
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
        Kernel {
            inner: Arc::new(inner),
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
        if self.inner.is_dead() {
            Err(self.inner.panic_error())
        } else {
            Ok(())
        }
    }

    // --- The linker ---

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
        let r = loader::kldload(&self.inner, &self.env(), &p);
        self.inner.locks.userret(&self.inner);
        r
    }

    /// `kldunload(2)`/`kldunloadf(2)`: by id or name; `force` ignores a
    /// `MOD_QUIESCE` veto (but not a `MOD_UNLOAD` error).
    ///
    /// # Errors
    /// `ENOENT`, `EBUSY` (or the module's veto), `EPERM`.
    pub fn kldunload(&self, target: impl Into<KldTarget>, force: bool) -> SysResult<()> {
        self.alive()?;
        let r = loader::kldunload(&self.inner, &self.env(), &target.into(), force);
        self.inner.locks.userret(&self.inner);
        r
    }

    /// `kldstat(2)` for every file, the kernel first.
    #[must_use]
    pub fn kldstat(&self) -> Vec<KldStat> {
        loader::kldstat(&self.inner)
    }

    /// Sets `kern.module_path` (where dependencies and bare names are
    /// looked for).
    pub fn set_module_path(&self, dirs: Vec<PathBuf>) {
        loader::set_module_path(&self.inner, dirs);
    }

    // --- Messages ---

    /// The kernel message buffer (`dmesg`): the last
    /// [`Config::msgbuf_size`] bytes, oldest first; once older text was
    /// overwritten, from the first complete line, as `dmesg(8)` prints.
    #[must_use]
    pub fn dmesg(&self) -> String {
        lk(&self.inner.msgbuf).text()
    }

    /// Empties the message buffer (`dmesg -c`).
    pub fn clear_dmesg(&self) {
        lk(&self.inner.msgbuf).clear();
    }

    /// `log(9)` records: (priority, text), oldest first; the newest that
    /// fit in the message buffer with their `<pri>` prefixes, as FreeBSD
    /// keeps them there.
    #[must_use]
    pub fn log_records(&self) -> Vec<(i32, String)> {
        lk(&self.inner.msgbuf).log_records()
    }

    /// What `uprintf(9)` wrote to the process terminal, taken.
    #[must_use]
    pub fn take_tty(&self) -> String {
        core::mem::take(&mut *lk(&self.inner.tty))
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

    /// Sets when `M_NOWAIT` allocations fail (`MALLOC_MAKE_FAILURES`).
    pub fn set_malloc_failures(&self, policy: FailPolicy) {
        self.inner.malloc.set_policy(policy);
    }

    /// Stricter than FreeBSD: let the failure policy fail `M_WAITOK`
    /// allocations too (to test every failure path of a load).
    pub fn set_malloc_strict(&self, on: bool) {
        self.inner.malloc.set_strict(on);
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
        lk(&self.inner.violations).clone()
    }

    /// Takes (acknowledges) the violations recorded so far.
    pub fn take_violations(&self) -> Vec<Violation> {
        core::mem::take(&mut *lk(&self.inner.violations))
    }

    /// The panic message, if the kernel panicked.
    #[must_use]
    pub fn panicked(&self) -> Option<String> {
        lk(&self.inner.panic).clone()
    }

    /// Acknowledges an expected panic; returns its message.
    pub fn expect_panic(&self) -> Option<String> {
        self.inner.panic_acked.store(true, Ordering::Release);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_independent() {
        let a = Kernel::new();
        let b = Kernel::new();
        assert_ne!(
            a.inner.data.addr(DataSym::Giant),
            b.inner.data.addr(DataSym::Giant)
        );
        assert!(a.inner.data.addr(DataSym::MDevbuf) < 0x8000_0000);
        assert_eq!(a.sysctl_children("").unwrap(), ["kern", "debug", "hw"]);
    }
}
