// SPDX-License-Identifier: BSD-2-Clause
//! select(2)/poll(2) on devices: the records `selrecord` makes while a
//! poll scans its descriptors, `selwakeup` ending the wait of every
//! poller recorded on a `struct selinfo`, and `seldrain`.
//!
//! Followed (FreeBSD 15): `sys/kern/sys_generic.c` (`selrecord`: the
//! thread's record is added to the selinfo's list and `si_mtx` set on
//! first use, nothing is recorded during a rescan; `doselwakeup`, behind
//! `selwakeup`, `selwakeuppri` and `seldrain`: a selinfo never recorded
//! on (`si_mtx` NULL) has no waiters, otherwise every recorded thread is
//! marked pending and woken and the list emptied; `kern_poll`/`pollscan`:
//! a poll that finds nothing ready waits for a wakeup, its timeout or a
//! signal, then scans again without recording, and is never restarted
//! after a signal: `EINTR`).
//!
//! The records are kept here, per poll (a number the poll system call
//! takes with [`Select::begin`] and makes this thread's for its scans);
//! the module's `struct selinfo` is kept meaningful for `SEL_WAITING()`
//! (`si_tdlist` non-empty while pollers are recorded).

use crate::addr::{KAddr, KRange};
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use core::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

thread_local! {
    /// The poll this thread is scanning for (0: none, or a rescan).
    static SELECTOR: Cell<u64> = const { Cell::new(0) };
}

#[derive(Default)]
struct State {
    next: u64,
    /// selinfo -> the polls recorded on it.
    records: HashMap<KAddr, Vec<u64>>,
    /// Polls a selwakeup reached (`SELTD_PENDING`).
    pending: HashSet<u64>,
}

/// The select/poll state of one kernel.
#[derive(Default)]
pub(crate) struct Select {
    state: Mutex<State>,
    cv: Condvar,
}

/// Sets `si_tdlist` of the module's selinfo to say whether threads are
/// recorded (`SEL_WAITING`), and `si_mtx` to a non-NULL value once used.
fn mark(sip: KAddr, waiting: bool) {
    let p = sip.ptr::<sys::selinfo>();
    // SAFETY: the module's selinfo, which it keeps while devices use it
    // (selinfo(9)); only these fields are written, as selrecord and
    // doselwakeup do under the selinfo's mutex.
    let si = unsafe { &mut *p };
    if waiting {
        // Any non-NULL element: the module only compares with NULL.
        si.si_tdlist.tqh_first = p.cast();
        if si.si_mtx.is_null() {
            si.si_mtx = (&raw mut si.si_tdlist).cast();
        }
    } else {
        si.si_tdlist.tqh_first = core::ptr::null_mut();
        si.si_tdlist.tqh_last = &raw mut si.si_tdlist.tqh_first;
    }
}

impl Select {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    /// A new poll; its scans record for it while [`Select::scanning`].
    pub(crate) fn begin(&self) -> u64 {
        let mut s = self.lock();
        s.next += 1;
        s.next
    }

    /// Runs `f` (a scan) with `poll` as this thread's selector (0: a
    /// rescan, which records nothing).
    pub(crate) fn scanning<R>(poll: u64, f: impl FnOnce() -> R) -> R {
        let prev = SELECTOR.with(|c| c.replace(poll));
        let r = f();
        SELECTOR.with(|c| c.set(prev));
        r
    }

    /// `selrecord(9)` on `sip` by this thread.
    pub(crate) fn record(&self, sip: KAddr) {
        let poll = SELECTOR.with(Cell::get);
        if poll == 0 {
            return;
        }
        let mut s = self.lock();
        let v = s.records.entry(sip).or_default();
        if !v.contains(&poll) {
            v.push(poll);
        }
        drop(s);
        mark(sip, true);
    }

    /// `doselwakeup`: every poll recorded on `sip` becomes pending and
    /// wakes; the records go. Returns how many.
    pub(crate) fn wakeup(&self, sip: KAddr) -> usize {
        let mut s = self.lock();
        let Some(v) = s.records.remove(&sip) else {
            return 0;
        };
        let n = v.len();
        s.pending.extend(v);
        drop(s);
        mark(sip, false);
        self.cv.notify_all();
        n
    }

    /// Waits up to `slice` for a wakeup of `poll`; returns whether it is
    /// pending.
    pub(crate) fn wait(&self, poll: u64, slice: Duration) -> bool {
        let s = self.lock();
        if s.pending.contains(&poll) {
            return true;
        }
        let s = wait_ignoring_poison(&self.cv, s, slice);
        s.pending.contains(&poll)
    }

    /// The polls recorded on some selinfo now (waiting for a
    /// `selwakeup`).
    pub(crate) fn recorded(&self) -> usize {
        let s = self.lock();
        let polls: HashSet<u64> = s.records.values().flatten().copied().collect();
        polls.len()
    }

    /// Wakes every waiting poll to look at the clock and signals.
    pub(crate) fn notify(&self) {
        let _s = self.lock();
        self.cv.notify_all();
    }

    /// The poll is over (`seltdclear`): its records and its pending mark
    /// go.
    pub(crate) fn end(&self, poll: u64) {
        let mut s = self.lock();
        s.pending.remove(&poll);
        let mut emptied = Vec::new();
        for (sip, v) in &mut s.records {
            v.retain(|&p| p != poll);
            if v.is_empty() {
                emptied.push(*sip);
            }
        }
        for sip in &emptied {
            s.records.remove(sip);
        }
        drop(s);
        for sip in emptied {
            mark(sip, false);
        }
    }

    /// Reports selinfos in `range` (a module being unloaded) on which
    /// polls are still recorded: the module did not `seldrain` them.
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut s = self.lock();
        let stale: Vec<KAddr> = s
            .records
            .keys()
            .copied()
            .filter(|&a| range.contains(a))
            .collect();
        for sip in stale {
            if let Some(v) = s.records.remove(&sip) {
                s.pending.extend(v);
                k.violation(
                    ViolationKind::Sleep,
                    format!("selinfo {sip:#x} still has pollers when its module was unloaded (missing seldrain)"),
                );
            }
        }
        drop(s);
        self.cv.notify_all();
    }
}
