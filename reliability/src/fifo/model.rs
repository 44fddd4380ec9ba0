// SPDX-License-Identifier: BSD-2-Clause
//! A model of `/dev/rustfifo` with blocking in it, and the [`Runner`]
//! that applies the same operations to the module and to the model.
//!
//! The model is the byte stream not yet read (what is queued, then what a
//! blocked writer has still to queue), the capacity, and at most one
//! thread blocked in the module: a reader on an empty FIFO or a writer
//! on a full one. A blocking call the model says must sleep runs on a
//! thread of its own; after each step the runner waits until that thread
//! has either returned or is asleep again in the module, then checks:
//! - a returned reader got the stream's next bytes (at least one, at most
//!   its request); a returned writer its whole count, or after a signal
//!   the count it queued (`EINTR` if none);
//! - a reader still asleep means the FIFO is empty, a writer still asleep
//!   that it is full: otherwise a wakeup was missed;
//! - `FIONREAD`, `poll(2)` and `kevent(2)` (`EVFILT_READ`, `EVFILT_WRITE`
//!   and their `data`) agree with the model;
//! - at the end, the bytes left are the stream's, and unloading leaks
//!   nothing.
//!
//! Where the module may legitimately do more than the model can time (a
//! read that also takes what a woken writer queued meanwhile, a
//! non-blocking write that also fills the room a woken reader made), the
//! check accepts a range and the model follows what the module did.

use super::{DEV, EVFILT_READ, EVFILT_WRITE, POLLIN, POLLOUT, READ_WAIT, WRITE_WAIT, queued};
use crate::device::pattern;
use crate::tally::Tally;
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, O_NONBLOCK, O_RDWR, PollFd, SysResult};
use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One step.
#[derive(Clone, Debug)]
pub enum Op {
    /// `write(2)` of `len` new bytes.
    Write {
        /// Bytes.
        len: usize,
        /// Through the `O_NONBLOCK` file.
        nonblock: bool,
    },
    /// `read(2)` of up to `len` bytes.
    Read {
        /// Bytes asked for.
        len: usize,
        /// Through the `O_NONBLOCK` file.
        nonblock: bool,
    },
    /// A non-blocking write with every allocation failing.
    WriteNoMem {
        /// Bytes.
        len: usize,
    },
    /// `hw.rustfifo.capacity`.
    Capacity(u64),
    /// A signal to the blocked thread, if any.
    Signal,
    /// `poll(2)` and `kevent(2)`, without waiting.
    Readiness,
    /// The clock jumps past `idle_ms`: the idle callout and task run.
    Idle,
}

/// A thread blocked in the module.
enum Blocked {
    Reader {
        h: JoinHandle<SysResult<Vec<u8>>>,
        len: usize,
    },
    Writer {
        h: JoinHandle<SysResult<usize>>,
        len: usize,
    },
}

impl Blocked {
    fn thread(&self) -> std::thread::ThreadId {
        match self {
            Self::Reader { h, .. } => h.thread().id(),
            Self::Writer { h, .. } => h.thread().id(),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Self::Reader { h, .. } => h.is_finished(),
            Self::Writer { h, .. } => h.is_finished(),
        }
    }
}

/// How long a thread may take to return or to sleep again.
const SETTLE: Duration = Duration::from_secs(5);

/// The module and the model, side by side.
pub struct Runner<'t> {
    t: &'t Tally,
    k: Kernel,
    id: i32,
    fd: i32,
    nb: i32,
    /// Bytes written and not read, oldest first.
    stream: VecDeque<u8>,
    cap: usize,
    blocked: Option<Blocked>,
    writes: u64,
}

type Check = Result<(), String>;

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Check {
    if ok { Ok(()) } else { Err(what()) }
}

impl<'t> Runner<'t> {
    /// A fresh kernel with the module loaded and two files open.
    ///
    /// # Errors
    /// If it does not load.
    pub fn new(t: &'t Tally) -> Result<Self, String> {
        let k = Kernel::new();
        let id = k
            .kldload(module_path(super::MODULE))
            .map_err(|e| format!("kldload: {e:?}"))?;
        let fd = k.open(DEV, O_RDWR).map_err(|e| format!("{e:?}"))?;
        let nb = k
            .open(DEV, O_RDWR | O_NONBLOCK)
            .map_err(|e| format!("{e:?}"))?;
        k.sysctl_set("hw.rustfifo.capacity", "100")
            .map_err(|e| format!("{e:?}"))?;
        t.ops_ok(4);
        Ok(Self {
            t,
            k,
            id,
            fd,
            nb,
            stream: VecDeque::new(),
            cap: 100,
            blocked: None,
            writes: 0,
        })
    }

    fn data(&mut self, len: usize) -> Vec<u8> {
        self.writes += 1;
        pattern(self.writes, len)
    }

    fn space(&self) -> usize {
        self.cap.saturating_sub(self.stream.len())
    }

    /// Applies `op` to both.
    ///
    /// # Errors
    /// The first difference.
    pub fn step(&mut self, op: &Op) -> Check {
        match (op, &self.blocked) {
            (Op::Write { len, nonblock }, None) => self.write(*len, *nonblock)?,
            // Behind a blocked writer a write waits for the writers' lock;
            // with a blocked reader the FIFO is empty: a blocking write
            // over the capacity would wait for ever.
            (Op::Write { len, nonblock }, Some(Blocked::Reader { .. })) => {
                let len = if *nonblock {
                    *len
                } else {
                    (*len).min(self.cap)
                };
                self.write(len, *nonblock)?;
            }
            // A read waits for the readers' lock behind a blocked reader.
            (Op::Read { len, nonblock }, None | Some(Blocked::Writer { .. })) => {
                self.read(*len, *nonblock)?;
            }
            (Op::WriteNoMem { len }, None) => self.write_nomem(*len)?,
            (Op::Capacity(c), None | Some(Blocked::Reader { .. })) => {
                let r = self.k.sysctl_set("hw.rustfifo.capacity", &c.to_string());
                self.t.op(&r);
                if (1..=super::CAPACITY_MAX).contains(c) {
                    ensure(r.is_ok(), || format!("capacity {c}: {r:?}"))?;
                    self.cap = usize::try_from(*c).unwrap_or(usize::MAX);
                } else {
                    ensure(matches!(&r, Err(e) if *e == Errno::EINVAL), || {
                        format!("capacity {c}: {r:?}")
                    })?;
                }
            }
            (Op::Signal, Some(b)) => {
                let tid = b.thread();
                self.k.post_signal(tid, false);
                self.t.faults(1);
            }
            (Op::Readiness, _) => self.readiness()?,
            (Op::Idle, _) => {
                self.k.advance_clock(Duration::from_secs(2));
            }
            _ => {}
        }
        self.settle()?;
        self.check_queued()
    }

    fn write(&mut self, len: usize, nonblock: bool) -> Check {
        let data = self.data(len);
        let space = self.space();
        if !nonblock && len > space && self.blocked.is_none() {
            let (k, fd, d) = (self.k.clone(), self.fd, data.clone());
            let h = std::thread::spawn(move || k.write(fd, &d));
            self.stream.extend(&data);
            self.blocked = Some(Blocked::Writer { h, len });
            return Ok(());
        }
        let r = self
            .k
            .write(if nonblock { self.nb } else { self.fd }, &data);
        self.t.op(&r);
        let reader = matches!(self.blocked, Some(Blocked::Reader { .. }));
        let n = match r {
            Ok(n) => n,
            Err(e) if e == Errno::EAGAIN && nonblock && space == 0 && len > 0 => 0,
            Err(e) => return Err(format!("write {len}: {e:?} (room {space})")),
        };
        // A reader woken by the first bytes may make more room.
        let least = len.min(space);
        ensure(
            n == least || (reader && nonblock && n > least && n <= len),
            || format!("write {len} (nonblock {nonblock}, room {space}): {n}"),
        )?;
        self.stream.extend(&data[..n]);
        Ok(())
    }

    fn write_nomem(&mut self, len: usize) -> Check {
        let data = self.data(len);
        let space = self.space();
        self.k.set_malloc_failures(FailPolicy::All);
        let r = self.k.write(self.nb, &data);
        self.k.set_malloc_failures(FailPolicy::Never);
        self.t.op(&r);
        let n = match r {
            Ok(n) => n,
            Err(e) if e == Errno::ENOMEM && len > 0 && space > 0 => 0,
            Err(e) if e == Errno::EAGAIN && len > 0 && space == 0 => 0,
            Err(e) => return Err(format!("write {len} without memory: {e:?}")),
        };
        ensure(n <= len.min(space), || {
            format!("write {len} without memory: {n}")
        })?;
        self.stream.extend(&data[..n]);
        Ok(())
    }

    fn read(&mut self, len: usize, nonblock: bool) -> Check {
        // With a writer asleep, part of the stream is not queued yet.
        let writer = matches!(self.blocked, Some(Blocked::Writer { .. }));
        let queued_now = if writer {
            self.queued_real()
        } else {
            self.stream.len()
        };
        if !nonblock && len > 0 && self.stream.is_empty() {
            let (k, fd) = (self.k.clone(), self.fd);
            let h = std::thread::spawn(move || {
                let mut buf = vec![0u8; len];
                k.read(fd, &mut buf).map(|n| buf[..n].to_vec())
            });
            self.blocked = Some(Blocked::Reader { h, len });
            return Ok(());
        }
        let mut buf = vec![0u8; len];
        let r = self
            .k
            .read(if nonblock { self.nb } else { self.fd }, &mut buf);
        self.t.op(&r);
        let n = match r {
            Ok(n) => n,
            Err(e) if e == Errno::EAGAIN && nonblock && self.stream.is_empty() && len > 0 => 0,
            Err(e) => return Err(format!("read {len}: {e:?} ({queued_now} queued)")),
        };
        // A writer woken by this read may queue more before it returns.
        let least = len.min(queued_now);
        ensure(n == least || (writer && n > least && n <= len), || {
            format!("read {len}: {n} bytes ({queued_now} queued)")
        })?;
        self.take(&buf[..n], "read")
    }

    /// Takes `got` off the front of the stream, which it must be.
    fn take(&mut self, got: &[u8], what: &str) -> Check {
        ensure(got.len() <= self.stream.len(), || {
            format!("{what}: {} bytes, {} written", got.len(), self.stream.len())
        })?;
        let want: Vec<u8> = self.stream.drain(..got.len()).collect();
        ensure(want == got, || format!("{what}: not the oldest bytes"))
    }

    fn queued_real(&self) -> usize {
        queued(&self.k, self.nb)
    }

    /// Waits until the blocked thread returned or sleeps again, and
    /// checks what it returned.
    fn settle(&mut self) -> Check {
        let Some(b) = self.blocked.take() else {
            return Ok(());
        };
        let (tid, wmesg) = match &b {
            Blocked::Reader { .. } => (b.thread(), READ_WAIT),
            Blocked::Writer { .. } => (b.thread(), WRITE_WAIT),
        };
        let end = Instant::now() + SETTLE;
        loop {
            if b.is_finished() {
                break;
            }
            if self
                .k
                .sleepers()
                .iter()
                .any(|s| s.thread == tid && s.wmesg == wmesg)
            {
                // Asleep: it must have a reason to be.
                let q = self.queued_real();
                self.blocked = Some(b);
                return match self.blocked {
                    Some(Blocked::Reader { .. }) => {
                        ensure(q == 0, || format!("a reader sleeps with {q} bytes queued"))
                    }
                    _ => ensure(q >= self.cap, || {
                        format!("a writer sleeps with {q} of {} queued", self.cap)
                    }),
                };
            }
            if Instant::now() > end {
                self.blocked = Some(b);
                return Err(format!(
                    "the blocked thread neither returned nor slept: {:?}",
                    self.k.sleepers()
                ));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        match b {
            Blocked::Reader { h, len } => {
                let r = h.join().map_err(|_| String::from("reader panicked"))?;
                self.t.op(&r);
                match r {
                    Ok(got) => {
                        ensure(!got.is_empty() && got.len() <= len, || {
                            format!("blocked read {len}: {} bytes", got.len())
                        })?;
                        self.take(&got, "blocked read")
                    }
                    Err(e) if e == Errno::EINTR => Ok(()),
                    Err(e) => Err(format!("blocked read {len}: {e:?}")),
                }
            }
            Blocked::Writer { h, len } => {
                let r = h.join().map_err(|_| String::from("writer panicked"))?;
                self.t.op(&r);
                // What it did not queue goes from the stream's end.
                let q = self.queued_real();
                let rest = self.stream.len().saturating_sub(q);
                let pushed = len.saturating_sub(rest);
                self.stream.truncate(self.stream.len() - rest);
                match r {
                    Ok(n) => ensure(n == pushed && n > 0, || {
                        format!("blocked write {len}: {n}, queued {pushed}")
                    }),
                    Err(e) if e == Errno::EINTR => {
                        ensure(pushed == 0, || format!("EINTR after queueing {pushed}"))
                    }
                    Err(e) => Err(format!("blocked write {len}: {e:?}")),
                }
            }
        }
    }

    fn check_queued(&self) -> Check {
        let q = self.queued_real();
        if self.blocked.is_some() {
            return Ok(());
        }
        ensure(q == self.stream.len(), || {
            format!("FIONREAD {q}, the model {}", self.stream.len())
        })
    }

    fn readiness(&self) -> Check {
        let q = self.queued_real();
        let mut fds = [PollFd {
            fd: self.nb,
            events: POLLIN | POLLOUT,
            revents: 0,
        }];
        let r = self.k.poll(&mut fds, Some(Duration::ZERO));
        self.t.op(&r);
        let want = if q > 0 { POLLIN } else { 0 } | if q < self.cap { POLLOUT } else { 0 };
        ensure(fds[0].revents == want, || {
            format!(
                "poll: {:#x}, want {want:#x} ({q} of {})",
                fds[0].revents, self.cap
            )
        })?;
        let kq = self.k.kqueue().map_err(|e| format!("{e:?}"))?;
        for (filter, data) in [(EVFILT_READ, q), (EVFILT_WRITE, self.cap.saturating_sub(q))] {
            self.k
                .kevent_add(kq, self.nb, filter, 0)
                .map_err(|e| format!("kevent_add: {e:?}"))?;
            let ev = self
                .k
                .kevent_wait(kq, 4, Some(Duration::ZERO))
                .map_err(|e| format!("kevent: {e:?}"))?;
            self.k
                .kevent_delete(kq, self.nb, filter)
                .map_err(|e| format!("kevent_delete: {e:?}"))?;
            let got: Vec<i64> = ev.iter().map(|e| e.data).collect();
            let want: Vec<i64> = if data > 0 {
                vec![i64::try_from(data).unwrap_or(i64::MAX)]
            } else {
                Vec::new()
            };
            ensure(got == want, || {
                format!("kevent filter {filter}: {got:?}, want {want:?}")
            })?;
        }
        self.k.kqueue_close(kq).map_err(|e| format!("{e:?}"))?;
        self.t.ops_ok(4);
        Ok(())
    }

    /// Ends the blocked thread (a signal), drains, closes, unloads, and
    /// checks that the bytes left are the model's and nothing leaked.
    ///
    /// # Errors
    /// The first difference, or what the kernel recorded.
    pub fn finish(mut self) -> Check {
        while let Some(b) = &self.blocked {
            self.k.post_signal(b.thread(), false);
            self.settle()?;
        }
        let left = super::drain(&self.k);
        let want: Vec<u8> = self.stream.iter().copied().collect();
        ensure(left == want, || {
            format!("{} bytes left, the model has {}", left.len(), want.len())
        })?;
        for f in [self.fd, self.nb] {
            self.k.close(f).map_err(|e| format!("close: {e:?}"))?;
        }
        self.k
            .kldunload(self.id, false)
            .map_err(|e| format!("kldunload: {e:?}"))?;
        let v = self.t.absorb_kernel(&self.k);
        ensure(v.is_empty(), || format!("the kernel recorded: {v:?}"))
    }
}
