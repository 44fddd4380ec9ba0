// SPDX-License-Identifier: BSD-2-Clause
//! [`ByteRing`]: a byte ring with one producer and one consumer that copy
//! straight between user memory and the ring with `uiomove(9)`, outside
//! the lock that guards the ring's counts, as `pipe(2)` does.
//!
//! C header: `sys/sys/uio.h`. Manual pages: `uio(9)`, `mutex(9)`, `sx(9)`.
//! FreeBSD's model: `sys/kern/sys_pipe.c` (`pipe_write`, `pipe_read`): the
//! pipe's `pipelock` serialises each side, the pipe mutex guards the
//! counts and is dropped around `uiomove`, and the counts are committed
//! under the mutex afterwards.
//!
//! The ring itself ([`ByteRing`]: the counts and the storage) lives under
//! the device's mutex. Two tokens, made with it and never copied, stand
//! for its two sides: the [`Producer`] (the only one who appends) and the
//! [`Consumer`] (the only one who removes). A driver keeps each in the data
//! of the `sx` lock that serialises that side, so holding the lock is
//! holding the token. One round of a write:
//!
//! 1. under the mutex, [`ByteRing::write_slot`] lends the producer a
//!    [`WriteSlot`]: the ring's free bytes, in at most two contiguous
//!    parts;
//! 2. the mutex is dropped and [`WriteSlot::fill_from`] copies from the
//!    user into it with one `uiomove(9)` per part, counting what arrived,
//!    also when a fault stops it part-way;
//! 3. under the mutex again, [`ByteRing::commit_write`] appends exactly the
//!    bytes counted.
//!
//! A read is the mirror image ([`ByteRing::read_slot`],
//! [`ReadSlot::drain_to`], [`ByteRing::commit_read`]).
//!
//! What the types guarantee:
//!
//! - **No byte is written while the other side may read it.** A write
//!   slot covers only bytes that were free when it was made; only the
//!   producer appends, so they stay free until its commit, and a read slot
//!   covers only bytes queued when it was made, which only the consumer
//!   removes. Each slot borrows its token mutably, so a side has one slot
//!   at a time, and a slot is committed only to its own ring: checked at
//!   run time for an [`Unbranded`] ring, by type for a [`Unique`] brand,
//!   which one ring at a time holds (see [`brand`](Brand)).
//! - **The storage is not freed or moved under a copy.** Growing
//!   ([`ByteRing::reserve`]) and freeing ([`ByteRing::release`]) need
//!   `&mut Producer`, which a live write slot borrows: the writer never
//!   copies into storage that moved. A reader may be copying while the
//!   writer grows the ring: the storage it reads from is then kept (not
//!   freed) until the consumer's next slot. `release` frees only an
//!   empty ring, and a live read slot holds at least one uncommitted
//!   byte. The storage belongs to the ring and both tokens together, so it
//!   outlives every slot even if the ring is dropped first.
//! - **A fault commits only what was copied.** A slot records the count
//!   `uiomove(9)` reports; a commit takes no other number.
//!
//! Storage grows on demand with `M_NOWAIT` ([`ByteRing::reserve`]), up to
//! a limit the caller gives, and may be freed when empty
//! ([`ByteRing::release`]), which needs the producer's token: a driver's
//! idle task takes the producers' `sx`.
//!
//! # Context
//! The ring's methods do not sleep (its lock is a mutex); the slots'
//! copies with the user may (`uiomove(9)`), and run with only the side's
//! `sx` held.
//!
//! # Examples
//!
//! The round trip, with kernel buffers in place of a `uio` (on the host
//! allocator, as a unit test would):
//!
//! ```
//! use alloc_kernel::{HostAllocator, M_NOWAIT};
//! use kern::ring::ByteRing;
//!
//! let (mut ring, mut producer, mut consumer) =
//!     ByteRing::<HostAllocator>::try_new(M_NOWAIT)?;
//! ring.reserve(&mut producer, 5, 64)?;
//! let mut slot = ring.write_slot(&mut producer, 5)?;
//! // Here the mutex would be dropped and `slot.fill_from(uio, cx)` called.
//! assert_eq!(slot.write(b"hello"), 5);
//! assert_eq!(ring.commit_write(slot), 5);
//!
//! let mut slot = ring.read_slot(&mut consumer, 3)?;
//! let mut out = [0u8; 3];
//! assert_eq!(slot.read(&mut out), 3);
//! assert_eq!(ring.commit_read(slot), 3);
//! assert_eq!(&out, b"hel");
//! assert_eq!(ring.len(), 2);
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! A slot borrows its token, so the storage cannot be grown or freed while
//! the producer copies:
//!
//! ```compile_fail,E0499
//! use alloc_kernel::{HostAllocator, M_NOWAIT};
//! use kern::ring::ByteRing;
//!
//! let (mut ring, mut producer, _consumer) =
//!     ByteRing::<HostAllocator>::try_new(M_NOWAIT)?;
//! let slot = ring.write_slot(&mut producer, 5)?;
//! ring.release(&mut producer); // the slot still borrows the producer
//! ring.commit_write(slot);
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! A ring of a [`Unique`] brand checks no identity at run time: a token or
//! slot of another brand does not compile.
//!
//! ```compile_fail,E0308
//! use alloc_kernel::{HostAllocator, M_NOWAIT};
//! use kern::ring::{ByteRing, Unique};
//!
//! enum Left {}
//! enum Right {}
//! let (mut left, mut producer, _c) =
//!     ByteRing::<HostAllocator, Unique<Left>>::try_new(M_NOWAIT)?;
//! let (mut right, _p, _c2) = ByteRing::<HostAllocator, Unique<Right>>::try_new(M_NOWAIT)?;
//! left.reserve(&mut producer, 5, 64)?;
//! let slot = left.write_slot(&mut producer, 5)?;
//! right.commit_write(slot); // the slot is `Left`'s
//! # Ok::<(), kern::Error>(())
//! ```

use crate::context::MaySleep;
use crate::error::{Result, code};
use crate::malloc::KernelAllocator;
use crate::uio::{INT_MAX, UioReader, UioWriter};
use alloc_kernel::{Allocator, Arc, Flags, Vec, Wait, WaitAllocator};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;

mod brand;
pub use brand::{Brand, Unbranded, Unique};

/// The smallest storage [`ByteRing::reserve`] allocates (or the limit, if
/// smaller): one page.
pub const MIN_ALLOC: usize = 4096;

/// The storage of a ring, shared by the ring and its two tokens so that it
/// outlives every slot.
///
/// # Invariants
/// `bufs` is used only by the [`ByteRing`] that shares this value, through
/// `&mut ByteRing` (or by `Drop`, when the ring and both tokens are gone).
/// The storage holds the ring's brand (claimed before it is made) and
/// gives it back when it goes: when the ring and both tokens are gone.
struct Storage<A: Allocator, B: Brand> {
    bufs: UnsafeCell<Bufs<A>>,
    brand: PhantomData<B>,
}

impl<A: Allocator, B: Brand> Drop for Storage<A, B> {
    fn drop(&mut self) {
        B::release();
    }
}

// SAFETY: the cell is used only through `&mut ByteRing` (type invariant),
// so never from two threads at once; the tokens only keep the allocation
// alive. The vectors hold bytes and an allocator, which may move between
// threads if `A` may.
unsafe impl<A: Allocator + Send + Sync, B: Brand> Sync for Storage<A, B> {}

/// The storage proper.
struct Bufs<A: Allocator> {
    /// The ring's bytes now (empty: no storage).
    current: Vec<u8, A>,
    /// The storage a reader may still be copying from after the ring grew
    /// (empty: none).
    retired: Vec<u8, A>,
}

/// The producer's side of a [`ByteRing`]: whoever holds it `&mut` is the
/// only one who appends, grows or frees the storage. Made with the ring;
/// not `Clone`.
pub struct Producer<A: Allocator = KernelAllocator, B: Brand = Unbranded> {
    shared: Arc<Storage<A, B>, A>,
}

/// The consumer's side of a [`ByteRing`]: whoever holds it `&mut` is the
/// only one who removes bytes. Made with the ring; not `Clone`.
pub struct Consumer<A: Allocator = KernelAllocator, B: Brand = Unbranded> {
    shared: Arc<Storage<A, B>, A>,
}

/// A new ring and its two tokens, as [`ByteRing::try_new`] makes them.
pub type NewRing<A, B> = (ByteRing<A, B>, Producer<A, B>, Consumer<A, B>);

/// A ring of bytes over storage that grows on demand, with one
/// [`Producer`] and one [`Consumer`]; see [the module](self).
///
/// Keep it under a mutex, and each token under the lock that serialises
/// its side.
///
/// # Invariants
/// - `base` and `size` are the start and length of `shared`'s current
///   storage; `len <= size <= INT_MAX` (so a slot, at most `room()` or
///   `len` bytes, is one `uiomove(9)` per part without a clamp of its
///   own); `head < size`, or `head == 0` if `size == 0`.
///   The queued bytes are the `len` bytes from `head`, wrapping at `size`.
/// - Only the producer writes the free bytes, only through a
///   [`WriteSlot`] it took from this ring; nobody writes the queued bytes.
/// - `retired` says whether the shared `retired` vector holds storage. A
///   live [`ReadSlot`] reads from that storage if there is one, else from
///   the current storage: [`read_slot`](Self::read_slot) frees retired
///   storage first, and growth keeps the old storage only while none is
///   retired.
pub struct ByteRing<A: Allocator = KernelAllocator, B: Brand = Unbranded> {
    shared: Arc<Storage<A, B>, A>,
    base: NonNull<u8>,
    size: usize,
    head: usize,
    len: usize,
    retired: bool,
}

// SAFETY: the ring owns its view of the storage (`base`, a cache of the
// shared vector's pointer); the storage's bytes may be used from any
// thread, and the vectors' allocator may be sent if `A` may.
unsafe impl<A: Allocator + Send + Sync, B: Brand> Send for ByteRing<A, B> {}

// SAFETY: `&ByteRing` only reads the counts; everything that changes the
// ring or the storage takes `&mut ByteRing`.
unsafe impl<A: Allocator + Send + Sync, B: Brand> Sync for ByteRing<A, B> {}

impl<A: Allocator + Default + Clone> ByteRing<A, Unbranded> {
    /// [`try_new`](Self::try_new) with an allocation that may sleep and
    /// cannot fail (an unbranded ring claims nothing).
    ///
    /// # Context
    /// May sleep (`flags` from a context token, `cx.waitok()`).
    pub fn new(flags: impl Wait) -> (Self, Producer<A>, Consumer<A>)
    where
        A: WaitAllocator,
    {
        Self::from_shared(Arc::new(Self::storage(), flags))
    }
}

impl<A: Allocator + Default + Clone, B: Brand> ByteRing<A, B> {
    /// An empty ring without storage, and its two tokens. Allocates the
    /// small block they share (not the storage).
    ///
    /// # Errors
    /// `ENOMEM` if that allocation fails; `EBUSY` if `B` is a [`Unique`]
    /// brand and a ring of that brand (or one of its tokens) is alive.
    pub fn try_new(flags: impl Into<Flags>) -> Result<NewRing<A, B>> {
        B::claim()?;
        // The storage holds the brand from here: dropped on failure, it
        // gives it back.
        let shared = Arc::try_new_in(Self::storage(), A::default(), flags)?;
        Ok(Self::from_shared(shared))
    }

    /// [`try_new`](Self::try_new) with an allocation that may sleep.
    ///
    /// # Errors
    /// `EBUSY` if `B` is a [`Unique`] brand and a ring of that brand (or
    /// one of its tokens) is alive.
    ///
    /// # Context
    /// May sleep (`flags` from a context token, `cx.waitok()`).
    pub fn new_branded(flags: impl Wait) -> Result<NewRing<A, B>>
    where
        A: WaitAllocator,
    {
        B::claim()?;
        Ok(Self::from_shared(Arc::new(Self::storage(), flags)))
    }

    /// The storage of a new ring, holding a brand just claimed.
    fn storage() -> Storage<A, B> {
        Storage {
            bufs: UnsafeCell::new(Bufs {
                current: Vec::new_in(A::default()),
                retired: Vec::new_in(A::default()),
            }),
            brand: PhantomData,
        }
    }

    fn from_shared(shared: Arc<Storage<A, B>, A>) -> (Self, Producer<A, B>, Consumer<A, B>) {
        let producer = Producer {
            shared: shared.clone(),
        };
        let consumer = Consumer {
            shared: shared.clone(),
        };
        // INVARIANT: no storage, nothing queued, no slot.
        let ring = Self {
            shared,
            base: NonNull::dangling(),
            size: 0,
            head: 0,
            len: 0,
            retired: false,
        };
        (ring, producer, consumer)
    }

    /// The bytes queued.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is queued.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of storage allocated.
    #[inline]
    #[must_use]
    pub fn allocated(&self) -> usize {
        self.size
    }

    /// Free bytes in the storage as it is.
    #[inline]
    #[must_use]
    pub fn room(&self) -> usize {
        // `len <= size` (type invariant): no wrap.
        self.size.wrapping_sub(self.len)
    }

    /// The storage, for the methods that change it (the only place a
    /// reference to it is made, from `&mut self`, never kept).
    #[inline]
    fn bufs(&mut self) -> &mut Bufs<A> {
        // SAFETY: the cell is used only through `&mut ByteRing` (the
        // storage's invariant), and `&mut self` is exclusive.
        unsafe { &mut *self.shared.bufs.get() }
    }

    /// Makes room for `want` more bytes, never beyond `limit` bytes queued
    /// (nor beyond `INT_MAX`, the most the storage ever holds),
    /// growing the storage with `M_NOWAIT` if it has less: to the most of
    /// what is needed, twice its size and [`MIN_ALLOC`], but no more than
    /// `limit` (or what is queued, if the limit was lowered below it). The
    /// queued bytes stay, in order. Returns the room there is now, which
    /// may be less than `want` when the limit is reached or memory is
    /// short.
    ///
    /// # Errors
    /// `ENOMEM`: the storage has no room and could not grow (nothing
    /// queued is lost); `EINVAL`: `producer` is not this ring's.
    ///
    /// # Context
    /// Does not sleep.
    pub fn reserve(
        &mut self,
        producer: &mut Producer<A, B>,
        want: usize,
        limit: usize,
    ) -> Result<usize> {
        self.check(&producer.shared)?;
        // INVARIANT: `size <= INT_MAX`. With `limit <= INT_MAX` and
        // `len <= size <= INT_MAX` before, `want <= limit - len` (or 0), so
        // `needed <= max(len, limit) <= INT_MAX`, and the new size is at
        // most `max(limit, needed) <= INT_MAX`.
        let limit = limit.min(INT_MAX);
        let want = want.min(limit.saturating_sub(self.len));
        if self.room() >= want {
            return Ok(self.room());
        }
        let needed = self.len.saturating_add(want);
        let size = needed
            .max(self.size.saturating_mul(2))
            .max(MIN_ALLOC)
            .min(limit.max(needed));
        match Vec::try_from_elem_in(0u8, size, A::default(), crate::malloc::M_NOWAIT) {
            Ok(bigger) => {
                self.replace_storage(bigger);
                Ok(self.room())
            }
            Err(_) if self.room() > 0 => Ok(self.room()),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the queued bytes into `bigger` (at least `len` bytes) and
    /// makes it the storage. Called with the producer's token: no write
    /// slot is alive.
    fn replace_storage(&mut self, mut bigger: Vec<u8, A>) {
        let (first, second) = self.queued();
        let copied = first
            .len()
            .checked_add(second.len())
            .and_then(|n| bigger.get_mut(..n))
            .map(|dst| dst.split_at_mut(first.len()));
        if let Some((a, b)) = copied {
            a.copy_from_slice(first);
            b.copy_from_slice(second);
        } else {
            // `bigger` is shorter than what is queued: keep the storage
            // (callers never ask for less).
            return;
        }
        // A live read slot (which holds a queued byte) reads from the
        // retired storage if there is one, else from `old`: keep `old`
        // until the reader commits, unless it is nobody's.
        let keep = self.len > 0 && !self.retired;
        let base = bigger.as_mut_ptr();
        let size = bigger.len();
        let bufs = self.bufs();
        let old = core::mem::replace(&mut bufs.current, bigger);
        if keep {
            bufs.retired = old;
            self.retired = true;
        } else {
            drop(old);
        }
        // INVARIANT: the same bytes, from the start of the new storage.
        self.base = NonNull::new(base).unwrap_or(NonNull::dangling());
        self.size = size;
        self.head = 0;
    }

    /// Frees the storage if no byte is queued; returns whether there was
    /// storage to free. An idle driver calls it from a task, holding the
    /// producers' lock.
    ///
    /// # Context
    /// Does not sleep (`free(9)` does not).
    pub fn release(&mut self, producer: &mut Producer<A, B>) -> bool {
        if self.check(&producer.shared).is_err() || self.len != 0 {
            return false;
        }
        let had = self.size != 0;
        // Empty: no live read slot (one holds an uncommitted byte), and
        // the producer's token proves no write slot.
        let bufs = self.bufs();
        let current = core::mem::replace(&mut bufs.current, Vec::new_in(A::default()));
        let retired = core::mem::replace(&mut bufs.retired, Vec::new_in(A::default()));
        // INVARIANT: no storage, nothing queued, no slot.
        self.base = NonNull::dangling();
        self.size = 0;
        self.head = 0;
        self.retired = false;
        drop(current);
        drop(retired);
        had
    }

    /// Lends the producer the free bytes, at most `max` of them (and at
    /// most `INT_MAX`, one `uiomove(9)` per part), in at most
    /// two contiguous parts, to fill outside the ring's lock; see
    /// [`WriteSlot`]. Empty if the storage is full or absent
    /// ([`reserve`](Self::reserve) first).
    ///
    /// # Errors
    /// `EINVAL`: `producer` is not this ring's.
    ///
    /// # Context
    /// Does not sleep.
    #[inline]
    pub fn write_slot<'p>(
        &mut self,
        producer: &'p mut Producer<A, B>,
        max: usize,
    ) -> Result<WriteSlot<'p, B>> {
        self.check(&producer.shared)?;
        let tail = if self.len == 0 {
            // INVARIANT: an empty ring starts again at 0, so that writes
            // stay contiguous; no slot covers a queued byte (there is none).
            self.head = 0;
            0
        } else {
            self.wrap(self.head.wrapping_add(self.len))
        };
        // At most `INT_MAX` bytes, so that each part is one `uiomove(9)`
        // (the copy then needs no loop of its own; the caller asks again):
        // `room() <= size <= INT_MAX` (type invariant), no clamp needed.
        let n = self.room().min(max);
        // Free: from the tail to the end, then from the start to the head.
        // `tail < size` or `size == 0`: no wrap.
        let first = n.min(self.size.wrapping_sub(tail));
        // `first <= n`: no wrap.
        let second = n.wrapping_sub(first);
        Ok(WriteSlot {
            parts: Parts {
                first: self.at(tail),
                first_len: first,
                second: self.base,
                second_len: second,
            },
            filled: 0,
            ring: Arc::as_ptr(&self.shared).cast(),
            _producer: PhantomData,
            _brand: PhantomData,
        })
    }

    /// Appends the bytes `slot` was filled with (at most its length); returns
    /// how many.
    ///
    /// Bytes of another ring's slot are not appended (0).
    ///
    /// # Context
    /// Does not sleep.
    #[inline]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the slot ends it: it cannot be committed twice or used after"
    )]
    pub fn commit_write(&mut self, slot: WriteSlot<'_, B>) -> usize {
        if B::CHECKED && !core::ptr::eq(slot.ring, Arc::as_ptr(&self.shared).cast()) {
            return 0;
        }
        // INVARIANT: `len + filled <= size`, by construction rather than
        // tested here. The slot is this ring's: checked above when the brand
        // is `Unbranded` (the storage cannot be freed and its address
        // reused while the slot lives, as the producer it borrows keeps
        // it); by construction for a `Unique` brand, whose one live ring
        // is the slot's (the borrowed producer's storage holds the brand
        // until the producer goes, so no other ring of it exists, and a
        // slot of another brand does not type-check). It was made covering at
        // most `room()` bytes; `filled` grows by at most the piece copied
        // (`Parts::each`), so it is at most that. Since then `room()` has
        // not shrunk: the size changes only with the producer (`reserve`,
        // `release`), which the slot borrows, and `len` grows only by a
        // commit of a write slot, of which the borrowed producer allows
        // no other; the consumer only lowers `len`.
        let n = slot.filled;
        self.len = self.len.wrapping_add(n);
        n
    }

    /// Lends the consumer the oldest queued bytes, at most `max` of them
    /// (and at most `INT_MAX`, one `uiomove(9)` per part),
    /// in at most two contiguous parts, to copy out outside the ring's
    /// lock; see [`ReadSlot`]. Empty if nothing is queued.
    ///
    /// # Errors
    /// `EINVAL`: `consumer` is not this ring's.
    ///
    /// # Context
    /// Does not sleep.
    #[inline]
    pub fn read_slot<'c>(
        &mut self,
        consumer: &'c mut Consumer<A, B>,
        max: usize,
    ) -> Result<ReadSlot<'c, B>> {
        self.check(&consumer.shared)?;
        if self.retired {
            // INVARIANT: the consumer's previous slot is gone (this call
            // borrows the token it borrowed): storage kept for it may go,
            // and the new slot reads from the current storage.
            self.free_retired();
        }
        // At most `INT_MAX` bytes, as for a write slot: `len <= size <=
        // INT_MAX` (type invariant).
        let n = self.len.min(max);
        // `head < size` or `size == 0`: no wrap.
        let first = n.min(self.size.wrapping_sub(self.head));
        // `first <= n`: no wrap.
        let second = n.wrapping_sub(first);
        Ok(ReadSlot {
            parts: Parts {
                first: self.at(self.head),
                first_len: first,
                second: self.base,
                second_len: second,
            },
            drained: 0,
            ring: Arc::as_ptr(&self.shared).cast(),
            _consumer: PhantomData,
            _brand: PhantomData,
        })
    }

    /// Removes the bytes `slot` was drained of (at most its length), the
    /// oldest; returns how many.
    ///
    /// Bytes of another ring's slot are not removed (0).
    ///
    /// Storage kept for the slot while the ring grew is freed by the
    /// consumer's next [`read_slot`](Self::read_slot) (or by
    /// [`release`](Self::release)), not here.
    ///
    /// # Context
    /// Does not sleep.
    #[inline]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the slot ends it: it cannot be committed twice or used after"
    )]
    pub fn commit_read(&mut self, slot: ReadSlot<'_, B>) -> usize {
        if B::CHECKED && !core::ptr::eq(slot.ring, Arc::as_ptr(&self.shared).cast()) {
            return 0;
        }
        // Storage kept for the slot, if any, stays until the consumer's
        // next slot (`read_slot` frees it first) or `release`: one test
        // less here, and at most one old storage held meanwhile.
        // The slot covers the oldest bytes when it was made; only the
        // consumer removes, so they are still the oldest.
        // INVARIANT: `drained <= len`, by construction rather than tested
        // here. The slot is this ring's (checked above, or by construction
        // for a `Unique` brand, as in `commit_write`) and covered at most
        // `len` bytes when made; `drained` grows by at most the piece
        // copied (`Parts::each`). Since then `len` has not dropped: only a
        // commit of a read slot lowers it, and the consumer the slot
        // borrows allows no other; `release` empties nothing (it frees
        // only storage with no byte queued).
        let n = slot.drained;
        // INVARIANT: `n <= len`; the head moves within the storage.
        self.len = self.len.wrapping_sub(n);
        self.head = self.wrap(self.head.wrapping_add(n));
        n
    }

    /// Frees storage kept for a reader whose slot is gone.
    #[cold]
    #[inline(never)]
    fn free_retired(&mut self) {
        self.retired = false;
        let bufs = self.bufs();
        drop(core::mem::replace(
            &mut bufs.retired,
            Vec::new_in(A::default()),
        ));
    }

    /// The queued bytes, in order, in their two contiguous parts.
    fn queued(&self) -> (&[u8], &[u8]) {
        let first = self.len.min(self.size.wrapping_sub(self.head));
        let second = self.len.wrapping_sub(first);
        // SAFETY: `first` bytes from `head` and `second` from the start
        // are queued bytes of the current storage (type invariant), which
        // nobody writes while they are queued; initialised (the storage
        // is allocated filled with zeros).
        let a = unsafe { core::slice::from_raw_parts(self.at(self.head).as_ptr(), first) };
        // SAFETY: as above.
        let b = unsafe { core::slice::from_raw_parts(self.base.as_ptr(), second) };
        (a, b)
    }

    /// `EINVAL` unless `shared` is this ring's storage (the token is this
    /// ring's). Nothing to test for a [`Unique`] brand: the token's storage
    /// holds the brand, which only one ring's storage holds at a time, so it
    /// is this ring's.
    #[inline]
    fn check(&self, shared: &Arc<Storage<A, B>, A>) -> Result {
        if !B::CHECKED || Arc::ptr_eq(&self.shared, shared) {
            Ok(())
        } else {
            Err(code::EINVAL)
        }
    }

    /// `i` modulo the storage's size, for `i < 2 * size` (0 without
    /// storage).
    #[inline]
    fn wrap(&self, i: usize) -> usize {
        if i >= self.size {
            i.wrapping_sub(self.size)
        } else {
            i
        }
    }

    /// The address of byte `i < size` of the storage (`base` if `size` is
    /// 0).
    #[inline]
    fn at(&self, i: usize) -> NonNull<u8> {
        // SAFETY: `i < size` (the callers wrap it), or `i == 0`: an offset
        // inside the storage's `size` bytes at `base` (or 0 from a dangling
        // `base` without storage), so no overflow and not null.
        unsafe { self.base.add(i) }
    }
}

/// The free bytes of a [`ByteRing`], lent to its producer to fill outside
/// the ring's lock; made by [`ByteRing::write_slot`], given back with
/// [`ByteRing::commit_write`], which appends what was filled.
///
/// It borrows the [`Producer`]: while it lives the storage is neither grown
/// nor freed, and no other write slot exists. Not `Send`: the thread that
/// holds the producer's lock fills it.
///
/// # Invariants
/// The slot covers `filled` bytes, then `parts`: free bytes of the ring's
/// storage when the slot was made, from its tail, written by nobody else
/// until it is committed; the `filled` ones, in order, hold copied data.
#[must_use = "commit the slot, or the bytes copied into it are lost"]
pub struct WriteSlot<'p, B: Brand = Unbranded> {
    parts: Parts,
    filled: usize,
    ring: *const (),
    _producer: PhantomData<&'p mut ()>,
    _brand: PhantomData<B>,
}

/// The oldest queued bytes of a [`ByteRing`], lent to its consumer to copy
/// out outside the ring's lock; made by [`ByteRing::read_slot`], given back
/// with [`ByteRing::commit_read`], which removes what was drained.
///
/// It borrows the [`Consumer`], so no other read slot exists; the bytes
/// stay (and stay unchanged) until it is committed. Not `Send`.
///
/// # Invariants
/// The slot covers `drained` bytes, then `parts`: the oldest queued bytes
/// of the ring's storage (or of storage the ring keeps for this slot), in
/// order, written by nobody until the slot is committed; the `drained`
/// ones were copied out.
#[must_use = "commit the slot, or the bytes read stay queued"]
pub struct ReadSlot<'c, B: Brand = Unbranded> {
    parts: Parts,
    drained: usize,
    ring: *const (),
    _consumer: PhantomData<&'c mut ()>,
    _brand: PhantomData<B>,
}

/// What is left of a slot's one or two contiguous parts: `first_len`
/// bytes at `first`, then `second_len` at `second` (the storage's start).
/// Copying consumes it from the front.
///
/// # Invariants
/// `first_len + second_len <= INT_MAX`: a slot is made of at most `room()`
/// or `len` bytes of its ring, both at most its size, which is at most
/// `INT_MAX` (the ring's invariant), and consuming only shrinks the parts.
#[derive(Clone, Copy)]
struct Parts {
    first: NonNull<u8>,
    first_len: usize,
    second: NonNull<u8>,
    second_len: usize,
}

impl Parts {
    /// The bytes left in both parts.
    #[inline]
    fn len(self) -> usize {
        // Both are parts of one storage: no wrap.
        self.first_len.wrapping_add(self.second_len)
    }

    /// Runs `copy` on what is left, one contiguous piece at a time (start,
    /// length), consuming what each call reports as copied and adding it
    /// to `*done`; stops at an error, or after a call that copied less
    /// than its piece. `copy` may be given an empty piece (once, when
    /// nothing is left) and must then copy nothing.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    fn each(
        &mut self,
        done: &mut usize,
        mut copy: impl FnMut(NonNull<u8>, usize) -> (usize, Result),
    ) -> Result {
        // One call site for `copy`, so that it is inlined. The error and
        // the short copy are tested apart, the error's bookkeeping out of
        // line, so that the usual case (a whole piece, no error) is two
        // tests. The first piece is copied even if empty (a copy of no
        // bytes, which `uiomove(9)` makes without touching memory): one
        // test less for a slot that is not, the usual one.
        loop {
            let len = self.first_len;
            let (n, result) = copy(self.first, len);
            if let Err(e) = result {
                self.advance_failed(done, n.min(len));
                return Err(e);
            }
            if n < len {
                // A short piece: the request ran out.
                // SAFETY: `n < len`: an offset inside the piece.
                self.first = unsafe { self.first.add(n) };
                // `n < len`: no wrap (for both).
                self.first_len = len.wrapping_sub(n);
                *done = done.wrapping_add(n);
                return Ok(());
            }
            // The piece is done (`n >= len`, counted as `len`): the second
            // part is next, then nothing.
            *done = done.wrapping_add(len);
            self.first = self.second;
            self.first_len = self.second_len;
            self.second_len = 0;
            if self.first_len == 0 {
                return Ok(());
            }
        }
    }

    /// Consumes the `n` bytes a failed copy of the first piece reported as
    /// copied (at most `first_len`), adding them to `*done`.
    #[cold]
    fn advance_failed(&mut self, done: &mut usize, n: usize) {
        // `n <= first_len`: still within the parts.
        *done = done.wrapping_add(n);
        if n < self.first_len {
            // SAFETY: `n < first_len`: an offset inside the piece.
            self.first = unsafe { self.first.add(n) };
            // `n < first_len`: no wrap.
            self.first_len = self.first_len.wrapping_sub(n);
        } else {
            // The piece is done: the second part is next, then nothing.
            self.first = self.second;
            self.first_len = self.second_len;
            self.second_len = 0;
        }
    }
}

impl<B: Brand> WriteSlot<'_, B> {
    /// The bytes the slot can take (filled or not).
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        // Parts of one storage: no wrap.
        self.filled.wrapping_add(self.parts.len())
    }

    /// Whether the slot can take no byte.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes filled so far.
    #[inline]
    #[must_use]
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Fills the slot from the user with `uiomove(9)`, one call per
    /// contiguous part, until it is full or the request has no more bytes;
    /// returns how many it took. What arrived before a fault stays counted
    /// (see [`UioReader`]), and the commit appends exactly that.
    ///
    /// # Errors
    /// `EFAULT`: the user's buffer is not readable; the bytes before the
    /// failing step are counted all the same.
    ///
    /// # Context
    /// May sleep: call it with the ring's mutex released.
    #[inline]
    pub fn fill_from(&mut self, uio: &mut UioReader<'_>, cx: &mut impl MaySleep) -> Result<usize> {
        let _ = cx;
        let start = self.filled;
        // INVARIANT: `filled` grows by what each copy reports, at most its
        // piece, so the filled bytes hold data.
        let result = self.parts.each(&mut self.filled, |at, len| {
            // SAFETY: a piece is at most `INT_MAX` bytes (the invariant of
            // `Parts`): one `uiomove(9)`, its chunked fallback dead.
            unsafe { core::hint::assert_unchecked(len <= INT_MAX) };
            // SAFETY: `len` bytes at `at` are free bytes of the storage that
            // only this slot writes, and the storage stays (type invariant).
            unsafe { uio.move_in_counted(at.as_ptr(), len) }
        });
        result.map(|()| self.filled.wrapping_sub(start))
    }

    /// Fills the slot from `data` (a kernel buffer) as far as both go;
    /// returns how many bytes it took.
    #[inline]
    pub fn write(&mut self, data: &[u8]) -> usize {
        let start = self.filled;
        let mut data = data;
        // INVARIANT: as in `fill_from`. A copy does not fail.
        let _copied = self.parts.each(&mut self.filled, |at, len| {
            let (now, rest) = data.split_at(len.min(data.len()));
            // SAFETY: `now.len() <= len` bytes at `at` are free bytes of the
            // storage that only this slot writes (type invariant); `now` is
            // another buffer (a shared borrow cannot alias them).
            unsafe { core::ptr::copy_nonoverlapping(now.as_ptr(), at.as_ptr(), now.len()) };
            data = rest;
            (now.len(), Ok(()))
        });
        self.filled.wrapping_sub(start)
    }
}

impl<B: Brand> ReadSlot<'_, B> {
    /// The bytes the slot holds (drained or not).
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        // Parts of one storage: no wrap.
        self.drained.wrapping_add(self.parts.len())
    }

    /// Whether the slot holds no byte.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes copied out so far.
    #[inline]
    #[must_use]
    pub fn drained(&self) -> usize {
        self.drained
    }

    /// The slot's bytes not drained yet, in order, in their two contiguous
    /// parts.
    #[must_use]
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        let p = self.parts;
        // SAFETY: queued bytes nobody writes while the slot lives, in
        // storage that stays (type invariant); initialised (the storage is
        // allocated zeroed, and queued bytes were written before).
        let first = unsafe { core::slice::from_raw_parts(p.first.as_ptr(), p.first_len) };
        // SAFETY: as above.
        let second = unsafe { core::slice::from_raw_parts(p.second.as_ptr(), p.second_len) };
        (first, second)
    }

    /// Copies the slot's bytes to the user with `uiomove(9)`, one call per
    /// contiguous part, until all are out or the request is full; returns
    /// how many it copied. What was copied before a fault stays counted
    /// (see [`UioWriter`]), and the commit removes exactly that.
    ///
    /// # Errors
    /// `EFAULT`: the user's buffer is not writable; the bytes before the
    /// failing step are counted all the same.
    ///
    /// # Context
    /// May sleep: call it with the ring's mutex released.
    #[inline]
    pub fn drain_to(&mut self, uio: &mut UioWriter<'_>, cx: &mut impl MaySleep) -> Result<usize> {
        let _ = cx;
        let start = self.drained;
        // INVARIANT: `drained` grows by what each copy reports.
        let result = self.parts.each(&mut self.drained, |at, len| {
            // SAFETY: a piece is at most `INT_MAX` bytes (the invariant of
            // `Parts`): one `uiomove(9)`, its chunked fallback dead.
            unsafe { core::hint::assert_unchecked(len <= INT_MAX) };
            // SAFETY: `len` queued bytes at `at` that nobody writes while
            // the slot lives, in storage that stays (type invariant).
            unsafe { uio.move_out_counted(at.as_ptr(), len) }
        });
        result.map(|()| self.drained.wrapping_sub(start))
    }

    /// Copies the slot's bytes into `out` (a kernel buffer) as far as both
    /// go; returns how many.
    #[inline]
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let start = self.drained;
        let mut out = out;
        // INVARIANT: as in `drain_to`. A copy does not fail.
        let _copied = self.parts.each(&mut self.drained, |at, len| {
            let n = len.min(out.len());
            let (now, rest) = core::mem::take(&mut out).split_at_mut(n);
            // SAFETY: `n <= len` queued bytes at `at`, unchanged while the
            // slot lives (type invariant); `now` is another buffer (a
            // mutable borrow cannot alias them).
            unsafe { core::ptr::copy_nonoverlapping(at.as_ptr(), now.as_mut_ptr(), n) };
            out = rest;
            (n, Ok(()))
        });
        self.drained.wrapping_sub(start)
    }
}

#[cfg(test)]
mod tests;
