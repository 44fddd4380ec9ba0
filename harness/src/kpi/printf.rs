// SPDX-License-Identifier: BSD-2-Clause
//! printf(9), log(9), uprintf(9), panic(9): the kernel message buffer and
//! the process terminal.
//!
//! The formatting is done in C (`csrc/harness.c`, `harness_kvformat`,
//! which implements printf(9)'s conversions including `%b`, `%D` and `%r`
//! as `sys/kern/subr_prf.c`'s `kvprintf` defines them); the formatted text
//! arrives here. `printf` and `log` append to the message buffer that
//! `dmesg` shows (`log` also goes to the console when no one reads the log
//! device, `vlog` in `subr_prf.c`); `uprintf` writes to the calling
//! process's terminal. `panic` records the message, marks the kernel dead
//! and the C side unwinds out of module code.

use crate::thread;
use core::ffi::{c_char, c_int};

/// The message buffer: what `dmesg` shows, bounded like `msgbuf`.
#[derive(Default)]
pub(crate) struct MsgBuf {
    text: String,
    /// `log(9)` records: (priority, text).
    pub(crate) log: Vec<(i32, String)>,
    cap: usize,
}

impl MsgBuf {
    /// A buffer keeping the last `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        MsgBuf {
            text: String::new(),
            log: Vec::new(),
            cap,
        }
    }

    /// Appends text, dropping the oldest lines beyond the capacity.
    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        if self.text.len() > self.cap {
            let excess = self.text.len() - self.cap;
            let cut = self.text[excess..]
                .find('\n')
                .map_or(excess, |i| excess + i + 1);
            let cut = (0..=cut)
                .rev()
                .find(|&i| self.text.is_char_boundary(i))
                .unwrap_or(0);
            self.text.drain(..cut);
        }
    }

    /// The whole buffer.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Empties the buffer (`dmesg -c`).
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.log.clear();
    }
}

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
pub unsafe extern "C" fn harness_rs_output(
    kind: c_int,
    level: c_int,
    buf: *const c_char,
    len: usize,
) {
    let Some(k) = thread::current() else {
        return;
    };
    // SAFETY: forwarded from the C caller.
    let s = unsafe { text(buf, len) };
    match kind {
        1 => k.tty_write(&s),
        2 => {
            let mut m = k
                .msgbuf
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.log.push((level, s.clone().into_owned()));
            m.push(&s);
            drop(m);
            k.echo(&s);
        }
        _ => k.console(&s),
    }
}

/// panic(9): records the message; the C caller then unwinds.
///
/// # Safety
/// `msg` must point to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn harness_rs_panic(msg: *const c_char, len: usize) {
    // SAFETY: forwarded from the C caller.
    let s = unsafe { text(msg, len) };
    match thread::current() {
        Some(k) => k.record_panic(&s),
        None => {
            eprintln!("panic outside module code: {s}");
            std::process::abort();
        }
    }
}

/// The test entry to the C formatter: formats `fmt` with one argument list
/// built by the caller. Only for the harness's own tests.
pub mod format_test {
    use core::ffi::{c_char, c_int};
    unsafe extern "C" {
        /// `snprintf` with printf(9)'s conversions.
        pub fn harness_test_format(buf: *mut c_char, size: usize, fmt: *const c_char, ...)
        -> c_int;
    }
}
