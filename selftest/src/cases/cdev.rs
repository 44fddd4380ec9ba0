// SPDX-License-Identifier: BSD-2-Clause
//! `kern::cdev` and `kern::ioctl`: a duplicate device name, and the size
//! check of the ioctl data.

use super::{errno_value, fail};
use crate::abi::KselftestCase;
use crate::device::SelfTest;
use core::ffi::CStr;
use kern::cdev::{CdevOptions, CharacterDevice, File, GID_WHEEL, Registration, UID_ROOT};
use kern::ioctl::IoctlData;
use kern::prelude::*;

/// A device that only exists to be refused.
struct Duplicate;

#[kern::vtable]
impl CharacterDevice for Duplicate {
    const NAME: &'static CStr = c"kselftest_dup";
}

/// Rule (`kern::cdev::Registration::register`): registering a device
/// under a name that is taken fails with `EEXIST` (`MAKEDEV_CHECKNAME`,
/// rather than a kernel panic), frees what it allocated, and leaves the
/// device that has the name working (the harness uses it afterwards).
///
/// The value is the errno: `EEXIST`.
pub(super) fn register_dup(cx: &mut Sleepable) -> Result<u64> {
    const CASE: &str = "register_dup";
    let options = CdevOptions::new(0o600, UID_ROOT, GID_WHEEL).with_node(c"kselftest");
    match Registration::register(&options, Duplicate, cx) {
        Err(e) if e == EEXIST => Ok(errno_value(e)),
        Err(e) => fail(CASE, "not EEXIST", e),
        Ok(dup) => {
            // Destroying another device from this one's method is allowed.
            drop(dup);
            fail(CASE, "a second /dev/kselftest was created", EINVAL)
        }
    }
}

/// Rule (`kern::ioctl::IoctlData`): reading or writing a type whose size is
/// not the command's `IOCPARM_LEN` fails with `EINVAL` and touches nothing;
/// the right type works. Run on `KSELFTEST_RUN`'s 16-byte buffer.
///
/// The value is the number of refused accesses: 4.
pub(super) fn ioctl_size(data: &mut IoctlData<'_>) -> Result<u64> {
    const CASE: &str = "ioctl_size";
    if data.len() != size_of::<KselftestCase>() {
        return fail(CASE, "unexpected IOCPARM_LEN", EINVAL);
    }
    let before: KselftestCase = data.read()?;
    let refused = [
        data.read::<u32>().err(),
        data.read::<[u8; 32]>().err(),
        data.write(&0u64).err(),
        data.write(&[0xffu8; 17]).err(),
    ];
    let mut count = 0u64;
    for e in refused {
        match e {
            Some(e) if e == EINVAL => count = count.wrapping_add(1),
            Some(e) => return fail(CASE, "refused with another errno", e),
            None => return fail(CASE, "an access of the wrong size succeeded", EFAULT),
        }
    }
    let after: KselftestCase = data.read()?;
    if after.kc_case != before.kc_case || after.kc_value != before.kc_value {
        return fail(CASE, "a refused write changed the buffer", EIO);
    }
    Ok(count)
}

/// Rule (`kern::cdev::File::open`): the per-open value a method finds is
/// the one `open` returned for the calling file, the same on every call.
///
/// The value is the file's serial number (given at open, from 1 on), which
/// the harness compares across files.
pub(super) fn file_open(file: &File<'_, SelfTest>) -> Result<u64> {
    const CASE: &str = "file_open";
    let first = file.open()?;
    let again = file.open()?;
    if !core::ptr::eq(first, again) {
        return fail(CASE, "two lookups found two values", EIO);
    }
    Ok(first.serial)
}
