// SPDX-License-Identifier: BSD-2-Clause
//! `/dev/rustfifo`: the device, its shared core, the idle callout and the
//! task that frees the storage.

use crate::ring::Ring;
use crate::{STATS, Stats};
use core::ffi::CStr;
use core::pin::Pin;
use kern::alloc::{Arc, Box};
use kern::callout::{Callout, CalloutHandler};
use kern::cdev::{CharacterDevice, File, Op, OpenFlags};
use kern::context::MaySleep;
use kern::ioctl::{FIOASYNC, FIONBIO, FIONREAD, IoctlCmd, IoctlData};
use kern::poll::{Filter, Knote, PollEvents, PollQueue, PollSource, PollWaiter};
use kern::prelude::*;
use kern::sync::{CondVar, Mutex, MutexGuard, SxLock, Wait};
use kern::taskqueue::{Task, TaskHandler};
use kern::uio::{UioReader, UioWriter};

/// Bytes moved per round through the lock (a stack buffer).
const CHUNK: usize = 256;

/// What the mutex protects.
pub(crate) struct State {
    ring: Ring,
    /// The device is being destroyed: every sleeper returns `ENXIO`.
    gone: bool,
    /// Readers sleeping for data (woken only if there are).
    readers_waiting: u32,
    /// Writers sleeping for room.
    writers_waiting: u32,
}

/// What the device, its callout and its task share.
///
/// Lock order: `writers` or `readers` (an `sx`, serialising the threads
/// of one direction), then `state`.
pub(crate) struct Core {
    state: Pin<Box<Mutex<State>>>,
    /// Readers sleep here until there is data.
    readable: CondVar,
    /// Writers sleep here until there is space.
    writable: CondVar,
    /// One reader at a time moves bytes out (between its copy and its
    /// consume, nobody else consumes).
    readers: Pin<Box<SxLock<()>>>,
    /// One writer at a time moves bytes in (the room it reserved stays
    /// its own); the idle task takes it too, so it never frees the
    /// storage under a writer.
    writers: Pin<Box<SxLock<()>>>,
}

impl Core {
    /// An empty FIFO without storage.
    pub(crate) fn new(cx: &mut Sleepable) -> Self {
        Self {
            state: Mutex::new(
                c"rustfifo",
                State {
                    ring: Ring::new(),
                    gone: false,
                    readers_waiting: 0,
                    writers_waiting: 0,
                },
                cx.waitok(),
            ),
            readable: CondVar::new(c"fiford"),
            writable: CondVar::new(c"fifowr"),
            readers: SxLock::new(c"rustfifo readers", (), cx.waitok()),
            writers: SxLock::new(c"rustfifo writers", (), cx.waitok()),
        }
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
/// callout may not take the writers' `sx`).
pub(crate) struct Idle {
    core: Arc<Core>,
    free: Arc<Task<FreeStorage>>,
}

impl CalloutHandler for Idle {
    type Data = State;

    fn mutex(&self) -> &Mutex<State> {
        &self.core.state
    }

    fn run(&self, state: &mut MutexGuard<'_, State>) -> Option<u32> {
        if state.ring.is_empty()
            && state.ring.allocated() > 0
            && state.readers_waiting == 0
            && !state.gone
        {
            self.free.enqueue(&*state);
        }
        None
    }
}

/// The task that frees the storage of an idle FIFO, in a thread that may
/// sleep, taking the locks in their order.
pub(crate) struct FreeStorage {
    core: Arc<Core>,
}

impl TaskHandler for FreeStorage {
    fn run(&self, _pending: u32, cx: &mut Sleepable) {
        let mut writers = self.core.writers.xlock(cx);
        let ((), cx) = writers.split();
        let mut state = self.core.state.lock(cx);
        let storage = if state.readers_waiting == 0 {
            state.ring.take_storage()
        } else {
            None
        };
        drop(state);
        let freed = storage.is_some();
        // Freed here, outside the mutex, and before it is counted: whoever
        // reads `idle_frees` then finds the memory gone.
        drop(storage);
        if freed {
            Stats::count(&STATS.idle_frees, 1);
        }
    }
}

/// What `poll(2)` and `kqueue(2)` see: bytes to read, room to write;
/// both ready once the device is gone (the call then fails with `ENXIO`).
pub(crate) struct Readiness(Arc<Core>);

impl PollSource for Readiness {
    type Data = State;

    fn mutex(&self) -> &Mutex<State> {
        &self.0.state
    }

    fn ready(&self, state: &State, filter: Filter) -> i64 {
        let n = match filter {
            _ if state.gone => 1,
            Filter::Read => state.ring.len(),
            Filter::Write => state.ring.space(STATS.capacity()),
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }
}

/// The device: the core, the idle callout (which holds the task) and the
/// pollers and knotes.
pub(crate) struct Fifo {
    core: Arc<Core>,
    idle: Callout<Idle>,
    poll: PollQueue<Readiness>,
}

impl Fifo {
    /// The device, its callout and its task.
    pub(crate) fn new(cx: &mut Sleepable) -> Self {
        let core = Arc::new(Core::new(cx), cx.waitok());
        let task = Task::new(FreeStorage { core: core.clone() }, cx);
        let free = Arc::new(task, cx.waitok());
        let idle = Callout::new(
            Idle {
                core: core.clone(),
                free,
            },
            cx,
        );
        let poll = PollQueue::new(Readiness(core.clone()), cx);
        Self { core, idle, poll }
    }

    /// Wakes the pollers and fires the knotes, under the mutex.
    fn notify(&self, state: &mut MutexGuard<'_, State>) {
        // Cannot fail: `state` is the guard of the queue's mutex.
        let _notified = self.poll.notify(state);
    }

    /// Arms the idle callout if the FIFO is empty and holds storage.
    fn arm_idle(&self, state: &mut MutexGuard<'_, State>) {
        let ms = STATS.idle_ms();
        if ms != 0 && state.ring.is_empty() && state.ring.allocated() > 0 {
            // Cannot fail: `state` is the guard of the callout's mutex.
            let _rearmed = self.idle.reset(state, ms);
        }
    }

    /// Wakes the sleepers of `cv` (called only when some sleep, so the
    /// count shows real wakeups).
    fn wake(cv: &CondVar) {
        Stats::count(&STATS.wakeups, 1);
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
    fn read(&self, file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let core = &*self.core;
        let mut serial = core.readers.xlock_sig(cx)?;
        let ((), cx) = serial.split();
        let mut chunk = [0u8; CHUNK];
        let mut moved = 0usize;
        while uio.resid() > 0 {
            let mut blocked = false;
            let n = {
                let mut state = core.state.lock(cx);
                if state.ring.is_empty() && !state.gone && moved == 0 && !file.nonblocking() {
                    drop(state);
                    blocked = true;
                    core.sleep_while(
                        &core.readable,
                        cx,
                        |s| s.ring.is_empty() && !s.gone,
                        |s| &mut s.readers_waiting,
                    )?;
                    state = core.state.lock(cx);
                }
                // Gone: what was moved is returned (it left the FIFO), as
                // rustfifo(4) says; ENXIO only before any byte.
                if state.gone {
                    if moved > 0 {
                        break;
                    }
                    return Err(ENXIO);
                }
                if state.ring.is_empty() {
                    if moved == 0 {
                        return Err(EAGAIN);
                    }
                    break;
                }
                let want = uio.resid().min(CHUNK);
                state.ring.peek(chunk.get_mut(..want).unwrap_or(&mut []))
            };
            if blocked {
                Stats::count(&STATS.blocked_reads, 1);
            }
            uio.move_out(chunk.get(..n).unwrap_or(&[]), cx)?;
            let mut state = core.state.lock(cx);
            state.ring.consume(n);
            self.arm_idle(&mut state);
            self.notify(&mut state);
            let writers = state.writers_waiting > 0;
            drop(state);
            if writers {
                Self::wake(&core.writable);
            }
            moved = moved.saturating_add(n);
        }
        Stats::count(&STATS.reads, 1);
        Stats::count(&STATS.bytes_out, moved);
        Ok(())
    }

    /// Appends the request; sleeps while the FIFO is full. Non-blocking:
    /// what fits, `EAGAIN` if nothing does.
    fn write(&self, file: &File<'_, Self>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let core = &*self.core;
        let mut serial = core.writers.xlock_sig(cx)?;
        let ((), cx) = serial.split();
        let mut chunk = [0u8; CHUNK];
        let mut moved = 0usize;
        while uio.resid() > 0 {
            let capacity = STATS.capacity();
            let mut blocked = false;
            let room = {
                let mut state = core.state.lock(cx);
                if state.ring.space(capacity) == 0 && !state.gone && !file.nonblocking() {
                    drop(state);
                    blocked = true;
                    core.sleep_while(
                        &core.writable,
                        cx,
                        |s| s.ring.space(capacity) == 0 && !s.gone,
                        |s| &mut s.writers_waiting,
                    )?;
                    state = core.state.lock(cx);
                }
                // Gone: what was moved is returned (it left the FIFO), as
                // rustfifo(4) says; ENXIO only before any byte.
                if state.gone {
                    if moved > 0 {
                        break;
                    }
                    return Err(ENXIO);
                }
                let want = uio.resid().min(CHUNK);
                match state.ring.reserve(want, capacity) {
                    // A short write rather than an error once bytes went in.
                    Err(_) if moved > 0 => break,
                    Err(e) => return Err(e),
                    Ok(room) => room.min(want).min(state.ring.space(capacity)),
                }
            };
            if blocked {
                Stats::count(&STATS.blocked_writes, 1);
            }
            if room == 0 {
                if moved == 0 {
                    return Err(EAGAIN);
                }
                break;
            }
            let buf = chunk.get_mut(..room).unwrap_or(&mut []);
            let n = uio.move_in(buf, cx)?;
            let mut state = core.state.lock(cx);
            // The room is still there: only this writer adds, and the idle
            // task frees storage only under the writers' lock.
            let pushed = state.ring.push(chunk.get(..n).unwrap_or(&[]));
            // Cannot fail, as in `arm_idle`; it may not have been pending.
            let _stopped = self.idle.stop(&mut state);
            self.notify(&mut state);
            let readers = state.readers_waiting > 0;
            drop(state);
            if readers {
                Self::wake(&core.readable);
            }
            moved = moved.saturating_add(pushed);
        }
        Stats::count(&STATS.writes, 1);
        Stats::count(&STATS.bytes_in, moved);
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
        if state.ring.space(STATS.capacity()) > 0 || state.gone {
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
