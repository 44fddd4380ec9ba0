// SPDX-License-Identifier: BSD-2-Clause
//! ioctl commands and their data: [`IoctlCmd`], [`IoctlData`] and the
//! [`Pod`] types that may be read from and written to it.
//!
//! C headers: `sys/sys/ioccom.h`, `sys/sys/filio.h`. Manual pages:
//! `ioctl(2)`, `d_ioctl` in `make_dev(9)`/`cdevsw`. Implementation:
//! `sys_ioctl()` in `sys/kern/sys_generic.c`.
//!
//! A command encodes the size of its data (`IOCPARM_LEN`) and its direction.
//! Before calling the driver, `ioctl(2)` copies that many bytes in
//! (`IOC_IN`), or zeroes them (`IOC_OUT`), in a kernel buffer; after it, it
//! copies them out (`IOC_OUT`). [`IoctlData`] is that buffer, and its typed
//! accessors check the size of the type against the command's, so a module
//! reads and writes it without `unsafe`.
//!
//! # Context
//! The driver's ioctl method runs in the context of the calling thread and
//! may sleep; accessing the data buffer never sleeps (it is kernel memory).
//!
//! # Examples
//!
//! ```
//! use kern::ioctl::{self, IoctlCmd, IoctlData};
//! use kern::prelude::*;
//!
//! kern::pod! {
//!     /// What `EXAMPLE_GETINFO` returns (a C header would declare it the same).
//!     pub struct Info {
//!         pub len: u64,
//!         pub limit: u64,
//!     }
//! }
//!
//! const EXAMPLE_GETINFO: IoctlCmd = ioctl::ior::<Info>(b'E', 1);
//! const EXAMPLE_CLEAR: IoctlCmd = ioctl::io(b'E', 2);
//!
//! fn ioctl(cmd: IoctlCmd, data: &mut IoctlData<'_>) -> Result {
//!     match cmd {
//!         EXAMPLE_GETINFO => data.write(&Info { len: 3, limit: 64 }),
//!         ioctl::FIONBIO => Ok(()),
//!         ioctl::FIOASYNC if data.read::<i32>()? != 0 => Err(EINVAL),
//!         ioctl::FIOASYNC | EXAMPLE_CLEAR => Ok(()),
//!         _ => Err(ENOIOCTL),
//!     }
//! }
//! ```

use crate::error::{Result, code};
use core::ffi::{c_char, c_ulong};
use core::marker::PhantomData;

/// An ioctl command number (`u_long cmd` of `d_ioctl`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IoctlCmd(c_ulong);

impl IoctlCmd {
    /// A command from its number.
    #[must_use]
    pub const fn from_raw(cmd: c_ulong) -> Self {
        Self(cmd)
    }

    /// The command number.
    #[must_use]
    pub const fn as_raw(self) -> c_ulong {
        self.0
    }

    /// The size of the command's data (`IOCPARM_LEN`).
    #[must_use]
    pub const fn len(self) -> usize {
        sys::ioccom::iocparm_len(self.0)
    }

    /// Whether the command carries no data (`IOCPARM_LEN` is 0).
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The command's group (`IOCGROUP`), usually a letter.
    #[must_use]
    pub const fn group(self) -> u8 {
        sys::ioccom::iocgroup(self.0)
    }

    /// Whether user data is copied in (`IOC_IN`).
    #[must_use]
    pub const fn copies_in(self) -> bool {
        sys::ioccom::iocdir(self.0) & sys::IOC_IN != 0
    }

    /// Whether data is copied out to the user (`IOC_OUT`).
    #[must_use]
    pub const fn copies_out(self) -> bool {
        sys::ioccom::iocdir(self.0) & sys::IOC_OUT != 0
    }

    /// A command from a `u32` constant of the headers.
    const fn from_u32(cmd: u32) -> Self {
        // CAST: u32 widens losslessly to c_ulong (64 bits on amd64).
        #[allow(clippy::as_conversions, reason = "widening in a const fn")]
        let cmd = cmd as c_ulong;
        Self(cmd)
    }
}

/// `_IO(group, num)`: a command without data.
#[must_use]
pub const fn io(group: u8, num: u8) -> IoctlCmd {
    IoctlCmd(sys::ioccom::io(group, num))
}

/// `_IOR(group, num, T)`: the driver writes a `T` that is copied out.
///
/// Using a `T` larger than `IOCPARM_MAX` (8 KiB) or of size zero fails to
/// compile.
#[must_use]
pub const fn ior<T: Pod>(group: u8, num: u8) -> IoctlCmd {
    const { assert_size::<T>() };
    IoctlCmd(unwrap_cmd(sys::ioccom::ior(group, num, size_of::<T>())))
}

/// `_IOW(group, num, T)`: the driver reads a `T` copied in from the user.
///
/// Using a `T` larger than `IOCPARM_MAX` or of size zero fails to compile.
#[must_use]
pub const fn iow<T: Pod>(group: u8, num: u8) -> IoctlCmd {
    const { assert_size::<T>() };
    IoctlCmd(unwrap_cmd(sys::ioccom::iow(group, num, size_of::<T>())))
}

/// `_IOWR(group, num, T)`: copied in, then out.
///
/// Using a `T` larger than `IOCPARM_MAX` or of size zero fails to compile.
#[must_use]
pub const fn iowr<T: Pod>(group: u8, num: u8) -> IoctlCmd {
    const { assert_size::<T>() };
    IoctlCmd(unwrap_cmd(sys::ioccom::iowr(group, num, size_of::<T>())))
}

/// Rejects, at compile time, a size that `ioctl(2)` would refuse.
const fn assert_size<T>() {
    assert!(size_of::<T>() > 0, "an ioctl type must not be empty");
    assert!(
        size_of::<T>() <= IOCPARM_MAX,
        "an ioctl type must fit IOCPARM_MAX"
    );
}

/// `IOCPARM_MAX`: the largest ioctl data size.
const IOCPARM_MAX: usize = {
    // CAST: u32 widens losslessly to usize on 64-bit targets.
    #[allow(clippy::as_conversions, reason = "widening in a const")]
    let max = sys::IOCPARM_MAX as usize;
    max
};

/// The command of a size checked by `assert_size` (always `Some`).
const fn unwrap_cmd(cmd: Option<c_ulong>) -> c_ulong {
    match cmd {
        Some(cmd) => cmd,
        None => 0,
    }
}

/// `FIONREAD`: the number of bytes ready to read (`int`, copied out).
pub const FIONREAD: IoctlCmd = IoctlCmd::from_u32(sys::FIONREAD);
/// `FIONBIO`: set or clear non-blocking I/O (`int`, copied in); sent by
/// `fcntl(F_SETFL, O_NONBLOCK)`.
pub const FIONBIO: IoctlCmd = IoctlCmd::from_u32(sys::FIONBIO);
/// `FIOASYNC`: set or clear asynchronous I/O (`int`, copied in); sent by
/// `fcntl(F_SETFL, O_ASYNC)`.
pub const FIOASYNC: IoctlCmd = IoctlCmd::from_u32(sys::FIOASYNC);

/// Plain old data: a type whose every bit pattern is a valid value and whose
/// bytes are all initialised (no padding), so it can be copied from and to
/// user memory as bytes.
///
/// Implemented for the integer types and arrays of `Pod`; for a `#[repr(C)]`
/// struct, declare it with [`pod!`](crate::pod), which checks both
/// properties at compile time.
///
/// # Safety
/// - Any `size_of::<Self>()` initialised bytes are a valid `Self`, and
/// - every byte of every `Self` value is initialised (no padding).
pub unsafe trait Pod: Copy + 'static {}

macro_rules! impl_pod {
    ($($t:ty),*) => {
        $(
            // SAFETY: an integer has no padding and no invalid bit pattern.
            unsafe impl Pod for $t {}
        )*
    };
}

impl_pod!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

// SAFETY: an array has no padding between its elements (its size is the
// element size times the length), and is valid when each element is.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Declares a `#[repr(C)]` struct that implements [`Pod`],
/// after checking at compile time that every field is `Pod` and that the
/// struct has no padding. The struct derives `Clone` and `Copy`.
///
/// # Examples
///
/// ```
/// kern::pod! {
///     /// The data of an ioctl.
///     #[derive(Debug, Default, PartialEq)]
///     pub struct Info {
///         pub len: u64,
///         pub flags: u32,
///         pub spare: u32,
///     }
/// }
/// ```
///
/// A struct with padding is rejected:
///
/// ```compile_fail,E0080
/// kern::pod! {
///     pub struct Padded {
///         pub small: u8,
///         pub large: u64,
///     }
/// }
/// ```
#[macro_export]
macro_rules! pod {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy)]
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }

        const _: () = {
            const fn field_is_pod<T: $crate::ioctl::Pod>() {}
            $(field_is_pod::<$ty>();)*
            ::core::assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ ::core::mem::size_of::<$ty>())*,
                "a pod! struct must not have padding"
            );
        };

        // SAFETY: `#[repr(C)]`, every field is `Pod` and the size is the sum
        // of the field sizes (both checked just above), so there is no
        // padding and every bit pattern is valid.
        #[allow(unsafe_code, reason = "kern's checked Pod declaration")]
        unsafe impl $crate::ioctl::Pod for $name {}
    };
}

/// The data buffer of one ioctl call: `IOCPARM_LEN(cmd)` bytes of kernel
/// memory that `ioctl(2)` copied in from (or will copy out to) the user.
///
/// # Invariants
/// `ptr` is valid for reads and writes of `len` initialised bytes for `'a`
/// (possibly unaligned), and nothing else accesses them meanwhile.
pub struct IoctlData<'a> {
    ptr: *mut u8,
    len: usize,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl IoctlData<'_> {
    /// Wraps the `data` argument of `d_ioctl` for `cmd`.
    ///
    /// # Safety
    /// `data` is NULL or valid for reads and writes of `cmd.len()`
    /// initialised bytes for the returned lifetime, used by nothing else
    /// meanwhile (as `sys_ioctl()` provides it to `d_ioctl`).
    pub(crate) unsafe fn from_raw(data: *mut c_char, cmd: IoctlCmd) -> Self {
        let len = if data.is_null() { 0 } else { cmd.len() };
        // INVARIANT: the caller's contract; a NULL buffer has length 0.
        Self {
            ptr: data.cast::<u8>(),
            len,
            _borrow: PhantomData,
        }
    }

    /// The size of the buffer: the command's `IOCPARM_LEN`.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the command carries no data.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the buffer as a `T` (copied in from the user for an `IOC_IN`
    /// command; zeroes for an `IOC_OUT` one).
    ///
    /// # Errors
    /// `EINVAL` if `T` is not exactly the command's size.
    pub fn read<T: Pod>(&self) -> Result<T> {
        if size_of::<T>() != self.len {
            return Err(code::EINVAL);
        }
        // SAFETY: `len` initialised bytes are readable (type invariant) and
        // are a valid `T` (`T: Pod`, same size); unaligned read.
        Ok(unsafe { self.ptr.cast::<T>().read_unaligned() })
    }

    /// Writes `value` into the buffer (copied out to the user for an
    /// `IOC_OUT` command).
    ///
    /// # Errors
    /// `EINVAL` if `T` is not exactly the command's size.
    pub fn write<T: Pod>(&mut self, value: &T) -> Result {
        if size_of::<T>() != self.len {
            return Err(code::EINVAL);
        }
        // SAFETY: `len` bytes are writable (type invariant), `T` is that
        // size, and every byte of it is initialised (`T: Pod`); unaligned.
        unsafe { self.ptr.cast::<T>().write_unaligned(*value) };
        Ok(())
    }

    /// The buffer as bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `len > 0` initialised bytes at a non-NULL `ptr` (type
        // invariant), borrowed with `self`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The buffer as mutable bytes.
    #[must_use]
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as in `as_bytes`, and `&mut self` makes it exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::pod! {
        #[derive(Debug, PartialEq)]
        struct Info {
            len: u64,
            limit: u64,
            generation: u32,
            spare: [u8; 4],
        }
    }

    #[test]
    fn commands_match_the_headers() {
        assert_eq!(ior::<i32>(b'f', 127), FIONREAD);
        assert_eq!(iow::<i32>(b'f', 126), FIONBIO);
        assert_eq!(FIONREAD.len(), 4);
        assert!(FIONREAD.copies_out() && !FIONREAD.copies_in());
        assert!(FIONBIO.copies_in() && !FIONBIO.copies_out());
        assert_eq!(FIONREAD.group(), b'f');
        let cmd = iowr::<Info>(b'R', 3);
        assert_eq!(cmd.len(), 24);
        assert!(cmd.copies_in() && cmd.copies_out());
        assert!(io(b'R', 4).is_empty());
        assert_eq!(IoctlCmd::from_raw(cmd.as_raw()), cmd);
    }

    #[test]
    fn typed_access_checks_the_size() {
        let mut buf = [0u8; 24];
        let cmd = ior::<Info>(b'R', 1);
        // SAFETY: `buf` holds `cmd.len()` bytes and outlives `data`.
        let mut data = unsafe { IoctlData::from_raw(buf.as_mut_ptr().cast(), cmd) };
        let info = Info {
            len: 5,
            limit: 64,
            generation: 7,
            spare: [0; 4],
        };
        data.write(&info).unwrap();
        assert_eq!(data.read::<Info>(), Ok(info));
        assert_eq!(data.read::<u32>(), Err(code::EINVAL));
        assert_eq!(data.write(&0u64), Err(code::EINVAL));
        assert_eq!(data.as_bytes()[..8], 5u64.to_ne_bytes());
        data.as_bytes_mut()[0] = 6;
        assert_eq!(data.read::<Info>().unwrap().len, 6);
        // SAFETY: a NULL buffer.
        let empty = unsafe { IoctlData::from_raw(core::ptr::null_mut(), cmd) };
        assert!(empty.is_empty());
        assert_eq!(empty.as_bytes(), b"");
        assert_eq!(empty.read::<Info>(), Err(code::EINVAL));
    }

    #[test]
    fn unaligned_buffers_work() {
        let mut buf = [0u8; 9];
        let at = buf[1..].as_mut_ptr().cast();
        // SAFETY: the 8 bytes at `at` are in `buf`, which outlives `data`.
        let mut data = unsafe { IoctlData::from_raw(at, ior::<u64>(b'x', 1)) };
        data.write(&0x0102_0304_0506_0708u64).unwrap();
        assert_eq!(data.read::<u64>(), Ok(0x0102_0304_0506_0708));
    }
}
