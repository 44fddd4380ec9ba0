// SPDX-License-Identifier: BSD-2-Clause
//! The user interface of `/dev/kselftest`: the ioctl commands, their
//! argument, and the case numbers.
//!
//! In C (`sys/sys/ioccom.h` macros):
//!
//! ```c
//! struct kselftest_case {
//!     uint32_t kc_case;   /* in: the case to run */
//!     int32_t  kc_result; /* out: 0 if it passed, else an errno */
//!     uint64_t kc_value;  /* in: the case's argument; out: its value */
//! };
//! #define KSELFTEST_RUN   _IOWR('K', 1, struct kselftest_case)
//! #define KSELFTEST_SHORT _IOWR('K', 2, uint32_t)
//! ```
//!
//! The case numbers are below; the harness test `kern_selftest` uses the
//! same values.

use kern::ioctl::{IoctlCmd, iowr};

kern::pod! {
    /// `struct kselftest_case`: the argument of [`KSELFTEST_RUN`].
    #[allow(
        clippy::struct_field_names,
        reason = "the C names, with style(9)'s member prefix"
    )]
    pub(crate) struct KselftestCase {
        /// In: the case to run (`KC_*`).
        pub(crate) kc_case: u32,
        /// Out: 0 if the case passed, else the errno it failed with.
        pub(crate) kc_result: i32,
        /// In: the case's argument; out: the value it reports.
        pub(crate) kc_value: u64,
    }
}

/// `KSELFTEST_RUN`, `_IOWR('K', 1, struct kselftest_case)`: run a case.
pub(crate) const KSELFTEST_RUN: IoctlCmd = iowr::<KselftestCase>(b'K', 1);

/// `KSELFTEST_SHORT`, `_IOWR('K', 2, uint32_t)`: a command whose
/// parameter (4 bytes) is smaller than what its handler reads (a
/// `struct kselftest_case`); `IoctlData` must refuse with `EINVAL`.
pub(crate) const KSELFTEST_SHORT: IoctlCmd = iowr::<u32>(b'K', 2);

// What the C macros give on amd64: IOC_INOUT (0xc0000000), the size in
// bits 16..29, the group 'K' (0x4b), the number.
const _: () = assert!(KSELFTEST_RUN.as_raw() == 0xc010_4b01);
const _: () = assert!(KSELFTEST_SHORT.as_raw() == 0xc004_4b02);
const _: () = assert!(size_of::<KselftestCase>() == 16);

/// Does nothing; the value is [`PING_MAGIC`].
pub(crate) const KC_PING: u32 = 0;
/// `Box` honours alignments of 64 and 4096 bytes, also across `Vec` growth.
pub(crate) const KC_MALLOC_ALIGN: u32 = 1;
/// An alignment of 8192 bytes fails with `ENOMEM`.
pub(crate) const KC_MALLOC_ALIGN_TOO_BIG: u32 = 2;
/// Growing a `Vec<u8>` with `M_ZERO` zeroes the grown tail; the buffer is
/// kept by the open file, its address is the value.
pub(crate) const KC_REALLOC_ZERO: u32 = 3;
/// Under fault injection, `Vec` growth fails with `ENOMEM`, contents intact.
pub(crate) const KC_VEC_FAULT: u32 = 4;
/// Under fault injection, `String` growth, `fmt::Write` and `try_format!`
/// fail, contents intact.
pub(crate) const KC_STRING_FAULT: u32 = 5;
/// Under fault injection, `Arc`/`Box` creation fails with `ENOMEM` and
/// drops the value exactly once.
pub(crate) const KC_ARC_FAULT: u32 = 6;
/// Holds the `sx` lock until the waiter of the same round has tried it.
pub(crate) const KC_SX_HOLD: u32 = 7;
/// Waits for the `sx` lock that the holder of the same round holds.
pub(crate) const KC_SX_WAIT: u32 = 8;
/// [`KC_SX_HOLD`] for the mutex.
pub(crate) const KC_MTX_HOLD: u32 = 9;
/// [`KC_SX_WAIT`] for the mutex.
pub(crate) const KC_MTX_WAIT: u32 = 10;
/// One pass through the critical section under the `sx` lock.
pub(crate) const KC_SX_CRIT: u32 = 11;
/// One pass through the critical section under the mutex.
pub(crate) const KC_MTX_CRIT: u32 = 12;
/// Registering a second `/dev/kselftest` fails with `EEXIST`.
pub(crate) const KC_REGISTER_DUP: u32 = 13;
/// `IoctlData` refuses types whose size is not the command's.
pub(crate) const KC_IOCTL_SIZE: u32 = 14;
/// Panics on purpose.
pub(crate) const KC_PANIC: u32 = 15;
/// Prints a line of `kc_value` bytes (default 600).
pub(crate) const KC_PRINT_LONG: u32 = 16;
/// `LockedBy` gives access under its owner's guard only, and
/// `access_with_owner` hands out both; the value is what it read.
pub(crate) const KC_LOCKED_BY: u32 = 17;
/// `File::open` finds the per-open value of the calling file (twice the
/// same); the value is that file's serial number, given at open.
pub(crate) const KC_FILE_OPEN: u32 = 18;
/// A `Callout` scheduled in `kc_value` ms, then dropped (drained); a
/// `Task` enqueued, then dropped (drained, after it ran). The value is the
/// times the task ran (1).
pub(crate) const KC_DEFER_DROP: u32 = 19;
/// A `Callout` scheduled in `kc_value` ms, then leaked with `mem::forget`:
/// the forgotten drain the test kernel must report at unload.
pub(crate) const KC_CALLOUT_FORGET: u32 = 20;
/// The device mutex taken and its guard leaked with `mem::forget` (safe
/// code can leak): the call returns to user space with the mutex held,
/// which the test kernel reports naming the line that took it. Value 0.
pub(crate) const KC_MTX_LEAK: u32 = 21;
/// A `QueueTask` on a `TaskQueue<Fast>` and one on a
/// `TaskQueue<Sleeping>` (their handlers allocate with `M_WAITOK`), and a
/// `FastTask` on `taskqueue_fast`, each enqueued and drained; the queues
/// go with their last task. The value is the runs (3).
pub(crate) const KC_QUEUES: u32 = 40;
/// A `TaskQueue` leaked with `mem::forget`: the queue (and its thread)
/// the test kernel must report at unload. Value 0.
pub(crate) const KC_QUEUE_FORGET: u32 = 41;
/// Two locks and a task initialised in place, then an `M_NOWAIT`
/// allocation that fails (under fault injection): the value is how many
/// of the locks' data were dropped (2), the locks destroyed with them.
pub(crate) const KC_INIT_FAULT: u32 = 22;

/// The value of [`KC_PING`].
pub(crate) const PING_MAGIC: u64 = 0x6b73_656c_6674_7374;
