// SPDX-License-Identifier: BSD-2-Clause
//! Dynamic sysctl nodes owned by the module: read-only counters, `int`s
//! and strings, read-write tunables (64-bit, `int`, string) with
//! validation, loader tunables (`CTLFLAG_TUN`), and custom handlers.
//!
//! C header: `sys/sys/sysctl.h`. Manual pages: `sysctl(9)`,
//! `sysctl_ctx_init(9)`, `sysctl_add_oid(9)`, `SYSCTL_ADD_NODE(9)`,
//! `SYSCTL_ADD_U64(9)`, `SYSCTL_ADD_PROC(9)`. Implementation:
//! `sys/kern/kern_sysctl.c`.
//!
//! Two shapes, both added at load and removed at unload through a
//! `sysctl_ctx_list`:
//!
//! * [`SysctlTree`]: a node `hw.<name>` whose leaves are described by a
//!   `static` table of [`SysctlLeaf`]s over the module's `static` counters
//!   and tunables, as C declares `SYSCTL_U64`/`SYSCTL_PROC` over static
//!   variables. The table is data, and one loop registers it; no closure,
//!   no allocation per leaf, no generic code.
//! * [`SysctlCtx`]: nodes over data in an [`Arc`], for state that is not a
//!   module-wide static (one tree per instance), built leaf by leaf.
//!
//! Neither uses static OIDs (`SYSCTL_NODE` in the `set_sysctl_set` linker
//! set, registered by `linker_file_register_sysctls`): when a node of the
//! same name exists, `sysctl_register_oid` (`kern_sysctl.c`) bumps that
//! node's `oid_refcnt` and leaves ours out of the tree, and
//! `linker_file_unregister_sysctls` never gives the reference back
//! (`sysctl_unregister_oid` fails with `EINVAL` on an OID it never
//! inserted). A module whose load then fails would leave another module's
//! node pinned. `sysctl_add_oid(9)` shares a node through the context, and
//! `sysctl_ctx_free(9)` releases exactly what was taken.
//!
//! # The statics shape
//!
//! ```
//! use core::sync::atomic::AtomicU64;
//! use kern::prelude::*;
//! use kern::sysctl::{Parent, SysctlLeaf, SysctlTree, Tunable};
//!
//! static WRITES: AtomicU64 = AtomicU64::new(0);
//! static MAXLEN: Tunable = Tunable::new(4096);
//!
//! // A slice: no length to count by hand.
//! static LEAVES: &[SysctlLeaf] = &[
//!     SysctlLeaf::tunable(c"maxlen", c"Largest message, 1 to 65536", &MAXLEN, |v| {
//!         (1..=65536).contains(&v)
//!     }),
//!     SysctlLeaf::counter(c"writes", c"Writes so far", &WRITES),
//! ];
//!
//! fn sysctls(cx: &mut Sleepable) -> Result<SysctlTree> {
//!     SysctlTree::register_hw(c"example", c"An example module", LEAVES, cx)
//! }
//!
//! // The same leaves under `debug.example`.
//! fn debug_sysctls(cx: &mut Sleepable) -> Result<SysctlTree> {
//!     SysctlTree::register(Parent::Debug, c"example", c"An example module", LEAVES, cx)
//! }
//! ```
//!
//! # The `Arc` shape
//!
//! A [`SysctlCtx`] owns a `sysctl_ctx_list` and the data its nodes show, a
//! value of type `T` shared through an [`Arc`]: counters are `AtomicU64`
//! fields of `T` that the kernel reads through their address, tunables are
//! [`Tunable`] fields written through a handler that validates the new
//! value. Dropping the context removes every node with
//! `sysctl_ctx_free(9)`, which waits for running handlers, before the data
//! can go away.
//!
//! Nodes are added through a [`SysctlBuilder`] at load time; the finished
//! context is immutable.
//!
//! # Context
//! Adding nodes and freeing the context may sleep (`M_WAITOK` allocations,
//! the sysctl lock): registration takes the load's [`Sleepable`] token (the
//! builder holds it), and a [`SysctlTree`] or [`SysctlCtx`] must be dropped
//! where sleeping is allowed (module unload).
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use kern::alloc::Arc;
//! use kern::prelude::*;
//! use kern::sysctl::{SysctlCtx, Tunable};
//!
//! struct Stats {
//!     writes: AtomicU64,
//!     maxlen: Tunable,
//! }
//!
//! fn sysctls(stats: Arc<Stats>, cx: &mut Sleepable) -> Result<SysctlCtx<Stats>> {
//!     let b = SysctlCtx::builder(stats, cx)?;
//!     let node = b.add_hw_node(c"example", c"An example module")?;
//!     b.add_u64_counter(&node, c"writes", c"Writes so far", |s| &s.writes)?;
//!     // The validation may sleep (it gets the request's token) and says
//!     // the errno of a refused value.
//!     b.add_tunable(&node, c"maxlen", c"Largest message, 1 to 65536", |s| &s.maxlen, |_, v, _cx| {
//!         if (1..=65536).contains(&v) { Ok(()) } else { Err(EINVAL) }
//!     })?;
//!     Ok(b.finish())
//! }
//! ```

mod ctx;
mod req;
mod tree;
mod values;

pub use ctx::{SysctlBuilder, SysctlCtx, SysctlNode, Validate};
pub use req::SysctlReq;
pub use tree::{SysctlLeaf, SysctlTree, SysctlType};
pub use values::{Counters, IntTunable, STRING_TUNABLE_MAX, StringTunable};

/// A top-level node of the kernel's tree, under which a module adds its
/// node: `hw`, `dev`, `kern`, `debug` or `security` (the static root nodes
/// of `sys/kern/kern_mib.c` and, for `dev`, `sys/kern/subr_bus.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent {
    /// `hw`: hardware, the usual place for a driver's knobs.
    Hw,
    /// `dev`: per-device trees (`dev.<driver>.<unit>`).
    Dev,
    /// `kern`: the kernel's own settings.
    Kern,
    /// `debug`: debugging knobs and statistics.
    Debug,
    /// `security`: security policy.
    Security,
}

impl Parent {
    /// The node's children list (`SYSCTL_STATIC_CHILDREN(_<name>)`).
    fn children(self) -> *mut sys::sysctl_oid_list {
        // Each is one of the kernel's static root nodes, which live as long
        // as the kernel; only the address of its children list is taken
        // (`&raw mut` makes no reference).
        match self {
            // SAFETY: as above.
            Parent::Hw => unsafe { &raw mut sys::sysctl___hw.oid_children },
            // SAFETY: as above.
            Parent::Dev => unsafe { &raw mut sys::sysctl___dev.oid_children },
            // SAFETY: as above.
            Parent::Kern => unsafe { &raw mut sys::sysctl___kern.oid_children },
            // SAFETY: as above.
            Parent::Debug => unsafe { &raw mut sys::sysctl___debug.oid_children },
            // SAFETY: as above.
            Parent::Security => unsafe { &raw mut sys::sysctl___security.oid_children },
        }
    }
}

#[cfg(doc)]
use crate::alloc::Arc;
#[cfg(doc)]
use crate::context::Sleepable;
use core::sync::atomic::{AtomicU64, Ordering};

/// A 64-bit value that user space may read and (root only) write through
/// sysctl, after validation.
///
/// The module reads it with [`get`](Self::get); a write through
/// `sysctl(8)` that the validation function rejects fails with `EINVAL` and
/// leaves the value unchanged. A run-time knob; its leaf can also be a
/// loader tunable ([`SysctlLeaf::loader_tunable`]), set from the kernel
/// environment at load.
#[derive(Debug)]
pub struct Tunable {
    value: AtomicU64,
}

impl Tunable {
    /// A tunable with an initial value (not validated: the module is
    /// trusted).
    #[must_use]
    pub const fn new(initial: u64) -> Self {
        Self {
            value: AtomicU64::new(initial),
        }
    }

    /// The current value.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Sets the value from the module (not validated).
    pub fn set(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
    }
}
