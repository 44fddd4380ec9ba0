// SPDX-License-Identifier: BSD-2-Clause
//! [`Kernel`]'s file system calls on devices: `open(2)`, `read(2)`,
//! `write(2)` and the rest (the work is in `vfs`).

use super::{Kernel, vfs};
use crate::addr::UAddr;
use crate::errno::SysResult;
use crate::kpi::devfs::DevEntry;
use crate::user::{Staged, UserBuf};
use std::any::Any;
use std::sync::Arc;
use vfs::Whence;

impl Kernel {
    /// `open(2)` of `/dev/NAME`; `flags` are FreeBSD's `O_*`
    /// ([`crate::O_RDONLY`], ..., the rest in [`crate::freebsd`]), handled
    /// as `kern_openat`, `vn_open_cred` and `vn_open_vnode` do.
    ///
    /// # Errors
    /// `EINVAL` (two access modes, `O_CREAT|O_EXCL|O_DIRECTORY`),
    /// `ENOENT`, `EEXIST` (`O_CREAT|O_EXCL`), `EOPNOTSUPP` (`O_CREAT` of a
    /// new name: devfs cannot create), `EISDIR`, `ENOTDIR`
    /// (`O_DIRECTORY`), `EACCES` (including `O_EXEC` of a node without
    /// execute bits, even for root), `EAGAIN` (`O_SHLOCK`/`O_EXLOCK` with
    /// `O_NONBLOCK` on a locked node), or the driver's `d_open` error
    /// (`ERESTART` becomes `EINTR`).
    pub fn open(&self, path: &str, flags: u32) -> SysResult<i32> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| vfs::open(k, &self.cred, path, flags))
    }

    /// `close(2)`; the last close of a file runs `d_close` (last close of
    /// the device, or every close with `D_TRACKCLOSE`) and the cdevpriv
    /// destructor.
    ///
    /// # Errors
    /// `EBADF`, or `d_close`'s error.
    pub fn close(&self, fd: i32) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| vfs::close(k, &self.cred, fd))
    }

    /// `read(2)`: returns the bytes read.
    ///
    /// # Errors
    /// `EBADF`, `EINVAL`, `ENXIO` (device destroyed), the driver's errors.
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        self.rw_in(fd, &mut [buf], None)
    }

    /// `pread(2)` (negative offsets are valid on character devices).
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn pread(&self, fd: i32, buf: &mut [u8], offset: i64) -> SysResult<usize> {
        self.rw_in(fd, &mut [buf], Some(offset))
    }

    /// `readv(2)`.
    ///
    /// # Errors
    /// As [`read`](Self::read); `EINVAL` for more than `UIO_MAXIOV` buffers.
    pub fn readv(&self, fd: i32, bufs: &mut [&mut [u8]]) -> SysResult<usize> {
        self.rw_in(fd, bufs, None)
    }

    /// `write(2)`: returns the bytes written.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn write(&self, fd: i32, data: &[u8]) -> SysResult<usize> {
        self.rw_out(fd, &[data], None)
    }

    /// `pwrite(2)`.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn pwrite(&self, fd: i32, data: &[u8], offset: i64) -> SysResult<usize> {
        self.rw_out(fd, &[data], Some(offset))
    }

    /// `writev(2)`.
    ///
    /// # Errors
    /// As [`write`](Self::write); `EINVAL` for more than `UIO_MAXIOV`
    /// buffers.
    pub fn writev(&self, fd: i32, bufs: &[&[u8]]) -> SysResult<usize> {
        self.rw_out(fd, bufs, None)
    }

    /// A read into the test's buffers: they are staged in user memory for
    /// the call and copied back after.
    fn rw_in(&self, fd: i32, bufs: &mut [&mut [u8]], offset: Option<i64>) -> SysResult<usize> {
        // copyinuio refuses bad iovecs before anything is copied.
        vfs::check_iovs(bufs.iter().map(|b| b.len()))?;
        let staged = Staged::new(&*bufs)?;
        let r = self.rw(fd, &staged.iovs(), offset, false);
        staged.copy_back(bufs);
        r
    }

    /// A write from the test's buffers, staged in user memory.
    fn rw_out(&self, fd: i32, bufs: &[&[u8]], offset: Option<i64>) -> SysResult<usize> {
        vfs::check_iovs(bufs.iter().map(|b| b.len()))?;
        let staged = Staged::new(bufs)?;
        self.rw(fd, &staged.iovs(), offset, true)
    }

    /// The work of the read and write calls: `iovs` (address, length)
    /// at the file offset or at `offset`, written to (`write`) or read.
    fn rw(
        &self,
        fd: i32,
        iovs: &[(UAddr, usize)],
        offset: Option<i64>,
        write: bool,
    ) -> SysResult<usize> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| vfs::rw(k, &self.cred, fd, iovs, offset, write))
    }

    /// `lseek(2)`.
    ///
    /// # Errors
    /// `EBADF`, `EOVERFLOW`.
    pub fn lseek(&self, fd: i32, offset: i64, whence: Whence) -> SysResult<i64> {
        self.alive()?;
        vfs::lseek(&self.inner, fd, offset, whence)
    }

    /// `ioctl(2)` with `arg` as the user buffer the command's data is
    /// copied from (`IOC_IN`) and to (`IOC_OUT`, on success).
    ///
    /// # Errors
    /// `ENOTTY` for a malformed command or one the driver does not know
    /// (`ENOIOCTL`), `EFAULT` if `arg` is shorter than the command's
    /// size, `EBADF`, or the driver's error.
    pub fn ioctl(&self, fd: i32, cmd: u64, arg: &mut [u8]) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        let staged = Staged::new(&[&*arg])?;
        let iovs = staged.iovs();
        let r = {
            let _reg = k.user.register_syscall(&iovs, true);
            let addr = iovs.first().map_or(0, |&(a, _)| a.get() as u64);
            k.enter(|| vfs::ioctl(k, &self.cred, fd, cmd, addr))
        };
        staged.copy_back(&mut [arg]);
        r
    }

    /// `ioctl(2)` with a raw argument: an integer for `_IOWINT`-style
    /// commands, or a user address (e.g. of a [`UserBuf`]).
    ///
    /// # Errors
    /// As [`ioctl`](Self::ioctl).
    pub fn ioctl_raw(&self, fd: i32, cmd: u64, arg: u64) -> SysResult<()> {
        self.alive()?;
        let k = &*self.inner;
        k.enter(|| vfs::ioctl(k, &self.cred, fd, cmd, arg))
    }

    /// A buffer in user memory that module code may `copyin`/`copyout`
    /// while it lives.
    #[must_use]
    pub fn user_buf(&self, data: Vec<u8>) -> UserBuf {
        let kernel: Arc<dyn Any + Send + Sync> = self.inner.clone();
        UserBuf::new(kernel, &self.inner.user, &data)
    }

    /// Makes byte `offset` of the next syscall's user buffers (counted
    /// across its iovecs) fault with `EFAULT`; `None` clears it.
    pub fn inject_efault(&self, offset: Option<usize>) {
        self.inner.user.inject_fault(offset);
    }

    /// Makes the user byte at address `addr` fault (until cleared).
    pub fn efault_at_addr(&self, addr: Option<u64>) {
        self.inner
            .user
            .fault_at_addr(addr.map(|a| UAddr::new(a as usize)));
    }

    /// Devices in /dev, sorted by name.
    #[must_use]
    pub fn devices(&self) -> Vec<DevEntry> {
        self.inner.devfs.list()
    }

    /// Threads inside the driver methods of `/dev/NAME` now
    /// (`si_threadcount`).
    #[must_use]
    pub fn dev_threads(&self, name: &str) -> Option<usize> {
        vfs::dev_threads(&self.inner, name)
    }
}
