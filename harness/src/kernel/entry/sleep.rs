// SPDX-License-Identifier: BSD-2-Clause
//! The sleep(9) and condvar(9) entry points: `_sleep` (behind `msleep`,
//! `msleep_sbt`, `tsleep`, `tsleep_sbt` and `sx_sleep`), `wakeup`,
//! `wakeup_one`, `wakeup_any`, and `cv_init`, `cv_destroy`, `_cv_wait`,
//! `_cv_wait_unlock`, `_cv_wait_sig`, `_cv_timedwait_sbt`,
//! `_cv_timedwait_sig_sbt`, `cv_signal`, `cv_broadcastpri`.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_synch.c` (`_sleep`: its
//! `WITNESS_WARN` "Sleeping on \"%s\"" that excuses the interlock and
//! Giant, its `KASSERT`s "sleeping without a lock" (no timeout, no lock,
//! no Giant, no `PNOLOCK`), "_sleep: NULL ident", "PDROP requires a
//! non-Giant lock", "spin locks can only use msleep_spin"; the interlock
//! released after the thread is on the sleep queue, Giant dropped and
//! picked up, the interlock retaken unless `PDROP`),
//! `sys/kern/subr_sleepqueue.c` (`sleepq_add`'s `KASSERT`: no sleeping
//! where `td_no_sleeping` is set, which `softclock_call_cc` sets around a
//! callout handler) and `sys/kern/kern_condvar.c` (`CV_ASSERT`: a lock is
//! required; "Waiting on \"%s\""; `cv_waiters` counted in the structure,
//! `cv_signal` waking one and `cv_broadcastpri` all only when it says
//! there are waiters; `cv_wait_unlock` refuses Giant; `cv_destroy`'s
//! `INVARIANTS` check "associated sleep queue non-empty"), and
//! `sleepq_add`'s `MPASS`es that all sleepers of a wait channel use one
//! interlock and one queue type. A wakeup that finds no sleeper is
//! recorded with its caller and the locks it held, for the report a
//! deadlock watchdog prints (`Kernel::sleep_report`). Each rule
//! broken is recorded as a violation and, where FreeBSD's is a `KASSERT`,
//! a panic. The queues themselves are `crate::kpi::sleep`.

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::kernel::KernelInner;
use crate::kpi::lock::LockClass;
use crate::kpi::sleep::QueueKind;
use crate::state::ViolationKind;
use crate::thread::{self, witness};
use core::ffi::{CStr, c_char, c_int};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "_sleep" => harness_sleep,
        "wakeup" => harness_wakeup,
        "wakeup_one" => harness_wakeup_one,
        "wakeup_any" => harness_wakeup_any,
        "cv_init" => harness_cv_init,
        "cv_destroy" => harness_cv_destroy,
        "_cv_wait" => harness_cv_wait,
        "_cv_wait_unlock" => harness_cv_wait_unlock,
        "_cv_wait_sig" => harness_cv_wait_sig,
        "_cv_timedwait_sbt" => harness_cv_timedwait_sbt,
        "_cv_timedwait_sig_sbt" => harness_cv_timedwait_sig_sbt,
        "cv_signal" => harness_cv_signal,
        "cv_broadcastpri" => harness_cv_broadcastpri,
    ]);
}

/// `PNOLOCK` (`sys/sys/param.h`): sleeping without a lock is intended.
const PNOLOCK: u32 = 0x400;

/// A rule whose FreeBSD check is a `KASSERT`: recorded as a violation
/// and as the kernel's panic; leaves module code.
pub(super) fn fatal(k: &KernelInner, msg: String) -> ! {
    k.core.violation(ViolationKind::Sleep, msg.clone());
    k.core.record_panic(&msg);
    thread::escape()
}

/// A C string from module memory, or "(null)".
pub(super) fn c_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::from("(null)");
    }
    // SAFETY: wait messages and descriptions are NUL-terminated strings
    // of the module (literals); checked for NULL above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// What a sleep does with its interlock and how it waits.
pub(super) struct Sleep<'a> {
    /// The wait channel.
    pub(super) chan: KAddr,
    /// The interlock (`struct lock_object *`), or null.
    pub(super) lock: KAddr,
    /// The queue type.
    pub(super) kind: QueueKind,
    /// The wait message.
    pub(super) wmesg: &'a str,
    /// `PCATCH`.
    pub(super) catch: bool,
    /// Keep the interlock released afterwards (`PDROP`,
    /// `cv_wait_unlock`).
    pub(super) drop_lock: bool,
    /// The timeout as `_sleep` gets it (0: none) and its callout flags.
    pub(super) sbt: i64,
    /// The callout flags of the timeout (`C_HARDCLOCK`, `C_ABSOLUTE`).
    pub(super) flags: u32,
    /// The function, for messages.
    pub(super) what: &'static str,
}

/// The common part of every sleep, after the caller's own checks: the
/// context checks, the queue, the interlock and Giant. Returns 0,
/// `EWOULDBLOCK`, `EINTR` or `ERESTART`; escapes if the kernel panics.
pub(super) fn sleep(k: &KernelInner, s: &Sleep<'_>) -> c_int {
    if let Some(ctx) = witness::no_sleeping_context() {
        fatal(
            k,
            format!(
                "sleepq_add: td {:#x} to sleep on wchan {:#x} with sleeping prohibited ({} \"{}\" in a {ctx})",
                thread::thread_key(),
                s.chan,
                s.what,
                s.wmesg
            ),
        );
    }
    let giant = k.giant();
    let class = if s.lock.is_null() {
        None
    } else {
        k.locks.class_of(s.lock)
    };
    if class == Some(LockClass::SpinMutex) {
        fatal(
            k,
            format!("{}: spin locks can only use msleep_spin", s.what),
        );
    }
    let deadline = (s.sbt != 0).then(|| k.clock.when(s.sbt, s.flags));
    let ticket = match k.sleepq.add(
        s.chan,
        s.lock,
        s.kind,
        s.wmesg,
        s.catch,
        deadline,
        k.clock.now(),
    ) {
        Ok(t) => t,
        Err(m) => {
            let name = |l: KAddr| {
                if l.is_null() {
                    String::from("none")
                } else {
                    format!("\"{}\"", k.locks.name_of(l).unwrap_or_default())
                }
            };
            let what = if m.lock == s.lock {
                format!(
                    "MPASS((flags & SLEEPQ_TYPE) == sq->sq_type): a {:?} sleep on wchan {:#x} whose sleepers are {:?} sleeps",
                    s.kind, s.chan, m.kind
                )
            } else {
                format!(
                    "MPASS(lock == sq->sq_lock): {} on wchan {:#x} (\"{}\") with interlock {} while its sleepers use {}",
                    s.what,
                    s.chan,
                    s.wmesg,
                    name(s.lock),
                    name(m.lock)
                )
            };
            fatal(k, format!("sleepq_add: {what}"));
        }
    };
    // DROP_GIANT
    let giant_held = s.lock != giant && k.locks.owned(giant);
    let mut mode = None;
    if !s.lock.is_null() && s.lock != giant {
        match k.locks.release_for_sleep(&k.core, s.lock, s.what) {
            Ok(m) => mode = Some(m),
            Err(thread::Panicked) => {
                k.sleepq.abandon(ticket);
                thread::escape();
            }
        }
    }
    let giant_mode = if giant_held || s.lock == giant {
        match k.locks.release_for_sleep(&k.core, giant, s.what) {
            Ok(m) => Some(m),
            Err(thread::Panicked) => {
                k.sleepq.abandon(ticket);
                thread::escape();
            }
        }
    } else {
        None
    };
    let r = k.sleepq.wait(&k.core, &k.clock, ticket);
    let Ok(r) = r else { thread::escape() };
    // PICKUP_GIANT
    if let Some(m) = giant_mode
        && k.locks.reacquire_after_sleep(&k.core, giant, m).is_err()
    {
        thread::escape();
    }
    if let Some(m) = mode
        && !s.drop_lock
        && k.locks.reacquire_after_sleep(&k.core, s.lock, m).is_err()
    {
        thread::escape();
    }
    r
}

/// `_sleep` (`sys/kern/kern_synch.c`).
extern "C" fn harness_sleep(
    chan: *const u8,
    lock: *mut sys::lock_object,
    pri: c_int,
    wmesg: *const c_char,
    sbt: i64,
    _pr: i64,
    flags: c_int,
) -> c_int {
    let k = kernel();
    let msg = c_str(wmesg);
    let lock = KAddr::from_ptr(lock);
    let chan = KAddr::from_ptr(chan);
    let pri = pri.cast_unsigned();
    witness::check_may_sleep_except(&k.core, lock, &format!("Sleeping on \"{msg}\""));
    if sbt == 0 && lock.is_null() && !k.locks.owned(k.giant()) && pri & PNOLOCK == 0 {
        fatal(
            k,
            format!(
                "sleeping without a lock (_sleep on \"{msg}\" with no interlock, no timeout and no PNOLOCK)"
            ),
        );
    }
    if chan.is_null() {
        fatal(k, String::from("_sleep: NULL ident"));
    }
    if pri & sys::PDROP != 0 && (lock.is_null() || lock == k.giant()) {
        fatal(k, String::from("PDROP requires a non-Giant lock"));
    }
    sleep(
        k,
        &Sleep {
            chan,
            lock,
            kind: QueueKind::Sleep,
            wmesg: &msg,
            catch: pri & sys::PCATCH != 0,
            drop_lock: pri & sys::PDROP != 0,
            sbt,
            flags: flags.cast_unsigned(),
            what: "_sleep",
        },
    )
}

/// Records a wakeup that found no sleeper on `chan`, with its caller and
/// the locks it holds, for `Kernel::sleep_report`.
fn missed(k: &KernelInner, chan: KAddr, kind: QueueKind, what: &'static str) {
    let by = thread::kernel_caller()
        .or_else(|| thread::module_entry().map(KAddr::get))
        .map_or_else(|| String::from("(unknown)"), crate::ksyms::describe);
    let held = witness::with_held(|h| {
        h.iter()
            .map(|x| {
                (
                    x.addr,
                    format!("{} \"{}\" locked @ {}", x.class, x.name, x.at),
                )
            })
            .collect()
    });
    k.sleepq.missed(chan, kind, what, by, held);
}

/// `wakeup(9)`: every thread sleeping on `chan`.
extern "C" fn harness_wakeup(chan: *const u8) {
    let k = kernel();
    let chan = KAddr::from_ptr(chan);
    if k.sleepq.wake(chan, QueueKind::Sleep, false, false) == 0 {
        missed(k, chan, QueueKind::Sleep, "wakeup");
    }
}

/// `wakeup_one(9)`: the thread that has slept longest on `chan`.
extern "C" fn harness_wakeup_one(chan: *const u8) {
    let k = kernel();
    let chan = KAddr::from_ptr(chan);
    if k.sleepq.wake(chan, QueueKind::Sleep, true, false) == 0 {
        missed(k, chan, QueueKind::Sleep, "wakeup_one");
    }
}

/// `wakeup_any(9)`: one thread, the most recent sleeper
/// (`SLEEPQ_UNFAIR`).
extern "C" fn harness_wakeup_any(chan: *const u8) {
    let k = kernel();
    let chan = KAddr::from_ptr(chan);
    if k.sleepq.wake(chan, QueueKind::Sleep, true, true) == 0 {
        missed(k, chan, QueueKind::Sleep, "wakeup_any");
    }
}

/// `cv_init(9)`.
///
/// # Safety
/// `cvp` writable.
unsafe extern "C" fn harness_cv_init(cvp: *mut sys::cv, desc: *const c_char) {
    // SAFETY: by the caller's contract.
    let cv = unsafe { &mut *cvp };
    cv.cv_description = desc;
    cv.cv_waiters = 0;
}

/// `cv_destroy(9)`: with `INVARIANTS`, no thread may still wait.
extern "C" fn harness_cv_destroy(cvp: *mut sys::cv) {
    let k = kernel();
    if k.sleepq.has_sleepers(KAddr::from_ptr(cvp)) {
        // SAFETY: the module's condition variable.
        let d = c_str(unsafe { (*cvp).cv_description });
        fatal(
            k,
            format!(
                "cv_destroy: associated sleep queue non-empty (condition variable \"{d}\" destroyed with waiters)"
            ),
        );
    }
}

/// The common part of the `cv_wait` family (`_cv_wait`,
/// `_cv_wait_sig`, `_cv_timedwait_sbt`, ...).
fn cv_wait(
    cvp: *mut sys::cv,
    lock: *mut sys::lock_object,
    catch: bool,
    unlock: bool,
    sbt: i64,
    flags: c_int,
    what: &'static str,
) -> c_int {
    let k = kernel();
    let lock = KAddr::from_ptr(lock);
    if cvp.is_null() {
        fatal(k, format!("{what}: cvp NULL"));
    }
    if lock.is_null() {
        fatal(k, format!("{what}: lock NULL"));
    }
    // SAFETY: the module's condition variable, checked non-null.
    let desc = c_str(unsafe { (*cvp).cv_description });
    witness::check_may_sleep_except(&k.core, lock, &format!("Waiting on \"{desc}\""));
    if unlock && lock == k.giant() {
        fatal(k, String::from("cv_wait_unlock cannot be used with Giant"));
    }
    // SAFETY: as above; the module reads the count only through the KPI.
    let cv = unsafe { &mut *cvp };
    cv.cv_waiters = cv.cv_waiters.saturating_add(1);
    sleep(
        k,
        &Sleep {
            chan: KAddr::from_ptr(cvp),
            lock,
            kind: QueueKind::Condvar,
            wmesg: &desc,
            catch,
            drop_lock: unlock,
            sbt,
            flags: flags.cast_unsigned(),
            what,
        },
    )
}

/// `_cv_wait` (cv_wait(9)).
extern "C" fn harness_cv_wait(cvp: *mut sys::cv, lock: *mut sys::lock_object) {
    let _ = cv_wait(cvp, lock, false, false, 0, 0, "_cv_wait");
}

/// `_cv_wait_unlock` (cv_wait_unlock(9)).
extern "C" fn harness_cv_wait_unlock(cvp: *mut sys::cv, lock: *mut sys::lock_object) {
    let _ = cv_wait(cvp, lock, false, true, 0, 0, "_cv_wait_unlock");
}

/// `_cv_wait_sig` (cv_wait_sig(9)): 0, `EINTR` or `ERESTART`.
extern "C" fn harness_cv_wait_sig(cvp: *mut sys::cv, lock: *mut sys::lock_object) -> c_int {
    cv_wait(cvp, lock, true, false, 0, 0, "_cv_wait_sig")
}

/// `_cv_timedwait_sbt` (cv_timedwait(9)): 0 or `EWOULDBLOCK`.
extern "C" fn harness_cv_timedwait_sbt(
    cvp: *mut sys::cv,
    lock: *mut sys::lock_object,
    sbt: i64,
    _pr: i64,
    flags: c_int,
) -> c_int {
    let k = kernel();
    let sbt = if sbt == 0 { k.clock.tick_sbt() } else { sbt };
    cv_wait(cvp, lock, false, false, sbt, flags, "_cv_timedwait_sbt")
}

/// `_cv_timedwait_sig_sbt` (cv_timedwait_sig(9)): 0, `EWOULDBLOCK`,
/// `EINTR` or `ERESTART`.
extern "C" fn harness_cv_timedwait_sig_sbt(
    cvp: *mut sys::cv,
    lock: *mut sys::lock_object,
    sbt: i64,
    _pr: i64,
    flags: c_int,
) -> c_int {
    let k = kernel();
    let sbt = if sbt == 0 { k.clock.tick_sbt() } else { sbt };
    cv_wait(cvp, lock, true, false, sbt, flags, "_cv_timedwait_sig_sbt")
}

/// `cv_signal(9)`: one waiter, if the count says there is one.
///
/// # Safety
/// `cvp` the module's condition variable.
unsafe extern "C" fn harness_cv_signal(cvp: *mut sys::cv) {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let cv = unsafe { &mut *cvp };
    if cv.cv_waiters > 0 {
        cv.cv_waiters -= 1;
        k.sleepq
            .wake(KAddr::from_ptr(cvp), QueueKind::Condvar, true, false);
    } else {
        missed(k, KAddr::from_ptr(cvp), QueueKind::Condvar, "cv_signal");
    }
}

/// `cv_broadcastpri(9)`: every waiter (priorities are not modelled).
///
/// # Safety
/// `cvp` the module's condition variable.
unsafe extern "C" fn harness_cv_broadcastpri(cvp: *mut sys::cv, _pri: c_int) {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let cv = unsafe { &mut *cvp };
    if cv.cv_waiters > 0 {
        cv.cv_waiters = 0;
        k.sleepq
            .wake(KAddr::from_ptr(cvp), QueueKind::Condvar, false, false);
    } else {
        missed(k, KAddr::from_ptr(cvp), QueueKind::Condvar, "cv_broadcast");
    }
}
