// SPDX-License-Identifier: BSD-2-Clause
//! kern's panic handler.

/// Rule (kern's panic handler, `kern/src/panic.rs`): a Rust panic in a
/// module is a kernel panic, `panic(9)` with the message
/// `rust: <message> at <file>:<line>:<column>`; it never returns.
///
/// The only `panic!` of this crate.
#[allow(clippy::panic, reason = "tests the panic handler")]
pub(super) fn panic_on_purpose(case: u32) -> ! {
    // `Decimal`: kern's decimal, not `<u32 as Display>::fmt` of rustc's
    // precompiled core, which writes x18 on arm64.
    panic!(
        "kselftest: deliberate panic in case {}",
        kern::print::Decimal(case.into())
    );
}
