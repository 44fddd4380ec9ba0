// SPDX-License-Identifier: BSD-2-Clause
//! [`Arc`]: a thread-safe reference-counted value, allocated fallibly.
//!
//! Only strong references exist (no `Weak`). The counting follows `std`'s
//! `Arc`: `Relaxed` increments, `Release` decrements and an `Acquire` fence
//! before the value is dropped.

use crate::{AllocError, Allocator, Flags};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::Deref;
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::sync::atomic::{self, AtomicUsize};

mod trait_impls;

/// A count at or above which the count is no longer trusted: it is
/// saturated instead (see [`Arc`]'s documentation).
pub(crate) const MAX_REFCOUNT: usize = usize::MAX >> 1;

/// The value a saturated count is pinned at: half-way between
/// [`MAX_REFCOUNT`] and `usize::MAX`, so that neither increments nor
/// decrements racing with a re-saturation can bring it back into range.
pub(crate) const SATURATED: usize = !(usize::MAX >> 2);

/// The allocation of an [`Arc`]: the count, then the value.
///
/// `repr(C)` fixes the value's offset at the size of the count rounded up to
/// the value's alignment, which `Arc::from_raw` relies on.
#[repr(C)]
struct ArcInner<T: ?Sized> {
    count: AtomicUsize,
    data: T,
}

/// A thread-safe reference-counted pointer to a `T` in memory from `A`.
///
/// Creating one can fail ([`Arc::try_new`]); cloning never allocates. The
/// value is dropped and its memory freed by whichever clone goes last.
/// `T` may be unsized through [`Arc::into_raw`]/[`Arc::from_raw`] and a raw
/// pointer coercion.
///
/// # Count overflow
///
/// `std` aborts when the count passes `isize::MAX`, which a kernel cannot do,
/// and a wrapped count would free the value while references remain. This
/// `Arc` saturates instead, like Linux's `refcount_t` and FreeBSD's
/// `refcount(9)`: a clone that sees the count at or above `usize::MAX / 2`
/// pins it at `3/4 * usize::MAX`, and so does a drop that leaves it above
/// `usize::MAX / 2`. From then on the count can never come
/// back down to zero (that would take more drops than there can be live
/// clones, each of which takes memory), so the value is leaked: never freed,
/// never used after free. Reaching this needs about `usize::MAX / 2` clones
/// that are never dropped (`mem::forget` in a loop), i.e. a bug.
/// [`Arc::strong_count`] then reports the saturated value.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{Arc, HostAllocator, M_NOWAIT};
///
/// let a: Arc<u32, HostAllocator> = Arc::try_new(5, M_NOWAIT)?;
/// let b = a.clone();
/// assert_eq!(Arc::strong_count(&a), 2);
/// assert!(Arc::ptr_eq(&a, &b));
/// drop(a);
/// assert_eq!(Arc::try_unwrap(b), Ok(5));
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
///
/// # Invariants
///
/// - `ptr` is a block of `alloc` (in the sense of the [`Allocator`] rules)
///   with `Layout::for_value` of the `ArcInner<T>`, holding a valid value.
/// - Its `count` is the number of `Arc`s pointing to it (including those
///   given away by `into_raw`), or saturated at or above `usize::MAX / 2`;
///   while this `Arc` exists it is at least one. The value is only accessed
///   through shared references, except by an `Arc` that has seen the count
///   at one.
pub struct Arc<T: ?Sized, A: Allocator> {
    ptr: NonNull<ArcInner<T>>,
    alloc: A,
    _owns: PhantomData<ArcInner<T>>,
}

// SAFETY: sending an `Arc` to another thread may make that thread the last
// owner, which drops the `T` (so `T: Send`), while other threads hold `&T`
// (so `T: Sync`); the allocator value moves with it (`A: Send`).
unsafe impl<T: ?Sized + Send + Sync, A: Allocator + Send> Send for Arc<T, A> {}

// SAFETY: `&Arc` can be cloned into an owned `Arc` on another thread, so the
// same bounds as `Send` apply for `T`; the allocator is shared (`A: Sync`).
unsafe impl<T: ?Sized + Send + Sync, A: Allocator + Sync> Sync for Arc<T, A> {}

// The value is behind a pointer: moving an `Arc` never moves it.
impl<T: ?Sized, A: Allocator> Unpin for Arc<T, A> {}

impl<T, A: Allocator> Arc<T, A> {
    /// Moves `value` into a new allocation from `A::default()`, with a count
    /// of one.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; `value` is dropped.
    pub fn try_new(value: T, flags: impl Into<Flags>) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_new_in(value, A::default(), flags)
    }

    /// Moves `value` into a new allocation from `alloc`, with a count of
    /// one.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; `value` is dropped.
    pub fn try_new_in(value: T, alloc: A, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        let layout = Layout::new::<ArcInner<T>>();
        let ptr = alloc.allocate(layout, flags.into())?.cast::<ArcInner<T>>();
        let inner = ArcInner {
            count: AtomicUsize::new(1),
            data: value,
        };
        // SAFETY: `ptr` is a fresh block with the layout of `ArcInner<T>`,
        // valid for writes.
        unsafe { ptr.write(inner) };
        // INVARIANT: a block of `alloc` with the layout of `ArcInner<T>`,
        // holding the value with a count of one: this `Arc`.
        Ok(Arc {
            ptr,
            alloc,
            _owns: PhantomData,
        })
    }

    /// Allocates room for a `T` from `A::default()`, uninitialised, with a
    /// count of one; [`Arc::assume_init`] turns it into an `Arc<T>`.
    ///
    /// With `M_ZERO` in `flags` every byte of the value is zero, so a type
    /// for which zero bytes are valid needs only its other fields written.
    /// The value is built in place: it is never copied from the stack.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Arc, HostAllocator, M_NOWAIT, M_ZERO};
    ///
    /// let mut a = Arc::<[u64; 4], HostAllocator>::try_new_uninit(M_NOWAIT | M_ZERO)?;
    /// if let Some(slot) = Arc::get_mut(&mut a) {
    ///     // SAFETY: `M_ZERO`: the bytes are zero, a valid `[u64; 4]`.
    ///     let value = unsafe { slot.assume_init_mut() };
    ///     value[1] = 7;
    /// }
    /// // SAFETY: zeroed, then one element written.
    /// let a = unsafe { Arc::assume_init(a) };
    /// assert_eq!(*a, [0, 7, 0, 0]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_uninit(flags: impl Into<Flags>) -> Result<Arc<MaybeUninit<T>, A>, AllocError>
    where
        A: Default,
    {
        Self::try_new_uninit_in(A::default(), flags)
    }

    /// [`Arc::try_new_uninit`] with the allocator `alloc`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_uninit_in(
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Arc<MaybeUninit<T>, A>, AllocError> {
        let layout = Layout::new::<ArcInner<MaybeUninit<T>>>();
        let ptr = alloc
            .allocate(layout, flags.into())?
            .cast::<ArcInner<MaybeUninit<T>>>();
        // SAFETY: `ptr` is a fresh block with the layout of
        // `ArcInner<MaybeUninit<T>>`; this only computes the field's address
        // (`&raw mut` makes no reference).
        let count = unsafe { &raw mut (*ptr.as_ptr()).count };
        // SAFETY: the count's place in the fresh block, valid for writes.
        unsafe { count.write(AtomicUsize::new(1)) };
        // INVARIANT: a block of `alloc` with that layout and a count of one;
        // any bytes are a valid `MaybeUninit<T>`.
        Ok(Arc {
            ptr,
            alloc,
            _owns: PhantomData,
        })
    }

    /// Moves `value` into a new pinned allocation from `A::default()`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; `value` is dropped.
    pub fn try_pin(value: T, flags: impl Into<Flags>) -> Result<Pin<Self>, AllocError>
    where
        A: Default,
    {
        Self::try_pin_in(value, A::default(), flags)
    }

    /// Moves `value` into a new pinned allocation from `alloc`.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; `value` is dropped.
    pub fn try_pin_in(
        value: T,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Pin<Self>, AllocError> {
        let arc = Self::try_new_in(value, alloc, flags)?;
        // SAFETY: the value stays in its allocation until dropped there; a
        // `Pin<Arc>` gives only `&T` (and `Pin<&T>`), so it is never moved
        // out (`try_unwrap` and `into_inner` need an unpinned `Arc`).
        Ok(unsafe { Pin::new_unchecked(arc) })
    }

    /// Returns the value if this is the only `Arc`, else gives the `Arc`
    /// back.
    ///
    /// # Errors
    ///
    /// The `Arc` itself if there are other clones.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if this
            .inner()
            .count
            .compare_exchange(1, 0, atomic::Ordering::Acquire, atomic::Ordering::Relaxed)
            .is_err()
        {
            return Err(this);
        }
        // SAFETY: the count was one, so this was the only `Arc`, and it is
        // consumed here.
        Ok(unsafe { Self::take_last(this) })
    }

    /// Drops this `Arc`, returning the value if it was the last one.
    ///
    /// Unlike `try_unwrap` followed by a drop, two threads calling this on
    /// the last two clones cannot both get `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Arc, HostAllocator, M_NOWAIT};
    ///
    /// let a: Arc<&str, HostAllocator> = Arc::try_new("x", M_NOWAIT)?;
    /// let b = a.clone();
    /// assert_eq!(Arc::into_inner(a), None);
    /// assert_eq!(Arc::into_inner(b), Some("x"));
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    #[must_use = "a value returned here is dropped if unused"]
    pub fn into_inner(this: Self) -> Option<T> {
        if !release(&this.inner().count) {
            let this = ManuallyDrop::new(this);
            // SAFETY: `this` is never used or dropped again, so its allocator
            // is moved out (and dropped) exactly once.
            drop(unsafe { ptr::read(&raw const this.alloc) });
            return None;
        }
        // SAFETY: the count went from one to zero here, so this was the last
        // `Arc`, and it is consumed here.
        Some(unsafe { Self::take_last(this) })
    }

    /// Moves the value out of the last `Arc` and frees the allocation.
    ///
    /// # Safety
    ///
    /// `this` must be the last `Arc`, its count already taken to zero (with
    /// the `Acquire` ordering that makes other threads' accesses visible).
    unsafe fn take_last(this: Self) -> T {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so its allocator is
        // moved out exactly once.
        let alloc = unsafe { ptr::read(&raw const this.alloc) };
        // SAFETY: the block holds a valid value that no other `Arc` can reach
        // (caller's contract); it is moved out once.
        let value = unsafe { ptr::read(this.data_ptr()) };
        // SAFETY: by the type invariants, the block is from `alloc` with this
        // layout; nothing uses it afterwards.
        unsafe { alloc.deallocate(this.ptr.cast(), Layout::new::<ArcInner<T>>()) };
        value
    }
}

impl<T: ?Sized, A: Allocator> Arc<T, A> {
    /// The shared part of the allocation.
    #[inline]
    fn inner(&self) -> &ArcInner<T> {
        // SAFETY: by the type invariants, `ptr` holds a valid `ArcInner<T>`
        // while this `Arc` exists, accessed through shared references.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of `Arc`s to this value (a huge value once saturated; see
    /// the type's documentation). Other threads may change it at any time.
    #[must_use]
    pub fn strong_count(this: &Self) -> usize {
        this.inner().count.load(atomic::Ordering::Relaxed)
    }

    /// Whether two `Arc`s point to the same allocation.
    #[must_use]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// A pointer to the value, valid while an `Arc` to it exists.
    #[must_use]
    pub fn as_ptr(this: &Self) -> *const T {
        this.data_ptr()
    }

    /// A pointer to the value with the provenance of the whole allocation
    /// (not derived from a reference).
    #[inline]
    fn data_ptr(&self) -> *mut T {
        // SAFETY: by the type invariants, `ptr` points to a live
        // `ArcInner<T>`; this only computes the field's address.
        unsafe { &raw mut (*self.ptr.as_ptr()).data }
    }

    /// A mutable reference to the value if this is the only `Arc`.
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if this.inner().count.load(atomic::Ordering::Acquire) != 1 {
            return None;
        }
        // SAFETY: the count is one, so no other `Arc` (or raw pointer from
        // `into_raw`) exists, and the `Acquire` load makes the accesses of
        // dropped clones visible; `this` is borrowed mutably, so nothing can
        // clone it while the reference lives.
        Some(unsafe { &mut *this.data_ptr() })
    }

    /// A mutable reference to the value, without looking at the count:
    /// for an `Arc` just made, which is known to be unique
    /// ([`Arc::get_mut`] would check, and leave a caller an impossible
    /// `None` to handle).
    ///
    /// # Safety
    /// No other `Arc` to the value (nor a raw pointer from
    /// [`Arc::into_raw`]) exists, and none is made while the reference
    /// lives.
    pub unsafe fn get_mut_unchecked(this: &mut Self) -> &mut T {
        // SAFETY: the caller's contract makes this the only access to the
        // value; `this` is borrowed mutably for the reference's life.
        unsafe { &mut *this.data_ptr() }
    }

    /// The allocator of this `Arc`.
    #[must_use]
    pub fn allocator(this: &Self) -> &A {
        &this.alloc
    }

    /// Gives away this `Arc` as a pointer to the value, keeping its count;
    /// [`Arc::from_raw`] takes it back.
    ///
    /// The allocator value is not dropped either (for a zero-sized allocator
    /// this makes no difference); use [`Arc::into_raw_with_allocator`] to get
    /// it back.
    #[must_use = "losing the pointer leaks the value"]
    pub fn into_raw(this: Self) -> *const T {
        let this = ManuallyDrop::new(this);
        Arc::as_ptr(&this)
    }

    /// Gives away this `Arc` as a pointer to the value, keeping its count,
    /// and its allocator value; [`Arc::from_raw_in`] takes them back.
    #[must_use = "losing the pointer leaks the value"]
    pub fn into_raw_with_allocator(this: Self) -> (*const T, A) {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so its allocator is
        // moved out exactly once.
        let alloc = unsafe { ptr::read(&raw const this.alloc) };
        (Arc::as_ptr(&this), alloc)
    }

    /// Takes back an `Arc` given away by [`Arc::into_raw`], with an
    /// allocator made by `A::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Arc, HostAllocator, M_NOWAIT};
    /// use core::fmt::Display;
    ///
    /// let a: Arc<u32, HostAllocator> = Arc::try_new(3, M_NOWAIT)?;
    /// // An unsizing coercion, through a raw pointer.
    /// let raw = Arc::into_raw(a);
    /// let raw: *const dyn Display = raw;
    /// // SAFETY: `raw` came from `into_raw` and is taken back once.
    /// let shown: Arc<dyn Display, HostAllocator> = unsafe { Arc::from_raw(raw) };
    /// assert_eq!(shown.to_string(), "3");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Safety
    ///
    /// - `raw` must come from [`Arc::into_raw`] or
    ///   [`Arc::into_raw_with_allocator`] of an `Arc<U, A>` where `U` is
    ///   `T` or unsizes to `T`, and
    /// - it must be taken back only once per `into_raw`.
    pub unsafe fn from_raw(raw: *const T) -> Self
    where
        A: Default,
    {
        // SAFETY: the caller's contract, and `A::default()` can free any block
        // of `A` (the `Allocator` rules).
        unsafe { Self::from_raw_in(raw, A::default()) }
    }

    /// Takes back an `Arc` given away by [`Arc::into_raw`], with the
    /// allocator `alloc`.
    ///
    /// # Safety
    ///
    /// - `raw` must come from [`Arc::into_raw`] or
    ///   [`Arc::into_raw_with_allocator`] of an `Arc<U, A>` where `U` is
    ///   `T` or unsizes to `T`, whose allocator was `alloc`, a clone of it,
    ///   or (if `A: Default`) a default value; and
    /// - it must be taken back only once per `into_raw`.
    pub unsafe fn from_raw_in(raw: *const T, alloc: A) -> Self {
        // SAFETY: `raw` points to the live value of an `ArcInner` (caller's
        // contract), so a reference to it is valid here.
        let align = align_of_val(unsafe { &*raw });
        // The value's offset is the count's size rounded up to `align`. Both
        // are powers of two, so that is the larger of the two.
        let offset = size_of::<AtomicUsize>().max(align);
        #[expect(
            clippy::as_conversions,
            reason = "a pointer cast that keeps the metadata of an unsized `T`; `cast` needs `Sized`"
        )]
        let inner = raw.wrapping_byte_sub(offset) as *mut ArcInner<T>;
        // SAFETY: `inner` is the start of the `ArcInner` holding `raw`, which
        // is not null.
        let ptr = unsafe { NonNull::new_unchecked(inner) };
        // INVARIANT: the allocation and the count unit that `into_raw` kept
        // come back to an `Arc` (an unsizing coercion keeps the layout).
        Arc {
            ptr,
            alloc,
            _owns: PhantomData,
        }
    }
}

impl<T, A: Allocator> Arc<MaybeUninit<T>, A> {
    /// The `Arc<T>` of a value built in place (see [`Arc::try_new_uninit`]).
    ///
    /// # Safety
    ///
    /// The value is initialised (a valid `T`), and no other `Arc` to it
    /// exists that would see it as a `MaybeUninit<T>` afterwards.
    #[must_use]
    pub unsafe fn assume_init(this: Self) -> Arc<T, A> {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so its allocator is
        // moved out exactly once.
        let alloc = unsafe { ptr::read(&raw const this.alloc) };
        // INVARIANT: the same block and count; `MaybeUninit<T>` has the
        // layout of `T` (so the `ArcInner`s have the same layout), and the
        // value is a valid `T` (caller's contract).
        Arc {
            ptr: this.ptr.cast::<ArcInner<T>>(),
            alloc,
            _owns: PhantomData,
        }
    }
}

/// Drops one count, saturating as described on [`Arc`]. Returns whether it
/// was the last one, after an `Acquire` fence.
///
/// Both tests look at the new count only (zero, or above `MAX_REFCOUNT`,
/// i.e. negative as an `isize`), so the compiler can take them from the
/// flags of one locked decrement (`lock dec`, then `je`/`js` on amd64)
/// rather than load and compare the old count.
#[inline]
pub(crate) fn release(count: &AtomicUsize) -> bool {
    let new = count
        .fetch_sub(1, atomic::Ordering::Release)
        .wrapping_sub(1);
    if new == 0 {
        // Orders the drop of the value after every other clone's accesses,
        // which their `Release` decrements published.
        atomic::fence(atomic::Ordering::Acquire);
        return true;
    }
    if new > MAX_REFCOUNT {
        saturate(count);
    }
    false
}

/// Drops one count and returns the new one; [`needs_slow_release`] says
/// whether the drop must go on with [`slow_release`].
#[inline]
pub(crate) fn decrement(count: &AtomicUsize) -> usize {
    count
        .fetch_sub(1, atomic::Ordering::Release)
        .wrapping_sub(1)
}

/// Whether a drop that left the count at `new` has more to do: free (zero)
/// or saturate (above [`MAX_REFCOUNT`]): zero or negative as an `isize`,
/// one signed test, so that a drop site keeps one branch (`jle` after the
/// locked decrement on amd64) and one call for both.
#[inline]
pub(crate) const fn needs_slow_release(new: usize) -> bool {
    new.cast_signed() <= 0
}

/// The rest of a drop that [`needs_slow_release`]: saturates an
/// out-of-range count and returns `false`, or, for the last reference,
/// returns `true` after an `Acquire` fence that orders what the caller then
/// drops after every other clone's accesses (their `Release` decrements
/// published them).
#[inline]
pub(crate) fn slow_release(count: &AtomicUsize, new: usize) -> bool {
    if new == 0 {
        atomic::fence(atomic::Ordering::Acquire);
        return true;
    }
    saturate(count);
    false
}

/// Pins a count that went out of range at [`SATURATED`]: one store, inline
/// where a clone finds its count out of range (behind the test's branch,
/// off the straight path). A call to a function of its own cost more bytes
/// at each site than the store, and the function its own (rustecho.ko:
/// 32 bytes less inline); drops reach it through their out-of-line slow
/// path.
#[allow(
    clippy::inline_always,
    reason = "one store: a call and a function of its own are larger (measured)"
)]
#[inline(always)]
pub(crate) fn saturate(count: &AtomicUsize) {
    count.store(SATURATED, atomic::Ordering::Relaxed);
}

impl<T: ?Sized, A: Allocator + Clone> Clone for Arc<T, A> {
    /// Another `Arc` to the same value; never allocates. Saturates the
    /// count instead of overflowing (see [`Arc`]).
    fn clone(&self) -> Self {
        let count = &self.inner().count;
        // `Relaxed` suffices: the new clone comes from an existing one, which
        // keeps the value alive meanwhile.
        // The new count above `MAX_REFCOUNT` (negative as an `isize`) means
        // the old one was at or above it: one `lock inc` and a `js` on amd64.
        let new = count
            .fetch_add(1, atomic::Ordering::Relaxed)
            .wrapping_add(1);
        if new > MAX_REFCOUNT {
            saturate(count);
        }
        // INVARIANT: the count includes the new `Arc` (or is saturated).
        Arc {
            ptr: self.ptr,
            alloc: self.alloc.clone(),
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized, A: Allocator> Drop for Arc<T, A> {
    #[inline]
    fn drop(&mut self) {
        let new = decrement(&self.inner().count);
        if needs_slow_release(new) {
            // SAFETY: `new` is what this drop left.
            unsafe { self.drop_slow(new) };
        }
    }
}

impl<T: ?Sized, A: Allocator> Arc<T, A> {
    /// The rest of a drop that left the count at `new` ([`slow_release`]):
    /// saturates it, or drops the value and frees the block. Out of line:
    /// every drop site keeps only the decrement, a test and this call.
    ///
    /// # Safety
    /// `new` is what this `Arc`'s own decrement left, and the `Arc` is not
    /// used afterwards.
    #[inline(never)]
    unsafe fn drop_slow(&mut self, new: usize) {
        if !slow_release(&self.inner().count, new) {
            return;
        }
        // The last `Arc` (its decrement took the count to zero), every other
        // access ordered before by the fence of `slow_release`.
        // SAFETY: the block holds a valid `ArcInner<T>`.
        let layout = Layout::for_value(unsafe { self.ptr.as_ref() });
        // SAFETY: the caller's contract: the value is dropped once, here.
        unsafe { ptr::drop_in_place(self.data_ptr()) };
        // SAFETY: by the type invariants, the block is from `alloc` with this
        // layout; nothing uses it afterwards.
        unsafe { self.alloc.deallocate(self.ptr.cast(), layout) };
    }
}

impl<T: ?Sized, A: Allocator> Deref for Arc<T, A> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner().data
    }
}

#[cfg(test)]
mod tests;
