// SPDX-License-Identifier: BSD-2-Clause
//! `kolink`: the post-link tool for FreeBSD kernel modules built with this
//! framework.
//!
//! A module is linked with `ld.lld -r` from a Rust staticlib (built for
//! `x86_64-unknown-none`, code model `kernel`) and a small C shim. The result
//! is an `ET_REL` x86-64 object that FreeBSD's kernel linker
//! (`sys/kern/link_elf_obj.c`, `sys/amd64/amd64/elf_machdep.c`) cannot load
//! yet. This crate, and the `kolink` binary built from it, close the gap and
//! check the result:
//!
//! * [`fix`](fix::fix) removes GOT-relative relocations left by the
//!   precompiled `core`/`compiler_builtins` ([`got`]) and makes every defined
//!   symbol local as `sys/conf/kmod.mk` does ([`localize`]).
//! * [`check`](check::check) verifies a finished `.ko` as FreeBSD 15's
//!   kernel linker would judge it: relocation types and targets, section
//!   alignment, writable SYSINIT sets, one constructor and one destructor
//!   section, the undefined symbols that loading resolves against an
//!   [`Allowlist`] ([`symbols`]), no FPU/SIMD instructions ([`fpu`]), no
//!   TLS, and module metadata with a `kernel` dependency ([`metadata`]).
//! * [`size`](size::size) measures text/rodata/data/bss and counts kernel
//!   symbols.
//! * [`panic_paths`] builds the [`CallGraph`] of a `.ko` ([`callgraph`])
//!   and reports every path from the module's entry points (event handler,
//!   `cdevsw` methods, other address-taken functions) to the panic
//!   machinery ([`reach`]); the result is conservative.
//!
//! The metadata parser ([`metadata::parse_metadata`]) and the undefined
//! symbol list ([`symbols::undefined_symbols`]) are public for tools that
//! want the details. The test kernel (`harness/`) does not use this crate:
//! it reads a module's metadata and symbols from the relocated image, as
//! FreeBSD's kernel linker does (`harness/src/loader/linker.rs`), so it
//! checks what `kolink` produced independently of `kolink`'s own reading.
//!
//! # Examples
//!
//! ```no_run
//! use kolink::{Allowlist, FixOptions};
//! use std::path::Path;
//!
//! // Build driver: fix, then gate on every check.
//! let report = kolink::fix_file(Path::new("echo.lo"), Path::new("echo.ko"))?;
//! println!("{report}");
//! kolink::check_file(Path::new("echo.ko"), Path::new("sys/kernel-symbols.txt"))?;
//! print!("{}", kolink::size_table(&["echo.ko"])?);
//!
//! // Tools that want the details.
//! let allow = Allowlist::from_file(Path::new("sys/kernel-symbols.txt"))?;
//! let checked = kolink::check_report_file(Path::new("echo.ko"), &allow)?;
//! for failure in &checked.failures {
//!     eprintln!("{failure}");
//! }
//! let no_relax = kolink::fix_file_with(Path::new("a.lo"), Path::new("a.ko"), &FixOptions { relax: false, ..FixOptions::default() })?;
//! # let _ = no_relax;
//! # Ok::<(), kolink::Error>(())
//! ```
//!
//! No `unsafe` code: the crate is `#![forbid(unsafe_code)]` (via its lint
//! table).

pub mod allowlist;
pub mod arm64;
pub mod callgraph;
pub mod check;
mod elf;
pub mod error;
pub mod failure;
pub mod fix;
pub mod fpu;
pub mod got;
pub mod hint;
pub mod linker_set;
pub mod localize;
pub mod metadata;
pub mod names;
pub mod peers;
pub mod reach;
pub mod reloc;
pub mod size;
pub mod symbols;

pub use allowlist::{Allowlist, AllowlistEntry};
pub use callgraph::CallGraph;
pub use check::{CheckReport, check, check_file, check_report_file};
pub use error::{Error, Result};
pub use failure::{Failure, Finding};
pub use fix::{FixOptions, FixReport, Fixed, fix, fix_file, fix_file_with};
pub use got::GotReport;
pub use localize::LocalizeReport;
pub use metadata::{
    ModuleDecl, ModuleDepend, ModuleMetadata, ModuleVersion, parse_metadata, parse_metadata_file,
};
pub use reach::{
    ClassSummary, EntryClass, EntryReport, ReachOptions, ReachReport, panic_paths, panic_paths_file,
};
pub use size::{SizeReport, format_table, size, size_file, size_table};
pub use symbols::{LinkSetBound, UndefinedSymbol, kernel_symbols, undefined_symbols};
