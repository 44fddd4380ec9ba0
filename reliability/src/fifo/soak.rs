// SPDX-License-Identifier: BSD-2-Clause
//! Soak: load/unload cycles of `rustfifo.ko` in one kernel (10,000 under
//! `make soak`, a few hundred in `make test`), each with blocking I/O: a
//! reader sleeps until a write of 1 to 4096 bytes wakes it and must get
//! the write's first bytes, the rest is read back, the idle callout
//! fires now and then (the virtual clock jumps) and its task frees the
//! storage; every 8th cycle is a forced unload with a reader asleep in
//! the module, which must return `ENXIO`.
//!
//! About a hundred times it samples what the kernel keeps between cycles
//! (live allocations and bytes of every malloc type, devices, sysctl
//! nodes, loaded files: exactly the same each time) and this process's
//! resident memory (bounded growth after a warm-up), as the rustecho
//! soak does ([`crate::soak`]).

use super::{DEV, MODULE, READ_WAIT, WAIT, drain, sysctl};
use crate::Params;
use crate::device::pattern;
use crate::soak::{MSGBUF, RSS_BOUND, kept, rss, slope};
use crate::stress::Watchdog;
use crate::tally::Tally;
use harness::testing::module_path;
use harness::{Config, Errno, Kernel, O_RDWR};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Waits until `h` returned (a missed wakeup fails the cycle rather than
/// hang it).
fn finished<T>(h: &std::thread::JoinHandle<T>, i: u64, what: &str) {
    let end = Instant::now() + WAIT;
    while !h.is_finished() {
        assert!(Instant::now() < end, "cycle {i}: {what}");
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// One cycle.
fn cycle(t: &Tally, k: &Kernel, ko: &std::path::Path, i: u64) {
    let id = k
        .kldload(ko)
        .unwrap_or_else(|e| panic!("cycle {i}: kldload: {e:?}\n{}", k.dmesg()));
    let fd = k.open(DEV, O_RDWR).unwrap_or_else(|e| panic!("{e:?}"));
    let len = 1 + usize::try_from(i.wrapping_mul(2_654_435_761) % 4096).unwrap_or(0);
    let want = 1 + len / 2;
    let kr = k.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; want];
        kr.read(fd, &mut buf).map(|n| buf[..n].to_vec())
    });
    assert!(
        k.wait_for_sleepers(READ_WAIT, 1, WAIT),
        "cycle {i}: the reader did not block: {:?}",
        k.sleepers()
    );
    if i % 8 == 7 {
        // A forced unload wakes the sleeper with ENXIO.
        let r = k.kldunload(id, true);
        t.op(&r);
        r.unwrap_or_else(|e| panic!("cycle {i}: forced unload: {e:?}"));
        finished(&reader, i, "destroy_dev did not wake the reader");
        let got = reader
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        assert!(
            matches!(&got, Err(e) if *e == Errno::ENXIO),
            "cycle {i}: {got:?}"
        );
        t.error(&Errno::ENXIO.into());
        k.close(fd).unwrap_or_else(|e| panic!("{e:?}"));
        return;
    }
    let msg = pattern(i, len);
    assert_eq!(k.write(fd, &msg), Ok(len), "cycle {i}");
    finished(&reader, i, "the write did not wake the reader");
    let got = reader
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
        .unwrap_or_else(|e| panic!("cycle {i}: read: {e:?}"));
    assert!(
        !got.is_empty() && got.len() <= want,
        "cycle {i}: read {}",
        got.len()
    );
    let mut all = got;
    all.extend(drain(k));
    assert!(all == msg, "cycle {i}: read back something else");
    if i.is_multiple_of(4) {
        // Idle: the callout fires, its task frees the storage.
        let frees = sysctl(k, "idle_frees");
        k.advance_clock(Duration::from_secs(2));
        let end = Instant::now() + WAIT;
        while sysctl(k, "idle_frees") == frees {
            assert!(
                Instant::now() < end,
                "cycle {i}: the idle storage was not freed"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    k.close(fd).unwrap_or_else(|e| panic!("{e:?}"));
    k.kldunload(id, false)
        .unwrap_or_else(|e| panic!("cycle {i}: kldunload: {e:?}"));
    t.ops_ok(6);
}

/// The scenario.
///
/// # Panics
/// If a cycle fails or memory grows.
#[allow(clippy::cast_precision_loss, reason = "rates for the report")]
pub fn run(p: &Params, t: &Tally) {
    let cycles = p.fifo_soak_cycles;
    let every = (cycles / 100).max(1);
    let k = Kernel::with_config(Config {
        msgbuf_size: MSGBUF,
        ..Config::default()
    });
    let ko = module_path(MODULE);
    let base = kept(&k);
    let (mut xs, mut rss_samples) = (Vec::new(), Vec::new());
    let progress = Arc::new(AtomicU64::new(0));
    // A sleeper destroy_dev does not wake hangs the forced unload itself.
    let watchdog = Watchdog::start(
        Arc::clone(&progress),
        Duration::from_secs(p.watchdog_secs),
        || String::from("rustfifo soak: a cycle hangs (a missed wakeup)"),
        Watchdog::exit,
    );
    let start = Instant::now();
    for i in 0..cycles {
        cycle(t, &k, &ko, i);
        progress.fetch_add(1, Ordering::Relaxed);
        if i % every == 0 || i + 1 == cycles {
            let now = kept(&k);
            if now.allocs != base.allocs {
                t.leak(1);
            }
            assert_eq!(now, base, "cycle {i}: the kernel kept something");
            xs.push(i);
            rss_samples.push(rss());
            super::absorb(t, &k);
        }
    }
    let elapsed = start.elapsed();
    drop(watchdog);
    let warm = xs.len() / 10;
    let (first, last) = (rss_samples[warm], rss_samples[rss_samples.len() - 1]);
    let per_1000 = slope(&xs[warm..], &rss_samples[warm..]) * 1000.0;
    t.note(format!(
        "fifo-soak: {cycles} load/unload cycles with a blocked reader each in {elapsed:.1?} \
         ({:.0} cycles/s; every 8th a forced unload, every 4th an idle free); kernel malloc \
         statistics identical at all {} samples; RSS first {} KiB, last {} KiB, slope \
         {per_1000:+.1} bytes per 1000 cycles",
        cycles as f64 / elapsed.as_secs_f64(),
        xs.len(),
        first / 1024,
        last / 1024,
    ));
    assert!(
        last <= first + RSS_BOUND,
        "resident memory grew from {first} to {last} bytes"
    );
}
