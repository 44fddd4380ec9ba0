// SPDX-License-Identifier: BSD-2-Clause
//! Moving bytes between user memory and the module: [`UioWriter`] (kernel to
//! user, for `read(2)`) and [`UioReader`] (user to kernel, for `write(2)`)
//! over `struct uio`.
//!
//! C header: `sys/sys/uio.h`. Manual pages: `uio(9)`, `uiomove(9)`.
//!
//! Bytes move only with `uiomove(9)`, straight between user memory and the
//! module's buffer (no intermediate copy). `uiomove` walks the request's
//! `iovec`s (so `readv(2)`/`writev(2)` work) and advances `uio_iov`,
//! `uio_resid` and `uio_offset`; a bad user address fails it with `EFAULT`,
//! which is returned as is. Lengths are checked: a request never moves more
//! than its residual count or than the buffer holds, and `uiomove`'s `int`
//! count is respected by moving large buffers in chunks.
//!
//! # Context
//! Every move may sleep (page faults on user memory), so it takes a context
//! token ([`MaySleep`]): it cannot be called with a mutex held.
//!
//! # Examples
//!
//! A read method that serves a buffer from the file offset, returning 0 at
//! the end so that `cat` terminates, and a write method that collects the
//! request in a new buffer:
//!
//! ```
//! use kern::prelude::*;
//! use kern::alloc::Vec;
//! use kern::uio::{UioReader, UioWriter};
//!
//! fn read(data: &[u8], uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
//!     uio.move_frombuf(data, cx)?;
//!     Ok(())
//! }
//!
//! fn write(uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result<Vec<u8>> {
//!     let mut v = Vec::try_with_capacity(uio.resid(), M_NOWAIT)?;
//!     uio.move_in_vec(&mut v, cx)?;
//!     Ok(v)
//! }
//! ```

use crate::context::MaySleep;
use crate::error::{Error, Result, code};
use alloc_kernel::{Allocator, BytesMut};
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// A `struct uio` borrowed for one request, in a known direction.
///
/// # Invariants
/// `uio` points to a valid `struct uio` that this value may use and modify
/// (through `uiomove(9)`) for `'a`, and its `uio_rw` is the direction of the
/// wrapper that holds it.
struct Uio<'a> {
    uio: NonNull<sys::uio>,
    _borrow: PhantomData<&'a mut sys::uio>,
}

impl Uio<'_> {
    /// The direction is checked (two instructions): it decides whether
    /// `uiomove(9)` writes to the module's buffer, which the wrappers rely
    /// on. NULL is not (the kernel's request is never NULL, and a non-NULL
    /// invalid pointer could not be detected anyway).
    ///
    /// # Safety
    /// `uio` points to a valid `struct uio` that may be used and modified
    /// for the returned lifetime, and nothing else uses it meanwhile.
    unsafe fn new(uio: *mut sys::uio, rw: sys::uio_rw) -> Result<Self> {
        // SAFETY: valid, hence not NULL (caller's contract).
        let uio = unsafe { NonNull::new_unchecked(uio) };
        // SAFETY: valid for reads (caller's contract).
        if unsafe { uio.as_ref() }.uio_rw != rw {
            return Err(code::EINVAL);
        }
        // INVARIANT: valid (caller's contract), direction checked.
        Ok(Self {
            uio,
            _borrow: PhantomData,
        })
    }

    fn raw(&self) -> &sys::uio {
        // SAFETY: valid for `'a` (type invariant).
        unsafe { self.uio.as_ref() }
    }

    fn resid(&self) -> usize {
        // `uio_resid` is an `ssize_t` the kernel keeps non-negative; a
        // negative value would mean nothing to move.
        usize::try_from(self.raw().uio_resid).unwrap_or(0)
    }

    fn offset(&self) -> i64 {
        self.raw().uio_offset
    }

    /// Moves up to `len` bytes between `buf` and the request with
    /// `uiomove(9)`, until `buf` is done or the request is complete.
    /// Returns the number of bytes moved.
    ///
    /// One `uiomove(9)` call moves it all unless the count does not fit its
    /// `int` argument (then see [`Uio::move_chunked`]).
    ///
    /// # Safety
    /// `buf` is valid for `len` bytes of reads (direction `UIO_READ`) or
    /// writes (`UIO_WRITE`; the bytes need not be initialised), and does not
    /// overlap the `struct uio` or its `iovec`s.
    #[inline]
    unsafe fn move_bytes(&mut self, buf: *mut u8, len: usize) -> Result<usize> {
        let n = len.min(self.resid());
        let Ok(count) = c_int::try_from(n) else {
            // SAFETY: the caller's contract, and `n <= len`, `n <= resid`.
            return unsafe { self.move_chunked(buf, n) };
        };
        // SAFETY: `n <= len` bytes at `buf` are valid in the request's
        // direction (caller's contract); the uio is valid and ours (type
        // invariant). With `count == 0` uiomove(9) touches nothing and
        // returns 0 (not worth a test on every call).
        let ret = unsafe { sys::uiomove(buf.cast::<c_void>(), count, self.uio.as_ptr()) };
        if ret != 0 {
            return Err(Error::from_failure(ret, code::EIO));
        }
        // uiomove(9) moves min(count, uio_resid) bytes and returns 0 only
        // when it has (subr_uio.c, uiomove_faultflag); `count <= resid`.
        Ok(n)
    }

    /// [`Uio::move_bytes`] of `n` bytes, more than an `int` holds: one
    /// `uiomove(9)` per `INT_MAX` bytes. Each moves its whole count (as in
    /// `move_bytes`): at most what is left of `n`, so of the residual
    /// count.
    ///
    /// # Safety
    /// As for [`Uio::move_bytes`], with `n` at most the buffer's length and
    /// the residual count.
    #[cold]
    #[inline(never)]
    unsafe fn move_chunked(&mut self, buf: *mut u8, n: usize) -> Result<usize> {
        let mut done = 0usize;
        while done < n {
            // `done < n`: no wrap.
            let step = n.wrapping_sub(done).min(INT_MAX);
            // SAFETY: `done < n <= len`, so the pointer stays inside `buf`.
            let at = unsafe { buf.add(done) };
            // SAFETY: `step <= n - done` bytes at `at` are valid in the
            // request's direction (caller's contract); the uio is valid and
            // ours (type invariant).
            let ret =
                unsafe { sys::uiomove(at.cast::<c_void>(), chunk_len(step), self.uio.as_ptr()) };
            if ret != 0 {
                return Err(Error::from_failure(ret, code::EIO));
            }
            // `step` was moved; `done + step <= n`: no wrap.
            done = done.wrapping_add(step);
        }
        Ok(n)
    }
}

impl Uio<'_> {
    /// Moves up to `len` bytes between `buf` and the request with
    /// `uiomove(9)`, and says how many moved even when it fails part-way:
    /// the count the request advanced by, and the error if any.
    ///
    /// `uiomove_faultflag()` (`sys/kern/subr_uio.c`, read at freebsd-src
    /// commit 638c7ab0f940) copies one `iovec` step at a time with
    /// `copyin`/`copyout` and advances `uio_iov`, `uio_resid` and
    /// `uio_offset` after each step that succeeded; a step that faults
    /// returns `EFAULT` with the request left at its start (the step may
    /// have written part of a kernel buffer, but those bytes are not
    /// counted). So the drop in `uio_resid` is exactly what was moved, and
    /// a caller that commits only that count commits only bytes that
    /// arrived whole.
    ///
    /// # Safety
    /// As for [`Uio::move_bytes`].
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    unsafe fn move_counted(&mut self, buf: *mut u8, len: usize) -> (usize, Result) {
        // `uio_resid` as the `ssize_t` it is (non-negative).
        let before = self.raw().uio_resid;
        let Ok(count) = c_int::try_from(len) else {
            // SAFETY: the caller's contract.
            return unsafe { self.move_counted_chunked(buf, len) };
        };
        // SAFETY: `len` bytes at `buf` are valid in the request's direction
        // (caller's contract); the uio is valid and ours (type invariant).
        // uiomove(9) moves at most `min(len, uio_resid)` of them.
        let ret = unsafe { sys::uiomove(buf.cast::<c_void>(), count, self.uio.as_ptr()) };
        // What the call moved: `uiomove` only lowers `uio_resid`, and by at
        // most `len`. Not clamped here: a kernel that broke that could make
        // it more than `len`, and the caller (`kern::ring`'s part walk, the
        // only one) counts any such claim as `len`.
        let moved = before.wrapping_sub(self.raw().uio_resid).cast_unsigned();
        if ret != 0 {
            return (moved, Err(Error::from_failure(ret, code::EIO)));
        }
        (moved, Ok(()))
    }

    /// [`Uio::move_counted`] of `len` bytes, more than an `int` holds: one
    /// `uiomove(9)` per `INT_MAX` bytes, counted each, until the request
    /// has no more.
    ///
    /// # Safety
    /// As for [`Uio::move_bytes`].
    #[cold]
    #[inline(never)]
    unsafe fn move_counted_chunked(&mut self, buf: *mut u8, len: usize) -> (usize, Result) {
        let n = len.min(self.resid());
        let mut done = 0usize;
        while done < n {
            // `done < n`: no wrap.
            let step = n.wrapping_sub(done).min(INT_MAX);
            let before = self.resid();
            // SAFETY: `done < n <= len`, so the pointer stays inside `buf`.
            let at = unsafe { buf.add(done) };
            // SAFETY: `step <= n - done` bytes at `at` are valid in the
            // request's direction (caller's contract); the uio is valid and
            // ours (type invariant).
            let ret =
                unsafe { sys::uiomove(at.cast::<c_void>(), chunk_len(step), self.uio.as_ptr()) };
            let moved = before.saturating_sub(self.resid()).min(step);
            // `moved <= step <= n - done`: no wrap.
            done = done.wrapping_add(moved);
            if ret != 0 {
                return (done, Err(Error::from_failure(ret, code::EIO)));
            }
            if moved < step {
                // The request ran out.
                break;
            }
        }
        (done, Ok(()))
    }
}

/// `INT_MAX`, the largest count of one `uiomove(9)` call, as a size.
pub(crate) const INT_MAX: usize = 0x7fff_ffff;
const _: () = assert!(c_int::MAX == 0x7fff_ffff);

/// A count of at most [`INT_MAX`] bytes as `uiomove(9)`'s `int` argument
/// (a larger one is cut to `INT_MAX`).
fn chunk_len(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

/// Where a read at `offset` starts in a buffer of `len` bytes, as
/// `uiomove_frombuf(9)` computes it: `None` at or past the end (end of
/// file).
///
/// # Errors
/// `EINVAL` for a negative offset (character devices allow them).
fn frombuf_start(offset: i64, len: usize) -> Result<Option<usize>> {
    let offset = usize::try_from(offset).map_err(|_| code::EINVAL)?;
    Ok((offset < len).then_some(offset))
}

/// The user's buffers of a `read(2)`: bytes move from the kernel to the
/// user (`uio_rw == UIO_READ`).
///
/// Handed to [`CharacterDevice::read`](crate::cdev::CharacterDevice::read).
pub struct UioWriter<'a> {
    uio: Uio<'a>,
}

impl UioWriter<'_> {
    /// Wraps the `struct uio` of a read request.
    ///
    /// # Errors
    /// `EINVAL` if `uio` is not a read request.
    ///
    /// # Safety
    /// `uio` points to a valid `struct uio` that may be used and modified
    /// for the returned lifetime, and nothing else uses it meanwhile.
    pub(crate) unsafe fn from_raw(uio: *mut sys::uio) -> Result<Self> {
        // SAFETY: the caller's contract.
        let uio = unsafe { Uio::new(uio, sys::UIO_READ) }?;
        Ok(Self { uio })
    }

    /// Bytes the request still wants (`uio_resid`).
    #[must_use]
    pub fn resid(&self) -> usize {
        self.uio.resid()
    }

    /// The file offset of the request (`uio_offset`); may be negative for a
    /// character device.
    #[must_use]
    pub fn offset(&self) -> i64 {
        self.uio.offset()
    }

    /// Copies `buf` (or as much of it as the request wants) to the user with
    /// `uiomove(9)`. Returns the number of bytes copied.
    ///
    /// # Errors
    /// `EFAULT` if the user's buffer is not writable (part of `buf` may have
    /// been copied).
    ///
    /// # Context
    /// May sleep.
    pub fn move_out(&mut self, buf: &[u8], cx: &mut impl MaySleep) -> Result<usize> {
        let _ = cx;
        // SAFETY: `buf` is valid for reads of its length; in the UIO_READ
        // direction (type invariant) uiomove(9) only reads from it.
        unsafe { self.uio.move_bytes(buf.as_ptr().cast_mut(), buf.len()) }
    }

    /// Copies up to `len` bytes at `buf` to the user with `uiomove(9)`;
    /// returns how many were copied, also when it failed part-way (see
    /// [`Uio::move_counted`]; more than `len` only from a kernel that
    /// broke `uiomove`'s contract: count it as `len`), and the error.
    ///
    /// # Safety
    /// `buf` is valid for reads of `len` bytes, which no thread writes
    /// meanwhile.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    pub(crate) unsafe fn move_out_counted(
        &mut self,
        buf: *const u8,
        len: usize,
    ) -> (usize, Result) {
        // SAFETY: the caller's contract; in the UIO_READ direction (type
        // invariant) uiomove(9) only reads from `buf`.
        unsafe { self.uio.move_counted(buf.cast_mut(), len) }
    }

    /// Serves `data` as a file, as `uiomove_frombuf(9)` does: copies
    /// `data[uio_offset..]` (or as much as the request wants). Returns the
    /// number of bytes copied: 0 at or past the end of `data`, so that
    /// `cat` terminates.
    ///
    /// # Errors
    /// `EINVAL` for a negative offset; `EFAULT` as for
    /// [`move_out`](Self::move_out).
    ///
    /// # Context
    /// May sleep.
    pub fn move_frombuf(&mut self, data: &[u8], cx: &mut impl MaySleep) -> Result<usize> {
        match frombuf_start(self.offset(), data.len())? {
            Some(start) => self.move_out(data.get(start..).unwrap_or_default(), cx),
            None => Ok(0),
        }
    }
}

/// The user's buffers of a `write(2)`: bytes move from the user to the
/// kernel (`uio_rw == UIO_WRITE`).
///
/// Handed to [`CharacterDevice::write`](crate::cdev::CharacterDevice::write).
/// What is not consumed is reported to the writer as a short write.
pub struct UioReader<'a> {
    uio: Uio<'a>,
}

impl UioReader<'_> {
    /// Wraps the `struct uio` of a write request.
    ///
    /// # Errors
    /// `EINVAL` if `uio` is not a write request.
    ///
    /// # Safety
    /// `uio` points to a valid `struct uio` that may be used and modified
    /// for the returned lifetime, and nothing else uses it meanwhile.
    pub(crate) unsafe fn from_raw(uio: *mut sys::uio) -> Result<Self> {
        // SAFETY: the caller's contract.
        let uio = unsafe { Uio::new(uio, sys::UIO_WRITE) }?;
        Ok(Self { uio })
    }

    /// Bytes the request still offers (`uio_resid`).
    #[must_use]
    pub fn resid(&self) -> usize {
        self.uio.resid()
    }

    /// The file offset of the request (`uio_offset`).
    #[must_use]
    pub fn offset(&self) -> i64 {
        self.uio.offset()
    }

    /// Fills `buf` (or as much of it as the request offers) from the user
    /// with `uiomove(9)`. Returns the number of bytes copied.
    ///
    /// # Errors
    /// `EFAULT` if the user's buffer is not readable (part of `buf` may have
    /// been overwritten).
    ///
    /// # Context
    /// May sleep.
    pub fn move_in(&mut self, buf: &mut [u8], cx: &mut impl MaySleep) -> Result<usize> {
        let _ = cx;
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { self.uio.move_bytes(buf.as_mut_ptr(), buf.len()) }
    }

    /// Copies up to `len` bytes from the user to `buf` with `uiomove(9)`;
    /// returns how many were copied, also when it failed part-way (see
    /// [`Uio::move_counted`]; more than `len` only from a kernel that
    /// broke `uiomove`'s contract: count it as `len`), and the error.
    ///
    /// # Safety
    /// `buf` is valid for writes of `len` bytes, which no other thread
    /// reads or writes meanwhile.
    #[inline(always)]
    #[allow(
        clippy::inline_always,
        reason = "on the I/O path of every read and write: a call costs more than the body"
    )]
    pub(crate) unsafe fn move_in_counted(&mut self, buf: *mut u8, len: usize) -> (usize, Result) {
        // SAFETY: the caller's contract.
        unsafe { self.uio.move_counted(buf, len) }
    }

    /// Fills uninitialised memory from the user; returns the initialised
    /// part (its start).
    ///
    /// # Errors
    /// `EFAULT` as for [`move_in`](Self::move_in).
    ///
    /// # Context
    /// May sleep.
    pub fn move_in_uninit<'b>(
        &mut self,
        buf: &'b mut [MaybeUninit<u8>],
        cx: &mut impl MaySleep,
    ) -> Result<&'b mut [u8]> {
        let _ = cx;
        let len = buf.len();
        let ptr = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` is valid for writes of its length; uiomove(9) only
        // writes to it in this direction (type invariant).
        let n = unsafe { self.uio.move_bytes(ptr, len) }?;
        // SAFETY: `move_bytes` wrote the first `n <= len` bytes.
        Ok(unsafe { core::slice::from_raw_parts_mut(ptr, n.min(len)) })
    }

    /// Appends the request's bytes to `v`, reading them straight into its
    /// spare capacity (it does not allocate: reserve first). Returns the
    /// number of bytes appended.
    ///
    /// On error, `v` keeps its length (bytes copied before the fault are
    /// not appended), so a write can be all or nothing.
    ///
    /// # Errors
    /// `EFAULT` as for [`move_in`](Self::move_in).
    ///
    /// # Context
    /// May sleep.
    pub fn move_in_vec<A: Allocator>(
        &mut self,
        v: &mut alloc_kernel::Vec<u8, A>,
        cx: &mut impl MaySleep,
    ) -> Result<usize> {
        let n = self.move_in_uninit(v.spare_capacity_mut(), cx)?.len();
        // `n` is at most the spare capacity, so this cannot wrap.
        let len = v.len().wrapping_add(n);
        // SAFETY: the first `n` spare elements were just initialised, so
        // `len <= capacity` and every element below it is initialised.
        unsafe { v.set_len(len) };
        Ok(n)
    }

    /// Appends the request's bytes to `b`, at most its spare capacity (no
    /// allocation: an `ArcBytes` has a fixed capacity). Returns the number
    /// of bytes read.
    ///
    /// # Errors
    /// `EFAULT` as for [`move_in`](Self::move_in).
    ///
    /// # Context
    /// May sleep.
    pub fn move_in_bytes(&mut self, b: &mut BytesMut<'_>, cx: &mut impl MaySleep) -> Result<usize> {
        let n = self.move_in_uninit(b.spare_capacity_mut(), cx)?.len();
        // `n` is at most the spare capacity, so this cannot wrap.
        let len = b.len().wrapping_add(n);
        // SAFETY: the first `n` spare bytes were just initialised, so
        // `len <= capacity` and every byte below it is initialised.
        unsafe { b.set_len(len) };
        Ok(n)
    }

    /// Consumes the rest of the request without reading it, as `null(4)`
    /// does (the writer sees a complete write). Returns the number of bytes
    /// skipped.
    pub fn discard(&mut self) -> usize {
        let n = self.resid();
        // SAFETY: the uio is valid and ours (type invariant); setting the
        // residual count to zero ends the request, as null_write() does.
        unsafe { (*self.uio.uio.as_ptr()).uio_resid = 0 };
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_lengths() {
        assert_eq!(frombuf_start(0, 5), Ok(Some(0)));
        assert_eq!(frombuf_start(4, 5), Ok(Some(4)));
        assert_eq!(frombuf_start(5, 5), Ok(None));
        assert_eq!(frombuf_start(i64::MAX, 5), Ok(None));
        assert_eq!(frombuf_start(-1, 5), Err(code::EINVAL));
        assert_eq!(frombuf_start(i64::MIN, 0), Err(code::EINVAL));
        assert_eq!(chunk_len(3), 3);
        assert_eq!(chunk_len(usize::MAX), c_int::MAX);
        assert_eq!(chunk_len(INT_MAX), c_int::MAX);
        assert_eq!(chunk_len(INT_MAX + 1), c_int::MAX);
        assert_eq!(chunk_len(0), 0);
    }
}
