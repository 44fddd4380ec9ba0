// SPDX-License-Identifier: BSD-2-Clause
//! The module's own ioctl commands, as `echo/include/rustecho.h` declares
//! them for C programs (`_IO`/`_IOR` of `sys/sys/ioccom.h`).
//!
//! The numbers are part of the user interface: they are checked here at
//! compile time against the values the header's macros give, and the
//! harness test `rustecho_ioctl` checks the header against the same values
//! and the built module against the header.

use kern::ioctl::{IoctlCmd, io, ior};

kern::pod! {
    /// `struct rustecho_info`: what [`RUSTECHO_GETINFO`] returns.
    #[allow(
        clippy::struct_field_names,
        reason = "the C header's names, with style(9)'s member prefix"
    )]
    pub(crate) struct RustechoInfo {
        /// Bytes in the current message.
        pub(crate) ri_length: u64,
        /// `hw.rustecho.maxlen`: the longest write accepted.
        pub(crate) ri_limit: u64,
        /// Bumped by every write and every clear.
        pub(crate) ri_generation: u64,
    }
}

/// `RUSTECHO_CLEAR`, `_IO('E', 1)`: empty the message.
pub(crate) const RUSTECHO_CLEAR: IoctlCmd = io(b'E', 1);

/// `RUSTECHO_GETINFO`, `_IOR('E', 2, struct rustecho_info)`: read the
/// length, limit and generation of the current message.
pub(crate) const RUSTECHO_GETINFO: IoctlCmd = ior::<RustechoInfo>(b'E', 2);

// What the header's macros expand to on amd64: IOC_VOID (0x20000000) or
// IOC_OUT (0x40000000), the size in bits 16..29, the group 'E' (0x45) in
// bits 8..15, the number in bits 0..7.
const _: () = assert!(RUSTECHO_CLEAR.as_raw() == 0x2000_4501);
const _: () = assert!(RUSTECHO_GETINFO.as_raw() == 0x4018_4502);
const _: () = assert!(size_of::<RustechoInfo>() == 24);
