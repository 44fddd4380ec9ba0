// SPDX-License-Identifier: BSD-2-Clause
//! The cases: each is a small function that checks one kern rule and
//! returns `Ok(value)` if it held, or the errno it failed with. A failing
//! case also prints why, so the harness's dmesg says.
//!
//! * `malloc`: alignment, and the zeroed tail of a grown block.
//! * `collections`: `Vec`, `String`, `Arc` and `Box` under allocation
//!   failure.
//! * `locks`: mutual exclusion of `SxLock` and `Mutex` between threads;
//!   `LockedBy` checks its owner.
//! * `cdev`: a duplicate device name; the ioctl data size check; the
//!   per-open value a `File` finds.
//! * `print`: a line longer than `println!`'s chunk.
//! * `panic`: the panic handler.
//! * `defer`: callouts and tasks are drained when dropped; a leaked
//!   callout stays scheduled (for the test kernel to report).
//! * `queues`: tasks on queues of the module's own and on
//!   `taskqueue_fast`; a leaked queue (for the test kernel to report).
//! * `init`: an in-place initialisation that fails part-way undoes
//!   what it did.

mod cdev;
mod collections;
mod defer;
mod init;
mod locks;
mod malloc;
mod panic;
mod print;
mod queues;

use crate::abi::{self, KselftestCase};
use crate::device::SelfTest;
use kern::cdev::File;
use kern::ioctl::IoctlData;
use kern::prelude::*;

/// Runs `case.kc_case` with the argument `case.kc_value`.
///
/// # Errors
/// `EINVAL` (for the ioctl itself) if there is no such case; otherwise the
/// inner result is the case's.
pub(crate) fn run(
    dev: &SelfTest,
    file: &File<'_, SelfTest>,
    case: &KselftestCase,
    data: &mut IoctlData<'_>,
    cx: &mut Sleepable,
) -> Result<Result<u64>> {
    let arg = case.kc_value;
    let outcome = match case.kc_case {
        abi::KC_PING => Ok(abi::PING_MAGIC),
        abi::KC_MALLOC_ALIGN => malloc::align(cx),
        abi::KC_MALLOC_ALIGN_TOO_BIG => malloc::align_too_big(cx),
        abi::KC_REALLOC_ZERO => file.open().and_then(|open| malloc::realloc_zero(open, cx)),
        abi::KC_VEC_FAULT => collections::vec_fault(cx),
        abi::KC_STRING_FAULT => collections::string_fault(cx),
        abi::KC_ARC_FAULT => collections::arc_fault(cx),
        abi::KC_SX_HOLD => locks::sx_hold(dev, arg, cx),
        abi::KC_SX_WAIT => locks::sx_wait(dev, arg, cx),
        abi::KC_MTX_HOLD => locks::mtx_hold(dev, arg, cx),
        abi::KC_MTX_WAIT => locks::mtx_wait(dev, arg, cx),
        abi::KC_SX_CRIT => locks::sx_crit(dev, cx),
        abi::KC_MTX_CRIT => locks::mtx_crit(dev, cx),
        abi::KC_REGISTER_DUP => cdev::register_dup(cx),
        abi::KC_IOCTL_SIZE => cdev::ioctl_size(data),
        abi::KC_PANIC => panic::panic_on_purpose(case.kc_case),
        abi::KC_PRINT_LONG => print::long_line(arg),
        abi::KC_LOCKED_BY => locks::locked_by(dev, file, cx),
        abi::KC_FILE_OPEN => cdev::file_open(file),
        abi::KC_DEFER_DROP => defer::drop_drains(arg, cx),
        abi::KC_CALLOUT_FORGET => defer::forget_callout(arg, cx),
        abi::KC_MTX_LEAK => Ok(locks::mtx_leak(dev, cx)),
        abi::KC_QUEUES => queues::queues(cx),
        abi::KC_QUEUE_FORGET => queues::forget_queue(cx),
        abi::KC_INIT_FAULT => init::init_fault(cx),
        _ => return Err(EINVAL),
    };
    if let Err(e) = outcome {
        println!("case {} failed: {:?}", case.kc_case, e);
    }
    Ok(outcome)
}

/// Fails the case with `e`, after printing why.
fn fail<T>(case: &str, why: &str, e: Error) -> Result<T> {
    println!("{}: {}", case, why);
    Err(e)
}

/// An errno as the `kc_value` of a case.
fn errno_value(e: Error) -> u64 {
    u64::from(e.to_errno().unsigned_abs())
}
