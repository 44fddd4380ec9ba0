// SPDX-License-Identifier: BSD-2-Clause
//! printf(9), log(9), uprintf(9), panic(9): the kernel message buffer and
//! the process terminal.
//!
//! The entry points themselves are C (`csrc/harness.c`: `printf`,
//! `vprintf`, `uprintf`, `log`, `snprintf`, `panic`,
//! `__stack_chk_fail`), which format with printf(9)'s conversions and
//! hand the text over here. `printf` and `log` append to the message
//! buffer that `dmesg` shows (`log` also goes to the console when no one
//! reads the log device, `vlog` in `sys/kern/subr_prf.c`); `uprintf`
//! writes to the calling process's terminal. `panic` records the message,
//! marks the kernel dead and the C side unwinds out of module code.

use super::current;
use core::ffi::{c_char, c_int};

/// The text C handed over.
///
/// # Safety
/// `buf` must point to `len` readable bytes (or `len` be 0).
unsafe fn text<'a>(buf: *const c_char, len: usize) -> std::borrow::Cow<'a, str> {
    if len == 0 || buf.is_null() {
        return std::borrow::Cow::Borrowed("");
    }
    // SAFETY: by the caller's contract.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    String::from_utf8_lossy(bytes)
}

/// Output of printf(9) (`kind` 0), uprintf(9) (1) or log(9) (2).
///
/// # Safety
/// `buf` must point to `len` readable bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_output(kind: c_int, level: c_int, buf: *const c_char, len: usize) {
    let Some(k) = current() else {
        return;
    };
    // SAFETY: forwarded from the C caller.
    let s = unsafe { text(buf, len) };
    match kind {
        1 => k.core.tty_write(&s),
        2 => k.core.log(level, &s),
        _ => k.core.console(&s),
    }
}

/// panic(9): records the message; the C caller then unwinds.
///
/// # Safety
/// `msg` must point to `len` readable bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_panic(msg: *const c_char, len: usize) {
    // SAFETY: forwarded from the C caller.
    let s = unsafe { text(msg, len) };
    match current() {
        Some(k) => k.core.record_panic(&s),
        None => {
            eprintln!("panic outside module code: {s}");
            std::process::abort();
        }
    }
}
