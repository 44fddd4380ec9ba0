// SPDX-License-Identifier: BSD-2-Clause
//! Fault injection by call order: "fail the n-th call that can fail".
//!
//! Every kernel interface that can fail in FreeBSD on a path a module
//! cannot control (memory, resources, names) asks [`Injector::fails`]
//! before doing its work, naming itself with an [`Injectable`]. A test
//! arms the injector ([`crate::Kernel::fail_injectable`]), runs a step
//! (a load, an attach), and reads back the calls made
//! ([`crate::Kernel::injectable_calls`]): with `n = 0` that is the list
//! of a clean run's failure points, and failing each `k` in `1..=len` in
//! turn covers every one of them, whatever their kinds and however many
//! a driver adds later. A new interface that can fail (MSI allocation,
//! `bus_dma` tags and memory) adds a variant and one call to
//! [`Injector::fails`]; the sweeps cover it with no change.
//!
//! Only failures FreeBSD can produce are injected: `M_NOWAIT`
//! allocations (an `M_WAITOK` `malloc` never returns NULL,
//! `sys/kern/kern_malloc.c`), `bus_alloc_resource(9)` (NULL when the
//! resource is unavailable), `bus_setup_intr(9)` (an errno from
//! `intr_event_add_handler`), `sysctl_add_oid(9)` (NULL on a name
//! clash, `sys/kern/kern_sysctl.c`), `make_dev_s(9)` with
//! `MAKEDEV_CHECKNAME` (`EEXIST` on a name clash, `make_dev_sv` in
//! `sys/kern/kern_conf.c`; without the flag a clash panics).
//!
//! This composes with the per-interface knobs (`set_malloc_failures`,
//! `fail_bus_alloc_resource`, `fail_bus_setup_intr`): a call fails if
//! either says so.

use crate::sync::lock_ignoring_poison;
use std::fmt;
use std::sync::Mutex;

/// A kernel call that [`crate::Kernel::fail_injectable`] can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Injectable {
    /// `malloc(9)` with `M_NOWAIT`: returns NULL.
    MallocNowait,
    /// `bus_alloc_resource(9)`: returns NULL.
    BusAllocResource,
    /// `bus_setup_intr(9)`: returns `ENOMEM`.
    BusSetupIntr,
    /// `sysctl_add_oid(9)`: returns NULL (as on a name clash).
    SysctlAddOid,
    /// `make_dev_s(9)` with `MAKEDEV_CHECKNAME`: `EEXIST` (the name is
    /// taken). Its `MAKEDEV_NOWAIT` allocation is a
    /// [`Injectable::MallocNowait`] of its own.
    MakeDevCheckname,
}

impl fmt::Display for Injectable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MallocNowait => "malloc(M_NOWAIT)",
            Self::BusAllocResource => "bus_alloc_resource",
            Self::BusSetupIntr => "bus_setup_intr",
            Self::SysctlAddOid => "sysctl_add_oid",
            Self::MakeDevCheckname => "make_dev_s(MAKEDEV_CHECKNAME)",
        })
    }
}

/// The most calls one armed run records (a run that makes more is not a
/// step; the count goes on, the list stops growing).
const LOG_MAX: usize = 100_000;

#[derive(Default)]
struct State {
    /// Counting since [`Injector::arm`].
    armed: bool,
    /// The call to fail (1: the first after arming); 0: none.
    fail_at: u64,
    /// The calls counted so far.
    count: u64,
    /// Their kinds, in order.
    log: Vec<Injectable>,
}

/// The injector of one kernel.
#[derive(Default)]
pub(crate) struct Injector {
    state: Mutex<State>,
}

impl Injector {
    /// Starts counting injectable calls from zero; the `n`-th fails
    /// (once); `n = 0` only counts.
    pub(crate) fn arm(&self, n: u64) {
        let mut s = lock_ignoring_poison(&self.state);
        *s = State {
            armed: true,
            fail_at: n,
            ..State::default()
        };
    }

    /// Stops counting; the calls made since [`Injector::arm`].
    pub(crate) fn disarm(&self) -> Vec<Injectable> {
        let mut s = lock_ignoring_poison(&self.state);
        s.armed = false;
        s.fail_at = 0;
        core::mem::take(&mut s.log)
    }

    /// Counts a call of `what`; whether it is to fail.
    pub(crate) fn fails(&self, what: Injectable) -> bool {
        let mut s = lock_ignoring_poison(&self.state);
        if !s.armed {
            return false;
        }
        s.count += 1;
        if s.log.len() < LOG_MAX {
            s.log.push(what);
        }
        s.fail_at != 0 && s.count == s.fail_at
    }
}
