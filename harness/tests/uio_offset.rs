// SPDX-License-Identifier: BSD-2-Clause
//! `uiomove(9)` advances `uio_offset` as C does, wrapping at `OFF_MAX`
//! (the kernel is built with `-fwrapv`): a write to a character device at
//! an offset near `OFF_MAX` is not a trap in the harness. Found by the
//! reliability suite's fuzzing (an `lseek` to `i64::MAX` then a write
//! aborted the test process with "attempt to add with overflow" inside
//! the emulated `uiomove`).

use echo_testkit as support;

use harness::{Errno, O_RDWR, Whence};
use support::{DEV, loaded, message};

#[test]
fn a_write_at_off_max_wraps_the_file_offset() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.lseek(fd, i64::MAX - 3, Whence::Set).unwrap();
    // rustecho ignores the offset of a write; the kernel advances it.
    assert_eq!(k.write(fd, b"0123456789").unwrap(), 10);
    assert_eq!(message(&k), b"0123456789");
    assert_eq!(k.lseek(fd, 0, Whence::Cur).unwrap(), i64::MIN + 6);
    // The wrapped offset is negative: a read there is refused.
    assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap_err(), Errno::EINVAL);
    k.close(fd).unwrap();
    k.check().unwrap();
}
