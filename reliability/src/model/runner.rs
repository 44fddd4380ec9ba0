// SPDX-License-Identifier: BSD-2-Clause
//! The [`Runner`]: the same steps applied to the module and to the
//! [`Model`], each result compared.

use super::{Access, Fault, File, Ioctl, Model, Op, Step};
use crate::device::{Counters, has_poison};
use crate::tally::Tally;
use echo_testkit::{DEV, INFO_SIZE, MAXLEN_MAX, MODULE};
use harness::freebsd::{FIOASYNC, FIONBIO, FIONREAD};
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, SysResult, Whence};
use std::fmt;
use std::sync::Arc;

/// Where a fault at byte `b` of iovecs of `lens` leaves the request:
/// `Some(bytes moved before the faulting iovec)` if `b` is among the first
/// `moving` bytes (the ones the call copies), else `None` (no fault).
fn fault_point(lens: &[usize], moving: usize, fault: Fault) -> Option<usize> {
    let Fault::Efault(b) = fault else {
        return None;
    };
    if b >= moving {
        return None;
    }
    let mut start = 0;
    for &len in lens {
        if b < start + len {
            return Some(start);
        }
        start += len;
    }
    None
}

/// Applies steps to the real module and to the model, comparing each
/// result; counts in a [`Tally`].
pub struct Runner<'t> {
    k: Kernel,
    id: i32,
    model: Model,
    t: &'t Tally,
    /// `Some(n)`: every `n`th allocation fails for the whole run, so any
    /// allocating operation may fail with `ENOMEM` ([`Runner::set_rate`]).
    rate: Option<u64>,
    /// Steps applied.
    pub steps: u64,
    /// Reads whose bytes were checked.
    pub reads_checked: u64,
}

impl<'t> Runner<'t> {
    /// A fresh kernel with the module loaded.
    ///
    /// # Errors
    /// If the module does not load.
    pub fn new(t: &'t Tally) -> Result<Self, String> {
        let k = Kernel::new();
        let id = k
            .kldload(module_path(MODULE))
            .map_err(|e| format!("kldload: {e:?}"))?;
        t.ops_ok(1);
        Ok(Self {
            k,
            id,
            model: Model::new(),
            t,
            rate: None,
            steps: 0,
            reads_checked: 0,
        })
    }

    /// The kernel.
    #[must_use]
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    /// Makes every `n`th `M_NOWAIT` allocation fail from now on
    /// (`debug.malloc.failure_rate`); `None` stops it.
    pub fn set_rate(&mut self, n: Option<u64>) {
        self.rate = n;
        self.k.set_malloc_failures(self.policy());
    }

    fn policy(&self) -> FailPolicy {
        self.rate.map_or(FailPolicy::Never, FailPolicy::EveryNth)
    }

    fn pick(&self, file: usize) -> Option<usize> {
        if self.model.files.is_empty() {
            None
        } else {
            Some(file % self.model.files.len())
        }
    }

    /// Applies `step`; `Err` says how the module and the model differ.
    ///
    /// # Errors
    /// The first difference.
    pub fn step(&mut self, step: &Step) -> Result<(), String> {
        self.steps += 1;
        match step.fault {
            Fault::None => {}
            Fault::Enomem => self.k.set_malloc_failures(FailPolicy::NthFromNow(1)),
            Fault::Efault(b) => self.k.inject_efault(Some(b)),
        }
        let r = self.apply(step);
        // A fault that did not fire must not stay armed for the next call.
        self.k.inject_efault(None);
        if step.fault == Fault::Enomem {
            self.k.set_malloc_failures(self.policy());
        }
        r.and_then(|()| self.check_counters())
            .map_err(|e| format!("{step:?}: {e}"))
    }

    fn check_counters(&self) -> Result<(), String> {
        let got = Counters::read(&self.k);
        if got == self.model.counters {
            Ok(())
        } else {
            Err(format!(
                "counters differ from the model: {}",
                got.diff(&self.model.counters)
            ))
        }
    }

    /// Records a result in the tally and compares it with the expected
    /// errno (`None`: success).
    fn expect<T: fmt::Debug>(&self, r: &SysResult<T>, want: Option<Errno>) -> Result<(), String> {
        self.t.op(r);
        match (r, want) {
            (Ok(_), None) => Ok(()),
            (Err(e), Some(w)) if *e == w => Ok(()),
            _ => Err(format!("got {r:?}, the model says {want:?}")),
        }
    }

    fn apply(&mut self, step: &Step) -> Result<(), String> {
        match &step.op {
            Op::Open(access) => self.open(*access, step.fault),
            Op::Close { file } => match self.pick(*file) {
                Some(i) => {
                    let f = self.model.files.remove(i);
                    let r = self.k.close(f.fd);
                    self.expect(&r, None)
                }
                None => Ok(()),
            },
            Op::Read { file, len } => match self.pick(*file) {
                Some(i) => self.read(i, &[*len], None, step.fault),
                None => Ok(()),
            },
            Op::Pread { file, offset, len } => match self.pick(*file) {
                Some(i) => self.read(i, &[*len], Some(*offset), step.fault),
                None => Ok(()),
            },
            Op::Readv { file, lens } => match self.pick(*file) {
                Some(i) => self.read(i, lens, None, step.fault),
                None => Ok(()),
            },
            Op::Write { file, data } => match self.pick(*file) {
                Some(i) => self.write(i, &[data.as_slice()], step.fault),
                None => Ok(()),
            },
            Op::Writev { file, chunks } => match self.pick(*file) {
                Some(i) => {
                    let bufs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
                    self.write(i, &bufs, step.fault)
                }
                None => Ok(()),
            },
            Op::Seek { file, offset } => match self.pick(*file) {
                Some(i) => {
                    let r = self.k.lseek(self.model.files[i].fd, *offset, Whence::Set);
                    self.expect(&r, None)?;
                    self.model.files[i].offset = *offset;
                    Ok(())
                }
                None => Ok(()),
            },
            Op::Ioctl { file, cmd } => match self.pick(*file) {
                Some(i) => self.ioctl(i, *cmd, step.fault),
                None => Ok(()),
            },
            Op::SetMaxlen(v) => {
                let r = self.k.sysctl_set("hw.rustecho.maxlen", &v.to_string());
                if (1..=MAXLEN_MAX).contains(v) {
                    self.expect(&r, None)?;
                    self.model.maxlen = *v;
                    Ok(())
                } else {
                    self.expect(&r, Some(Errno::EINVAL))
                }
            }
        }
    }

    fn enomem_fired(&self, r: &SysResult<impl Sized>, fault: Fault) -> bool {
        let fired = matches!(r, Err(e) if *e == Errno::ENOMEM);
        if fired && (fault == Fault::Enomem || self.rate.is_some()) {
            self.t.faults(1);
        }
        fired
    }

    fn open(&mut self, access: Access, fault: Fault) -> Result<(), String> {
        let r = self.k.open(DEV, access.flags());
        if self.enomem_fired(&r, fault) {
            self.t.op(&r);
            self.model.count("enomem", 1);
            return Ok(());
        }
        if fault == Fault::Enomem {
            // kern allocates the per-open record for every open.
            return Err(format!("got {r:?}, the model says ENOMEM"));
        }
        self.expect(&r, None)?;
        let fd = r.map_err(|e| format!("{e:?}"))?;
        self.model.count("opens", 1);
        self.model.files.push(File {
            fd,
            access,
            offset: 0,
            snapshot: None,
            end: 0,
        });
        Ok(())
    }

    fn read(
        &mut self,
        i: usize,
        lens: &[usize],
        pread: Option<i64>,
        fault: Fault,
    ) -> Result<(), String> {
        let mut bufs: Vec<Vec<u8>> = lens.iter().map(|&n| vec![0x5a; n]).collect();
        let fd = self.model.files[i].fd;
        let r = match (pread, bufs.as_mut_slice()) {
            (Some(off), [buf]) => self.k.pread(fd, buf, off),
            (None, [buf]) => self.k.read(fd, buf),
            (_, bufs) => {
                let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
                self.k.readv(fd, &mut refs)
            }
        };
        let total: usize = lens.iter().sum();
        let (readable, file_offset) = {
            let f = &self.model.files[i];
            (f.access.readable(), f.offset)
        };
        if !readable {
            return self.expect(&r, Some(Errno::EBADF));
        }
        if total == 0 {
            // dofileread() returns 0 without calling the driver.
            return self.expect(&r, None);
        }
        let offset = pread.unwrap_or(file_offset);
        let Ok(start) = usize::try_from(offset) else {
            return self.expect(&r, Some(Errno::EINVAL));
        };
        let snap = {
            let message = Arc::clone(&self.model.message);
            let f = &mut self.model.files[i];
            if start == 0 || f.snapshot.is_none() {
                f.snapshot = Some(message);
                f.end = start;
            }
            f.snapshot.clone().unwrap_or_default()
        };
        let moving = snap.len().saturating_sub(start).min(total);
        if let Some(before) = fault_point(lens, moving, fault) {
            self.t.faults(1);
            if pread.is_none() {
                self.model.files[i].advance(i64::try_from(before).unwrap_or(i64::MAX));
            }
            self.model.count("efault", 1);
            return self.expect(&r, Some(Errno::EFAULT));
        }
        self.expect(&r, None)?;
        let n = r.map_err(|e| format!("{e:?}"))?;
        if n != moving {
            return Err(format!("read {n} bytes, the model says {moving}"));
        }
        let got: Vec<u8> = bufs.concat();
        let (data, rest) = got.split_at(n);
        self.reads_checked += 1;
        let want = snap.get(start..start + n).unwrap_or_default();
        if data != want {
            if has_poison(data) || !data.iter().all(|b| snap.contains(b)) {
                self.t.disclosure();
            }
            return Err(format!(
                "read {n} bytes at {offset} that are not the snapshot's ({} bytes)",
                snap.len()
            ));
        }
        if rest.iter().any(|&b| b != 0x5a) {
            return Err(String::from("bytes written past what the read returned"));
        }
        let f = &mut self.model.files[i];
        f.end = start + n;
        if pread.is_none() {
            f.advance(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.model.count("reads", 1);
        self.model.count("bytes_out", n);
        Ok(())
    }

    fn write(&mut self, i: usize, bufs: &[&[u8]], fault: Fault) -> Result<(), String> {
        let fd = self.model.files[i].fd;
        let r = match bufs {
            [one] => self.k.write(fd, one),
            many => self.k.writev(fd, many),
        };
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        let total: usize = lens.iter().sum();
        if !self.model.files[i].access.writable() {
            return self.expect(&r, Some(Errno::EBADF));
        }
        if total as u64 > self.model.maxlen {
            self.model.count("efbig", 1);
            return self.expect(&r, Some(Errno::EFBIG));
        }
        if total == 0 {
            self.expect(&r, None)?;
            self.model.publish(Vec::new());
            self.model.count("writes", 1);
            return Ok(());
        }
        if self.enomem_fired(&r, fault) {
            self.t.op(&r);
            self.model.count("enomem", 1);
            return Ok(());
        }
        if let Some(before) = fault_point(&lens, total, fault) {
            self.t.faults(1);
            self.model.files[i].advance(i64::try_from(before).unwrap_or(i64::MAX));
            self.model.count("efault", 1);
            return self.expect(&r, Some(Errno::EFAULT));
        }
        self.expect(&r, None)?;
        let n = r.map_err(|e| format!("{e:?}"))?;
        if n != total {
            return Err(format!("wrote {n} bytes of {total}"));
        }
        self.model.publish(bufs.concat());
        self.model.files[i].advance(i64::try_from(total).unwrap_or(i64::MAX));
        self.model.count("writes", 1);
        self.model.count("bytes_in", total);
        Ok(())
    }

    fn ioctl(&mut self, i: usize, cmd: Ioctl, fault: Fault) -> Result<(), String> {
        let h = echo_testkit::header();
        let fd = self.model.files[i].fd;
        let (code, mut arg): (u64, Vec<u8>) = match cmd {
            Ioctl::Fionread => (u64::from(FIONREAD), vec![0xff; 4]),
            Ioctl::GetInfo => (h.getinfo, vec![0xff; INFO_SIZE]),
            Ioctl::Clear => (h.clear, Vec::new()),
            Ioctl::Fionbio(v) => (u64::from(FIONBIO), v.to_le_bytes().to_vec()),
            Ioctl::Fioasync(v) => (u64::from(FIOASYNC), v.to_le_bytes().to_vec()),
            Ioctl::Unknown => (
                harness::ioccom::ior(b'E', 3, 8).unwrap_or_default(),
                vec![0; 8],
            ),
        };
        let r = if arg.is_empty() {
            self.k.ioctl_raw(fd, code, 0)
        } else {
            self.k.ioctl(fd, code, &mut arg)
        };
        // The kernel copies IOC_IN data in before the driver runs, and
        // IOC_OUT data out after it succeeded.
        let faults = matches!(fault, Fault::Efault(b) if b < arg.len());
        let (writable, unread) = {
            let m = &self.model;
            let f = &m.files[i];
            let unread = match &f.snapshot {
                Some(s) => s.len().saturating_sub(f.end),
                None => m.message.len(),
            };
            (f.access.writable(), unread)
        };
        let info = (
            self.model.message.len() as u64,
            self.model.maxlen,
            self.model.generation,
        );
        match cmd {
            Ioctl::Fionbio(_) | Ioctl::Fioasync(_) if faults => {
                self.t.faults(1);
                self.expect(&r, Some(Errno::EFAULT))
            }
            Ioctl::Fioasync(v) if v != 0 => self.expect(&r, Some(Errno::EINVAL)),
            Ioctl::Fionbio(_) | Ioctl::Fioasync(_) => self.expect(&r, None),
            Ioctl::Unknown => self.expect(&r, Some(Errno::ENOTTY)),
            Ioctl::Clear if !writable => self.expect(&r, Some(Errno::EBADF)),
            Ioctl::Clear => {
                self.expect(&r, None)?;
                self.model.publish(Vec::new());
                Ok(())
            }
            Ioctl::Fionread | Ioctl::GetInfo if faults => {
                self.t.faults(1);
                self.expect(&r, Some(Errno::EFAULT))
            }
            Ioctl::Fionread => {
                self.expect(&r, None)?;
                let want = unread;
                let got = i32::from_le_bytes(arg[..4].try_into().unwrap_or_default());
                if usize::try_from(got).ok() == Some(want) {
                    Ok(())
                } else {
                    Err(format!("FIONREAD {got}, the model says {want}"))
                }
            }
            Ioctl::GetInfo => {
                self.expect(&r, None)?;
                let word = |n: usize| {
                    u64::from_le_bytes(arg[n * 8..n * 8 + 8].try_into().unwrap_or_default())
                };
                let got = (word(0), word(1), word(2));
                let want = info;
                if got == want {
                    Ok(())
                } else {
                    Err(format!(
                        "GETINFO (length, limit, generation) {got:?}, the model says {want:?}"
                    ))
                }
            }
        }
    }

    /// Closes every file, checks the counters and the model's message a
    /// last time, unloads the module and moves the kernel's records into
    /// the tally.
    ///
    /// # Errors
    /// A difference, a failed unload or a violation.
    pub fn finish(mut self) -> Result<(), String> {
        self.k.set_malloc_failures(FailPolicy::Never);
        for f in std::mem::take(&mut self.model.files) {
            let r = self.k.close(f.fd);
            self.expect(&r, None)?;
        }
        self.check_counters()?;
        let msg = echo_testkit::message(&self.k);
        if msg != *self.model.message {
            return Err(format!(
                "final message: {} bytes, the model says {}",
                msg.len(),
                self.model.message.len()
            ));
        }
        let r = self.k.kldunload(self.id, false);
        self.expect(&r, None)?;
        let v = self.t.absorb_kernel(&self.k);
        if v.is_empty() {
            Ok(())
        } else {
            Err(v.join("\n"))
        }
    }
}

/// Drops a runner after a failure without a second report.
pub fn abandon(runner: Runner<'_>) {
    drop(runner.t.absorb_kernel(&runner.k));
}

impl fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("steps", &self.steps)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}
