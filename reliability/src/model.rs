// SPDX-License-Identifier: BSD-2-Clause
//! A model of `/dev/rustmodule`, and a runner that applies the same steps
//! to the model and to the real module, comparing every result.
//!
//! The model is `rustecho(4)` as written down, not the driver's code: the
//! current message and its generation, `hw.rustecho.maxlen`, the eight
//! counters, and per open file its access mode, file offset, snapshot and
//! where its last read ended. Buffer reuse (the spare) is not modelled: a
//! write may allocate or not, so under "fail the next allocation" a write
//! may succeed or fail with `ENOMEM`, and the model accepts both. An open
//! always allocates its record, so it must fail.
//!
//! Semantics checked (the manual page's):
//! - a write of the bytes of one call (all iovecs) replaces the message;
//!   longer than `maxlen`: `EFBIG`; a fault: `EFAULT`; no memory:
//!   `ENOMEM`; each failure changes nothing but its counter (and the file
//!   offset by the iovecs moved before the fault, as `uiomove(9)` leaves
//!   it); zero bytes: the empty message;
//! - a read at offset 0, or a file's first read, takes the current message
//!   as the file's snapshot; other offsets read the snapshot; a negative
//!   offset is `EINVAL`; past the end, 0;
//! - `FIONREAD`: the snapshot's bytes after where the last read ended, or
//!   the current length before any read; `RUSTECHO_GETINFO`; `RUSTECHO_CLEAR`
//!   (`EBADF` unless open for writing); `FIONBIO`; `FIOASYNC` (`EINVAL`
//!   unless 0); anything else `ENOTTY`;
//! - `maxlen` accepts 1 to 16 MiB, else `EINVAL`;
//! - the access mode: `EBADF` for a read on a write-only file and the
//!   reverse, and a zero-length read never reaches the driver.

mod runner;

pub use runner::{Runner, abandon};

use crate::device::Counters;
use harness::{O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use std::fmt;
use std::sync::Arc;

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `O_RDONLY`
    Read,
    /// `O_WRONLY`
    Write,
    /// `O_RDWR`
    ReadWrite,
    /// `O_RDWR | O_NONBLOCK`
    NonBlocking,
}

impl Access {
    fn flags(self) -> u32 {
        match self {
            Access::Read => O_RDONLY,
            Access::Write => O_WRONLY,
            Access::ReadWrite => O_RDWR,
            Access::NonBlocking => O_RDWR | O_NONBLOCK,
        }
    }

    fn readable(self) -> bool {
        self != Access::Write
    }

    fn writable(self) -> bool {
        self != Access::Read
    }
}

/// An ioctl command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ioctl {
    /// `FIONREAD`
    Fionread,
    /// `RUSTECHO_GETINFO`
    GetInfo,
    /// `RUSTECHO_CLEAR`
    Clear,
    /// `FIONBIO` with this argument.
    Fionbio(i32),
    /// `FIOASYNC` with this argument.
    Fioasync(i32),
    /// A command the driver does not know.
    Unknown,
}

/// A fault injected into the next operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// None.
    None,
    /// The next `M_NOWAIT` allocation fails.
    Enomem,
    /// Byte `n` of the call's user buffers (across its iovecs) faults.
    Efault(usize),
}

/// One operation. `file` picks an open file (modulo their number); with
/// none open, file operations are skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `open(2)`.
    Open(Access),
    /// `close(2)`.
    Close {
        /// Which file.
        file: usize,
    },
    /// `read(2)` of `len` bytes at the file offset.
    Read {
        /// Which file.
        file: usize,
        /// The buffer's size.
        len: usize,
    },
    /// `pread(2)`.
    Pread {
        /// Which file.
        file: usize,
        /// The offset (may be negative or huge).
        offset: i64,
        /// The buffer's size.
        len: usize,
    },
    /// `readv(2)` at the file offset.
    Readv {
        /// Which file.
        file: usize,
        /// The buffers' sizes.
        lens: Vec<usize>,
    },
    /// `write(2)`.
    Write {
        /// Which file.
        file: usize,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `writev(2)`.
    Writev {
        /// Which file.
        file: usize,
        /// The iovecs.
        chunks: Vec<Vec<u8>>,
    },
    /// `lseek(2)` with `SEEK_SET`.
    Seek {
        /// Which file.
        file: usize,
        /// The new offset.
        offset: i64,
    },
    /// `ioctl(2)`.
    Ioctl {
        /// Which file.
        file: usize,
        /// The command.
        cmd: Ioctl,
    },
    /// `sysctl hw.rustecho.maxlen=VALUE`.
    SetMaxlen(u64),
}

/// An operation and the fault injected into it.
#[derive(Clone, PartialEq, Eq)]
pub struct Step {
    /// The operation.
    pub op: Op,
    /// The fault.
    pub fault: Fault,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Long byte vectors are shown by length and first bytes, so a
        // shrunk case stays readable.
        let short = |d: &[u8]| format!("{} bytes {:?}", d.len(), &d[..d.len().min(4)]);
        let op = match &self.op {
            Op::Write { file, data } => format!("Write {{ file: {file}, data: {} }}", short(data)),
            Op::Writev { file, chunks } => format!(
                "Writev {{ file: {file}, chunks: [{}] }}",
                chunks
                    .iter()
                    .map(|c| short(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("{other:?}"),
        };
        match self.fault {
            Fault::None => write!(f, "{op}"),
            fault => write!(f, "{op} with {fault:?}"),
        }
    }
}

/// An open file, in the model.
#[derive(Clone, Debug)]
struct File {
    fd: i32,
    access: Access,
    offset: i64,
    snapshot: Option<Arc<Vec<u8>>>,
    end: usize,
}

impl File {
    /// Moves the file offset as `uiomove(9)` does (wrapping, as C with
    /// `-fwrapv`).
    fn advance(&mut self, n: i64) {
        self.offset = self.offset.wrapping_add(n);
    }
}

/// The device, as `rustecho(4)` describes it.
#[derive(Clone, Debug)]
pub struct Model {
    message: Arc<Vec<u8>>,
    generation: u64,
    maxlen: u64,
    counters: Counters,
    files: Vec<File>,
}

impl Model {
    /// The device after load.
    #[must_use]
    pub fn new() -> Self {
        Self {
            message: Arc::new(echo_testkit::DEFAULT_MESSAGE.to_vec()),
            generation: 0,
            maxlen: echo_testkit::DEFAULT_MAXLEN,
            counters: Counters::default(),
            files: Vec::new(),
        }
    }

    fn count(&mut self, name: &str, n: usize) {
        self.counters = self.counters.plus(name, n as u64);
    }

    fn publish(&mut self, msg: Vec<u8>) {
        self.message = Arc::new(msg);
        self.generation += 1;
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}
