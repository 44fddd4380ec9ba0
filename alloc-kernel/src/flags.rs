// SPDX-License-Identifier: BSD-2-Clause
//! Allocation flags, spelled as in FreeBSD's `sys/sys/malloc.h`.
//!
//! Every allocating method of this crate takes its flags as its last argument,
//! as `impl Into<Flags>`, so that the kernel layer can pass its own "may
//! sleep" token types as well as plain [`Flags`]:
//! `Box::try_new(x, M_NOWAIT)?`, `v.try_push(x, M_WAITOK)?`.
//!
//! The values are FreeBSD's own, so that the kernel allocator hands
//! [`Flags::bits`] straight to malloc(9). See malloc(9) for their meaning in the
//! kernel; the allocators of this crate read only [`Flags::zeroed`], and the
//! kernel allocator also [`Flags::may_sleep`].

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of malloc(9) flags.
///
/// A plain bit set: any combination of bits is a valid value (the allocator
/// decides what it accepts), so building one is safe.
///
/// # Examples
///
/// ```
/// use alloc_kernel::{M_NOWAIT, M_WAITOK, M_ZERO};
///
/// let flags = M_WAITOK | M_ZERO;
/// assert!(flags.may_sleep());
/// assert!(flags.zeroed());
/// assert_eq!(flags.bits(), 0x0102);
/// assert!(!M_NOWAIT.may_sleep());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags(u32);

/// Do not sleep: fail the allocation if memory is not at hand.
///
/// The only choice in interrupt context or while holding a non-sleepable lock.
pub const M_NOWAIT: Flags = Flags(0x0001);

/// The allocation may sleep until memory is available.
///
/// In FreeBSD an `M_WAITOK` malloc(9) never returns `NULL`. As a plain
/// [`Flags`] value it still goes through the fallible `try_*` methods (a
/// request can be impossible: a size that overflows); the infallible ones
/// take a [`Wait`](crate::Wait) type, which a kernel layer hands out only
/// where sleeping is allowed.
pub const M_WAITOK: Flags = Flags(0x0002);

/// Zero the allocated memory.
pub const M_ZERO: Flags = Flags(0x0100);

impl Flags {
    /// The empty set: neither `M_NOWAIT` nor `M_WAITOK`, no zeroing.
    ///
    /// FreeBSD's malloc(9) requires exactly one of `M_NOWAIT` and `M_WAITOK`;
    /// combine this with one of them.
    pub const EMPTY: Flags = Flags(0);

    /// Makes a flag set from raw malloc(9) bits, keeping every bit (also the
    /// ones this crate has no constant for, such as `M_NODUMP`).
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_kernel::{Flags, M_NOWAIT, M_ZERO};
    ///
    /// assert_eq!(Flags::from_bits(0x0101), M_NOWAIT | M_ZERO);
    /// ```
    #[must_use]
    pub const fn from_bits(bits: u32) -> Self {
        Flags(bits)
    }

    /// The raw malloc(9) bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is also in `self`.
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets, usable in `const` context.
    #[must_use]
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// Whether the allocation may sleep: `M_WAITOK` is set and `M_NOWAIT` is
    /// not.
    #[must_use]
    pub const fn may_sleep(self) -> bool {
        self.contains(M_WAITOK) && !self.contains(M_NOWAIT)
    }

    /// Whether the allocated memory must be zeroed (`M_ZERO`).
    #[must_use]
    pub const fn zeroed(self) -> bool {
        self.contains(M_ZERO)
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        *self = self.union(rhs);
    }
}

impl BitAnd for Flags {
    type Output = Flags;

    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl fmt::Debug for Flags {
    /// Prints the flags in C spelling, e.g. `M_WAITOK | M_ZERO`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Flags, &str); 3] = [
            (M_NOWAIT, "M_NOWAIT"),
            (M_WAITOK, "M_WAITOK"),
            (M_ZERO, "M_ZERO"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#06x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
