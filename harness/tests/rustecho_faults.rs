// SPDX-License-Identifier: BSD-2-Clause
//! rustecho(4) on the built `rustecho.ko`: regressions found by the
//! reliability suite (`reliability/`), each reduced to its minimal case.

use echo_testkit as support;

use harness::freebsd::FIONREAD;
use harness::{Errno, FailPolicy, O_RDWR, Whence};
use support::{DEFAULT_MESSAGE, DEV, fionread, live_allocs, loaded, message, sysctl};

/// Found by the allocation-failure sweep: a first write (no spare buffer)
/// whose second allocation failed kept the message block it had got as a
/// spare, so a write failing for want of memory left the module holding
/// more memory than before. Same for a first write that faulted. (A
/// message is one block now, header and bytes: a first write makes one
/// allocation.)
#[test]
fn a_failed_write_gives_back_what_it_allocated() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let base = live_allocs(&k);
    let before = k.malloc_count();
    k.set_malloc_failures(FailPolicy::NthFromNow(1));
    assert_eq!(k.write(fd, b"lost").unwrap_err(), Errno::ENOMEM);
    k.set_malloc_failures(FailPolicy::Never);
    assert_eq!(k.malloc_count(), before + 1, "one allocation per message");
    assert_eq!(live_allocs(&k), base, "the allocation failing");
    k.inject_efault(Some(2));
    assert_eq!(k.write(fd, b"fault").unwrap_err(), Errno::EFAULT);
    assert_eq!(live_allocs(&k), base, "a write that faulted");
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    assert_eq!(sysctl(&k, "enomem"), 1);
    assert_eq!(sysctl(&k, "efault"), 1);
    // The next write works.
    assert_eq!(k.write(fd, b"kept").unwrap(), 4);
    assert_eq!(message(&k), b"kept");
    k.close(fd).unwrap();
    k.check().unwrap();
}

/// Found by the model-based fuzzing (proptest shrank it to these steps):
/// a read at offset 0 that took a new snapshot and then faulted left the
/// end of the previous read in place, so `FIONREAD` subtracted an offset
/// of one snapshot from the length of another (here: 0 instead of 70).
#[test]
fn fionread_after_a_failed_read_counts_the_new_snapshot() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.write(fd, &[0u8; 70]).unwrap();
    // At the file offset (70, after the write): the end of the message.
    assert_eq!(k.read(fd, &mut [0u8; 1]).unwrap(), 0);
    assert_eq!(fionread(&k, fd), 0);
    k.inject_efault(Some(0));
    assert_eq!(k.pread(fd, &mut [0u8; 70], 0).unwrap_err(), Errno::EFAULT);
    assert_eq!(fionread(&k, fd), 70, "the new snapshot is unread");
    // The same after a write in between, with a rewind.
    k.write(fd, &[1u8; 30]).unwrap();
    k.lseek(fd, 0, Whence::Set).unwrap();
    k.inject_efault(Some(5));
    assert_eq!(k.read(fd, &mut [0u8; 30]).unwrap_err(), Errno::EFAULT);
    let mut n = [0u8; 4];
    k.ioctl(fd, u64::from(FIONREAD), &mut n).unwrap();
    assert_eq!(i32::from_le_bytes(n), 30);
    k.close(fd).unwrap();
    k.check().unwrap();
}
