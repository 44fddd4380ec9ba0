// SPDX-License-Identifier: BSD-2-Clause
//! The statics shape: [`SysctlTree`], a node `hw.<name>` over a `static`
//! table of [`SysctlLeaf`]s.

use super::Tunable;
use crate::alloc::Box;
use crate::context::Sleepable;
use crate::error::{Result, code};
use crate::foreign::ForeignOwnable;
use crate::opaque::Opaque;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

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
    /// - `EEXIST`: `hw.<name>` is a leaf, or a leaf's name is taken. Nothing
    ///   else: the context and the nodes are allocated with `M_WAITOK`.
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
        let list = Box::new(Opaque::<sys::sysctl_ctx_list>::zeroed(), cx.waitok());
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
            let (kind, arg1, handler): (c_int, *mut c_void, Handler) = match leaf.validate {
                None => (
                    U64_RD_KIND,
                    leaf.value.as_ptr().cast(),
                    sys::sysctl_handle_64,
                ),
                Some(_) => (U64_RW_KIND, leaf.into_foreign(), static_tunable_handler),
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

/// A sysctl handler (`SYSCTL_HANDLER_ARGS`, `sys/sys/sysctl.h`).
type Handler = unsafe extern "C" fn(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int;

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
    // SAFETY: `arg1` is the node's `'static` leaf, from `into_foreign` (the
    // caller's contract).
    let leaf = unsafe { <&'static SysctlLeaf>::borrow(arg1) };
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
