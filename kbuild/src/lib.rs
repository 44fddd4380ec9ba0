// SPDX-License-Identifier: BSD-2-Clause
//! Where the FreeBSD kernel headers are and how FreeBSD compiles an amd64
//! module.
//!
//! Shared by `sys/build.rs` (bindgen must parse the headers exactly as the C
//! shim is compiled) and by `xtask` (which compiles the shim and links the
//! `.ko`). Nothing here runs in the kernel.
//!
//! * [`headers`]: finds the header tree: `SYSDIR` (a FreeBSD source tree's
//!   `sys/`, `/usr/src/sys` by default on FreeBSD), else the FreeBSD 15 tree
//!   shipped in PyPI's `ziglang` package, cached under `.cache/`.
//! * [`flags`]: the compiler flags of `sys/conf/kern.mk` and `kmod.mk` for
//!   amd64.
//! * [`ziglang`]: installs the pinned `ziglang` header tree into the cache.
//! * [`interfaces`]: the newbus interface headers (`device_if.h`,
//!   `bus_if.h`, `pci_if.h`, `dev/pci/pcivar.h`): generated from a source
//!   tree, or the project's own declarations for the installed tree.

pub mod arch;
pub mod flags;
pub mod headers;
pub mod interfaces;
pub mod ziglang;

pub use arch::Arch;
pub use headers::HeaderTree;
