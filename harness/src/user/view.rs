// SPDX-License-Identifier: BSD-2-Clause
//! The user address space, mapped twice.
//!
//! On amd64 FreeBSD enables SMAP on CPUs that have it (`initializecpu`
//! sets `CR4_SMAP` in `sys/amd64/amd64/initcpu.c`): kernel code that
//! touches a user page outside `copyin(9)`, `copyout(9)` and friends
//! (which bracket the access with `stac`/`clac`,
//! `sys/amd64/amd64/support.S`) takes a page fault that `trap_pfault`
//! (`sys/amd64/amd64/trap.c`, `trap_is_smap`) makes fatal.
//!
//! The harness reproduces that with one `memfd` mapped twice: user
//! addresses, the ones module code is given, lie in a `PROT_NONE` *view*,
//! registered as a [`FaultRange`] of kind [`FaultKind::UserMemory`], so a
//! direct access faults and is reported; the harness's copy routines and
//! the test's side of the "process" use a read-write *alias* of the same
//! pages. [`host_ptr`] is the one place a user address becomes an alias
//! pointer. The process has one such space (4 GiB of address space,
//! backed only where used); blocks of it are handed out first-fit and
//! reused.

use crate::fault::{FaultKind, FaultRange};
use crate::lowmem::PAGE_SIZE;
use crate::sync::lock_ignoring_poison;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The size of the space.
const SPACE_LEN: usize = 4 << 30;

/// Blocks at least this large give their pages back when freed.
const RELEASE_PAGES_FROM: usize = 1 << 20;

/// Allocation granule (and alignment) of blocks.
const GRANULE: usize = 64;

/// The double mapping.
///
/// # Invariants
/// `view..view + SPACE_LEN` (`PROT_NONE`) and `alias..alias + SPACE_LEN`
/// (read-write) map the same `memfd` pages, for the life of the process.
struct Space {
    view: usize,
    alias: *mut u8,
    /// Free blocks, offset to length, coalesced.
    free: Mutex<BTreeMap<usize, usize>>,
    _guard: FaultRange,
}

// SAFETY: `alias` is the base of a shared mapping that lives as long as
// the process; the free list is behind a mutex.
unsafe impl Send for Space {}
// SAFETY: as above.
unsafe impl Sync for Space {}

fn space() -> &'static Space {
    static SPACE: OnceLock<Space> = OnceLock::new();
    SPACE.get_or_init(|| Space::new().expect("cannot map the user address space"))
}

impl Space {
    fn new() -> std::io::Result<Self> {
        // SAFETY: creates a new anonymous file; the name is a valid C
        // string.
        let fd = unsafe { libc::memfd_create(c"harness-user".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let len = i64::try_from(SPACE_LEN).unwrap_or(i64::MAX);
        // SAFETY: `fd` is the file just created; only its size changes.
        let r = unsafe { libc::ftruncate(fd, len) };
        let map = |prot| {
            // SAFETY: a new shared mapping of our own file at an address
            // of the kernel's choosing; it aliases no Rust object.
            unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    SPACE_LEN,
                    prot,
                    libc::MAP_SHARED | libc::MAP_NORESERVE,
                    fd,
                    0,
                )
            }
        };
        let (view, alias) = if r == 0 {
            (
                map(libc::PROT_NONE),
                map(libc::PROT_READ | libc::PROT_WRITE),
            )
        } else {
            (libc::MAP_FAILED, libc::MAP_FAILED)
        };
        let err = std::io::Error::last_os_error();
        // SAFETY: the mappings keep the file; the descriptor is ours.
        unsafe { libc::close(fd) };
        if view == libc::MAP_FAILED || alias == libc::MAP_FAILED {
            return Err(err);
        }
        let view = view as usize;
        let guard = FaultRange::new(view, SPACE_LEN, FaultKind::UserMemory, 0)
            .ok_or_else(|| std::io::Error::other("fault range table full"))?;
        let mut free = BTreeMap::new();
        // The first granule stays unused: no user address is the view's
        // base, so a block never starts at an address a module could
        // mistake for the start of the space.
        free.insert(GRANULE, SPACE_LEN - GRANULE);
        // INVARIANT: both mapped above, over the same file.
        Ok(Space {
            view,
            alias: alias.cast(),
            free: Mutex::new(free),
            _guard: guard,
        })
    }

    fn alloc(&self, len: usize) -> Option<usize> {
        let want = len.max(1).checked_next_multiple_of(GRANULE)?;
        let mut free = lock_ignoring_poison(&self.free);
        let (&off, &flen) = free.iter().find(|&(_, &l)| l >= want)?;
        free.remove(&off);
        if flen > want {
            free.insert(off + want, flen - want);
        }
        Some(off)
    }

    fn release(&self, off: usize, len: usize) {
        let Some(mut len) = len.max(1).checked_next_multiple_of(GRANULE) else {
            return;
        };
        // Give the pages of a large block back, so that one big system
        // call does not keep its memory resident for the process's life.
        if len >= RELEASE_PAGES_FROM {
            let start = off.next_multiple_of(PAGE_SIZE);
            let end = (off + len) & !(PAGE_SIZE - 1);
            if end > start {
                // SAFETY: the pages lie inside the block being freed, in
                // the alias mapping; nothing uses them now. MADV_REMOVE
                // frees the memfd's pages (they read as zeros after).
                unsafe {
                    libc::madvise(
                        self.alias.wrapping_add(start).cast(),
                        end - start,
                        libc::MADV_REMOVE,
                    )
                };
            }
        }
        let mut off = off;
        let mut free = lock_ignoring_poison(&self.free);
        if let Some((&prev, &plen)) = free.range(..off).next_back()
            && prev + plen == off
        {
            free.remove(&prev);
            off = prev;
            len += plen;
        }
        if let Some(&nlen) = free.get(&(off + len)) {
            free.remove(&(off + len));
            len += nlen;
        }
        free.insert(off, len);
    }
}

/// The alias of user address `addr`, for the harness's own copies; `None`
/// if `addr..addr + len` is not inside the user address space.
pub(crate) fn host_ptr(addr: usize, len: usize) -> Option<*mut u8> {
    let s = space();
    let off = addr.checked_sub(s.view)?;
    let end = off.checked_add(len)?;
    (end <= SPACE_LEN).then(|| s.alias.wrapping_add(off))
}

/// A block of user memory; freed on drop.
///
/// # Invariants
/// `off..off + len` (rounded up to the granule) is allocated to this
/// block alone.
#[derive(Debug)]
pub(crate) struct Block {
    off: usize,
    len: usize,
}

impl Block {
    /// A zero-filled block of `len` bytes (`None` if the space is full).
    pub(crate) fn new(len: usize) -> Option<Self> {
        let s = space();
        let off = s.alloc(len)?;
        // SAFETY: the block's bytes lie inside the alias mapping and are
        // its alone (just allocated).
        unsafe { core::ptr::write_bytes(s.alias.wrapping_add(off), 0, len) };
        Some(Block { off, len })
    }

    /// A block holding a copy of `data`.
    pub(crate) fn with(data: &[u8]) -> Option<Self> {
        let b = Block::new(data.len())?;
        b.write(data);
        Some(b)
    }

    /// The user address of the first byte (the one module code gets).
    pub(crate) fn addr(&self) -> usize {
        space().view + self.off
    }

    /// The length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The contents, through the alias.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the block lies inside the alias mapping, which lives
        // forever; it is this block's alone (type invariant). The kernel
        // writes it only during a system call the test is waiting for.
        unsafe { core::slice::from_raw_parts(space().alias.wrapping_add(self.off), self.len) }
    }

    /// Overwrites the first bytes with `src` (as many as fit).
    pub(crate) fn write(&self, src: &[u8]) {
        let n = src.len().min(self.len);
        // SAFETY: the first `n` bytes of the block lie inside the alias
        // mapping and are this block's alone (type invariant); `src` is a
        // distinct host buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), space().alias.wrapping_add(self.off), n)
        };
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        space().release(self.off, self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_sees_what_the_view_holds() {
        let b = Block::with(b"hello").unwrap();
        let p = host_ptr(b.addr(), 5).unwrap();
        // SAFETY: `p` is the alias of the block's 5 bytes.
        let got = unsafe { core::slice::from_raw_parts(p, 5) };
        assert_eq!(got, b"hello");
        assert!(host_ptr(0x1000, 1).is_none());
    }

    #[test]
    fn blocks_do_not_overlap_and_free_space_coalesces() {
        let a = Block::new(100).unwrap();
        let b = Block::new(100).unwrap();
        assert!(a.addr().abs_diff(b.addr()) >= 128);
        let (a_off, b_off) = (a.off, b.off);
        drop(a);
        drop(b);
        // Coalesced again: a block as large as both fits where they were
        // (unless another test took the space in between).
        let c = Block::new(256).unwrap();
        assert!(c.off <= a_off.min(b_off) || c.off > a_off.max(b_off));
    }
}
