// SPDX-License-Identifier: BSD-2-Clause
//! The scenarios on `rustfifo.ko` (`fifo/`, manual `fifo/rustfifo.4`):
//! the same faults as on `rustecho.ko`, plus what a blocking FIFO adds
//! (sleepers, wakeups, poll and kqueue, the idle callout and task).
//!
//! | scenario | module |
//! | --- | --- |
//! | each `M_NOWAIT` allocation of load and I/O failing in turn | [`alloc`] |
//! | `EFAULT` at each byte of a write and a read | [`efault`] |
//! | bad ioctls, capacities and idle delays, `O_NONBLOCK` | [`input`] |
//! | 8+ threads: blocking, poll and kqueue readers and writers, checksummed streams, watchdog | [`stress`] (the stream format: [`stream`]) |
//! | every blocked reader and writer wakes; wakeup counts | [`wakeup`] |
//! | forced unload with sleepers, pollers and knotes | [`unload`] |
//! | load/unload cycles with blocking I/O, memory flat | [`soak`] |
//! | model-based fuzzing with blocked threads in the model | [`fuzz`] (the model: [`model`]) |
//!
//! What the scenarios know about the module is said once, here, from
//! the manual page: the device, the malloc type, the sysctl names and
//! limits, the wait messages of its sleepers.

pub mod alloc;
pub mod efault;
pub mod fuzz;
pub mod input;
pub mod model;
pub mod soak;
pub mod stream;
pub mod stress;
pub mod unload;
pub mod wakeup;

use crate::tally::Tally;
use harness::testing::module_path;
use harness::{Errno, Kernel, O_NONBLOCK, O_RDWR, SysctlValue};
use std::time::Duration;

/// The module's file name in the build directory.
pub const MODULE: &str = "rustfifo";
/// The device.
pub const DEV: &str = "/dev/rustfifo";
/// The device's name (`make_dev`'s, under `/dev`).
pub const DEV_NAME: &str = "rustfifo";
/// `MALLOC_DEFINE` under the module's name (`shim/module.c`).
pub const MALLOC_TYPE: &str = "rustfifo";
/// `hw.rustfifo.capacity` at load (rustfifo(4)).
pub const DEFAULT_CAPACITY: u64 = 64 * 1024;
/// The largest capacity (rustfifo(4)): 16 MiB.
pub const CAPACITY_MAX: u64 = 16 * 1024 * 1024;
/// The longest idle delay (rustfifo(4)): one hour.
pub const IDLE_MS_MAX: u64 = 3_600_000;
/// The wait message of a reader sleeping for data.
pub const READ_WAIT: &str = "fiford";
/// The wait message of a writer sleeping for room.
pub const WRITE_WAIT: &str = "fifowr";
/// How long a test waits for a thread to block or to finish before it
/// calls it a missed wakeup.
pub const WAIT: Duration = Duration::from_secs(20);

/// `poll(2)` events (`sys/poll.h`).
pub const POLLIN: i16 = 0x0001;
/// `POLLOUT`.
pub const POLLOUT: i16 = 0x0004;
/// `POLLHUP`.
pub const POLLHUP: i16 = 0x0010;
/// `POLLRDNORM`.
pub const POLLRDNORM: i16 = 0x0040;
/// `EVFILT_READ` (`sys/event.h`).
pub const EVFILT_READ: i16 = harness::freebsd::EVFILT_READ as i16;
/// `EVFILT_WRITE`.
pub const EVFILT_WRITE: i16 = harness::freebsd::EVFILT_WRITE as i16;
/// `EV_CLEAR`.
pub const EV_CLEAR: u16 = harness::freebsd::EV_CLEAR as u16;

/// The `hw.rustfifo` counters (rustfifo(4), "SYSCTL VARIABLES").
pub const COUNTERS: [&str; 9] = [
    "reads",
    "writes",
    "bytes_in",
    "bytes_out",
    "blocked_reads",
    "blocked_writes",
    "wakeups",
    "enomem",
    "idle_frees",
];

/// A fresh kernel with `rustfifo.ko` loaded, and its file id.
///
/// # Panics
/// If the module does not load.
#[must_use]
pub fn loaded(t: &Tally) -> (Kernel, i32) {
    let k = Kernel::new();
    let r = k.kldload(module_path(MODULE));
    t.op(&r);
    let id = r.unwrap_or_else(|e| panic!("kldload rustfifo.ko: {e:?}\n{}", k.dmesg()));
    (k, id)
}

/// A `hw.rustfifo` value.
///
/// # Panics
/// If it cannot be read as a number.
#[must_use]
pub fn sysctl(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(&format!("hw.rustfifo.{name}")) {
        Ok(SysctlValue::Uint(v)) => v,
        Ok(SysctlValue::Int(v)) => u64::try_from(v).unwrap_or(u64::MAX),
        r => panic!("hw.rustfifo.{name}: {r:?}"),
    }
}

/// Every counter, in [`COUNTERS`] order.
#[must_use]
pub fn counters(k: &Kernel) -> [u64; 9] {
    COUNTERS.map(|n| sysctl(k, n))
}

/// The counters that differ, as `name: before -> after`.
#[must_use]
pub fn counter_diff(before: &[u64; 9], after: &[u64; 9]) -> String {
    COUNTERS
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| format!("{n}: {a} -> {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Live allocations of the module's malloc type.
#[must_use]
pub fn live_allocs(k: &Kernel) -> u64 {
    k.malloc_stats(MALLOC_TYPE).map_or(0, |s| s.live_allocs)
}

/// `FIONREAD`: the bytes queued.
///
/// # Panics
/// If the ioctl fails.
#[must_use]
pub fn queued(k: &Kernel, fd: i32) -> usize {
    let mut arg = [0u8; 4];
    k.ioctl(fd, u64::from(harness::freebsd::FIONREAD), &mut arg)
        .unwrap_or_else(|e| panic!("FIONREAD: {e:?}"));
    usize::try_from(i32::from_ne_bytes(arg)).unwrap_or(0)
}

/// Everything queued, read through a non-blocking file of its own.
///
/// # Panics
/// If a read fails otherwise than with `EAGAIN` once empty.
#[must_use]
pub fn drain(k: &Kernel) -> Vec<u8> {
    let nb = k
        .open(DEV, O_RDWR | O_NONBLOCK)
        .unwrap_or_else(|e| panic!("open: {e:?}"));
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match k.read(nb, &mut buf) {
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e == Errno::EAGAIN => break,
            Err(e) => panic!("drain: read: {e:?}"),
        }
    }
    k.close(nb).unwrap_or_else(|e| panic!("close: {e:?}"));
    out
}

/// Unloads the module (unforced: every file must be closed), then moves
/// what the kernel recorded into the tally.
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

/// A xorshift step, for the scenarios' random choices.
pub fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}
