// SPDX-License-Identifier: BSD-2-Clause
//! `rustecho.ko`: the `/dev/rustmodule` echo device, `rustecho(4)`.
//!
//! A write stores its bytes as the message; a read returns the message.
//! It is the device of NCC Group's 2022 Rust proof of concept, done the
//! way a production driver must be: every failure is an errno, a write is
//! all or nothing, user-triggered allocations never sleep, memory is
//! bounded, and any number of readers and writers may run at once.
//!
//! ```text
//! # kldload ./build/rustecho.ko
//! rustecho: /dev/rustmodule created, messages up to 65536 bytes
//! # echo "hi rust" > /dev/rustmodule
//! # cat /dev/rustmodule
//! hi rust
//! # sysctl hw.rustecho.writes
//! hw.rustecho.writes: 1
//! # kldunload rustecho
//! ```
//!
//! The device (`device`) holds the message; this file loads the module:
//! the statistics and the `hw.rustecho` sysctl tree, then the device node.
//! The ioctl commands are in `ioctl`, and in `echo/include/rustecho.h`
//! for C. The manual page is `echo/rustecho.4`.
//!
//! Built on `kern`'s safe API only: this crate has no `unsafe`.
#![no_std]
#![deny(unsafe_code)]

mod device;
mod ioctl;

use core::sync::atomic::{AtomicU64, Ordering};
use device::Echo;
use kern::cdev::{CdevOptions, GID_WHEEL, Registration, UID_ROOT};
use kern::prelude::*;
use kern::sysctl::{SysctlLeaf, SysctlTree, Tunable};

/// The message at load.
const DEFAULT_MESSAGE: &[u8] = b"Default hello message\n";

/// `hw.rustecho.maxlen` at load: 64 KiB (the load message says so).
const DEFAULT_MAXLEN: u64 = 64 * 1024;

/// The largest value `hw.rustecho.maxlen` accepts: 16 MiB.
const MAXLEN_MAX: u64 = 16 * 1024 * 1024;

/// The device node: `/dev/rustmodule`, root:wheel 0660, as in the proof
/// of concept.
const DEVICE: CdevOptions<'static> =
    CdevOptions::new(0o660, UID_ROOT, GID_WHEEL).with_node(c"rustmodule");

/// The tunable and the counters of `hw.rustecho`.
pub(crate) struct Stats {
    /// `maxlen`: the longest write accepted, 1 to [`MAXLEN_MAX`].
    pub(crate) maxlen: Tunable,
    /// `opens`: successful opens.
    pub(crate) opens: AtomicU64,
    /// `reads`: successful reads (including those at the end).
    pub(crate) reads: AtomicU64,
    /// `writes`: successful writes (including empty ones).
    pub(crate) writes: AtomicU64,
    /// `bytes_in`: bytes stored by successful writes.
    pub(crate) bytes_in: AtomicU64,
    /// `bytes_out`: bytes returned by successful reads.
    pub(crate) bytes_out: AtomicU64,
    /// `enomem`: opens and writes that failed for want of memory.
    pub(crate) enomem: AtomicU64,
    /// `efbig`: writes longer than `maxlen`.
    pub(crate) efbig: AtomicU64,
    /// `efault`: reads and writes that failed on a bad user address.
    pub(crate) efault: AtomicU64,
}

/// The module's statistics, as C keeps them in a static structure: they
/// start at zero with each load (the module's data is loaded afresh).
pub(crate) static STATS: Stats = Stats {
    maxlen: Tunable::new(DEFAULT_MAXLEN),
    opens: AtomicU64::new(0),
    reads: AtomicU64::new(0),
    writes: AtomicU64::new(0),
    bytes_in: AtomicU64::new(0),
    bytes_out: AtomicU64::new(0),
    enomem: AtomicU64::new(0),
    efbig: AtomicU64::new(0),
    efault: AtomicU64::new(0),
};

impl Stats {
    /// `maxlen` as a size.
    pub(crate) fn limit(&self) -> usize {
        usize::try_from(self.maxlen.get()).unwrap_or(usize::MAX)
    }

    /// Adds `n` to a counter (wrapping, as the kernel's counters do).
    pub(crate) fn count(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts an error that has a counter. Out of line and cold: every
    /// I/O entry point reports its errors here, and they are rare.
    #[cold]
    #[inline(never)]
    pub(crate) fn failed(&self, e: Error) {
        let counter = match e {
            ENOMEM => &self.enomem,
            EFBIG => &self.efbig,
            EFAULT => &self.efault,
            _ => return,
        };
        Self::count(counter, 1);
    }
}

/// `hw.rustecho.maxlen` accepts 1 byte to 16 MiB. Lowering it does not
/// truncate the current message; it applies to the next write.
fn valid_maxlen(value: u64) -> bool {
    (1..=MAXLEN_MAX).contains(&value)
}

/// The leaves of `hw.rustecho`, in the order they are added.
static SYSCTLS: [SysctlLeaf; 9] = [
    SysctlLeaf::tunable(
        c"maxlen",
        c"Longest message in bytes (1 to 16777216)",
        &STATS.maxlen,
        valid_maxlen,
    ),
    SysctlLeaf::counter(c"opens", c"Successful opens", &STATS.opens),
    SysctlLeaf::counter(c"reads", c"Successful reads", &STATS.reads),
    SysctlLeaf::counter(c"writes", c"Successful writes", &STATS.writes),
    SysctlLeaf::counter(c"bytes_in", c"Bytes stored by writes", &STATS.bytes_in),
    SysctlLeaf::counter(c"bytes_out", c"Bytes returned by reads", &STATS.bytes_out),
    SysctlLeaf::counter(
        c"enomem",
        c"Opens and writes failed with ENOMEM",
        &STATS.enomem,
    ),
    SysctlLeaf::counter(c"efbig", c"Writes longer than maxlen (EFBIG)", &STATS.efbig),
    SysctlLeaf::counter(
        c"efault",
        c"Reads and writes failed with EFAULT",
        &STATS.efault,
    ),
];

/// The loaded module. Dropping it (`MOD_UNLOAD`) destroys the device
/// first (waiting for the threads inside it and closing its files), then
/// removes the sysctl nodes; the messages go with the last reference.
struct RustEcho {
    dev: Registration<Echo>,
    _sysctl: SysctlTree,
}

impl Module for RustEcho {
    /// Each step that fails undoes the ones before it (their values are
    /// dropped on the way out).
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let echo = Echo::new(DEFAULT_MESSAGE, cx);
        let sysctl = SysctlTree::register_hw(
            c"rustecho",
            c"rustecho(4): the /dev/rustmodule echo device",
            &SYSCTLS,
            cx,
        )?;
        // Last: once the node exists, everything it uses is ready.
        let dev = Registration::register_in_place(&DEVICE, echo, cx)?;
        // The kernel formats the number: no formatting machinery
        // (`core::fmt`) in the module.
        print::println_u64(
            "/dev/rustmodule created, messages up to ",
            DEFAULT_MAXLEN,
            " bytes",
        );
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
    type: RustEcho,
    name: "rustecho",
    version: 1,
}
