// SPDX-License-Identifier: BSD-2-Clause
//! The [`try_vec!`](crate::try_vec) and [`try_format!`](crate::try_format)
//! macros: `vec!` and `format!` returning `Result<_, AllocError>`, with the
//! flags last after a `;`.

/// Builds a [`Vec`](crate::Vec), fallibly: `vec!` with the flags last.
///
/// - `try_vec![a, b, c; flags]`: the listed elements.
/// - `try_vec![value; n; flags]`: `n` clones of `value`.
/// - `try_vec![]`: an empty vector (never allocates, never fails).
///
/// Evaluates to `Result<Vec<T, A>, AllocError>` for an allocator type
/// `A: Default` that the context chooses. With an explicit allocator value,
/// use [`Vec::try_from_array_in`](crate::Vec::try_from_array_in) or
/// [`Vec::try_from_elem_in`](crate::Vec::try_from_elem_in).
///
/// # Examples
///
/// ```
/// use alloc_kernel::{try_vec, HostAllocator, Vec, M_NOWAIT, M_WAITOK};
///
/// let v: Vec<i32, HostAllocator> = try_vec![1, 2, 3; M_NOWAIT]?;
/// assert_eq!(v, [1, 2, 3]);
///
/// let zeros: Vec<u8, HostAllocator> = try_vec![0u8; 16; M_WAITOK]?;
/// assert_eq!(zeros.len(), 16);
///
/// let empty: Vec<u8, HostAllocator> = try_vec![]?;
/// assert!(empty.is_empty());
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
#[macro_export]
macro_rules! try_vec {
    () => {
        ::core::result::Result::<_, $crate::AllocError>::Ok($crate::Vec::new())
    };
    ($value:expr; $n:expr; $flags:expr $(,)?) => {
        $crate::Vec::try_from_elem($value, $n, $flags)
    };
    ($($element:expr),+ $(,)?; $flags:expr $(,)?) => {
        $crate::Vec::try_from_array([$($element),+], $flags)
    };
}

/// Formats into a new [`String`](crate::String), fallibly: `format!` with the
/// flags last.
///
/// `try_format!("x = {}", x; flags)`: the usual `format!` arguments, then
/// `;` and the flags. Evaluates to `Result<String<A>, AllocError>` for an
/// allocator type `A: Default` that the context chooses; a formatting trait
/// implementation that returns an error also gives `AllocError`. With an
/// explicit allocator value, use
/// [`String::try_from_fmt_in`](crate::String::try_from_fmt_in).
///
/// The macro finds the `;` by walking the top-level tokens one by one, so an
/// argument list of more than about 120 top-level tokens needs a higher
/// `#![recursion_limit]`.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{try_format, HostAllocator, String, M_NOWAIT};
///
/// let unit = 3;
/// let name: String<HostAllocator> = try_format!("echo{}", unit; M_NOWAIT)?;
/// assert_eq!(name, "echo3");
/// let again: String<HostAllocator> = try_format!("{name}/{n:>3}", n = 7; M_NOWAIT)?;
/// assert_eq!(again, "echo3/  7");
/// # Ok::<(), alloc_kernel::AllocError>(())
/// ```
#[macro_export]
macro_rules! try_format {
    ($($tokens:tt)+) => {
        $crate::__try_format_split!([] $($tokens)+)
    };
}

/// Splits the arguments of [`try_format!`](crate::try_format) at the last
/// top-level `;`. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __try_format_split {
    ([$($args:tt)+] ; $flags:expr) => {
        $crate::String::try_from_fmt(::core::format_args!($($args)+), $flags)
    };
    ([$($args:tt)*] $next:tt $($rest:tt)*) => {
        $crate::__try_format_split!([$($args)* $next] $($rest)*)
    };
    ([$($args:tt)*]) => {
        ::core::compile_error!("try_format! needs the flags last, after a `;`: try_format!(\"{}\", x; M_NOWAIT)")
    };
}
