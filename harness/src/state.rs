// SPDX-License-Identifier: BSD-2-Clause
//! The state every part of one kernel shares: its configuration, the
//! console (message buffer and process terminal), the violations of
//! kernel rules it recorded, whether it panicked, and its data block.
//!
//! [`Core`] is a leaf: it knows no subsystem. Subsystems report through
//! its narrow interface ([`Core::violation`], [`Core::console`],
//! [`Core::record_panic`], [`Core::is_dead`]) and keep their own state.

mod inject;
mod kdata;
mod msgbuf;

pub use inject::Injectable;
pub(crate) use kdata::DataSym;

use crate::addr::KAddr;
use crate::errno::{Errno, Error};
use crate::ksyms;
use crate::sync::lock_ignoring_poison;
use kdata::KernelData;
use msgbuf::MsgBuf;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Module code touched user memory directly, not through
    /// `copyin(9)` and friends: a fatal page fault under SMAP.
    Smap,
    /// Module code overflowed its kernel stack.
    Stack,
    /// Sleeping, callout(9), taskqueue(9), select(2)/kqueue(2) misuse
    /// (sleeping where it is forbidden, a timer or task left behind, ...).
    Sleep,
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

/// The peak kernel stack use of one entry point into module code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackUse {
    /// The function called (`function` in module code: a `cdevsw`
    /// method, an event handler, a SYSINIT, a sysctl handler, ...).
    pub entry: String,
    /// The most bytes of its kernel stack it used, its callees in module
    /// code included and the emulated kernel functions it called left
    /// out.
    pub peak: usize,
    /// How many calls were measured.
    pub calls: u64,
}

/// Peak stack use by entry point name, with the names of the addresses
/// seen since the module files last changed (a load or unload may map
/// another function at an address): bounded by the number of distinct
/// entry points, however often modules are loaded.
#[derive(Default)]
struct StackTable {
    by_name: std::collections::BTreeMap<String, StackUse>,
    names: HashMap<KAddr, String>,
    generation: u64,
}

impl StackTable {
    fn record(&mut self, entry: KAddr, bytes: usize) {
        let generation = ksyms::generation();
        if generation != self.generation {
            self.names.clear();
            self.generation = generation;
        }
        let name = self
            .names
            .entry(entry)
            .or_insert_with(|| ksyms::function_name(entry.get()));
        // No allocation on the usual path: the name is known.
        if !self.by_name.contains_key(name.as_str()) {
            let fresh = StackUse {
                entry: name.clone(),
                peak: 0,
                calls: 0,
            };
            self.by_name.insert(name.clone(), fresh);
        }
        if let Some(u) = self.by_name.get_mut(name.as_str()) {
            u.peak = u.peak.max(bytes);
            u.calls += 1;
        }
    }
}

/// The emulated kernel's version by default (`__FreeBSD_version` of
/// 15.0-RELEASE); [`Config::osreldate`] sets another.
pub const KERNEL_VERSION: i32 = 1_500_068;

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
    /// The clock's frequency, `hz` (FreeBSD's default, 1000; a test may
    /// choose another, such as the 100 FreeBSD uses in a virtual machine,
    /// to catch a module that assumes one).
    pub hz: i32,
    /// The clock follows the host's time (`kldsim`) instead of standing
    /// still until the test, or a sleep, lets time pass.
    pub real_time_clock: bool,
    /// The running kernel's `__FreeBSD_version` (`kern.osreldate`), the
    /// version of the `kernel` module that every `DECLARE_MODULE` depends
    /// on: a module built against newer headers fails to load ("KLD %s:
    /// depends on kernel - not available or version mismatch"). Default
    /// [`KERNEL_VERSION`], 15.0-RELEASE.
    pub osreldate: i32,
    /// The `debug.link_elf_obj_leak_locals` tunable: whether a module's
    /// relocations may bind to local symbols of the files it depends on
    /// (FreeBSD's default, `true`), or only to their global ones.
    pub link_elf_obj_leak_locals: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strict: true,
            echo_console: std::env::var_os("HARNESS_CONSOLE").is_some(),
            msgbuf_size: 1 << 20,
            hz: 1000,
            real_time_clock: false,
            osreldate: KERNEL_VERSION,
            link_elf_obj_leak_locals: true,
        }
    }
}

/// The shared core of one kernel.
pub(crate) struct Core {
    cfg: Config,
    data: KernelData,
    msgbuf: Mutex<MsgBuf>,
    /// What uprintf(9) wrote to the process terminal.
    tty: Mutex<String>,
    violations: Mutex<Vec<Violation>>,
    /// The first panic message.
    panic: Mutex<Option<String>>,
    panic_acked: AtomicBool,
    dead: AtomicBool,
    /// Peak kernel stack use by entry point.
    stack: Mutex<StackTable>,
    /// "Fail the n-th call that can fail" ([`inject`]).
    inject: inject::Injector,
}

impl Core {
    /// A fresh core: the data block mapped and initialised, nothing
    /// recorded.
    pub(crate) fn new(cfg: Config) -> Result<Self, Errno> {
        Ok(Core {
            data: KernelData::new()?,
            msgbuf: Mutex::new(MsgBuf::new(cfg.msgbuf_size)),
            cfg,
            tty: Mutex::new(String::new()),
            violations: Mutex::new(Vec::new()),
            panic: Mutex::new(None),
            panic_acked: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            stack: Mutex::new(StackTable::default()),
            inject: inject::Injector::default(),
        })
    }

    /// Counts an injectable call of `what` (see [`inject`]); whether it
    /// is to fail.
    pub(crate) fn inject_fails(&self, what: Injectable) -> bool {
        self.inject.fails(what)
    }

    /// Arms the injector: counts injectable calls from now, fails the
    /// `n`-th (0: none).
    pub(crate) fn inject_arm(&self, n: u64) {
        self.inject.arm(n);
    }

    /// Disarms the injector; the calls counted since it was armed.
    pub(crate) fn inject_disarm(&self) -> Vec<Injectable> {
        self.inject.disarm()
    }

    /// The address of a data symbol in this kernel's data block.
    pub(crate) fn data_addr(&self, sym: DataSym) -> KAddr {
        self.data.addr(sym)
    }

    // --- The console ---

    /// Console output (printf(9)): the message buffer, and stderr if
    /// configured.
    pub(crate) fn console(&self, s: &str) {
        lock_ignoring_poison(&self.msgbuf).push(s);
        self.echo(s);
    }

    /// log(9) output at priority `pri`: a record, and the text in the
    /// message buffer.
    pub(crate) fn log(&self, pri: i32, s: &str) {
        let mut m = lock_ignoring_poison(&self.msgbuf);
        m.push_log(pri, s);
        m.push(s);
        drop(m);
        self.echo(s);
    }

    /// Copies to stderr if configured.
    fn echo(&self, s: &str) {
        if self.cfg.echo_console {
            eprint!("{s}");
        }
    }

    /// uprintf(9) output.
    pub(crate) fn tty_write(&self, s: &str) {
        lock_ignoring_poison(&self.tty).push_str(s);
    }

    /// What uprintf(9) wrote, taken.
    pub(crate) fn take_tty(&self) -> String {
        core::mem::take(&mut *lock_ignoring_poison(&self.tty))
    }

    /// The message buffer as `dmesg(8)` prints it.
    pub(crate) fn dmesg(&self) -> String {
        lock_ignoring_poison(&self.msgbuf).text()
    }

    /// Empties the message buffer (`dmesg -c`).
    pub(crate) fn clear_dmesg(&self) {
        lock_ignoring_poison(&self.msgbuf).clear();
    }

    /// The retained log(9) records, oldest first.
    pub(crate) fn log_records(&self) -> Vec<(i32, String)> {
        lock_ignoring_poison(&self.msgbuf).log_records()
    }

    // --- Violations ---

    /// Records a violation (also printed to the console, as WITNESS and
    /// INVARIANTS print, except leaks, whose report the caller prints).
    pub(crate) fn violation(&self, kind: ViolationKind, message: String) {
        if kind != ViolationKind::Leak {
            self.console(&format!("{message}\n"));
        }
        lock_ignoring_poison(&self.violations).push(Violation { kind, message });
    }

    /// The violations recorded so far.
    pub(crate) fn violations(&self) -> Vec<Violation> {
        lock_ignoring_poison(&self.violations).clone()
    }

    /// Takes (acknowledges) the violations recorded so far.
    pub(crate) fn take_violations(&self) -> Vec<Violation> {
        core::mem::take(&mut *lock_ignoring_poison(&self.violations))
    }

    // --- Kernel stacks ---

    /// Records that a call of entry point `entry` used `bytes` of its
    /// kernel stack.
    pub(crate) fn record_stack(&self, entry: KAddr, bytes: usize) {
        lock_ignoring_poison(&self.stack).record(entry, bytes);
    }

    /// Peak kernel stack use per entry point, by name (entry points of
    /// the same name, such as one generic method for two devices, or the
    /// same module loaded again, merged).
    pub(crate) fn stack_usage(&self) -> Vec<StackUse> {
        lock_ignoring_poison(&self.stack)
            .by_name
            .values()
            .cloned()
            .collect()
    }

    // --- Panics ---

    /// Records a panic: the first message is kept, the kernel is dead
    /// from now on. The caller then unwinds out of module code; whoever
    /// sleeps in the kernel notices within its polling interval (the
    /// kernel wakes them at the end of the call that panicked).
    pub(crate) fn record_panic(&self, msg: &str) {
        let msg = msg.trim_end_matches('\n').to_owned();
        {
            let mut p = lock_ignoring_poison(&self.panic);
            if p.is_none() {
                *p = Some(msg.clone());
            }
        }
        self.console(&format!("panic: {msg}\n"));
        self.dead.store(true, Ordering::Release);
    }

    /// Whether the kernel panicked.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// The panic message, if the kernel panicked.
    pub(crate) fn panicked(&self) -> Option<String> {
        lock_ignoring_poison(&self.panic).clone()
    }

    /// The error every call returns once the kernel is dead.
    pub(crate) fn panic_error(&self) -> Error {
        Error::Panic(self.panicked().unwrap_or_else(|| String::from("(unknown)")))
    }

    /// Marks the panic as expected by the test.
    pub(crate) fn acknowledge_panic(&self) {
        self.panic_acked.store(true, Ordering::Release);
    }

    /// What a strict kernel reports at teardown: the unacknowledged panic
    /// and the violations, with the message buffer; `None` if there is
    /// nothing to report or the kernel is lenient.
    pub(crate) fn teardown_report(&self) -> Option<String> {
        if !self.cfg.strict {
            return None;
        }
        let v = self.violations();
        let p = if self.panic_acked.load(Ordering::Acquire) {
            None
        } else {
            self.panicked()
        };
        if p.is_none() && v.is_empty() {
            return None;
        }
        let mut s = String::from("kernel checks failed:");
        if let Some(m) = p {
            s.push_str(&format!("\nkernel panicked: {m}"));
        }
        if !v.is_empty() {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            s.push_str(&format!("\nviolations:\n{}", list.join("\n")));
        }
        s.push_str(&format!("\n--- dmesg ---\n{}", self.dmesg()));
        Some(s)
    }
}
