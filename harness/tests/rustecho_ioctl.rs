// SPDX-License-Identifier: BSD-2-Clause
//! rustecho(4) on the built `rustecho.ko`: `ioctl(2)` (the manual page's
//! IOCTLS) and the C header.
//!
//! Every command number used here is computed from
//! `echo/include/rustecho.h` (`support::header`), so each test that
//! reaches the module through one also checks that the header and the
//! module agree.

use echo_testkit as support;

use harness::freebsd::{FIOASYNC, FIOGETOWN, FIONBIO, FIONREAD};
use harness::ioccom::{io, ior, iow};
use harness::{Errno, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, Whence};
use support::{
    DEFAULT_MAXLEN, DEFAULT_MESSAGE, DEV, Info, cat, fionread, header, info, loaded, message, store,
};

fn int(v: i32) -> [u8; 4] {
    v.to_le_bytes()
}

#[test]
fn the_header_defines_the_commands_the_module_answers() {
    let h = header();
    // What _IO('E', 1) and _IOR('E', 2, struct rustecho_info) give on
    // amd64; echo/src/ioctl.rs asserts the same values at compile time.
    assert_eq!(h.clear, 0x2000_4501, "{h:?}");
    assert_eq!(h.getinfo, 0x4018_4502, "{h:?}");
    let fields: Vec<(&str, &str)> = h
        .info_fields
        .iter()
        .map(|(t, n)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("uint64_t", "ri_length"),
            ("uint64_t", "ri_limit"),
            ("uint64_t", "ri_generation")
        ]
    );
    // The module answers the header's numbers (a different number would
    // get ENOTTY).
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let mut buf = [0u8; 24];
    k.ioctl(fd, h.getinfo, &mut buf).unwrap();
    assert_eq!(
        u64::from_le_bytes(buf[..8].try_into().unwrap()),
        DEFAULT_MESSAGE.len() as u64
    );
    k.ioctl_raw(fd, h.clear, 0).unwrap();
    assert_eq!(message(&k), b"");
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn getinfo_reports_length_limit_and_generation() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let len = |n: usize| n as u64;
    assert_eq!(
        info(&k, fd),
        Info {
            length: len(DEFAULT_MESSAGE.len()),
            limit: DEFAULT_MAXLEN,
            generation: 0
        }
    );
    k.write(fd, b"12345").unwrap();
    assert_eq!((info(&k, fd).length, info(&k, fd).generation), (5, 1));
    // Failed writes change nothing.
    k.inject_efault(Some(0));
    assert_eq!(k.write(fd, b"xx").unwrap_err(), Errno::EFAULT);
    assert_eq!(k.write(fd, &vec![0; 70000]).unwrap_err(), Errno::EFBIG);
    assert_eq!((info(&k, fd).length, info(&k, fd).generation), (5, 1));
    // Writes of the same bytes are still new generations.
    k.write(fd, b"12345").unwrap();
    assert_eq!(info(&k, fd).generation, 2);
    k.sysctl_set("hw.rustecho.maxlen", "100").unwrap();
    assert_eq!(info(&k, fd).limit, 100);
    // Read-only files may ask too.
    let ro = k.open(DEV, O_RDONLY).unwrap();
    assert_eq!(
        info(&k, ro),
        Info {
            length: 5,
            limit: 100,
            generation: 2
        }
    );
    // The caller's buffer must hold the whole structure.
    assert_eq!(
        k.ioctl(ro, header().getinfo, &mut [0u8; 16]).unwrap_err(),
        Errno::EFAULT
    );
    k.close(ro).unwrap();
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn clear_empties_the_message() {
    let (k, _) = loaded();
    let rw = k.open(DEV, O_RDWR).unwrap();
    let reader = k.open(DEV, O_RDONLY).unwrap();
    let mut two = [0u8; 2];
    assert_eq!(k.read(reader, &mut two).unwrap(), 2);
    let mallocs = k.malloc_count();
    k.ioctl_raw(rw, header().clear, 0).unwrap();
    assert_eq!(k.malloc_count(), mallocs, "clearing never allocates");
    assert_eq!(
        info(&k, rw),
        Info {
            length: 0,
            limit: DEFAULT_MAXLEN,
            generation: 1
        }
    );
    assert_eq!(message(&k), b"");
    // A file reading the old message goes on reading it.
    assert_eq!(cat(&k, reader, 64), &DEFAULT_MESSAGE[2..]);
    // Clearing again is a new generation of the same empty message.
    k.ioctl_raw(rw, header().clear, 0).unwrap();
    assert_eq!(info(&k, rw).generation, 2);
    // Clearing changes the message, so it needs a file open for writing,
    // as write(2) does.
    store(&k, b"kept");
    assert_eq!(
        k.ioctl_raw(reader, header().clear, 0).unwrap_err(),
        Errno::EBADF
    );
    assert_eq!(message(&k), b"kept");
    let wo = k.open(DEV, O_WRONLY).unwrap();
    k.ioctl_raw(wo, header().clear, 0).unwrap();
    assert_eq!(message(&k), b"");
    for fd in [rw, reader, wo] {
        k.close(fd).unwrap();
    }
    k.check().unwrap();
}

#[test]
fn fionread_counts_what_this_file_has_left() {
    let (k, _) = loaded();
    let a = k.open(DEV, O_RDWR).unwrap();
    let total = DEFAULT_MESSAGE.len() as i32;
    // Before any read: the current message's length.
    assert_eq!(fionread(&k, a), total);
    let mut five = [0u8; 5];
    k.read(a, &mut five).unwrap();
    assert_eq!(fionread(&k, a), total - 5);
    // Another file's write does not change this file's snapshot.
    let b = k.open(DEV, O_WRONLY).unwrap();
    k.write(b, b"xyz").unwrap();
    assert_eq!(fionread(&k, a), total - 5);
    // A new file sees the new message.
    let c = k.open(DEV, O_RDONLY).unwrap();
    assert_eq!(fionread(&k, c), 3);
    // At the end: 0.
    cat(&k, a, 4);
    assert_eq!(fionread(&k, a), 0);
    // A rewind takes the newest message.
    k.lseek(a, 0, Whence::Set).unwrap();
    k.read(a, &mut five[..1]).unwrap();
    assert_eq!(fionread(&k, a), 2);
    // A read at an offset counts from where it ended.
    k.pread(a, &mut five[..1], 1).unwrap();
    assert_eq!(fionread(&k, a), 1);
    k.ioctl_raw(b, header().clear, 0).unwrap();
    assert_eq!(fionread(&k, c), 0);
    assert_eq!(fionread(&k, a), 1);
    for fd in [a, b, c] {
        k.close(fd).unwrap();
    }
    k.check().unwrap();
}

#[test]
fn fionbio_is_accepted_and_fioasync_is_refused() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    // fcntl(F_SETFL, O_NONBLOCK) sends FIONBIO.
    k.ioctl(fd, u64::from(FIONBIO), &mut int(1)).unwrap();
    k.ioctl(fd, u64::from(FIONBIO), &mut int(0)).unwrap();
    // FIOASYNC: turning it on is refused, as null(4) does; off is fine.
    assert_eq!(
        k.ioctl(fd, u64::from(FIOASYNC), &mut int(1)).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        k.ioctl(fd, u64::from(FIOASYNC), &mut int(-7)).unwrap_err(),
        Errno::EINVAL
    );
    k.ioctl(fd, u64::from(FIOASYNC), &mut int(0)).unwrap();
    k.close(fd).unwrap();
    // A non-blocking file works as any other (nothing ever blocks).
    let nb = k.open(DEV, O_RDWR | O_NONBLOCK).unwrap();
    k.write(nb, b"nb").unwrap();
    k.lseek(nb, 0, Whence::Set).unwrap();
    assert_eq!(cat(&k, nb, 8), b"nb");
    k.close(nb).unwrap();
    k.check().unwrap();
}

#[test]
fn other_commands_are_enotty() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let h = header();
    let others = [
        io(b'E', 3),
        io(b'E', 2),
        iow(b'E', 1, 4).unwrap(),
        // GETINFO with the wrong size is another command.
        ior(b'E', 2, 16).unwrap(),
        ior(b'F', 2, 24).unwrap(),
        u64::from(FIOGETOWN),
    ];
    for cmd in others {
        assert_ne!(cmd, h.clear);
        assert_ne!(cmd, h.getinfo);
        let mut arg = [0u8; 24];
        assert_eq!(
            k.ioctl(fd, cmd, &mut arg).unwrap_err(),
            Errno::ENOTTY,
            "{cmd:#x}"
        );
    }
    // FIONREAD is the module's; it is not refused.
    assert_eq!(fionread(&k, fd), DEFAULT_MESSAGE.len() as i32);
    assert_ne!(u64::from(FIONREAD), h.getinfo);
    k.close(fd).unwrap();
    k.check().unwrap();
}
