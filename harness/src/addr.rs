// SPDX-License-Identifier: BSD-2-Clause
//! Typed addresses: [`KAddr`] for the emulated kernel's memory, [`UAddr`]
//! for the test process's "user" memory.
//!
//! Module code runs in the host process, so both are host addresses; the
//! types say which side an address belongs to, so that a user pointer
//! cannot reach a plain memory copy without going through the user-memory
//! registry (`copyin(9)` semantics), and the tables keyed by kernel
//! addresses (malloc(9) blocks, locks, devices, OIDs) say what they hold.
//! Converting to and from pointers goes through `expose_provenance` and
//! `with_exposed_provenance_mut`: the addresses come from pointers the
//! harness or module code exposed, and become pointers again only for the
//! structures they designate.

use core::fmt;

/// An address in the emulated kernel: module images and data, the
/// kernel's data block, malloc(9) memory, structures modules hand over.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct KAddr(usize);

impl KAddr {
    /// The null address.
    pub(crate) const NULL: KAddr = KAddr(0);

    /// The address of `p`.
    pub(crate) fn from_ptr<T>(p: *const T) -> Self {
        KAddr(p.expose_provenance())
    }

    /// An address read as an integer (a relocated pointer in module data,
    /// an ELF value).
    pub(crate) const fn new(a: usize) -> Self {
        KAddr(a)
    }

    /// The address as an integer.
    pub(crate) const fn get(self) -> usize {
        self.0
    }

    /// Whether it is null.
    pub(crate) const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// A pointer to the `T` at this address.
    pub(crate) fn ptr<T>(self) -> *mut T {
        core::ptr::with_exposed_provenance_mut(self.0)
    }

    /// The address as a call argument (a 64-bit register).
    pub(crate) const fn arg(self) -> u64 {
        self.0 as u64
    }

    /// `self + off`, wrapping as C pointer arithmetic on addresses does.
    pub(crate) const fn wrapping_add(self, off: usize) -> Self {
        KAddr(self.0.wrapping_add(off))
    }

    /// `self - off`, wrapping (`container_of`).
    pub(crate) const fn wrapping_sub(self, off: usize) -> Self {
        KAddr(self.0.wrapping_sub(off))
    }
}

impl fmt::LowerHex for KAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

impl fmt::Debug for KAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KAddr({:#x})", self.0)
    }
}

/// A range of kernel memory: the mapping of a module being unloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KRange {
    /// The first byte.
    pub(crate) start: KAddr,
    /// The length in bytes.
    pub(crate) len: usize,
}

impl KRange {
    /// Whether `a` lies in the range.
    pub(crate) fn contains(self, a: KAddr) -> bool {
        a.0 >= self.start.0 && a.0 - self.start.0 < self.len
    }
}

/// An address in the test process's "user" memory, accessible to the
/// kernel only as far as the user-memory registry allows
/// (`crate::user::UserMem`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct UAddr(usize);

impl UAddr {
    /// The address of a buffer of the test process.
    pub(crate) fn from_ptr<T>(p: *const T) -> Self {
        UAddr(p.expose_provenance())
    }

    /// A user address given as an integer (an ioctl argument, a pointer a
    /// module read from a user structure).
    pub(crate) const fn new(a: usize) -> Self {
        UAddr(a)
    }

    /// The address as an integer.
    pub(crate) const fn get(self) -> usize {
        self.0
    }

    /// Whether it is null.
    pub(crate) const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// `self + off`, wrapping.
    pub(crate) const fn wrapping_add(self, off: usize) -> Self {
        UAddr(self.0.wrapping_add(off))
    }

    /// The address as a pointer to hand to module code (an `iov_base`,
    /// a sysctl request's `oldptr`): never dereferenced by the harness,
    /// which copies through `crate::user::host_ptr`.
    pub(crate) fn raw<T>(self) -> *mut T {
        core::ptr::with_exposed_provenance_mut(self.0)
    }
}

impl fmt::LowerHex for UAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

impl fmt::Debug for UAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UAddr({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_their_start_not_their_end() {
        let r = KRange {
            start: KAddr::new(0x1000),
            len: 0x10,
        };
        assert!(r.contains(KAddr::new(0x1000)));
        assert!(r.contains(KAddr::new(0x100f)));
        assert!(!r.contains(KAddr::new(0x1010)));
        assert!(!r.contains(KAddr::new(0xfff)));
    }

    #[test]
    fn addresses_print_as_c_pointers_do() {
        let x = 7u8;
        let a = KAddr::from_ptr(&raw const x);
        assert_eq!(format!("{a:#x}"), format!("{:#x}", a.get()));
        // SAFETY: `a` is the address of the local `x`, still alive.
        assert_eq!(unsafe { *a.ptr::<u8>() }, 7);
    }
}
