// SPDX-License-Identifier: BSD-2-Clause
//! What the tests know about `rustecho.ko`, said once, and the helpers
//! that drive it in the test kernel.
//!
//! The harness's `rustecho_*` tests (`harness/tests/`, a dev-dependency)
//! and the fault suite (`reliability/`) both use this crate, so a fact
//! about the module (its default message, its limits, its device, its
//! ioctl commands) is written here and nowhere else on the test side.
//!
//! # Where the facts come from
//!
//! The module is the source of truth; this crate restates what the tests
//! need and `tests/facts.rs` checks each statement against the module:
//!
//! | fact | source | checked against |
//! | --- | --- | --- |
//! | [`DEFAULT_MESSAGE`] | `DEFAULT_MESSAGE` in `echo/src/lib.rs` | a read of a freshly loaded device |
//! | [`DEFAULT_MAXLEN`] | `DEFAULT_MAXLEN` in `echo/src/lib.rs` | `hw.rustecho.maxlen`, `ri_limit` and the load message of a fresh module |
//! | [`MAXLEN_MAX`] | `MAXLEN_MAX` in `echo/src/lib.rs` | the sysctl accepting it and refusing one more |
//! | [`DEV`], [`DEV_NAME`] | `DEVICE` in `echo/src/lib.rs` | devfs after the load |
//! | [`MODULE`] | `kern::module!` in `echo/src/lib.rs` (the `.ko` is `build/rustecho.ko`) | `kldstat` after the load |
//! | [`MALLOC_TYPE`] | `MALLOC_DEFINE` under the module's name (`shim/module.c`) | the kernel's malloc statistics |
//! | [`SYSCTL_NODE`] | `SysctlTree::register_hw` in `echo/src/lib.rs` | the sysctl tree |
//! | the ioctl commands, `struct rustecho_info` ([`header`], [`INFO_SIZE`]) | `echo/include/rustecho.h`, parsed at run time | the header's member list, and every `ioctl` the tests make |
//!
//! # Examples
//!
//! ```no_run
//! use echo_testkit::{DEFAULT_MESSAGE, loaded, message};
//!
//! let (k, _id) = loaded(); // build/rustecho.ko in a fresh test kernel
//! assert_eq!(message(&k), DEFAULT_MESSAGE);
//! ```
//!
//! A panic in these helpers is a failed check of the test that called
//! them.

mod device;
mod header;

pub use device::{Info, cat, fionread, info, live_allocs, loaded, message, store, sysctl};
pub use header::{Header, header, header_text};

/// The module's name: `build/rustecho.ko`, `kldstat`'s name and the
/// `MOD_LOAD (rustecho, ...)` line.
pub const MODULE: &str = "rustecho";

/// The device node.
pub const DEV: &str = "/dev/rustmodule";

/// The device's name in devfs (and for `Kernel::dev_threads`).
pub const DEV_NAME: &str = "rustmodule";

/// The message at load.
pub const DEFAULT_MESSAGE: &[u8] = b"Default hello message\n";

/// `hw.rustecho.maxlen` at load.
pub const DEFAULT_MAXLEN: u64 = 64 * 1024;

/// The largest value `hw.rustecho.maxlen` accepts.
pub const MAXLEN_MAX: u64 = 16 * 1024 * 1024;

/// The malloc type of the module (`vmstat -m`).
pub const MALLOC_TYPE: &str = "rustecho";

/// The module's sysctl node.
pub const SYSCTL_NODE: &str = "hw.rustecho";

/// The size of `struct rustecho_info`, what `RUSTECHO_GETINFO` copies out:
/// three `uint64_t`.
pub const INFO_SIZE: usize = 24;
