// SPDX-License-Identifier: BSD-2-Clause
//! Unload races: `kldunload` while threads are inside `read(2)` and
//! `write(2)` of 4 MiB messages.
//!
//! An unforced unload is vetoed with `EBUSY` (the files are open) and the
//! device keeps working; a forced one destroys the device, and
//! `destroy_dev(9)` waits for the threads inside: the call each of them is
//! in returns normally (a read returns one whole message), every later
//! call fails with `ENXIO`, and the module's memory is all freed
//! (`malloc_uninit` reports no leak).
//!
//! Not tested: closing a file while a forced unload runs. The close's
//! `cdevpriv` destructor runs outside `destroy_dev`'s protection
//! (`devfs_fpdrop()` calls it after the file left the device), so module
//! code could run while the module is freed: a FreeBSD-level race, see
//! `harness/tests/rustecho_module.rs`.

use crate::Params;
use crate::tally::Tally;
use echo_testkit::{DEV, DEV_NAME};
use harness::testing::module_path;
use harness::{Errno, Kernel, O_RDWR};
use std::time::{Duration, Instant};

/// Bytes per message: large, so that threads stay inside for a while.
const SIZE: usize = 4 << 20;

/// The byte a writer's message is made of.
fn fill(t: usize) -> u8 {
    u8::try_from(t + 1).unwrap_or(u8::MAX)
}

/// One round; returns (vetoes, calls that completed while the unload ran).
fn round(t: &Tally, round: usize) -> (u64, u64) {
    let k = Kernel::new();
    let id = k.kldload(module_path(echo_testkit::MODULE)).unwrap();
    k.sysctl_set("hw.rustecho.maxlen", &SIZE.to_string())
        .unwrap();
    t.ops_ok(2);
    let threads = 4;
    let mut vetoes = 0;
    let finished = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let k = k.clone();
                let fd = k.open(DEV, O_RDWR).unwrap();
                scope.spawn(move || {
                    let data = vec![fill(i); SIZE];
                    let mut buf = vec![0u8; SIZE];
                    let mut ok = 0u64;
                    loop {
                        let r = if i % 2 == 0 {
                            k.write(fd, &data).map(|n| assert_eq!(n, SIZE))
                        } else {
                            k.pread(fd, &mut buf, 0).map(|n| {
                                // One whole message: the default, or one
                                // writer's bytes only.
                                let m = &buf[..n];
                                assert!(
                                    n == echo_testkit::DEFAULT_MESSAGE.len()
                                        || (n == SIZE && m.iter().all(|&b| b == m[0])),
                                    "round {round}: a torn read of {n} bytes"
                                );
                            })
                        };
                        match r {
                            Ok(()) => ok += 1,
                            Err(e) => {
                                assert_eq!(e, Errno::ENXIO, "round {round} thread {i}");
                                // Every later call fails the same way.
                                assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap_err(), Errno::ENXIO);
                                return (ok, fd);
                            }
                        }
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while k.dev_threads(DEV_NAME).unwrap_or(0) < 2 {
            assert!(Instant::now() < deadline, "no thread entered the device");
            std::thread::yield_now();
        }
        // Vetoed while the files are open, and the device keeps working.
        for _ in 0..3 {
            let r = k.kldunload(id, false);
            t.op(&r);
            assert_eq!(r.unwrap_err(), Errno::EBUSY, "round {round}");
            vetoes += 1;
        }
        assert!(!k.devices().is_empty());
        let inside = k.dev_threads(DEV_NAME).unwrap_or(0);
        let r = k.kldunload(id, true);
        t.op(&r);
        r.unwrap_or_else(|e| panic!("round {round}: forced unload: {e:?}"));
        assert!(k.devices().is_empty());
        let mut calls = 0;
        for h in handles {
            let (ok, fd) = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            calls += ok;
            t.ops_ok(ok + 1);
            t.error(&Errno::ENXIO.into());
            k.close(fd).unwrap();
        }
        (calls, inside)
    });
    assert!(
        k.malloc_stats(echo_testkit::MALLOC_TYPE).is_none(),
        "round {round}: malloc_uninit did not run"
    );
    let v = t.absorb_kernel(&k);
    assert!(v.is_empty(), "round {round}: {v:?}");
    (vetoes, finished.1 as u64)
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(params: &Params, t: &Tally) {
    let (mut vetoes, mut inside) = (0, 0);
    for r in 0..params.unload_rounds {
        let (v, i) = round(t, r);
        vetoes += v;
        inside += i;
    }
    t.note(format!(
        "unload: {} rounds: {vetoes} unforced unloads vetoed with EBUSY; forced unloads \
         found {inside} threads inside read/write, each finished its call",
        params.unload_rounds
    ));
}
