// SPDX-License-Identifier: BSD-2-Clause
//! `/dev/kselftest_null` (0666): a device without per-open state. Its
//! impl names neither `type Open` nor `open` (`#[kern::vtable]` fills
//! them in), so kern allocates nothing per open and counts its files with
//! a `D_TRACKCLOSE` `d_close`; its `close` runs on the last close of the
//! device only, and counts it in `hw.kselftest.last_closes`.

use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, Ordering};
use kern::cdev::{CharacterDevice, OpenFlags};
use kern::prelude::*;

/// `hw.kselftest.last_closes`: last closes of `/dev/kselftest_null`.
pub(crate) static LAST_CLOSES: AtomicU64 = AtomicU64::new(0);

/// The device: no state at all.
pub(crate) struct NullDev;

#[kern::vtable]
impl CharacterDevice for NullDev {
    const NAME: &'static CStr = c"kselftest_null";

    /// The last close of the device (no other file of it open).
    fn close(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result {
        LAST_CLOSES.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
