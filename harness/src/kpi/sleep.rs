// SPDX-License-Identifier: BSD-2-Clause
//! Sleep queues and signals: what `_sleep` (msleep(9), tsleep(9),
//! sx_sleep), `wakeup(9)` and condvar(9) block on.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_synch.c` (`_sleep`, `wakeup`,
//! `wakeup_one`, `wakeup_any`), `sys/kern/subr_sleepqueue.c`
//! (`sleepq_add`, `sleepq_catch_signals`: a signal already pending
//! interrupts a `PCATCH` sleep before it blocks; `sleepq_timedwait`:
//! `EWOULDBLOCK`; `sleepq_signal` wakes one, `SLEEPQ_UNFAIR` the most
//! recent; `sleepq_broadcast` all; wait channels of a condition variable
//! and of `wakeup` are separate queue types), and `sys/kern/kern_sig.c`
//! (`cursig`, and the choice between `EINTR` and `ERESTART`: `ERESTART`
//! when the signal's handler was installed with `SA_RESTART`).
//!
//! A sleeper is a real host thread blocked here. Each sleep is entered
//! in the queue *before* its caller releases the interlock (as
//! `sleepq_add` precedes `lc_unlock` in `_sleep`), so a wakeup issued
//! under the interlock cannot be lost. A timed sleep ends when the
//! kernel's clock reaches its deadline: the virtual clock moves only when
//! the test lets time pass, and [`SleepQueues::notify`] then makes every
//! sleeper look at the clock again.
//!
//! Lost wakeups. `sleepq_add` asserts (`MPASS`, `INVARIANTS`) that every
//! sleeper of a wait channel names the same interlock and queue type as
//! the one that created its sleep queue: [`SleepQueues::add`] refuses
//! another ([`Mismatch`]). A wakeup that finds no sleeper is kept (the
//! last few per channel, with the function that issued it and the locks
//! it held), so that [`SleepQueues::report`] can say, for each thread
//! still asleep, which wakeups on its channel came before it slept: the
//! trace a lost wakeup leaves. Whether one was lost cannot be decided
//! here: that depends on whether the sleeper tested its condition under
//! the interlock, a read the test kernel does not see. So it is a
//! diagnostic for a watchdog, never a violation.
//!
//! Signals: a test posts one to a host thread that is inside a system
//! call ([`SleepQueues::post_signal`]). It interrupts the thread's
//! current or next `PCATCH` sleep in that call, and is delivered (gone)
//! when the call returns to user space; posted to a thread outside the
//! kernel, it is delivered at once and changes nothing here. Thread
//! priorities are not modelled: `wakeup_one` wakes the oldest sleeper.

use crate::addr::KAddr;
use crate::errno::Errno;
use crate::kpi::clock::{Clock, Sbt};
use crate::state::Core;
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread::Panicked;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Duration;

/// The queue type of a sleep (`SLEEPQ_SLEEP`, `SLEEPQ_CONDVAR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueKind {
    /// `_sleep`, woken by `wakeup`.
    Sleep,
    /// `cv_wait`, woken by `cv_signal`/`cv_broadcast`.
    Condvar,
}

/// Why a sleep ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Woken {
    Wakeup,
    Timeout,
    /// A signal; `true` if its handler restarts system calls.
    Signal(bool),
}

/// One sleeping thread.
struct Sleeper {
    id: u64,
    chan: KAddr,
    kind: QueueKind,
    /// The interlock (`sq_lock`), or null.
    lock: KAddr,
    thread: ThreadId,
    wmesg: String,
    interruptible: bool,
    deadline: Option<Sbt>,
    woken: Option<Woken>,
}

/// A thread blocked in the kernel, as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SleepInfo {
    /// The host thread.
    pub thread: ThreadId,
    /// The wait message (`wmesg`, the condition variable's description).
    pub wmesg: String,
    /// Whether a signal interrupts the sleep (`PCATCH`, `cv_wait_sig`).
    pub interruptible: bool,
    /// Whether the sleep has a timeout.
    pub timed: bool,
}

/// A wakeup that found no sleeper on its channel.
#[derive(Clone, Debug)]
struct Missed {
    /// When, on the sequence of sleeps and missed wakeups.
    id: u64,
    /// The function ("wakeup", "cv_signal").
    what: &'static str,
    kind: QueueKind,
    /// Who called it (`function+0xoff`), if known.
    by: String,
    /// The locks the caller held: address and description.
    held: Vec<(KAddr, String)>,
}

/// What keeps a sleep out of a channel's queue (`sleepq_add`'s `MPASS`):
/// the interlock and queue type its sleepers already use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The interlock of the sleepers already there (`sq_lock`).
    pub(crate) lock: KAddr,
    /// Their queue type (`sq_type`).
    pub(crate) kind: QueueKind,
}

/// Missed wakeups kept per channel.
const MISSED_PER_CHAN: usize = 4;
/// Channels with missed wakeups kept (then the oldest records go).
const MISSED_CHANS: usize = 1024;

#[derive(Default)]
struct State {
    next_id: u64,
    /// Recent wakeups that found no sleeper, per channel.
    missed: HashMap<KAddr, Vec<Missed>>,
    /// Sleepers, oldest first.
    sleepers: Vec<Sleeper>,
    /// Threads inside a system call: nesting depth.
    in_kernel: HashMap<ThreadId, u32>,
    /// Signals posted and not yet delivered: whether each restarts.
    pending: HashMap<ThreadId, bool>,
    /// Wakeups that woke at least one thread, for statistics.
    wakeups: u64,
}

/// A sleep entered in the queue and not yet waited for.
#[must_use = "a sleep must be waited for or abandoned"]
pub(crate) struct Ticket(u64);

/// The sleep queues of one kernel.
#[derive(Default)]
pub(crate) struct SleepQueues {
    state: Mutex<State>,
    /// Signalled on every wakeup, signal and clock movement; sleepers
    /// check their own entry.
    cv: Condvar,
}

/// How long a sleeper waits before looking at the clock and the kernel's
/// health again.
const POLL: Duration = Duration::from_millis(20);

impl SleepQueues {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    /// Enters this thread in the queue of `chan` (`sleepq_add`), with
    /// interlock `lock` (or null). A `PCATCH` sleep with a signal already
    /// pending does not block: the ticket's wait returns at once.
    ///
    /// # Errors
    /// The channel's sleepers (those still asleep at `now`) use another
    /// interlock or queue type: `sleepq_add`'s `MPASS(lock ==
    /// sq->sq_lock)` and `MPASS((flags & SLEEPQ_TYPE) == sq->sq_type)`
    /// (`sys/kern/subr_sleepqueue.c`).
    #[allow(clippy::too_many_arguments, reason = "sleepq_add's own")]
    pub(crate) fn add(
        &self,
        chan: KAddr,
        lock: KAddr,
        kind: QueueKind,
        wmesg: &str,
        interruptible: bool,
        deadline: Option<Sbt>,
        now: Sbt,
    ) -> Result<Ticket, Mismatch> {
        let me = std::thread::current().id();
        let mut s = self.lock();
        if let Some(x) = s
            .sleepers
            .iter()
            .find(|x| x.chan == chan && x.woken.is_none() && x.deadline.is_none_or(|d| now < d))
            && (x.lock != lock || x.kind != kind)
        {
            return Err(Mismatch {
                lock: x.lock,
                kind: x.kind,
            });
        }
        s.next_id += 1;
        let id = s.next_id;
        let woken = if interruptible {
            s.pending.get(&me).map(|&r| Woken::Signal(r))
        } else {
            None
        };
        s.sleepers.push(Sleeper {
            id,
            chan,
            kind,
            lock,
            thread: me,
            wmesg: wmesg.to_owned(),
            interruptible,
            deadline,
            woken,
        });
        Ok(Ticket(id))
    }

    /// Blocks until the sleep of `t` ends: 0 after a wakeup,
    /// `EWOULDBLOCK` when `clock` reaches its deadline, `EINTR` or
    /// `ERESTART` after a signal.
    ///
    /// # Errors
    /// `Panicked` if the kernel died meanwhile.
    pub(crate) fn wait(&self, k: &Core, clock: &Clock, t: Ticket) -> Result<i32, Panicked> {
        let mut s = self.lock();
        let r = loop {
            let Some(i) = s.sleepers.iter().position(|x| x.id == t.0) else {
                break Some(Woken::Wakeup);
            };
            if k.is_dead() {
                s.sleepers.remove(i);
                break None;
            }
            let me = &mut s.sleepers[i];
            if me.woken.is_none() && me.deadline.is_some_and(|d| clock.now() >= d) {
                me.woken = Some(Woken::Timeout);
            }
            if let Some(w) = me.woken {
                s.sleepers.remove(i);
                break Some(w);
            }
            s = wait_ignoring_poison(&self.cv, s, POLL);
        };
        drop(s);
        match r {
            None => Err(Panicked),
            Some(Woken::Wakeup) => Ok(0),
            Some(Woken::Timeout) => Ok(Errno::EAGAIN.0),
            Some(Woken::Signal(true)) => Ok(Errno::ERESTART.0),
            Some(Woken::Signal(false)) => Ok(Errno::EINTR.0),
        }
    }

    /// Takes back a sleep that will not be waited for (its caller failed
    /// before blocking).
    pub(crate) fn abandon(&self, t: Ticket) {
        self.lock().sleepers.retain(|x| x.id != t.0);
    }

    /// Wakes the sleepers of `chan` of queue type `kind`: all, or (`one`)
    /// the oldest, or (`one` and `unfair`) the newest. Returns how many.
    pub(crate) fn wake(&self, chan: KAddr, kind: QueueKind, one: bool, unfair: bool) -> usize {
        let mut s = self.lock();
        let mut n = 0;
        let idx: Vec<usize> = s
            .sleepers
            .iter()
            .enumerate()
            .filter(|(_, x)| x.chan == chan && x.kind == kind && x.woken.is_none())
            .map(|(i, _)| i)
            .collect();
        let chosen: Vec<usize> = match (one, unfair) {
            (false, _) => idx,
            (true, false) => idx.first().copied().into_iter().collect(),
            (true, true) => idx.last().copied().into_iter().collect(),
        };
        for i in chosen {
            s.sleepers[i].woken = Some(Woken::Wakeup);
            n += 1;
        }
        if n > 0 {
            s.wakeups += 1;
            drop(s);
            self.cv.notify_all();
        }
        n
    }

    /// Records that `what` on `chan` (queue type `kind`) found no sleeper,
    /// called from `by` with the locks `held`.
    pub(crate) fn missed(
        &self,
        chan: KAddr,
        kind: QueueKind,
        what: &'static str,
        by: String,
        held: Vec<(KAddr, String)>,
    ) {
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        if s.missed.len() >= MISSED_CHANS && !s.missed.contains_key(&chan) {
            s.missed.clear();
        }
        let v = s.missed.entry(chan).or_default();
        if v.len() >= MISSED_PER_CHAN {
            v.remove(0);
        }
        v.push(Missed {
            id,
            what,
            kind,
            by,
            held,
        });
    }

    /// For each thread asleep now: its wait, its interlock (named by
    /// `lock_name`), and the wakeups on its channel and queue type that
    /// found no sleeper before it slept, with who issued them and which
    /// locks they held. What a deadlock watchdog prints.
    pub(crate) fn report(&self, lock_name: impl Fn(KAddr) -> String) -> String {
        let s = self.lock();
        let mut out = String::new();
        for x in s.sleepers.iter().filter(|x| x.woken.is_none()) {
            let il = if x.lock.is_null() {
                String::from("no interlock")
            } else {
                format!("interlock {}", lock_name(x.lock))
            };
            out.push_str(&format!(
                "{:?} asleep on \"{}\" (wchan {:#x}, {il}{})\n",
                x.thread,
                x.wmesg,
                x.chan,
                if x.deadline.is_some() { ", timed" } else { "" }
            ));
            let before: Vec<&Missed> = s
                .missed
                .get(&x.chan)
                .map(|v| {
                    v.iter()
                        .filter(|m| m.id < x.id && m.kind == x.kind)
                        .collect()
                })
                .unwrap_or_default();
            if before.is_empty() {
                out.push_str("  no wakeup on this channel found it empty before this sleep\n");
            }
            for m in before {
                let held = if m.held.is_empty() {
                    String::from("no lock")
                } else {
                    m.held
                        .iter()
                        .map(|(_, d)| d.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let interlock = if x.lock.is_null() || m.held.iter().any(|(a, _)| *a == x.lock) {
                    ""
                } else {
                    "; not the sleeper's interlock: a wakeup possibly lost"
                };
                out.push_str(&format!(
                    "  before it slept, {}({:#x}) from {} found no sleeper, holding {held}{interlock}\n",
                    m.what, x.chan, m.by
                ));
            }
        }
        out
    }

    /// Whether anyone sleeps on `chan` (`sleepq_lookup`).
    pub(crate) fn has_sleepers(&self, chan: KAddr) -> bool {
        self.lock()
            .sleepers
            .iter()
            .any(|x| x.chan == chan && x.woken.is_none())
    }

    /// Makes every sleeper look at the clock and the kernel's health.
    pub(crate) fn notify(&self) {
        let _s = self.lock();
        self.cv.notify_all();
    }

    /// The threads sleeping now, oldest first.
    pub(crate) fn sleepers(&self) -> Vec<SleepInfo> {
        self.lock()
            .sleepers
            .iter()
            .filter(|x| x.woken.is_none())
            .map(|x| SleepInfo {
                thread: x.thread,
                wmesg: x.wmesg.clone(),
                interruptible: x.interruptible,
                timed: x.deadline.is_some(),
            })
            .collect()
    }

    /// Wakeups that woke at least one sleeper.
    pub(crate) fn wakeup_count(&self) -> u64 {
        self.lock().wakeups
    }

    /// A system call starts on this thread.
    pub(crate) fn enter_kernel(&self) {
        let me = std::thread::current().id();
        *self.lock().in_kernel.entry(me).or_insert(0) += 1;
    }

    /// A system call returns to user space (`userret` and `ast`): a
    /// pending signal is delivered.
    pub(crate) fn leave_kernel(&self) {
        let me = std::thread::current().id();
        let mut s = self.lock();
        let left = match s.in_kernel.get_mut(&me) {
            Some(d) => {
                *d = d.saturating_sub(1);
                *d
            }
            None => 0,
        };
        if left == 0 {
            s.in_kernel.remove(&me);
            s.pending.remove(&me);
        }
    }

    /// This thread's pending signal, if any: whether it restarts.
    pub(crate) fn signal_pending(&self) -> Option<bool> {
        let me = std::thread::current().id();
        self.lock().pending.get(&me).copied()
    }

    /// Delivers this thread's pending signal now (before a system call
    /// restarts after `ERESTART`, the handler has run).
    pub(crate) fn deliver_signal(&self) {
        let me = std::thread::current().id();
        self.lock().pending.remove(&me);
    }

    /// Posts a signal to `thread`, whose handler restarts interrupted
    /// system calls if `restart` (`SA_RESTART`). Returns whether the
    /// thread was inside the kernel (otherwise the signal is delivered
    /// in user space and has no effect here).
    pub(crate) fn post_signal(&self, thread: ThreadId, restart: bool) -> bool {
        let mut s = self.lock();
        if !s.in_kernel.contains_key(&thread) {
            return false;
        }
        s.pending.insert(thread, restart);
        for x in &mut s.sleepers {
            if x.thread == thread && x.interruptible && x.woken.is_none() {
                x.woken = Some(Woken::Signal(restart));
            }
        }
        drop(s);
        self.cv.notify_all();
        true
    }
}
