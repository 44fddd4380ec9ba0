// SPDX-License-Identifier: BSD-2-Clause
//! The statics shape: [`SysctlTree`], a node `<parent>.<name>` over a
//! `static` table of [`SysctlLeaf`]s.

use super::req::SysctlReq;
use super::values::{Counters, IntTunable, STRING_TUNABLE_MAX, StringTunable, read_seq, write_seq};
use super::{Parent, Tunable};
use crate::alloc::Box;
use crate::context::Sleepable;
use crate::error::{Result, code, to_ret};
use crate::foreign::ForeignOwnable;
use crate::opaque::Opaque;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::mem::ManuallyDrop;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};

/// One leaf of a [`SysctlTree`], over `static`s of the module: a
/// read-only counter, `int` or string, a validated tunable (64-bit, `int`
/// or string), or a custom handler.
///
/// Built by `const fn`s, so a module declares its whole tree as a `static`
/// slice, which [`SysctlTree::register`] walks.
/// [`loader_tunable`](Self::loader_tunable) makes a leaf take its value
/// from the kernel environment when it is added (`CTLFLAG_TUN`).
///
/// ```
/// use core::sync::atomic::AtomicI32;
/// use kern::prelude::*;
/// use kern::sysctl::{IntTunable, StringTunable, SysctlLeaf, SysctlReq, SysctlType};
///
/// static CPUS: AtomicI32 = AtomicI32::new(4);
/// static LEVEL: IntTunable = IntTunable::new(1);
/// static MODE: StringTunable<16> = StringTunable::new(b"fast");
///
/// /// Twice LEVEL, computed per request.
/// fn double(req: &mut SysctlReq<'_>) -> Result {
///     let mut v = LEVEL.get().saturating_mul(2);
///     req.handle_int(&mut v)
/// }
///
/// static LEAVES: &[SysctlLeaf] = &[
///     SysctlLeaf::int(c"cpus", c"CPUs used", &CPUS),
///     SysctlLeaf::int_tunable(c"level", c"Level, 0 to 3", &LEVEL, |v| (0..=3).contains(&v))
///         .loader_tunable(),
///     SysctlLeaf::string(c"version", c"Driver version", c"1.0"),
///     SysctlLeaf::string_tunable(c"mode", c"fast or safe", &MODE, |s| s == b"fast" || s == b"safe"),
///     SysctlLeaf::handler(c"double", c"Twice the level", SysctlType::Int, false, double),
/// ];
/// ```
///
/// # Invariants
/// `name` and `descr` point to `'static` NUL-terminated strings. `value`
/// and `func` are what the leaf's `const fn` put there for the kind that
/// `handler` and `oid_kind` name:
///
/// | kind | `handler` | `value` | `func` |
/// |---|---|---|---|
/// | counter | `sysctl_handle_64` | `&'static AtomicU64` | null |
/// | `int` | `sysctl_handle_int` | `&'static AtomicI32` | null |
/// | constant string | `sysctl_handle_string` | `&'static CStr` | null |
/// | 64-bit tunable | `u64_tunable_handler` | `&'static AtomicU64` | `fn(u64) -> bool` |
/// | `int` tunable | `int_tunable_handler` | `&'static AtomicI32` | `fn(i32) -> bool` |
/// | string tunable | `string_tunable_handler::<N>` | `&'static StringTunable<N>` | `fn(&[u8]) -> bool` |
/// | custom | `custom_handler` | null | `fn(&mut SysctlReq<'_>) -> Result` |
/// | `count` counters | `sysctl_handle_64` | `&'static [AtomicU64; count]` | null |
///
/// A null `func` means the kernel's own handler, which gets `value` as
/// `arg1`; otherwise the handler of the kind gets the leaf itself.
///
/// `count` is 1, except for [`counters`](Self::counters), whose entry
/// adds `count` leaves: its `descr` is null and its `name` points to
/// `count` pairs of NUL-terminated name and description, back to back
/// (no string empty), the leaves' in order.
pub struct SysctlLeaf {
    name: *const c_char,
    descr: *const c_char,
    /// The handler `sysctl_add_oid(9)` gets: the kernel's own for a
    /// counter, `int` or constant string, else the one of this leaf's kind,
    /// chosen by its `const fn`, so that a module links the handlers of the
    /// kinds it uses and no others.
    handler: Handler,
    /// The value the leaf shows (null for a custom handler's leaf).
    value: *const c_void,
    /// The kind's function (validation, or the module's handler), null for
    /// the kernel's handlers. A leaf is 48 bytes, not the 64 of an enum of
    /// kinds: the kind is in `handler` already.
    func: *const (),
    /// The `oid_kind` (`CTLTYPE_*` and `CTLFLAG_*`, `CTLFLAG_TUN` for a
    /// loader tunable), computed with the leaf so that registration only
    /// copies it.
    oid_kind: u32,
    /// How many leaves this entry adds: 1, or the number of
    /// [`counters`](Self::counters) (in what was padding: a leaf is still
    /// 48 bytes).
    count: u32,
}

/// The access flags of a read-only leaf.
const RD: u32 = sys::CTLFLAG_RD | sys::CTLFLAG_MPSAFE;
/// The access flags of a leaf writable by root.
const RW: u32 = sys::CTLFLAG_RW | sys::CTLFLAG_MPSAFE;

/// The type of a custom handler's leaf ([`SysctlLeaf::handler`]): how
/// `sysctl(8)` shows and parses its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SysctlType {
    /// `CTLTYPE_INT`, format `"I"`: a 32-bit `int`.
    Int,
    /// `CTLTYPE_U64`, format `"QU"`: a 64-bit unsigned integer.
    U64,
    /// `CTLTYPE_STRING`, format `"A"`: a NUL-terminated string.
    String,
}

impl SysctlType {
    /// `CTLTYPE_*` and the format string.
    const fn ctl(self) -> (u32, &'static CStr) {
        match self {
            SysctlType::Int => (sys::CTLTYPE_INT, c"I"),
            SysctlType::U64 => (sys::CTLTYPE_U64, c"QU"),
            SysctlType::String => (sys::CTLTYPE_STRING, c"A"),
        }
    }
}

// SAFETY: the pointers point to `'static` immutable strings, `'static`
// `Sync` values (atomics, a `CStr`, a `StringTunable`) or functions (type
// invariant).
unsafe impl Sync for SysctlLeaf {}

impl SysctlLeaf {
    /// A leaf `name` of `oid_kind`, added with `handler`, showing `value`
    /// with `func` (not a loader tunable).
    const fn of(
        name: &'static CStr,
        descr: &'static CStr,
        oid_kind: u32,
        handler: Handler,
        value: *const c_void,
        func: *const (),
    ) -> Self {
        // Host builds link no kernel (see `host_handler`).
        #[cfg(not(target_os = "none"))]
        let handler: Handler = {
            let _ = handler;
            host_handler
        };
        // INVARIANT: `'static` C strings; the callers pass the rest as the
        // table of the type's invariant gives it.
        Self {
            name: name.as_ptr(),
            descr: descr.as_ptr(),
            handler,
            value,
            func,
            oid_kind,
            count: 1,
        }
    }

    /// `N` read-only 64-bit counters `<node>.<name>` in one table entry,
    /// each as [`counter`](Self::counter) shows one: the leaves of
    /// `values`, in order, named and described by `text`, which holds `N`
    /// pairs of a name and a description, each ended by a NUL:
    /// `b"opens\0Successful opens\0reads\0Successful reads\0"`.
    ///
    /// One entry of 48 bytes, not `N`: a module with many counters keeps a
    /// smaller table (the strings are the same bytes either way).
    ///
    /// # Panics
    /// When `text` does not hold exactly `N` non-empty pairs, or `N` is 0:
    /// at compile time, since the table is a `static`.
    #[must_use]
    pub const fn counters<const N: usize>(
        text: &'static [u8],
        values: &'static Counters<N>,
    ) -> Self {
        let strings = packed_strings(text);
        assert!(
            N > 0 && matches!(N.checked_mul(2), Some(pairs) if pairs == strings),
            "counters: N name and description pairs"
        );
        assert!(N <= 0xffff_ffff, "counters: too many");
        #[allow(
            clippy::as_conversions,
            clippy::cast_possible_truncation,
            reason = "at most u32::MAX, checked just above; no `TryFrom` in a `const fn`"
        )]
        let count = N as u32;
        let value = values.0.as_ptr().cast::<c_void>();
        let mut leaf = Self::of(
            c"",
            c"",
            sys::CTLTYPE_U64 | RD,
            sys::sysctl_handle_64,
            value,
            ptr::null(),
        );
        // INVARIANT: `count` pairs of non-empty NUL-terminated strings
        // (counted above), `'static`, over `N` counters.
        leaf.name = text.as_ptr().cast();
        leaf.descr = ptr::null();
        leaf.count = count;
        leaf
    }
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
        let value = value.as_ptr().cast_const().cast();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_U64 | RD,
            sys::sysctl_handle_64,
            value,
            ptr::null(),
        )
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
        let value: *const AtomicU64 = &raw const value.value;
        #[allow(
            clippy::as_conversions,
            reason = "a function pointer as an untyped pointer: no `From` in a `const fn`"
        )]
        let func = validate as *const ();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_U64 | RW,
            u64_tunable_handler,
            value.cast(),
            func,
        )
    }

    /// A read-only `int` `<node>.<name>` showing `value` (`SYSCTL_INT(9)`
    /// with `CTLFLAG_RD`, `sysctl_handle_int`).
    #[must_use]
    pub const fn int(name: &'static CStr, descr: &'static CStr, value: &'static AtomicI32) -> Self {
        let value = value.as_ptr().cast_const().cast();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_INT | RD,
            sys::sysctl_handle_int,
            value,
            ptr::null(),
        )
    }

    /// A read-write `int` tunable (`CTLTYPE_INT`), writable by root only,
    /// validated as [`tunable`](Self::tunable) is.
    #[must_use]
    pub const fn int_tunable(
        name: &'static CStr,
        descr: &'static CStr,
        value: &'static IntTunable,
        validate: fn(i32) -> bool,
    ) -> Self {
        let value: *const AtomicI32 = &raw const value.value;
        #[allow(
            clippy::as_conversions,
            reason = "a function pointer as an untyped pointer: no `From` in a `const fn`"
        )]
        let func = validate as *const ();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_INT | RW,
            int_tunable_handler,
            value.cast(),
            func,
        )
    }

    /// A read-only constant string (`SYSCTL_STRING(9)` with `CTLFLAG_RD`
    /// and length 0, `sysctl_handle_string`). A constant cannot be a
    /// loader tunable: [`loader_tunable`](Self::loader_tunable) leaves it
    /// alone.
    #[must_use]
    pub const fn string(name: &'static CStr, descr: &'static CStr, value: &'static CStr) -> Self {
        let value = value.as_ptr().cast();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_STRING | RD,
            sys::sysctl_handle_string,
            value,
            ptr::null(),
        )
    }

    /// A read-write string (`CTLTYPE_STRING`), writable by root only, as
    /// `sysctl_handle_string` writes a `char buf[N]`: a new value of `N`
    /// bytes or more fails with `EINVAL`, as does one `validate` refuses
    /// (given the bytes up to the first NUL); either leaves the value
    /// unchanged. A read reports the length with its NUL.
    #[must_use]
    pub const fn string_tunable<const N: usize>(
        name: &'static CStr,
        descr: &'static CStr,
        value: &'static StringTunable<N>,
        validate: fn(&[u8]) -> bool,
    ) -> Self {
        let value: *const StringTunable<N> = value;
        #[allow(
            clippy::as_conversions,
            reason = "a function pointer as an untyped pointer: no `From` in a `const fn`"
        )]
        let func = validate as *const ();
        Self::of(
            name,
            descr,
            sys::CTLTYPE_STRING | RW,
            string_tunable_handler::<N>,
            value.cast(),
            func,
        )
    }

    /// A leaf whose requests `handler` answers (`SYSCTL_PROC(9)`), of type
    /// `ty`; `writable` makes it writable by root (`CTLFLAG_RW`), else it
    /// is read-only (`CTLFLAG_RD`: the kernel refuses writes with `EPERM`
    /// before calling the handler). The handler gets the request as a
    /// [`SysctlReq`]; its error is the caller's errno. It runs in the
    /// caller's system call and may sleep ([`SysctlReq::sleepable`]).
    #[must_use]
    pub const fn handler(
        name: &'static CStr,
        descr: &'static CStr,
        ty: SysctlType,
        writable: bool,
        handler: fn(&mut SysctlReq<'_>) -> Result,
    ) -> Self {
        let oid_kind = ty.ctl().0 | if writable { RW } else { RD };
        #[allow(
            clippy::as_conversions,
            reason = "a function pointer as an untyped pointer: no `From` in a `const fn`"
        )]
        let func = handler as *const ();
        Self::of(name, descr, oid_kind, custom_handler, ptr::null(), func)
    }

    /// The same leaf as a loader tunable (`CTLFLAG_TUN`, as `CTLFLAG_RWTUN`
    /// and `CTLFLAG_RDTUN` add): when it is added, the kernel sets it from
    /// the kernel environment variable of its full name (`hw.mod.leaf`,
    /// from `loader.conf(5)` or `kenv(1)`), through its handler, so the
    /// validation applies (`sysctl_register_oid` →
    /// `sysctl_load_tunable_by_oid_locked`, `sys/kern/kern_sysctl.c`). A
    /// value that does not parse as the leaf's type is ignored; one the
    /// handler refuses is reported ("Setting sysctl ... failed") and
    /// ignored. A constant [`string`](Self::string) is left as it is.
    #[must_use]
    pub const fn loader_tunable(mut self) -> Self {
        if !self.is_constant_string() {
            self.oid_kind |= sys::CTLFLAG_TUN;
        }
        self
    }

    /// Whether the leaf is a constant [`string`](Self::string): a string
    /// shown by the kernel's own handler.
    const fn is_constant_string(&self) -> bool {
        self.func.is_null() && self.oid_kind & sys::CTLTYPE == sys::CTLTYPE_STRING
    }

    /// Whether the leaf is a loader tunable (`CTLFLAG_TUN`).
    const fn tun(&self) -> bool {
        self.oid_kind & sys::CTLFLAG_TUN != 0
    }
}

/// How many NUL-terminated strings `text` holds back to back; 0 if it does
/// not end with a NUL or holds an empty string.
const fn packed_strings(text: &[u8]) -> usize {
    let mut strings: usize = 0;
    let mut start = true;
    let mut rest = text;
    while let [byte, tail @ ..] = rest {
        if *byte == 0 {
            if start {
                return 0;
            }
            // At most the text's length: no overflow.
            strings = strings.wrapping_add(1);
            start = true;
        } else {
            start = false;
        }
        rest = tail;
    }
    if start { strings } else { 0 }
}

/// The string after the NUL-terminated string at `s`.
///
/// # Safety
/// `s` is a NUL-terminated string followed by another in one `'static`
/// object.
unsafe fn next_string(mut s: *const c_char) -> *const c_char {
    // A byte loop, not `CStr::from_ptr`, and volatile reads, so that LLVM
    // does not make it a `strlen` call: that would link compiler_builtins'
    // `strlen` (300 bytes) into the module. Load only: speed is no matter.
    loop {
        // SAFETY: `s` is in the string or at its NUL (the caller's
        // contract), so it is readable; a volatile read of it is a read.
        let byte = unsafe { s.read_volatile() };
        // SAFETY: the byte after it is in the same object: the string's
        // next byte, or the start of the next string after the NUL.
        s = unsafe { s.add(1) };
        if byte == 0 {
            return s;
        }
    }
}

impl core::fmt::Debug for SysctlLeaf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match (
            self.oid_kind & sys::CTLTYPE,
            self.func.is_null(),
            self.value.is_null(),
        ) {
            _ if self.descr.is_null() => "counters",
            (_, false, true) => "handler",
            (sys::CTLTYPE_INT, true, _) => "int",
            (sys::CTLTYPE_INT, false, _) => "int tunable",
            (sys::CTLTYPE_STRING, true, _) => "string",
            (sys::CTLTYPE_STRING, false, _) => "string tunable",
            (_, true, _) => "counter",
            (_, false, _) => "tunable",
        };
        f.debug_struct("SysctlLeaf")
            .field("kind", &kind)
            .field("loader_tunable", &self.tun())
            .finish_non_exhaustive()
    }
}

/// The format string of a node of `oid_kind`: that of its `CTLTYPE_*`, as
/// `SYSCTL_ADD_U64`/`INT`/`STRING`/`PROC` give it.
const fn fmt_of(oid_kind: u32) -> &'static CStr {
    match oid_kind & sys::CTLTYPE {
        sys::CTLTYPE_INT => c"I",
        sys::CTLTYPE_STRING => c"A",
        _ => c"QU",
    }
}

impl SysctlLeaf {
    /// The `oid_kind` and format string of this leaf's node.
    const fn kind_fmt(&self) -> (u32, &'static CStr) {
        (self.oid_kind, fmt_of(self.oid_kind))
    }

    /// The `arg1` [`SysctlTree::register`] passes to `sysctl_add_oid(9)`
    /// for this leaf: the value for the kernel's standard handlers, and the
    /// leaf itself for the handler of its kind.
    fn arg1(&'static self) -> *mut c_void {
        if self.func.is_null() {
            // The kernel only reads a constant string through `arg1` (arg2
            // 0, no CTLFLAG_WR or CTLFLAG_TUN: sysctl_handle_string treats
            // it as read-only).
            self.value.cast_mut()
        } else {
            self.into_foreign()
        }
    }
}
/// The node `hw.<name>` and the leaves of a static table, showing the
/// module's statics; removed when dropped.
///
/// # Invariants
/// `list` was initialised with `sysctl_ctx_init(9)` at its (heap) address
/// and holds every node added for this tree; it is freed only by `Drop`.
/// The nodes point only to `'static` data: the table's leaves, the values
/// they show, and the handlers of their kinds.
pub struct SysctlTree {
    /// Freed by `Drop`, out of line with `sysctl_ctx_free(9)`, so that no
    /// module inlines the free at each of its drops.
    list: ManuallyDrop<Box<Opaque<sys::sysctl_ctx_list>>>,
}

// SAFETY: the list is only touched by `register_hw` (before the tree is
// shared) and `Drop`; `&SysctlTree` gives nothing.
unsafe impl Sync for SysctlTree {}

impl SysctlTree {
    /// Adds the node `hw.<name>`: [`register`](Self::register) under
    /// [`Parent::Hw`].
    ///
    /// # Errors
    /// As [`register`](Self::register).
    ///
    /// # Context
    /// May sleep.
    pub fn register_hw(
        name: &'static CStr,
        descr: &'static CStr,
        leaves: &'static [SysctlLeaf],
        cx: &mut Sleepable,
    ) -> Result<Self> {
        Self::register(Parent::Hw, name, descr, leaves, cx)
    }

    /// Adds the node `<parent>.<name>` (readable by everyone), then one
    /// leaf per entry of `leaves`, in order.
    ///
    /// If the node exists already (another module's), it is shared, as
    /// `SYSCTL_ADD_NODE(9)` shares it.
    ///
    /// # Errors
    /// - `EEXIST`: `<parent>.<name>` is a leaf, or a leaf's name is taken.
    ///   Nothing else: the context and the nodes are allocated with
    ///   `M_WAITOK`.
    ///
    /// What was added before an error is removed again.
    ///
    /// # Context
    /// May sleep.
    pub fn register(
        parent: Parent,
        name: &'static CStr,
        descr: &'static CStr,
        leaves: &'static [SysctlLeaf],
        cx: &mut Sleepable,
    ) -> Result<Self> {
        let list = Box::new(Opaque::<sys::sysctl_ctx_list>::uninit(), cx.waitok());
        // SAFETY: `list` is a writable list head at its final address (the
        // box is never moved out of), not yet initialised: sysctl_ctx_init
        // is `TAILQ_INIT` (`sys/kern/kern_sysctl.c`, FreeBSD 15), which
        // writes both fields of the head and reads neither. It fails only for NULL (`EINVAL`,
        // kern_sysctl.c): its value says nothing here.
        unsafe { sys::sysctl_ctx_init(list.get()) };
        // INVARIANT: initialised and empty; everything added below is
        // `'static`. Dropping `tree` on an error removes what was added.
        let tree = Self {
            list: ManuallyDrop::new(list),
        };
        tree.add_all(parent.children(), name, descr, leaves)?;
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
        // SAFETY: `list` is initialised (type invariant); `parent` is a
        // static root node's children list ([`Parent`]); the strings are NUL-terminated
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
            let (kind, fmt) = leaf.kind_fmt();
            let mut arg1 = leaf.arg1();
            let packed = leaf.descr.is_null();
            let mut text = leaf.name;
            for _ in 0..leaf.count {
                let (name, descr) = if packed {
                    // SAFETY: `text` is one of the entry's `count` pairs of
                    // strings (type invariant), so a description follows
                    // the name, and the next pair the description (read
                    // only while pairs are left).
                    let descr = unsafe { next_string(text) };
                    let name = text;
                    // SAFETY: as above.
                    text = unsafe { next_string(descr) };
                    (name, descr)
                } else {
                    (leaf.name, leaf.descr)
                };
                // SAFETY: as above for `list`; `children` is the new node's
                // list; the strings are `'static` C strings (type invariant of
                // the leaf). `arg1` is a `'static` value that the standard
                // handler of its type reads (and, for a loader tunable, writes
                // once at registration: an atomic, or nothing for a constant
                // string, see `loader_tunable`), or this `'static` leaf, which
                // the handler of its kind expects; all outlive the node. As
                // `SYSCTL_ADD_U64`/`INT`/`STRING`/`PROC` expand. For an
                // entry of counters, `arg1` is counter `i` of its array.
                let oid = unsafe {
                    sys::sysctl_add_oid(
                        list,
                        children,
                        sys::OID_AUTO,
                        name,
                        kind.cast_signed(),
                        arg1,
                        0,
                        Some(leaf.handler),
                        fmt.as_ptr(),
                        descr,
                        ptr::null(),
                    )
                };
                if oid.is_null() {
                    return Err(code::EEXIST);
                }
                // The next counter of an entry of counters (the count bounds
                // the steps to its array).
                arg1 = arg1.cast::<AtomicU64>().wrapping_add(1).cast();
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
    #[inline(never)]
    fn drop(&mut self) {
        // SAFETY: the list was initialised (type invariant) and is freed
        // once, here.
        let ret = unsafe { sys::sysctl_ctx_free(self.list.get()) };
        if ret != 0 {
            // The refused entries still point to the head: leak it too.
            ctx_free_failed();
            return;
        }
        // SAFETY: dropped once, here, and not used after; the list is
        // empty (`sysctl_ctx_free` succeeded).
        unsafe { ManuallyDrop::drop(&mut self.list) };
    }
}

/// Reports a refused `sysctl_ctx_free(9)`: cold, a constant message (inlined
/// into the one drop that calls it: a call and a frame cost more).
#[cold]
fn ctx_free_failed() {
    crate::print::println_prefixed(c"%.*s: sysctl_ctx_free failed: a node is still in use\n");
}

/// Host builds (unit tests, doctests) have no kernel to link against:
/// their leaves hold this stand-in instead of a handler, and nothing calls
/// it.
#[cfg(not(target_os = "none"))]
unsafe extern "C" fn host_handler(
    _oidp: *mut sys::sysctl_oid,
    _arg1: *mut c_void,
    _arg2: sys::intmax_t,
    _req: *mut sys::sysctl_req,
) -> c_int {
    code::EINVAL.to_errno()
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

/// The handler of a [`SysctlLeaf::tunable`]: `sysctl_handle_64` on a copy
/// of the value, then validation of a new value before it is stored.
///
/// # Safety
/// Called by the kernel for a node added by [`SysctlTree::register`] for
/// such a leaf, with `arg1` that leaf.
unsafe extern "C" fn u64_tunable_handler(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: the caller's contract is this function's, and
    // `handle_u64_tunable`'s: `arg1` is a tunable's leaf.
    unsafe { leaf_request(oidp, arg1, req, handle_u64_tunable) }
}

/// The handler of a [`SysctlLeaf::int_tunable`], as
/// `u64_tunable_handler` with `sysctl_handle_int`.
///
/// # Safety
/// As `u64_tunable_handler`.
unsafe extern "C" fn int_tunable_handler(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: as in `u64_tunable_handler`, for an `int` tunable's leaf.
    unsafe { leaf_request(oidp, arg1, req, handle_int_tunable) }
}

/// The handler of a [`SysctlLeaf::string_tunable`] of `N` bytes
/// ([`handle_string`]).
///
/// # Safety
/// As `u64_tunable_handler`.
unsafe extern "C" fn string_tunable_handler<const N: usize>(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: as in `u64_tunable_handler`, for a string tunable's leaf of
    // `N` bytes (the handler is chosen with `N` by `string_tunable`).
    unsafe { leaf_request(oidp, arg1, req, handle_string_tunable::<N>) }
}

/// The handler of a [`SysctlLeaf::handler`]: the module's function.
///
/// # Safety
/// As `u64_tunable_handler`.
unsafe extern "C" fn custom_handler(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    _arg2: sys::intmax_t,
    req: *mut sys::sysctl_req,
) -> c_int {
    // SAFETY: as in `u64_tunable_handler`, for a custom handler's leaf.
    unsafe { leaf_request(oidp, arg1, req, handle_custom) }
}

/// A request on the leaf `arg1`, answered by `handle` (the one of the
/// leaf's kind): what every handler above shares. Inline: with `handle`
/// a constant, each handler becomes one function with no indirect call
/// (smaller in every module measured: rustecho.ko, rustfifo.ko,
/// kselftest.ko).
///
/// # Safety
/// `oidp` and `req` are the kernel's for this call, on a node added by
/// [`SysctlTree::register`] with `arg1` its `'static` leaf, of the kind
/// `handle` answers.
#[inline]
unsafe fn leaf_request(
    oidp: *mut sys::sysctl_oid,
    arg1: *mut c_void,
    req: *mut sys::sysctl_req,
    handle: unsafe fn(&SysctlLeaf, &mut SysctlReq<'_>) -> Result,
) -> c_int {
    // SAFETY: `arg1` is the node's `'static` leaf, from `into_foreign` (the
    // caller's contract).
    let leaf = unsafe { <&'static SysctlLeaf>::borrow(arg1) };
    // SAFETY: the kernel's OID and request for this call, on a node added
    // with `RD` or `RW` flags, both `CTLFLAG_MPSAFE`; the wrapper lives only
    // for it.
    let Some(mut req) = (unsafe { SysctlReq::new(oidp, req) }) else {
        return code::EINVAL.to_errno();
    };
    // SAFETY: `leaf` is of the kind `handle` answers (the caller's
    // contract).
    to_ret(unsafe { handle(leaf, &mut req) })
}

/// A request on a 64-bit tunable.
///
/// # Safety
/// `leaf` was built by [`SysctlLeaf::tunable`].
unsafe fn handle_u64_tunable(leaf: &SysctlLeaf, req: &mut SysctlReq<'_>) -> Result {
    // SAFETY: `tunable` put a `&'static AtomicU64` in `value` and a
    // `fn(u64) -> bool` in `func` (the type invariant's table); a function
    // pointer cast to `*const ()` and back is the same function.
    let value = unsafe { &*leaf.value.cast::<AtomicU64>() };
    // SAFETY: as above; a function pointer cast to `*const ()` and back is
    // the same function.
    let validate = unsafe { core::mem::transmute::<*const (), fn(u64) -> bool>(leaf.func) };
    let mut v = value.load(Ordering::Relaxed);
    req.handle_u64(&mut v)?;
    if req.has_new() {
        if !validate(v) {
            return Err(code::EINVAL);
        }
        value.store(v, Ordering::Relaxed);
    }
    Ok(())
}

/// A request on an `int` tunable.
///
/// # Safety
/// `leaf` was built by [`SysctlLeaf::int_tunable`].
unsafe fn handle_int_tunable(leaf: &SysctlLeaf, req: &mut SysctlReq<'_>) -> Result {
    // SAFETY: as in `handle_u64_tunable`: `int_tunable` put a
    // `&'static AtomicI32` and a `fn(i32) -> bool` there.
    let value = unsafe { &*leaf.value.cast::<AtomicI32>() };
    // SAFETY: as above; a function pointer cast to `*const ()` and back is
    // the same function.
    let validate = unsafe { core::mem::transmute::<*const (), fn(i32) -> bool>(leaf.func) };
    let mut v = value.load(Ordering::Relaxed);
    req.handle_int(&mut v)?;
    if req.has_new() {
        if !validate(v) {
            return Err(code::EINVAL);
        }
        value.store(v, Ordering::Relaxed);
    }
    Ok(())
}

/// A request on a string tunable of `N` bytes.
///
/// # Safety
/// `leaf` was built by [`SysctlLeaf::string_tunable`] with `N`.
unsafe fn handle_string_tunable<const N: usize>(
    leaf: &SysctlLeaf,
    req: &mut SysctlReq<'_>,
) -> Result {
    // SAFETY: as in `handle_u64_tunable`: `string_tunable::<N>` put a
    // `&'static StringTunable<N>` and a `fn(&[u8]) -> bool` there.
    let value = unsafe { &*leaf.value.cast::<StringTunable<N>>() };
    // SAFETY: as above; a function pointer cast to `*const ()` and back is
    // the same function.
    let validate = unsafe { core::mem::transmute::<*const (), fn(&[u8]) -> bool>(leaf.func) };
    handle_string(req, &value.seq, &value.bytes, validate)
}

/// A request on a custom handler's leaf.
///
/// # Safety
/// `leaf` was built by [`SysctlLeaf::handler`].
unsafe fn handle_custom(leaf: &SysctlLeaf, req: &mut SysctlReq<'_>) -> Result {
    // SAFETY: as in `handle_u64_tunable`: `handler` put the module's
    // `fn(&mut SysctlReq<'_>) -> Result` in `func`.
    let handler =
        unsafe { core::mem::transmute::<*const (), fn(&mut SysctlReq<'_>) -> Result>(leaf.func) };
    handler(req)
}

/// `sysctl_handle_string` (`sys/kern/kern_sysctl.c`, FreeBSD 15) on a
/// [`StringTunable`], with validation: the value and its NUL out; a new
/// value of `bytes.len()` bytes or more is `EINVAL`; else it is read,
/// validated and stored. Out of line: its two buffers stay off the stack
/// of the other leaves' requests.
#[inline(never)]
fn handle_string(
    req: &mut SysctlReq<'_>,
    seq: &AtomicU32,
    bytes: &[AtomicU8],
    validate: fn(&[u8]) -> bool,
) -> Result {
    let mut old = [0u8; STRING_TUNABLE_MAX];
    let out = old.get_mut(..bytes.len()).ok_or(code::EINVAL)?;
    let len = read_seq(seq, bytes, out);
    req.write_old(out.get(..=len).ok_or(code::EINVAL)?)?;
    if !req.has_new() {
        return Ok(());
    }
    let n = req.new_len();
    if n >= bytes.len() {
        return Err(code::EINVAL);
    }
    let mut new = [0u8; STRING_TUNABLE_MAX];
    let new = new.get_mut(..n).ok_or(code::EINVAL)?;
    req.read_new(new)?;
    let value = new.split(|&b| b == 0).next().unwrap_or_default();
    if !validate(value) {
        return Err(code::EINVAL);
    }
    write_seq(seq, bytes, value);
    Ok(())
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
    fn leaves_are_static_data() {
        let [counter, knob] = &LEAVES;
        assert!(ptr::eq(counter.value, COUNTER.as_ptr().cast_const().cast()));
        assert!(counter.func.is_null());
        // SAFETY: the leaves' names are `'static` C strings.
        let name = unsafe { CStr::from_ptr(knob.name) };
        assert_eq!(name, c"knob");
        // SAFETY: as above.
        let descr = unsafe { CStr::from_ptr(knob.descr) };
        assert_eq!(descr, c"Even values");
        // A tunable shows its value, and keeps the validation.
        assert!(ptr::eq(knob.value, (&raw const KNOB.value).cast()));
        // SAFETY: `tunable` put a `fn(u64) -> bool` there.
        let validate = unsafe { core::mem::transmute::<*const (), fn(u64) -> bool>(knob.func) };
        assert!(validate(4) && !validate(5));
        assert!(!knob.tun() && knob.clone_tun().tun());
        assert_eq!(core::mem::size_of::<SysctlLeaf>(), 48);
    }

    impl SysctlLeaf {
        fn clone_tun(&self) -> Self {
            Self {
                name: self.name,
                descr: self.descr,
                handler: self.handler,
                value: self.value,
                func: self.func,
                oid_kind: self.oid_kind,
                count: self.count,
            }
            .loader_tunable()
        }
    }

    #[test]
    fn an_entry_of_counters_holds_its_pairs_and_its_array() {
        static VALUES: Counters<2> = Counters::new();
        static ENTRY: SysctlLeaf =
            SysctlLeaf::counters(b"opens\0Successful opens\0reads\0Reads\0", &VALUES);
        assert_eq!(ENTRY.count, 2);
        assert!(ENTRY.descr.is_null() && ENTRY.func.is_null());
        assert!(ptr::eq(
            ENTRY.value,
            VALUES.at::<0>().as_ptr().cast_const().cast()
        ));
        assert_eq!(ENTRY.kind_fmt().0, 0x8004_0009);
        // The walk `add_all` makes: name, description, next name.
        let mut text = ENTRY.name;
        let mut seen = std::vec::Vec::new();
        for _ in 0..ENTRY.count {
            // SAFETY: two pairs of strings (checked by `counters`).
            let descr = unsafe { next_string(text) };
            // SAFETY: as above.
            let next = unsafe { next_string(descr) };
            // SAFETY: a NUL-terminated string of the entry.
            let n = unsafe { CStr::from_ptr(text) };
            // SAFETY: as above.
            let d = unsafe { CStr::from_ptr(descr) };
            seen.push((n.to_owned(), d.to_owned()));
            text = next;
        }
        assert_eq!(
            seen,
            [
                (c"opens".to_owned(), c"Successful opens".to_owned()),
                (c"reads".to_owned(), c"Reads".to_owned())
            ]
        );
        assert_eq!(
            format!("{ENTRY:?}"),
            "SysctlLeaf { kind: \"counters\", loader_tunable: false, .. }"
        );
    }

    #[test]
    fn packed_strings_counts_only_well_formed_text() {
        assert_eq!(packed_strings(b"a\0b\0c\0d\0"), 4);
        assert_eq!(packed_strings(b"a\0b"), 0, "no final NUL");
        assert_eq!(packed_strings(b"a\0\0b\0"), 0, "an empty string");
        assert_eq!(packed_strings(b"\0"), 0, "an empty first string");
        assert_eq!(packed_strings(b""), 0);
    }

    #[test]
    fn a_constant_string_is_never_a_loader_tunable() {
        static S: SysctlLeaf = SysctlLeaf::string(c"v", c"d", c"1.0").loader_tunable();
        assert!(!S.tun());
    }

    #[test]
    fn kinds_are_what_the_macros_give() {
        static TUN: SysctlLeaf =
            SysctlLeaf::int_tunable(c"i", c"d", &INT, |_| true).loader_tunable();
        static INT: IntTunable = IntTunable::new(0);
        static STR: SysctlLeaf = SysctlLeaf::string(c"s", c"d", c"x");
        // SYSCTL_ADD_NODE(..., CTLFLAG_RD | CTLFLAG_MPSAFE, ...)
        assert_eq!(NODE_KIND.cast_unsigned(), 0x8004_0001);
        let [counter, knob] = &LEAVES;
        // SYSCTL_ADD_U64(..., CTLFLAG_RD, ...)
        assert_eq!(counter.kind_fmt().0, 0x8004_0009);
        // SYSCTL_ADD_PROC(..., CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, ...)
        assert_eq!(knob.kind_fmt().0, 0xc004_0009);
        // CTLFLAG_RWTUN adds CTLFLAG_TUN (0x80000).
        // CTLTYPE_INT (2) | CTLFLAG_RWTUN | CTLFLAG_MPSAFE.
        assert_eq!(TUN.kind_fmt().0, 0xc00c_0002);
        // CTLTYPE_STRING (3) | CTLFLAG_RD | CTLFLAG_MPSAFE, format "A".
        assert_eq!(STR.kind_fmt().0, 0x8004_0003);
        assert_eq!(STR.kind_fmt().1, c"A");
    }
}
