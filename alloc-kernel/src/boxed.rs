// SPDX-License-Identifier: BSD-2-Clause
//! [`Box`]: a value in its own allocation, created fallibly.
//!
//! Modelled on Rust-for-Linux's `KBox` (`rust/kernel/alloc/kbox.rs`).

use crate::{AllocError, Allocator, Flags, M_ZERO};
use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::ptr::{self, NonNull};

mod slice;
mod trait_impls;

/// An owned value on the heap, allocated by `A`.
///
/// Creating one can fail ([`Box::try_new`]); dropping one drops the value and
/// gives the memory back. Zero-sized values take no memory. `T` may be unsized
/// (`Box<[T], A>`, and `Box<dyn Trait, A>` made through
/// [`into_raw`](Box::into_raw)/[`from_raw`](Box::from_raw) and a raw pointer
/// coercion), since the unsizing coercion of `Box` itself needs unstable
/// Rust.
///
/// Like `std`'s `Box`, most operations are associated functions
/// (`Box::into_raw(b)`), so that they never hide a method of `T`.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
///
/// let mut b: Box<[u8; 4], HostAllocator> = Box::try_new([1, 2, 3, 4], M_NOWAIT)?;
/// b[0] = 10;
/// assert_eq!(*b, [10, 2, 3, 4]);
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
///
/// # Invariants
///
/// - `ptr` is non-null, aligned for `T`, and points to a valid `T` that this
///   box owns.
/// - If the size of that `T` is not zero, `ptr` is a block allocated by
///   `alloc` (in the sense of the [`Allocator`] rules) with
///   `Layout::for_value` of the `T`; otherwise nothing is allocated.
pub struct Box<T: ?Sized, A: Allocator> {
    ptr: NonNull<T>,
    alloc: A,
    _owns: PhantomData<T>,
}

// SAFETY: a `Box` owns its `T` and its allocator like a plain field would, so
// it can move to another thread when both can.
unsafe impl<T: ?Sized + Send, A: Allocator + Send> Send for Box<T, A> {}

// SAFETY: `&Box` gives only `&T` and `&A`, so sharing the box is sharing them.
unsafe impl<T: ?Sized + Sync, A: Allocator + Sync> Sync for Box<T, A> {}

// The value is behind a pointer: moving the box never moves it.
impl<T: ?Sized, A: Allocator> Unpin for Box<T, A> {}

impl<T, A: Allocator> Box<T, A> {
    /// Moves `value` into a new allocation from `A::default()`.
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

    /// Moves `value` into a new allocation from `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b = Box::try_new_in(5u16, HostAllocator, M_NOWAIT)?;
    /// assert_eq!(*b, 5);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails; `value` is dropped.
    pub fn try_new_in(value: T, alloc: A, flags: impl Into<Flags>) -> Result<Self, AllocError> {
        let uninit = Box::try_new_uninit_in(alloc, flags)?;
        Ok(Box::write(uninit, value))
    }

    /// Allocates room for a `T` from `A::default()`, uninitialised.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_uninit(flags: impl Into<Flags>) -> Result<Box<MaybeUninit<T>, A>, AllocError>
    where
        A: Default,
    {
        Self::try_new_uninit_in(A::default(), flags)
    }

    /// Allocates room for a `T` from `alloc`, uninitialised.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b = Box::<u32, _>::try_new_uninit_in(HostAllocator, M_NOWAIT)?;
    /// let b = Box::write(b, 9);
    /// assert_eq!(*b, 9);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_uninit_in(
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Box<MaybeUninit<T>, A>, AllocError> {
        let layout = Layout::new::<T>();
        let ptr = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            alloc.allocate(layout, flags.into())?.cast()
        };
        // INVARIANT: `ptr` is dangling and aligned for a zero-sized `T`, or a
        // block of `Layout::new::<T>()` (that of `MaybeUninit<T>`) from
        // `alloc`; any bytes are a valid `MaybeUninit<T>`.
        Ok(Box {
            ptr,
            alloc,
            _owns: PhantomData,
        })
    }

    /// Allocates room for a `T` from `A::default()`, filled with zero bytes.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_zeroed(flags: impl Into<Flags>) -> Result<Box<MaybeUninit<T>, A>, AllocError>
    where
        A: Default,
    {
        Self::try_new_zeroed_in(A::default(), flags)
    }

    /// Allocates room for a `T` from `alloc`, filled with zero bytes (the
    /// flags get [`M_ZERO`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b = Box::<[u64; 8], _>::try_new_zeroed_in(HostAllocator, M_NOWAIT)?;
    /// // SAFETY: all-zero bytes are a valid `[u64; 8]`.
    /// let b = unsafe { b.assume_init() };
    /// assert_eq!(*b, [0; 8]);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if the allocation fails.
    pub fn try_new_zeroed_in(
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Box<MaybeUninit<T>, A>, AllocError> {
        Self::try_new_uninit_in(alloc, flags.into() | M_ZERO)
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
        Ok(Box::into_pin(Self::try_new(value, flags)?))
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
        Ok(Box::into_pin(Self::try_new_in(value, alloc, flags)?))
    }

    /// Moves the value out and frees the allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b: Box<_, HostAllocator> = Box::try_new(3u8, M_NOWAIT)?;
    /// assert_eq!(Box::into_inner(b), 3);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    pub fn into_inner(b: Self) -> T {
        let (raw, alloc) = Box::into_raw_with_allocator(b);
        // SAFETY: `raw` points to a valid `T` that we own (it came out of a
        // box); after this read the memory holds no value we own.
        let value = unsafe { raw.read() };
        let layout = Layout::new::<T>();
        if layout.size() != 0 {
            // SAFETY: `raw` came out of a box, so it is not null.
            let block = unsafe { NonNull::new_unchecked(raw) };
            // SAFETY: by the type invariants, a non-empty `T` lives in a block
            // of `alloc` with this layout; nothing uses it afterwards.
            unsafe { alloc.deallocate(block.cast(), layout) };
        }
        value
    }
}

impl<T, A: Allocator> Box<MaybeUninit<T>, A> {
    /// Converts to `Box<T, A>`, the value being initialised.
    ///
    /// # Safety
    ///
    /// The `MaybeUninit<T>` must hold a valid `T`.
    pub unsafe fn assume_init(self) -> Box<T, A> {
        let (raw, alloc) = Box::into_raw_with_allocator(self);
        // SAFETY: `raw` came from a box of `MaybeUninit<T>`, which has `T`'s
        // layout, and holds a valid `T` (caller's contract); ownership passes
        // from the old box to the new one.
        unsafe { Box::from_raw_in(raw.cast::<T>(), alloc) }
    }

    /// Writes `value` into the box and converts it to `Box<T, A>`.
    pub fn write(mut boxed: Self, value: T) -> Box<T, A> {
        (*boxed).write(value);
        // SAFETY: the value was just written.
        unsafe { boxed.assume_init() }
    }
}

impl<T: ?Sized, A: Allocator> Box<T, A> {
    /// Takes back ownership of a value given away by [`Box::into_raw`],
    /// with an allocator made by `A::default()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b: Box<u32, HostAllocator> = Box::try_new(11, M_NOWAIT)?;
    /// let raw = Box::into_raw(b);
    /// // SAFETY: `raw` came from `into_raw` and is used once.
    /// let b: Box<u32, HostAllocator> = unsafe { Box::from_raw(raw) };
    /// assert_eq!(*b, 11);
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Safety
    ///
    /// - `raw` must come from [`Box::into_raw`], [`Box::into_raw_with_allocator`]
    ///   or [`Box::leak`] of a `Box<U, A>` where `U` is `T` or unsizes to `T`
    ///   (`[U; N]` to `[U]`, a type to a `dyn Trait` it implements), and
    /// - no other box may have been made from it since (the value has one
    ///   owner), nor any reference from it still be in use.
    pub unsafe fn from_raw(raw: *mut T) -> Self
    where
        A: Default,
    {
        // SAFETY: the caller's contract, and `A::default()` can free any block
        // of `A` (the `Allocator` rules).
        unsafe { Self::from_raw_in(raw, A::default()) }
    }

    /// Takes back ownership of a value given away by [`Box::into_raw`] or
    /// [`Box::into_raw_with_allocator`], with the allocator `alloc`.
    ///
    /// # Safety
    ///
    /// - `raw` must come from [`Box::into_raw`], [`Box::into_raw_with_allocator`]
    ///   or [`Box::leak`] of a `Box<U, A>` where `U` is `T` or unsizes to `T`,
    ///   whose allocator was `alloc`, a clone of it, or (if `A: Default`) a
    ///   default value; and
    /// - no other box may have been made from it since, nor any reference
    ///   from it still be in use.
    pub unsafe fn from_raw_in(raw: *mut T, alloc: A) -> Self {
        // SAFETY: `raw` came out of a box, so it is not null.
        let ptr = unsafe { NonNull::new_unchecked(raw) };
        // INVARIANT: by the caller's contract, `ptr` is what a box of `alloc`
        // held: a valid, owned value in a block of `Layout::for_value` (an
        // unsizing coercion keeps that layout), or dangling if it is empty.
        Box {
            ptr,
            alloc,
            _owns: PhantomData,
        }
    }

    /// Gives away the value as a raw pointer, without dropping or freeing
    /// it; [`Box::from_raw`] takes it back.
    ///
    /// The allocator value is not dropped either (for a zero-sized allocator
    /// this makes no difference); use [`Box::into_raw_with_allocator`] to get
    /// it back.
    #[must_use = "losing the pointer leaks the value"]
    pub fn into_raw(b: Self) -> *mut T {
        let b = ManuallyDrop::new(b);
        b.ptr.as_ptr()
    }

    /// Gives away the value as a raw pointer, and the allocator value,
    /// without dropping or freeing anything; [`Box::from_raw_in`] takes them
    /// back.
    #[must_use = "losing the pointer leaks the value"]
    pub fn into_raw_with_allocator(b: Self) -> (*mut T, A) {
        let b = ManuallyDrop::new(b);
        // SAFETY: `b` is never used or dropped again, so the allocator is
        // moved out of it exactly once.
        let alloc = unsafe { ptr::read(&raw const b.alloc) };
        (b.ptr.as_ptr(), alloc)
    }

    /// Leaks the box: the value lives on, never dropped or freed.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Box, HostAllocator, M_NOWAIT};
    ///
    /// let b: Box<u32, HostAllocator> = Box::try_new(1, M_NOWAIT)?;
    /// let forever: &'static mut u32 = Box::leak(b);
    /// *forever += 1;
    /// # // SAFETY: taken back once, to keep leak checkers quiet.
    /// # drop(unsafe { Box::<u32, HostAllocator>::from_raw(forever) });
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    #[must_use = "the reference is the only way left to the value"]
    pub fn leak<'a>(b: Self) -> &'a mut T
    where
        A: 'a,
    {
        let raw = Box::into_raw(b);
        // SAFETY: `raw` points to a valid `T` that nothing else owns or
        // borrows; it is never freed (the allocator value is leaked too), so
        // it outlives `'a`.
        unsafe { &mut *raw }
    }

    /// Pins the box: the value can no longer be moved out (unless it is
    /// `Unpin`).
    #[must_use]
    pub fn into_pin(b: Self) -> Pin<Self> {
        // SAFETY: the value lives in its own allocation (or is zero-sized)
        // and a `Pin<Box>` gives no way to move it out or to get `&mut T`
        // when `T` is not `Unpin`; it is dropped in place.
        unsafe { Pin::new_unchecked(b) }
    }

    /// The allocator of the box.
    #[must_use]
    pub fn allocator(b: &Self) -> &A {
        &b.alloc
    }
}

impl<T: ?Sized, A: Allocator> Drop for Box<T, A> {
    fn drop(&mut self) {
        // SAFETY: by the type invariants, `ptr` points to a valid `T`.
        let layout = Layout::for_value(unsafe { self.ptr.as_ref() });
        // SAFETY: the box owns the valid `T` and nothing uses it afterwards.
        unsafe { ptr::drop_in_place(self.ptr.as_ptr()) };
        if layout.size() != 0 {
            // SAFETY: by the type invariants, a non-empty `T` lives in a block
            // of `alloc` with this layout.
            unsafe { self.alloc.deallocate(self.ptr.cast(), layout) };
        }
    }
}

impl<T: ?Sized, A: Allocator> Deref for Box<T, A> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: by the type invariants, `ptr` points to a valid `T` owned by
        // the box, which is borrowed for the lifetime of the reference.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized, A: Allocator> DerefMut for Box<T, A> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: by the type invariants, `ptr` points to a valid `T` owned by
        // the box, which is borrowed mutably for the lifetime of the
        // reference.
        unsafe { self.ptr.as_mut() }
    }
}

#[cfg(test)]
mod tests;
