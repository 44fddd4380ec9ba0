// SPDX-License-Identifier: BSD-2-Clause
//! The error type of every fallible `kolink` operation.
//!
//! Errors describe why a file cannot be processed at all (it is not an x86-64
//! relocatable ELF object, it is truncated, it uses a construct `fix` cannot
//! make loadable, an allowlist line is malformed). Problems that `check` finds
//! in a well-formed object are not errors: they are collected as
//! [`Failure`]s so that all of them can be reported.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::failure::Failure;

/// Why a `kolink` operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The input is not an ELF file of the kind a FreeBSD amd64 kernel module
    /// is (64-bit, little-endian, `EM_X86_64`, `ET_REL`), or it is malformed.
    Format(String),
    /// The object uses a construct that `kolink fix` cannot rewrite into a
    /// form the kernel linker accepts (for example a large-code-model GOT
    /// relocation).
    Unsupported(String),
    /// A line of a symbol allowlist is malformed.
    Allowlist {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// The module metadata (`set_modmetadata_set`) could not be decoded.
    Metadata(String),
    /// An analysis option is invalid (for example an unknown entry class in
    /// `panic-paths --entry CLASS=PATTERN`).
    Options(String),
    /// A `.ko` failed [`check_file`](crate::check::check_file); every
    /// failure is listed.
    Check {
        /// The failures, in the order the checks found them.
        failures: Vec<Failure>,
    },
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Format(msg) => write!(f, "malformed or unsupported ELF object: {msg}"),
            Self::Unsupported(msg) => write!(f, "cannot make the object loadable: {msg}"),
            Self::Allowlist { line, message } => write!(f, "allowlist line {line}: {message}"),
            Self::Metadata(msg) => write!(f, "module metadata: {msg}"),
            Self::Options(msg) => write!(f, "invalid option: {msg}"),
            Self::Check { failures } => {
                write!(f, "{} problem(s)", failures.len())?;
                for failure in failures {
                    write!(f, "\n  {failure}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<object::read::Error> for Error {
    fn from(err: object::read::Error) -> Self {
        Self::Format(err.to_string())
    }
}

impl From<object::build::Error> for Error {
    fn from(err: object::build::Error) -> Self {
        Self::Format(err.to_string())
    }
}
