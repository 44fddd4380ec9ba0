// SPDX-License-Identifier: BSD-2-Clause
//! `poll(2)` and a minimal `kqueue(2)`/`kevent(2)` on device files.
//!
//! Followed (FreeBSD 15): `sys/kern/sys_generic.c` (`kern_poll`: scan,
//! wait for a selwakeup, the timeout or a signal, rescan; `pollscan`:
//! `POLLNVAL` for a descriptor that is not open, `POLLHUP` clears
//! `POLLOUT`; a signal ends the poll with `EINTR`, never a restart),
//! `sys/fs/devfs/devfs_vnops.c` (`devfs_poll_f`: `d_poll(dev, events,
//! td)` with the device referenced and `td_fpop` set; a destroyed device
//! answers as the dead vnode does, `dead_poll`: `POLLHUP` and the
//! readable events asked; `devfs_kqfilter_f`: `d_kqfilter(dev, kn)`), and
//! `sys/kern/kern_event.c` (`kqueue_register`, `kqueue_scan`,
//! `knote_drop`; see `crate::kpi::kqueue`).
//!
//! Timeouts are on the kernel's clock: with the virtual clock a poll
//! with a timeout returns 0 once the test lets that much time pass.

use super::{FileRef, dev_call, fget};
use crate::addr::KAddr;
use crate::errno::{Errno, Error, SysResult};
use crate::kernel::entry::kqueue::{call_knlist_lock, knote_event};
use crate::kernel::{Kernel, KernelInner};
use crate::kpi::clock::{Sbt, duration_to_sbt};
use crate::kpi::kqueue::KEvent;
use crate::kpi::select::Select;
use crate::thread;
use crate::user::Cred;
use std::time::Duration;

/// One descriptor of a `poll(2)` call (`struct pollfd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor.
    pub fd: i32,
    /// The events asked for (`POLLIN`, `POLLOUT`, ... of
    /// [`crate::freebsd`]).
    pub events: i16,
    /// The events found.
    pub revents: i16,
}

/// `POLLIN | POLLRDNORM`, `POLLHUP`, `POLLOUT`, `POLLNVAL`
/// (`sys/sys/poll.h`).
const POLLIN_RDNORM: i16 = 0x0001 | 0x0040;
const POLLHUP: i16 = 0x0010;
const POLLOUT: i16 = 0x0004;
const POLLNVAL: i16 = 0x0020;

/// How often a waiting poll or kevent looks at the clock and signals.
const SLICE: Duration = Duration::from_millis(20);

/// `pollscan` for one descriptor.
fn poll_one(k: &KernelInner, cred: &Cred, p: &PollFd) -> i16 {
    let Ok(fr) = fget(k, p.fd) else {
        return POLLNVAL;
    };
    let f = &fr.f;
    let args = [
        f.node.cdev.arg(),
        u64::from(p.events.cast_unsigned()),
        KAddr::from_ptr(thread::curthread()).arg(),
        0,
        0,
        0,
    ];
    let r = dev_call(k, cred, f.fp(), &f.node, |sw| {
        (sw.d_poll.map_or(0, |m| m as usize), args)
    });
    let _released = fr.release(cred);
    let mut rev = match r {
        // CAST: d_poll returns the events in an int.
        Ok(v) => v as i16,
        // dead_poll
        Err(_) => POLLHUP | (p.events & POLLIN_RDNORM),
    };
    if rev & POLLHUP != 0 {
        rev &= !POLLOUT;
    }
    rev
}

/// The deadline of a timeout on the kernel's clock (`None`: forever).
fn deadline(k: &KernelInner, timeout: Option<Duration>) -> Option<Sbt> {
    timeout.map(|t| k.clock.now().saturating_add(duration_to_sbt(t)))
}

/// Why a wait ended early.
enum Stop {
    Timeout,
    Signal,
    Dead,
}

/// One slice of a wait: whether it must end.
fn check(k: &KernelInner, until: Option<Sbt>) -> Option<Stop> {
    if k.core.is_dead() {
        return Some(Stop::Dead);
    }
    if k.sleepq.signal_pending().is_some() {
        return Some(Stop::Signal);
    }
    if until.is_some_and(|d| k.clock.now() >= d) {
        return Some(Stop::Timeout);
    }
    None
}

/// `SBT_1MS` (`sys/sys/time.h`).
const SBT_1MS: i64 = (1 << 32) / 1000;

/// `kern_poll`.
fn poll(
    k: &KernelInner,
    cred: &Cred,
    fds: &mut [PollFd],
    timeout: Option<Duration>,
) -> SysResult<usize> {
    // sys_poll takes milliseconds, which kern_poll turns into
    // `SBT_1MS * timo`.
    let until = timeout.map(|t| {
        let ms = i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
        k.clock.now().saturating_add(ms.saturating_mul(SBT_1MS))
    });
    let id = k.select.begin();
    let scan = |fds: &mut [PollFd], record: bool| {
        Select::scanning(if record { id } else { 0 }, || {
            let mut n = 0;
            for p in fds.iter_mut() {
                p.revents = poll_one(k, cred, p);
                if p.revents != 0 {
                    n += 1;
                }
            }
            n
        })
    };
    let r = loop {
        let n = scan(fds, true);
        if n > 0 || timeout == Some(Duration::ZERO) {
            break Ok(n);
        }
        let stop = loop {
            if k.select.wait(id, SLICE) {
                break None;
            }
            if let Some(s) = check(k, until) {
                break Some(s);
            }
        };
        match stop {
            Some(Stop::Timeout) => break Ok(0),
            Some(Stop::Signal) => break Err(Errno::EINTR.into()),
            Some(Stop::Dead) => break Err(k.core.panic_error()),
            None => {}
        }
        k.select.end(id);
        let n = scan(fds, false);
        if n > 0 {
            break Ok(n);
        }
    };
    k.select.end(id);
    k.locks.userret(&k.core);
    if k.core.is_dead() {
        return Err(k.core.panic_error());
    }
    r
}

/// Calls `f_event(kn, 0)` with the knote's list locked, as
/// `kqueue_register` and `kqueue_scan` do.
fn event_now(k: &KernelInner, kn: KAddr) -> bool {
    // In flux while f_event runs (kern_event.c, kqueue_scan and
    // kqueue_register: kn_enter_flux before, kn_leave_flux after), so
    // that knlist_cleardel waits instead of letting the module destroy
    // the list's lock under it; a cleared knote is not asked.
    if !k.kqueues.enter_flux(kn) {
        return false;
    }
    let r = event_locked(k, kn);
    k.kqueues.leave_flux(kn);
    r
}

/// `f_event(kn, 0)` with the knote's list locked.
fn event_locked(k: &KernelInner, kn: KAddr) -> bool {
    let p = kn.ptr::<sys::knote>();
    // SAFETY: a knote of this kernel, alive while it is in a kqueue.
    let knl = unsafe { (*p).kn_knlist };
    if knl.is_null() {
        return knote_event(k, p).unwrap_or(false);
    }
    // SAFETY: the module's knlist the knote is on.
    let l = unsafe { &*knl };
    let (lock, unlock, arg) = (l.kl_lock, l.kl_unlock, l.kl_lockarg);
    if call_knlist_lock(k, lock, arg).is_err() {
        return false;
    }
    let r = knote_event(k, p).unwrap_or(false);
    if call_knlist_lock(k, unlock, arg).is_err() {
        return false;
    }
    r
}

/// `knote_drop`: `f_detach` unless detached, then the knote goes.
fn drop_knote(k: &KernelInner, kn: KAddr) {
    let p = kn.ptr::<sys::knote>();
    // SAFETY: a knote of this kernel.
    let n = unsafe { &*p };
    if n.kn_status & sys::KN_DETACHED as i32 == 0 && !n.kn_fop.is_null() {
        // SAFETY: the filter operations d_kqfilter installed.
        if let Some(f) = unsafe { (*n.kn_fop).f_detach } {
            // SAFETY: the module's f_detach with its knote.
            let _r = unsafe {
                thread::call(
                    &k.core,
                    None,
                    KAddr::new(f as usize),
                    [kn.arg(), 0, 0, 0, 0, 0],
                )
            };
        }
    }
    k.kqueues.discard(kn);
}

/// `kevent(2)` with one `EV_ADD` change: the filter attaches through
/// `d_kqfilter`.
fn register(
    k: &KernelInner,
    cred: &Cred,
    kq: i32,
    fd: i32,
    filter: i16,
    flags: u16,
) -> SysResult<()> {
    if !k.kqueues.exists(kq) {
        return Err(Errno::EBADF.into());
    }
    if let Some(kn) = k.kqueues.find(kq, fd, filter) {
        // Already registered: the flags change (EV_CLEAR, EV_ONESHOT).
        let p = kn.ptr::<sys::knote>();
        // SAFETY: a knote of this kernel.
        unsafe { (*p).kn_kevent.flags = flags };
        return Ok(());
    }
    let fr: FileRef<'_> = fget(k, fd)?;
    let f = &fr.f;
    let kn = k.kqueues.new_knote(kq, fd, filter, flags, f.fp());
    let args = [f.node.cdev.arg(), kn.arg(), 0, 0, 0, 0];
    let r = dev_call(k, cred, f.fp(), &f.node, |sw| {
        (sw.d_kqfilter.map_or(0, |m| m as usize), args)
    });
    fr.release(cred)?;
    match r {
        Ok(0) => {}
        Ok(e) => {
            k.kqueues.discard(kn);
            return Err(Errno(e).into());
        }
        Err(e) => {
            k.kqueues.discard(kn);
            return Err(e);
        }
    }
    k.kqueues.attached(kn);
    if event_now(k, kn) {
        k.kqueues.activate(kn);
    }
    k.locks.userret(&k.core);
    Ok(())
}

/// `kqueue_scan`: the active knotes, asked again, up to `max`.
fn scan(k: &KernelInner, kq: i32, max: usize) -> Vec<KEvent> {
    let mut out = Vec::new();
    for (kn, eof) in k.kqueues.active(kq) {
        if out.len() >= max {
            break;
        }
        if eof {
            if let Some(e) = k.kqueues.event(kn) {
                out.push(e);
            }
            k.kqueues.discard(kn);
            continue;
        }
        if !event_now(k, kn) {
            k.kqueues.set_active(kn, false);
            continue;
        }
        let Some(e) = k.kqueues.event(kn) else {
            continue;
        };
        out.push(e);
        if u32::from(e.flags) & sys::EV_ONESHOT != 0 {
            drop_knote(k, kn);
        } else if u32::from(e.flags) & sys::EV_CLEAR != 0 {
            k.kqueues.set_active(kn, false);
        }
    }
    out
}

/// `kevent(2)` waiting for events.
fn wait(k: &KernelInner, kq: i32, max: usize, timeout: Option<Duration>) -> SysResult<Vec<KEvent>> {
    if !k.kqueues.exists(kq) {
        return Err(Errno::EBADF.into());
    }
    let until = deadline(k, timeout);
    let r = loop {
        let ev = scan(k, kq, max);
        if !ev.is_empty() || timeout == Some(Duration::ZERO) {
            break Ok(ev);
        }
        match check(k, until) {
            Some(Stop::Timeout) => break Ok(Vec::new()),
            Some(Stop::Signal) => break Err(Errno::EINTR.into()),
            Some(Stop::Dead) => break Err(k.core.panic_error()),
            None => k.kqueues.wait(SLICE),
        }
    };
    k.locks.userret(&k.core);
    r
}

/// poll(2) and kqueue(2), as a test drives them.
impl Kernel {
    /// `poll(2)` on device descriptors: calls each device's `d_poll`
    /// and, if none is ready, waits until a `selwakeup` on what they
    /// recorded, the timeout on the kernel's clock (whole milliseconds,
    /// as poll(2) takes it; `Some(ZERO)`: do not wait; `None`: forever),
    /// or a signal ([`Kernel::post_signal`]).
    /// Returns how many descriptors have events in `revents`.
    ///
    /// # Errors
    /// `EINTR` after a signal.
    pub fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> SysResult<usize> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| poll(k, &self.cred, fds, timeout))
    }

    /// The `poll(2)` calls that a device has recorded with `selrecord(9)`
    /// and that wait for its `selwakeup(9)` now: a test knows a poller
    /// is asleep before it makes the event that must wake it.
    #[must_use]
    pub fn pollers_recorded(&self) -> usize {
        self.inner.select.recorded()
    }

    /// `kqueue(2)`: a new kqueue (a number of its own, not a descriptor).
    ///
    /// # Errors
    /// Only if the kernel panicked.
    pub fn kqueue(&self) -> SysResult<i32> {
        self.alive()?;
        Ok(self.inner.kqueues.create())
    }

    /// `kevent(2)` with one change `EV_ADD | flags` (`EV_CLEAR`,
    /// `EV_ONESHOT`) watching `fd` with `filter` (`EVFILT_READ`,
    /// `EVFILT_WRITE`): attaches through the device's `d_kqfilter`.
    ///
    /// # Errors
    /// `EBADF`, or `d_kqfilter`'s error (`EINVAL` for a filter it does
    /// not support, `EOPNOTSUPP` without `d_kqfilter`, `ENXIO` once the
    /// device is gone).
    pub fn kevent_add(&self, kq: i32, fd: i32, filter: i16, flags: u16) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| register(k, &self.cred, kq, fd, filter, flags))
    }

    /// `kevent(2)` with one change `EV_DELETE`: the filter detaches.
    ///
    /// # Errors
    /// `EBADF`, `ENOENT` if nothing watches `fd` with `filter`.
    pub fn kevent_delete(&self, kq: i32, fd: i32, filter: i16) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        let kn = k.kqueues.find(kq, fd, filter).ok_or(Errno::ENOENT)?;
        k.enter(|| drop_knote(k, kn));
        Ok(())
    }

    /// `kevent(2)` waiting for at most `max` events, until one fires,
    /// the timeout on the kernel's clock, or a signal.
    ///
    /// # Errors
    /// `EBADF`, `EINTR` after a signal.
    pub fn kevent_wait(
        &self,
        kq: i32,
        max: usize,
        timeout: Option<Duration>,
    ) -> SysResult<Vec<KEvent>> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| wait(k, kq, max, timeout))
    }

    /// `close(2)` of a kqueue: every knote is dropped.
    ///
    /// # Errors
    /// `EBADF`.
    pub fn kqueue_close(&self, kq: i32) -> SysResult<()> {
        let k = &*self.inner;
        if !k.kqueues.exists(kq) {
            return Err(Error::Errno(Errno::EBADF));
        }
        k.enter(|| {
            for kn in k.kqueues.knotes_of(kq) {
                drop_knote(k, kn);
            }
        });
        k.kqueues.remove(kq);
        Ok(())
    }
}
