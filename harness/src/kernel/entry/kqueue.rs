// SPDX-License-Identifier: BSD-2-Clause
//! The kqueue(9) entry points a device's `d_kqfilter` and its wakeups
//! call: `knlist_init`, `knlist_init_mtx`, `knlist_add`, `knlist_remove`,
//! `knlist_empty`, `knlist_cleardel` (behind `knlist_clear` and
//! `knlist_delete`), `knlist_destroy` and `knote` (behind `KNOTE_LOCKED`
//! and `KNOTE_UNLOCKED`).
//!
//! Followed (FreeBSD 15): `sys/kern/kern_event.c` (`knlist_init`: a NULL
//! lock means the kernel's `knlist_lock`, NULL functions the mutex ones;
//! `KNL_ASSERT_LOCK`: `knlist_add`/`knlist_remove` assert the list's lock
//! is held if the caller says so and not held otherwise, `knlist_empty`
//! that it is held; the list is the module's `kl_list`, linked through
//! `kn_selnext`; `knote`: `f_event` with the list locked (taken unless
//! `KNF_LISTLOCKED`), activating each knote whose event fires;
//! `knlist_cleardel`; `knlist_destroy`'s `KASSERT` "destroying knlist %p
//! with knotes on it"). The harness's `knlist_lock` is `Giant`. The
//! kqueues are `crate::kpi::kqueue`.

use super::sleep::fatal;
use super::{FuncEntry, kernel};
use crate::addr::KAddr;
use crate::kernel::KernelInner;
use crate::thread;
use core::ffi::{c_int, c_long, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "knote" => harness_knote,
        "knlist_init" => harness_knlist_init,
        "knlist_init_mtx" => harness_knlist_init_mtx,
        "knlist_add" => harness_knlist_add,
        "knlist_remove" => harness_knlist_remove,
        "knlist_empty" => harness_knlist_empty,
        "knlist_cleardel" => harness_knlist_cleardel,
        "knlist_destroy" => harness_knlist_destroy,
    ]);
}

/// `LA_LOCKED` (`sys/sys/lock.h`).
const LA_LOCKED: c_int = 1;

/// `knlist_mtx_lock`: the list's mutex.
extern "C" fn knlist_mtx_lock(arg: *mut c_void) {
    let k = kernel();
    let file = c"kern_event.c".as_ptr();
    if k.locks
        .xlock(&k.core, KAddr::from_ptr(arg), false, file, 0)
        .is_err()
    {
        thread::escape();
    }
}

/// `knlist_mtx_unlock`.
extern "C" fn knlist_mtx_unlock(arg: *mut c_void) {
    let k = kernel();
    let file = c"kern_event.c".as_ptr();
    if k.locks
        .xunlock(&k.core, KAddr::from_ptr(arg), file, 0)
        .is_err()
    {
        thread::escape();
    }
}

/// `knlist_mtx_assert_lock`: `mtx_assert(MA_OWNED)` or
/// `mtx_assert(MA_NOTOWNED)`.
extern "C" fn knlist_mtx_assert_lock(arg: *mut c_void, what: c_int) {
    let k = kernel();
    let m = KAddr::from_ptr(arg);
    let owned = k.locks.owned(m);
    if what == LA_LOCKED && !owned {
        fatal(
            k,
            format!("mutex {m:#x} not owned at kern_event.c:0 (the knlist's lock must be held)"),
        );
    }
    if what != LA_LOCKED && owned {
        fatal(
            k,
            format!(
                "mutex {m:#x} owned at kern_event.c:0 (the knlist's lock must not be held: pass islocked)"
            ),
        );
    }
}

/// The module's knlist.
fn knl_ref<'a>(knl: *mut sys::knlist) -> &'a mut sys::knlist {
    // SAFETY: the module's knlist, alive while the module uses it;
    // changed under its lock, as in kern_event.c.
    unsafe { &mut *knl }
}

/// The module's (or our) knote.
fn kn_ref<'a>(kn: *mut sys::knote) -> &'a mut sys::knote {
    // SAFETY: a knote the kernel allocated and handed to d_kqfilter, alive
    // while it is on a list or in a kqueue.
    unsafe { &mut *kn }
}

/// Calls one of the knlist's lock functions with its argument.
///
/// # Errors
/// `Panicked` if the kernel panicked in it.
pub(crate) fn call_knlist_lock(
    k: &KernelInner,
    f: Option<unsafe extern "C" fn(*mut c_void)>,
    arg: *mut c_void,
) -> Result<(), thread::Panicked> {
    let Some(f) = f else {
        return Ok(());
    };
    // SAFETY: a lock function of the knlist (ours, or the module's),
    // called with the knlist's lock argument as kern_event.c does.
    unsafe {
        thread::call(
            &k.core,
            None,
            KAddr::new(f as usize),
            [KAddr::from_ptr(arg).arg(), 0, 0, 0, 0, 0],
        )
    }
    .map(drop)
}

/// [`call_knlist_lock`] from module code: leaves it on a panic.
fn call_lockfn(k: &KernelInner, f: Option<unsafe extern "C" fn(*mut c_void)>, arg: *mut c_void) {
    if call_knlist_lock(k, f, arg).is_err() {
        thread::escape();
    }
}

/// `KNL_ASSERT_LOCK(knl, islocked)`.
fn assert_lock(k: &KernelInner, knl: &sys::knlist, locked: bool) {
    if let Some(f) = knl.kl_assert_lock {
        let what = if locked { LA_LOCKED } else { 0 };
        // SAFETY: the knlist's assertion function with its lock argument.
        let r = unsafe {
            thread::call(
                &k.core,
                None,
                KAddr::new(f as usize),
                [
                    KAddr::from_ptr(knl.kl_lockarg).arg(),
                    u64::from(what.cast_unsigned()),
                    0,
                    0,
                    0,
                    0,
                ],
            )
        };
        if r.is_err() {
            thread::escape();
        }
    }
}

/// `knlist_init(9)`.
extern "C" fn harness_knlist_init(
    knl: *mut sys::knlist,
    lock: *mut c_void,
    kl_lock: Option<unsafe extern "C" fn(*mut c_void)>,
    kl_unlock: Option<unsafe extern "C" fn(*mut c_void)>,
    kl_assert_lock: Option<unsafe extern "C" fn(*mut c_void, c_int)>,
) {
    let k = kernel();
    let l = knl_ref(knl);
    l.kl_lockarg = if lock.is_null() {
        k.giant().ptr()
    } else {
        lock
    };
    l.kl_lock = Some(kl_lock.unwrap_or(knlist_mtx_lock));
    l.kl_unlock = Some(kl_unlock.unwrap_or(knlist_mtx_unlock));
    l.kl_assert_lock = Some(kl_assert_lock.unwrap_or(knlist_mtx_assert_lock));
    l.kl_autodestroy = 0;
    l.kl_list.slh_first = core::ptr::null_mut();
}

/// `knlist_init_mtx(9)`.
extern "C" fn harness_knlist_init_mtx(knl: *mut sys::knlist, lock: *mut sys::mtx) {
    harness_knlist_init(knl, lock.cast(), None, None, None);
}

/// `knlist_add(9)`.
extern "C" fn harness_knlist_add(knl: *mut sys::knlist, kn: *mut sys::knote, islocked: c_int) {
    let k = kernel();
    let l = knl_ref(knl);
    assert_lock(k, l, islocked != 0);
    if islocked == 0 {
        call_lockfn(k, l.kl_lock, l.kl_lockarg);
    }
    let n = kn_ref(kn);
    n.kn_selnext.sle_next = l.kl_list.slh_first;
    l.kl_list.slh_first = kn;
    if islocked == 0 {
        call_lockfn(k, l.kl_unlock, l.kl_lockarg);
    }
    n.kn_knlist = knl;
    n.kn_status &= !(sys::KN_DETACHED as i32);
}

/// Unlinks `kn` from the module's list.
fn unlink(l: &mut sys::knlist, kn: *mut sys::knote) -> bool {
    if l.kl_list.slh_first == kn {
        l.kl_list.slh_first = kn_ref(kn).kn_selnext.sle_next;
        return true;
    }
    let mut cur = l.kl_list.slh_first;
    while !cur.is_null() {
        let c = kn_ref(cur);
        if c.kn_selnext.sle_next == kn {
            c.kn_selnext.sle_next = kn_ref(kn).kn_selnext.sle_next;
            return true;
        }
        cur = c.kn_selnext.sle_next;
    }
    false
}

/// `knlist_remove(9)` (`knlist_remove_kq`).
extern "C" fn harness_knlist_remove(knl: *mut sys::knlist, kn: *mut sys::knote, islocked: c_int) {
    let k = kernel();
    let l = knl_ref(knl);
    assert_lock(k, l, islocked != 0);
    if islocked == 0 {
        call_lockfn(k, l.kl_lock, l.kl_lockarg);
    }
    unlink(l, kn);
    let n = kn_ref(kn);
    n.kn_knlist = core::ptr::null_mut();
    if islocked == 0 {
        call_lockfn(k, l.kl_unlock, l.kl_lockarg);
    }
    n.kn_status |= sys::KN_DETACHED as i32;
}

/// `knlist_empty(9)`: with its lock held.
extern "C" fn harness_knlist_empty(knl: *mut sys::knlist) -> c_int {
    let k = kernel();
    let l = knl_ref(knl);
    assert_lock(k, l, true);
    c_int::from(l.kl_list.slh_first.is_null())
}

/// `knlist_cleardel(9)`: every knote leaves the list; killed ones are
/// dropped, the others end with `EV_EOF`.
extern "C" fn harness_knlist_cleardel(
    knl: *mut sys::knlist,
    _td: *mut sys::thread,
    islocked: c_int,
    killkn: c_int,
) {
    let k = kernel();
    let l = knl_ref(knl);
    assert_lock(k, l, islocked != 0);
    if islocked == 0 {
        call_lockfn(k, l.kl_lock, l.kl_lockarg);
    }
    loop {
        let kn = l.kl_list.slh_first;
        if kn.is_null() {
            break;
        }
        let a = KAddr::from_ptr(kn);
        if !k.kqueues.claim_for_clear(a) {
            // A scan is calling its f_event: wait with the list unlocked,
            // as knlist_cleardel sleeps on "kqkclr", then look again.
            call_lockfn(k, l.kl_unlock, l.kl_lockarg);
            k.kqueues.wait_flux(a);
            call_lockfn(k, l.kl_lock, l.kl_lockarg);
            continue;
        }
        let n = kn_ref(kn);
        l.kl_list.slh_first = n.kn_selnext.sle_next;
        n.kn_knlist = core::ptr::null_mut();
        n.kn_status |= sys::KN_DETACHED as i32;
        if killkn != 0 {
            k.kqueues.discard(a);
        } else {
            k.kqueues.cleared(a);
        }
    }
    if islocked == 0 {
        call_lockfn(k, l.kl_unlock, l.kl_lockarg);
    }
}

/// `knlist_destroy(9)`: the list must be empty.
extern "C" fn harness_knlist_destroy(knl: *mut sys::knlist) {
    let k = kernel();
    let l = knl_ref(knl);
    if !l.kl_list.slh_first.is_null() {
        fatal(k, format!("destroying knlist {knl:p} with knotes on it"));
    }
    let one = core::ptr::without_provenance_mut::<c_void>(1);
    l.kl_lockarg = one;
    l.kl_lock = None;
    l.kl_unlock = None;
    l.kl_assert_lock = None;
}

/// Asks a knote's filter whether its event fires (`f_event(kn, 0)`),
/// with the list lock held by the caller.
///
/// # Errors
/// `Panicked` if the kernel panicked in it.
pub(crate) fn knote_event(k: &KernelInner, kn: *mut sys::knote) -> Result<bool, thread::Panicked> {
    f_event_r(k, kn, 0)
}

/// `f_event(kn, hint)`.
fn f_event_r(k: &KernelInner, kn: *mut sys::knote, hint: c_long) -> Result<bool, thread::Panicked> {
    let n = kn_ref(kn);
    if n.kn_fop.is_null() {
        return Ok(false);
    }
    // SAFETY: the filter operations the module's d_kqfilter installed.
    let Some(f) = (unsafe { (*n.kn_fop).f_event }) else {
        return Ok(false);
    };
    // SAFETY: the module's f_event with its knote and hint.
    let r = unsafe {
        thread::call(
            &k.core,
            None,
            KAddr::new(f as usize),
            [KAddr::from_ptr(kn).arg(), hint.cast_unsigned(), 0, 0, 0, 0],
        )
    };
    r.map(|v| (v & 0xffff_ffff) != 0)
}

/// [`f_event_r`] from module code: leaves it on a panic.
fn f_event(k: &KernelInner, kn: *mut sys::knote, hint: c_long) -> bool {
    match f_event_r(k, kn, hint) {
        Ok(b) => b,
        Err(thread::Panicked) => thread::escape(),
    }
}

/// `knote(9)`: every knote on the list whose event fires is activated.
extern "C" fn harness_knote(knl: *mut sys::knlist, hint: c_long, lockflags: c_int) {
    let k = kernel();
    if knl.is_null() {
        return;
    }
    let l = knl_ref(knl);
    let locked = lockflags.cast_unsigned() & sys::KNF_LISTLOCKED != 0;
    if locked {
        assert_lock(k, l, true);
    } else {
        call_lockfn(k, l.kl_lock, l.kl_lockarg);
    }
    let mut kn = l.kl_list.slh_first;
    while !kn.is_null() {
        let next = kn_ref(kn).kn_selnext.sle_next;
        if f_event(k, kn, hint) {
            k.kqueues.activate(KAddr::from_ptr(kn));
        }
        kn = next;
    }
    if !locked {
        call_lockfn(k, l.kl_unlock, l.kl_lockarg);
    }
}
