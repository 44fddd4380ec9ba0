// SPDX-License-Identifier: BSD-2-Clause
//! `sys/ioccom.h`'s ioctl command encoding as `const fn`s.
//!
//! bindgen cannot see function-like macros (`_IO`, `_IOR`, `IOCPARM_LEN`),
//! so they are written here and checked against the commands bindgen
//! computed from the headers (`FIONREAD`, `FIONBIO`, ...) in the tests.
//!
//! A command is `inout(3 bits) | len(13 bits) << 16 | group << 8 | num`.
#![allow(
    clippy::as_conversions,
    clippy::cast_possible_truncation,
    reason = "`From` is not callable in a const fn; each cast is widening or masked (CAST)"
)]

use crate::bindings::{IOC_IN, IOC_OUT, IOC_VOID, IOCPARM_MASK, IOCPARM_MAX};

/// An ioctl command number (`u_long` in `d_ioctl_t`).
pub type IoctlCmd = core::ffi::c_ulong;

/// `_IOC(inout, group, num, len)`, or `None` if `len` exceeds
/// `IOCPARM_MAX` (the C macro would silently truncate it).
#[must_use]
pub const fn ioc(inout: u32, group: u8, num: u8, len: usize) -> Option<IoctlCmd> {
    if len > IOCPARM_MAX as usize {
        return None;
    }
    // CAST: len <= IOCPARM_MAX (8192) fits in u32; u8 and u32 widen to u64.
    let len = len as u32 & IOCPARM_MASK;
    Some((inout | (len << 16) | ((group as u32) << 8) | num as u32) as IoctlCmd)
}

/// `_IO(g, n)`: a command without data.
#[must_use]
pub const fn io(group: u8, num: u8) -> IoctlCmd {
    match ioc(IOC_VOID, group, num, 0) {
        Some(cmd) => cmd,
        None => 0,
    }
}

/// `_IOR(g, n, t)`: the kernel writes a `t` of `len` bytes out.
#[must_use]
pub const fn ior(group: u8, num: u8, len: usize) -> Option<IoctlCmd> {
    ioc(IOC_OUT, group, num, len)
}

/// `_IOW(g, n, t)`: the kernel reads a `t` of `len` bytes in.
#[must_use]
pub const fn iow(group: u8, num: u8, len: usize) -> Option<IoctlCmd> {
    ioc(IOC_IN, group, num, len)
}

/// `_IOWR(g, n, t)`: both directions.
#[must_use]
pub const fn iowr(group: u8, num: u8, len: usize) -> Option<IoctlCmd> {
    ioc(IOC_IN | IOC_OUT, group, num, len)
}

/// `IOCPARM_LEN(cmd)`: the size of the command's data.
#[must_use]
pub const fn iocparm_len(cmd: IoctlCmd) -> usize {
    // CAST: masked to 13 bits.
    ((cmd >> 16) & IOCPARM_MASK as IoctlCmd) as usize
}

/// `IOCGROUP(cmd)`.
#[must_use]
pub const fn iocgroup(cmd: IoctlCmd) -> u8 {
    // CAST: masked to 8 bits.
    ((cmd >> 8) & 0xff) as u8
}

/// The direction bits of `cmd` (`IOC_VOID`, `IOC_OUT`, `IOC_IN`).
#[must_use]
pub const fn iocdir(cmd: IoctlCmd) -> u32 {
    // CAST: masked to the three direction bits.
    (cmd & 0xe000_0000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{FIOASYNC, FIONBIO, FIONREAD};
    use core::ffi::c_int;
    use core::mem::size_of;

    #[test]
    fn matches_the_headers() {
        assert_eq!(
            ior(b'f', 127, size_of::<c_int>()),
            Some(IoctlCmd::from(FIONREAD))
        );
        assert_eq!(
            iow(b'f', 126, size_of::<c_int>()),
            Some(IoctlCmd::from(FIONBIO))
        );
        assert_eq!(
            iow(b'f', 125, size_of::<c_int>()),
            Some(IoctlCmd::from(FIOASYNC))
        );
        assert_eq!(iocparm_len(IoctlCmd::from(FIONREAD)), 4);
        assert_eq!(iocgroup(IoctlCmd::from(FIONREAD)), b'f');
        assert_eq!(iocdir(IoctlCmd::from(FIONREAD)), IOC_OUT);
    }

    #[test]
    fn oversized_parameter_is_refused() {
        assert_eq!(ior(b'x', 1, IOCPARM_MAX as usize + 1), None);
        assert!(ior(b'x', 1, IOCPARM_MAX as usize).is_some());
    }

    #[test]
    fn void_command_has_no_length() {
        assert_eq!(iocparm_len(io(b'x', 3)), 0);
        assert_eq!(iocdir(io(b'x', 3)), IOC_VOID);
    }
}
