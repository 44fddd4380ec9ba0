// SPDX-License-Identifier: BSD-2-Clause
//! Formatting into a [`String`]: `core::fmt::Write` and the fallible
//! formatting behind [`try_format!`](crate::try_format).

use crate::{AllocError, Allocator, Flags, M_NOWAIT, String};
use core::fmt;

impl<A: Allocator> String<A> {
    /// Formats `args` into a new string from `A::default()`. What
    /// [`try_format!`](crate::try_format) expands to.
    ///
    /// # Errors
    ///
    /// [`AllocError`] if an allocation fails, or if a formatting trait
    /// implementation returns an error.
    pub fn try_from_fmt(
        args: fmt::Arguments<'_>,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError>
    where
        A: Default,
    {
        Self::try_from_fmt_in(args, A::default(), flags)
    }

    /// Formats `args` into a new string from `alloc`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, String, M_NOWAIT};
    ///
    /// let s = String::try_from_fmt_in(format_args!("{}-{}", 1, 2), HostAllocator, M_NOWAIT)?;
    /// assert_eq!(s, "1-2");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if an allocation fails, or if a formatting trait
    /// implementation returns an error.
    pub fn try_from_fmt_in(
        args: fmt::Arguments<'_>,
        alloc: A,
        flags: impl Into<Flags>,
    ) -> Result<Self, AllocError> {
        let mut s = String::new_in(alloc);
        s.try_write_fmt(args, flags)?;
        Ok(s)
    }

    /// Appends `args`, formatted, allocating with `flags`.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{HostAllocator, String, M_WAITOK};
    ///
    /// let mut s = String::new_in(HostAllocator);
    /// s.try_write_fmt(format_args!("pid {}", 42), M_WAITOK)?;
    /// assert_eq!(s, "pid 42");
    /// # Ok::<(), alloc_kernel::AllocError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AllocError`] if an allocation fails, or if a formatting trait
    /// implementation returns an error. The pieces written before the
    /// failure stay appended.
    pub fn try_write_fmt(
        &mut self,
        args: fmt::Arguments<'_>,
        flags: impl Into<Flags>,
    ) -> Result<(), AllocError> {
        let flags = flags.into();
        if let Some(s) = args.as_str() {
            return self.try_push_str(s, flags);
        }
        let mut writer = FlagsWriter {
            string: self,
            flags,
        };
        fmt::write(&mut writer, args).map_err(|fmt::Error| AllocError)
    }
}

/// A `fmt::Write` adapter that allocates with given flags.
struct FlagsWriter<'a, A: Allocator> {
    string: &'a mut String<A>,
    flags: Flags,
}

impl<A: Allocator> fmt::Write for FlagsWriter<'_, A> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.string
            .try_push_str(s, self.flags)
            .map_err(|AllocError| fmt::Error)
    }
}

impl<A: Allocator> fmt::Write for String<A> {
    /// Appends `s`, allocating with [`M_NOWAIT`]; an allocation failure is a
    /// `fmt::Error` and leaves what was written before.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.try_push_str(s, M_NOWAIT)
            .map_err(|AllocError| fmt::Error)
    }

    /// Appends `c`, allocating with [`M_NOWAIT`]; an allocation failure is a
    /// `fmt::Error`.
    fn write_char(&mut self, c: char) -> fmt::Result {
        self.try_push(c, M_NOWAIT).map_err(|AllocError| fmt::Error)
    }
}
