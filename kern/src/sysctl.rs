// SPDX-License-Identifier: BSD-2-Clause
//! Dynamic sysctl nodes owned by the module: read-only counters and
//! read-write tunables with validation.
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
//! use kern::sysctl::{SysctlLeaf, SysctlTree, Tunable};
//!
//! static WRITES: AtomicU64 = AtomicU64::new(0);
//! static MAXLEN: Tunable = Tunable::new(4096);
//!
//! static LEAVES: [SysctlLeaf; 2] = [
//!     SysctlLeaf::tunable(c"maxlen", c"Largest message, 1 to 65536", &MAXLEN, |v| {
//!         (1..=65536).contains(&v)
//!     }),
//!     SysctlLeaf::counter(c"writes", c"Writes so far", &WRITES),
//! ];
//!
//! fn sysctls(cx: &mut Sleepable) -> Result<SysctlTree> {
//!     SysctlTree::register_hw(c"example", c"An example module", &LEAVES, cx)
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
//!     b.add_tunable(&node, c"maxlen", c"Largest message, 1 to 65536", |s| &s.maxlen, |_, v| {
//!         (1..=65536).contains(&v)
//!     })?;
//!     Ok(b.finish())
//! }
//! ```

use crate::alloc::{Arc, Box, Vec};
use crate::context::Sleepable;
use crate::error::{Error, Result, code};
use crate::opaque::Opaque;
use crate::shim;
use core::cell::Cell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

/// A 64-bit value that user space may read and (root only) write through
/// sysctl, after validation.
///
/// The module reads it with [`get`](Self::get); a write through
/// `sysctl(8)` that the validation function rejects fails with `EINVAL` and
/// leaves the value unchanged. This is a run-time knob, not a loader tunable
/// (`CTLFLAG_TUN`).
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

/// One leaf of a [`SysctlTree`]: a read-only counter or a validated
/// tunable, both `static`s of the module.
///
/// Built by `const fn`s, so a module declares its whole tree as a `static`
/// array, which [`SysctlTree::register_hw`] walks. Four words: the two
/// strings (as C pointers), the value, and the validation of a tunable.
///
/// # Invariants
/// `name` and `descr` point to `'static` NUL-terminated strings.
pub struct SysctlLeaf {
    name: *const c_char,
    descr: *const c_char,
    /// The counter, or the tunable's value.
    value: &'static AtomicU64,
    /// `None` for a read-only counter (`SYSCTL_ADD_U64(..., CTLFLAG_RD,
    /// ptr, 0, descr)`); the validation of a tunable, which is added as
    /// `SYSCTL_ADD_PROC(..., CTLTYPE_U64 | CTLFLAG_RW, leaf, 0,
    /// static_tunable_handler, "QU", descr)`.
    validate: Option<fn(u64) -> bool>,
}

// SAFETY: the string pointers point to `'static` immutable strings (type
// invariant); the rest is `Sync` (an atomic, a function pointer).
unsafe impl Sync for SysctlLeaf {}

impl SysctlLeaf {
    /// A read-only 64-bit counter `<node>.<name>` showing `value`, as
    /// `SYSCTL_U64(9)` with `CTLFLAG_RD` shows a static `uint64_t`.
    ///
    /// The kernel reads it through its address with one aligned 64-bit
    /// load (`sysctl_handle_64`); the module updates it atomically.
    #[must_use]
    pub const fn counter(
        name: &'static CStr,
        descr: &'static CStr,
        value: &'static AtomicU64,
    ) -> Self {
        // INVARIANT: `'static` C strings.
        Self {
            name: name.as_ptr(),
            descr: descr.as_ptr(),
            value,
            validate: None,
        }
    }

    /// A read-write 64-bit tunable `<node>.<name>` showing `value`,
    /// writable by root only. A write runs `validate` on the new value; if
    /// it returns `false` the write fails with `EINVAL` and the value is
    /// unchanged.
    #[must_use]
    pub const fn tunable(
        name: &'static CStr,
        descr: &'static CStr,
        value: &'static Tunable,
        validate: fn(u64) -> bool,
    ) -> Self {
        // INVARIANT: `'static` C strings.
        Self {
            name: name.as_ptr(),
            descr: descr.as_ptr(),
            value: &value.value,
            validate: Some(validate),
        }
    }
}

impl core::fmt::Debug for SysctlLeaf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SysctlLeaf")
            .field("tunable", &self.validate.is_some())
            .finish_non_exhaustive()
    }
}

/// The node `hw.<name>` and the leaves of a static table, showing the
/// module's statics; removed when dropped.
///
/// # Invariants
/// `list` was initialised with `sysctl_ctx_init(9)` at its (heap) address
/// and holds every node added for this tree; it is freed only by `Drop`.
/// The nodes point only to `'static` data: the table's leaves, the values
/// they show, and `static_tunable_handler`.
pub struct SysctlTree {
    list: Box<Opaque<sys::sysctl_ctx_list>>,
}

// SAFETY: the list is only touched by `register_hw` (before the tree is
// shared) and `Drop`; `&SysctlTree` gives nothing.
unsafe impl Sync for SysctlTree {}

impl SysctlTree {
    /// Adds the node `hw.<name>` (readable by everyone), then one leaf per
    /// entry of `leaves`, in order.
    ///
    /// If `hw.<name>` is a node already (another module's), it is shared,
    /// as `SYSCTL_ADD_NODE(9)` shares it.
    ///
    /// # Errors
    /// - `EEXIST`: `hw.<name>` is a leaf, or a leaf's name is taken.
    /// - `ENOMEM`: the context cannot be allocated.
    ///
    /// What was added before an error is removed again.
    ///
    /// # Context
    /// May sleep.
    pub fn register_hw(
        name: &'static CStr,
        descr: &'static CStr,
        leaves: &'static [SysctlLeaf],
        cx: &mut Sleepable,
    ) -> Result<Self> {
        let list = Box::try_new(Opaque::<sys::sysctl_ctx_list>::zeroed(), cx.waitok())?;
        // SAFETY: `list` is a writable list head at its final address (the
        // box is never moved out of). It fails only for NULL (`EINVAL`,
        // kern_sysctl.c): its value says nothing here.
        unsafe { sys::sysctl_ctx_init(list.get()) };
        // INVARIANT: initialised and empty; everything added below is
        // `'static`. Dropping `tree` on an error removes what was added.
        let tree = Self { list };
        // SAFETY: `sysctl___hw` is the kernel's static `hw` node; only the
        // address of its children list is taken (`SYSCTL_STATIC_CHILDREN`).
        let hw = unsafe { &raw mut sys::sysctl___hw.oid_children };
        tree.add_all(hw, name, descr, leaves)?;
        Ok(tree)
    }

    /// Adds the node and its leaves; not generic, out of line (load only).
    #[inline(never)]
    fn add_all(
        &self,
        parent: *mut sys::sysctl_oid_list,
        name: &'static CStr,
        descr: &'static CStr,
        leaves: &'static [SysctlLeaf],
    ) -> Result {
        let list = self.list.get();
        // SAFETY: `list` is initialised (type invariant); `parent` is the
        // kernel's static `hw` children list; the strings are NUL-terminated
        // and copied by sysctl_add_oid(9). This is what
        // `SYSCTL_ADD_NODE(list, parent, OID_AUTO, name, CTLFLAG_RD |
        // CTLFLAG_MPSAFE, NULL, descr)` expands to.
        let node = unsafe {
            sys::sysctl_add_oid(
                list,
                parent,
                sys::OID_AUTO,
                name.as_ptr(),
                NODE_KIND,
                ptr::null_mut(),
                0,
                None,
                c"N".as_ptr(),
                descr.as_ptr(),
                ptr::null(),
            )
        };
        if node.is_null() {
            return Err(code::EEXIST);
        }
        // SAFETY: `node` is the live node just added (`SYSCTL_CHILDREN`);
        // `&raw mut` makes no reference.
        let children = unsafe { &raw mut (*node).oid_children };
        for leaf in leaves {
            let (kind, arg1, handler): (c_int, *mut c_void, shim::SysctlHandler) =
                match leaf.validate {
                    None => (
                        U64_RD_KIND,
                        leaf.value.as_ptr().cast(),
                        sys::sysctl_handle_64,
                    ),
                    Some(_) => (
                        U64_RW_KIND,
                        ptr::from_ref(leaf).cast_mut().cast(),
                        static_tunable_handler,
                    ),
                };
            // SAFETY: as above for `list`; `children` is the new node's
            // list; the strings are `'static` C strings (type invariant of
            // the leaf). `arg1` is a `'static` counter (which the read-only
            // node's `sysctl_handle_64` only reads) or this `'static` leaf,
            // which `static_tunable_handler` expects; both outlive the node.
            // As `SYSCTL_ADD_U64`/`SYSCTL_ADD_PROC` expand.
            let oid = unsafe {
                sys::sysctl_add_oid(
                    list,
                    children,
                    sys::OID_AUTO,
                    leaf.name,
                    kind,
                    arg1,
                    0,
                    Some(handler),
                    c"QU".as_ptr(),
                    leaf.descr,
                    ptr::null(),
                )
            };
            if oid.is_null() {
                return Err(code::EEXIST);
            }
        }
        Ok(())
    }
}

impl Drop for SysctlTree {
    /// Removes the node and its leaves (`sysctl_ctx_free(9)`, which waits
    /// for running handlers).
    ///
    /// The kernel refuses only if a node of ours got a child that is not
    /// in our context (nothing else has our OIDs' addresses); the nodes
    /// are then left in place and the list head is leaked with them.
    fn drop(&mut self) {
        // SAFETY: the list was initialised (type invariant) and is freed
        // once, here.
        let ret = unsafe { sys::sysctl_ctx_free(self.list.get()) };
        if ret != 0 {
            ctx_free_failed();
        }
    }
}

/// Reports a refused `sysctl_ctx_free(9)`: out of line, a constant message.
#[cold]
#[inline(never)]
fn ctx_free_failed() {
    crate::println!("sysctl_ctx_free failed: a node is still in use");
}

/// `CTLTYPE_NODE | CTLFLAG_RD | CTLFLAG_MPSAFE`: `SYSCTL_ADD_NODE`'s kind.
const NODE_KIND: c_int = (sys::CTLTYPE_NODE | sys::CTLFLAG_RD | sys::CTLFLAG_MPSAFE).cast_signed();

/// `CTLTYPE_U64 | CTLFLAG_MPSAFE | CTLFLAG_RD`: `SYSCTL_ADD_U64`'s kind,
/// read-only.
const U64_RD_KIND: c_int = (sys::CTLTYPE_U64 | sys::CTLFLAG_MPSAFE | sys::CTLFLAG_RD).cast_signed();

/// `CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE`: the kind of a tunable's
/// `SYSCTL_ADD_PROC`.
const U64_RW_KIND: c_int = (sys::CTLTYPE_U64 | sys::CTLFLAG_RW | sys::CTLFLAG_MPSAFE).cast_signed();

/// The handler of a [`SysctlLeaf::tunable`]: `sysctl_handle_64` on a copy
/// of the value, then validation of a new value before it is stored.
///
/// # Safety
/// Called by the kernel for a node added by [`SysctlTree::register_hw`]
/// for a tunable leaf, with `arg1` that leaf.
unsafe extern "C" fn static_tunable_handler(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: `arg1` is the node's `'static` leaf (the caller's contract).
    let leaf = unsafe { &*arg1.cast::<SysctlLeaf>().cast_const() };
    let Some(validate) = leaf.validate else {
        return code::EINVAL.to_errno();
    };
    let tunable = leaf.value;
    let mut value = tunable.load(Ordering::Relaxed);
    // SAFETY: `oidp` and `req` are the kernel's; `value` is a writable
    // 64-bit integer that sysctl_handle_64 reads out and overwrites with
    // the new value, if any.
    let ret = unsafe { sys::sysctl_handle_64(oidp, (&raw mut value).cast::<c_void>(), 0, req) };
    // SAFETY: `req` is the kernel's request, valid during the call.
    if ret != 0 || unsafe { (*req).newptr }.is_null() {
        return ret;
    }
    if !validate(value) {
        return code::EINVAL.to_errno();
    }
    tunable.store(value, Ordering::Relaxed);
    0
}

/// What the handler of one tunable needs, at a fixed address.
///
/// # Invariants
/// `data` and `tunable` point into the `Arc<T>` of the context that owns
/// this record, which outlives the record's sysctl node.
struct TunableOid<T> {
    data: NonNull<T>,
    tunable: NonNull<Tunable>,
    validate: fn(&T, u64) -> bool,
}

/// A sysctl context (`struct sysctl_ctx_list`) and the data its nodes show.
///
/// # Invariants
/// - `list` was initialised with `sysctl_ctx_init(9)` at its (heap)
///   address, and holds every node added for this context; it is freed
///   only by `Drop`.
/// - The nodes point only into `data` and `tunables`, which `Drop` releases
///   only after `sysctl_ctx_free(9)` removed the nodes.
pub struct SysctlCtx<T: Send + Sync + 'static> {
    list: ManuallyDrop<Box<Opaque<sys::sysctl_ctx_list>>>,
    data: ManuallyDrop<Arc<T>>,
    tunables: ManuallyDrop<Vec<Box<TunableOid<T>>>>,
}

// SAFETY: a record holds pointers into the context's `T`, which is
// `Send + Sync`; it is only read (by handlers, on any thread).
unsafe impl<T: Send + Sync> Send for TunableOid<T> {}

// SAFETY: `&SysctlCtx` gives only `&T`; the list is touched only by `Drop`
// (and by the builder before the context is shared).
unsafe impl<T: Send + Sync + 'static> Sync for SysctlCtx<T> {}

impl<T: Send + Sync + 'static> SysctlCtx<T> {
    /// Starts a context (`sysctl_ctx_init(9)`) for nodes that show `data`.
    ///
    /// # Errors
    /// `ENOMEM` if the context cannot be allocated.
    ///
    /// # Context
    /// May sleep; the builder holds the token until
    /// [`finish`](SysctlBuilder::finish).
    pub fn builder(data: Arc<T>, cx: &mut Sleepable) -> Result<SysctlBuilder<'_, T>> {
        let list = Box::try_new(Opaque::<sys::sysctl_ctx_list>::zeroed(), cx.waitok())?;
        // SAFETY: `list` is a writable list head at its final address (the
        // box is never moved out of).
        Error::from_ret(unsafe { sys::sysctl_ctx_init(list.get()) })?;
        Ok(SysctlBuilder {
            // INVARIANT: initialised, empty, nothing points into `data` yet.
            ctx: SysctlCtx {
                list: ManuallyDrop::new(list),
                data: ManuallyDrop::new(data),
                tunables: ManuallyDrop::new(Vec::new()),
            },
            tunables: Cell::new(Vec::new()),
            cx,
        })
    }

    /// The data the nodes show.
    #[must_use]
    pub fn data(&self) -> &T {
        &self.data
    }
}

impl<T: Send + Sync + 'static> Drop for SysctlCtx<T> {
    /// Removes every node (`sysctl_ctx_free(9)`, which waits for running
    /// handlers), then releases the data.
    ///
    /// If the kernel refuses to remove a node (another context added a
    /// child under one of ours), the data is leaked instead of freed, since
    /// the kernel may still read it.
    fn drop(&mut self) {
        // SAFETY: the list was initialised (type invariant) and is freed
        // once, here.
        let ret = unsafe { sys::sysctl_ctx_free(self.list.get()) };
        if ret != 0 {
            // A constant message: no formatting machinery in every module
            // that uses sysctl for an error that should never happen.
            crate::println!("sysctl_ctx_free failed: a node is still in use; leaking its data");
            return;
        }
        // SAFETY: each field is dropped once, here, and not used again; no
        // node points into them any more (they were all removed).
        unsafe {
            ManuallyDrop::drop(&mut self.tunables);
        }
        // SAFETY: as above.
        unsafe {
            ManuallyDrop::drop(&mut self.data);
        }
        // SAFETY: as above.
        unsafe {
            ManuallyDrop::drop(&mut self.list);
        }
    }
}

/// Adds nodes to a [`SysctlCtx`] being built; [`finish`](Self::finish)
/// returns the context. Dropping the builder removes what it added.
///
/// It holds the load's [`Sleepable`] token (adding a node may sleep), so it
/// is not `Send`.
pub struct SysctlBuilder<'cx, T: Send + Sync + 'static> {
    ctx: SysctlCtx<T>,
    tunables: Cell<Vec<Box<TunableOid<T>>>>,
    cx: &'cx mut Sleepable,
}

/// A node added by a [`SysctlBuilder`], under which more can be added.
pub struct SysctlNode<'b> {
    oid: NonNull<sys::sysctl_oid>,
    _builder: PhantomData<&'b ()>,
}

impl<T: Send + Sync + 'static> SysctlBuilder<'_, T> {
    /// Adds a node `hw.<name>`, readable by everyone.
    ///
    /// # Errors
    /// `EEXIST` if `hw.<name>` is a leaf; `ENOMEM`.
    ///
    /// # Context
    /// May sleep.
    pub fn add_hw_node(&self, name: &CStr, descr: &CStr) -> Result<SysctlNode<'_>> {
        // SAFETY: returns the static `hw` children list.
        let parent = unsafe { shim::shim_sysctl_static_children_hw() };
        self.add_node_under(parent, name, descr)
    }

    /// Adds a node `<parent>.<name>`.
    ///
    /// # Errors
    /// `EEXIST` if the name is a leaf; `ENOMEM`.
    ///
    /// # Context
    /// May sleep.
    pub fn add_node(
        &self,
        parent: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
    ) -> Result<SysctlNode<'_>> {
        self.add_node_under(children(parent), name, descr)
    }

    fn add_node_under(
        &self,
        parent: *mut sys::sysctl_oid_list,
        name: &CStr,
        descr: &CStr,
    ) -> Result<SysctlNode<'_>> {
        // SAFETY: the context list is initialised (type invariant of the
        // context); `parent` is a live children list (static, or of a node
        // of this builder's context); the strings are NUL-terminated and
        // copied by sysctl_add_oid(9).
        let oid = unsafe {
            shim::shim_SYSCTL_ADD_NODE(self.list(), parent, name.as_ptr(), descr.as_ptr())
        };
        Ok(SysctlNode {
            oid: NonNull::new(oid).ok_or(code::EEXIST)?,
            _builder: PhantomData,
        })
    }

    /// Adds a read-only 64-bit counter `<node>.<name>` showing the
    /// `AtomicU64` that `field` selects in the context's data.
    ///
    /// The kernel reads the counter through its address with a single
    /// aligned 64-bit load (`sysctl_handle_64`); the module updates it with
    /// atomic operations.
    ///
    /// # Errors
    /// `EEXIST` if the name is taken; `ENOMEM`.
    ///
    /// # Context
    /// May sleep.
    pub fn add_u64_counter(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        field: fn(&T) -> &AtomicU64,
    ) -> Result {
        let counter = field(&self.ctx.data);
        // SAFETY: the context list is initialised; `node` is a live node;
        // the counter lives in the context's `Arc<T>`, which outlives the
        // node (type invariant of the context). The node is read-only, so
        // the kernel never writes through the pointer.
        let oid = unsafe {
            shim::shim_SYSCTL_ADD_U64_RD(
                self.list(),
                children(node),
                name.as_ptr(),
                counter.as_ptr(),
                descr.as_ptr(),
            )
        };
        if oid.is_null() {
            return Err(code::EEXIST);
        }
        Ok(())
    }

    /// Adds a read-write 64-bit tunable `<node>.<name>` (writable by root
    /// only) showing the [`Tunable`] that `field` selects in the context's
    /// data.
    ///
    /// A write runs `validate` with the context's data and the new value; if
    /// it returns `false`, the write fails with `EINVAL` and the value is
    /// unchanged.
    ///
    /// # Errors
    /// `EEXIST` if the name is taken; `ENOMEM`.
    ///
    /// # Context
    /// May sleep.
    pub fn add_tunable(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        field: fn(&T) -> &Tunable,
        validate: fn(&T, u64) -> bool,
    ) -> Result {
        let data: &T = &self.ctx.data;
        // INVARIANT: both pointers point into the context's `Arc<T>`.
        let record = Box::try_new(
            TunableOid {
                data: NonNull::from(data),
                tunable: NonNull::from(field(data)),
                validate,
            },
            self.cx.waitok(),
        )?;
        let arg1 = (&raw const *record).cast_mut().cast::<c_void>();
        // Keep the record before the node can use it: it stays (boxed,
        // never moved) in the context until after the nodes are removed.
        let mut tunables = self.tunables.take();
        let kept = match tunables.try_reserve(1, self.cx.waitok()) {
            Ok(()) => tunables.push_within_capacity(record).is_ok(),
            Err(_) => false,
        };
        self.tunables.set(tunables);
        if !kept {
            return Err(code::ENOMEM);
        }
        // SAFETY: the context list is initialised; `node` is a live node;
        // `arg1` is a record kept by the context until after the node is
        // removed; the handler matches the record's type.
        let oid = unsafe {
            shim::shim_SYSCTL_ADD_PROC_U64_RW(
                self.list(),
                children(node),
                name.as_ptr(),
                arg1,
                0,
                tunable_handler::<T>,
                descr.as_ptr(),
            )
        };
        if oid.is_null() {
            return Err(code::EEXIST);
        }
        Ok(())
    }

    /// The finished context.
    #[must_use]
    pub fn finish(self) -> SysctlCtx<T> {
        let SysctlBuilder {
            mut ctx, tunables, ..
        } = self;
        *ctx.tunables = tunables.into_inner();
        ctx
    }

    fn list(&self) -> *mut sys::sysctl_ctx_list {
        self.ctx.list.get()
    }
}

/// `SYSCTL_CHILDREN(node)`.
fn children(node: &SysctlNode<'_>) -> *mut sys::sysctl_oid_list {
    // SAFETY: `node` is a live node of a context being built.
    unsafe { shim::shim_sysctl_children(node.oid.as_ptr()) }
}

/// The handler of a tunable: `sysctl_handle_64` on a copy of the value,
/// then validation of a new value before it is stored.
///
/// # Safety
/// Called by the kernel for a node added by
/// [`SysctlBuilder::add_tunable`] for `T`, with `arg1` its record.
unsafe extern "C" fn tunable_handler<T>(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: `arg1` is the node's record, which lives until after the node
    // is removed; sysctl_ctx_free(9) waits for running handlers first.
    let record = unsafe { &*arg1.cast::<TunableOid<T>>() };
    // SAFETY: the record's pointers point into the context's data, which
    // outlives the node (type invariant of `TunableOid`).
    let data = unsafe { record.data.as_ref() };
    // SAFETY: as above.
    let tunable = unsafe { record.tunable.as_ref() };
    let mut value = tunable.get();
    // SAFETY: `oidp` and `req` are the kernel's; `value` is a writable
    // 64-bit integer that sysctl_handle_64 reads out and overwrites with
    // the new value, if any.
    let ret = unsafe { sys::sysctl_handle_64(oidp, (&raw mut value).cast::<c_void>(), 0, req) };
    // SAFETY: `req` is the kernel's request, valid during the call.
    if ret != 0 || unsafe { (*req).newptr }.is_null() {
        return ret;
    }
    if !(record.validate)(data, value) {
        return code::EINVAL.to_errno();
    }
    tunable.set(value);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    static COUNTER: AtomicU64 = AtomicU64::new(3);
    static KNOB: Tunable = Tunable::new(9);

    static LEAVES: [SysctlLeaf; 2] = [
        SysctlLeaf::counter(c"count", c"A counter", &COUNTER),
        SysctlLeaf::tunable(c"knob", c"Even values", &KNOB, |v| v % 2 == 0),
    ];

    #[test]
    fn leaves_are_four_words_of_static_data() {
        assert_eq!(size_of::<SysctlLeaf>(), 4 * size_of::<usize>());
        let [counter, knob] = &LEAVES;
        assert!(counter.validate.is_none());
        assert!(ptr::eq(counter.value, &raw const COUNTER));
        // SAFETY: the leaves' names are `'static` C strings.
        let name = unsafe { CStr::from_ptr(knob.name) };
        assert_eq!(name, c"knob");
        // SAFETY: as above.
        let descr = unsafe { CStr::from_ptr(knob.descr) };
        assert_eq!(descr, c"Even values");
        // A tunable shows its value, and keeps the validation.
        assert!(ptr::eq(knob.value, &raw const KNOB.value));
        let validate = knob.validate.unwrap();
        assert!(validate(4) && !validate(5));
    }

    #[test]
    fn kinds_are_what_the_macros_give() {
        // SYSCTL_ADD_NODE(..., CTLFLAG_RD | CTLFLAG_MPSAFE, ...)
        assert_eq!(NODE_KIND.cast_unsigned(), 0x8004_0001);
        // SYSCTL_ADD_U64(..., CTLFLAG_RD, ...)
        assert_eq!(U64_RD_KIND.cast_unsigned(), 0x8004_0009);
        // SYSCTL_ADD_PROC(..., CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, ...)
        assert_eq!(U64_RW_KIND.cast_unsigned(), 0xc004_0009);
    }
}
