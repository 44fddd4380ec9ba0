// SPDX-License-Identifier: BSD-2-Clause
//! [`ArcBytes`]: reference-counted bytes with their header in one block.
//!
//! A C driver keeps a message as one block: a header followed by the bytes
//! (`struct { u_int refs; size_t len, cap; char data[]; }`). `Arc<Vec<u8>>`
//! takes two blocks for the same thing (two allocations to make one, two
//! frees to release it, two pointers to follow to read it). An
//! [`ArcBytes`] is the C layout: the count, the length and the capacity,
//! then the bytes, in one block, behind a one-word pointer. The capacity
//! is fixed when it is made; [`ArcBytes::get_mut`] lets the only owner
//! refill it in place.
//!
//! # Examples
//!
//! ```
//! use alloc_kernel::{ArcBytes, HostAllocator, M_NOWAIT};
//!
//! let mut msg: ArcBytes<HostAllocator> = ArcBytes::try_with_capacity(8, M_NOWAIT)?;
//! let mut bytes = msg.get_mut().unwrap();
//! assert!(bytes.extend_within_capacity(b"hello"));
//! assert!(!bytes.extend_within_capacity(b" world"), "beyond the capacity");
//! let copy = msg.clone();
//! assert!(msg.get_mut().is_none(), "shared: read-only");
//! assert_eq!((&copy[..], copy.capacity()), (&b"hello"[..], 8));
//! # Ok::<(), alloc_kernel::AllocError>(())
//! ```

use crate::arc::{MAX_REFCOUNT, SATURATED, decrement, needs_slow_release, saturate, slow_release};
use crate::{AllocError, Allocator, Flags, Wait, WaitAllocator};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, size_of};
use core::ops::Deref;
use core::ptr::{self, NonNull};
use core::sync::atomic::{self, AtomicUsize};

/// The start of the block; the bytes follow it.
#[repr(C)]
struct Header {
    count: AtomicUsize,
    len: usize,
    cap: usize,
}

/// The empty bytes every [`ArcBytes::empty`] points to, as C drivers keep
/// a static empty message. Its count starts saturated, so no clone or drop
/// can bring it to zero: it is never written (but for its atomic count)
/// and never freed.
static EMPTY: Header = Header {
    count: AtomicUsize::new(SATURATED),
    len: 0,
    cap: 0,
};

/// The largest capacity of an [`ArcBytes`]: `INT_MAX` (`0x7fff_ffff`), so
/// that its bytes, or any part of them, always fit the `int` count of one
/// `uiomove(9)` call; the kernel's copies need no fallback for more. A
/// larger request fails as an allocation that cannot be made.
pub const MAX_CAPACITY: usize = 0x7fff_ffff;

/// The block's layout for `cap` bytes; an error beyond [`MAX_CAPACITY`].
fn layout(cap: usize) -> Result<Layout, AllocError> {
    if cap > MAX_CAPACITY {
        return Err(AllocError);
    }
    let size = size_of::<Header>().checked_add(cap).ok_or(AllocError)?;
    Layout::from_size_align(size, align_of::<Header>()).map_err(|_| AllocError)
}

/// Reference-counted bytes with a fixed capacity, in one block from `A`
/// (see the [module](self) documentation).
///
/// Counts saturate as [`Arc`](crate::Arc)'s do.
///
/// # Invariants
/// `ptr` is a block of `alloc` with `layout(cap)`, starting with a
/// `Header` whose `cap` is the number of bytes after it, `len <= cap <=
/// MAX_CAPACITY` (`layout` refuses more),
/// and the first `len` of those bytes initialised. Its `count` is the
/// number of `ArcBytes` pointing to it (or saturated), at least one while
/// this one exists. The header's `len` and the bytes are written only
/// through a [`BytesMut`], which exists only while the count is one.
/// Or `ptr` is the static `EMPTY`, whose count is saturated from the
/// start, so that it never reaches one (no `BytesMut`) or zero (no free).
pub struct ArcBytes<A: Allocator> {
    ptr: NonNull<Header>,
    alloc: A,
    _owns: PhantomData<Header>,
}

// SAFETY: the bytes are plain data; moving an `ArcBytes` to another thread
// may make it the last owner, which frees the block with `A` (`A: Send`).
unsafe impl<A: Allocator + Send> Send for ArcBytes<A> {}

// SAFETY: `&ArcBytes` only reads the bytes and updates the atomic count;
// cloning uses `A` from several threads (`A: Sync`).
unsafe impl<A: Allocator + Sync> Sync for ArcBytes<A> {}

impl<A: Allocator> ArcBytes<A> {
    /// Empty bytes with room for `cap`, from `A::default()`, with a count of
    /// one.
    ///
    /// # Errors
    /// [`AllocError`] if the allocation fails or the size overflows.
    pub fn try_with_capacity(cap: usize, flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_with_capacity_in(cap, A::default(), flags)
    }

    /// [`ArcBytes::try_with_capacity`] with the allocator `alloc`.
    ///
    /// # Errors
    /// [`AllocError`] if the allocation fails or the size overflows.
    pub fn try_with_capacity_in(
        cap: usize,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError> {
        let ptr = alloc.allocate(layout(cap)?, flags.into())?.cast::<Header>();
        let header = Header {
            count: AtomicUsize::new(1),
            len: 0,
            cap,
        };
        // SAFETY: a fresh block with room for the header, aligned for it.
        unsafe { ptr.write(header) };
        // INVARIANT: the block has `layout(cap)`, a count of one, and no
        // byte held.
        Ok(Self {
            ptr,
            alloc,
            _owns: PhantomData,
        })
    }

    /// Empty bytes with no room, which allocate nothing: a reference to
    /// one static header, as C drivers keep a static empty message. Never
    /// writable ([`get_mut`](Self::get_mut) gives `None`), never freed.
    #[must_use]
    pub fn empty() -> Self
    where
        A: Default,
    {
        // INVARIANT: the static empty header, count saturated.
        Self {
            ptr: NonNull::from(&EMPTY),
            alloc: A::default(),
            _owns: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the block starts with a live header (type invariant);
        // `len` and `cap` are not written while `&self` exists (only a
        // `BytesMut`, which borrows `self` mutably, writes `len`).
        unsafe { self.ptr.as_ref() }
    }

    /// Where the bytes start.
    fn data(&self) -> *mut u8 {
        // The bytes follow the header in the block (type invariant).
        self.ptr
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(size_of::<Header>())
    }

    /// The number of bytes held: at most [`MAX_CAPACITY`].
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        let len = self.header().len;
        // SAFETY: `len <= cap <= MAX_CAPACITY` (type invariant). Stated so
        // that a copy of the bytes, or of a part, compiles without a path
        // for counts beyond an `int`.
        unsafe { core::hint::assert_unchecked(len <= MAX_CAPACITY) };
        len
    }

    /// Whether no byte is held.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many bytes fit: fixed when the block was made, at most
    /// [`MAX_CAPACITY`].
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        let cap = self.header().cap;
        // SAFETY: `cap <= MAX_CAPACITY` (type invariant). Stated so that
        // `layout(cap)` at the free compiles without its failure path.
        unsafe { core::hint::assert_unchecked(cap <= MAX_CAPACITY) };
        cap
    }

    /// The bytes held.
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes after the header are initialised
        // and in the block (type invariant), and are not written while
        // `&self` exists.
        unsafe { &*ptr::slice_from_raw_parts(self.data(), self.len()) }
    }

    /// Write access if this is the only `ArcBytes` to the block.
    #[inline]
    pub fn get_mut(&mut self) -> Option<BytesMut<'_>> {
        if self.header().count.load(atomic::Ordering::Acquire) != 1 {
            return None;
        }
        // INVARIANT: the count is one and `self` is borrowed mutably for
        // the `BytesMut`'s life, so nothing else can read the bytes or
        // clone the reference meanwhile; the `Acquire` load orders the
        // accesses of dropped clones before.
        Some(BytesMut {
            ptr: self.ptr,
            _owner: PhantomData,
        })
    }

    /// The rest of a drop that left the count at `new` ([`slow_release`]):
    /// saturates it, or frees the block. Out of line: every drop site keeps
    /// only the decrement, a test and this call.
    ///
    /// # Safety
    /// `new` is what this reference's own decrement left, and the reference
    /// is not used afterwards.
    #[inline(never)]
    unsafe fn drop_slow(&mut self, new: usize) {
        if !slow_release(&self.header().count, new) {
            return;
        }
        // The last reference, ordered after the others by the fence of
        // `slow_release`.
        let cap = self.capacity();
        // `layout(cap)` succeeded when the block was made.
        if let Ok(layout) = layout(cap) {
            // SAFETY: the block is from `alloc` with this layout (type
            // invariant); nothing uses it afterwards.
            unsafe { self.alloc.deallocate(self.ptr.cast(), layout) };
        }
    }
}

impl<A: WaitAllocator + Default> ArcBytes<A> {
    /// A copy of `bytes` (capacity `bytes.len()`), from an allocation that
    /// may sleep and cannot fail.
    pub fn from_slice(bytes: &[u8], flags: impl Wait) -> Self {
        let Ok(this) = Self::try_with_capacity(bytes.len(), flags) else {
            A::wait_failed()
        };
        // SAFETY: the block is new, so this is its only reference, and it
        // has room for `bytes.len()` bytes after the header (its
        // capacity); two live allocations do not overlap.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), this.data(), bytes.len()) };
        // SAFETY: as above, the header is this reference's alone.
        unsafe { (*this.ptr.as_ptr()).len = bytes.len() };
        // INVARIANT: `len == cap`, every byte written just above.
        this
    }
}

impl<A: Allocator + Clone> Clone for ArcBytes<A> {
    /// Another reference to the same bytes; never allocates.
    fn clone(&self) -> Self {
        let count = &self.header().count;
        let new = count
            .fetch_add(1, atomic::Ordering::Relaxed)
            .wrapping_add(1);
        if new > MAX_REFCOUNT {
            saturate(count);
        }
        // INVARIANT: the count includes the new reference (or saturated).
        Self {
            ptr: self.ptr,
            alloc: self.alloc.clone(),
            _owns: PhantomData,
        }
    }
}

impl<A: Allocator> Drop for ArcBytes<A> {
    #[inline]
    fn drop(&mut self) {
        let new = decrement(&self.header().count);
        if needs_slow_release(new) {
            // SAFETY: `new` is what this drop left.
            unsafe { self.drop_slow(new) };
        }
    }
}

impl<A: Allocator> Deref for ArcBytes<A> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<A: Allocator> core::fmt::Debug for ArcBytes<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ArcBytes")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// Write access to the bytes of an [`ArcBytes`] that has no other
/// reference ([`ArcBytes::get_mut`]).
///
/// # Invariants
/// `ptr` is the block of an `ArcBytes` with a count of one, borrowed
/// mutably for `'a`.
pub struct BytesMut<'a> {
    ptr: NonNull<Header>,
    _owner: PhantomData<&'a mut Header>,
}

impl BytesMut<'_> {
    fn header(&self) -> &Header {
        // SAFETY: the header is live and nothing else accesses it while
        // this exists (type invariant).
        unsafe { self.ptr.as_ref() }
    }

    fn header_mut(&mut self) -> &mut Header {
        // SAFETY: the header is live and nothing else accesses it while
        // this exists (type invariant); `&mut self` makes it unique here.
        unsafe { self.ptr.as_mut() }
    }

    /// The number of bytes held: at most [`MAX_CAPACITY`].
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        let len = self.header().len;
        // SAFETY: `len <= cap <= MAX_CAPACITY` (type invariant). Stated so
        // that a copy of the bytes, or of a part, compiles without a path
        // for counts beyond an `int`.
        unsafe { core::hint::assert_unchecked(len <= MAX_CAPACITY) };
        len
    }

    /// Whether no byte is held.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many bytes fit.
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.header().cap
    }

    /// Drops the contents (the capacity stays).
    #[inline]
    pub fn clear(&mut self) {
        // INVARIANT: zero bytes are initialised.
        self.header_mut().len = 0;
    }

    /// The room after the bytes held, to be filled before
    /// [`set_len`](Self::set_len).
    #[inline]
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        let h = self.header();
        let (len, cap) = (h.len, h.cap);
        // SAFETY: `cap <= MAX_CAPACITY` (the invariant of the `ArcBytes`
        // this borrows). Stated so that a copy into the room compiles
        // without a path for counts beyond an `int`.
        unsafe { core::hint::assert_unchecked(cap <= MAX_CAPACITY) };
        let start = self
            .ptr
            .as_ptr()
            .cast::<MaybeUninit<u8>>()
            .wrapping_add(size_of::<Header>())
            .wrapping_add(len);
        // SAFETY: bytes `len..cap` after the header are in the block
        // (`len <= cap`), any bytes are valid `MaybeUninit<u8>`, and nothing
        // else accesses them while `self` is borrowed.
        unsafe { &mut *ptr::slice_from_raw_parts_mut(start, cap.wrapping_sub(len)) }
    }

    /// Sets the length.
    ///
    /// # Safety
    /// `new_len <= capacity`, and the first `new_len` bytes are
    /// initialised.
    #[inline]
    pub unsafe fn set_len(&mut self, new_len: usize) {
        // INVARIANT: the caller's contract.
        self.header_mut().len = new_len;
    }

    /// Appends `bytes` if they fit in the spare capacity; returns whether
    /// they did (if not, nothing changes). Never allocates.
    pub fn extend_within_capacity(&mut self, bytes: &[u8]) -> bool {
        let Some(room) = self.spare_capacity_mut().get_mut(..bytes.len()) else {
            return false;
        };
        for (dst, &b) in room.iter_mut().zip(bytes) {
            dst.write(b);
        }
        let len = self.len().wrapping_add(bytes.len());
        // SAFETY: `len <= capacity` (the room existed), and those bytes
        // were just written.
        unsafe { self.set_len(len) };
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{FailingAllocator, Sleeping};
    use crate::{ArcBytes, HostAllocator, M_NOWAIT};

    #[test]
    fn no_capacity_beyond_an_int() {
        let alloc = FailingAllocator::new();
        let over = ArcBytes::try_with_capacity_in(crate::MAX_CAPACITY + 1, alloc.clone(), M_NOWAIT);
        assert!(over.is_err(), "more than INT_MAX bytes");
        assert_eq!(crate::MAX_CAPACITY, 0x7fff_ffff);
        assert!(ArcBytes::try_with_capacity_in(0, alloc, M_NOWAIT).is_ok());
    }

    #[test]
    fn fill_clear_clone_and_free() {
        let alloc = FailingAllocator::new();
        let mut a = ArcBytes::try_with_capacity_in(5, alloc.clone(), M_NOWAIT).unwrap();
        assert!(a.is_empty());
        let mut b = a.get_mut().unwrap();
        assert_eq!((b.is_empty(), b.len(), b.capacity()), (true, 0, 5));
        assert_eq!(b.spare_capacity_mut().len(), 5);
        assert!(b.extend_within_capacity(b"abc"));
        assert!(!b.extend_within_capacity(b"def"));
        assert!(b.extend_within_capacity(b"de"));
        assert!(b.spare_capacity_mut().is_empty());
        assert_eq!(&a[..], b"abcde");
        let mut b = a.get_mut().unwrap();
        b.clear();
        assert!(b.extend_within_capacity(b"x"));
        let c = a.clone();
        assert!(a.get_mut().is_none(), "shared");
        assert_eq!(c.as_slice(), b"x");
        assert_eq!(alloc.stats().live_allocations, 1, "one block");
        drop(a);
        assert_eq!(alloc.stats().live_allocations, 1, "c keeps it");
        drop(c);
        assert!(alloc.is_clean(), "{:?}", alloc.violations());
    }

    #[test]
    fn the_static_empty_bytes_are_never_writable_nor_freed() {
        let mut e: ArcBytes<HostAllocator> = ArcBytes::empty();
        assert!(e.is_empty() && e.capacity() == 0 && e.as_slice().is_empty());
        assert!(e.get_mut().is_none(), "shared with every other empty()");
        let clones: std::vec::Vec<_> = (0..100).map(|_| e.clone()).collect();
        drop(clones);
        drop(e);
        // Freeing the static would have been undefined behaviour long
        // before this; the count shows why it never happens.
        let count = super::EMPTY
            .count
            .load(core::sync::atomic::Ordering::Relaxed);
        assert!(count > super::MAX_REFCOUNT, "{count:#x}");
        let e2: ArcBytes<HostAllocator> = ArcBytes::empty();
        assert!(e2.is_empty());
    }

    #[test]
    fn failures_are_errors() {
        let alloc = FailingAllocator::new();
        alloc.fail_next();
        assert!(ArcBytes::try_with_capacity_in(5, alloc.clone(), M_NOWAIT).is_err());
        assert!(ArcBytes::try_with_capacity_in(usize::MAX, alloc.clone(), M_NOWAIT).is_err());
        assert!(alloc.is_clean());
    }

    #[test]
    fn from_slice_copies() {
        let a: ArcBytes<HostAllocator> = ArcBytes::from_slice(b"hello", Sleeping);
        assert_eq!((a.as_slice(), a.capacity()), (&b"hello"[..], 5));
        let e: ArcBytes<HostAllocator> = ArcBytes::from_slice(b"", Sleeping);
        assert!(e.is_empty());
    }
}
