// SPDX-License-Identifier: BSD-2-Clause
//! The scenarios on `rustedu.ko` (`edu/`), the newbus PCI driver for
//! QEMU's edu device, against the edu model on the test kernel's `pci0`.
//!
//! | scenario | module |
//! | --- | --- |
//! | each injectable call of attach failing in turn, then a working attach | [`attach`] |
//! | interrupt storms from other threads and stray interrupts during factorials; exact counts | [`storm`] |
//! | interrupts raised while the module unloads | [`unload`] |
//! | random sysctl writes, hangs, raises, strays, reloads; the model checks every register access | [`fuzz`] |
//! | attach/detach (load/unload) cycles with a factorial each; nothing kept | [`soak`] |
//!
//! What the scenarios know about the driver is said once, here: its
//! module, its sysctl node and leaves ([`FACTORIAL`], [`RESULT`], the
//! counters), the largest n; a renamed leaf is one line to change.
//!
//! The factorial writer is changing (a sleeping, queued writer with a
//! timeout is coming): today a write while another computation runs is
//! refused, and the handler's refusal (any reason) is `EINVAL`, the
//! tunable's validation failing. [`concurrent_write_ok`] says which
//! errors a write of a valid n may return while others write; where the
//! queued writer tightens that, it says so.

pub mod attach;
pub mod fuzz;
pub mod soak;
pub mod storm;
pub mod unload;

use crate::tally::Tally;
use harness::testing::module_path;
use harness::{Errno, Error, Kernel, SysctlValue};
use std::time::{Duration, Instant};

/// The module's file name in the build directory.
pub const MODULE: &str = "rustedu";
/// The driver's sysctl node under `dev`.
pub const DRIVER: &str = "rustedu";
/// The malloc type (`MALLOC_DEFINE` under the module's name).
pub const MALLOC_TYPE: &str = "rustedu";
/// The largest n the driver takes (13! does not fit 32 bits).
pub const MAX_N: u64 = 12;
/// `dev.rustedu.<unit>.factorial`: write n to compute n!.
pub const FACTORIAL: &str = "factorial";
/// `result`: the last n! computed.
pub const RESULT: &str = "result";
/// `timeouts`: computations the device never finished.
pub const TIMEOUTS: &str = "timeouts";
/// `interrupts`: interrupts the filter acknowledged.
pub const INTERRUPTS: &str = "interrupts";
/// `stray`: filter calls that found the status clear.
pub const STRAY: &str = "stray";
/// `completions`: completions the ithread handler counted.
pub const COMPLETIONS: &str = "completions";
/// How long a check waits for the interrupt thread before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// `dev.rustedu.<unit>.<leaf>`.
#[must_use]
pub fn leaf(unit: u32, leaf: &str) -> String {
    format!("dev.{DRIVER}.{unit}.{leaf}")
}

/// A `dev.rustedu.<unit>` counter.
///
/// # Panics
/// If it cannot be read as a number.
#[must_use]
pub fn uint(k: &Kernel, unit: u32, name: &str) -> u64 {
    match k.sysctl_get(&leaf(unit, name)) {
        Ok(SysctlValue::Uint(v)) => v,
        Ok(SysctlValue::Int(v)) => u64::try_from(v).unwrap_or(u64::MAX),
        r => panic!("{}: {r:?}", leaf(unit, name)),
    }
}

/// n! for n up to [`MAX_N`].
#[must_use]
pub fn factorial(n: u64) -> u64 {
    (1..=n).product()
}

/// Writes n to `factorial` from another thread while this one lets
/// virtual time pass whenever the writer sleeps with a timeout (a hung
/// device: the driver's waits are timed, and the test kernel's clock only
/// moves when told).
pub fn write_factorial_timed(t: &Tally, k: &Kernel, unit: u32, n: u64) -> Result<(), Error> {
    std::thread::scope(|s| {
        let h = s.spawn(|| write_factorial(t, k, unit, n));
        while !h.is_finished() {
            if k.sleepers().iter().any(|z| z.timed) {
                k.advance_clock(Duration::from_millis(250));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Writes n to `factorial` (an operation of the tally).
pub fn write_factorial(t: &Tally, k: &Kernel, unit: u32, n: u64) -> Result<(), Error> {
    let r = k.sysctl_set(&leaf(unit, FACTORIAL), &n.to_string());
    t.op(&r);
    r
}

/// Whether `r`, a write of a valid n made while other threads write too
/// (or the device is hung), is one the driver may return today: done,
/// or refused because another computation runs or the device timed out
/// (`EINVAL`: the tunable's validation refuses; `EBUSY` and `ETIMEDOUT`:
/// what the queued writer will say). With the queued writer, only a
/// hung device may refuse (`ETIMEDOUT`), and this is to tighten to that.
#[must_use]
pub fn concurrent_write_ok(r: &Result<(), Error>) -> bool {
    match r {
        Ok(()) => true,
        Err(e) => [Errno::EINVAL, Errno::EBUSY, Errno::ETIMEDOUT, Errno::EIO]
            .iter()
            .any(|x| e == x),
    }
}

/// A fresh kernel with one edu device on `pci0`, and its slot.
#[must_use]
pub fn kernel() -> (Kernel, u8) {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    (k, slot)
}

/// Loads `rustedu.ko`; its file id.
///
/// # Panics
/// If it does not load.
pub fn load(t: &Tally, k: &Kernel) -> i32 {
    let r = k.kldload(module_path(MODULE));
    t.op(&r);
    r.unwrap_or_else(|e| panic!("kldload rustedu.ko: {e:?}\n{}", k.dmesg()))
}

/// Whether `rustedu<unit>` is attached.
#[must_use]
pub fn attached(k: &Kernel, unit: u32) -> bool {
    let name = format!("{DRIVER}{unit}");
    k.pci_devices()
        .iter()
        .any(|d| d.name.as_deref() == Some(name.as_str()))
}

/// Computes n! on unit 0 and checks the result.
///
/// # Panics
/// If the write fails or the result is wrong.
pub fn check_works(t: &Tally, k: &Kernel, n: u64, what: &str) {
    write_factorial(t, k, 0, n)
        .unwrap_or_else(|e| panic!("{what}: factorial={n}: {e:?}\n{}", k.dmesg()));
    assert_eq!(uint(k, 0, RESULT), factorial(n), "{what}: {n}!");
}

/// Waits (up to [`WAIT`]) until `f` holds.
///
/// # Panics
/// If it never does.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < end, "never: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// What an unloaded (or unattached) driver must leave as it was: the
/// kernel's own live allocations, the devices' resources and drivers, the
/// `dev` sysctl nodes, the loaded files.
#[derive(Debug, PartialEq, Eq)]
pub struct World {
    /// Live allocations and bytes of every malloc type but the module's.
    pub kernel_allocs: Vec<(String, u64, u64)>,
    /// Each device: its driver's name and the resources it holds.
    pub devices: Vec<(Option<String>, usize)>,
    /// `dev`'s children.
    pub dev_nodes: Vec<String>,
    /// Files loaded.
    pub files: usize,
}

impl World {
    /// Captures it.
    #[must_use]
    pub fn capture(k: &Kernel) -> Self {
        let mut dev_nodes = k.sysctl_children("dev").unwrap_or_default();
        dev_nodes.sort();
        Self {
            kernel_allocs: k
                .malloc_types()
                .into_iter()
                .filter(|t| t.name != MALLOC_TYPE)
                .map(|t| (t.name, t.live_allocs, t.live_bytes))
                .collect(),
            devices: k
                .pci_devices()
                .into_iter()
                .map(|d| (d.name, d.resources))
                .collect(),
            dev_nodes,
            files: k.kldstat().len(),
        }
    }
}

/// Live allocations of the module's malloc type (0 when it is gone).
#[must_use]
pub fn live_allocs(k: &Kernel) -> u64 {
    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_allocs)
}

/// Unloads the module (unforced), then moves what the kernel recorded
/// into the tally.
///
/// # Panics
/// If the unload fails, or the kernel recorded a violation, a leak or a
/// panic.
pub fn finish(t: &Tally, k: &Kernel, id: i32) {
    let r = k.kldunload(id, false);
    t.op(&r);
    r.unwrap_or_else(|e| panic!("kldunload: {e:?}\n{}", k.dmesg()));
    absorb(t, k);
}

/// Moves what the kernel recorded into the tally, and fails if anything
/// was.
///
/// # Panics
/// If the kernel recorded a violation, a leak or a panic.
pub fn absorb(t: &Tally, k: &Kernel) {
    let v = t.absorb_kernel(k);
    assert!(v.is_empty(), "the kernel recorded: {}", v.join("; "));
}
