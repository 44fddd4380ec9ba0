// SPDX-License-Identifier: BSD-2-Clause
//! The safe layer for FreeBSD kernel modules written in Rust.
//!
//! A module crate depends on `kern` only and needs no `unsafe` of its own:
//! `unsafe` and calls into [`sys`] (the bindings) live here, each with a
//! `// SAFETY:` argument, and constructors of kernel-facing values are
//! `pub(crate)`. The pieces, named after the FreeBSD subsystems they wrap:
//!
//! * [`error`]: errno values as [`Error`] and [`Result`].
//! * [`module`](mod@module): the [`Module`] trait and the [`module!`] macro that
//!   declares a module to the kernel (`DECLARE_MODULE(9)`).
//! * [`context`]: the tokens that prove, at compile time, what the current
//!   thread may do: [`Sleepable`] (sleep), [`NoSleep`](context::NoSleep)
//!   (block on a mutex, as a callout handler), [`Filter`](context::Filter)
//!   (neither).
//! * [`malloc`] and [`alloc`]: the module's malloc type, the `malloc(9)`
//!   allocator, and `Box`/`Vec`/`String`/`Arc` in kernel memory.
//! * [`sync`]: [`Mutex`](sync::Mutex) over `mtx(9)`,
//!   [`SxLock`](sync::SxLock) over `sx(9)`, and
//!   [`CondVar`](sync::CondVar), sleeping until a condition holds
//!   (`msleep(9)`, `wakeup(9)`).
//! * [`callout`]: [`Callout`](callout::Callout), a handler the timer runs
//!   later with a mutex held (`callout(9)`).
//! * [`cdev`]: character devices (`make_dev_s(9)`), with [`uio`] for
//!   `read`/`write` and [`ioctl`] for `ioctl`.
//! * [`foreign`]: [`ForeignOwnable`](foreign::ForeignOwnable), how a value
//!   is handed to the kernel as a `void *` (`si_drv1`, cdevpriv, a sysctl
//!   node's argument) and taken back.
//! * [`sysctl`]: counters and validated tunables under a module-owned
//!   context: a static table over module statics, or nodes over data in
//!   an `Arc`.
//! * [`taskqueue`]: [`Task`](taskqueue::Task), work a kernel thread runs
//!   later where it may sleep (`taskqueue(9)`).
//! * [`ring`]: [`ByteRing`](ring::ByteRing), a byte ring whose producer
//!   and consumer copy straight between user memory and the ring with
//!   `uiomove(9)`, outside the ring's mutex (as `pipe(2)` does).
//! * [`poll`]: readiness for `poll(2)` and `kqueue(2)`
//!   ([`PollQueue`](poll::PollQueue): `selrecord(9)`, a knlist on the
//!   device's mutex).
//! * [`export`](mod@export): functions a module exports to the modules
//!   that depend on it ([`export!`]), and their declaration there
//!   ([`import!`]).
//! * [`print`](mod@print): [`println!`] to the kernel message buffer (`printf(9)`).
//! * the panic handler (kernel builds only), which calls `panic(9)`.
//!
//! # Module crates
//! A module crate is `#![no_std]` and `#![deny(unsafe_code)]`, and needs
//! no other crate attribute. In particular not `#![no_builtins]`: it marks
//! every function of the crate, and LLVM does not inline a function so
//! marked into kern's entry points (which are not), so each device method
//! would cost a call frame of its own. That the generated code calls only
//! functions the kernel has is checked on the built `.ko` instead
//! (`kolink check`, against `sys/kernel-symbols.txt`).
//!
//! # Sleeping
//!
//! FreeBSD forbids sleeping under a mutex. Here every operation that may
//! sleep takes a context token that only `kern` creates, at entry points
//! where sleeping is allowed, and a mutex guard borrows that token: see
//! [`context`].
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//!
//! struct Hello;
//!
//! impl Module for Hello {
//!     fn load(_cx: &mut Sleepable) -> Result<Self> {
//!         kern::println!("hello");
//!         Ok(Hello)
//!     }
//! }
//!
//! kern::module! { type: Hello, name: "hello", version: 1 }
//! ```
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::std_instead_of_alloc,
        clippy::std_instead_of_core,
        clippy::cast_possible_truncation,
        reason = "unit tests run on the host with small numbers and std"
    )
)]

pub mod alloc;
pub mod callout;
pub mod cdev;
pub mod context;
pub mod counter;
pub mod dma;
pub mod driver;
pub mod error;
pub mod export;
pub mod foreign;
pub mod init;
pub mod intr;
pub mod ioctl;
pub mod malloc;
pub mod module;
mod opaque;
#[cfg(target_os = "none")]
mod panic;
pub mod poll;
pub mod print;
pub mod ring;
pub mod sync;
pub mod sysctl;
pub mod taskqueue;
pub mod tunable;
pub mod uio;

pub use context::Sleepable;
pub use error::{Error, Result};
/// `#[kern::vtable]` on an `impl CharacterDevice` block: see
/// [`cdev::CharacterDevice`].
pub use kern_macros::vtable;
pub use module::Module;

/// What a module crate usually needs, in one `use`.
pub mod prelude {
    pub use crate::context::{MayBlock, MaySleep, NoSleep, Sleepable, SxSleepable};
    pub use crate::error::{Error, Result, code::*};
    pub use crate::malloc::{M_NOWAIT, M_ZERO};
    pub use crate::module::Module;
    pub use crate::{module, print, println};
}

#[doc(hidden)]
pub mod __private {
    //! Items the macros of this crate expand to. Not an API.
    pub use kern_macros::print_line;
    pub use sys;
}
