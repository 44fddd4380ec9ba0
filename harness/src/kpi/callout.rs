// SPDX-License-Identifier: BSD-2-Clause
//! callout(9): the callouts of one kernel, their state and the rules of
//! scheduling, stopping and draining them. The softclock thread that runs
//! them is the kernel's (`crate::kernel`), since it calls module code
//! with the callout's lock held.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_timeout.c` (`callout_init`,
//! `_callout_init_lock` with its `KASSERT`s: only `CALLOUT_RETURNUNLOCKED`
//! and `CALLOUT_SHAREDLOCK`, `CALLOUT_RETURNUNLOCKED` only with a lock, no
//! sleepable lock; `callout_reset_sbt_on`: a running callout with a lock
//! is cancelled if it has not really started, a callout being drained is
//! not rescheduled, returns whether a pending one was cancelled;
//! `_callout_stop_safe`: `CS_DRAIN` waits for a running handler and
//! warns as WITNESS does for a sleep, a stop without drain of a callout
//! with a lock asserts the lock is held, a running callout waiting for
//! the lock the caller holds is cancelled (returns 1), returns 1 if a
//! pending callout was stopped, 0 if it is running, -1 if it was neither;
//! `softclock_call_cc`: the lock taken before the handler, the handler
//! skipped if it was cancelled meanwhile, `CALLOUT_PENDING` cleared
//! before the call, sleeping forbidden during it (`THREAD_NO_SLEEPING`),
//! the lock released after unless `CALLOUT_RETURNUNLOCKED`).
//!
//! Checks of ours, for what FreeBSD leaves undefined: `callout_reset` on a
//! callout never initialised, `callout_reset` of a `callout_init_mtx`
//! callout without its lock (callout(9): the lock must be held to change
//! the callout), draining a callout from its own handler (it would wait
//! for itself), and a callout still pending or running when the module
//! whose memory or code it uses is unloaded.
//!
//! The module's `struct callout` is kept meaningful (`c_iflags`'
//! `CALLOUT_PENDING`, `c_flags`' `CALLOUT_ACTIVE`, `c_func`, `c_arg`,
//! `c_time`), so `callout_pending()`, `callout_active()` and
//! `callout_deactivate()` work in module code; the wheel is a side table.

use crate::addr::{KAddr, KRange};
use crate::kpi::clock::Sbt;
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One callout the kernel knows.
struct Entry {
    /// `c_lock` (a `struct lock_object *`), null for an MP-safe callout.
    lock: KAddr,
    /// `CALLOUT_RETURNUNLOCKED`.
    return_unlocked: bool,
    /// When it fires and its order among equal times, if pending.
    pending: Option<(Sbt, u64)>,
    func: KAddr,
    arg: KAddr,
}

/// The callout the softclock thread is running (`cc_exec_entity`).
struct Current {
    c: KAddr,
    /// `cc_exec_cancel`: cancelled before its handler started, or (once
    /// the lock is taken) no longer stoppable.
    cancel: bool,
    /// `cc_exec_waiting`: a drain waits for it.
    waiting: bool,
    /// The softclock thread (`thread_key`).
    thread: usize,
}

#[derive(Default)]
struct State {
    table: HashMap<KAddr, Entry>,
    seq: u64,
    current: Option<Current>,
    stop: bool,
}

/// A callout due to run, as the softclock thread takes it.
pub(crate) struct Due {
    /// Its lock, or null.
    pub(crate) lock: KAddr,
    /// Whether the handler releases the lock itself.
    pub(crate) return_unlocked: bool,
    /// The handler and its argument.
    pub(crate) func: KAddr,
    pub(crate) arg: KAddr,
}

/// The callouts of one kernel.
#[derive(Default)]
pub(crate) struct Callouts {
    state: Mutex<State>,
    /// Signalled when a callout is scheduled, starts or finishes.
    cv: Condvar,
}

/// How long a waiter sleeps before looking at the kernel's health.
const POLL: Duration = Duration::from_millis(20);

/// `c_flags`/`c_iflags` of the module's callout.
fn flags(c: KAddr) -> (*mut i16, *mut i16) {
    let p = c.ptr::<sys::callout>();
    (
        // SAFETY: only the field addresses are computed.
        unsafe { &raw mut (*p).c_flags },
        // SAFETY: as above.
        unsafe { &raw mut (*p).c_iflags },
    )
}

/// Sets and clears bits of a flags word of the module's callout.
fn update(word: *mut i16, set: u32, clear: u32) {
    // CAST: the callout flags fit the `short` fields.
    let (set, clear) = (set as i16, clear as i16);
    // SAFETY: `word` is a field of a callout the kernel knows, which the
    // module keeps alive while it is initialised (its contract with
    // callout(9)); the module changes it only under the callout's lock
    // or when the callout is idle, as on FreeBSD.
    let old = unsafe { word.read() };
    // SAFETY: as above.
    unsafe { word.write((old & !clear) | set) };
}

impl Callouts {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    /// `callout_init` and `_callout_init_lock`: zeroes the module's
    /// callout and sets `c_lock` and `c_iflags` (`CALLOUT_RETURNUNLOCKED`,
    /// `CALLOUT_SHAREDLOCK`).
    pub(crate) fn init(&self, k: &Core, c: KAddr, lock: KAddr, iflags: u32) {
        let mut s = self.lock();
        if let Some(e) = s.table.get(&c) {
            let running = s.current.as_ref().is_some_and(|x| x.c == c);
            if e.pending.is_some() || running {
                k.violation(
                    ViolationKind::Sleep,
                    format!(
                        "callout_init: callout {c:#x} initialised again while pending or running"
                    ),
                );
            }
        }
        let p = c.ptr::<sys::callout>();
        // SAFETY: the module's `struct callout`, which callout_init
        // zeroes (`bzero(c, sizeof *c)`).
        unsafe { core::ptr::write_bytes(p, 0, 1) };
        // SAFETY: as above.
        let cr = unsafe { &mut *p };
        cr.c_lock = lock.ptr();
        // CAST: the two flags fit the `short`.
        cr.c_iflags = (iflags & (sys::CALLOUT_RETURNUNLOCKED | sys::CALLOUT_SHAREDLOCK)) as i16;
        s.table.insert(
            c,
            Entry {
                lock,
                return_unlocked: iflags & sys::CALLOUT_RETURNUNLOCKED != 0,
                pending: None,
                func: KAddr::NULL,
                arg: KAddr::NULL,
            },
        );
    }

    /// The lock of an initialised callout (`None`: not initialised).
    pub(crate) fn lock_of(&self, c: KAddr) -> Option<KAddr> {
        self.lock().table.get(&c).map(|e| e.lock)
    }

    /// `callout_reset_sbt_on` with the expiry already computed: returns
    /// 1 if a pending callout was rescheduled (or a running one
    /// cancelled), 0 otherwise; `None` if `c` was never initialised.
    pub(crate) fn reset(&self, c: KAddr, when: Sbt, func: KAddr, arg: KAddr) -> Option<i32> {
        let mut s = self.lock();
        let has_lock = !s.table.get(&c)?.lock.is_null();
        let mut cancelled = 0;
        if let Some(cur) = s.current.as_mut().filter(|x| x.c == c) {
            if has_lock && !cur.cancel {
                cur.cancel = true;
                cancelled = 1;
            }
            if cur.waiting {
                return Some(cancelled);
            }
        }
        s.seq += 1;
        let seq = s.seq;
        let e = s.table.get_mut(&c)?;
        if e.pending.is_some() {
            cancelled = 1;
        }
        e.pending = Some((when, seq));
        e.func = func;
        e.arg = arg;
        drop(s);
        let (fl, ifl) = flags(c);
        update(ifl, sys::CALLOUT_PENDING, 0);
        update(fl, sys::CALLOUT_ACTIVE, 0);
        let p = c.ptr::<sys::callout>();
        // SAFETY: as in `update`.
        unsafe { (*p).c_time = when };
        // SAFETY: `func` is the address of the module's handler, a C
        // function of `callout_func_t`'s type; an `Option<fn>` is a
        // pointer.
        let f = unsafe { core::mem::transmute::<usize, sys::callout_func_t>(func.get()) };
        // SAFETY: as in `update`.
        unsafe { (*p).c_func = f };
        // SAFETY: as in `update`.
        unsafe { (*p).c_arg = arg.ptr() };
        self.cv.notify_all();
        Some(cancelled)
    }

    /// `_callout_stop_safe`, after the caller's lock assertion: `drain`
    /// waits for a running handler; `use_lock` says the caller holds the
    /// callout's lock. Returns 1, 0 or -1 as kern_timeout.c; `None` if
    /// the kernel died while draining.
    pub(crate) fn stop(&self, k: &Core, c: KAddr, drain: bool, use_lock: bool) -> Option<i32> {
        let me = thread::thread_key();
        let (fl, ifl) = flags(c);
        let mut s = self.lock();
        let cancelled = loop {
            let Some(cur) = s.current.as_mut().filter(|x| x.c == c) else {
                break 1;
            };
            if drain {
                if cur.thread == me {
                    drop(s);
                    k.violation(
                        ViolationKind::Sleep,
                        format!("callout_drain: callout {c:#x} drained from its own handler (it would wait for itself)"),
                    );
                    return Some(0);
                }
                cur.waiting = true;
                if k.is_dead() {
                    return None;
                }
                s = wait_ignoring_poison(&self.cv, s, POLL);
                continue;
            }
            update(fl, 0, sys::CALLOUT_ACTIVE);
            if use_lock && !cur.cancel {
                cur.cancel = true;
                return Some(1);
            }
            break 0;
        };
        let running = s.current.as_ref().is_some_and(|x| x.c == c);
        let Some(e) = s.table.get_mut(&c) else {
            return Some(if running { cancelled } else { -1 });
        };
        if e.pending.is_none() {
            return Some(if running { cancelled } else { -1 });
        }
        e.pending = None;
        drop(s);
        update(ifl, 0, sys::CALLOUT_PENDING);
        update(fl, 0, sys::CALLOUT_ACTIVE);
        Some(cancelled)
    }

    /// The earliest expiry of a pending callout.
    pub(crate) fn next_deadline(&self) -> Option<Sbt> {
        self.lock()
            .table
            .values()
            .filter_map(|e| e.pending.map(|p| p.0))
            .min()
    }

    /// Pending callouts.
    pub(crate) fn pending(&self) -> usize {
        self.lock()
            .table
            .values()
            .filter(|e| e.pending.is_some())
            .count()
    }

    /// The softclock thread takes the earliest callout due at `now`, if
    /// any: it is no longer pending, and is now the running one.
    pub(crate) fn take_due(&self, now: Sbt) -> Option<Due> {
        let mut s = self.lock();
        let (&c, _) = s
            .table
            .iter()
            .filter(|(_, e)| e.pending.is_some_and(|p| p.0 <= now))
            .min_by_key(|(_, e)| e.pending)?;
        let e = s.table.get_mut(&c)?;
        e.pending = None;
        let due = Due {
            lock: e.lock,
            return_unlocked: e.return_unlocked,
            func: e.func,
            arg: e.arg,
        };
        s.current = Some(Current {
            c,
            cancel: false,
            waiting: false,
            thread: thread::thread_key(),
        });
        drop(s);
        update(flags(c).1, 0, sys::CALLOUT_PENDING);
        Some(due)
    }

    /// With the callout's lock taken: whether it was cancelled meanwhile
    /// (then the handler is skipped); otherwise it can no longer be
    /// stopped.
    pub(crate) fn cancelled_after_lock(&self) -> bool {
        let mut s = self.lock();
        match s.current.as_mut() {
            Some(cur) if cur.cancel => true,
            Some(cur) => {
                cur.cancel = true;
                false
            }
            None => true,
        }
    }

    /// The running callout finished.
    pub(crate) fn finish(&self) {
        self.lock().current = None;
        self.cv.notify_all();
    }

    /// Waits (for the softclock thread) until a callout may be due or
    /// `timeout` passes; returns `false` once the thread must stop.
    pub(crate) fn wait_for_work(&self, timeout: Duration) -> bool {
        let s = self.lock();
        if s.stop {
            return false;
        }
        let s = wait_ignoring_poison(&self.cv, s, timeout);
        !s.stop
    }

    /// Wakes the softclock thread (time moved).
    pub(crate) fn kick(&self) {
        let _s = self.lock();
        self.cv.notify_all();
    }

    /// Tells the softclock thread to stop.
    pub(crate) fn stop_thread(&self) {
        self.lock().stop = true;
        self.cv.notify_all();
    }

    /// Waits until no callout is due at `now` and none runs, at most
    /// `limit` of real time; `false` if that did not happen.
    pub(crate) fn wait_idle(&self, k: &Core, now: Sbt, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let mut s = self.lock();
        loop {
            let due = s
                .table
                .values()
                .any(|e| e.pending.is_some_and(|p| p.0 <= now));
            if !due && s.current.is_none() {
                return true;
            }
            if k.is_dead() || Instant::now() >= end {
                return false;
            }
            s = wait_ignoring_poison(&self.cv, s, POLL);
        }
    }

    /// Forgets the callouts whose structure or handler lies in `range`
    /// (a module being unloaded); reports those still pending or
    /// running, which would fire into unmapped memory.
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        self.forget(
            k,
            range,
            true,
            "when its module was unloaded (missing callout_drain)",
        );
    }

    /// Forgets the callouts whose structure lies in `range` (memory being
    /// freed); reports those still pending or running, which would fire
    /// from freed memory.
    pub(crate) fn forget_freed(&self, k: &Core, range: KRange) {
        self.forget(
            k,
            range,
            false,
            "when its memory was freed (missing callout_drain)",
        );
    }

    fn forget(&self, k: &Core, range: KRange, code_too: bool, why: &str) {
        let mut s = self.lock();
        let running = s.current.as_ref().map(|x| x.c);
        let gone: Vec<KAddr> = s
            .table
            .iter()
            .filter(|(c, e)| {
                range.contains(**c) || (code_too && !e.func.is_null() && range.contains(e.func))
            })
            .map(|(c, _)| *c)
            .collect();
        for c in gone {
            let Some(e) = s.table.remove(&c) else {
                continue;
            };
            if e.pending.is_some() || running == Some(c) {
                k.violation(
                    ViolationKind::Sleep,
                    format!(
                        "callout {c:#x} (handler {:#x}) still {} {why}",
                        e.func,
                        if e.pending.is_some() {
                            "pending"
                        } else {
                            "running"
                        }
                    ),
                );
            }
        }
    }
}
