// SPDX-License-Identifier: BSD-2-Clause
//! Allocations that wait for memory, and so cannot fail.
//!
//! malloc(9): "The `malloc()`, `realloc()`, and `reallocf()` functions
//! cannot return `NULL` if `M_WAITOK` is specified." The kernel sleeps until
//! memory is free instead, and asserts its own promise
//! (`KASSERT(..., ("malloc(M_WAITOK) returned NULL"))` in `malloc()`,
//! `sys/kern/kern_malloc.c`). A C driver writes `p = malloc(size, M_FOO,
//! M_WAITOK);` and checks nothing.
//!
//! The methods here are that allocation: they take flags that prove the
//! caller may sleep ([`Wait`]) and return the value itself, not a
//! `Result`. They exist only for an allocator that keeps the promise
//! ([`WaitAllocator`]); if it breaks it anyway, or the request cannot be
//! honoured at all (a capacity overflow, an alignment above what the
//! allocator offers), [`WaitAllocator::wait_failed`] ends the story (the
//! kernel allocator calls `panic(9)`, as FreeBSD's own assertion does).
//!
//! Use them where the size is the program's own (a lock, a device's state,
//! a fixed message). A size that a user chooses stays with the fallible
//! `try_*` methods and `M_NOWAIT`: a huge waiting request may never return
//! on FreeBSD, and the user must get `ENOMEM`, not a hung thread.
//!
//! # Examples
//!
//! ```
//! use alloc_kernel::testing::Sleeping;
//! use alloc_kernel::{Arc, Box, HostAllocator, String, Vec};
//!
//! let b: Box<u64, HostAllocator> = Box::new(7, Sleeping);
//! let a: Arc<u64, HostAllocator> = Arc::new(*b, Sleeping);
//! let mut v: Vec<u8, HostAllocator> = Vec::with_capacity(4, Sleeping);
//! v.extend_from_slice(b"hello", Sleeping);
//! v.push(b'!', Sleeping);
//! let mut s: String<HostAllocator> = String::with_capacity(8, Sleeping);
//! s.push_str("hi", Sleeping);
//! assert_eq!((*a, &v[..], s.as_str()), (7, &b"hello!"[..], "hi"));
//! ```

use crate::{AllocError, Allocator, Arc, Box, Flags, String, Vec};
use core::mem::MaybeUninit;
use core::pin::Pin;

/// Flags of an allocation that may sleep until memory is available
/// (`M_WAITOK`), as a type of its own.
///
/// A kernel layer implements it for the flags its "may sleep" proof hands
/// out, so that the infallible methods compile only where sleeping is
/// allowed. Plain [`Flags`] do not implement it: `M_NOWAIT` may fail.
/// Converting into [`Flags`] must give a set that
/// [`may_sleep`](Flags::may_sleep).
pub trait Wait: Into<Flags> {}

/// An allocator whose waiting allocations do not fail: what
/// [`Wait`] flags ask of it, it returns, sleeping if need be.
pub trait WaitAllocator: Allocator {
    /// Called when a waiting allocation failed all the same: the allocator
    /// broke its promise, or the request could never be met (its size
    /// overflows, its alignment is not offered). Does not return.
    fn wait_failed() -> !;
}

/// The value of a waiting allocation, or [`WaitAllocator::wait_failed`].
#[inline]
fn waited<T, A: WaitAllocator>(r: Result<T, AllocError>) -> T {
    match r {
        Ok(v) => v,
        Err(AllocError) => A::wait_failed(),
    }
}

impl<T, A: WaitAllocator + Default> Box<T, A> {
    /// Moves `value` into a new allocation that may sleep for memory
    /// ([`Box::try_new`] that cannot fail).
    #[inline]
    pub fn new(value: T, flags: impl Wait) -> Self {
        waited::<_, A>(Self::try_new(value, flags))
    }

    /// Room for a `T`, uninitialised (zeroed with `M_ZERO` in `flags`),
    /// from an allocation that may sleep.
    #[inline]
    pub fn new_uninit(flags: impl Wait) -> Box<MaybeUninit<T>, A> {
        waited::<_, A>(Self::try_new_uninit(flags))
    }

    /// Moves `value` into a new pinned allocation that may sleep.
    #[inline]
    pub fn pin(value: T, flags: impl Wait) -> Pin<Self> {
        Box::into_pin(Self::new(value, flags))
    }
}

impl<T, A: WaitAllocator + Default> Arc<T, A> {
    /// Moves `value` into a new allocation that may sleep for memory, with
    /// a count of one ([`Arc::try_new`] that cannot fail).
    #[inline]
    pub fn new(value: T, flags: impl Wait) -> Self {
        waited::<_, A>(Self::try_new(value, flags))
    }

    /// [`Arc::try_new_uninit`] that may sleep and cannot fail.
    #[inline]
    pub fn new_uninit(flags: impl Wait) -> Arc<MaybeUninit<T>, A> {
        waited::<_, A>(Self::try_new_uninit(flags))
    }
}

impl<T, A: WaitAllocator + Default> Vec<T, A> {
    /// An empty vector with room for `capacity` elements, from an
    /// allocation that may sleep.
    #[inline]
    pub fn with_capacity(capacity: usize, flags: impl Wait) -> Self {
        waited::<_, A>(Self::try_with_capacity(capacity, flags))
    }
}

impl<T, A: WaitAllocator> Vec<T, A> {
    /// Makes room for at least `additional` more elements, sleeping for
    /// memory if need be.
    #[inline]
    pub fn reserve(&mut self, additional: usize, flags: impl Wait) {
        waited::<_, A>(self.try_reserve(additional, flags));
    }

    /// Appends `value`, growing the buffer (sleeping if need be).
    #[inline]
    pub fn push(&mut self, value: T, flags: impl Wait) {
        waited::<_, A>(self.try_push(value, flags));
    }

    /// Appends clones of `items`, growing the buffer (sleeping if need be).
    #[inline]
    pub fn extend_from_slice(&mut self, items: &[T], flags: impl Wait)
    where
        T: Clone,
    {
        waited::<_, A>(self.try_extend_from_slice(items, flags));
    }
}

impl<A: WaitAllocator + Default> String<A> {
    /// An empty string with room for `capacity` bytes, from an allocation
    /// that may sleep.
    #[inline]
    pub fn with_capacity(capacity: usize, flags: impl Wait) -> Self {
        waited::<_, A>(Self::try_with_capacity(capacity, flags))
    }
}

impl<A: WaitAllocator> String<A> {
    /// Appends `s`, growing the buffer (sleeping if need be).
    #[inline]
    pub fn push_str(&mut self, s: &str, flags: impl Wait) {
        waited::<_, A>(self.try_push_str(s, flags));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Sleeping;
    use crate::{Arc, Box, Flags, HostAllocator, String, Vec};

    #[test]
    fn sleeping_flags_may_sleep() {
        assert!(Flags::from(Sleeping).may_sleep());
    }

    #[test]
    fn waiting_methods_return_their_values() {
        let boxed: Box<[u8; 3], HostAllocator> = Box::new([1, 2, 3], Sleeping);
        assert_eq!(*boxed, [1, 2, 3]);
        let pinned = Box::<u16, HostAllocator>::pin(9, Sleeping);
        assert_eq!(*pinned, 9);
        let shared: Arc<u32, HostAllocator> = Arc::new(5, Sleeping);
        assert_eq!(*shared, 5);
        let mut v: Vec<u32, HostAllocator> = Vec::with_capacity(2, Sleeping);
        assert!(v.capacity() >= 2);
        v.extend_from_slice(&[1, 2, 3], Sleeping);
        v.push(4, Sleeping);
        v.reserve(100, Sleeping);
        assert!(v.capacity() >= 104);
        assert_eq!(v, [1, 2, 3, 4]);
        let mut s: String<HostAllocator> = String::with_capacity(1, Sleeping);
        s.push_str("waits", Sleeping);
        assert_eq!(s.as_str(), "waits");
    }
}
