// SPDX-License-Identifier: BSD-2-Clause
//! The `Arc` shape: a [`SysctlCtx`] over data in an [`Arc`], built node by
//! node with a [`SysctlBuilder`].

use super::{Parent, Tunable};
use crate::alloc::{Arc, Box};
use crate::context::Sleepable;
use crate::counter::Counter;
use crate::error::{Error, Result, code};
use crate::foreign::ForeignOwnable;
use crate::opaque::Opaque;
use core::cell::Cell;
use core::ffi::{CStr, c_int, c_void};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU64;

/// The function that checks, and may act on, a new value of a
/// [`SysctlBuilder::add_tunable`] or [`SysctlBuilder::add_command`] leaf:
/// it gets the context's data, the value and the request thread's
/// [`Sleepable`] token. Its error is the `sysctl(3)` caller's errno.
pub type Validate<T> = fn(&T, u64, &mut Sleepable) -> Result;

/// What the handler of one tunable needs, at a fixed address.
///
/// # Invariants
/// `data` and `tunable` point into the `Arc<T>` of the context that owns
/// this record, which outlives the record's sysctl node.
struct TunableOid<T> {
    data: NonNull<T>,
    tunable: NonNull<Tunable>,
    validate: Validate<T>,
    /// The record of the context's previous tunable (its `arg1`), or null:
    /// the context's records form a list, without a vector to grow.
    next: *mut c_void,
}

/// A sysctl context (`struct sysctl_ctx_list`) and the data its nodes show.
///
/// # Invariants
/// - `list` was initialised with `sysctl_ctx_init(9)` at its (heap)
///   address, and holds every node added for this context; it is freed
///   only by `Drop`.
/// - `tunables` is the `arg1` of the last tunable node added (or null),
///   whose `next` leads through the records of all the others: each a
///   `Box<TunableOid<T>>` handed to the kernel with
///   [`ForeignOwnable::into_foreign`].
/// - The nodes point only into `data` and the tunables' records, which
///   `Drop` releases only after `sysctl_ctx_free(9)` removed the nodes.
pub struct SysctlCtx<T: Send + Sync + 'static> {
    list: ManuallyDrop<Box<Opaque<sys::sysctl_ctx_list>>>,
    data: ManuallyDrop<Arc<T>>,
    tunables: Cell<*mut c_void>,
}

// SAFETY: a record holds pointers into the context's `T`, which is
// `Send + Sync`; it is only read (by handlers, on any thread).
unsafe impl<T: Send + Sync> Send for TunableOid<T> {}

// SAFETY: as for `Send`: handlers on any thread only read the record and,
// through it, the `Sync` data.
unsafe impl<T: Send + Sync> Sync for TunableOid<T> {}

// SAFETY: the context owns its data (an `Arc` of `Send + Sync` data), the
// tunables' records (`Box<TunableOid<T>>`, `Send`) in the list from
// `tunables`, and the list, which only the kernel reads; moving the
// context moves that ownership.
unsafe impl<T: Send + Sync + 'static> Send for SysctlCtx<T> {}

// SAFETY: `&SysctlCtx` gives only `&T`; the list and `tunables` are touched
// only by `Drop` and by the builder, which owns the context until
// `finish` and is not `Sync` (it holds `&mut Sleepable`).
unsafe impl<T: Send + Sync + 'static> Sync for SysctlCtx<T> {}

impl<T: Send + Sync + 'static> SysctlCtx<T> {
    /// Starts a context (`sysctl_ctx_init(9)`) for nodes that show `data`.
    ///
    /// # Errors
    /// What `sysctl_ctx_init(9)` returns (`EINVAL` only for NULL, never
    /// here). Its memory is allocated with `M_WAITOK`: no `ENOMEM`.
    ///
    /// # Context
    /// May sleep; the builder holds the token until
    /// [`finish`](SysctlBuilder::finish).
    pub fn builder(data: Arc<T>, cx: &mut Sleepable) -> Result<SysctlBuilder<'_, T>> {
        let list = Box::new(Opaque::<sys::sysctl_ctx_list>::uninit(), cx.waitok());
        // SAFETY: `list` is a writable list head at its final address (the
        // box is never moved out of), not yet initialised: sysctl_ctx_init
        // is `TAILQ_INIT` (`sys/kern/kern_sysctl.c`, FreeBSD 15), which
        // writes both fields of the head and reads neither.
        Error::from_ret(unsafe { sys::sysctl_ctx_init(list.get()) })?;
        Ok(SysctlBuilder {
            // INVARIANT: initialised, empty, nothing points into `data` yet.
            ctx: SysctlCtx {
                list: ManuallyDrop::new(list),
                data: ManuallyDrop::new(data),
                tunables: Cell::new(core::ptr::null_mut()),
            },
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
    /// child under one of ours), the data and the tunables' records are
    /// leaked instead of freed, since the kernel may still read them.
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
        let mut next = self.tunables.get();
        while !next.is_null() {
            // SAFETY: a record given to the kernel by `add_tunable` (type
            // invariant), taken back once (the list has no cycle: each
            // record points to an older one); its node is removed.
            let record = unsafe { Box::<TunableOid<T>>::from_foreign(next) };
            next = record.next;
        }
        // SAFETY: each field is dropped once, here, and not used again; no
        // node points into them any more (they were all removed).
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
/// is neither `Send` nor `Sync`.
pub struct SysctlBuilder<'cx, T: Send + Sync + 'static> {
    ctx: SysctlCtx<T>,
    cx: &'cx mut Sleepable,
}

/// A node added by a [`SysctlBuilder`], under which more can be added.
pub struct SysctlNode<'b> {
    oid: NonNull<sys::sysctl_oid>,
    _builder: PhantomData<&'b ()>,
}

impl<T: Send + Sync + 'static> SysctlBuilder<'_, T> {
    /// Adds a node `hw.<name>`, readable by everyone:
    /// [`add_top_node`](Self::add_top_node) under [`Parent::Hw`].
    ///
    /// # Errors
    /// `EEXIST` if `hw.<name>` is a leaf (the kernel allocates with `M_WAITOK`).
    ///
    /// # Context
    /// May sleep.
    pub fn add_hw_node(&self, name: &CStr, descr: &CStr) -> Result<SysctlNode<'_>> {
        self.add_top_node(Parent::Hw, name, descr)
    }

    /// Adds a node `<parent>.<name>`, readable by everyone.
    ///
    /// # Errors
    /// `EEXIST` if `<parent>.<name>` is a leaf (the kernel allocates with
    /// `M_WAITOK`).
    ///
    /// # Context
    /// May sleep.
    pub fn add_top_node(
        &self,
        parent: Parent,
        name: &CStr,
        descr: &CStr,
    ) -> Result<SysctlNode<'_>> {
        self.add_node_under(parent.children(), name, descr)
    }

    /// Adds a node `<parent>.<name>`.
    ///
    /// # Errors
    /// `EEXIST` if the name is a leaf (the kernel allocates with `M_WAITOK`).
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
            sys::shim_SYSCTL_ADD_NODE(self.list(), parent, name.as_ptr(), descr.as_ptr())
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
    /// `EEXIST` if the name is taken (the kernel allocates with `M_WAITOK`).
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
            sys::shim_SYSCTL_ADD_U64_RD(
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

    /// Adds a counter(9) leaf `<node>.<name>` showing the
    /// [`Counter`](crate::counter::Counter) that `field` selects
    /// (`SYSCTL_ADD_COUNTER_U64`, `sysctl_handle_counter_u64`): a read
    /// gives the sum over every CPU; with `writable`, root may write any
    /// value, which zeroes the counter ("Any write attempt to a counter
    /// zeroes it", `sys/kern/subr_counter.c`), else writes are `EPERM`.
    ///
    /// # Errors
    /// `EEXIST` if the name is taken (the kernel allocates with `M_WAITOK`).
    ///
    /// # Context
    /// May sleep.
    pub fn add_counter(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        writable: bool,
        field: fn(&T) -> &Counter,
    ) -> Result {
        let counter = field(&self.ctx.data);
        // SAFETY: the context list is initialised; `node` is a live node;
        // the counter (the `counter_u64_t` variable, `repr(transparent)`)
        // lives in the context's `Arc<T>`, which outlives the node (type
        // invariant of the context), and stays allocated as long as it.
        let oid = unsafe {
            sys::shim_SYSCTL_ADD_COUNTER_U64(
                self.list(),
                children(node),
                name.as_ptr(),
                c_int::from(writable),
                counter.as_raw(),
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
    /// A write runs `validate` with the context's data, the new value and
    /// the requesting thread's [`Sleepable`] token; if it returns an error,
    /// the write fails with that errno and the value is unchanged (return
    /// `EINVAL` for a value out of range), else the new value is stored.
    ///
    /// `validate` runs in the context of the `sysctl(3)` caller's system
    /// call and may sleep: FreeBSD calls a node's handler with the sysctl
    /// lock released and, for an `CTLFLAG_MPSAFE` node such as this one,
    /// without `Giant` (`sysctl_root_handler_locked`,
    /// `sys/kern/kern_sysctl.c`, FreeBSD 15). A sleep on its behalf should
    /// be interruptible ([`Wait::INTERRUPTIBLE`](crate::sync::Wait)): the
    /// `ERESTART` of a signal restarts the `sysctl(3)` call, `EINTR` ends
    /// it. Writes to one node are not serialised by the kernel: two
    /// writers may run `validate` at the same time.
    ///
    /// # Errors
    /// `EEXIST` if the name is taken (the record is allocated with
    /// `M_WAITOK`: no `ENOMEM`).
    ///
    /// # Context
    /// May sleep.
    pub fn add_tunable(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        field: fn(&T) -> &Tunable,
        validate: Validate<T>,
    ) -> Result {
        self.add_proc::<true>(node, name, descr, field, validate)
    }

    /// Adds a command `<node>.<name>` (writable by root only): a read
    /// shows the [`Tunable`] that `field` selects, a write runs `run` with
    /// the context's data, the value written and the requesting thread's
    /// [`Sleepable`] token, and fails with its error. The value written is
    /// not stored: `run` sets the field to what the node should show (a
    /// computation's result, say).
    ///
    /// `run` may sleep, as [`add_tunable`](Self::add_tunable)'s
    /// validation may; concurrent writers run it at the same time.
    ///
    /// # Errors
    /// As [`add_tunable`](Self::add_tunable).
    ///
    /// # Context
    /// May sleep.
    pub fn add_command(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        field: fn(&T) -> &Tunable,
        run: Validate<T>,
    ) -> Result {
        self.add_proc::<false>(node, name, descr, field, run)
    }

    /// A tunable (`STORE`: the value written is stored after `validate`)
    /// or a command.
    fn add_proc<const STORE: bool>(
        &self,
        node: &SysctlNode<'_>,
        name: &CStr,
        descr: &CStr,
        field: fn(&T) -> &Tunable,
        validate: Validate<T>,
    ) -> Result {
        let data: &T = &self.ctx.data;
        // INVARIANT: both pointers point into the context's `Arc<T>`.
        let record = Box::new(
            TunableOid {
                data: NonNull::from(data),
                tunable: NonNull::from(field(data)),
                validate,
                next: self.ctx.tunables.get(),
            },
            self.cx.waitok(),
        );
        // The record goes to the kernel as the node's `arg1`; the context
        // keeps the pointer (before the node can use it) to take it back
        // once the nodes are removed.
        let arg1 = record.into_foreign();
        self.ctx.tunables.set(arg1);
        // SAFETY: the context list is initialised; `node` is a live node;
        // `arg1` is a record the context takes back only after the node is
        // removed; the handler matches the record's type.
        let oid = unsafe {
            sys::shim_SYSCTL_ADD_PROC_U64_RW(
                self.list(),
                children(node),
                name.as_ptr(),
                arg1,
                0,
                Some(tunable_handler::<T, STORE>),
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
        self.ctx
    }

    fn list(&self) -> *mut sys::sysctl_ctx_list {
        self.ctx.list.get()
    }
}

/// `SYSCTL_CHILDREN(node)`.
fn children(node: &SysctlNode<'_>) -> *mut sys::sysctl_oid_list {
    // SAFETY: `node` is a live node of a context being built.
    unsafe { sys::shim_sysctl_children(node.oid.as_ptr()) }
}

/// The handler of a tunable (`STORE`) or a command: `sysctl_handle_64` on
/// a copy of the value, then validation of a new value before it is
/// stored (for a tunable); `validate` gets a [`Sleepable`] token (see
/// [`SysctlBuilder::add_tunable`]).
///
/// # Safety
/// Called by the kernel for a node added by
/// [`SysctlBuilder::add_tunable`] for `T`, with `arg1` its record.
unsafe extern "C" fn tunable_handler<T: Send + Sync + 'static, const STORE: bool>(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: `arg1` is the node's record (`into_foreign` of a
    // `Box<TunableOid<T>>`), which the context takes back only after the
    // node is removed; sysctl_ctx_free(9) waits for running handlers first.
    let record = unsafe { Box::<TunableOid<T>>::borrow(arg1) };
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
    // SAFETY: a sysctl handler runs in the requesting thread's system
    // call, with no lock held: sysctl_root_handler_locked
    // (sys/kern/kern_sysctl.c, FreeBSD 15) releases the sysctl lock before
    // calling it and takes `Giant` only for nodes without CTLFLAG_MPSAFE,
    // which `SYSCTL_ADD_PROC_U64_RW` sets. The token lives for this call.
    let mut cx = unsafe { Sleepable::new() };
    if let Err(e) = (record.validate)(data, value, &mut cx) {
        return e.to_errno();
    }
    if STORE {
        tunable.set(value);
    }
    0
}
