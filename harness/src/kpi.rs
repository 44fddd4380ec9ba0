// SPDX-License-Identifier: BSD-2-Clause
//! The emulated kernel subsystems: one module per FreeBSD subsystem a
//! module may use, each owning its state and logic, with FreeBSD's
//! semantics and the checks of an `INVARIANTS`/`WITNESS` kernel.
//!
//! A subsystem knows the shared core ([`crate::state::Core`], through
//! which it reports violations, console output and panics), the calling
//! thread ([`crate::thread`]: `curthread`, the held locks, calls into
//! module code) and, for the copies, the user memory
//! ([`crate::user`]); never another subsystem nor the kernel that holds
//! them all. What one needs from another is passed in by the caller (the
//! `struct cdev` memory devfs gets from malloc(9), for instance:
//! [`devfs::CdevMemory`]).
//!
//! The kernel's entry points, which module code reaches through call
//! stubs, find their kernel and call into these modules; a few entry
//! points need no kernel state and live here (the `libkern` routines,
//! the standard sysctl handlers, `make_dev_args_init_impl`).
//!
//! `clock` is the time every part shares (uptime, `ticks`, letting time
//! pass); the sleeping and timer subsystems build on its `now` and
//! `advance`.

pub(crate) mod busdma;
pub(crate) mod callout;
pub(crate) mod clock;
pub(crate) mod counter;
pub(crate) mod devfs;
pub(crate) mod firmware;
pub(crate) mod kenv;
pub(crate) mod kqueue;
pub(crate) mod libkern;
pub(crate) mod lock;
pub(crate) mod malloc;
pub(crate) mod newbus;
pub(crate) mod sbuf;
pub(crate) mod select;
pub(crate) mod sleep;
pub(crate) mod sysctl;
pub(crate) mod taskqueue;
pub(crate) mod uio;
