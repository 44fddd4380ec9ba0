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
//! Layout, in layers (each uses only those above it; `cargo xtask
//! module-cycles` checks that no two sibling modules use each other):
//!
//! 1. Foundations, each using only those before it: [`errno`], `addr`
//!    (typed kernel and user addresses), `sync` (the harness's own
//!    mutexes), `lowmem` (memory below 2 GiB), `fault` (the fault
//!    dispatcher and the regions kept inaccessible on purpose), `ksyms`
//!    (names for module code addresses), [`user`] (credentials, and the
//!    user memory a test exposes, which module code cannot dereference),
//!    `state`
//!    (the core every part of a kernel shares: configuration, console,
//!    violations, panic, data block), `thread` (`curthread`, `%gs`,
//!    entering module code, and in `thread::witness` the locks a thread
//!    holds).
//! 2. Subsystems, each with its own state and logic, reporting through
//!    the core: `kpi::malloc`, `kpi::lock`, `kpi::devfs`, `kpi::uio`,
//!    `kpi::sysctl`, `kpi::libkern`, `kpi::clock`, `kpi::sbuf`,
//!    `kpi::firmware`, `kpi::sleep`, `kpi::callout`, `kpi::taskqueue`,
//!    `kpi::select`, `kpi::kqueue`; and [`loader`] (the linker), which
//!    asks the kernel for the few services it needs (`loader::Host`).
//! 3. `kernel`: the kernel that holds one of each ([`Kernel`] is its
//!    handle), its system calls (`open(2)`, `read(2)`, `sysctl(3)`, ...,
//!    with the descriptors in `kernel::vfs`), and the entry points module
//!    code reaches through call stubs (`kernel::entry`), which find their
//!    kernel through the calling thread and dispatch into the subsystems;
//!    and the kernel's own threads (`kernel::workers`: the softclock
//!    thread in `kernel::softclock`, the task queue threads in
//!    `kernel::taskq`).
//! 4. Users of [`Kernel`]: [`sim`] (the `kldsim` shell) and [`testing`]
//!    (finding built modules, patching copies for negative tests).
//!
//! The C half is `csrc/harness.c` (and `csrc/kpi_vararg.c`, the va_list
//! functions of the library and sbuf(9)), with `csrc/kstack.S`, the
//! switches between a thread's kernel stack and its host stack. Test modules, written in C like
//! FreeBSD's own examples, are in `testmods/kldtest_*` and are built by
//! `cargo xtask build` with every other module.
//!
//! Where `unsafe` lives: mapping and protecting memory (`lowmem`, the user
//! address space in `user`, kernel stacks in `thread`), calling module
//! code (`thread`) and reading the structures it hands over (the
//! subsystems and entry points), all with `SAFETY` comments. A panic in
//! the harness is a failed test, so `unwrap`/`expect`/`panic!` and
//! printing are allowed here.
#![allow(
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "userspace test crate: a panic is a failed test, and kldsim prints"
)]

pub(crate) mod addr;
pub mod errno;
pub(crate) mod fault;
pub(crate) mod kernel;
pub(crate) mod kpi;
pub(crate) mod ksyms;
pub mod loader;
pub(crate) mod lowmem;
pub mod sim;
pub(crate) mod state;
pub(crate) mod sync;
pub mod testing;
pub(crate) mod thread;
pub mod user;

pub use errno::{Errno, Error, SysResult};
pub use kernel::{Kernel, PollFd, Whence, emulated_symbols};
pub use kpi::busdma::DmaLoad;
pub use kpi::devfs::DevEntry;
pub use kpi::firmware::FirmwareImage;
pub use kpi::kqueue::KEvent;
pub use kpi::malloc::{FailPolicy, MallocStats};
pub use kpi::newbus::{Devctl, DeviceInfo, IntrStats};
pub use kpi::sleep::SleepInfo;
pub use kpi::sysctl::SysctlValue;
pub use kpi::uio::UioStats;
pub use loader::{KERNEL_VERSION, KldStat, KldTarget, ModStat};
pub use state::{Config, Injectable, StackUse, Violation, ViolationKind};
pub use user::{Cred, UserBuf};

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
    use core::ffi::{c_char, c_int};

    unsafe extern "C" {
        /// `snprintf` with printf(9)'s conversions (`csrc/harness.c`).
        pub fn harness_test_format(buf: *mut c_char, size: usize, fmt: *const c_char, ...)
        -> c_int;
    }
}
