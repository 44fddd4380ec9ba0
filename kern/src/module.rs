// SPDX-License-Identifier: BSD-2-Clause
//! Module lifecycle: the [`Module`] trait and the [`module!`](crate::module!)
//! macro.
//!
//! C headers: `sys/sys/module.h`. Manual pages: `module(9)`,
//! `DECLARE_MODULE(9)`, `MODULE_VERSION(9)`, `MODULE_DEPEND(9)`.
//!
//! The kernel sends a module these events (`sys/kern/kern_module.c`,
//! `sys/kern/kern_linker.c`):
//!
//! * `MOD_LOAD` when the file is loaded. If it fails, the kernel
//!   immediately sends `MOD_UNLOAD`, which must then be harmless.
//! * `MOD_QUIESCE` before an unload: an error vetoes an unforced unload
//!   (`kldunload -f` goes on regardless; `EOPNOTSUPP` and `EINVAL` count as
//!   success).
//! * `MOD_UNLOAD`: an error always vetoes. Here, unload is the module
//!   value's `Drop`, which cannot fail.
//! * `MOD_SHUTDOWN` at system shutdown.
//!
//! Any other event gets `EOPNOTSUPP`, FreeBSD's convention. The kernel
//! sends events one at a time with `Giant` held; [`ModuleSlot`] does not
//! rely on that and answers an overlapping event with `EBUSY`.
//!
//! # Examples
//!
//! ```
//! use kern::prelude::*;
//!
//! struct Counter;
//!
//! impl Module for Counter {
//!     fn load(_cx: &mut Sleepable) -> Result<Self> {
//!         Ok(Counter)
//!     }
//! }
//!
//! kern::module! {
//!     type: Counter,
//!     name: "counter",
//!     version: 1,
//!     depends: [("rustecho", 1, 1, 1)],
//! }
//! ```

use crate::context::Sleepable;
use crate::error::{Result, code};
use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

/// A kernel module: created on `MOD_LOAD`, dropped on `MOD_UNLOAD`.
///
/// The value is shared with every thread that calls into the module (for
/// example through a character device), hence `Send + Sync`.
pub trait Module: Sized + Send + Sync {
    /// Called on `MOD_LOAD`.
    ///
    /// # Errors
    /// Any errno: the load fails, the kernel reports it, and nothing of the
    /// module remains (whatever `load` built is dropped on the way out).
    ///
    /// # Context
    /// May sleep (`Giant` is held, which sleeping releases): `cx` allows
    /// `M_WAITOK` allocation, device creation, sysctl registration.
    fn load(cx: &mut Sleepable) -> Result<Self>;

    /// Called on `MOD_QUIESCE`, before an unload.
    ///
    /// # Errors
    /// An error (e.g. `EBUSY` while a device is open) vetoes an unforced
    /// `kldunload`. The default allows it.
    ///
    /// # Context
    /// `Giant` is held; must not sleep for long.
    fn quiesce(&self) -> Result {
        Ok(())
    }

    /// Called on `MOD_SHUTDOWN`, when the system shuts down.
    ///
    /// # Context
    /// `Giant` is held.
    fn shutdown(&self) {}
}

const EMPTY: u8 = 0;
const BUSY: u8 = 1;
const LOADED: u8 = 2;

/// Holds a module's value between `MOD_LOAD` and `MOD_UNLOAD`.
///
/// Created by [`module!`](crate::module!) as a static of the module crate.
///
/// # Invariants
/// `value` is initialised exactly when `state` is `LOADED`, or `BUSY` after
/// a transition out of `LOADED` that has not yet finished. Only the thread
/// that moved `state` to `BUSY` touches `value`.
pub struct ModuleSlot<M> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<M>>,
}

// SAFETY: `value` is only accessed by the one thread that won the `state`
// transition to `BUSY` (see the invariants), and `M: Send + Sync` lets the
// value be created, used and dropped on any thread.
unsafe impl<M: Send + Sync> Sync for ModuleSlot<M> {}

impl<M: Module> ModuleSlot<M> {
    /// An empty slot (nothing loaded).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Handles one module event and returns the errno for the kernel.
    pub fn event(&self, what: c_int) -> c_int {
        match u32::try_from(what) {
            Ok(sys::MOD_LOAD) => self.load(),
            Ok(sys::MOD_UNLOAD) => self.unload(),
            // One path for both: the same state transition around one
            // call, not two copies of it.
            Ok(event @ (sys::MOD_QUIESCE | sys::MOD_SHUTDOWN)) => self.with_loaded(|m| {
                if event == sys::MOD_QUIESCE {
                    crate::error::to_ret(m.quiesce())
                } else {
                    m.shutdown();
                    0
                }
            }),
            _ => code::EOPNOTSUPP.to_errno(),
        }
    }

    /// Whether a module value is loaded (for tests and diagnostics).
    pub fn is_loaded(&self) -> bool {
        self.state.load(Ordering::Acquire) == LOADED
    }

    fn load(&self) -> c_int {
        if self
            .state
            .compare_exchange(EMPTY, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return code::EEXIST.to_errno();
        }
        // SAFETY: MOD_LOAD runs in the thread of kldload(2), which may sleep
        // and holds only `Giant` (linker_file_sysinit); the token lives
        // only for this call.
        let mut cx = unsafe { Sleepable::new() };
        let ret = match M::load(&mut cx) {
            Ok(value) => {
                // SAFETY: this thread moved `state` from EMPTY to BUSY, so no
                // other thread touches `value`, and it is not initialised.
                unsafe { (*self.value.get()).write(value) };
                // INVARIANT: `value` was just initialised.
                self.state.store(LOADED, Ordering::Release);
                return 0;
            }
            Err(e) => e.to_errno(),
        };
        // INVARIANT: `value` stays uninitialised.
        self.state.store(EMPTY, Ordering::Release);
        ret
    }

    fn unload(&self) -> c_int {
        match self
            .state
            .compare_exchange(LOADED, BUSY, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                // SAFETY: this thread alone moved `state` to BUSY, so no
                // other thread accesses `value`.
                let value = unsafe { &mut *self.value.get() };
                // SAFETY: `state` was LOADED, so `value` is initialised; it is
                // dropped once (the state becomes EMPTY below).
                unsafe { value.assume_init_drop() };
                // INVARIANT: `value` was just dropped.
                self.state.store(EMPTY, Ordering::Release);
                0
            }
            // Nothing loaded (e.g. the MOD_UNLOAD after a failed MOD_LOAD).
            Err(EMPTY) => 0,
            Err(_) => code::EBUSY.to_errno(),
        }
    }

    /// Runs `f` on the loaded value; 0 if nothing is loaded, `EBUSY` during
    /// another event.
    fn with_loaded(&self, f: impl FnOnce(&M) -> c_int) -> c_int {
        match self
            .state
            .compare_exchange(LOADED, BUSY, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => {
                // SAFETY: no other thread drops or writes `value` while this
                // one holds BUSY.
                let value = unsafe { &*self.value.get() };
                // SAFETY: `state` was LOADED, so `value` is initialised.
                let ret = f(unsafe { value.assume_init_ref() });
                self.state.store(LOADED, Ordering::Release);
                ret
            }
            Err(EMPTY) => 0,
            Err(_) => code::EBUSY.to_errno(),
        }
    }
}

impl<M: Module> Default for ModuleSlot<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// Copies a declaration string into the array stored in `.kmod.decl`.
///
/// Used by [`module!`](crate::module!); `N` is the string's length.
#[doc(hidden)]
#[must_use]
pub const fn decl_bytes<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut src = text.as_bytes();
    let mut dst: &mut [u8] = &mut out;
    while let ([byte, src_rest @ ..], [slot, dst_rest @ ..]) = (src, dst) {
        *slot = *byte;
        src = src_rest;
        dst = dst_rest;
    }
    out
}

/// Declares the module to the kernel.
///
/// ```
/// # use kern::prelude::*;
/// # struct MyModule;
/// # impl Module for MyModule {
/// #     fn load(_cx: &mut Sleepable) -> Result<Self> { Ok(MyModule) }
/// # }
/// kern::module! {
///     type: MyModule,          // implements kern::Module
///     name: "mymodule",        // DECLARE_MODULE name, a C identifier
///     version: 1,              // MODULE_VERSION
///     depends: [("other", 1, 1, 1)],  // MODULE_DEPEND(name, min, pref, max), optional
/// }
/// ```
///
/// It defines the event handler the C shim's `moduledata_t` points to
/// (`kmod_modevent`), the static that owns the module value, and a
/// `.kmod.decl` section from which the build generates the shim's
/// `DECLARE_MODULE`, `MODULE_VERSION` and `MODULE_DEPEND` (the section is
/// not part of the `.ko`). The dependency on the kernel's version comes
/// from `DECLARE_MODULE` itself.
#[macro_export]
macro_rules! module {
    (
        type: $ty:ty,
        name: $name:literal,
        version: $version:literal
        $(, depends: [$(($dep:literal, $min:literal, $pref:literal, $max:literal)),* $(,)?])?
        $(,)?
    ) => {
        static __KMOD_MODULE: $crate::module::ModuleSlot<$ty> = $crate::module::ModuleSlot::new();

        /// The module's event handler (`modeventhand_t`), called by the
        /// kernel through the shim's `moduledata_t`.
        #[allow(unsafe_code, reason = "the C shim refers to the handler by this name")]
        #[unsafe(no_mangle)]
        extern "C" fn kmod_modevent(
            _module: *mut $crate::__private::sys::module,
            what: ::core::ffi::c_int,
            _arg: *mut ::core::ffi::c_void,
        ) -> ::core::ffi::c_int {
            __KMOD_MODULE.event(what)
        }

        /// The module name, for the prefix of `kern::println!`.
        #[allow(unsafe_code, reason = "kern's printing refers to the name by this symbol")]
        #[allow(non_upper_case_globals, reason = "a symbol name, not a Rust constant")]
        #[unsafe(no_mangle)]
        static __kmod_name: &str = $name;

        const __KMOD_DECL_TEXT: &str = ::core::concat!(
            "name=", $name, "\n",
            "version=", $version, "\n",
            $($("depend=", $dep, " ", $min, " ", $pref, " ", $max, "\n",)*)?
        );

        /// Read by the build to generate the C declaration; discarded at link.
        #[allow(unsafe_code, reason = "the build reads the declaration from this section")]
        #[used]
        #[unsafe(link_section = ".kmod.decl")]
        static __KMOD_DECL: [u8; __KMOD_DECL_TEXT.len()] =
            $crate::module::decl_bytes(__KMOD_DECL_TEXT);
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::AtomicUsize;

    static LOADS: AtomicUsize = AtomicUsize::new(0);
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static FAIL_LOAD: AtomicU8 = AtomicU8::new(0);

    struct Probe;

    impl Module for Probe {
        fn load(_cx: &mut Sleepable) -> Result<Self> {
            if FAIL_LOAD.load(Ordering::SeqCst) != 0 {
                return Err(code::ENOMEM);
            }
            LOADS.fetch_add(1, Ordering::SeqCst);
            Ok(Probe)
        }
        fn quiesce(&self) -> Result {
            Err(code::EBUSY)
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn event_code(event: u32) -> c_int {
        c_int::try_from(event).unwrap()
    }

    #[test]
    fn lifecycle_follows_freebsd_order() {
        let slot = ModuleSlot::<Probe>::new();
        // MOD_UNLOAD with nothing loaded is harmless.
        assert_eq!(slot.event(event_code(sys::MOD_UNLOAD)), 0);
        // A failed load leaves nothing behind, and the kernel's following
        // MOD_UNLOAD is harmless.
        FAIL_LOAD.store(1, Ordering::SeqCst);
        assert_eq!(
            slot.event(event_code(sys::MOD_LOAD)),
            code::ENOMEM.to_errno()
        );
        assert!(!slot.is_loaded());
        assert_eq!(slot.event(event_code(sys::MOD_UNLOAD)), 0);
        FAIL_LOAD.store(0, Ordering::SeqCst);

        assert_eq!(slot.event(event_code(sys::MOD_LOAD)), 0);
        assert!(slot.is_loaded());
        // A second MOD_LOAD is refused without touching the value.
        assert_eq!(
            slot.event(event_code(sys::MOD_LOAD)),
            code::EEXIST.to_errno()
        );
        assert_eq!(
            slot.event(event_code(sys::MOD_QUIESCE)),
            code::EBUSY.to_errno()
        );
        assert_eq!(slot.event(event_code(sys::MOD_SHUTDOWN)), 0);
        assert_eq!(slot.event(99), code::EOPNOTSUPP.to_errno());
        assert_eq!(slot.event(-1), code::EOPNOTSUPP.to_errno());
        let drops = DROPS.load(Ordering::SeqCst);
        assert_eq!(slot.event(event_code(sys::MOD_UNLOAD)), 0);
        assert_eq!(DROPS.load(Ordering::SeqCst), drops + 1);
        assert!(!slot.is_loaded());
        assert_eq!(slot.event(event_code(sys::MOD_QUIESCE)), 0);
        assert_eq!(LOADS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn decl_bytes_copies_exactly() {
        let b: [u8; 5] = decl_bytes("name=");
        assert_eq!(&b, b"name=");
        assert_eq!(Error::from_errno(code::EBUSY.to_errno()), Some(code::EBUSY));
    }
}
