// SPDX-License-Identifier: BSD-2-Clause
//! Kernel error numbers.
//!
//! C header: `sys/sys/errno.h`. Every callback the kernel calls returns its
//! error to the kernel as one of these; nothing is swallowed.

use core::fmt;
use core::num::NonZeroI32;

/// An errno the kernel understands: a positive `errno(2)` value, or one of
/// the kernel-internal negative codes a driver may return (`ENOIOCTL`,
/// `ERESTART`, `EJUSTRETURN`).
///
/// # Invariants
/// The value is nonzero and is either in `1..=ELAST` or one of the
/// kernel-internal codes in [`code`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error(NonZeroI32);

/// `Result` with [`Error`] as the error type.
pub type Result<T = ()> = core::result::Result<T, Error>;

impl Error {
    /// Builds an error from a C return value, or `None` for 0 or a value
    /// that is not an errno (so an unknown value is never passed on).
    #[must_use]
    pub const fn from_errno(errno: i32) -> Option<Self> {
        let valid = (errno > 0 && errno <= code::ELAST_VALUE)
            || errno == code::ENOIOCTL.to_errno()
            || errno == code::ERESTART.to_errno()
            || errno == code::EJUSTRETURN.to_errno();
        match NonZeroI32::new(errno) {
            // INVARIANT: nonzero and checked against the valid ranges.
            Some(nz) if valid => Some(Self(nz)),
            _ => None,
        }
    }

    /// The errno as the C int the kernel expects.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        self.0.get()
    }

    /// Converts a C return value: 0 is `Ok`, a valid errno is `Err`, and
    /// anything else becomes `EINVAL` (so no garbage reaches the caller).
    ///
    /// # Errors
    /// The errno `ret` carries.
    pub const fn from_ret(ret: i32) -> Result {
        if ret == 0 {
            return Ok(());
        }
        Err(Self::from_failure(ret, code::EINVAL))
    }

    /// The error a nonzero C return value carries, or `otherwise` if it is
    /// not an errno. Out of line and cold: each call site of a kernel
    /// function keeps only the test for 0.
    #[cold]
    #[inline(never)]
    #[must_use]
    pub(crate) const fn from_failure(ret: i32, otherwise: Self) -> Self {
        match Self::from_errno(ret) {
            Some(e) => e,
            None => otherwise,
        }
    }

    /// The symbolic name (`"ENOMEM"`), if it is one of the named codes.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        code::NAMES
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, n)| *n)
    }
}

/// Converts a `Result` to the C return value of a kernel callback.
#[must_use]
pub const fn to_ret(result: Result) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Error({})", self.0),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// An initialiser that cannot fail (`pin_init!` without `? Error`) fits
/// where one that fails with an errno is expected.
impl From<core::convert::Infallible> for Error {
    fn from(never: core::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<alloc_kernel::AllocError> for Error {
    fn from(_: alloc_kernel::AllocError) -> Self {
        code::ENOMEM
    }
}

/// Named error codes (`sys/sys/errno.h`).
pub mod code {
    use super::Error;
    use core::num::NonZeroI32;

    /// The largest positive errno (`ELAST`).
    pub(crate) const ELAST_VALUE: i32 = sys_i32(sys::ELAST);

    const fn sys_i32(v: u32) -> i32 {
        if v > i32::MAX.cast_unsigned() {
            0
        } else {
            // Checked to fit just above.
            v.cast_signed()
        }
    }

    const fn make(v: i32) -> Error {
        match NonZeroI32::new(v) {
            // INVARIANT: only called with the header's errno constants.
            Some(nz) => Error(nz),
            // Not reached: every errno constant is nonzero (checked by the
            // test `every_named_code_is_valid`).
            None => Error(NonZeroI32::MIN),
        }
    }

    macro_rules! codes {
        ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
            $($(#[$doc])* pub const $name: Error = make($value);)*
            /// Every named code with its name.
            pub(crate) const NAMES: &[(Error, &str)] = &[$(($name, stringify!($name))),*];
        };
    }

    codes! {
        /// Operation not permitted.
        EPERM = sys_i32(sys::EPERM);
        /// No such file or directory.
        ENOENT = sys_i32(sys::ENOENT);
        /// Interrupted system call.
        EINTR = sys_i32(sys::EINTR);
        /// Input/output error.
        EIO = sys_i32(sys::EIO);
        /// Device not configured.
        ENXIO = sys_i32(sys::ENXIO);
        /// Argument list too long.
        E2BIG = sys_i32(sys::E2BIG);
        /// Exec format error (a module that failed to load).
        ENOEXEC = sys_i32(sys::ENOEXEC);
        /// Bad file descriptor.
        EBADF = sys_i32(sys::EBADF);
        /// Resource deadlock avoided.
        EDEADLK = sys_i32(sys::EDEADLK);
        /// Cannot allocate memory.
        ENOMEM = sys_i32(sys::ENOMEM);
        /// Permission denied.
        EACCES = sys_i32(sys::EACCES);
        /// Bad address.
        EFAULT = sys_i32(sys::EFAULT);
        /// Device busy.
        EBUSY = sys_i32(sys::EBUSY);
        /// File exists.
        EEXIST = sys_i32(sys::EEXIST);
        /// Operation not supported by device.
        ENODEV = sys_i32(sys::ENODEV);
        /// Invalid argument.
        EINVAL = sys_i32(sys::EINVAL);
        /// Inappropriate ioctl for device.
        ENOTTY = sys_i32(sys::ENOTTY);
        /// File too large.
        EFBIG = sys_i32(sys::EFBIG);
        /// No space left on device.
        ENOSPC = sys_i32(sys::ENOSPC);
        /// Result too large.
        ERANGE = sys_i32(sys::ERANGE);
        /// Resource temporarily unavailable.
        EAGAIN = sys_i32(sys::EAGAIN);
        /// Operation not supported.
        EOPNOTSUPP = sys_i32(sys::EOPNOTSUPP);
        /// Value too large to be stored in data type.
        EOVERFLOW = sys_i32(sys::EOVERFLOW);
        /// Function not implemented.
        ENOSYS = sys_i32(sys::ENOSYS);
        /// File name too long (a device name over `SPECNAMELEN`).
        ENAMETOOLONG = sys_i32(sys::ENAMETOOLONG);
        /// Operation timed out (a device that never answered).
        ETIMEDOUT = sys_i32(sys::ETIMEDOUT);
        /// Kernel-internal: restart the system call.
        ERESTART = sys::ERESTART;
        /// Kernel-internal: the system call has arranged its own return.
        EJUSTRETURN = sys::EJUSTRETURN;
        /// Kernel-internal: ioctl command not handled by this driver
        /// (userland sees `ENOTTY`).
        ENOIOCTL = sys::ENOIOCTL;
    }

    /// Operation would block: the same code as [`EAGAIN`], the name a
    /// sleep's timeout returns under (`msleep(9)`, `cv_timedwait(9)`).
    pub const EWOULDBLOCK: Error = EAGAIN;
}

#[cfg(test)]
mod tests {
    use super::code::*;
    use super::*;

    #[test]
    fn round_trips_and_names() {
        assert_eq!(ENOMEM.to_errno(), 12);
        assert_eq!(Error::from_errno(12), Some(ENOMEM));
        assert_eq!(ENOMEM.name(), Some("ENOMEM"));
        assert_eq!(ENOIOCTL.to_errno(), -3);
        assert_eq!(Error::from_errno(-3), Some(ENOIOCTL));
        assert_eq!(format!("{ENOMEM}"), "ENOMEM (12)");
        assert_eq!(format!("{EFBIG:?}"), "EFBIG");
    }

    #[test]
    fn rejects_non_errnos() {
        assert_eq!(Error::from_errno(0), None);
        assert_eq!(Error::from_errno(-100), None);
        assert_eq!(Error::from_errno(100_000), None);
        assert_eq!(Error::from_ret(0), Ok(()));
        assert_eq!(Error::from_ret(-100), Err(EINVAL));
        assert_eq!(Error::from_ret(16), Err(EBUSY));
    }

    #[test]
    fn alloc_error_is_enomem() {
        assert_eq!(Error::from(alloc_kernel::AllocError), ENOMEM);
        assert_eq!(to_ret(Err(ENOMEM)), 12);
        assert_eq!(to_ret(Ok(())), 0);
    }

    #[test]
    fn every_named_code_is_valid() {
        for (e, name) in NAMES {
            assert_eq!(Error::from_errno(e.to_errno()), Some(*e), "{name}");
        }
    }
}
