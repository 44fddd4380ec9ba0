// SPDX-License-Identifier: BSD-2-Clause
//! `kselftest.ko`: kern's self-test. `/dev/kselftest` (root only, 0600)
//! runs one check of a kern rule per `KSELFTEST_RUN` ioctl, so that the
//! harness can show each rule holding on the built `.ko` where `rustecho`
//! and `hello` cannot reach it: malloc alignment, zeroing `realloc`,
//! collections under allocation failure, mutual exclusion of `sx` and
//! mutexes across threads, duplicate device names, the ioctl size check,
//! the panic handler, quiesce, and long lines of `println!`. It also has
//! a static sysctl tree (`kern::sysctl::SysctlTree`): `hw.kselftest.cases`
//! counts the cases run, `hw.kselftest.knob` is a tunable that accepts 1
//! to 100.
//!
//! ```text
//! # kldload ./build/kselftest.ko
//! kselftest: loaded, /dev/kselftest ready
//! # kldunload kselftest
//! kselftest: /dev/kselftest destroyed, unloaded
//! ```
//!
//! The ioctl interface is in `abi`, the device in `device`, the cases in
//! `cases`. Built on `kern`'s safe API only: this crate has no `unsafe`.
//! It is a test fixture, not something to load on a production system:
//! one of its cases panics the kernel on purpose.
#![no_std]
#![deny(unsafe_code)]

mod abi;
mod cases;
mod device;

use core::sync::atomic::{AtomicU64, Ordering};
use device::SelfTest;
use kern::cdev::{CdevOptions, GID_WHEEL, Registration, UID_ROOT};
use kern::prelude::*;
use kern::sysctl::{Parent, SysctlLeaf, SysctlTree, Tunable};

/// `hw.kselftest.cases`: `KSELFTEST_RUN` calls that ran a case.
static CASES: AtomicU64 = AtomicU64::new(0);

/// `hw.kselftest.knob`: a tunable with nothing behind it, 1 to 100.
static KNOB: Tunable = Tunable::new(50);

/// The leaves of `hw.kselftest`.
static SYSCTLS: [SysctlLeaf; 2] = [
    SysctlLeaf::counter(c"cases", c"Cases run", &CASES),
    SysctlLeaf::tunable(c"knob", c"A tunable, 1 to 100", &KNOB, |v| {
        (1..=100).contains(&v)
    }),
];

/// The leaves of `kselftest` under the other parents (`dev`, `kern`,
/// `debug`, `security`): the same counter, in a table that is a slice (its
/// length is not written down).
static OTHER_PARENTS: &[SysctlLeaf] = &[SysctlLeaf::counter(c"cases", c"Cases run", &CASES)];

/// Counts a case run (`hw.kselftest.cases`).
fn count_case() {
    CASES.fetch_add(1, Ordering::Relaxed);
}

/// The device node: `/dev/kselftest`, root:wheel 0600 (a case can panic
/// the kernel, so only root may open it).
const DEVICE: CdevOptions<'static> = CdevOptions::new(0o600, UID_ROOT, GID_WHEEL);

/// The module: the device, destroyed at unload before the last line is
/// printed, and the sysctl tree.
struct Kselftest {
    /// `None` only while `Drop` runs.
    dev: Option<Registration<SelfTest>>,
    _sysctl: SysctlTree,
    /// `kselftest` under `dev`, `kern`, `debug` and `security`.
    _parents: [SysctlTree; 4],
}

impl Module for Kselftest {
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let sysctl = SysctlTree::register_hw(c"kselftest", c"kern's self-test", &SYSCTLS, cx)?;
        let mut under = |parent| {
            SysctlTree::register(parent, c"kselftest", c"kern's self-test", OTHER_PARENTS, cx)
        };
        let parents = [
            under(Parent::Dev)?,
            under(Parent::Kern)?,
            under(Parent::Debug)?,
            under(Parent::Security)?,
        ];
        let state = SelfTest::new(cx);
        let dev = Registration::register(&DEVICE, state, cx)?;
        println!("loaded, /dev/kselftest ready");
        Ok(Kselftest {
            dev: Some(dev),
            _sysctl: sysctl,
            _parents: parents,
        })
    }

    /// Vetoes an unforced unload with `EBUSY` while `/dev/kselftest` is
    /// open.
    fn quiesce(&self) -> Result {
        match &self.dev {
            Some(dev) if dev.open_files() > 0 => Err(EBUSY),
            _ => Ok(()),
        }
    }
}

impl Drop for Kselftest {
    fn drop(&mut self) {
        // destroy_dev(9) first (it waits for threads in the methods and
        // runs the per-open destructors), then the line that says so.
        drop(self.dev.take());
        println!("/dev/kselftest destroyed, unloaded");
    }
}

kern::module! {
    type: Kselftest,
    name: "kselftest",
    version: 1,
}
