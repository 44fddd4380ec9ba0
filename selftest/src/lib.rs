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
//! to 100, and `answer` (`int`), `level` (`int` tunable), `version`
//! (constant string), `mode` (string tunable) and `level2` (a custom
//! handler) show the other kinds of leaf; `knob`, `level` and `mode` are
//! loader tunables. `/dev/kselftest_null` is a device without per-open
//! state, whose last closes `hw.kselftest.last_closes` counts.
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
mod nulldev;

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use device::SelfTest;
use kern::cdev::{CdevOptions, GID_WHEEL, Registration, UID_ROOT};
use kern::prelude::*;
use kern::sysctl::{
    IntTunable, Parent, StringTunable, SysctlLeaf, SysctlReq, SysctlTree, SysctlType, Tunable,
};

/// `hw.kselftest.cases`: `KSELFTEST_RUN` calls that ran a case.
static CASES: AtomicU64 = AtomicU64::new(0);

/// `hw.kselftest.knob`: a tunable with nothing behind it, 1 to 100; a
/// loader tunable too (`kenv hw.kselftest.knob=N` before the load).
static KNOB: Tunable = Tunable::new(50);

/// `hw.kselftest.answer`: a read-only `int`, 42.
static ANSWER: AtomicI32 = AtomicI32::new(42);

/// `hw.kselftest.level`: an `int` loader tunable, -5 to 5.
static LEVEL: IntTunable = IntTunable::new(0);

/// `hw.kselftest.mode`: a string loader tunable, `fast` or `safe`.
static MODE: StringTunable<8> = StringTunable::new(b"fast");

/// `hw.kselftest.level2`: twice `level`, computed by a handler; writing
/// it sets `level` to half the value (which must be even).
fn level2(req: &mut SysctlReq<'_>) -> Result {
    let mut v = LEVEL.get().saturating_mul(2);
    req.handle_int(&mut v)?;
    if req.has_new() {
        if v % 2 != 0 || !valid_level(v / 2) {
            return Err(EINVAL);
        }
        LEVEL.set(v / 2);
    }
    Ok(())
}

/// What `hw.kselftest.level` accepts.
fn valid_level(v: i32) -> bool {
    (-5..=5).contains(&v)
}

/// The leaves of `hw.kselftest`: one of each kind kern offers.
static SYSCTLS: &[SysctlLeaf] = &[
    SysctlLeaf::counter(c"cases", c"Cases run", &CASES),
    SysctlLeaf::tunable(c"knob", c"A tunable, 1 to 100", &KNOB, |v| {
        (1..=100).contains(&v)
    })
    .loader_tunable(),
    SysctlLeaf::int(c"answer", c"A read-only int", &ANSWER),
    SysctlLeaf::int_tunable(c"level", c"An int tunable, -5 to 5", &LEVEL, valid_level)
        .loader_tunable(),
    SysctlLeaf::string(c"version", c"A constant string", c"1.0"),
    SysctlLeaf::string_tunable(c"mode", c"fast or safe", &MODE, |s| {
        s == b"fast" || s == b"safe"
    })
    .loader_tunable(),
    SysctlLeaf::handler(c"level2", c"Twice level", SysctlType::Int, true, level2),
    SysctlLeaf::counter(
        c"last_closes",
        c"Last closes of /dev/kselftest_null",
        &nulldev::LAST_CLOSES,
    ),
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

/// `/dev/kselftest_null`, root:wheel 0666.
const NULL_DEVICE: CdevOptions<'static> = CdevOptions::new(0o666, UID_ROOT, GID_WHEEL);

/// The module: the device, destroyed at unload before the last line is
/// printed, and the sysctl tree.
struct Kselftest {
    /// `None` only while `Drop` runs.
    dev: Option<Registration<SelfTest>>,
    /// `/dev/kselftest_null`, destroyed before the sysctl tree.
    _null: Registration<nulldev::NullDev>,
    _sysctl: SysctlTree,
    /// `kselftest` under `dev`, `kern`, `debug` and `security`.
    _parents: [SysctlTree; 4],
}

impl Module for Kselftest {
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let sysctl = SysctlTree::register_hw(c"kselftest", c"kern's self-test", SYSCTLS, cx)?;
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
        let null = Registration::register(&NULL_DEVICE, nulldev::NullDev, cx)?;
        let dev = Registration::register(&DEVICE, state, cx)?;
        println!("loaded, /dev/kselftest ready");
        Ok(Kselftest {
            dev: Some(dev),
            _null: null,
            _sysctl: sysctl,
            _parents: parents,
        })
    }

    /// Vetoes an unforced unload with `EBUSY` while `/dev/kselftest` is
    /// open.
    fn quiesce(&self) -> Result {
        self.dev.as_ref().map_or(Ok(()), Registration::quiesce)
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
