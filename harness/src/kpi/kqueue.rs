// SPDX-License-Identifier: BSD-2-Clause
//! A minimal kqueue(2) for devices: the kqueues of one kernel, the
//! `struct knote`s it hands to `d_kqfilter`, and which of them are
//! active. The system calls that drive them (register through
//! `d_kqfilter`, wait, report `kn_data`) are the kernel's; the knlist(9)
//! and `knote` entry points, which modules call, are in
//! `crate::kernel::entry`.
//!
//! Followed (FreeBSD 15): `sys/kern/kern_event.c` (`kqueue_register`: a
//! new knote holds the event as given, without the action flags, and is
//! `KN_DETACHED` until the filter's attach puts it on a knlist; the
//! filter's `f_event` is asked at once whether the event is already
//! active; `knote`: `f_event` with the list locked, activating the
//! knote; `kqueue_scan`: an active knote is asked again before it is
//! reported, a level-triggered one stays active, `EV_CLEAR` deactivates
//! and `EV_ONESHOT` drops it; `knote_drop`: `f_detach` unless detached;
//! `knlist_cleardel`: knotes left on a list being cleared become
//! `EV_EOF | EV_ONESHOT`, and one in flux, whose `f_event` a scan is
//! calling, is waited for with the list unlocked, "kqkclr"; `kn_enter_flux`
//! and `kn_leave_flux`, which `kqueue_scan` and `kqueue_register` put
//! around `f_event`).
//!
//! Differences: a kqueue here is a number of its own, not a descriptor;
//! only device descriptors can be watched; knotes cleared by
//! `knlist_clear` are reported once with `EV_EOF` (so a waiter learns
//! that the device went away) and dropped.

use crate::addr::{KAddr, KRange};
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// An event as `kevent(2)` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KEvent {
    /// The descriptor (`ident`).
    pub fd: i32,
    /// `EVFILT_READ`, `EVFILT_WRITE`, ...
    pub filter: i16,
    /// `EV_*` flags (`EV_EOF` when the device went away).
    pub flags: u16,
    /// Filter flags.
    pub fflags: u32,
    /// `kn_data` as the filter set it (bytes readable, space to write).
    pub data: i64,
}

/// The memory of a knote (`knote_alloc`).
struct KnoteMem(Box<sys::knote>);

// SAFETY: a knote is plain memory that module code and the kernel share
// by kern_event.c's rules (under the knlist's or the kqueue's lock); the
// raw pointers in it are only followed by module code and by the
// kernel's entry points under those rules.
unsafe impl Send for KnoteMem {}
// SAFETY: as above.
unsafe impl Sync for KnoteMem {}

/// A knote the kernel allocated.
struct Knote {
    kn: KnoteMem,
    kq: i32,
    fd: i32,
    filter: i16,
    active: bool,
    /// Cleared by `knlist_cleardel`: report `EV_EOF` once.
    eof: bool,
    /// Scans calling its `f_event` now (`kn_influx`).
    influx: u32,
}

#[derive(Default)]
struct State {
    next_kq: i32,
    kqueues: HashMap<i32, Vec<KAddr>>,
    knotes: HashMap<KAddr, Knote>,
}

/// The kqueues of one kernel.
#[derive(Default)]
pub(crate) struct Kqueues {
    state: Mutex<State>,
    /// Signalled when a knote is activated.
    cv: Condvar,
}

impl Kqueues {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    /// `kqueue(2)`: a new, empty queue.
    pub(crate) fn create(&self) -> i32 {
        let mut s = self.lock();
        s.next_kq += 1;
        let kq = s.next_kq;
        s.kqueues.insert(kq, Vec::new());
        kq
    }

    /// Whether `kq` exists.
    pub(crate) fn exists(&self, kq: i32) -> bool {
        self.lock().kqueues.contains_key(&kq)
    }

    /// A new knote for `fd` in `kq` (`kqueue_register`'s `knote_alloc`
    /// and its fields), not yet attached; `fp` is the open file.
    pub(crate) fn new_knote(&self, kq: i32, fd: i32, filter: i16, flags: u16, fp: KAddr) -> KAddr {
        let mut kn: Box<sys::knote> = Box::default();
        kn.kn_kevent.ident = u64::try_from(fd).unwrap_or(0);
        kn.kn_kevent.filter = filter;
        // CAST: the action flags are cleared, as kqueue_register does.
        kn.kn_kevent.flags = flags
            & !((sys::EV_ADD
                | sys::EV_DELETE
                | sys::EV_ENABLE
                | sys::EV_DISABLE
                | sys::EV_FORCEONESHOT) as u16);
        kn.kn_ptr.p_fp = fp.ptr();
        // CAST: a small flag constant.
        kn.kn_status = sys::KN_DETACHED as i32;
        let a = KAddr::from_ptr(&raw const *kn);
        self.lock().knotes.insert(
            a,
            Knote {
                kn: KnoteMem(kn),
                kq,
                fd,
                filter,
                active: false,
                eof: false,
                influx: 0,
            },
        );
        a
    }

    /// The knote is attached: it belongs to its kqueue now.
    pub(crate) fn attached(&self, kn: KAddr) {
        let mut s = self.lock();
        let Some(kq) = s.knotes.get(&kn).map(|k| k.kq) else {
            return;
        };
        if let Some(v) = s.kqueues.get_mut(&kq) {
            v.push(kn);
        }
    }

    /// Forgets a knote (failed attach, or dropped); its memory goes.
    pub(crate) fn discard(&self, kn: KAddr) {
        let mut s = self.lock();
        if let Some(k) = s.knotes.remove(&kn)
            && let Some(v) = s.kqueues.get_mut(&k.kq)
        {
            v.retain(|&x| x != kn);
        }
    }

    /// The knote of `kq` watching `fd` with `filter`.
    pub(crate) fn find(&self, kq: i32, fd: i32, filter: i16) -> Option<KAddr> {
        let s = self.lock();
        s.kqueues.get(&kq)?.iter().copied().find(|a| {
            s.knotes
                .get(a)
                .is_some_and(|k| k.fd == fd && k.filter == filter)
        })
    }

    /// The knotes of `kq`.
    pub(crate) fn knotes_of(&self, kq: i32) -> Vec<KAddr> {
        self.lock().kqueues.get(&kq).cloned().unwrap_or_default()
    }

    /// Removes `kq` (its knotes must have been dropped).
    pub(crate) fn remove(&self, kq: i32) {
        self.lock().kqueues.remove(&kq);
    }

    /// `KNOTE_ACTIVATE`.
    pub(crate) fn activate(&self, kn: KAddr) {
        if let Some(k) = self.lock().knotes.get_mut(&kn) {
            k.active = true;
        }
        self.cv.notify_all();
    }

    /// A knote cleared off its list by `knlist_cleardel` without being
    /// killed: `EV_EOF | EV_ONESHOT`, reported once.
    pub(crate) fn cleared(&self, kn: KAddr) {
        if let Some(k) = self.lock().knotes.get_mut(&kn) {
            k.eof = true;
            k.active = true;
            k.kn.0.kn_kevent.flags |= (sys::EV_EOF | sys::EV_ONESHOT) as u16;
        }
        self.cv.notify_all();
    }

    /// Sets whether `kn` stays active after a scan (a cleared knote
    /// stays active until its `EV_EOF` is reported).
    pub(crate) fn set_active(&self, kn: KAddr, on: bool) {
        if let Some(k) = self.lock().knotes.get_mut(&kn)
            && (on || !k.eof)
        {
            k.active = on;
        }
    }

    /// `kn_enter_flux`: a scan is about to call `f_event`; returns false
    /// (and does not enter) if the knote is gone or was cleared off its
    /// list, whose lock may be gone with it.
    pub(crate) fn enter_flux(&self, kn: KAddr) -> bool {
        let mut s = self.lock();
        match s.knotes.get_mut(&kn) {
            Some(k) if !k.eof => {
                k.influx += 1;
                true
            }
            _ => false,
        }
    }

    /// `kn_leave_flux`: wakes a `knlist_cleardel` waiting for it.
    pub(crate) fn leave_flux(&self, kn: KAddr) {
        if let Some(k) = self.lock().knotes.get_mut(&kn) {
            k.influx = k.influx.saturating_sub(1);
        }
        self.cv.notify_all();
    }

    /// For `knlist_cleardel`: unless a scan has the knote in flux, marks
    /// it cleared (no scan enters it again) and returns true.
    pub(crate) fn claim_for_clear(&self, kn: KAddr) -> bool {
        let mut s = self.lock();
        match s.knotes.get_mut(&kn) {
            Some(k) if k.influx > 0 => false,
            Some(k) => {
                k.eof = true;
                true
            }
            None => true,
        }
    }

    /// Waits until no scan has `kn` in flux ("kqkclr").
    pub(crate) fn wait_flux(&self, kn: KAddr) {
        let mut s = self.lock();
        while s.knotes.get(&kn).is_some_and(|k| k.influx > 0) {
            s = wait_ignoring_poison(&self.cv, s, Duration::from_millis(10));
        }
    }

    /// The active knotes of `kq`, and whether each was cleared (EOF).
    pub(crate) fn active(&self, kq: i32) -> Vec<(KAddr, bool)> {
        let s = self.lock();
        let Some(v) = s.kqueues.get(&kq) else {
            return Vec::new();
        };
        v.iter()
            .filter_map(|a| s.knotes.get(a).filter(|k| k.active).map(|k| (*a, k.eof)))
            .collect()
    }

    /// The event of a knote as `kevent(2)` copies it out.
    pub(crate) fn event(&self, kn: KAddr) -> Option<KEvent> {
        let s = self.lock();
        let k = s.knotes.get(&kn)?;
        let e = &k.kn.0.kn_kevent;
        Some(KEvent {
            fd: k.fd,
            filter: e.filter,
            flags: e.flags,
            fflags: e.fflags,
            data: e.data,
        })
    }

    /// Waits up to `slice` for an activation.
    pub(crate) fn wait(&self, slice: Duration) {
        let s = self.lock();
        let _s = wait_ignoring_poison(&self.cv, s, slice);
    }

    /// Wakes every waiter (time moved, a signal, the kernel died).
    pub(crate) fn notify(&self) {
        let _s = self.lock();
        self.cv.notify_all();
    }

    /// Knotes still on a list in `range`, or whose filter lies there (a
    /// module being unloaded): reported, and detached, so that no filter
    /// of the unloaded module is called again.
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut s = self.lock();
        for (a, kn) in &mut s.knotes {
            let n = &mut kn.kn.0;
            let detached = n.kn_status & sys::KN_DETACHED as i32 != 0;
            let in_module = range.contains(KAddr::from_ptr(n.kn_fop))
                || range.contains(KAddr::from_ptr(n.kn_knlist));
            if !detached && in_module {
                n.kn_status |= sys::KN_DETACHED as i32;
                n.kn_knlist = core::ptr::null_mut();
                kn.eof = true;
                kn.active = true;
                k.violation(
                    ViolationKind::Sleep,
                    format!("knote {a:#x} still on a knlist when its module was unloaded (missing knlist_clear)"),
                );
            }
        }
        drop(s);
        self.cv.notify_all();
    }
}
