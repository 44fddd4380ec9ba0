// SPDX-License-Identifier: BSD-2-Clause
//! Functions one module exports to the modules that depend on it, as
//! `kmod.mk`'s `EXPORT_SYMS` does for C modules.
//!
//! The build makes every symbol of a module local (`kmod.mk` does the
//! same), so that nothing in a `.ko` clashes with the kernel or another
//! module. A function exported with [`export!`](crate::export!) stays
//! global: FreeBSD's kernel linker resolves a dependent module's reference
//! to it whatever `debug.link_elf_obj_leak_locals` says (with that sysctl at
//! 0, a dependency's local symbols are not visible).
//!
//! The dependent module declares what it calls with
//! [`import!`](crate::import!) and names the exporting module in
//! `depends:` of [`module!`](crate::module!). Both macros record the
//! function's name and parameter and return types in the module's
//! declaration; the build refuses an import that no dependency exports,
//! or one whose types differ from the export's, so the call is as safe as
//! a call within one module. The types must be FFI-safe (`u64`, `i32`,
//! `bool`, ...): the function is called through the C ABI.
//!
//! # Examples
//!
//! The exporting module (`rustcount`):
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//!
//! static NEXT: AtomicU64 = AtomicU64::new(1);
//!
//! kern::export! {
//!     /// The next number of the sequence, from 1.
//!     pub fn rustcount_next() -> u64 {
//!         NEXT.fetch_add(1, Ordering::Relaxed)
//!     }
//! }
//! ```
//!
//! A module that depends on it:
//!
//! ```
//! kern::import! {
//!     /// `rustcount.ko`'s sequence.
//!     pub fn rustcount_next() -> u64;
//! }
//!
//! fn ticket() -> u64 {
//!     rustcount_next()
//! }
//! ```
//!
//! An exported function must have FFI-safe types:
//!
//! ```compile_fail
//! #![deny(improper_ctypes_definitions)]
//! kern::export! {
//!     pub fn give(v: kern::alloc::Vec<u8>) -> usize { v.len() }
//! }
//! ```

/// Exports functions to the modules that depend on this one. See
/// [`crate::export`](mod@crate::export) (the module) for the rules.
///
/// ```
/// kern::export! {
///     /// Doubles `x`, wrapping.
///     pub fn mymod_double(x: u32) -> u32 {
///         x.wrapping_mul(2)
///     }
/// }
/// ```
#[macro_export]
macro_rules! export {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {
        $(
            $(#[$attr])*
            #[allow(unsafe_code, reason = "an exported symbol keeps its name, as EXPORT_SYMS does")]
            #[unsafe(no_mangle)]
            $vis extern "C" fn $name($($arg: $ty),*) $(-> $ret)? $body

            const _: () = {
                const TEXT: &str = ::core::concat!(
                    "export=",
                    ::core::stringify!($name),
                    " ",
                    $crate::__kmod_signature!(($($ty),*) $(-> $ret)?),
                    "\n",
                );
                /// Read by the build (the list of exports); discarded at link.
                #[allow(unsafe_code, reason = "the build reads the exports from this section")]
                #[used]
                #[unsafe(link_section = ".kmod.decl")]
                static EXPORT: [u8; TEXT.len()] = $crate::module::decl_bytes(TEXT);
            };
        )*
    };
}

/// Declares functions that a module this one depends on exports with
/// [`export!`](crate::export!). See [`crate::export`](mod@crate::export) (the module) for the
/// rules.
///
/// ```
/// kern::import! {
///     /// `mymod.ko`'s doubling.
///     pub fn mymod_double(x: u32) -> u32;
/// }
/// ```
#[macro_export]
macro_rules! import {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)?;
    )*) => {
        // SAFETY: each function is defined by `kern::export!` in a module
        // this one depends on, as a safe Rust function with these parameter
        // and return types: the build (`cargo xtask build`) compares the
        // `import=` line recorded below with that module's `export=` line
        // and refuses the module if they differ or no dependency exports
        // the name. A safe function may be called with any arguments.
        #[allow(unsafe_code, reason = "a function of another module, checked by the build")]
        unsafe extern "C" {
            $(
                $(#[$attr])*
                $vis safe fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
        $(
            const _: () = {
                const TEXT: &str = ::core::concat!(
                    "import=",
                    ::core::stringify!($name),
                    " ",
                    $crate::__kmod_signature!(($($ty),*) $(-> $ret)?),
                    "\n",
                );
                /// Read by the build (checked against the exports); discarded at link.
                #[allow(unsafe_code, reason = "the build reads the imports from this section")]
                #[used]
                #[unsafe(link_section = ".kmod.decl")]
                static IMPORT: [u8; TEXT.len()] = $crate::module::decl_bytes(TEXT);
            };
        )*
    };
}

/// A function's parameter and return types as text, `(u32, u64) -> u64`
/// (no return type: `-> ()`), for the build's comparison of an import
/// with its export.
#[doc(hidden)]
#[macro_export]
macro_rules! __kmod_signature {
    (($($ty:ty),*) -> $ret:ty) => {
        ::core::concat!("(", ::core::stringify!($($ty),*), ") -> ", ::core::stringify!($ret))
    };
    (($($ty:ty),*)) => {
        ::core::concat!("(", ::core::stringify!($($ty),*), ") -> ()")
    };
}

#[cfg(test)]
mod tests {
    use core::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(1);

    crate::export! {
        /// A test export.
        pub(crate) fn kern_test_export_next(step: u64) -> u64 {
            NEXT.fetch_add(step, Ordering::Relaxed)
        }
        /// No return value.
        fn kern_test_export_reset() {
            NEXT.store(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn the_signature_text_is_what_the_build_compares() {
        assert_eq!(
            crate::__kmod_signature!((u32, *const u8) -> u64),
            "(u32, *const u8) -> u64"
        );
        assert_eq!(crate::__kmod_signature!(()), "() -> ()");
    }

    #[test]
    fn an_exported_function_is_an_ordinary_function_too() {
        kern_test_export_reset();
        assert_eq!(kern_test_export_next(2), 1);
        assert_eq!(kern_test_export_next(1), 3);
    }
}
