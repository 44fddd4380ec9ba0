// SPDX-License-Identifier: BSD-2-Clause
//! [`ForeignOwnable`]: a Rust value handed to the kernel as a `void *`,
//! borrowed while the kernel keeps it, and taken back once.
//!
//! The kernel keeps opaque pointers for drivers and gives them back to the
//! driver's callbacks: a device's `si_drv1` (`make_dev_s(9)`), an open
//! file's private data (`devfs_set_cdevpriv(9)`), a sysctl node's `arg1`
//! (`sysctl_add_oid(9)`), a callout's or a task's argument. Each is the
//! same three steps, and this trait names them once:
//!
//! * [`into_foreign`](ForeignOwnable::into_foreign) gives up a value
//!   (a [`Box`], an [`Arc`] reference, a `'static` reference) as the
//!   pointer for the kernel, which now owns it;
//! * [`borrow`](ForeignOwnable::borrow) gives a callback shared access
//!   while the kernel keeps the pointer;
//! * [`from_foreign`](ForeignOwnable::from_foreign) takes the value back,
//!   once, when the kernel no longer uses the pointer (a destructor
//!   callback, or after the registration is torn down).
//!
//! The pointer types implement it in `kern`; the unsafe halves are for
//! `kern`'s trampolines, whose SAFETY comments say why the kernel still
//! keeps (or has given up) the pointer.
//!
//! # Examples
//!
//! ```
//! use kern::alloc::Box;
//! use kern::foreign::ForeignOwnable;
//! use kern::prelude::*;
//!
//! fn round_trip() -> Result {
//!     let record: Box<u64> = Box::try_new(7, M_NOWAIT)?;
//!     let arg = record.into_foreign(); // what the kernel stores
//!     // SAFETY: `arg` came from `into_foreign` and is not taken back yet.
//!     let seen: &u64 = unsafe { Box::<u64>::borrow(arg) };
//!     assert_eq!(*seen, 7);
//!     // SAFETY: taken back once; nothing uses `arg` afterwards.
//!     let record = unsafe { Box::<u64>::from_foreign(arg) };
//!     drop(record);
//!     Ok(())
//! }
//! ```

use alloc_kernel::{Allocator, Arc, Box};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::NonNull;

/// A value whose ownership can be handed to the kernel as a `void *` and
/// taken back.
///
/// # Safety
/// Implementers guarantee that [`into_foreign`](Self::into_foreign)
/// returns a non-null pointer that [`borrow`](Self::borrow) and
/// [`from_foreign`](Self::from_foreign) accept, and that the value it
/// stands for stays valid, unmoved and not dropped until `from_foreign`
/// takes it back.
pub unsafe trait ForeignOwnable: Sized {
    /// What [`borrow`](Self::borrow) gives: shared access to the value for
    /// `'a`.
    type Borrowed<'a>;

    /// Gives up the value as a pointer for the kernel to keep. Not null.
    #[must_use = "losing the pointer leaks the value"]
    fn into_foreign(self) -> *mut c_void;

    /// Takes back the value `into_foreign` gave away.
    ///
    /// # Safety
    /// `ptr` comes from [`into_foreign`](Self::into_foreign) of this type,
    /// has not been taken back yet, and is not used (by the kernel or
    /// through a borrow) afterwards.
    unsafe fn from_foreign(ptr: *mut c_void) -> Self;

    /// Shared access to the value while the kernel keeps it.
    ///
    /// # Safety
    /// `ptr` comes from [`into_foreign`](Self::into_foreign) of this type
    /// and is not taken back with [`from_foreign`](Self::from_foreign)
    /// while the borrow lives (`'a`).
    unsafe fn borrow<'a>(ptr: *mut c_void) -> Self::Borrowed<'a>;
}

// SAFETY: `Box::into_raw` gives the box's non-null pointer and keeps the
// value where it is, undropped, until `Box::from_raw` takes it back;
// `A::default()` can free any block of `A` (the `Allocator` rules).
unsafe impl<T: 'static, A: Allocator + Default> ForeignOwnable for Box<T, A> {
    type Borrowed<'a> = &'a T;

    #[inline]
    fn into_foreign(self) -> *mut c_void {
        Box::into_raw(self).cast::<c_void>()
    }

    #[inline]
    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // SAFETY: `ptr` is what `Box::into_raw` gave for a `Box<T, A>`,
        // taken back once (the caller's contract).
        unsafe { Box::from_raw(ptr.cast::<T>()) }
    }

    #[inline]
    unsafe fn borrow<'a>(ptr: *mut c_void) -> &'a T {
        // SAFETY: the box's value, live and not mutated (the box was given
        // away) for `'a` (the caller's contract).
        unsafe { &*ptr.cast::<T>().cast_const() }
    }
}

// SAFETY: `Arc::into_raw` gives a non-null pointer to the value and keeps
// the reference it stood for, so the value stays (the allocation of an
// `Arc` never moves) until `Arc::from_raw` takes the reference back.
unsafe impl<T: 'static, A: Allocator + Default + Clone> ForeignOwnable for Arc<T, A> {
    type Borrowed<'a> = ArcBorrow<'a, T, A>;

    #[inline]
    fn into_foreign(self) -> *mut c_void {
        Arc::into_raw(self).cast_mut().cast::<c_void>()
    }

    #[inline]
    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // SAFETY: `ptr` is what `Arc::into_raw` gave for an `Arc<T, A>`,
        // taken back once (the caller's contract).
        unsafe { Arc::from_raw(ptr.cast::<T>().cast_const()) }
    }

    #[inline]
    unsafe fn borrow<'a>(ptr: *mut c_void) -> ArcBorrow<'a, T, A> {
        // SAFETY: `into_foreign` never gives a null pointer.
        let ptr = unsafe { NonNull::new_unchecked(ptr.cast::<T>()) };
        // INVARIANT: the reference `ptr` stands for is kept for `'a` (the
        // caller's contract).
        ArcBorrow {
            ptr,
            _borrow: PhantomData,
        }
    }
}

// SAFETY: a `'static` reference is never dropped or moved: the pointer is
// the reference itself, and giving it back is a no-op.
unsafe impl<T: Sync + 'static> ForeignOwnable for &'static T {
    type Borrowed<'a> = &'a T;

    #[inline]
    fn into_foreign(self) -> *mut c_void {
        core::ptr::from_ref(self).cast_mut().cast::<c_void>()
    }

    #[inline]
    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // SAFETY: `ptr` came from a `&'static T` (the caller's contract).
        unsafe { &*ptr.cast::<T>().cast_const() }
    }

    #[inline]
    unsafe fn borrow<'a>(ptr: *mut c_void) -> &'a T {
        // SAFETY: `ptr` came from a `&'static T` (the caller's contract),
        // which outlives any `'a`.
        unsafe { &*ptr.cast::<T>().cast_const() }
    }
}

/// Shared access to the value of an [`Arc`] whose reference the kernel
/// keeps ([`ForeignOwnable::borrow`]); converts into a new `Arc` with
/// [`Arc::from`].
///
/// # Invariants
/// `ptr` points to the value of an `Arc<T, A>` whose reference is kept
/// (by the kernel) for `'a`.
pub struct ArcBorrow<'a, T, A: Allocator> {
    ptr: NonNull<T>,
    _borrow: PhantomData<(&'a T, A)>,
}

impl<T, A: Allocator> Clone for ArcBorrow<'_, T, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, A: Allocator> Copy for ArcBorrow<'_, T, A> {}

impl<'a, T, A: Allocator> ArcBorrow<'a, T, A> {
    /// The value, for as long as the kernel keeps its reference (`'a`),
    /// not only as long as this borrow.
    #[inline]
    #[must_use]
    pub fn get(self) -> &'a T {
        // SAFETY: the value lives while the kernel keeps its reference, for
        // `'a` (type invariant).
        unsafe { self.ptr.as_ref() }
    }
}

impl<T, A: Allocator> Deref for ArcBorrow<'_, T, A> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the value lives while the kernel keeps its reference, for
        // `'a` (type invariant), which outlives `self`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T, A: Allocator + Default + Clone> From<ArcBorrow<'_, T, A>> for Arc<T, A> {
    /// A new reference to the borrowed value (the count goes up).
    #[inline]
    fn from(b: ArcBorrow<'_, T, A>) -> Self {
        // SAFETY: `b.ptr` is the value of an `Arc<T, A>` whose reference is
        // kept meanwhile (type invariant); the `ManuallyDrop` leaves that
        // reference where it is, so only the clone adds one.
        let kept = ManuallyDrop::new(unsafe { Arc::from_raw(b.ptr.as_ptr().cast_const()) });
        Arc::clone(&kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc_kernel::{HostAllocator, M_NOWAIT};
    use core::sync::atomic::{AtomicUsize, Ordering};

    struct Counted<'a>(&'a AtomicUsize);

    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn box_round_trip_drops_once() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let b: Box<Counted<'static>, HostAllocator> =
            Box::try_new(Counted(&DROPS), M_NOWAIT).unwrap();
        let p = b.into_foreign();
        assert!(!p.is_null());
        // SAFETY: from `into_foreign`, not taken back yet.
        let seen = unsafe { <Box<Counted<'static>, HostAllocator>>::borrow(p) };
        assert!(core::ptr::eq(seen.0, &raw const DROPS));
        assert_eq!(DROPS.load(Ordering::Relaxed), 0);
        // SAFETY: taken back once.
        drop(unsafe { <Box<Counted<'static>, HostAllocator>>::from_foreign(p) });
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn arc_keeps_its_reference_and_borrows_add_one() {
        let a: Arc<u32, HostAllocator> = Arc::try_new(5, M_NOWAIT).unwrap();
        let p = Arc::clone(&a).into_foreign();
        assert_eq!(Arc::strong_count(&a), 2);
        // SAFETY: from `into_foreign`, not taken back while borrowed.
        let b = unsafe { <Arc<u32, HostAllocator>>::borrow(p) };
        assert_eq!(*b, 5);
        assert!(core::ptr::eq(b.get(), &raw const *a));
        assert_eq!(Arc::strong_count(&a), 2, "a borrow takes no reference");
        let again = Arc::from(b);
        assert!(Arc::ptr_eq(&again, &a));
        assert_eq!(Arc::strong_count(&a), 3);
        drop(again);
        // SAFETY: taken back once.
        drop(unsafe { <Arc<u32, HostAllocator>>::from_foreign(p) });
        assert_eq!(Arc::strong_count(&a), 1);
    }

    #[test]
    fn static_reference_is_its_own_pointer() {
        static VALUE: u64 = 9;
        let p = (&VALUE).into_foreign();
        assert_eq!(p.cast_const().cast::<u64>(), &raw const VALUE);
        // SAFETY: from a `&'static u64`.
        assert_eq!(*unsafe { <&'static u64>::borrow(p) }, 9);
        // SAFETY: as above.
        let back: &'static u64 = unsafe { <&'static u64>::from_foreign(p) };
        assert!(core::ptr::eq(back, &raw const VALUE));
    }
}
