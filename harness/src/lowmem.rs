// SPDX-License-Identifier: BSD-2-Clause
//! Memory below 2 GiB: module images, call stubs, kernel data.
//!
//! Modules are built with `-mcmodel=kernel`, whose `R_X86_64_32S`
//! relocations hold a sign-extended 32-bit address; FreeBSD satisfies them
//! by mapping modules above `KERNBASE` (`link_elf_load_file` in
//! `sys/kern/link_elf_obj.c`). In userspace the equivalent is the bottom
//! 2 GiB, which Linux hands out with `MAP_32BIT`. Every address a module
//! refers to through a 32-bit relocation (its own sections, the call stubs
//! of emulated functions, kernel data such as `M_DEVBUF`) lives there.

use crate::errno::Errno;
use core::ptr::NonNull;

/// The page size (amd64's `PAGE_SIZE`).
pub(crate) const PAGE_SIZE: usize = 4096;

/// Rounds `n` up to a multiple of `align` (a power of two).
pub(crate) fn round_up(n: usize, align: usize) -> Option<usize> {
    let mask = align.checked_sub(1)?;
    Some(n.checked_add(mask)? & !mask)
}

/// An anonymous read-write mapping below 2 GiB, unmapped on drop.
///
/// # Invariants
/// `base..base + len` is a mapping this value owns; `len` is a non-zero
/// multiple of [`PAGE_SIZE`] and `base + len <= 2 GiB`.
pub(crate) struct LowMap {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; which thread
// unmaps it does not matter.
unsafe impl Send for LowMap {}
// SAFETY: `&LowMap` only hands out the address; accesses through it are
// synchronised by the users (module code and the kernel's own locks).
unsafe impl Sync for LowMap {}

/// The highest address a 32S relocation can reach.
const LIMIT: usize = 0x8000_0000;

impl LowMap {
    /// Maps `len` bytes (rounded up to pages), zero-filled, read-write.
    pub(crate) fn new(len: usize) -> Result<Self, Errno> {
        let len = round_up(len.max(1), PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        // SAFETY: an anonymous private mapping at an address of the
        // kernel's choosing; it aliases nothing.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or(Errno::ENOMEM)?;
        let map = LowMap { base, len };
        if (base.as_ptr() as usize).saturating_add(len) > LIMIT {
            // Dropping unmaps it.
            return Err(Errno::ENOMEM);
        }
        // INVARIANT: mapped above, below LIMIT, page multiple.
        Ok(map)
    }

    /// The first byte.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// The first byte as an address.
    pub(crate) fn addr(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Sets the protection of `off..off + len` (page-aligned) to `prot`
    /// (`PROT_*`).
    pub(crate) fn protect(&self, off: usize, len: usize, prot: i32) -> Result<(), Errno> {
        if !off.is_multiple_of(PAGE_SIZE) || off.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside the mapping this value owns (checked
        // above); changing its protection affects no other object.
        let r = unsafe { libc::mprotect(self.base.as_ptr().wrapping_add(off).cast(), len, prot) };
        if r == 0 { Ok(()) } else { Err(Errno::ENOMEM) }
    }
}

impl Drop for LowMap {
    fn drop(&mut self) {
        // SAFETY: by the type invariants this value owns the mapping; nothing
        // refers to it any more (module code has been unloaded).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}
