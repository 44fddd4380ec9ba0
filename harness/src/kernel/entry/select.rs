// SPDX-License-Identifier: BSD-2-Clause
//! The selrecord(9) entry points: `selrecord`, `selwakeup`,
//! `selwakeuppri` and `seldrain`, which a device's `d_poll` and its
//! wakeups call. The records are `crate::kpi::select`; the poll system
//! call is `crate::kernel::vfs`'s.

use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use core::ffi::c_int;

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "selrecord" => harness_selrecord,
        "selwakeup" => harness_selwakeup,
        "selwakeuppri" => harness_selwakeuppri,
        "seldrain" => harness_seldrain,
    ]);
}

/// `selrecord(9)`: the polling thread waits for `sip` (recorded only
/// during a poll's scan; `selector` is the calling thread).
extern "C" fn harness_selrecord(_selector: *mut sys::thread, sip: *mut sys::selinfo) {
    kernel().select.record(KAddr::from_ptr(sip));
}

/// `selwakeup(9)`.
extern "C" fn harness_selwakeup(sip: *mut sys::selinfo) {
    kernel().select.wakeup(KAddr::from_ptr(sip));
}

/// `selwakeuppri(9)` (priorities are not modelled).
extern "C" fn harness_selwakeuppri(sip: *mut sys::selinfo, _pri: c_int) {
    kernel().select.wakeup(KAddr::from_ptr(sip));
}

/// `seldrain(9)`: wakes every poller, as `doselwakeup` does.
extern "C" fn harness_seldrain(sip: *mut sys::selinfo) {
    kernel().select.wakeup(KAddr::from_ptr(sip));
}
