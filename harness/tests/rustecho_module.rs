// SPDX-License-Identifier: BSD-2-Clause
//! rustecho(4) on the built `rustecho.ko`: load and unload, the
//! `hw.rustecho` sysctls, allocation flags and the memory bound (the
//! manual page's "Unloading" and SYSCTL VARIABLES).

use echo_testkit as support;

use harness::testing::{fail_each_load_allocation, module_path};
use harness::{Cred, Errno, FailPolicy, Kernel, O_RDONLY, O_RDWR, O_WRONLY, Whence};
use std::time::{Duration, Instant};
use support::{DEFAULT_MESSAGE, DEV, DEV_NAME, cat, info, loaded, message, store, sysctl};

/// Every node of `hw.rustecho`.
const NODES: [&str; 9] = [
    "bytes_in",
    "bytes_out",
    "efault",
    "efbig",
    "enomem",
    "maxlen",
    "opens",
    "reads",
    "writes",
];

/// The malloc bucket a message of `len` bytes takes (kern_malloc.c's
/// `kmemzones`, or whole pages).
fn bucket(len: u64) -> u64 {
    [
        16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
    ]
    .into_iter()
    .find(|&z| z >= len)
    .unwrap_or_else(|| len.div_ceil(4096) * 4096)
}

fn live_bytes(k: &Kernel) -> u64 {
    k.malloc_stats(support::MALLOC_TYPE).unwrap().live_bytes
}

#[test]
fn load_logs_one_line_and_creates_the_nodes() {
    let (k, id) = loaded();
    assert_eq!(
        k.dmesg(),
        "rustecho: /dev/rustmodule created, messages up to 65536 bytes\n"
    );
    let mut nodes = k.sysctl_children("hw.rustecho").unwrap();
    nodes.sort();
    assert_eq!(nodes, NODES);
    assert_eq!(sysctl(&k, "maxlen"), 65536);
    for n in NODES.iter().filter(|&&n| n != "maxlen") {
        assert_eq!(sysctl(&k, n), 0, "{n}");
    }
    k.kldunload(id, false).unwrap();
    assert_eq!(k.sysctl_get("hw.rustecho").unwrap_err(), Errno::ENOENT);
    assert!(
        k.malloc_stats(support::MALLOC_TYPE).is_none(),
        "malloc_uninit ran"
    );
    k.check().unwrap();
}

#[test]
fn maxlen_is_validated_root_only_and_never_truncates() {
    let (k, _) = loaded();
    for bad in ["0", "16777217", "18446744073709551615"] {
        assert_eq!(
            k.sysctl_set("hw.rustecho.maxlen", bad).unwrap_err(),
            Errno::EINVAL,
            "{bad}"
        );
        assert_eq!(sysctl(&k, "maxlen"), 65536);
    }
    // Writable by root only, readable by all.
    let wheel = k.with_cred(Cred {
        uid: 1001,
        gid: 1001,
        groups: vec![1001, 0],
    });
    assert_eq!(
        wheel.sysctl_set("hw.rustecho.maxlen", "10").unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(sysctl(&wheel, "maxlen"), 65536);
    // The bounds are accepted; a larger limit allows larger messages.
    k.sysctl_set("hw.rustecho.maxlen", "16777216").unwrap();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    store(&k, &big);
    assert_eq!(message(&k), big);
    // Lowering it keeps the current message whole...
    k.sysctl_set("hw.rustecho.maxlen", "1").unwrap();
    assert_eq!(message(&k), big);
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(info(&k, fd).length, 1_000_000);
    // ...and applies to the next write.
    assert_eq!(k.write(fd, b"ab").unwrap_err(), Errno::EFBIG);
    assert_eq!(k.write(fd, b"a").unwrap(), 1);
    assert_eq!(message(&k), b"a");
    // The spare buffer is bounded by the new limit too: with the old
    // 1 MB buffer freed, little memory is left.
    assert!(
        live_bytes(&k) < 4096,
        "{:?}",
        k.malloc_stats(support::MALLOC_TYPE)
    );
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn counters_count_and_are_read_only() {
    let (k, _) = loaded();
    let a = k.open(DEV, O_RDWR).unwrap();
    let b = k.open(DEV, O_RDONLY).unwrap();
    k.write(a, b"12345").unwrap();
    k.write(a, b"").unwrap();
    k.write(a, b"678").unwrap();
    let mut buf = [0u8; 2];
    k.read(b, &mut buf).unwrap(); // 2 bytes
    k.read(b, &mut buf).unwrap(); // 1 byte
    k.read(b, &mut buf).unwrap(); // end of file
    assert_eq!(k.pread(b, &mut buf, -1).unwrap_err(), Errno::EINVAL);
    assert_eq!(k.write(a, &vec![0; 65537]).unwrap_err(), Errno::EFBIG);
    k.inject_efault(Some(1));
    assert_eq!(k.write(a, b"abc").unwrap_err(), Errno::EFAULT);
    k.inject_efault(Some(0));
    assert_eq!(k.pread(b, &mut buf, 0).unwrap_err(), Errno::EFAULT);
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(k.open(DEV, O_RDONLY).unwrap_err(), Errno::ENOMEM);
    k.set_malloc_failures(FailPolicy::Never);
    let want = [
        ("opens", 2),
        ("writes", 3),
        ("bytes_in", 8),
        ("reads", 3),
        ("bytes_out", 3),
        ("efbig", 1),
        ("efault", 2),
        ("enomem", 1),
    ];
    for (name, v) in want {
        assert_eq!(sysctl(&k, name), v, "{name}");
        assert_eq!(
            k.sysctl_set(&format!("hw.rustecho.{name}"), "0")
                .unwrap_err(),
            Errno::EPERM,
            "{name}"
        );
    }
    k.close(a).unwrap();
    k.close(b).unwrap();
    k.check().unwrap();
}

#[test]
fn every_allocation_a_user_can_trigger_is_m_nowait() {
    let (k, _) = loaded();
    let (nowait0, all0) = (k.malloc_nowait_count(), k.malloc_count());
    let mut fds = Vec::new();
    for i in 0..5u8 {
        let fd = k.open(DEV, O_RDWR).unwrap();
        k.write(fd, &vec![i; 100 << i]).unwrap();
        k.writev(fd, &[b"a", b"b"]).unwrap();
        support::fionread(&k, fd);
        info(&k, fd);
        k.ioctl_raw(fd, support::header().clear, 0).unwrap();
        k.lseek(fd, 0, Whence::Set).unwrap();
        cat(&k, fd, 7);
        fds.push(fd);
    }
    for fd in fds {
        k.close(fd).unwrap();
    }
    let (nowait, all) = (k.malloc_nowait_count() - nowait0, k.malloc_count() - all0);
    assert!(nowait > 5, "opens and writes allocated ({nowait})");
    assert_eq!(all, nowait, "every allocation was M_NOWAIT");
    // So when no memory is at hand, they fail with ENOMEM instead of
    // sleeping.
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.set_malloc_failures(FailPolicy::All);
    assert_eq!(k.open(DEV, O_RDWR).unwrap_err(), Errno::ENOMEM);
    assert_eq!(k.write(fd, &[1; 5000]).unwrap_err(), Errno::ENOMEM);
    k.set_malloc_failures(FailPolicy::Never);
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn load_may_sleep_for_memory() {
    // Failing every M_NOWAIT allocation does not fail the load: all of its
    // allocations wait (M_WAITOK).
    let k = Kernel::new();
    k.set_malloc_failures(FailPolicy::All);
    let (nowait0, all0) = (k.malloc_nowait_count(), k.malloc_count());
    let id = k.kldload(module_path("rustecho")).unwrap();
    assert_eq!(k.malloc_nowait_count(), nowait0);
    // The module's own: the message (one block), the sysctl context and
    // the device state (its two locks initialised in place in it; the
    // empty message is a static);
    // then the kernel's (the cdev, the sysctl OIDs, ...).
    let ours = k.malloc_stats("rustecho").unwrap();
    assert_eq!((ours.live_allocs, ours.failures), (3, 0), "{ours:?}");
    assert!(k.malloc_count() > all0 + 3);
    k.set_malloc_failures(FailPolicy::Never);
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_load_makes_no_allocation_that_can_fail() {
    // Every allocation of the load is M_WAITOK (FreeBSD never fails one,
    // nor does the harness): failing each M_NOWAIT allocation in turn
    // finds none. The steps that can fail (a taken device name, sysctl
    // node or leaf) are the reliability suite's "load" scenario and
    // `a_taken_device_name_fails_the_load_and_leaves_nothing`.
    let failed = fail_each_load_allocation(
        "rustecho",
        |k, n, e| panic!("allocation {n} failed the load: {e:?}\n{}", k.dmesg()),
        |k, id| {
            assert_eq!(message(k), DEFAULT_MESSAGE);
            k.kldunload(id, false).unwrap();
            k.check().unwrap();
        },
    );
    assert_eq!(failed, 0, "no M_NOWAIT allocation at load");
}

#[test]
fn a_taken_device_name_fails_the_load_and_leaves_nothing() {
    let (k, id) = loaded();
    store(&k, b"first");
    // The same module under another name (module, malloc type, sysctl
    // node and driver name "rustechx"), still creating /dev/rustmodule.
    let dir = std::env::temp_dir().join(format!("rustecho-taken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("rustechx.ko");
    let mut bytes = std::fs::read(module_path("rustecho")).unwrap();
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(8) {
        if &bytes[i..i + 8] == b"rustecho" {
            bytes[i + 7] = b'x';
            patched += 1;
        }
    }
    assert!(patched >= 3, "{patched}");
    std::fs::write(&copy, bytes).unwrap();
    let r = k.kldload(&copy);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.unwrap_err(), Errno::ENOEXEC);
    assert_eq!(k.kldstat().len(), 2, "the first module only");
    assert_eq!(k.sysctl_get("hw.rustechx").unwrap_err(), Errno::ENOENT);
    assert!(
        k.malloc_stats("rustechx")
            .is_none_or(|s| s.live_allocs == 0)
    );
    assert!(!k.dmesg().contains("rustechx: /dev"), "{}", k.dmesg());
    // The first module is untouched.
    assert_eq!(k.devices().len(), 1);
    assert_eq!(message(&k), b"first");
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn unload_is_ebusy_while_open_and_the_module_keeps_working() {
    let (k, id) = loaded();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    assert_eq!(k.kldunload("rustecho", false).unwrap_err(), Errno::EBUSY);
    k.write(fd, b"still here").unwrap();
    assert_eq!(message(&k), b"still here");
    assert_eq!(sysctl(&k, "writes"), 1);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert!(k.devices().is_empty());
    assert!(k.malloc_stats(support::MALLOC_TYPE).is_none());
    k.check().unwrap();
}

/// `kldunload -f` with threads inside read and write: destroy_dev waits
/// for them, runs the destructors of the files still open, and every byte
/// is freed (a leak would be reported by malloc_uninit and fail the
/// check).
///
/// The files are closed after the unload returns. A close racing with
/// the unload would run its cdevpriv destructor outside any protection
/// (devfs_fpdrop() calls it after the file left the device, and
/// destroy_dev() waits only for threads inside the methods), so module
/// code could run while the module is being freed. That race is
/// FreeBSD's, so it is not tested (README.md, "Reliability").
#[test]
fn forced_unload_waits_for_threads_inside_and_frees_everything() {
    let (k, id) = loaded();
    k.sysctl_set("hw.rustecho.maxlen", "16777216").unwrap();
    let workers: Vec<_> = (0..6u8)
        .map(|t| {
            let k = k.clone();
            let fd = k.open(DEV, O_RDWR).unwrap();
            std::thread::spawn(move || {
                let data = vec![t; 4 << 20];
                let mut buf = vec![0u8; 4 << 20];
                let mut ops = 0u64;
                loop {
                    let r = if t % 2 == 0 {
                        k.write(fd, &data).map(drop)
                    } else {
                        k.pread(fd, &mut buf, 0).map(drop)
                    };
                    match r {
                        Ok(()) => ops += 1,
                        Err(e) => return (e, ops, fd),
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while k.dev_threads(DEV_NAME).unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "no thread entered the device");
        std::thread::yield_now();
    }
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    k.kldunload(id, true).unwrap();
    assert!(k.devices().is_empty());
    assert_eq!(k.kldstat().len(), 1);
    assert!(
        k.malloc_stats(support::MALLOC_TYPE).is_none(),
        "malloc_uninit ran"
    );
    assert!(!k.dmesg().contains("leaked"), "{}", k.dmesg());
    for w in workers {
        let (end, ops, fd) = w.join().unwrap();
        assert_eq!(end, Errno::ENXIO, "after {ops} operations");
        // The device is gone; the descriptor still closes, and every
        // call on it fails.
        assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap_err(), Errno::ENXIO);
        k.close(fd).unwrap();
    }
    k.check().unwrap();
}

#[test]
fn steady_state_writes_allocate_nothing() {
    let (k, _) = loaded();
    let fd = k.open(DEV, O_WRONLY).unwrap();
    // Two buffers take turns (the current message and the spare): after
    // two writes of the largest size, every write fits.
    for len in [10, 1000, 1000] {
        k.write(fd, &vec![1; len]).unwrap();
    }
    let mallocs = k.malloc_count();
    for i in 0..200usize {
        let len = 1 + i * 7 % 1000;
        k.write(fd, &vec![2; len]).unwrap();
        if i % 10 == 0 {
            k.write(fd, b"").unwrap();
            k.ioctl_raw(fd, support::header().clear, 0).unwrap();
        }
    }
    assert_eq!(
        k.malloc_count(),
        mallocs,
        "writes that fit the spare allocate nothing"
    );
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn memory_is_bounded_by_the_limit_and_the_open_snapshots() {
    let (k, _) = loaded();
    let max = 60_000u64; // bucket: 65536
    let per_message = bucket(max) + 32; // the bytes and the Arc block
    let w = k.open(DEV, O_WRONLY).unwrap();
    // The module's fixed state, the writer's file, the default message.
    let base = live_bytes(&k);
    // With no reader: the current message and one spare, whatever the
    // number of writes.
    for i in 0..50u8 {
        k.write(w, &vec![i; max as usize - usize::from(i)]).unwrap();
        assert!(
            live_bytes(&k) <= base + 2 * per_message,
            "write {i}: {}",
            live_bytes(&k)
        );
    }
    // Each file that holds a snapshot keeps at most one message alive.
    let readers: Vec<i32> = (0..4).map(|_| k.open(DEV, O_RDONLY).unwrap()).collect();
    // The current message and the spare, and the readers' files.
    let per_open = live_bytes(&k);
    for (n, &r) in readers.iter().enumerate() {
        k.write(w, &vec![n as u8; max as usize]).unwrap();
        let mut b = [0u8; 1];
        k.read(r, &mut b).unwrap();
        for _ in 0..5 {
            k.write(w, &vec![9; max as usize]).unwrap();
        }
        assert!(
            live_bytes(&k) <= per_open + (n as u64 + 1) * per_message,
            "{} readers: {}",
            n + 1,
            live_bytes(&k)
        );
    }
    // Closing them releases their snapshots.
    for r in readers {
        k.close(r).unwrap();
    }
    assert!(
        live_bytes(&k) <= base + 2 * per_message,
        "{}",
        live_bytes(&k)
    );
    k.close(w).unwrap();
    k.check().unwrap();
}

#[test]
fn each_injectable_call_of_the_load_fails_in_turn_the_cdev_name_included() {
    let k = Kernel::new();
    k.fail_injectable(0);
    let id = k.kldload(module_path(support::MODULE)).unwrap();
    let calls = k.injectable_calls();
    k.kldunload(id, false).unwrap();
    assert!(
        calls.contains(&harness::Injectable::MakeDevCheckname),
        "make_dev_s with MAKEDEV_CHECKNAME: {calls:?}"
    );
    for n in 1..=calls.len() {
        k.clear_dmesg();
        k.fail_injectable(n as u64);
        let r = k.kldload(module_path(support::MODULE));
        k.injectable_calls();
        assert_eq!(
            r.unwrap_err(),
            Errno::ENOEXEC,
            "call {n} ({})",
            calls[n - 1]
        );
        assert!(k.devices().is_empty(), "call {n}");
        assert!(k.sysctl_get("hw.rustecho").is_err(), "call {n}");
    }
    let id = k.kldload(module_path(support::MODULE)).unwrap();
    assert_eq!(message(&k), DEFAULT_MESSAGE);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
