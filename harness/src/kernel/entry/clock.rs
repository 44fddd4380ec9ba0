// SPDX-License-Identifier: BSD-2-Clause
//! The clock's entry points: `binuptime(9)` and the rest of the
//! `[get]{bin,nano,micro}[up]time` family, `getboottime`, and
//! `pause_sbt(9)` (behind the `pause(9)` inline of sys/systm.h). The work
//! is in `crate::kpi::clock`.

use super::{FuncEntry, kernel};
use crate::kpi::clock::Bintime;
use crate::thread::{self, witness};
use core::ffi::{CStr, c_char, c_int};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "binuptime" => harness_binuptime,
        "getbinuptime" => harness_getbinuptime,
        "nanouptime" => harness_nanouptime,
        "getnanouptime" => harness_getnanouptime,
        "microuptime" => harness_microuptime,
        "getmicrouptime" => harness_getmicrouptime,
        "bintime" => harness_bintime,
        "getbintime" => harness_getbintime,
        "nanotime" => harness_nanotime,
        "getnanotime" => harness_getnanotime,
        "microtime" => harness_microtime,
        "getmicrotime" => harness_getmicrotime,
        "getboottime" => harness_getboottime,
        "getboottimebin" => harness_getboottimebin,
        "pause_sbt" => harness_pause_sbt,
    ]);
}

/// Uptime (`up`) or the wall clock, exact or as of the last tick
/// (`coarse`, the `get` variants); the data symbols are refreshed first
/// when the clock follows real time.
fn read(up: bool, coarse: bool) -> Bintime {
    let k = kernel();
    if k.clock.is_real() {
        k.clock.sync(&k.core);
    }
    if up {
        k.clock.uptime(coarse)
    } else {
        k.clock.wall(coarse)
    }
}

/// Stores a bintime.
///
/// # Safety
/// `bt` writable.
unsafe fn put_bt(bt: *mut sys::bintime, t: Bintime) {
    // SAFETY: by the caller's contract.
    unsafe {
        *bt = sys::bintime {
            sec: t.sec,
            frac: t.frac,
        };
    }
}

/// Stores a timespec.
///
/// # Safety
/// `ts` writable.
unsafe fn put_ts(ts: *mut sys::timespec, t: Bintime) {
    let (sec, nsec) = t.to_timespec();
    // SAFETY: by the caller's contract.
    unsafe {
        *ts = sys::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        };
    }
}

/// Stores a timeval.
///
/// # Safety
/// `tv` writable.
unsafe fn put_tv(tv: *mut sys::timeval, t: Bintime) {
    let (sec, usec) = t.to_timeval();
    // SAFETY: by the caller's contract.
    unsafe {
        *tv = sys::timeval {
            tv_sec: sec,
            tv_usec: usec,
        };
    }
}

/// Defines the entry points of one output type.
macro_rules! clock_fns {
    ($($(#[$doc:meta])* $name:ident($ty:ty, $put:ident, $up:expr, $coarse:expr);)*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// The argument must be writable (the module's structure).
        unsafe extern "C" fn $name(out: *mut $ty) {
            let t = read($up, $coarse);
            // SAFETY: forwarded contract.
            unsafe { $put(out, t) };
        }
    )*};
}

clock_fns! {
    /// `binuptime`
    harness_binuptime(sys::bintime, put_bt, true, false);
    /// `getbinuptime`
    harness_getbinuptime(sys::bintime, put_bt, true, true);
    /// `nanouptime`
    harness_nanouptime(sys::timespec, put_ts, true, false);
    /// `getnanouptime`
    harness_getnanouptime(sys::timespec, put_ts, true, true);
    /// `microuptime`
    harness_microuptime(sys::timeval, put_tv, true, false);
    /// `getmicrouptime`
    harness_getmicrouptime(sys::timeval, put_tv, true, true);
    /// `bintime`
    harness_bintime(sys::bintime, put_bt, false, false);
    /// `getbintime`
    harness_getbintime(sys::bintime, put_bt, false, true);
    /// `nanotime`
    harness_nanotime(sys::timespec, put_ts, false, false);
    /// `getnanotime`
    harness_getnanotime(sys::timespec, put_ts, false, true);
    /// `microtime`
    harness_microtime(sys::timeval, put_tv, false, false);
    /// `getmicrotime`
    harness_getmicrotime(sys::timeval, put_tv, false, true);
}

/// `getboottime`
///
/// # Safety
/// `tv` writable.
unsafe extern "C" fn harness_getboottime(tv: *mut sys::timeval) {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe { put_tv(tv, k.clock.boottime()) };
}

/// `getboottimebin`
///
/// # Safety
/// `bt` writable.
unsafe extern "C" fn harness_getboottimebin(bt: *mut sys::bintime) {
    let k = kernel();
    // SAFETY: forwarded contract.
    unsafe { put_bt(bt, k.clock.boottime()) };
}

/// `pause_sbt(9)` (`sys/kern/kern_synch.c`): a negative timeout panics
/// (`KASSERT`), zero means one tick; the sleep is checked by WITNESS as
/// `_sleep` does ("Sleeping on \"wmesg\""), lasts until the callout that
/// `_sleep` arms would fire (`callout_when`), and, as nothing can wake
/// the private channel (and no signal reaches the test kernel's
/// threads), returns `EWOULDBLOCK`.
///
/// # Safety
/// `wmesg` NUL-terminated or null.
unsafe extern "C" fn harness_pause_sbt(
    wmesg: *const c_char,
    sbt: i64,
    _pr: i64,
    flags: c_int,
) -> c_int {
    let k = kernel();
    if sbt < 0 {
        k.core.record_panic("pause_sbt: timeout must be >= 0");
        thread::escape();
    }
    let sbt = if sbt == 0 { k.clock.tick_sbt() } else { sbt };
    {
        let what = if wmesg.is_null() {
            String::from("(null)")
        } else {
            // SAFETY: NUL-terminated by the contract.
            unsafe { CStr::from_ptr(wmesg) }
                .to_string_lossy()
                .into_owned()
        };
        witness::check_may_sleep(&k.core, &format!("Sleeping on \"{what}\""));
        if let Some(ctx) = witness::no_sleeping_context() {
            let msg = format!(
                "sleepq_add: td {:#x} to sleep on wchan (pause_wchan) with sleeping prohibited (pause \"{what}\" in a {ctx})",
                thread::thread_key()
            );
            k.core
                .violation(crate::state::ViolationKind::Sleep, msg.clone());
            k.core.record_panic(&msg);
            thread::escape();
        }
    }
    let deadline = k.clock.when(sbt, flags.cast_unsigned());
    k.advance_to(deadline, false);
    if k.core.is_dead() {
        thread::escape();
    }
    // EWOULDBLOCK is EAGAIN (sys/errno.h).
    crate::errno::Errno::EAGAIN.0
}
