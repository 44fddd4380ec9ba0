// SPDX-License-Identifier: BSD-2-Clause
//! rustecho(4) on the built `rustecho.ko`: many readers and writers at once,
//! and the memory they can make the module hold (the manual page's
//! "Concurrency and memory").
//!
//! The kernel is strict: a lock-order violation, sleeping with a mutex
//! held (uiomove or M_WAITOK under the message mutex) or a leak fails the
//! test when it is dropped, and `check()` reports it earlier.

use echo_testkit as support;

use harness::{O_RDONLY, O_RDWR, O_WRONLY, Whence};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::{DEFAULT_MESSAGE, DEV, cat, fionread, header, info, loaded};

const WRITERS: usize = 4;
const READERS: usize = 4;
const ROUNDS: usize = 300;
const MAX_LEN: usize = 3000;

/// The byte a message of `len` bytes is made of: a message read whole
/// must be uniform and of the length its bytes say, so a torn message (a
/// mix of two, or a prefix of one) is detected.
fn fill(len: usize) -> u8 {
    (len % 251) as u8 + 1
}

fn is_whole_message(m: &[u8]) -> bool {
    m.is_empty() || m == DEFAULT_MESSAGE || m.iter().all(|&b| b == fill(m.len()))
}

/// A small xorshift generator (deterministic per thread).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn readers_and_writers_at_once_never_see_a_torn_message() {
    let (k, id) = loaded();
    let clear = header().clear;
    let writer_fds: Vec<i32> = (0..WRITERS)
        .map(|_| k.open(DEV, O_WRONLY).unwrap())
        .collect();
    let reader_fds: Vec<i32> = (0..READERS)
        .map(|_| k.open(DEV, O_RDONLY).unwrap())
        .collect();
    let shared_fd = k.open(DEV, O_RDWR).unwrap();
    // What the module holds now: fixed state, the files, the default
    // message. Then at most: the current message and the spare, and per
    // reading file (the readers' and the shared one) its snapshot, two
    // while it swaps them. A message is at most 3000 bytes (a 4096-byte
    // malloc bucket) plus its 32-byte Arc block.
    let base = k.malloc_stats(support::MALLOC_TYPE).unwrap().live_bytes;
    let per_message = 4096 + 32;
    let bound = base + (2 + 2 * (READERS as u64 + 1)) * per_message;
    let published = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (t, fd) in writer_fds.into_iter().enumerate() {
        let (k, published) = (k.clone(), Arc::clone(&published));
        threads.push(std::thread::spawn(move || {
            let mut seed = 0x9e37_79b9_7f4a_7c15 ^ t as u64;
            for _ in 0..ROUNDS {
                let r = next(&mut seed);
                let len = 1 + (r as usize) % MAX_LEN;
                let data = vec![fill(len); len];
                match r % 8 {
                    0 => {
                        k.ioctl_raw(fd, clear, 0).unwrap();
                    }
                    1 => assert_eq!(k.write(fd, b"").unwrap(), 0),
                    2 | 3 => {
                        let (a, rest) = data.split_at(len / 3);
                        let (b, c) = rest.split_at(rest.len() / 2);
                        assert_eq!(k.writev(fd, &[a, b, c]).unwrap(), len);
                    }
                    _ => assert_eq!(k.write(fd, &data).unwrap(), len),
                }
                published.fetch_add(1, Ordering::Relaxed);
            }
            k.close(fd).unwrap();
        }));
    }
    for (t, fd) in reader_fds.into_iter().enumerate() {
        let k = k.clone();
        threads.push(std::thread::spawn(move || {
            for round in 0..ROUNDS {
                k.lseek(fd, 0, Whence::Set).unwrap();
                // Small reads: the message is assembled from many calls,
                // all of which must come from the same snapshot.
                let m = cat(&k, fd, 7 + t * 13);
                assert!(
                    is_whole_message(&m),
                    "reader {t} round {round}: {} bytes",
                    m.len()
                );
                assert_eq!(fionread(&k, fd), 0);
                let i = info(&k, fd);
                assert!(i.length <= MAX_LEN as u64 || i.length == DEFAULT_MESSAGE.len() as u64);
            }
            k.close(fd).unwrap();
        }));
    }
    // Two threads on one file, with ioctls and reads at offsets.
    for t in 0..2u64 {
        let k = k.clone();
        threads.push(std::thread::spawn(move || {
            let mut seed = 0x1234_5678 ^ t;
            let mut buf = [0u8; 64];
            for _ in 0..ROUNDS {
                let r = next(&mut seed);
                let n = k.pread(shared_fd, &mut buf, (r % 4000) as i64).unwrap();
                assert!(n <= buf.len());
                let _ = fionread(&k, shared_fd);
                let _ = info(&k, shared_fd);
            }
        }));
    }
    let watcher = {
        let (k, done) = (k.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                let live = k.malloc_stats(support::MALLOC_TYPE).unwrap().live_bytes;
                peak = peak.max(live);
                std::thread::yield_now();
            }
            peak
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let peak = watcher.join().unwrap();
    assert!(peak <= bound, "peak {peak} > bound {bound}");
    // Writers were serialised: each write and clear made exactly one
    // generation.
    assert_eq!(
        info(&k, shared_fd).generation,
        published.load(Ordering::Relaxed)
    );
    assert!(is_whole_message(&support::message(&k)));
    k.close(shared_fd).unwrap();
    k.check().unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
