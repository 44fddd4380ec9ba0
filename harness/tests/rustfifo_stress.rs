// SPDX-License-Identifier: BSD-2-Clause
//! `rustfifo.ko` (`fifo/`) under concurrency: several writers and readers
//! sleeping and waking each other through a small FIFO lose, duplicate
//! and reorder no byte, and no wakeup is missed (every thread finishes).

use harness::testing::module_path;
use harness::{Kernel, O_RDWR};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/rustfifo";
/// Past this, a thread that has not finished missed a wakeup.
const WATCHDOG: Duration = Duration::from_secs(60);
const RECORD: usize = 16;
const RECORDS: u32 = 300;
const WRITERS: u8 = 4;

/// Record `seq` of writer `w`: its id, its number, and a fill derived
/// from both.
fn record(w: u8, seq: u32) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[0] = w;
    r[1..5].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in r[5..].iter_mut().enumerate() {
        *b = w
            .wrapping_mul(31)
            .wrapping_add(seq as u8)
            .wrapping_add(i as u8);
    }
    r
}

fn spawn_writers(k: &Kernel, fd: i32) -> Vec<thread::JoinHandle<()>> {
    (0..WRITERS)
        .map(|w| {
            let k = k.clone();
            thread::spawn(move || {
                for seq in 0..RECORDS {
                    assert_eq!(k.write(fd, &record(w, seq)).unwrap(), RECORD);
                }
            })
        })
        .collect()
}

/// Joins `h` within the watchdog's time.
fn join_in_time<T: Send + 'static>(h: thread::JoinHandle<T>) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(h.join()).unwrap());
    rx.recv_timeout(WATCHDOG)
        .expect("a thread did not finish: missed wakeup or deadlock")
        .unwrap()
}

#[test]
fn one_reader_sees_each_writers_records_whole_and_in_order() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    // Room for three records and a bit: writers sleep often.
    k.sysctl_set("hw.rustfifo.capacity", "50").unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let writers = spawn_writers(&k, fd);
    let k2 = k.clone();
    let reader = thread::spawn(move || {
        let total = usize::from(WRITERS) * RECORDS as usize * RECORD;
        let mut stream = Vec::with_capacity(total);
        while stream.len() < total {
            let mut buf = [0u8; 37];
            let n = k2.read(fd, &mut buf).unwrap();
            stream.extend_from_slice(&buf[..n]);
        }
        stream
    });
    for w in writers {
        join_in_time(w);
    }
    let stream = join_in_time(reader);
    let mut next = vec![0u32; usize::from(WRITERS)];
    for r in stream.chunks(RECORD) {
        let w = r[0];
        let seq = next[usize::from(w)];
        assert_eq!(r, record(w, seq), "writer {w}, record {seq}");
        next[usize::from(w)] += 1;
    }
    assert!(next.iter().all(|&n| n == RECORDS), "{next:?}");
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn four_writers_and_four_readers_lose_and_duplicate_nothing() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    k.sysctl_set("hw.rustfifo.capacity", "40").unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    let writers = spawn_writers(&k, fd);
    let total = usize::from(WRITERS) * RECORDS as usize * RECORD;
    let per_reader = total / 4;
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let k = k.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < per_reader {
                    let mut buf = vec![0u8; (per_reader - got.len()).min(23)];
                    let n = k.read(fd, &mut buf).unwrap();
                    got.extend_from_slice(&buf[..n]);
                }
                got
            })
        })
        .collect();
    for w in writers {
        join_in_time(w);
    }
    let mut all: Vec<u8> = readers.into_iter().flat_map(join_in_time).collect();
    let mut expect: Vec<u8> = (0..WRITERS)
        .flat_map(|w| (0..RECORDS).flat_map(move |s| record(w, s)))
        .collect();
    assert_eq!(all.len(), expect.len());
    all.sort_unstable();
    expect.sort_unstable();
    assert!(all == expect, "the bytes read are not the bytes written");
    let wakeups = match k.sysctl_get("hw.rustfifo.wakeups").unwrap() {
        harness::SysctlValue::Uint(v) => v,
        v => panic!("{v:?}"),
    };
    println!(
        "wakeups: {wakeups}, kernel wakeups that woke a thread: {}",
        k.wakeup_count()
    );
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
