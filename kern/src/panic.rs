// SPDX-License-Identifier: BSD-2-Clause
//! The panic handler: a Rust panic in a module is a kernel panic.
//!
//! C header: `sys/sys/systm.h`. Manual page: `panic(9)`.
//!
//! The message and location are formatted into a static buffer (the stack
//! of a panicking thread may be nearly exhausted) and passed to `panic(9)`,
//! which does not return. A second CPU panicking at the same time finds the
//! buffer taken and panics with a fixed message. `kern` and module crates
//! deny `unwrap`, `expect`, `panic!` and unchecked indexing, so no panic
//! should be reachable; this handler is the last line of defence.

use core::cell::UnsafeCell;
use core::fmt::{self, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

const MSG_MAX: usize = 512;

/// The static message buffer; `TAKEN` guards it.
struct MessageBuffer(UnsafeCell<[u8; MSG_MAX]>);

// SAFETY: only the one thread that sets `TAKEN` from false to true ever
// accesses the buffer, and it never returns (panic(9) does not).
unsafe impl Sync for MessageBuffer {}

static BUFFER: MessageBuffer = MessageBuffer(UnsafeCell::new([0; MSG_MAX]));
static TAKEN: AtomicBool = AtomicBool::new(false);

struct Cursor<'a> {
    buf: &'a mut [u8; MSG_MAX],
    len: usize,
}

impl Cursor<'_> {
    /// Appends `bytes`, truncated to keep one byte for the NUL.
    fn push(&mut self, bytes: &[u8]) {
        let room = MSG_MAX.saturating_sub(1).saturating_sub(self.len);
        let n = room.min(bytes.len());
        let end = self.len.saturating_add(n);
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            // A zipped copy instead of copy_from_slice: no length-mismatch
            // panic can be reached from the panic handler.
            for (d, b) in dst.iter_mut().zip(bytes) {
                *d = *b;
            }
        }
        self.len = end;
    }
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if TAKEN.swap(true, Ordering::AcqRel) {
        // SAFETY: a constant NUL-terminated format without conversions.
        unsafe { sys::panic(c"rust: panic while panicking".as_ptr()) }
    }
    // SAFETY: this thread set TAKEN, so it has exclusive access to the
    // buffer (see `MessageBuffer`), for the rest of its life.
    let buf = unsafe { &mut *BUFFER.0.get() };
    let mut cursor = Cursor { buf, len: 0 };
    // `Cursor` never fails; a failing `Display` only shortens the message.
    write!(cursor, "rust: {}", info.message()).unwrap_or(());
    if let Some(loc) = info.location() {
        // The numbers in kern's own decimal, not `<u32 as Display>::fmt`:
        // rustc's precompiled `core::fmt` writes x18, the per-CPU pointer
        // of FreeBSD/arm64 (docs/arm64.md).
        let mut line = [0; 20];
        let mut column = [0; 20];
        for piece in [
            " at ".as_bytes(),
            loc.file().as_bytes(),
            b":",
            crate::print::decimal(u64::from(loc.line()), &mut line),
            b":",
            crate::print::decimal(u64::from(loc.column()), &mut column),
        ] {
            cursor.push(piece);
        }
    }
    let end = cursor.len;
    if let Some(nul) = cursor.buf.get_mut(end) {
        *nul = 0;
    }
    // SAFETY: "%s" with a NUL-terminated buffer (written just above, within
    // bounds) that stays valid forever; panic(9) does not return.
    unsafe { sys::panic(c"%s".as_ptr(), cursor.buf.as_ptr()) }
}
