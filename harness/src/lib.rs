// SPDX-License-Identifier: BSD-2-Clause
//! The project's userspace FreeBSD test kernel.
//!
//! It loads the real `.ko` files the build produces (the same bytes a user
//! would `kldload`), links them as FreeBSD's kernel linker does
//! (`sys/kern/link_elf_obj.c`, `sys/kern/kern_linker.c`), runs their code
//! natively on x86-64 Linux, and emulates the kernel interfaces they may
//! use (`sys/kernel-symbols.txt`) with FreeBSD's semantics, plus checks
//! FreeBSD only has with `INVARIANTS`/`WITNESS` and fault injection.
//!
//! ```no_run
//! use harness::{Kernel, O_RDWR};
//!
//! let k = Kernel::new();
//! let id = k.kldload(harness::testing::module_path("hello")).unwrap();
//! assert!(k.dmesg().contains("hello: Hello from Rust"));
//! k.kldunload(id, false).unwrap();
//! # let _ = O_RDWR;
//! ```
//!
//! Layout: [`loader`] (the linker), `kpi` (one module per emulated
//! subsystem: `malloc`, `devfs`, `uio`, `lock`, `sysctl`, `printf`,
//! `libkern`, `module`, `kdata`), `vfs` (file descriptors on devices),
//! [`user`] (credentials and user memory), `thread` (`curthread`, `%gs`,
//! entering module code), [`sim`] (the `kldsim` shell), [`testing`]
//! (finding built modules, patching copies for negative tests). The C
//! half is `csrc/harness.c`. Test modules, written in C like FreeBSD's
//! own examples, are in `testmods/kldtest_*` and are built by
//! `cargo xtask build` with every other module.
//!
//! Where `unsafe` lives: mapping and protecting memory (`lowmem`), calling
//! module code and reading the structures it hands over (every `kpi`
//! file), all with `SAFETY` comments. A panic in the harness is a failed
//! test, so `unwrap`/`expect`/`panic!` and printing are allowed here.
#![allow(
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "userspace test crate: a panic is a failed test, and kldsim prints"
)]

pub mod errno;
pub(crate) mod kernel;
pub mod kpi;
pub mod loader;
pub(crate) mod lowmem;
pub mod sim;
pub mod testing;
pub(crate) mod thread;
pub mod user;
pub(crate) mod vfs;

pub use errno::{Errno, Error, SysResult};
pub use kernel::{Config, Kernel, Violation, ViolationKind};
pub use kpi::devfs::DevEntry;
pub use kpi::emulated_symbols;
pub use kpi::malloc::{FailPolicy, MallocStats};
pub use kpi::sysctl::SysctlValue;
pub use kpi::uio::UioStats;
pub use loader::{KERNEL_VERSION, KldStat, KldTarget};
pub use user::{Cred, UserBuf};
pub use vfs::Whence;

/// `open(2)` flags (FreeBSD's values).
pub const O_RDONLY: u32 = sys::O_RDONLY;
/// `O_WRONLY`
pub const O_WRONLY: u32 = sys::O_WRONLY;
/// `O_RDWR`
pub const O_RDWR: u32 = sys::O_RDWR;
/// `O_NONBLOCK`
pub const O_NONBLOCK: u32 = sys::O_NONBLOCK;

/// Raw FreeBSD constants and layouts, for tests that build ioctl
/// arguments.
pub use sys as freebsd;
/// The ioctl command encoding of `sys/sys/ioccom.h`.
pub use sys::ioccom;

/// The printf(9) formatter, for tests: formats with one `i64`/pointer
/// argument list given as C varargs by the caller.
#[doc(hidden)]
pub mod format {
    pub use crate::kpi::printf::format_test::harness_test_format;
}
