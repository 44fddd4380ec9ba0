// SPDX-License-Identifier: BSD-2-Clause
//! `/dev/rustfifo`: the device, its shared core, the idle callout and the
//! task that frees the storage.
//!
//! Bytes move as in `pipe(2)`: a writer holds the writers' `sx` (and with
//! it the ring's [`Producer`]), takes a slot of the ring's free bytes under
//! the mutex, copies into it from the user with the mutex released, and
//! commits what arrived under the mutex; a reader does the same with the
//! readers' `sx`, the [`Consumer`] and the queued bytes. One copy per
//! byte each way, one round of the mutex per call.

// `#[pin_data]` (pinned-init) gives each structure a `Copy` companion
// with a hand-written `Clone`: its expansion, not ours.
#![allow(
    clippy::expl_impl_clone_on_copy,
    reason = "the expansion of pinned-init's #[pin_data]"
)]

use crate::{STATS, Stats};
use core::ffi::CStr;
use core::pin::Pin;
use kern::alloc::Arc;
use kern::callout::{Callout, CalloutHandler};
use kern::cdev::{CharacterDevice, File, Op, OpenFlags};
use kern::context::MaySleep;
use kern::init::{PinInit, pin_arc, pin_data, pin_init};
use kern::ioctl::{FIOASYNC, FIONBIO, FIONREAD, IoctlCmd, IoctlData};
use kern::malloc::KernelAllocator;
use kern::poll::{Filter, Knote, PollEvents, PollQueue, PollSource, PollWaiter};
use kern::prelude::*;
use kern::ring::{self, Unique};

/// The brand of the FIFO's ring: one ring of it at a time in the module,
/// so the ring knows its tokens and slots by their type and checks no
/// identity at run time ([`Unique`]).
pub(crate) enum FifoRing {}

/// The FIFO's ring.
type ByteRing = ring::ByteRing<KernelAllocator, Unique<FifoRing>>;
/// The FIFO ring's producer token.
type Producer = ring::Producer<KernelAllocator, Unique<FifoRing>>;
/// The FIFO ring's consumer token.
type Consumer = ring::Consumer<KernelAllocator, Unique<FifoRing>>;
/// A slot of the FIFO ring's free bytes.
type WriteSlot<'p> = ring::WriteSlot<'p, Unique<FifoRing>>;
/// A slot of the FIFO ring's queued bytes.
type ReadSlot<'c> = ring::ReadSlot<'c, Unique<FifoRing>>;
use kern::sync::{CondVar, Mutex, MutexGuard, SxLock, Wait};
use kern::taskqueue::{Task, TaskHandler};
use kern::uio::{UioReader, UioWriter};

/// What the mutex protects.
pub(crate) struct State {
    /// The bytes queued and their storage.
    ring: ByteRing,
    /// The device is being destroyed: every sleeper returns `ENXIO`.
    gone: bool,
    /// Readers sleeping for data (woken only if there are).
    readers_waiting: u32,
    /// Writers sleeping for room.
    writers_waiting: u32,
    /// The idle callout is pending.
    idle_armed: bool,
    /// How many times a read emptied the FIFO (wrapping).
    emptied: u32,
    /// `emptied` when the idle callout was last armed.
    idle_mark: u32,
}

impl State {
    /// How many more bytes the FIFO accepts under `capacity`.
    fn space(&self, capacity: usize) -> usize {
        capacity.saturating_sub(self.ring.len())
    }
}

/// What the device, its callout and its task share: one allocation, its
/// locks initialised in place.
///
/// Lock order: `writers` or `readers` (an `sx`, serialising the threads
/// of one direction), then `state`.
#[pin_data]
pub(crate) struct Core {
    #[pin]
    state: Mutex<State>,
    /// Readers sleep here until there is data.
    readable: CondVar,
    /// Writers sleep here until there is space.
    writable: CondVar,
    /// One reader at a time moves bytes out: the ring's consumer.
    #[pin]
    readers: SxLock<Consumer>,
    /// One writer at a time moves bytes in: the ring's producer, which
    /// alone grows or frees the storage; the idle task takes it too.
    #[pin]
    writers: SxLock<Producer>,
}

impl Core {
    /// An empty FIFO without storage, built in place with its three
    /// locks (no allocation of their own; the ring's shared header is
    /// one `M_WAITOK` allocation).
    #[allow(
        clippy::mem_forget,
        reason = "pin_init! forgets its drop guards once every field is initialised"
    )]
    pub(crate) fn new(cx: &mut Sleepable) -> Result<impl PinInit<Self> + use<>> {
        let (ring, producer, consumer) = ByteRing::new_branded(cx.waitok())?;
        Ok(pin_init!(Self {
            state <- Mutex::new_in_place(
                c"rustfifo",
                State {
                    ring,
                    gone: false,
                    readers_waiting: 0,
                    writers_waiting: 0,
                    idle_armed: false,
                    emptied: 0,
                    idle_mark: 0,
                },
            ),
            readable: CondVar::new(c"fiford"),
            writable: CondVar::new(c"fifowr"),
            readers <- SxLock::new_in_place(c"rustfifo readers", consumer),
            writers <- SxLock::new_in_place(c"rustfifo writers", producer),
        }))
    }
}

impl Core {
    /// Sleeps on `cv` (interruptibly) while `blocked` holds, counted in
    /// `waiters` while it sleeps; returns with the mutex released.
    fn sleep_while<C: MaySleep>(
        &self,
        cv: &CondVar,
        cx: &mut C,
        blocked: impl Fn(&State) -> bool,
        waiters: fn(&mut State) -> &mut u32,
    ) -> Result {
        let mut counted = false;
        let err = match cv.wait_while(&self.state, cx, Wait::INTERRUPTIBLE, |s| {
            let wait = blocked(s);
            if wait && !counted {
                let n = waiters(s);
                *n = n.saturating_add(1);
                counted = true;
            }
            wait
        }) {
            Ok(mut state) => {
                if counted {
                    let n = waiters(&mut state);
                    *n = n.saturating_sub(1);
                }
                return Ok(());
            }
            Err(e) => e,
        };
        // Interrupted or timed out: the guard is gone; count out again.
        if counted {
            let mut state = self.state.lock(cx);
            let n = waiters(&mut state);
            *n = n.saturating_sub(1);
        }
        Err(err)
    }
}

/// The idle callout: once the FIFO has stayed empty for
/// `hw.rustfifo.idle_ms`, it queues the task that frees the storage (the
/// callout may not take the writers' `sx`). The task lives in the
/// callout's handler, in place: the callout is drained before it.
///
/// It is armed by a read that empties the FIFO, unless already pending,
/// and never stopped by a write: I/O does not touch it while it is
/// pending. When it runs, the FIFO has stayed empty since it was armed if
/// no read has emptied it since (a write in between would have needed
/// one); then the storage goes. If a read emptied it later, it waits
/// `idle_ms` again; if the FIFO holds bytes, it stops until a read empties
/// it. So the storage goes between `idle_ms` and twice that after the
/// FIFO became empty, and a busy FIFO costs one run per `idle_ms`.
#[pin_data]
pub(crate) struct Idle {
    core: Pin<Arc<Core>>,
    #[pin]
    free: Task<FreeStorage>,
}

impl CalloutHandler for Idle {
    type Data = State;

    fn mutex(&self) -> &Mutex<State> {
        &self.core.state
    }

    fn run(&self, state: &mut MutexGuard<'_, State>) -> Option<u32> {
        let ms = STATS.idle_ms();
        let idle = state.ring.is_empty()
            && state.ring.allocated() > 0
            && state.readers_waiting == 0
            && !state.gone
            && ms != 0;
        if idle && state.idle_mark != state.emptied {
            // Emptied again since it was armed: a full delay from now.
            state.idle_mark = state.emptied;
            return Some(ms);
        }
        if idle {
            self.free.enqueue(&*state);
        }
        state.idle_armed = false;
        None
    }
}

/// The task that frees the storage of an idle FIFO, in a thread that may
/// sleep, taking the locks in their order.
pub(crate) struct FreeStorage {
    core: Pin<Arc<Core>>,
}

impl TaskHandler for FreeStorage {
    fn run(&self, _pending: u32, cx: &mut Sleepable) {
        let mut writers = self.core.writers.xlock(cx);
        let (producer, cx) = writers.split();
        let mut state = self.core.state.lock(cx);
        // Only if still empty; freed before it is counted, so whoever reads
        // `idle_frees` then finds the memory gone.
        let freed = state.readers_waiting == 0 && state.ring.release(producer);
        drop(state);
        if freed {
            Stats::count(STATS.idle_frees(), 1);
        }
    }
}

/// What `poll(2)` and `kqueue(2)` see: bytes to read, room to write;
/// both ready once the device is gone (the call then fails with `ENXIO`).
pub(crate) struct Readiness(Pin<Arc<Core>>);

impl PollSource for Readiness {
    type Data = State;

    fn mutex(&self) -> &Mutex<State> {
        &self.0.state
    }

    fn ready(&self, state: &State, filter: Filter) -> i64 {
        let n = match filter {
            _ if state.gone => 1,
            Filter::Read => state.ring.len(),
            Filter::Write => state.space(STATS.capacity()),
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }
}

/// The device: the core, the idle callout (which holds the task) and the
/// pollers and knotes. The callout, the task and the poll queue are
/// initialised in place in the device's shared allocation
/// ([`Registration::register_in_place`](kern::cdev::Registration::register_in_place)):
/// with the core, two allocations in all.
#[pin_data]
pub(crate) struct Fifo {
    core: Pin<Arc<Core>>,
    #[pin]
    idle: Callout<Idle>,
    #[pin]
    poll: PollQueue<Readiness>,
}

impl Fifo {
    /// The device, its callout and its task: the core is allocated here
    /// (`M_WAITOK`), the rest is initialised where the device state goes.
    #[allow(
        clippy::mem_forget,
        reason = "pin_init! forgets its drop guards once every field is initialised"
    )]
    pub(crate) fn new(cx: &mut Sleepable) -> Result<impl PinInit<Self> + use<>> {
        let core = pin_arc(Core::new(cx)?, cx.waitok());
        let (idle, task, poll) = (core.clone(), core.clone(), core.clone());
        Ok(pin_init!(Self {
            core,
            idle <- Callout::new_in_place(pin_init!(Idle {
                core: idle,
                free <- Task::new_in_place(FreeStorage { core: task }),
            })),
            poll <- PollQueue::new_in_place(Readiness(poll)),
        }))
    }

    /// Wakes the pollers and fires the knotes, under the mutex.
    fn notify(&self, state: &mut MutexGuard<'_, State>) {
        // Cannot fail: `state` is the guard of the queue's mutex.
        let _notified = self.poll.notify(state);
    }

    /// A read emptied the FIFO: arms the idle callout unless it is
    /// pending (see [`Idle`]).
    fn emptied(&self, state: &mut MutexGuard<'_, State>) {
        state.emptied = state.emptied.wrapping_add(1);
        if !state.idle_armed {
            self.arm_idle(state);
        }
    }

    /// Arms the idle callout if the FIFO holds storage.
    #[cold]
    #[inline(never)]
    fn arm_idle(&self, state: &mut MutexGuard<'_, State>) {
        let ms = STATS.idle_ms();
        // Cannot fail: `state` is the guard of the callout's mutex.
        if ms != 0 && state.ring.allocated() > 0 && self.idle.reset(state, ms).is_ok() {
            state.idle_armed = true;
            state.idle_mark = state.emptied;
        }
    }

    /// Copies the user's bytes into a write slot with the mutex released,
    /// then, under the mutex, appends what arrived and tells the pollers
    /// and the sleeping readers (not the idle callout: see [`Idle`]).
    /// Returns the bytes appended and how the copy ended (a fault appends
    /// what came before it, out of line, so that the usual case carries
    /// no result across the commit).
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    fn fill_and_commit(
        &self,
        core: &Core,
        mut slot: WriteSlot<'_>,
        uio: &mut UioReader<'_>,
        cx: &mut SxSleepable,
    ) -> (usize, Result) {
        if let Err(e) = slot.fill_from(uio, cx) {
            return (self.commit_write_outlined(core, slot, cx), Err(e));
        }
        (self.commit_write(core, slot, cx), Ok(()))
    }

    /// [`commit_write`](Self::commit_write) out of line: after a copy that
    /// faulted, and in [`write_rounds`](Self::write_rounds) (both off the
    /// usual path, hence cold).
    #[cold]
    #[inline(never)]
    fn commit_write_outlined(
        &self,
        core: &Core,
        slot: WriteSlot<'_>,
        cx: &mut SxSleepable,
    ) -> usize {
        self.commit_write(core, slot, cx)
    }

    /// Under the mutex, appends what `slot` was filled with and tells the
    /// pollers and the sleeping readers; returns the bytes appended.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    fn commit_write(&self, core: &Core, slot: WriteSlot<'_>, cx: &mut SxSleepable) -> usize {
        // The poll queue's own lock is `core.state` (its source's mutex), so
        // its guard notifies with no identity check.
        let mut state = self.poll.lock(cx);
        let n = state.ring.commit_write(slot);
        state.notify();
        if state.readers_waiting > 0 {
            Self::wake(&core.readable);
        }
        n
    }

    /// Copies a read slot's bytes to the user with the mutex released,
    /// then, under the mutex, removes what went out, arms the idle callout
    /// if the FIFO is now empty, and tells the pollers and the sleeping
    /// writers. Returns the bytes removed, how the copy ended (a fault
    /// removes what went out before it, out of line as for a write), and
    /// whether the FIFO is now empty.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    fn drain_and_commit(
        &self,
        core: &Core,
        mut slot: ReadSlot<'_>,
        uio: &mut UioWriter<'_>,
        cx: &mut SxSleepable,
    ) -> (usize, Result, bool) {
        if let Err(e) = slot.drain_to(uio, cx) {
            let (n, empty) = self.commit_read_outlined(core, slot, cx);
            return (n, Err(e), empty);
        }
        let (n, empty) = self.commit_read(core, slot, cx);
        (n, Ok(()), empty)
    }

    /// [`commit_read`](Self::commit_read) out of line: after a copy that
    /// faulted, and in [`read_rounds`](Self::read_rounds) (both off the
    /// usual path, hence cold).
    #[cold]
    #[inline(never)]
    fn commit_read_outlined(
        &self,
        core: &Core,
        slot: ReadSlot<'_>,
        cx: &mut SxSleepable,
    ) -> (usize, bool) {
        self.commit_read(core, slot, cx)
    }

    /// Under the mutex, removes what `slot` was drained of, arms the idle
    /// callout if the FIFO is now empty, and tells the pollers and the
    /// sleeping writers; returns the bytes removed and whether the FIFO is
    /// now empty.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    fn commit_read(&self, core: &Core, slot: ReadSlot<'_>, cx: &mut SxSleepable) -> (usize, bool) {
        // As in `commit_write`: the poll queue's lock is `core.state`.
        let mut state = self.poll.lock(cx);
        let n = state.ring.commit_read(slot);
        let empty = state.ring.is_empty();
        if empty {
            self.emptied(&mut state);
        }
        state.notify();
        if state.writers_waiting > 0 {
            Self::wake(&core.writable);
        }
        (n, empty)
    }

    /// A read in rounds: sleeps while the FIFO is empty (unless
    /// non-blocking, or bytes were already read), then moves the bytes
    /// queued, until the request is done or the FIFO is empty. Returns the
    /// bytes read (`moved` before it, plus its own).
    #[inline(never)]
    fn read_rounds(
        &self,
        file: &File<'_, Self>,
        uio: &mut UioWriter<'_>,
        consumer: &mut Consumer,
        cx: &mut SxSleepable,
        mut moved: usize,
    ) -> Result<usize> {
        let core = &*self.core;
        while uio.resid() > 0 {
            let mut state = core.state.lock(cx);
            // Gone: what was moved is returned (it left the FIFO), as
            // rustfifo(4) says; ENXIO only before any byte.
            if state.gone {
                if moved > 0 {
                    break;
                }
                return Err(ENXIO);
            }
            if state.ring.is_empty() {
                if moved > 0 {
                    break;
                }
                if file.nonblocking() {
                    return Err(EAGAIN);
                }
                drop(state);
                core.sleep_while(
                    &core.readable,
                    cx,
                    |s| s.ring.is_empty() && !s.gone,
                    |s| &mut s.readers_waiting,
                )?;
                Stats::count(STATS.blocked_reads(), 1);
                continue;
            }
            let slot = state.ring.read_slot(consumer, uio.resid())?;
            drop(state);
            let mut slot = slot;
            let copied = slot.drain_to(uio, cx).map(drop);
            let (n, _empty) = self.commit_read_outlined(core, slot, cx);
            // At most the request (an `ssize_t`): no wrap.
            moved = moved.wrapping_add(n);
            copied?;
        }
        Ok(moved)
    }

    /// A write in rounds: sleeps while the FIFO is full (unless
    /// non-blocking), grows the storage as needed, and moves what fits,
    /// until the request is done. Returns the bytes written (`moved` before
    /// it, plus its own).
    #[inline(never)]
    fn write_rounds(
        &self,
        file: &File<'_, Self>,
        uio: &mut UioReader<'_>,
        producer: &mut Producer,
        cx: &mut SxSleepable,
        mut moved: usize,
    ) -> Result<usize> {
        let core = &*self.core;
        while uio.resid() > 0 {
            let mut state = core.state.lock(cx);
            // Gone: what was moved is returned (it left the FIFO), as
            // rustfifo(4) says; ENXIO only before any byte.
            if state.gone {
                if moved > 0 {
                    break;
                }
                return Err(ENXIO);
            }
            let capacity = STATS.capacity();
            let space = state.space(capacity);
            if space == 0 {
                if file.nonblocking() {
                    if moved == 0 {
                        return Err(EAGAIN);
                    }
                    break;
                }
                drop(state);
                core.sleep_while(
                    &core.writable,
                    cx,
                    |s| s.space(capacity) == 0 && !s.gone,
                    |s| &mut s.writers_waiting,
                )?;
                Stats::count(STATS.blocked_writes(), 1);
                continue;
            }
            let want = uio.resid().min(space);
            if let Err(e) = state.ring.reserve(producer, want, capacity) {
                // A short write rather than an error once bytes went in;
                // nothing queued is lost.
                if moved == 0 {
                    return Err(e);
                }
                break;
            }
            let slot = state.ring.write_slot(producer, want)?;
            drop(state);
            let mut slot = slot;
            let copied = slot.fill_from(uio, cx).map(drop);
            let n = self.commit_write_outlined(core, slot, cx);
            // At most the request (an `ssize_t`): no wrap.
            moved = moved.wrapping_add(n);
            copied?;
        }
        Ok(moved)
    }

    /// Wakes the sleepers of `cv` (called only when some sleep, so the
    /// count shows real wakeups).
    fn wake(cv: &CondVar) {
        Stats::count(STATS.wakeups(), 1);
        cv.notify_all();
    }
}

#[kern::vtable]
impl CharacterDevice for Fifo {
    const NAME: &'static CStr = c"rustfifo";
    type Open = ();

    fn open(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result<()> {
        Ok(())
    }

    /// Up to the request from the oldest bytes; sleeps while the FIFO is
    /// empty, unless non-blocking (`EAGAIN`). Returns as soon as it has
    /// moved some bytes.
    ///
    /// The usual case, bytes queued, is one round: a slot of them under
    /// the mutex, the copy to the user without it, the commit under it.
    /// Anything else (waiting, more bytes arriving meanwhile) goes on in
    /// [`read_rounds`](Fifo::read_rounds).
    fn read(&self, file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let core = &*self.core;
        let mut serial = core.readers.xlock_sig(cx)?;
        let (consumer, cx) = serial.split();
        let mut moved = 0usize;
        let mut state = core.state.lock(cx);
        if !state.gone && !state.ring.is_empty() && uio.resid() > 0 {
            let slot = state.ring.read_slot(consumer, uio.resid())?;
            drop(state);
            let (n, copied, empty) = self.drain_and_commit(core, slot, uio, cx);
            copied?;
            moved = n;
            if uio.resid() > 0 && !empty {
                moved = self.read_rounds(file, uio, consumer, cx, moved)?;
            }
        } else {
            drop(state);
            moved = self.read_rounds(file, uio, consumer, cx, moved)?;
        }
        Stats::count(STATS.reads(), 1);
        Stats::count(STATS.bytes_out(), moved);
        Ok(())
    }

    /// Appends the request; sleeps while the FIFO is full. Non-blocking:
    /// what fits, `EAGAIN` if nothing does.
    ///
    /// The usual case, room for the whole request in the storage, is one
    /// round: a slot of free bytes under the mutex, the copy from the user
    /// without it, the commit under it. Anything else (waiting, growing
    /// the storage, a request larger than the room) goes on in
    /// [`write_rounds`](Fifo::write_rounds).
    fn write(&self, file: &File<'_, Self>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let core = &*self.core;
        let mut serial = core.writers.xlock_sig(cx)?;
        let (producer, cx) = serial.split();
        let mut moved = 0usize;
        let want = uio.resid();
        let mut state = core.state.lock(cx);
        if !state.gone
            && want > 0
            && want <= state.space(STATS.capacity())
            && want <= state.ring.room()
        {
            let slot = state.ring.write_slot(producer, want)?;
            drop(state);
            let (n, copied) = self.fill_and_commit(core, slot, uio, cx);
            copied?;
            moved = n;
            if uio.resid() > 0 {
                moved = self.write_rounds(file, uio, producer, cx, moved)?;
            }
        } else {
            drop(state);
            moved = self.write_rounds(file, uio, producer, cx, moved)?;
        }
        Stats::count(STATS.writes(), 1);
        Stats::count(STATS.bytes_in(), moved);
        Ok(())
    }

    fn ioctl(
        &self,
        _file: &File<'_, Self>,
        cmd: IoctlCmd,
        data: &mut IoctlData<'_>,
        cx: &mut Sleepable,
    ) -> Result {
        match cmd {
            FIONREAD => {
                let n = self.core.state.lock(cx).ring.len();
                data.write(&i32::try_from(n).unwrap_or(i32::MAX))
            }
            // Asynchronous I/O (SIGIO) is not supported; turning it off is.
            FIOASYNC if data.read::<i32>()? != 0 => Err(EINVAL),
            // Non-blocking I/O is read from each call's flags
            // (fcntl(F_SETFL, O_NONBLOCK) sends FIONBIO and must succeed).
            FIONBIO | FIOASYNC => Ok(()),
            _ => Err(ENOIOCTL),
        }
    }

    /// `POLLIN`/`POLLRDNORM` while bytes are queued,
    /// `POLLOUT`/`POLLWRNORM` while there is room, `POLLHUP` once the
    /// device is gone; otherwise the poller is recorded under the mutex.
    fn poll(
        &self,
        _file: &File<'_, Self>,
        events: PollEvents,
        waiter: &mut PollWaiter<'_>,
        cx: &mut Sleepable,
    ) -> PollEvents {
        let state = self.core.state.lock(cx);
        let mut ready = PollEvents::empty();
        if state.gone {
            ready = PollEvents::HUP;
        }
        if !state.ring.is_empty() || state.gone {
            ready = ready | (events & (PollEvents::IN | PollEvents::RDNORM));
        }
        if state.space(STATS.capacity()) > 0 || state.gone {
            ready = ready | (events & (PollEvents::OUT | PollEvents::WRNORM));
        }
        if ready.is_empty() {
            self.poll.record(waiter);
        }
        ready
    }

    /// `EVFILT_READ` (`data`: bytes queued) and `EVFILT_WRITE` (`data`:
    /// room).
    fn kqfilter(&self, _file: &File<'_, Self>, knote: &mut Knote<'_>) -> Result {
        self.poll.attach(knote)
    }

    /// `destroy_dev`: every sleeper wakes and returns `ENXIO`; pollers
    /// and knotes are notified.
    fn purge(&self, cx: &mut NoSleep) {
        let mut state = self.core.state.lock(cx);
        state.gone = true;
        self.notify(&mut state);
        drop(state);
        Self::wake(&self.core.readable);
        Self::wake(&self.core.writable);
    }

    fn error(&self, _op: Op, err: Error) {
        STATS.failed(err);
    }
}
