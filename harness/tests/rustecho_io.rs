// SPDX-License-Identifier: BSD-2-Clause
//! rustecho(4) on the built `rustecho.ko`: the device node, `write(2)` and
//! `read(2)`, as the manual page (`echo/rustecho.4`, "Writing" and
//! "Reading") describes them.

use echo_testkit as support;

use harness::sim::Shell;
use harness::testing::module_path;
use harness::{Cred, Errno, FailPolicy, O_RDONLY, O_RDWR, O_WRONLY, Whence};
use support::{DEFAULT_MESSAGE, DEV, DEV_NAME, cat, info, loaded, message, store, sysctl};

/// The README's walkthrough, as FreeBSD's shell runs it (`make demo`).
#[test]
fn readme_walkthrough_in_the_shell() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut sh = Shell::new(&mut out, &mut err);
    let ko = module_path("rustecho");
    sh.run_script(&format!(
        "kldload {}\necho \"hi rust\" > /dev/rustmodule\ncat /dev/rustmodule\nkldunload rustecho\ndmesg\n",
        ko.display()
    ));
    let status = sh.status;
    drop(sh);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(err, "");
    assert_eq!(
        out,
        "hi rust\nrustecho: /dev/rustmodule created, messages up to 65536 bytes\n"
    );
}

#[test]
fn walkthrough_and_default_message() {
    let (k, id) = loaded();
    // Load sets the message.
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    // echo "hi rust" > /dev/rustmodule; cat /dev/rustmodule
    store(&k, b"hi rust\n");
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let mut buf = [0u8; 4096];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 8);
    assert_eq!(&buf[..8], b"hi rust\n");
    // cat's next read gets end of file, so it exits.
    assert_eq!(k.read(fd, &mut buf).unwrap(), 0);
    assert_eq!(k.read(fd, &mut buf).unwrap(), 0);
    k.close(fd).unwrap();
    // Another cat prints it again: reading does not consume the message.
    assert_eq!(message(&k), b"hi rust\n");
    k.kldunload(id, false).unwrap();
    assert!(k.devices().is_empty());
    assert_eq!(k.open(DEV, O_RDWR).unwrap_err(), Errno::ENOENT);
    k.check().unwrap();
}

#[test]
fn the_node_is_root_wheel_0660() {
    let (k, _) = loaded();
    let devs = k.devices();
    assert_eq!(devs.len(), 1);
    let d = &devs[0];
    assert_eq!(
        (d.name.as_str(), d.uid, d.gid, d.mode & 0o7777),
        (DEV_NAME, 0, 0, 0o660)
    );
    // Others: EACCES for reading and for writing.
    let other = k.with_cred(Cred::user(1001, 1001));
    for flags in [O_RDONLY, O_WRONLY, O_RDWR] {
        assert_eq!(other.open(DEV, flags).unwrap_err(), Errno::EACCES);
    }
    // A member of wheel (not root) may read and write.
    let wheel = k.with_cred(Cred {
        uid: 1001,
        gid: 1001,
        groups: vec![1001, 0],
    });
    let fd = wheel.open(DEV, O_RDWR).unwrap();
    assert_eq!(wheel.write(fd, b"from wheel").unwrap(), 10);
    wheel.lseek(fd, 0, Whence::Set).unwrap();
    assert_eq!(cat(&wheel, fd, 64), b"from wheel");
    wheel.close(fd).unwrap();
    // Access modes are enforced as usual.
    let ro = k.open(DEV, O_RDONLY).unwrap();
    assert_eq!(k.write(ro, b"x").unwrap_err(), Errno::EBADF);
    k.close(ro).unwrap();
    k.check().unwrap();
}

#[test]
fn writes_are_binary_safe() {
    let (k, _) = loaded();
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend_from_slice(b"\0\0\xff\xfe not UTF-8: \xc3\x28 \0");
    data.insert(0, 0);
    store(&k, &data);
    assert_eq!(message(&k), data);
    store(&k, b"\0");
    assert_eq!(message(&k), b"\0");
    k.check().unwrap();
}

#[test]
fn writev_makes_one_message_of_all_its_iovecs() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let before = info(&k, fd).generation;
    assert_eq!(k.writev(fd, &[b"ab", b"", b"cde", b"\0", b"f"]).unwrap(), 7);
    assert_eq!(info(&k, fd).generation, before + 1, "one message, not five");
    assert_eq!(message(&k), b"abcde\0f");
    // readv spreads it over the caller's buffers (from offset 0: the
    // write advanced the file offset, as on any device).
    assert_eq!(k.lseek(fd, 0, Whence::Cur).unwrap(), 7);
    k.lseek(fd, 0, Whence::Set).unwrap();
    let (mut a, mut b, mut c) = ([0u8; 2], [0u8; 0], [0u8; 16]);
    assert_eq!(k.readv(fd, &mut [&mut a, &mut b, &mut c]).unwrap(), 7);
    assert_eq!((&a[..], &c[..5]), (&b"ab"[..], &b"cde\0f"[..]));
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn efault_fails_the_write_and_keeps_the_old_message() {
    let (k, _) = loaded();
    store(&k, b"old message");
    let fd = k.open(DEV, O_WRONLY).unwrap();
    let gen0 = info(&k, fd).generation;
    let new = b"a new message that is longer";
    for at in [0, 1, 11, new.len() - 1] {
        k.inject_efault(Some(at));
        assert_eq!(
            k.write(fd, new).unwrap_err(),
            Errno::EFAULT,
            "fault at {at}"
        );
        assert_eq!(message(&k), b"old message", "fault at {at}");
    }
    // A fault in the second iovec: the first was copied, still nothing
    // changes.
    k.inject_efault(Some(5));
    assert_eq!(
        k.writev(fd, &[b"abc", b"defgh"]).unwrap_err(),
        Errno::EFAULT
    );
    assert_eq!(message(&k), b"old message");
    assert_eq!(info(&k, fd).generation, gen0, "no new generation");
    assert_eq!(sysctl(&k, "efault"), 5);
    // The next write works (in the buffer the failed ones used).
    assert_eq!(k.write(fd, new).unwrap(), new.len());
    assert_eq!(message(&k), new);
    // A read into a faulting buffer fails with EFAULT too.
    let rd = k.open(DEV, O_RDONLY).unwrap();
    k.inject_efault(Some(3));
    assert_eq!(k.read(rd, &mut [0u8; 64]).unwrap_err(), Errno::EFAULT);
    assert_eq!(sysctl(&k, "efault"), 6);
    k.close(rd).unwrap();
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn enomem_fails_the_write_and_keeps_the_old_message() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    // The first write has no spare buffer: it allocates the message, one
    // block with its header and bytes. Fail it.
    k.set_malloc_failures(FailPolicy::NthFromNow(1));
    assert_eq!(k.write(fd, b"lost").unwrap_err(), Errno::ENOMEM);
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    assert_eq!(info(&k, fd).generation, 0);
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(k.write(fd, b"lost").unwrap_err(), Errno::ENOMEM);
    assert_eq!(sysctl(&k, "enomem"), 2);
    k.set_malloc_failures(FailPolicy::Never);
    store(&k, b"small");
    store(&k, b"tiny");
    // Now the buffers of replaced messages are kept as a spare: a write
    // that fits the spare needs no memory...
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(k.write(fd, b"fits").unwrap(), 4);
    // ...and one larger than the spare does.
    assert_eq!(k.write(fd, &[b'x'; 1000]).unwrap_err(), Errno::ENOMEM);
    let mut buf = [0u8; 16];
    assert_eq!(k.pread(fd, &mut buf, 0).unwrap(), 4);
    assert_eq!(&buf[..4], b"fits");
    k.set_malloc_failures(FailPolicy::Never);
    assert_eq!(sysctl(&k, "enomem"), 3);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn a_write_longer_than_the_limit_is_efbig() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let limit = support::DEFAULT_MAXLEN as usize;
    let big = vec![b'z'; limit + 1];
    let mallocs = k.malloc_count();
    assert_eq!(k.write(fd, &big).unwrap_err(), Errno::EFBIG);
    assert_eq!(k.malloc_count(), mallocs, "refused before allocating");
    let (a, b) = big.split_at(limit / 2);
    assert_eq!(k.writev(fd, &[a, b]).unwrap_err(), Errno::EFBIG);
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    assert_eq!(info(&k, fd).generation, 0);
    assert_eq!(sysctl(&k, "efbig"), 2);
    // Exactly the limit is allowed.
    assert_eq!(k.write(fd, &big[..limit]).unwrap(), limit);
    assert_eq!(message(&k).len(), limit);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn a_zero_length_write_sets_the_empty_message() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let mallocs = k.malloc_count();
    assert_eq!(k.write(fd, b"").unwrap(), 0);
    assert_eq!(k.writev(fd, &[b"", b""]).unwrap(), 0);
    assert_eq!(
        k.malloc_count(),
        mallocs,
        "the empty message is preallocated"
    );
    assert_eq!(message(&k), b"");
    let i = info(&k, fd);
    assert_eq!((i.length, i.generation), (0, 2));
    assert_eq!(sysctl(&k, "writes"), 2);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn reads_honour_the_offset_and_end_with_zero() {
    let (k, _) = loaded();
    store(&k, b"0123456789");
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let mut buf = [0u8; 16];
    for (off, want) in [
        (0, &b"0123456789"[..]),
        (3, b"3456789"),
        (9, b"9"),
        (10, b""),
        (11, b""),
        (i64::MAX, b""),
    ] {
        let n = k.pread(fd, &mut buf, off).unwrap();
        assert_eq!(&buf[..n], want, "offset {off}");
    }
    // Short buffers get what fits.
    assert_eq!(k.pread(fd, &mut buf[..4], 2).unwrap(), 4);
    assert_eq!(&buf[..4], b"2345");
    // The file offset advances, as cat relies on.
    k.lseek(fd, 6, Whence::Set).unwrap();
    assert_eq!(cat(&k, fd, 3), b"6789");
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn dd_bs_1_reads_byte_by_byte() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let before = sysctl(&k, "reads");
    assert_eq!(cat(&k, fd, 1), DEFAULT_MESSAGE);
    assert_eq!(
        sysctl(&k, "reads") - before,
        DEFAULT_MESSAGE.len() as u64 + 1
    );
    assert_eq!(sysctl(&k, "bytes_out"), DEFAULT_MESSAGE.len() as u64);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn a_negative_offset_is_einval() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let mut buf = [0u8; 8];
    for off in [-1, -100, i64::MIN] {
        assert_eq!(
            k.pread(fd, &mut buf, off).unwrap_err(),
            Errno::EINVAL,
            "{off}"
        );
    }
    // Character devices allow seeking there; the read is refused.
    assert_eq!(k.lseek(fd, -5, Whence::Set).unwrap(), -5);
    assert_eq!(k.read(fd, &mut buf).unwrap_err(), Errno::EINVAL);
    assert_eq!(k.lseek(fd, 0, Whence::Set).unwrap(), 0);
    assert_eq!(cat(&k, fd, 8), DEFAULT_MESSAGE);
    // A refused read leaves the file's snapshot alone: it is not a
    // rewind.
    k.lseek(fd, 3, Whence::Set).unwrap();
    store(&k, b"replacement");
    assert_eq!(k.pread(fd, &mut buf, -1).unwrap_err(), Errno::EINVAL);
    assert_eq!(cat(&k, fd, 8), &DEFAULT_MESSAGE[3..]);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn an_open_file_reads_one_message_while_another_writes() {
    let (k, _) = loaded();
    let reader = k.open(DEV, O_RDONLY).unwrap();
    let writer = k.open(DEV, O_WRONLY).unwrap();
    let mut buf = [0u8; 5];
    assert_eq!(k.read(reader, &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"Defau");
    // Writes (and a clear) in between do not change what this file reads.
    k.write(writer, b"first replacement").unwrap();
    k.write(writer, b"").unwrap();
    k.write(writer, b"second replacement, longer than the first")
        .unwrap();
    let mut rest = cat(&k, reader, 3);
    rest.splice(0..0, buf);
    assert_eq!(rest, DEFAULT_MESSAGE);
    // ... even at other offsets, before or after where it stopped.
    let mut b = [0u8; 7];
    assert_eq!(k.pread(reader, &mut b, 8).unwrap(), 7);
    assert_eq!(&b, b"hello m");
    // A new open (a new cat) sees the newest message.
    assert_eq!(message(&k), b"second replacement, longer than the first");
    k.close(writer).unwrap();
    k.close(reader).unwrap();
    k.check().unwrap();
}

#[test]
fn a_rewind_sees_the_newest_message() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(cat(&k, fd, 64), DEFAULT_MESSAGE);
    store(&k, b"newer");
    // Continuing at the end: still the old snapshot's end.
    assert_eq!(k.read(fd, &mut [0u8; 8]).unwrap(), 0);
    k.lseek(fd, 0, Whence::Set).unwrap();
    assert_eq!(cat(&k, fd, 2), b"newer");
    store(&k, b"newest");
    // pread at offset 0 is a rewind too.
    let mut buf = [0u8; 16];
    assert_eq!(k.pread(fd, &mut buf, 0).unwrap(), 6);
    assert_eq!(&buf[..6], b"newest");
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn reads_never_allocate() {
    let (k, _) = loaded();
    let fds: Vec<i32> = (0..3).map(|_| k.open(DEV, O_RDONLY).unwrap()).collect();
    let mut buf = [0u8; 7];
    for round in 0..20u8 {
        store(&k, &vec![round; usize::from(round) * 3 + 1]);
        let before = (k.malloc_count(), sysctl(&k, "enomem"));
        // Fail every allocation: a read that tried one would fail.
        k.set_malloc_failures(FailPolicy::All);
        for &fd in &fds {
            k.lseek(fd, 0, Whence::Set).unwrap();
            let got = cat(&k, fd, 7);
            assert_eq!(got, vec![round; usize::from(round) * 3 + 1]);
            assert_eq!(
                k.pread(fd, &mut buf, 2).unwrap(),
                7.min(got.len().saturating_sub(2))
            );
            assert_eq!(k.pread(fd, &mut buf, 1000).unwrap(), 0);
        }
        k.set_malloc_failures(FailPolicy::Never);
        assert_eq!(
            (k.malloc_count(), sysctl(&k, "enomem")),
            before,
            "round {round}"
        );
    }
    for fd in fds {
        k.close(fd).unwrap();
    }
    k.check().unwrap();
}

/// The harness fills fresh and freed memory with 0xdeadc0de, as an
/// INVARIANTS kernel does; a read must return only bytes a write stored.
#[test]
fn reads_return_only_written_bytes() {
    let (k, _) = loaded();
    let junk: [u8; 4] = 0xdead_c0de_u32.to_le_bytes();
    let has_junk = |b: &[u8]| {
        b.windows(4)
            .any(|w| w == junk || w == [0xde, 0xc0, 0xad, 0xde])
    };
    // A fresh buffer: its malloc bucket (128 bytes) is larger than the
    // message (100).
    store(&k, &[b'a'; 100]);
    let fd = k.open(DEV, O_RDONLY).unwrap();
    let mut buf = vec![0x5a_u8; 70000];
    assert_eq!(k.read(fd, &mut buf).unwrap(), 100);
    assert!(buf[..100].iter().all(|&b| b == b'a'));
    assert!(
        buf[100..].iter().all(|&b| b == 0x5a),
        "nothing past the message"
    );
    for off in [99, 100, 101, 127, 128, 4096] {
        let n = k.pread(fd, &mut buf, off).unwrap();
        assert_eq!(n, 100usize.saturating_sub(off as usize), "offset {off}");
    }
    // Reused buffers: a short message in a long spare (stale bytes after
    // it), then a failed write that left half of its bytes in the spare.
    store(&k, &[b'b'; 60000]);
    store(&k, &[b'c'; 60000]);
    store(&k, b"short");
    k.inject_efault(Some(30000));
    let w = k.open(DEV, O_WRONLY).unwrap();
    assert_eq!(k.write(w, &[b'd'; 60000]).unwrap_err(), Errno::EFAULT);
    k.close(w).unwrap();
    k.lseek(fd, 0, Whence::Set).unwrap();
    buf.fill(0x5a);
    assert_eq!(k.read(fd, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"short");
    assert!(buf[5..].iter().all(|&b| b == 0x5a));
    assert_eq!(k.pread(fd, &mut buf, 5).unwrap(), 0);
    assert_eq!(k.pread(fd, &mut buf, 59999).unwrap(), 0);
    // Nothing read so far, anywhere, was junk.
    let mut all = Vec::new();
    for off in (0..70000).step_by(997) {
        let n = k.pread(fd, &mut buf, off).unwrap();
        all.extend_from_slice(&buf[..n]);
    }
    assert!(!has_junk(&all));
    k.close(fd).unwrap();
    k.check().unwrap();
}
