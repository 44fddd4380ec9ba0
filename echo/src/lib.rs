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
use kern::sysctl::{Counters, SysctlLeaf, SysctlTree, Tunable};

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
    /// The counters, in the order of [`COUNTER_TEXT`] (the accessors
    /// below name them): one sysctl table entry shows them all.
    counters: Counters<8>,
}

/// The counters' names and descriptions, in the order of their indices.
/// The descriptions are cecho's (`bench/c-echo/cecho.c`), word for word:
/// the twins describe the same counters, and compare like for like.
const COUNTER_TEXT: &[u8] = b"opens\0Opens\0\
    reads\0Reads\0\
    writes\0Messages written\0\
    bytes_in\0Bytes written\0\
    bytes_out\0Bytes read\0\
    enomem\0Operations failed with ENOMEM\0\
    efbig\0Writes failed with EFBIG\0\
    efault\0Transfers failed with EFAULT\0";

/// The module's statistics, as C keeps them in a static structure: they
/// start at zero with each load (the module's data is loaded afresh).
pub(crate) static STATS: Stats = Stats {
    maxlen: Tunable::new(DEFAULT_MAXLEN),
    counters: Counters::new(),
};

impl Stats {
    /// `opens`: successful opens.
    pub(crate) fn opens(&self) -> &AtomicU64 {
        self.counters.at::<0>()
    }

    /// `reads`: successful reads (including those at the end).
    pub(crate) fn reads(&self) -> &AtomicU64 {
        self.counters.at::<1>()
    }

    /// `writes`: successful writes (including empty ones).
    pub(crate) fn writes(&self) -> &AtomicU64 {
        self.counters.at::<2>()
    }

    /// `bytes_in`: bytes stored by successful writes.
    pub(crate) fn bytes_in(&self) -> &AtomicU64 {
        self.counters.at::<3>()
    }

    /// `bytes_out`: bytes returned by successful reads.
    pub(crate) fn bytes_out(&self) -> &AtomicU64 {
        self.counters.at::<4>()
    }

    /// `enomem`: opens and writes that failed for want of memory.
    fn enomem(&self) -> &AtomicU64 {
        self.counters.at::<5>()
    }

    /// `efbig`: writes longer than `maxlen`.
    fn efbig(&self) -> &AtomicU64 {
        self.counters.at::<6>()
    }

    /// `efault`: reads and writes that failed on a bad user address.
    fn efault(&self) -> &AtomicU64 {
        self.counters.at::<7>()
    }

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
            ENOMEM => self.enomem(),
            EFBIG => self.efbig(),
            EFAULT => self.efault(),
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
static SYSCTLS: [SysctlLeaf; 2] = [
    SysctlLeaf::tunable(
        c"maxlen",
        c"Longest message in bytes (1 to 16 MiB)",
        &STATS.maxlen,
        valid_maxlen,
    ),
    SysctlLeaf::counters(COUNTER_TEXT, &STATS.counters),
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
        kern::println_ju!(
            "/dev/rustmodule created, messages up to %ju bytes",
            DEFAULT_MAXLEN
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
