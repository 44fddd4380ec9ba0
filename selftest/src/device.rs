// SPDX-License-Identifier: BSD-2-Clause
//! `/dev/kselftest`: the device-wide state the lock cases share, the
//! per-open state, and the ioctl handler that runs a case.

use crate::abi::{KSELFTEST_RUN, KSELFTEST_SHORT, KselftestCase};
use crate::cases;
use core::ffi::CStr;
use core::pin::Pin;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kern::alloc::{Box, Vec};
use kern::cdev::{CharacterDevice, File, OpenFlags};
use kern::ioctl::{IoctlCmd, IoctlData};
use kern::prelude::*;
use kern::sync::{LockedBy, Mutex, SxLock};

/// Bookkeeping of one critical section, kept outside its lock so that a
/// thread can see whether another one is inside.
pub(crate) struct Section {
    /// Threads inside the critical section now: at most 1 if the lock
    /// excludes.
    inside: AtomicU32,
    /// The round whose holder has the lock (lock handoff cases).
    pub(crate) holder: AtomicU64,
    /// The round whose waiter has tried the lock and is about to wait.
    pub(crate) waiter: AtomicU64,
}

impl Section {
    const fn new() -> Self {
        Self {
            inside: AtomicU32::new(0),
            holder: AtomicU64::new(0),
            waiter: AtomicU64::new(0),
        }
    }

    /// Enters the critical section, which must be empty.
    ///
    /// # Errors
    /// `EBUSY` if another thread is inside: the lock did not exclude.
    pub(crate) fn enter(&self) -> Result<Inside<'_>> {
        let before = self.inside.fetch_add(1, Ordering::AcqRel);
        let inside = Inside { section: self };
        if before == 0 { Ok(inside) } else { Err(EBUSY) }
    }
}

/// A thread inside a [`Section`]; leaves it when dropped.
pub(crate) struct Inside<'a> {
    section: &'a Section,
}

impl Inside<'_> {
    /// Whether this thread is still the only one inside.
    pub(crate) fn alone(&self) -> bool {
        self.section.inside.load(Ordering::Acquire) == 1
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.section.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The device-wide state: the two locks the lock cases contend on, each
/// protecting a counter, and their bookkeeping.
pub(crate) struct SelfTest {
    /// The `sx(9)` lock and the counter it protects.
    pub(crate) sx: Pin<Box<SxLock<u64>>>,
    /// Who is inside the `sx` critical section.
    pub(crate) sx_section: Section,
    /// The `mtx(9)` mutex and the counter it protects.
    pub(crate) mtx: Pin<Box<Mutex<u64>>>,
    /// Who is inside the mutex critical section.
    pub(crate) mtx_section: Section,
}

impl SelfTest {
    /// Allocates the locks (at load, which may sleep: `M_WAITOK`, which
    /// cannot fail).
    pub(crate) fn new(cx: &mut Sleepable) -> Self {
        Self {
            sx: SxLock::new(c"kselftest sx", 0, cx.waitok()),
            sx_section: Section::new(),
            mtx: Mutex::new(c"kselftest mtx", 0, cx.waitok()),
            mtx_section: Section::new(),
        }
    }
}

/// The per-open state: a buffer a case may leave for the harness to
/// inspect (freed at the last close), and what the `LockedBy` and `File`
/// cases check.
pub(crate) struct OpenFile {
    /// The buffer of [`KC_REALLOC_ZERO`](crate::abi::KC_REALLOC_ZERO).
    pub(crate) kept: Pin<Box<Mutex<Option<Vec<u8>>>>>,
    /// This file's serial number: opens are numbered from 1 on.
    pub(crate) serial: u64,
    /// Under the device's mutex (not `kept`'s):
    /// [`KC_LOCKED_BY`](crate::abi::KC_LOCKED_BY) bumps it with the
    /// device's counter.
    pub(crate) seen: LockedBy<u64, u64>,
}

/// The serial number of the last open.
static OPENS: AtomicU64 = AtomicU64::new(0);

#[kern::vtable]
impl CharacterDevice for SelfTest {
    const NAME: &'static CStr = c"kselftest";
    type Open = OpenFile;

    fn open(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result<OpenFile> {
        Ok(OpenFile {
            kept: Mutex::try_new(c"kselftest open", None, M_NOWAIT)?,
            serial: OPENS.fetch_add(1, Ordering::Relaxed).wrapping_add(1),
            seen: LockedBy::new(&self.mtx, 0),
        })
    }

    /// `KSELFTEST_RUN` runs `kc_case` and stores its result and value;
    /// `KSELFTEST_SHORT` reads more than its parameter holds.
    ///
    /// # Errors
    /// `EINVAL` for an unknown case (and from `KSELFTEST_SHORT`);
    /// `ENOIOCTL` for an unknown command.
    fn ioctl(
        &self,
        file: &File<'_, Self>,
        cmd: IoctlCmd,
        data: &mut IoctlData<'_>,
        cx: &mut Sleepable,
    ) -> Result {
        match cmd {
            KSELFTEST_RUN => {
                let mut case: KselftestCase = data.read()?;
                let outcome = cases::run(self, file, &case, data, cx)?;
                crate::count_case();
                case.kc_result = kern::error::to_ret(outcome.map(drop));
                case.kc_value = outcome.unwrap_or(0);
                data.write(&case)
            }
            // The parameter is a uint32_t: reading a kselftest_case must
            // fail with EINVAL before a byte beyond it is touched.
            KSELFTEST_SHORT => data.read::<KselftestCase>().map(drop),
            _ => Err(ENOIOCTL),
        }
    }
}
