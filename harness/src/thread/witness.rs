// SPDX-License-Identifier: BSD-2-Clause
//! The locks each thread holds, and WITNESS's check before a sleep
//! (`sys/kern/subr_witness.c`, `witness_warn` with `WARN_SLEEPOK`): a
//! thread may sleep (a user-space `uiomove`, `copyin`/`copyout`, an
//! `M_WAITOK` malloc, acquiring an sx lock, `destroy_dev`, ...) only if it
//! holds no non-sleepable lock (any `mtx` but `Giant`).
//!
//! The list is per thread, like `td_sleeplocks`; the lock subsystem adds
//! and removes entries, every subsystem that may sleep asks
//! [`check_may_sleep`].

use super::CTX;
use crate::addr::KAddr;
use crate::state::{Core, ViolationKind};

/// A lock this thread holds.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    /// The lock's address (its `struct mtx`/`struct sx`).
    pub(crate) addr: KAddr,
    /// Its name.
    pub(crate) name: String,
    /// A non-sleepable lock (every `mtx` but `Giant`).
    pub(crate) nonsleepable: bool,
    /// Description for messages ("sleep mutex").
    pub(crate) class: &'static str,
    /// Where it was taken (`file:line` of the lock call), as WITNESS
    /// records `li_file`/`li_line`.
    pub(crate) at: String,
}

/// Runs `f` on this thread's held-lock list, innermost last.
pub(crate) fn with_held<R>(f: impl FnOnce(&mut Vec<Held>) -> R) -> R {
    CTX.with(|c| f(&mut c.held.borrow_mut()))
}

/// The WITNESS check before `what` sleeps: recorded as a violation of
/// kernel `k` if this thread holds a non-sleepable lock.
pub(crate) fn check_may_sleep(k: &Core, what: &str) {
    check_may_sleep_except(k, KAddr::NULL, what);
}

/// `WITNESS_WARN(WARN_GIANTOK | WARN_SLEEPOK, lock, ...)`: as
/// [`check_may_sleep`], except that `except` (the interlock a sleep
/// releases, or null) may be held.
pub(crate) fn check_may_sleep_except(k: &Core, except: KAddr, what: &str) {
    let bad: Vec<Held> = with_held(|h| {
        h.iter()
            .filter(|x| x.nonsleepable && (except.is_null() || x.addr != except))
            .cloned()
            .collect()
    });
    if !bad.is_empty() {
        let list: Vec<String> = bad
            .iter()
            // witness_list_lock (sys/kern/subr_witness.c), without the
            // recursion count and address.
            .map(|h| {
                format!(
                    "exclusive {} {} ({}) locked @ {}",
                    h.class, h.name, h.name, h.at
                )
            })
            .collect();
        k.violation(
            ViolationKind::Lock,
            format!(
                "{what} with the following non-sleepable locks held:\n{}",
                list.join("\n")
            ),
        );
    }
}

/// `THREAD_NO_SLEEPING()` (`sys/sys/proc.h`) for the duration of `f`:
/// `why` names the context ("callout handler") for the message of a
/// sleep attempted meanwhile.
pub(crate) fn no_sleeping<R>(why: &'static str, f: impl FnOnce() -> R) -> R {
    /// Pops the context, also when `f` unwinds.
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            CTX.with(|c| c.no_sleep.borrow_mut().pop());
        }
    }
    CTX.with(|c| c.no_sleep.borrow_mut().push(why));
    let _pop = Pop;
    f()
}

/// The innermost context in which this thread may not sleep
/// (`td_no_sleeping != 0`), if any; a critical section counts as one
/// (`mi_switch` in `sys/kern/kern_synch.c`: "mi_switch: switch in a
/// critical section").
pub(crate) fn no_sleeping_context() -> Option<&'static str> {
    if critnest() != 0 {
        return Some("critical section");
    }
    CTX.with(|c| c.no_sleep.borrow().last().copied())
}

/// This thread's `td_critnest` (`critical_enter(9)` nesting).
pub(crate) fn critnest() -> u32 {
    let td = super::curthread();
    // SAFETY: this thread's own `struct thread`; only this thread (and
    // module code running on it, not now) writes `td_critnest`.
    unsafe { (*td).td_critnest }
}

/// `witness_checkorder` (`sys/kern/subr_witness.c`) before a sleep lock
/// (a sleep mutex, an sx lock) is acquired: in a critical section,
/// which every spin lock and every interrupt filter is in, it panics
/// ("acquiring blockable sleep lock with spinlock or critical section
/// held"). `class` is the lock class's name ("sleep mutex"), `name` the
/// lock's, `at` where it is taken. `Err` after recording the panic.
pub(crate) fn check_sleep_lock(
    k: &Core,
    class: &str,
    name: &str,
    at: &str,
) -> Result<(), super::Panicked> {
    if critnest() == 0 {
        return Ok(());
    }
    let msg = format!(
        "acquiring blockable sleep lock with spinlock or critical section held ({class}) {name} @ {at}"
    );
    k.violation(ViolationKind::Lock, msg.clone());
    k.record_panic(&msg);
    Err(super::Panicked)
}
