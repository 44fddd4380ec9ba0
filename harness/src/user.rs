// SPDX-License-Identifier: BSD-2-Clause
//! The userland side: credentials and "user" memory.
//!
//! User memory is a separate address space (`view`): the buffers a test
//! passes to a system call are copied into it for the call (`Staged`)
//! and back out after, as a process's buffers would be in its own pages,
//! and module code sees only user addresses it cannot dereference (SMAP).
//! For `copyin(9)`/`copyout(9)` and user-space `uiomove(9)` to behave as
//! on FreeBSD, the harness also keeps a registry of the ranges a
//! "process" may access: the buffers of the current syscall and the
//! [`UserBuf`]s a test allocates (for ioctl arguments that carry
//! pointers). An access outside every registered range faults (`EFAULT`),
//! as an unmapped user address does (`copyin` in
//! `sys/amd64/amd64/support.S` returns `EFAULT` through `copy_fault`). A
//! test can also make one chosen byte fault.

mod view;

use crate::addr::UAddr;
use crate::errno::Errno;
use crate::sync::lock_ignoring_poison;
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard};

/// A process credential (`struct ucred`): who makes a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cred {
    /// Effective user id (`cr_uid`).
    pub uid: u32,
    /// Effective group id (`cr_gid`).
    pub gid: u32,
    /// Supplementary groups (`cr_groups`), at most 16 are used.
    pub groups: Vec<u32>,
}

impl Cred {
    /// root (uid 0, gid 0 "wheel").
    #[must_use]
    pub fn root() -> Self {
        Cred {
            uid: 0,
            gid: 0,
            groups: vec![0],
        }
    }

    /// An unprivileged user.
    #[must_use]
    pub fn user(uid: u32, gid: u32) -> Self {
        Cred {
            uid,
            gid,
            groups: vec![gid],
        }
    }

    /// Whether the credential is privileged (`priv_check(9)` succeeds for
    /// uid 0; `sys/kern/kern_priv.c`, `priv_check_cred`).
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether `gid` is the effective or a supplementary group
    /// (`groupmember(9)`).
    #[must_use]
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// Writes this credential into `*uc`; returns the previous values.
    ///
    /// # Safety
    /// `uc` must point to a valid `struct ucred` no one else accesses now,
    /// whose `cr_groups` points at its own `cr_smallgroups`.
    pub(crate) unsafe fn apply(&self, uc: *mut sys::ucred) -> Cred {
        // SAFETY: by the caller's contract `uc` is valid and unaliased.
        let uc = unsafe { &mut *uc };
        let saved = Cred {
            uid: uc.cr_uid,
            gid: uc.cr_gid,
            groups: uc
                .cr_smallgroups
                .iter()
                .take(usize::try_from(uc.cr_ngroups).unwrap_or(0))
                .copied()
                .collect(),
        };
        uc.cr_uid = self.uid;
        uc.cr_ruid = self.uid;
        uc.cr_svuid = self.uid;
        uc.cr_gid = self.gid;
        uc.cr_rgid = self.gid;
        uc.cr_svgid = self.gid;
        let n = self.groups.len().min(uc.cr_smallgroups.len());
        for (dst, src) in uc.cr_smallgroups.iter_mut().zip(&self.groups) {
            *dst = *src;
        }
        uc.cr_ngroups = i32::try_from(n).unwrap_or(0);
        saved
    }

    /// Puts back what [`apply`](Self::apply) returned.
    ///
    /// # Safety
    /// As for [`apply`](Self::apply).
    pub(crate) unsafe fn restore(uc: *mut sys::ucred, saved: &Cred) {
        // SAFETY: forwarded contract.
        let _prev = unsafe { saved.apply(uc) };
    }
}

impl Default for Cred {
    fn default() -> Self {
        Cred::root()
    }
}

/// One accessible range of user memory.
#[derive(Clone, Copy, Debug)]
struct Range {
    start: UAddr,
    len: usize,
    read: bool,
    write: bool,
    id: u64,
}

/// Where a user access faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Bytes accessible before the fault.
    pub(crate) ok: usize,
}

#[derive(Default)]
struct Registry {
    ranges: Vec<Range>,
    next_id: u64,
    /// A byte that faults, as an address.
    fault_addr: Option<UAddr>,
    /// A byte that faults, as an offset into the next syscall's buffers.
    pending_fault: Option<usize>,
}

/// The registry of user memory of one kernel (shared with the
/// [`UserBuf`]s that unregister themselves).
#[derive(Default)]
pub(crate) struct UserMem {
    reg: Arc<Mutex<Registry>>,
}

/// Removes a registration when dropped.
pub(crate) struct Registration<'a> {
    mem: &'a UserMem,
    id: u64,
    had_fault: bool,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut r = self.mem.lock();
        r.ranges.retain(|x| x.id != self.id);
        if self.had_fault {
            r.fault_addr = None;
        }
    }
}

impl UserMem {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        lock_ignoring_poison(&self.reg)
    }

    /// Registers the buffers of one syscall (`(addr, len)` in iovec
    /// order) as readable (`write == false`: the kernel reads them, as for
    /// write(2)) or writable. A pending injected fault is placed at its
    /// offset into these buffers.
    pub(crate) fn register_syscall(
        &self,
        bufs: &[(UAddr, usize)],
        kernel_writes: bool,
    ) -> Registration<'_> {
        let mut r = self.lock();
        r.next_id = r.next_id.wrapping_add(1);
        let id = r.next_id;
        for &(start, len) in bufs {
            r.ranges.push(Range {
                start,
                len,
                read: true,
                write: kernel_writes,
                id,
            });
        }
        let mut had_fault = false;
        if let Some(mut off) = r.pending_fault {
            for &(start, len) in bufs {
                if off < len {
                    r.fault_addr = Some(start.wrapping_add(off));
                    r.pending_fault = None;
                    had_fault = true;
                    break;
                }
                off -= len;
            }
        }
        Registration {
            mem: self,
            id,
            had_fault,
        }
    }

    /// Registers a long-lived range (a [`UserBuf`]).
    fn register(&self, start: UAddr, len: usize) -> u64 {
        let mut r = self.lock();
        r.next_id = r.next_id.wrapping_add(1);
        let id = r.next_id;
        r.ranges.push(Range {
            start,
            len,
            read: true,
            write: true,
            id,
        });
        id
    }

    /// Makes byte `off` of the next syscall's user buffers fault.
    pub(crate) fn inject_fault(&self, off: Option<usize>) {
        let mut r = self.lock();
        r.pending_fault = off;
        r.fault_addr = None;
    }

    /// Makes the user byte at `addr` fault (until cleared with `None`).
    pub(crate) fn fault_at_addr(&self, addr: Option<UAddr>) {
        self.lock().fault_addr = addr;
    }

    /// Checks that `addr..addr + len` is accessible (`write`: the kernel
    /// writes it). `Err` tells how many leading bytes are.
    pub(crate) fn check(&self, addr: UAddr, len: usize, write: bool) -> Result<(), Fault> {
        let r = self.lock();
        let addr = addr.get();
        let end = addr.checked_add(len).ok_or(Fault { ok: 0 })?;
        let mut cur = addr;
        while cur < end {
            let covering = r.ranges.iter().find(|x| {
                let start = x.start.get();
                cur >= start && cur - start < x.len && if write { x.write } else { x.read }
            });
            match covering {
                Some(x) => cur = x.start.get().saturating_add(x.len).min(end),
                None => return Err(Fault { ok: cur - addr }),
            }
        }
        if let Some(f) = r.fault_addr.map(UAddr::get)
            && f >= addr
            && f < end
        {
            return Err(Fault { ok: f - addr });
        }
        Ok(())
    }
}

/// The alias of user range `addr..addr + len`, for the harness's own
/// copies (`copyin(9)` and friends), once the registry said the range is
/// accessible; `None` outside the user address space.
pub(crate) fn host_ptr(addr: UAddr, len: usize) -> Option<*mut u8> {
    view::host_ptr(addr.get(), len)
}

/// A system call's buffers, copied into user memory for the call.
pub(crate) struct Staged {
    blocks: Vec<view::Block>,
}

impl Staged {
    /// Copies each buffer into a fresh block of user memory.
    ///
    /// # Errors
    /// `ENOMEM` if the user address space is full.
    pub(crate) fn new<B: AsRef<[u8]>>(bufs: &[B]) -> Result<Self, Errno> {
        let blocks = bufs
            .iter()
            .map(|b| view::Block::with(b.as_ref()).ok_or(Errno::ENOMEM))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Staged { blocks })
    }

    /// The buffers as (user address, length), in order.
    pub(crate) fn iovs(&self) -> Vec<(UAddr, usize)> {
        self.blocks
            .iter()
            .map(|b| (UAddr::new(b.addr()), b.len()))
            .collect()
    }

    /// Copies the user memory back into the test's buffers.
    pub(crate) fn copy_back(&self, bufs: &mut [&mut [u8]]) {
        for (dst, b) in bufs.iter_mut().zip(&self.blocks) {
            dst.copy_from_slice(b.as_slice());
        }
    }
}

/// A buffer in the test process's "user" memory, accessible to the kernel
/// (copyin/copyout) while it lives. Use its [`addr`](Self::addr) inside
/// ioctl arguments that carry user pointers.
pub struct UserBuf {
    /// Keeps the kernel alive while the buffer is (its teardown checks
    /// run when the last handle or buffer is gone); only held, never
    /// used, so user memory needs to know nothing of the kernel.
    _kernel: Arc<dyn Any + Send + Sync>,
    reg: Arc<Mutex<Registry>>,
    block: view::Block,
    id: u64,
}

impl UserBuf {
    /// Registers `data` in `mem`, the user memory of `kernel`.
    pub(crate) fn new(kernel: Arc<dyn Any + Send + Sync>, mem: &UserMem, data: &[u8]) -> Self {
        let block = view::Block::with(data).expect("the user address space is full");
        let id = mem.register(UAddr::new(block.addr()), block.len());
        UserBuf {
            _kernel: kernel,
            reg: Arc::clone(&mem.reg),
            block,
            id,
        }
    }

    /// The user address of the first byte.
    #[must_use]
    pub fn addr(&self) -> u64 {
        self.block.addr() as u64
    }

    /// The contents.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.block.as_slice()
    }

    /// Overwrites the contents (from the start).
    pub fn write(&mut self, src: &[u8]) {
        self.block.write(src);
    }

    /// The length.
    #[must_use]
    pub fn len(&self) -> usize {
        self.block.len()
    }

    /// Whether the buffer is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.block.len() == 0
    }
}

impl Drop for UserBuf {
    fn drop(&mut self) {
        lock_ignoring_poison(&self.reg)
            .ranges
            .retain(|x| x.id != self.id);
    }
}
