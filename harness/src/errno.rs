// SPDX-License-Identifier: BSD-2-Clause
//! FreeBSD error numbers (`sys/sys/errno.h`) and the error type of every
//! harness call.
//!
//! The numbers are FreeBSD's (taken from `sys`), not the host's: `EAGAIN`
//! is 35 here. The messages are those of FreeBSD's `strerror(3)`
//! (`lib/libc/gen/errlst.c`), so `kldsim` prints what FreeBSD's tools print.

use core::fmt;

/// A FreeBSD errno value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $msg:literal),* $(,)?) => {
        impl Errno {
            $(
                #[doc = $msg]
                #[allow(clippy::cast_possible_wrap, reason = "errno values are small")]
                pub const $name: Errno = Errno(sys::$name as i32);
            )*

            /// The symbolic name (`"ENOENT"`), if known.
            #[must_use]
            pub fn name(self) -> Option<&'static str> {
                $(if self.0 == Errno::$name.0 {
                    return Some(stringify!($name));
                })*
                None
            }

            /// FreeBSD's `strerror(3)` text.
            #[must_use]
            pub fn message(self) -> &'static str {
                $(if self.0 == Errno::$name.0 {
                    return $msg;
                })*
                "Unknown error"
            }
        }
    };
}

errnos! {
    EPERM = "Operation not permitted",
    ENOENT = "No such file or directory",
    ESRCH = "No such process",
    EINTR = "Interrupted system call",
    EIO = "Input/output error",
    ENXIO = "Device not configured",
    E2BIG = "Argument list too long",
    ENOEXEC = "Exec format error",
    EBADF = "Bad file descriptor",
    ECHILD = "No child processes",
    EDEADLK = "Resource deadlock avoided",
    ENOMEM = "Cannot allocate memory",
    EACCES = "Permission denied",
    EFAULT = "Bad address",
    ENOTBLK = "Block device required",
    EBUSY = "Device busy",
    EEXIST = "File exists",
    EXDEV = "Cross-device link",
    ENODEV = "Operation not supported by device",
    ENOTDIR = "Not a directory",
    EISDIR = "Is a directory",
    EINVAL = "Invalid argument",
    ENFILE = "Too many open files in system",
    EMFILE = "Too many open files",
    ENOTTY = "Inappropriate ioctl for device",
    ETXTBSY = "Text file busy",
    EFBIG = "File too large",
    ENOSPC = "No space left on device",
    ESPIPE = "Illegal seek",
    EROFS = "Read-only file system",
    EMLINK = "Too many links",
    EPIPE = "Broken pipe",
    EDOM = "Numerical argument out of domain",
    ERANGE = "Result too large",
    EAGAIN = "Resource temporarily unavailable",
    EINPROGRESS = "Operation now in progress",
    EALREADY = "Operation already in progress",
    EOPNOTSUPP = "Operation not supported",
    ETIMEDOUT = "Operation timed out",
    ELOOP = "Too many levels of symbolic links",
    ENAMETOOLONG = "File name too long",
    ENOTEMPTY = "Directory not empty",
    ENOLCK = "No locks available",
    ENOSYS = "Function not implemented",
    EFTYPE = "Inappropriate file type or format",
    EOVERFLOW = "Value too large to be stored in data type",
    ECANCELED = "Operation canceled",
    EILSEQ = "Illegal byte sequence",
    ENOATTR = "Attribute not found",
    EDOOFUS = "Programming error",
    EINTEGRITY = "Integrity check failed",
    ENOIOCTL = "ioctl not handled by this layer",
    EJUSTRETURN = "Don't modify regs, just return",
    ERESTART = "Restart syscall",
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Why a harness call failed: what the syscall would return, or a kernel
/// panic (after which the [`Kernel`](crate::Kernel) is dead).
#[derive(Clone, PartialEq, Eq)]
pub enum Error {
    /// The errno the syscall returns.
    Errno(Errno),
    /// `panic(9)` was called (or the kernel had already panicked); the
    /// message is panic's.
    Panic(String),
}

impl Error {
    /// The errno, if this is not a panic.
    #[must_use]
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Errno(e) => Some(*e),
            Error::Panic(_) => None,
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        Error::Errno(e)
    }
}

impl PartialEq<Errno> for Error {
    fn eq(&self, other: &Errno) -> bool {
        self.errno() == Some(*other)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Errno(e) => write!(f, "{e:?} ({e})"),
            Error::Panic(m) => write!(f, "kernel panicked: {m}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Errno(e) => write!(f, "{e}"),
            Error::Panic(m) => write!(f, "kernel panicked: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The result of a harness call.
pub type SysResult<T> = Result<T, Error>;
