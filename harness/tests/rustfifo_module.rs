// SPDX-License-Identifier: BSD-2-Clause
//! `rustfifo.ko` (`fifo/`) as a module: loading, the veto while a file is
//! open, a forced unload that wakes its sleepers (`d_purge`) and drains
//! its callout and task, and the README's walkthrough in kldsim.

use harness::sim::Shell;
use harness::testing::module_path;
use harness::{Errno, Kernel, O_RDWR};
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/rustfifo";
const WAIT: Duration = Duration::from_secs(10);

#[test]
fn the_load_builds_the_device_in_four_allocations() {
    // Its own, all M_WAITOK: the device state (with the idle callout,
    // its task and the poll queue initialised in place), the core shared
    // with their handlers (its mutex and two sx locks in place), the
    // ring's storage header (shared by the ring and its producer and
    // consumer tokens, so it outlives a slot being copied), and the
    // sysctl context. Each lock, the callout, the task and the poll queue
    // used to cost one more, and the task an Arc besides: ten in all.
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let ours = k.malloc_stats("rustfifo").unwrap();
    assert_eq!((ours.total_allocs, ours.live_allocs), (4, 4), "{ours:?}");
    k.kldunload(id, false).unwrap();
    // Everything destroyed in place and freed: no lock left initialised
    // in freed memory, no callout or task pending.
    k.check().unwrap();
}

#[test]
fn an_open_file_vetoes_the_unload() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(k.kldunload(id, false).unwrap_err(), Errno::EBUSY);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert_eq!(k.open(DEV, O_RDWR).unwrap_err(), Errno::ENOENT);
    k.check().unwrap();
}

#[test]
fn a_forced_unload_wakes_the_sleeping_readers_with_enxio() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    // Storage allocated and the idle callout pending at unload.
    k.write(fd, b"x").unwrap();
    assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap(), 1);
    // One reader sleeps for data, the other for the readers' lock.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let k2 = k.clone();
            thread::spawn(move || k2.read(fd, &mut [0u8; 8]))
        })
        .collect();
    assert!(k.wait_for_sleepers("fiford", 1, WAIT), "{:?}", k.sleepers());
    k.kldunload(id, true).unwrap();
    for r in readers {
        assert_eq!(r.join().unwrap().unwrap_err(), Errno::ENXIO);
    }
    assert_eq!(k.read(fd, &mut [0u8; 4]).unwrap_err(), Errno::ENXIO);
    k.close(fd).unwrap();
    // No leak, no callout or task left behind, no rule broken.
    k.check().unwrap();
}

#[test]
fn a_forced_unload_wakes_a_sleeping_writer_with_enxio() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    k.sysctl_set("hw.rustfifo.capacity", "2").unwrap();
    let k2 = k.clone();
    let writer = thread::spawn(move || k2.write(fd, b"abcd"));
    assert!(k.wait_for_sleepers("fifowr", 1, WAIT), "{:?}", k.sleepers());
    k.kldunload(id, true).unwrap();
    // Two bytes went in before it slept: the partial count, as write(2)
    // returns after progress.
    match writer.join().unwrap() {
        Ok(n) => assert_eq!(n, 2),
        Err(e) => assert_eq!(e, Errno::ENXIO),
    }
    k.close(fd).unwrap();
    k.check().unwrap();
}

#[test]
fn kldsim_runs_the_walkthrough() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut sh = Shell::new(&mut out, &mut err);
    let ko = module_path("rustfifo");
    sh.run_script(&format!(
        "kldload {}\necho hello > {DEV}\ndd if={DEV} bs=6 count=1\nsysctl hw.rustfifo.bytes_in\nkldunload rustfifo\n",
        ko.display()
    ));
    let status = sh.status;
    drop(sh);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.starts_with("hello\n"), "{out}");
    assert!(out.contains("hw.rustfifo.bytes_in: 6"), "{out}");
}
