// SPDX-License-Identifier: BSD-2-Clause
//! Readiness notification for a device: `poll(2)`/`select(2)` through
//! `selrecord(9)` and `selwakeup(9)`, and `kqueue(2)`'s `EVFILT_READ` and
//! `EVFILT_WRITE` through a knlist locked by the device's mutex.
//!
//! C headers: `sys/sys/selinfo.h`, `sys/sys/event.h`, `sys/sys/poll.h`.
//! Manual pages: `selrecord(9)`, `kqueue(9)`, `poll(2)`.
//! Implementation: `sys/kern/sys_generic.c`, `sys/kern/kern_event.c`.
//!
//! A [`PollQueue`] is a `struct selinfo` whose `si_note` knlist is locked
//! by the [`Mutex`] that guards the device's state
//! (`knlist_init_mtx(9)`), as FreeBSD drivers set it up. Its
//! [`PollSource`] names that mutex and says, under it, how many bytes a
//! filter has ready (`kn_data`).
//!
//! * In `d_poll` ([`CharacterDevice::poll`](crate::cdev::CharacterDevice::poll))
//!   the device answers the events that are ready, and if none is,
//!   records the poller with [`PollQueue::record`] (`selrecord(9)`).
//! * In `d_kqfilter` ([`CharacterDevice::kqfilter`](crate::cdev::CharacterDevice::kqfilter))
//!   it attaches the knote with [`PollQueue::attach`].
//! * When the state changes, under the mutex, [`PollQueue::notify`] wakes
//!   the pollers (`selwakeup(9)`) and runs the knotes' filters
//!   (`KNOTE_LOCKED`).
//! * Dropping the queue detaches the knotes still attached (`knlist_clear`),
//!   wakes and forgets the pollers (`seldrain(9)`), and destroys the
//!   knlist. It takes the mutex, so it must not be dropped with it held.
//!
//! # Context
//! [`notify`](PollQueue::notify) needs the mutex held and never sleeps;
//! the filters ([`PollSource::ready`]) run with the mutex held, in any
//! thread context, and may not sleep or take another lock.

use crate::alloc::Box;
use crate::context::{MayBlock, Sleepable};
use crate::error::{Result, code};
use crate::init::PinInit;
use crate::opaque::Opaque;
use crate::sync::lock::Exclusive;
use crate::sync::{Mutex, MutexGuard};
use core::ffi::{c_int, c_long, c_void};
use core::marker::{PhantomData, PhantomPinned};
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The two `kqueue(2)` filters a device may answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `EVFILT_READ`: `kn_data` is the number of bytes that can be read.
    Read,
    /// `EVFILT_WRITE`: `kn_data` is the room for writing.
    Write,
}

/// What a [`PollQueue`] reports on: the device's mutex and what its
/// filters see under it.
pub trait PollSource: Send + Sync + Sized + 'static {
    /// The data of the mutex.
    type Data;

    /// The mutex that guards the device's state and locks the knlist. It
    /// must be the same mutex every time (owned by the source, or by an
    /// `Arc` it holds); a filter whose source names another mutex than at
    /// creation reports nothing.
    fn mutex(&self) -> &Mutex<Self::Data>;

    /// The `kn_data` of `filter` (bytes readable, room for writing); the
    /// knote fires if it is positive.
    ///
    /// # Context
    /// The mutex is held; may not sleep or take a lock.
    fn ready(&self, data: &Self::Data, filter: Filter) -> i64;
}

/// `poll(2)` events (`sys/sys/poll.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PollEvents(c_int);

impl PollEvents {
    /// `POLLIN`: data to read.
    pub const IN: Self = Self::from_u32(sys::POLLIN);
    /// `POLLRDNORM`: normal data to read.
    pub const RDNORM: Self = Self::from_u32(sys::POLLRDNORM);
    /// `POLLOUT`: room to write.
    pub const OUT: Self = Self::from_u32(sys::POLLOUT);
    /// `POLLWRNORM`: room to write normal data.
    pub const WRNORM: Self = Self::from_u32(sys::POLLWRNORM);
    /// `POLLHUP`: the device is gone.
    pub const HUP: Self = Self::from_u32(sys::POLLHUP);

    /// No event.
    #[must_use]
    pub const fn empty() -> Self {
        Self(0)
    }

    const fn from_u32(v: u32) -> Self {
        assert!(v <= 0x7fff);
        // CAST: checked to fit just above.
        #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
        Self(v as c_int)
    }

    /// The bits, as `d_poll` returns them.
    #[must_use]
    pub const fn bits(self) -> c_int {
        self.0
    }

    /// Whether any event of `other` is in `self`.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no event is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for PollEvents {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl core::ops::BitAnd for PollEvents {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl PollEvents {
    /// The events of `d_poll`'s argument.
    pub(crate) const fn from_raw(bits: c_int) -> Self {
        Self(bits)
    }
}

/// The thread polling, in `d_poll`, for [`PollQueue::record`].
///
/// # Invariants
/// `td` is the polling thread of the current `d_poll` call, for `'a`.
pub struct PollWaiter<'a> {
    td: *mut sys::thread,
    _call: PhantomData<(&'a (), *mut ())>,
}

impl PollWaiter<'_> {
    /// The waiter of a `d_poll` call.
    ///
    /// # Safety
    /// `td` is `d_poll`'s thread argument; the value lives only during the
    /// call.
    pub(crate) unsafe fn new(td: *mut sys::thread) -> Self {
        // INVARIANT: the caller's contract.
        Self {
            td,
            _call: PhantomData,
        }
    }
}

/// A knote being attached, in `d_kqfilter`, for [`PollQueue::attach`].
///
/// # Invariants
/// `kn` is the knote of the current `d_kqfilter` call, for `'a`.
pub struct Knote<'a> {
    kn: *mut sys::knote,
    _call: PhantomData<(&'a (), *mut ())>,
}

impl Knote<'_> {
    /// The knote of a `d_kqfilter` call.
    ///
    /// # Safety
    /// `kn` is `d_kqfilter`'s knote; the value lives only during the call.
    pub(crate) unsafe fn new(kn: *mut sys::knote) -> Self {
        // INVARIANT: the caller's contract.
        Self {
            kn,
            _call: PhantomData,
        }
    }

    /// The filter asked for, if it is one a device may answer.
    #[must_use]
    pub fn filter(&self) -> Option<Filter> {
        // SAFETY: a live knote (type invariant); `kn_filter` is
        // `kn_kevent.filter`, set by kqueue before d_kqfilter.
        let f = i32::from(unsafe { (*self.kn).kn_kevent.filter });
        match f {
            sys::EVFILT_READ => Some(Filter::Read),
            sys::EVFILT_WRITE => Some(Filter::Write),
            _ => None,
        }
    }
}

/// Pollers and knotes waiting on a device; see the
/// [module documentation](self).
///
/// Built in place, where it stays: in its owner's memory with
/// [`new_in_place`](Self::new_in_place), or in an allocation of its own
/// with [`new`](Self::new).
///
/// # Invariants
/// `si` is zeroed but for `si_note`, initialised by `knlist_init_mtx` with
/// `mtx`, the mutex of `source`, at this address, which does not change
/// (the value is pinned) until `Drop` has cleared and destroyed the
/// knlist and drained the selinfo. `mutex` is the source's mutex as it
/// named it at initialisation, whose state is `mtx`: it lives as long as
/// the queue, as the knlist's lock must (the source owns it, or a
/// reference count of it: [`PollSource::mutex`]).
pub struct PollQueue<H: PollSource> {
    si: Opaque<sys::selinfo>,
    mtx: *mut sys::mtx,
    mutex: *const Mutex<H::Data>,
    source: H,
    _pin: PhantomPinned,
}

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the source is Send + Sync; the C structure is only passed to the kernel"
)]
// SAFETY: the selinfo and knlist are only passed to the kernel's functions,
// which lock them (the selinfo's pool mutex, the knlist's mutex); the
// source is `Send + Sync`.
unsafe impl<H: PollSource> Send for PollQueue<H> {}

// SAFETY: as for `Send`; `&PollQueue` gives only `&H`.
unsafe impl<H: PollSource> Sync for PollQueue<H> {}

impl<H: PollSource> PollQueue<H> {
    /// A queue for `source`, its knlist locked by the source's mutex
    /// (`knlist_init_mtx(9)`), in an allocation of its own.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`).
    pub fn new(source: H, cx: &mut Sleepable) -> Pin<Box<Self>> {
        crate::init::pin_box(
            Self::new_in_place::<core::convert::Infallible>(source),
            cx.waitok(),
        )
    }

    /// An initialiser of a queue for `source`, its knlist locked by the
    /// source's mutex (`knlist_init_mtx(9)`), for a place its owner
    /// chooses (see [`init`](crate::init)); it costs no allocation.
    ///
    /// `source` is a value or an initialiser of one (which may hold
    /// pinned fields of its own, such as a [`Task`](crate::taskqueue::Task)
    /// in place); the source is initialised first, in place.
    ///
    /// Fails only if the source's initialiser does; does not sleep.
    pub fn new_in_place<E>(source: impl PinInit<H, E>) -> impl PinInit<Self, E> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes (the initialiser's
            // contract); these only compute the fields' addresses.
            let src = unsafe { &raw mut (*slot).source };
            // SAFETY: as above.
            let m = unsafe { &raw mut (*slot).mtx };
            // SAFETY: as above.
            let mp = unsafe { &raw mut (*slot).mutex };
            // SAFETY: as above.
            let si = Opaque::raw_get(unsafe { &raw mut (*slot).si });
            // SAFETY: the source's place, valid for writes and pinned with
            // the rest of the slot. If it fails, nothing else is initialised
            // yet and the error leaves the slot uninitialised, as the
            // initialiser's contract wants.
            unsafe { source.__pinned_init(src) }?;
            // The mutex as the source names it in its final place.
            // SAFETY: the source was initialised just above.
            let mutex = unsafe { &*src }.mutex();
            let mtx = mutex.state();
            // SAFETY: the pointers' places, valid for writes.
            unsafe { m.write(mtx) };
            // SAFETY: as above.
            unsafe { mp.write(mutex) };
            // SAFETY: the selinfo's place: zeroed here, as the kernel
            // expects of a new selinfo.
            unsafe { si.write_bytes(0, 1) };
            // SAFETY: only the field's address.
            let note = unsafe { &raw mut (*si).si_note };
            // SAFETY: a zeroed knlist at its final address (pinned, and
            // destroyed by `Drop` before its memory is reused); `mtx` is the
            // source's initialised sleep mutex, which outlives the knlist
            // (the source owns it, or a reference count of it).
            unsafe { sys::knlist_init_mtx(note, mtx) };
            // INVARIANT: initialised in place with the source's mutex.
            Ok(())
        };
        // SAFETY: on success the closure has initialised every field
        // (`_pin` has no bytes); it fails only before anything is
        // initialised (the source's own initialiser undoes its part); it
        // does not move the value.
        unsafe { pinned_init::pin_init_from_closure(init) }
    }

    /// The source.
    #[must_use]
    pub fn source(&self) -> &H {
        &self.source
    }

    /// The knlist.
    fn note(&self) -> *mut sys::knlist {
        let si = self.si.get();
        // SAFETY: only the field's address.
        unsafe { &raw mut (*si).si_note }
    }

    /// Records the polling thread, to be woken by the next
    /// [`notify`](Self::notify) (`selrecord(9)`). Call it from `d_poll`
    /// when none of the events asked for is ready, with the mutex held, so
    /// that no notification falls between the check and the record.
    pub fn record(&self, waiter: &mut PollWaiter<'_>) {
        // SAFETY: `td` is the polling thread of the current d_poll (type
        // invariant of `PollWaiter`); the selinfo is initialised and lives
        // until drained (`Drop`).
        unsafe { sys::selrecord(waiter.td, self.si.get()) };
    }

    /// Attaches the knote of `d_kqfilter` for its filter.
    ///
    /// # Errors
    /// `EINVAL`: a filter other than `EVFILT_READ` and `EVFILT_WRITE`.
    pub fn attach(&self, knote: &mut Knote<'_>) -> Result {
        let ops: &'static sys::filterops = match knote.filter() {
            Some(Filter::Read) => &Ops::<H>::READ,
            Some(Filter::Write) => &Ops::<H>::WRITE,
            None => return Err(code::EINVAL),
        };
        let kn = knote.kn;
        let hook = core::ptr::from_ref::<Self>(self)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the live knote of this d_kqfilter call (type invariant of
        // `Knote`), which the driver sets up before attaching it.
        unsafe { (*kn).kn_fop = ops };
        // SAFETY: as above; the hook is this pinned queue, which outlives
        // the knote (`Drop` detaches every knote first).
        unsafe { (*kn).kn_hook = hook };
        // SAFETY: the knlist is initialised; the knote is the caller's;
        // islocked 0: the knlist's mutex is not held here (d_kqfilter runs
        // without it).
        unsafe { sys::knlist_add(self.note(), kn, 0) };
        Ok(())
    }

    /// Wakes the pollers (`selwakeup(9)`) and runs the filters of the
    /// attached knotes (`KNOTE_LOCKED`), after the state under the mutex
    /// changed.
    ///
    /// # Errors
    /// `EINVAL`: `guard` is not the guard of the source's mutex.
    ///
    /// # Context
    /// Needs the mutex held (`guard`); does not sleep.
    pub fn notify(&self, guard: &mut MutexGuard<'_, H::Data>) -> Result {
        if guard.lock().state() != self.mtx {
            return Err(code::EINVAL);
        }
        // SAFETY: `guard` holds the queue's mutex (checked just above).
        unsafe { self.notify_held() };
        Ok(())
    }

    /// [`notify`](Self::notify) once the mutex is known to be held.
    ///
    /// # Safety
    /// This thread holds the queue's mutex (the source's, `mtx`).
    #[inline]
    unsafe fn notify_held(&self) {
        let si = self.si.get();
        // `SEL_WAITING()` (`sys/sys/selinfo.h`): a poller is recorded.
        // `pipeselwakeup()` (`sys/kern/sys_pipe.c`) checks it the same way
        // before waking, under its pipe's mutex; here the mutex held is the
        // one `record` is documented to be called under, so no record falls
        // between this check and the one it would have woken. Read
        // atomically: `selrecord` writes the list under the select pool's
        // lock.
        // SAFETY: only the field's address, in the initialised selinfo.
        let tdlist = unsafe { &raw mut (*si).si_tdlist.tqh_first };
        // SAFETY: a pointer-sized, aligned field of the live selinfo; every
        // access to it from here is atomic.
        let waiting = !unsafe { AtomicPtr::from_ptr(tdlist) }
            .load(Ordering::Relaxed)
            .is_null();
        if waiting {
            // SAFETY: the selinfo is initialised (type invariant).
            unsafe { sys::selwakeup(si) };
        }
        // `knote()` (`sys/kern/kern_event.c`) walks `kl_list` and does
        // nothing for an empty one; the list changes only under the
        // knlist's lock, the source's mutex, which this thread holds.
        // SAFETY: the knlist is initialised and its lock held (the
        // caller's contract), so the field is not written meanwhile.
        let knotes = !unsafe { (*self.note()).kl_list.slh_first }.is_null();
        if knotes {
            // SAFETY: the knlist is initialised and its mutex is held by
            // this thread (the caller's contract): KNOTE_LOCKED.
            unsafe { sys::knote(self.note(), 0, KNF_LISTLOCKED) };
        }
    }
}

impl<H: PollSource> PollQueue<H> {
    /// Takes the queue's mutex (the source's): the guard can
    /// [`notify`](NotifyGuard::notify) without the check of
    /// [`PollQueue::notify`], since it is the knlist's lock by
    /// construction.
    ///
    /// # Context
    /// May block on the mutex (`cx`, as for [`Mutex::lock`]).
    #[inline]
    pub fn lock<'a, C: MayBlock>(&'a self, cx: &'a mut C) -> NotifyGuard<'a, H> {
        // SAFETY: the source's mutex, alive as long as the queue (type
        // invariant), which `&'a self` keeps.
        let mutex = unsafe { &*self.mutex };
        // INVARIANT: the mutex whose state is `mtx` (type invariant).
        NotifyGuard {
            guard: mutex.lock(cx),
            queue: self,
        }
    }
}

/// The guard of a [`PollQueue`]'s mutex, taken with [`PollQueue::lock`];
/// it derefs to the mutex's guard.
///
/// # Invariants
/// `guard` is the guard of the mutex whose state is `queue.mtx`, the
/// knlist's lock.
pub struct NotifyGuard<'a, H: PollSource> {
    guard: MutexGuard<'a, H::Data>,
    queue: &'a PollQueue<H>,
}

impl<H: PollSource> NotifyGuard<'_, H> {
    /// [`PollQueue::notify`], with no identity check: this guard holds the
    /// queue's own mutex (type invariant).
    ///
    /// # Context
    /// Does not sleep.
    #[inline]
    pub fn notify(&mut self) {
        // SAFETY: the queue's mutex is held by this thread (type
        // invariant): the knlist's lock.
        unsafe { self.queue.notify_held() };
    }
}

impl<'a, H: PollSource> core::ops::Deref for NotifyGuard<'a, H> {
    type Target = MutexGuard<'a, H::Data>;

    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl<H: PollSource> core::ops::DerefMut for NotifyGuard<'_, H> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl<H: PollSource> Drop for PollQueue<H> {
    /// `knlist_clear`, `seldrain`, `knlist_destroy`, as a driver does at
    /// detach, in place; the knotes' filters fire no more, and the source
    /// is dropped after.
    fn drop(&mut self) {
        // SAFETY: the knlist is initialised; islocked 0: the caller does not
        // hold the mutex (see the module documentation; the test kernel
        // reports a recursion otherwise). killkn 0: `knlist_clear` (a
        // macro in sys/event.h, so called as its expansion), which leaves
        // each knote detached with EV_EOF for its waiter to read;
        // killkn 1 (`knlist_delete`) would drop them and a kevent(2)
        // waiter would never learn that the device went away.
        unsafe { sys::knlist_cleardel(self.note(), core::ptr::null_mut(), 0, 0) };
        // SAFETY: the selinfo is initialised; no poller is recorded after
        // this (the device is gone).
        unsafe { sys::seldrain(self.si.get()) };
        // SAFETY: the knlist is empty (cleared above); nothing refers to
        // the queue's memory afterwards, which may then be reused.
        unsafe { sys::knlist_destroy(self.note()) };
    }
}

/// `KNF_LISTLOCKED` as the `int` of `knote`.
const KNF_LISTLOCKED: c_int = {
    assert!(sys::KNF_LISTLOCKED <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::KNF_LISTLOCKED as c_int;
    v
};

/// The `filterops` of a source type.
struct Ops<H>(PhantomData<H>);

impl<H: PollSource> Ops<H> {
    const READ: sys::filterops = sys::filterops {
        f_isfd: 1,
        f_attach: None,
        f_detach: Some(detach::<H>),
        f_event: Some(event::<H, true>),
        f_touch: None,
        f_userdump: None,
    };
    const WRITE: sys::filterops = sys::filterops {
        f_isfd: 1,
        f_attach: None,
        f_detach: Some(detach::<H>),
        f_event: Some(event::<H, false>),
        f_touch: None,
        f_userdump: None,
    };
}

/// `f_detach`: the knote leaves the knlist.
///
/// # Safety
/// Called by kqueue for a knote attached by [`PollQueue::attach`], without
/// the knlist's mutex held.
unsafe extern "C" fn detach<H: PollSource>(kn: *mut sys::knote) {
    // SAFETY: the caller's contract: a live knote.
    let hook = unsafe { (*kn).kn_hook };
    // SAFETY: the caller's contract: `kn_hook` is the live `PollQueue<H>`
    // set by `attach` (its memory is reused only after every knote is
    // detached).
    let inner = unsafe { &*hook.cast::<PollQueue<H>>() };
    let si = inner.si.get();
    // SAFETY: only the field's address.
    let note = unsafe { &raw mut (*si).si_note };
    // SAFETY: the knote is on this knlist; islocked 0 (f_detach runs
    // without the knlist's lock).
    unsafe { sys::knlist_remove(note, kn, 0) };
}

/// `f_event`: sets `kn_data` and says whether the knote fires.
///
/// # Safety
/// Called by kqueue for a knote attached by [`PollQueue::attach`], with
/// the knlist's mutex (the source's) held.
unsafe extern "C" fn event<H: PollSource, const READ: bool>(
    kn: *mut sys::knote,
    _hint: c_long,
) -> c_int {
    // SAFETY: the caller's contract: a live knote.
    let hook = unsafe { (*kn).kn_hook };
    // SAFETY: the caller's contract: `kn_hook` is the live `PollQueue<H>`
    // set by `attach` (its memory is reused only after every knote is
    // detached).
    let inner = unsafe { &*hook.cast::<PollQueue<H>>() };
    let mutex = inner.source.mutex();
    if mutex.state() != inner.mtx {
        return 0;
    }
    // SAFETY: the kernel holds the knlist's mutex, the source's, for this
    // thread while it runs the filter (the caller's contract); the guard is
    // not dropped (the kernel releases the mutex) and the source sees only
    // `&Data`.
    let guard = ManuallyDrop::new(unsafe { mutex.assume_held::<Exclusive>(()) });
    let filter = if READ { Filter::Read } else { Filter::Write };
    let n = inner.source.ready(&guard, filter);
    // SAFETY: the live knote; `kn_data` is `kn_kevent.data`, which the
    // filter sets.
    unsafe { (*kn).kn_kevent.data = n };
    c_int::from(n > 0)
}
