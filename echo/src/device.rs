// SPDX-License-Identifier: BSD-2-Clause
//! The `/dev/rustmodule` device: the current message, its writers and its
//! readers.
//!
//! # Messages
//! A [`Message`] is the bytes of one `write(2)`, in an [`Arc`]. Once
//! published it never changes (only a uniquely owned `Arc` can be
//! written to, [`Arc::get_mut`]), so a reader holds a reference and copies
//! from it with no lock held.
//!
//! # Locks
//! - `current` (a mutex, `mtx(9)`): the current message and its
//!   generation. Held only to clone or swap an `Arc`: nothing under it
//!   sleeps or allocates.
//! - `writer` (an `sx(9)` lock): serialises writers and clears, and holds
//!   the spare buffer. Held across the `uiomove(9)` that fills the new
//!   message, which may sleep. Taken before `current`, never after.
//! - the same `current` mutex also protects each open file's snapshot
//!   ([`LockedBy`]), so a read takes one lock: to pick its snapshot and
//!   take a reference to it.
//!
//! # Memory
//! At most: the current message, one spare (no larger than
//! `hw.rustecho.maxlen`, and the only buffer a write fills), the messages
//! open files still hold as snapshots (the writer keeps the latest of them,
//! to reuse once the files let go), and a preallocated empty message. In
//! steady state (a write, then reads that rewind) writes allocate nothing;
//! a read never allocates.

use crate::Stats;
use crate::ioctl::{RUSTECHO_CLEAR, RUSTECHO_GETINFO, RustechoInfo};
use core::ffi::CStr;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use kern::alloc::{Arc, Box, Vec};
use kern::cdev::{CharacterDevice, Op, OpenFlags};
use kern::ioctl::{FIOASYNC, FIONBIO, FIONREAD, IoctlCmd, IoctlData};
use kern::prelude::*;
use kern::sync::{LockedBy, Mutex, SxLock};
use kern::uio::{UioReader, UioWriter};

/// The bytes of one write.
pub(crate) struct Message {
    bytes: Vec<u8>,
}

impl Message {
    /// An empty message (allocates nothing).
    fn empty() -> Self {
        Self { bytes: Vec::new() }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Replaces the contents with the whole request, read from user memory
    /// straight into the buffer. `len` is the request's size, at most
    /// `limit`. Returns the number of bytes read.
    ///
    /// The buffer is reused if it holds `len` bytes and is not larger than
    /// `limit` (so lowering `hw.rustecho.maxlen` also bounds the spare);
    /// otherwise it is freed first, then allocated with `M_NOWAIT`.
    ///
    /// On error the message is empty, and the buffer is kept if it was
    /// allocated.
    fn fill(
        &mut self,
        uio: &mut UioReader<'_>,
        len: usize,
        limit: usize,
        cx: &mut impl MaySleep,
    ) -> Result<usize> {
        self.bytes.clear();
        let capacity = self.bytes.capacity();
        if capacity < len || capacity > limit {
            self.bytes = Vec::new();
            self.bytes = Vec::try_with_capacity(len, M_NOWAIT)?;
        }
        uio.move_in_vec(&mut self.bytes, cx)
    }
}

/// The current message (under the `current` mutex).
struct Current {
    msg: Arc<Message>,
    /// Bumped by every write and clear.
    generation: u64,
}

/// The writers' state (under the `writer` sx lock).
struct Writer {
    /// A buffer no one else references, for the next write.
    spare: Option<Arc<Message>>,
    /// The last replaced message, if open files still held it then: once
    /// they let go (they rewind to the newer one) it becomes the spare.
    pending: Option<Arc<Message>>,
}

impl Writer {
    /// The buffer for the next write: the spare, else the pending message
    /// if no file holds it any more.
    fn take_spare(&mut self) -> Option<Arc<Message>> {
        if let Some(spare) = self.spare.take() {
            return Some(spare);
        }
        let mut pending = self.pending.take()?;
        if Arc::get_mut(&mut pending).is_some() {
            Some(pending)
        } else {
            self.pending = Some(pending);
            None
        }
    }
}

/// The device-wide state.
pub(crate) struct Echo {
    current: Pin<Box<Mutex<Current>>>,
    writer: Pin<Box<SxLock<Writer>>>,
    /// An empty message, for a clear or zero-length write when there is no
    /// spare (so neither ever allocates). Never a spare: this reference
    /// stays.
    empty: Arc<Message>,
    stats: Arc<Stats>,
}

/// The per-open state.
pub(crate) struct OpenFile {
    /// Whether the file was opened for writing (`RUSTECHO_CLEAR` needs it,
    /// as `write(2)` does).
    writable: bool,
    /// The message this file reads: taken at offset 0 (or at its first
    /// read), kept for reads at other offsets. Under the device's
    /// `current` mutex.
    snapshot: LockedBy<Option<Arc<Message>>, Current>,
    /// Where the last read ended (for `FIONREAD`). Reads of one file
    /// through its offset are serialised by the kernel; with `pread(2)`
    /// racing reads leave one of their ends.
    end: AtomicUsize,
}

impl Echo {
    /// The device state, with `initial` as the current message.
    ///
    /// # Errors
    /// `ENOMEM` (only if `cx`'s allocations are made to fail: they wait).
    ///
    /// # Context
    /// Module load: may sleep.
    pub(crate) fn new(initial: &[u8], stats: Arc<Stats>, cx: &mut Sleepable) -> Result<Self> {
        let mut bytes = Vec::new();
        bytes.try_extend_from_slice(initial, cx.waitok())?;
        let msg = Arc::try_new(Message { bytes }, cx.waitok())?;
        let empty = Arc::try_new(Message::empty(), cx.waitok())?;
        let current = Current { msg, generation: 0 };
        let current = Mutex::try_new(c"rustecho message", current, cx.waitok())?;
        let writer = Writer {
            spare: None,
            pending: None,
        };
        let writer = SxLock::try_new(c"rustecho writer", writer, cx.waitok())?;
        Ok(Self {
            current,
            writer,
            empty,
            stats,
        })
    }

    /// Makes `msg` the current message. The one it replaces becomes the
    /// spare if no open file holds it, or the pending message if files do;
    /// a buffer larger than `limit` is released instead (here, or by the
    /// last file holding it).
    fn publish(
        &self,
        msg: Arc<Message>,
        writer: &mut Writer,
        limit: usize,
        cx: &mut impl MaySleep,
    ) {
        let mut old = {
            let mut current = self.current.lock(cx);
            current.generation = current.generation.wrapping_add(1);
            core::mem::replace(&mut current.msg, msg)
        };
        // No new reference to `old` can appear: it is no longer current,
        // and a file that holds it already counts.
        if old.bytes.capacity() > limit {
            return;
        }
        if Arc::get_mut(&mut old).is_some() {
            writer.spare = Some(old);
            // One idle buffer is enough: the pending message goes to the
            // files that still hold it (or is freed here if none does).
            writer.pending = None;
        } else {
            // Replaces (and releases) an older pending message.
            writer.pending = Some(old);
        }
    }

    /// Builds the next message from the whole request, in the spare (or a
    /// new buffer); the current message is not touched. On error the spare
    /// is put back and a new buffer is released.
    fn build(
        writer: &mut Writer,
        uio: &mut UioReader<'_>,
        len: usize,
        limit: usize,
        cx: &mut impl MaySleep,
    ) -> Result<(Arc<Message>, usize)> {
        let (mut msg, reused) = match writer.take_spare() {
            Some(spare) => (spare, true),
            None => (Arc::try_new(Message::empty(), M_NOWAIT)?, false),
        };
        let filled = match Arc::get_mut(&mut msg) {
            Some(m) => m.fill(uio, len, limit, cx),
            // Not reached: a spare or a new message has no other reference.
            None => Err(ENOMEM),
        };
        match filled {
            Ok(n) => Ok((msg, n)),
            Err(e) => {
                // A failed write leaves memory as it found it: a spare it
                // took goes back; a message it allocated is released (so
                // that a write failing for want of memory gives back what
                // it got, and the module's live allocations return to
                // what they were).
                if reused && Arc::get_mut(&mut msg).is_some() {
                    writer.spare = Some(msg);
                }
                Err(e)
            }
        }
    }

    /// The message an open file reads at `offset`: its snapshot, or the
    /// current message (which becomes its snapshot) at offset 0 or if it
    /// has none yet. One lock section; the reference returned keeps the
    /// message alive while the read copies from it with no lock held.
    fn snapshot(&self, open: &OpenFile, offset: usize, cx: &mut Sleepable) -> Result<Arc<Message>> {
        let mut current = self.current.lock(cx);
        let renew = offset == 0 || open.snapshot.access(&current)?.is_none();
        let taken = if renew {
            Some(Arc::clone(&current.msg))
        } else {
            None
        };
        let snapshot = open.snapshot.access_mut(&mut current)?;
        // `old` is released after the lock (it may be the last reference).
        let old = match taken {
            Some(msg) => {
                // A new snapshot is unread from `offset` on, even if the
                // read that took it then fails (an end left from the old
                // snapshot would mix two messages in `FIONREAD`).
                open.end.store(offset, Ordering::Relaxed);
                snapshot.replace(msg)
            }
            None => None,
        };
        let held = snapshot.clone();
        drop(current);
        drop(old);
        // Not reached: the snapshot was set above or before.
        held.ok_or(EINVAL)
    }

    /// `FIONREAD`: what is left of the file's snapshot after its last
    /// read, or the current message's length before any read.
    fn unread(&self, open: &OpenFile, cx: &mut Sleepable) -> Result<usize> {
        let current = self.current.lock(cx);
        Ok(match open.snapshot.access(&current)? {
            Some(snapshot) => snapshot
                .len()
                .saturating_sub(open.end.load(Ordering::Relaxed)),
            None => current.msg.len(),
        })
    }

    /// `RUSTECHO_GETINFO`.
    fn info(&self, cx: &mut Sleepable) -> RustechoInfo {
        let (length, generation) = {
            let current = self.current.lock(cx);
            (current.msg.len(), current.generation)
        };
        RustechoInfo {
            ri_length: u64::try_from(length).unwrap_or(u64::MAX),
            ri_limit: self.stats.maxlen.get(),
            ri_generation: generation,
        }
    }

    /// `RUSTECHO_CLEAR`, and a zero-length write: an empty message, a new
    /// generation. Never allocates: the empty message is made in the spare
    /// (so that its buffer is kept for the next writes), or is the
    /// preallocated one if there is no spare.
    fn clear(&self, cx: &mut Sleepable) {
        let limit = self.stats.limit();
        let mut guard = self.writer.xlock(cx);
        let (writer, cx) = guard.split();
        let msg = emptied(writer.take_spare()).unwrap_or_else(|| Arc::clone(&self.empty));
        self.publish(msg, writer, limit, cx);
    }
}

/// The spare, emptied (if it has no other reference, as it never has).
fn emptied(spare: Option<Arc<Message>>) -> Option<Arc<Message>> {
    let mut spare = spare?;
    Arc::get_mut(&mut spare)?.bytes.clear();
    Some(spare)
}

impl CharacterDevice for Echo {
    const NAME: &'static CStr = c"rustecho";
    const HAS_READ: bool = true;
    const HAS_WRITE: bool = true;
    const HAS_IOCTL: bool = true;
    type Open = OpenFile;

    /// Sets up the file's read state (kern allocates the record that holds
    /// it, with `M_NOWAIT`).
    fn open(&self, flags: OpenFlags, _cx: &mut Sleepable) -> Result<OpenFile> {
        Stats::count(&self.stats.opens, 1);
        Ok(OpenFile {
            writable: flags.writable(),
            snapshot: LockedBy::new(&self.current, None),
            end: AtomicUsize::new(0),
        })
    }

    /// Serves the file's snapshot from `uio_offset` on; 0 at its end.
    fn read(&self, open: &OpenFile, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let offset = usize::try_from(uio.offset()).map_err(|_| EINVAL)?;
        let snapshot = self.snapshot(open, offset, cx)?;
        let moved = uio.move_frombuf(&snapshot.bytes, cx)?;
        open.end
            .store(offset.saturating_add(moved), Ordering::Relaxed);
        drop(snapshot);
        Stats::count(&self.stats.reads, 1);
        Stats::count(&self.stats.bytes_out, moved);
        Ok(())
    }

    /// Replaces the message with the whole request, or fails and leaves it.
    fn write(&self, _open: &OpenFile, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let len = uio.resid();
        let limit = self.stats.limit();
        if len > limit {
            return Err(EFBIG);
        }
        if len == 0 {
            self.clear(cx);
            Stats::count(&self.stats.writes, 1);
            return Ok(());
        }
        let mut guard = self.writer.xlock(cx);
        let (writer, cx) = guard.split();
        let (msg, moved) = Self::build(writer, uio, len, limit, cx)?;
        self.publish(msg, writer, limit, cx);
        drop(guard);
        Stats::count(&self.stats.writes, 1);
        Stats::count(&self.stats.bytes_in, moved);
        Ok(())
    }

    fn ioctl(
        &self,
        open: &OpenFile,
        cmd: IoctlCmd,
        data: &mut IoctlData<'_>,
        cx: &mut Sleepable,
    ) -> Result {
        match cmd {
            FIONREAD => {
                let n = i32::try_from(self.unread(open, cx)?).unwrap_or(i32::MAX);
                data.write(&n)
            }
            RUSTECHO_GETINFO => data.write(&self.info(cx)),
            RUSTECHO_CLEAR if !open.writable => Err(EBADF),
            RUSTECHO_CLEAR => {
                self.clear(cx);
                Ok(())
            }
            // Asynchronous I/O (SIGIO) is not supported, as in null(4);
            // turning it off is accepted.
            FIOASYNC if data.read::<i32>()? != 0 => Err(EINVAL),
            // Non-blocking I/O changes nothing: no operation waits for data
            // (fcntl(F_SETFL, O_NONBLOCK) sends FIONBIO and must succeed).
            FIONBIO | FIOASYNC => Ok(()),
            _ => Err(ENOIOCTL),
        }
    }

    /// Counts the failures that have a counter (`ENOMEM`, `EFBIG`,
    /// `EFAULT`), whether the device or kern (the per-open record) failed.
    fn error(&self, _op: Op, err: Error) {
        self.stats.failed(err);
    }
}
