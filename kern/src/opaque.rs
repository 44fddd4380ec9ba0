// SPDX-License-Identifier: BSD-2-Clause
//! [`Opaque`]: a C structure that only the kernel reads and writes.
//!
//! Used for `struct mtx` (`sys/sys/_mutex.h`), `struct sx`
//! (`sys/sys/_sx.h`), `struct cdevsw` (`sys/sys/conf.h`) and
//! `struct sysctl_ctx_list` (`sys/sys/sysctl.h`), which `kern` owns but
//! only passes to the functions of `mutex(9)`, `sx(9)`, `make_dev(9)` and
//! `sysctl_ctx_init(9)`.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

/// A C structure (`struct mtx`, `struct cdevsw`, ...) owned by Rust but
/// accessed only by kernel functions, through [`Opaque::get`].
///
/// Rust never creates references to the contents, so the kernel may change
/// them at any time (it does: lock words, `D_INIT`). The contents start
/// zeroed, which is what most of the kernel's `*_init` functions expect,
/// or uninitialised for one that writes every field.
#[repr(transparent)]
pub(crate) struct Opaque<T>(UnsafeCell<MaybeUninit<T>>);

#[allow(
    clippy::non_send_fields_in_send_ty,
    reason = "the C structure's raw pointers are never used from Rust"
)]
// SAFETY: an `Opaque` is only bytes that Rust never reads or writes through
// references; moving it to another thread moves the bytes. Whether sharing
// it is sound depends on the kernel functions that access it, so `Opaque`
// is not `Sync`: each owner argues that.
unsafe impl<T> Send for Opaque<T> {}

impl<T> Opaque<T> {
    /// All-zero contents.
    pub(crate) const fn zeroed() -> Self {
        Self(UnsafeCell::new(MaybeUninit::zeroed()))
    }

    /// Contents not yet initialised, for a structure whose kernel `*_init`
    /// function writes every field (`sysctl_ctx_init(9)`'s `TAILQ_INIT`):
    /// no bytes to write beforehand.
    pub(crate) const fn uninit() -> Self {
        Self(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// A pointer for the kernel's functions.
    pub(crate) const fn get(&self) -> *mut T {
        Self::raw_get(self)
    }

    /// The structure inside the `Opaque` at `this`, which need not be
    /// initialised yet (for building it in place).
    pub(crate) const fn raw_get(this: *const Self) -> *mut T {
        // CAST: `Opaque` is `repr(transparent)` over the cell, and
        // `MaybeUninit<T>` has `T`'s layout.
        UnsafeCell::raw_get(this.cast::<UnsafeCell<MaybeUninit<T>>>()).cast::<T>()
    }
}
