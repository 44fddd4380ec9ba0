// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko`'s `dev.rustedu.<unit>.factorial` on the built `.ko`: the
//! writer sleeps (interruptibly, with a timeout) for the completion
//! interrupt instead of polling, writers queue for the device, a hung
//! device times out and is not written while it still computes, a signal
//! ends the wait (`EINTR`, or a restart of the `sysctl(3)` call), and a
//! detach wakes the writers.

use harness::testing::module_path;
use harness::{Errno, Kernel, SysctlValue};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How long a test waits for a thread to fall asleep.
const WAIT: Duration = Duration::from_secs(10);

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

/// A kernel with one edu device and `rustedu.ko` attached to it: the
/// kernel, the device's slot, the module's id.
fn attached() -> (Arc<Kernel>, u8, i32) {
    let k = Arc::new(Kernel::new());
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    (k, slot, id)
}

/// Lets virtual time pass, a second at a time, while a thread sleeps on
/// the completion channel, until `h` is done; its result.
fn run_out<T>(k: &Kernel, h: thread::JoinHandle<T>) -> T {
    while !h.is_finished() {
        if k.sleepers().iter().any(|s| s.wmesg == "edufac") {
            k.advance_clock(Duration::from_secs(1));
        }
        thread::sleep(Duration::from_millis(2));
    }
    h.join().unwrap()
}

/// Writes `n` to the factorial node from a new thread.
fn writer(k: &Arc<Kernel>, n: u64) -> thread::JoinHandle<Result<(), harness::Error>> {
    let k = Arc::clone(k);
    thread::spawn(move || k.sysctl_set("dev.rustedu.0.factorial", &n.to_string()))
}

#[test]
fn every_factorial_the_register_holds_reads_back_from_the_node() {
    let (k, _, id) = attached();
    let mut f = 1u64;
    for n in 0..=12u64 {
        if n > 0 {
            f *= n;
        }
        k.sysctl_set("dev.rustedu.0.factorial", &n.to_string())
            .unwrap();
        assert_eq!(uint(&k, "dev.rustedu.0.factorial"), f, "{n}!");
        assert_eq!(uint(&k, "dev.rustedu.0.result"), f, "{n}!");
    }
    for bad in ["13", "4294967296", "18446744073709551615"] {
        let e = k.sysctl_set("dev.rustedu.0.factorial", bad).unwrap_err();
        assert_eq!(e, Errno::EINVAL, "{bad}");
    }
    assert_eq!(uint(&k, "dev.rustedu.0.factorial"), 479_001_600);
    // One completion interrupt per computation: nothing else finished one.
    assert_eq!(uint(&k, "dev.rustedu.0.completions"), 13);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn the_writer_sleeps_for_the_interrupt_and_a_hung_device_times_out() {
    let (k, slot, id) = attached();
    assert!(k.pci_edu_hang(slot, true));
    let h = writer(&k, 7);
    // Asleep on the completion channel, interruptibly, with a timeout: not
    // polling the status register.
    assert!(k.wait_for_sleepers("edufac", 1, WAIT), "{:?}", k.sleepers());
    let s = k.sleepers();
    let s = s.iter().find(|s| s.wmesg == "edufac").unwrap();
    assert_eq!(s.thread, h.thread().id());
    assert!(s.interruptible, "PCATCH");
    assert!(s.timed, "a timeout");
    // Not before a second of (virtual) time has passed.
    k.advance_clock(Duration::from_millis(900));
    thread::sleep(Duration::from_millis(50));
    assert!(!h.is_finished(), "still asleep after 0.9 s");
    // (The deadline is rounded to the clock's ticks: give it a margin.)
    k.advance_clock(Duration::from_millis(200));
    let e = h.join().unwrap().unwrap_err();
    assert_eq!(e, Errno::ETIMEDOUT);
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 1);
    assert_eq!(uint(&k, "dev.rustedu.0.factorial"), 0, "unchanged");
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn eight_concurrent_writers_queue_for_the_device() {
    let (k, slot, id) = attached();
    // Hung, so that the writers pile up: one owns the device, seven queue.
    assert!(k.pci_edu_hang(slot, true));
    let ns: Vec<u64> = (5..13).collect();
    let hs: Vec<_> = ns.iter().map(|&n| writer(&k, n)).collect();
    assert!(k.wait_for_sleepers("edufac", 1, WAIT), "{:?}", k.sleepers());
    assert!(k.wait_for_sleepers("edubsy", 7, WAIT), "{:?}", k.sleepers());
    // Revived, and the completion interrupt raised by hand: the owner wakes
    // and sees its computation finish, then each queued writer runs in turn.
    assert!(k.pci_edu_hang(slot, false));
    assert!(k.pci_edu_raise(slot, 0x01));
    for h in hs {
        h.join().unwrap().unwrap();
    }
    let f = |n: u64| (1..=n).product::<u64>();
    let last = uint(&k, "dev.rustedu.0.result");
    assert!(ns.iter().any(|&n| f(n) == last), "{last}");
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 0);
    // Eight computations; the raised interrupt may have counted one more.
    let c = uint(&k, "dev.rustedu.0.completions");
    assert!((8..=9).contains(&c), "{c}");
    k.kldunload(id, false).unwrap();
    // No operand written while the device computed (the model flags it).
    k.check().unwrap();
    // And again on a healthy device: every writer gets its own n!.
    let (k, _, id) = attached();
    let hs: Vec<_> = (0..8u64)
        .map(|i| {
            let k = Arc::clone(&k);
            thread::spawn(move || {
                for r in 0..20u64 {
                    let n = (i + r) % 13;
                    k.sysctl_set("dev.rustedu.0.factorial", &n.to_string())
                        .unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(uint(&k, "dev.rustedu.0.completions"), 160);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_signal_ends_the_wait_or_restarts_the_call() {
    let (k, slot, id) = attached();
    assert!(k.pci_edu_hang(slot, true));
    let h = writer(&k, 4);
    assert!(k.wait_for_sleepers("edufac", 1, WAIT), "{:?}", k.sleepers());
    assert!(k.post_signal(h.thread().id(), false));
    assert_eq!(h.join().unwrap().unwrap_err(), Errno::EINTR);
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 0, "not a timeout");
    // A restarting handler: the call starts over, and waits again (here for
    // the computation the first writer left, which never ends: EBUSY).
    let h = writer(&k, 5);
    assert!(k.wait_for_sleepers("edufac", 1, WAIT), "{:?}", k.sleepers());
    let woken = k.wakeup_count();
    assert!(k.post_signal(h.thread().id(), true));
    assert_eq!(run_out(&k, h).unwrap_err(), Errno::EBUSY);
    assert_eq!(k.wakeup_count(), woken, "the signal, not a wakeup");
    // Revived: the leftover computation finishes, the next one works.
    assert!(k.pci_edu_hang(slot, false));
    k.sysctl_set("dev.rustedu.0.factorial", "5").unwrap();
    assert_eq!(uint(&k, "dev.rustedu.0.factorial"), 120);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_detach_wakes_the_writers_who_fail_with_enxio() {
    let (k, slot, id) = attached();
    assert!(k.pci_edu_hang(slot, true));
    let owner = writer(&k, 6);
    assert!(k.wait_for_sleepers("edufac", 1, WAIT), "{:?}", k.sleepers());
    let queued = writer(&k, 7);
    assert!(k.wait_for_sleepers("edubsy", 1, WAIT), "{:?}", k.sleepers());
    let before = k.uptime();
    k.kldunload(id, false).unwrap();
    assert_eq!(owner.join().unwrap().unwrap_err(), Errno::ENXIO);
    assert_eq!(queued.join().unwrap().unwrap_err(), Errno::ENXIO);
    assert_eq!(k.uptime(), before, "woken, not timed out");
    assert!(k.sysctl_get("dev.rustedu.0.factorial").is_err());
    k.check().unwrap();
}
