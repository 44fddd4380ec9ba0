// SPDX-License-Identifier: BSD-2-Clause
//! `rustfifo.ko`: `/dev/rustfifo`, a bounded in-kernel byte FIFO, the
//! pattern of serial and input drivers: readers sleep until data arrives,
//! writers sleep while it is full.
//!
//! ```text
//! # kldload ./build/rustfifo.ko
//! # echo hello > /dev/rustfifo
//! # dd if=/dev/rustfifo bs=6 count=1
//! hello
//! # sysctl hw.rustfifo
//! # kldunload rustfifo
//! ```
//!
//! * `write(2)` appends; it sleeps while the FIFO is full (`O_NONBLOCK`:
//!   `EAGAIN` if nothing fits, else a short write). A signal ends the sleep:
//!   the count written so far, or `EINTR`/`ERESTART` before any.
//! * `read(2)` returns up to the request from the oldest bytes; it sleeps
//!   while the FIFO is empty (`O_NONBLOCK`: `EAGAIN`).
//! * `ioctl(2)`: `FIONREAD` (bytes queued), `FIONBIO`, `FIOASYNC` (off).
//! * `hw.rustfifo.capacity` (1 byte to 16 MiB, default 64 KiB) and
//!   `hw.rustfifo.idle_ms` (default 1000, 0 for never), and counters.
//! * The storage grows with `M_NOWAIT` as bytes arrive (a failed growth
//!   is `ENOMEM`, and nothing queued is lost); once the FIFO has stayed
//!   empty, with no reader waiting, for `idle_ms`, a callout queues a
//!   task that frees it.
//! * Unloading is refused while a file is open; a forced unload wakes the
//!   sleepers (`d_purge`), which return `ENXIO`, and drains the callout
//!   and the task.
//!
//! The manual page is `fifo/rustfifo.4`; the tests are
//! `harness/tests/rustfifo*.rs`.
#![no_std]
#![deny(unsafe_code)]

mod device;

use core::sync::atomic::{AtomicU64, Ordering};
use device::Fifo;
use kern::cdev::{CdevOptions, GID_WHEEL, Registration, UID_ROOT};
use kern::prelude::*;
use kern::sysctl::{Counters, SysctlLeaf, SysctlTree, Tunable};

/// `hw.rustfifo.capacity` at load: 64 KiB.
const DEFAULT_CAPACITY: u64 = 64 * 1024;

/// The largest capacity: 16 MiB.
const CAPACITY_MAX: u64 = 16 * 1024 * 1024;

/// `hw.rustfifo.idle_ms` at load: one second.
const DEFAULT_IDLE_MS: u64 = 1000;

/// The longest idle delay accepted: one hour.
const IDLE_MS_MAX: u64 = 3_600_000;

/// `/dev/rustfifo`, root:wheel 0666.
const DEVICE: CdevOptions<'static> = CdevOptions::new(0o666, UID_ROOT, GID_WHEEL);

/// The tunables and counters of `hw.rustfifo`.
pub(crate) struct Stats {
    /// `capacity`: the most bytes queued, 1 to [`CAPACITY_MAX`].
    capacity: Tunable,
    /// `idle_ms`: how long the FIFO stays empty before its storage is
    /// freed; 0 for never.
    idle_ms: Tunable,
    /// The counters, in the order of [`COUNTER_TEXT`] (the accessors
    /// below name them): one sysctl table entry shows them all.
    counters: Counters<9>,
}

/// The counters' names and descriptions, in the order of their indices.
const COUNTER_TEXT: &[u8] = b"reads\0Successful reads\0\
    writes\0Successful writes\0\
    bytes_in\0Bytes queued by writes\0\
    bytes_out\0Bytes returned by reads\0\
    blocked_reads\0Reads that slept for data\0\
    blocked_writes\0Writes that slept for space\0\
    wakeups\0Wakeups of readers or writers\0\
    enomem\0Calls failed with ENOMEM\0\
    idle_frees\0Storage freed after idling\0";

/// The module's statistics; zero at each load.
pub(crate) static STATS: Stats = Stats {
    capacity: Tunable::new(DEFAULT_CAPACITY),
    idle_ms: Tunable::new(DEFAULT_IDLE_MS),
    counters: Counters::new(),
};

impl Stats {
    /// `reads`: successful reads.
    pub(crate) fn reads(&self) -> &AtomicU64 {
        self.counters.at::<0>()
    }

    /// `writes`: successful writes.
    pub(crate) fn writes(&self) -> &AtomicU64 {
        self.counters.at::<1>()
    }

    /// `bytes_in`: bytes queued by writes.
    pub(crate) fn bytes_in(&self) -> &AtomicU64 {
        self.counters.at::<2>()
    }

    /// `bytes_out`: bytes returned by reads.
    pub(crate) fn bytes_out(&self) -> &AtomicU64 {
        self.counters.at::<3>()
    }

    /// `blocked_reads`: reads that slept for data.
    pub(crate) fn blocked_reads(&self) -> &AtomicU64 {
        self.counters.at::<4>()
    }

    /// `blocked_writes`: writes that slept for space.
    pub(crate) fn blocked_writes(&self) -> &AtomicU64 {
        self.counters.at::<5>()
    }

    /// `wakeups`: wakeups of readers or writers.
    pub(crate) fn wakeups(&self) -> &AtomicU64 {
        self.counters.at::<6>()
    }

    /// `enomem`: calls that failed for want of memory.
    pub(crate) fn enomem(&self) -> &AtomicU64 {
        self.counters.at::<7>()
    }

    /// `idle_frees`: storage freed after idling.
    pub(crate) fn idle_frees(&self) -> &AtomicU64 {
        self.counters.at::<8>()
    }

    /// `capacity` as a size.
    pub(crate) fn capacity(&self) -> usize {
        usize::try_from(self.capacity.get()).unwrap_or(usize::MAX)
    }

    /// `idle_ms` as a callout delay.
    pub(crate) fn idle_ms(&self) -> u32 {
        u32::try_from(self.idle_ms.get()).unwrap_or(u32::MAX)
    }

    /// Adds `n` to a counter (wrapping, as the kernel's counters do).
    pub(crate) fn count(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts an error that has a counter.
    pub(crate) fn failed(&self, e: Error) {
        if e == ENOMEM {
            Self::count(self.enomem(), 1);
        }
    }
}

/// `hw.rustfifo.capacity` accepts 1 byte to 16 MiB; lowering it keeps
/// what is queued.
fn valid_capacity(value: u64) -> bool {
    (1..=CAPACITY_MAX).contains(&value)
}

/// `hw.rustfifo.idle_ms` accepts 0 (never) to one hour.
fn valid_idle_ms(value: u64) -> bool {
    value <= IDLE_MS_MAX
}

/// The leaves of `hw.rustfifo`, in the order they are added.
static SYSCTLS: [SysctlLeaf; 3] = [
    SysctlLeaf::tunable(
        c"capacity",
        c"Most bytes queued (1 to 16777216)",
        &STATS.capacity,
        valid_capacity,
    ),
    SysctlLeaf::tunable(
        c"idle_ms",
        c"Milliseconds empty before the storage is freed (0: never)",
        &STATS.idle_ms,
        valid_idle_ms,
    ),
    SysctlLeaf::counters(COUNTER_TEXT, &STATS.counters),
];

/// The loaded module. Dropping it destroys the device first (waking its
/// sleepers, waiting for the threads inside it), then removes the sysctl
/// nodes; the device's state, with its callout and task (drained), goes
/// with the last reference.
struct RustFifo {
    dev: Registration<Fifo>,
    _sysctl: SysctlTree,
}

impl Module for RustFifo {
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let fifo = Fifo::new(cx)?;
        let sysctl = SysctlTree::register_hw(
            c"rustfifo",
            c"rustfifo(4): the /dev/rustfifo byte FIFO",
            &SYSCTLS,
            cx,
        )?;
        let dev = Registration::register_in_place(&DEVICE, fifo, cx)?;
        Ok(Self {
            dev,
            _sysctl: sysctl,
        })
    }

    /// Refuses an unforced unload while a file is open.
    fn quiesce(&self) -> Result {
        self.dev.quiesce()
    }
}

kern::module! {
    type: RustFifo,
    name: "rustfifo",
    version: 1,
}
