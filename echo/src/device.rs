// SPDX-License-Identifier: BSD-2-Clause
//! The `/dev/rustmodule` device: the current message, its writers and its
//! readers.
//!
//! # Messages
//! A [`Message`] is the bytes of one `write(2)`, an [`ArcBytes`]: one
//! block with the count, the length, the capacity and the bytes, as C's
//! `struct cecho_msg`. Once published it never changes (only a uniquely
//! owned one can be written to, [`ArcBytes::get_mut`]), so a reader holds
//! a reference and copies from it with no lock held.
//!
//! # Locks
//! - `current` (a mutex, `mtx(9)`): the current message and its
//!   generation. Held only to clone or swap an `Arc`: nothing under it
//!   sleeps, allocates or frees.
//! - `writer` (an `sx(9)` lock): serialises writers and clears, and holds
//!   the recycled message. Held across the `uiomove(9)` that fills the new
//!   message, which may sleep. Taken before `current`, never after.
//! - the same `current` mutex also protects each open file's snapshot
//!   ([`LockedBy`]), so a read takes one lock: to pick its snapshot and
//!   take a reference to it.
//!
//! Both are initialised in place in the device state, in the device's one
//! shared allocation, and destroyed there when the device goes.
//!
//! # Memory
//! At most: the current message, the recycled one (the message the last
//! write replaced, no larger than `hw.rustecho.maxlen`: the buffer the next
//! write fills once no file holds it), the messages open files still hold
//! as snapshots (the empty message is static, as C's, and takes none). In
//! steady state (a
//! write, then reads that rewind) the current and the recycled message
//! trade places, and writes neither allocate nor free; a read never
//! allocates.

// `#[pin_data]` (pinned-init) gives each structure a `Copy` companion
// with a hand-written `Clone`: its expansion, not ours.
#![allow(
    clippy::expl_impl_clone_on_copy,
    reason = "the expansion of pinned-init's #[pin_data]"
)]

use crate::ioctl::{RUSTECHO_CLEAR, RUSTECHO_GETINFO, RustechoInfo};
use crate::{STATS, Stats};
use core::ffi::CStr;
use core::sync::atomic::{AtomicUsize, Ordering};
use kern::alloc::{ArcBytes, BytesMut};
use kern::cdev::{CharacterDevice, File, Op, OpenFlags};
use kern::init::{PinInit, pin_data, pin_init};
use kern::ioctl::{FIOASYNC, FIONBIO, FIONREAD, IoctlCmd, IoctlData};
use kern::prelude::*;
use kern::sync::{LockedBy, Mutex, SxLock};
use kern::uio::{UioReader, UioWriter};

/// The bytes of one write: the count, the length and the bytes in one
/// block, as C's `struct cecho_msg`; its capacity is fixed when it is
/// allocated.
type Message = ArcBytes;

/// The current message (under the `current` mutex).
struct Current {
    msg: Message,
    /// Bumped by every write and clear.
    generation: u64,
}

/// The writers' state (under the `writer` sx lock).
struct Writer {
    /// The message the last write or clear replaced (or the empty
    /// message). Once no open file holds it any more (they rewind to a
    /// newer one), the next write fills it in place and swaps it with the
    /// current message: the usual write-then-read loop neither allocates
    /// nor frees.
    recycle: Message,
    /// Whether `recycle` was allocated by the write in progress (which
    /// gives it back if it fails); cleared when a message is published.
    fresh: bool,
}

/// The device-wide state: the two locks, initialised in place in the
/// device's one shared allocation, as C's softc embeds its `struct mtx`
/// and `struct sx`; destroyed there at unload (the messages released with
/// them).
#[pin_data]
pub(crate) struct Echo {
    #[pin]
    current: Mutex<Current>,
    #[pin]
    writer: SxLock<Writer>,
}

/// The per-open state.
pub(crate) struct OpenFile {
    /// Whether the file was opened for writing (`RUSTECHO_CLEAR` needs it,
    /// as `write(2)` does).
    writable: bool,
    /// The message this file reads: taken at offset 0 (or at its first
    /// read), kept for reads at other offsets. Under the device's
    /// `current` mutex.
    snapshot: LockedBy<Option<Message>, Current>,
    /// Where the last read ended (for `FIONREAD`). Reads of one file
    /// through its offset are serialised by the kernel; with `pread(2)`
    /// racing reads leave one of their ends.
    end: AtomicUsize,
}

impl Echo {
    /// The device state, with `initial` as the current message (one
    /// allocation, `M_WAITOK`, which cannot fail): an initialiser for the
    /// device's shared allocation, where the two locks are initialised.
    ///
    /// # Context
    /// Module load: may sleep.
    #[allow(
        clippy::mem_forget,
        reason = "pin_init! forgets its drop guards once every field is initialised"
    )]
    pub(crate) fn new(initial: &[u8], cx: &mut Sleepable) -> impl PinInit<Self> + use<> {
        let msg = ArcBytes::from_slice(initial, cx.waitok());
        pin_init!(Self {
            current <- Mutex::new_in_place(c"rustecho message", Current { msg, generation: 0 }),
            writer <- SxLock::new_in_place(
                c"rustecho writer",
                Writer {
                    recycle: ArcBytes::empty(),
                    fresh: false,
                },
            ),
        })
    }

    /// Makes the message built in `writer.recycle` current, in exchange
    /// for the one it replaces, which is kept there for the next write (no
    /// reference is taken or dropped under the mutex). One larger than
    /// `limit` is not kept: the empty message takes its place, and the
    /// buffer goes with its last reference.
    fn publish(&self, writer: &mut Writer, limit: usize, cx: &mut impl MaySleep) {
        {
            let mut current = self.current.lock(cx);
            current.generation = current.generation.wrapping_add(1);
            core::mem::swap(&mut current.msg, &mut writer.recycle);
        }
        writer.fresh = false;
        // No new reference to the replaced message can appear: it is no
        // longer current, and a file that holds it already counts.
        if writer.recycle.capacity() > limit {
            Self::recycle_empty(writer);
        }
    }

    /// Puts the empty message in place of the recycled one (this reference
    /// to it goes: the last one frees it). Rare, hence `#[cold]`: the
    /// usual write keeps its recycled buffer.
    #[cold]
    #[inline(never)]
    fn recycle_empty(writer: &mut Writer) {
        writer.recycle = ArcBytes::empty();
    }

    /// The message an open file reads at `offset`: its snapshot, or the
    /// current message (which becomes its snapshot) at offset 0 or if it
    /// has none yet. One lock section; the reference returned keeps the
    /// message alive while the read copies from it with no lock held.
    fn snapshot(&self, open: &OpenFile, offset: usize, cx: &mut Sleepable) -> Result<Message> {
        let mut guard = self.current.lock(cx);
        let (snapshot, current) = open.snapshot.access_with_owner(&mut guard)?;
        let (held, old) = match snapshot {
            Some(held) if offset != 0 => (ArcBytes::clone(held), None),
            _ => {
                // A new snapshot is unread from `offset` on, even if the
                // read that took it then fails (an end left from the old
                // snapshot would mix two messages in `FIONREAD`).
                open.end.store(offset, Ordering::Relaxed);
                let held = ArcBytes::clone(&current.msg);
                (ArcBytes::clone(&held), snapshot.replace(held))
            }
        };
        drop(guard);
        // `old` is released after the lock (it may be the last reference).
        drop(old);
        Ok(held)
    }

    /// `FIONREAD` (with the file's record) and `RUSTECHO_GETINFO`
    /// (without) in one lock section: the bytes left to read, and the
    /// current message's generation. What is left is that of the file's
    /// snapshot after its last read, or the current message's length
    /// before any read or for `RUSTECHO_GETINFO`.
    fn peek(&self, open: Option<&OpenFile>, cx: &mut Sleepable) -> Result<(usize, u64)> {
        let current = self.current.lock(cx);
        let snapshot = match open {
            Some(open) => open.snapshot.access(&current)?.as_ref().map(|s| (s, open)),
            None => None,
        };
        let unread = match snapshot {
            Some((snapshot, open)) => snapshot
                .len()
                .saturating_sub(open.end.load(Ordering::Relaxed)),
            None => current.msg.len(),
        };
        Ok((unread, current.generation))
    }

    /// `RUSTECHO_CLEAR`, and a zero-length write: an empty message, a new
    /// generation. Never allocates: the empty message is made in the
    /// recycled buffer if no file holds it (so that both buffers stay in
    /// use for the next writes), else it is the static empty message.
    ///
    /// A writer queued behind a long write can be interrupted by a signal
    /// (`EINTR`, or `ERESTART` for a restarting handler).
    fn clear(&self, cx: &mut Sleepable) -> Result {
        let limit = STATS.limit();
        let mut guard = self.writer.xlock_sig(cx)?;
        let (writer, cx) = guard.split();
        match writer.recycle.get_mut() {
            Some(mut message) => message.clear(),
            None => Self::recycle_empty(writer),
        }
        self.publish(writer, limit, cx);
        Ok(())
    }

    /// A write of `len` bytes, 1 to `limit`: the next message is built in
    /// the recycled buffer if no open file holds it and it holds `len` to
    /// `limit` bytes (so lowering `hw.rustecho.maxlen` also bounds it), or
    /// else in a new one; the current message is not touched until the new
    /// one is complete.
    fn write_message(
        &self,
        uio: &mut UioReader<'_>,
        len: usize,
        limit: usize,
        cx: &mut Sleepable,
    ) -> Result<usize> {
        // Interruptible: a writer queued behind a long write can be
        // interrupted by a signal (`EINTR` or `ERESTART`).
        let mut guard = self.writer.xlock_sig(cx)?;
        let (writer, cx) = guard.split();
        let mut message = match writer.recycle.get_mut() {
            Some(b) if (len..=limit).contains(&b.capacity()) => b,
            _ => Self::renew(writer, len)?,
        };
        message.clear();
        match uio.move_in_bytes(&mut message, cx) {
            Ok(moved) => {
                self.publish(writer, limit, cx);
                Ok(moved)
            }
            Err(e) => {
                // A recycled buffer stays, emptied; a new one is released
                // again (a failed write gives back what it got).
                message.clear();
                if writer.fresh {
                    Self::recycle_empty(writer);
                }
                Err(e)
            }
        }
    }

    /// Puts a new buffer of `len` bytes in place of the recycled one, which
    /// open files still hold or which has the wrong size. The old
    /// reference goes first (its buffer is freed before the new one is
    /// allocated, if this was the last). `M_NOWAIT`: the user chose the
    /// size. Rare, hence `#[cold]`: the usual write reuses its buffer.
    ///
    /// Returns write access to the new buffer.
    ///
    /// # Errors
    /// `ENOMEM`; the empty message is then the recycled one.
    #[cold]
    #[allow(
        clippy::mem_forget,
        reason = "the static empty message is never freed: forgetting it drops nothing"
    )]
    fn renew(writer: &mut Writer, len: usize) -> Result<BytesMut<'_>> {
        Self::recycle_empty(writer);
        let fresh = ArcBytes::try_with_capacity(len, M_NOWAIT)?;
        // The recycled message is the empty one now: replacing it needs no
        // drop (no reference count to update, about 40 bytes of code).
        core::mem::forget(core::mem::replace(&mut writer.recycle, fresh));
        writer.fresh = true;
        // A new buffer is unique: `None` is not reached.
        writer.recycle.get_mut().ok_or(ENOMEM)
    }
}

#[kern::vtable]
impl CharacterDevice for Echo {
    const NAME: &'static CStr = c"rustecho";
    type Open = OpenFile;

    /// Sets up the file's read state (kern allocates the record that holds
    /// it, with `M_NOWAIT`).
    fn open(&self, flags: OpenFlags, _cx: &mut Sleepable) -> Result<OpenFile> {
        Stats::count(STATS.opens(), 1);
        Ok(OpenFile {
            writable: flags.writable(),
            snapshot: LockedBy::new(&self.current, None),
            end: AtomicUsize::new(0),
        })
    }

    /// Serves the file's snapshot from `uio_offset` on; 0 at its end.
    fn read(&self, file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let open = file.open()?;
        let offset = usize::try_from(uio.offset()).map_err(|_| EINVAL)?;
        let snapshot = self.snapshot(open, offset, cx)?;
        // At or past the end: nothing to move (end of file). Otherwise at
        // most the rest of the message moves, so `offset + moved` is at most
        // its length (the add below cannot wrap).
        let moved = match snapshot.as_slice().get(offset..) {
            Some(rest) => uio.move_out(rest, cx)?,
            None => 0,
        };
        open.end
            .store(offset.wrapping_add(moved), Ordering::Relaxed);
        drop(snapshot);
        Stats::count(STATS.reads(), 1);
        Stats::count(STATS.bytes_out(), moved);
        Ok(())
    }

    /// Replaces the message with the whole request, or fails and leaves it.
    /// Needs nothing of the file (no per-open lookup).
    fn write(&self, _file: &File<'_, Self>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let len = uio.resid();
        let limit = STATS.limit();
        if len > limit {
            return Err(EFBIG);
        }
        if len == 0 {
            self.clear(cx)?;
        } else {
            let moved = self.write_message(uio, len, limit, cx)?;
            Stats::count(STATS.bytes_in(), moved);
        }
        Stats::count(STATS.writes(), 1);
        Ok(())
    }

    fn ioctl(
        &self,
        file: &File<'_, Self>,
        cmd: IoctlCmd,
        data: &mut IoctlData<'_>,
        cx: &mut Sleepable,
    ) -> Result {
        match cmd {
            // One lookup of the file's record (`RUSTECHO_GETINFO` needs
            // none) and one lock section for the two that read the state.
            FIONREAD | RUSTECHO_CLEAR | RUSTECHO_GETINFO => {
                let open = if cmd == RUSTECHO_GETINFO {
                    None
                } else {
                    Some(file.open()?)
                };
                if cmd == RUSTECHO_CLEAR {
                    return match open {
                        Some(open) if open.writable => self.clear(cx),
                        _ => Err(EBADF),
                    };
                }
                let (unread, generation) = self.peek(open, cx)?;
                if cmd == FIONREAD {
                    data.write(&i32::try_from(unread).unwrap_or(i32::MAX))
                } else {
                    data.write(&RustechoInfo {
                        ri_length: u64::try_from(unread).unwrap_or(u64::MAX),
                        ri_limit: STATS.maxlen.get(),
                        ri_generation: generation,
                    })
                }
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
        STATS.failed(err);
    }
}
