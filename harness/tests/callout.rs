// SPDX-License-Identifier: BSD-2-Clause
//! callout(9): handlers fire on the softclock thread as the virtual
//! clock passes their expiry, with their lock held; stop, drain and
//! their return values; the race-free stop under the callout's mutex;
//! and the rules, with kldtest_callout.

use harness::ioccom::{io, ior, iow};
use harness::testing::module_path;
use harness::{Error, Kernel, O_RDWR, ViolationKind};
use std::thread;
use std::time::Duration;

const DEV: &str = "/dev/kldtest_callout";

fn setup() -> (Kernel, i32, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_callout")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd, id)
}

fn int_ioctl(k: &Kernel, fd: i32, cmd: u64, v: i32) -> Result<i32, Error> {
    let mut b = v.to_le_bytes();
    k.ioctl(fd, cmd, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// `struct co_stats`: ticks, unlocked, mpsafe, retunlocked, giant.
fn stats(k: &Kernel, fd: i32) -> [i32; 5] {
    let mut b = [0u8; 20];
    k.ioctl(fd, ior(b'C', 4, 20).unwrap(), &mut b).unwrap();
    let mut s = [0i32; 5];
    for (i, v) in s.iter_mut().enumerate() {
        *v = i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
    }
    s
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The one violation of the sleep, callout and taskqueue rules.
fn only_violation(k: &Kernel) -> String {
    let v: Vec<_> = k
        .take_violations()
        .into_iter()
        .filter(|v| !v.message.starts_with("userret:"))
        .collect();
    assert_eq!(v.len(), 1, "{v:?}");
    v[0].message.clone()
}

#[test]
fn a_periodic_callout_counts_ticks_as_the_clock_advances() {
    let (k, fd, _) = setup();
    int_ioctl(&k, fd, iow(b'C', 1, 4).unwrap(), 10).unwrap();
    assert_eq!(k.pending_callouts(), 1);
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 10, 4).unwrap(), 0).unwrap(), 1);
    k.advance_clock(ms(9));
    assert_eq!(stats(&k, fd)[0], 0, "not yet due");
    k.advance_clock(ms(1));
    assert_eq!(stats(&k, fd)[0], 1);
    // A second of hz=1000 is 100 periods of 10 ticks, each fired.
    k.advance_clock(Duration::from_secs(1));
    let s = stats(&k, fd);
    assert_eq!(s[0], 101);
    assert_eq!(s[1], 0, "the handler always ran with its mutex held");
    // callout_stop of a pending callout: 1; again: -1 (neither pending
    // nor running).
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 2, 4).unwrap(), 0).unwrap(), 1);
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 2, 4).unwrap(), 0).unwrap(), -1);
    assert_eq!(k.pending_callouts(), 0);
    k.advance_clock(Duration::from_secs(1));
    assert_eq!(stats(&k, fd)[0], 101, "a stopped callout does not fire");
    k.check().unwrap();
}

#[test]
fn mpsafe_returnunlocked_and_giant_callouts() {
    let (k, fd, _) = setup();
    int_ioctl(&k, fd, iow(b'C', 5, 4).unwrap(), 3).unwrap();
    int_ioctl(&k, fd, iow(b'C', 6, 4).unwrap(), 3).unwrap();
    int_ioctl(&k, fd, iow(b'C', 7, 4).unwrap(), 3).unwrap();
    assert_eq!(k.pending_callouts(), 3);
    assert!(k.run_next_callout().is_some());
    let s = stats(&k, fd);
    assert_eq!(&s[2..], &[1, 1, 1]);
    assert_eq!(k.pending_callouts(), 0);
    assert!(k.run_next_callout().is_none());
    k.check().unwrap();
}

#[test]
fn stop_under_the_mutex_cancels_a_callout_waiting_for_it() {
    let (k, fd, _) = setup();
    let k2 = k.clone();
    let h = thread::spawn(move || int_ioctl(&k2, fd, ior(b'C', 8, 4).unwrap(), 0));
    while k.pending_callouts() == 0 {
        thread::sleep(ms(1));
    }
    // The softclock thread takes the callout and waits for the mutex the
    // ioctl holds; the ioctl stops it: 1, and the handler never runs.
    k.advance_clock(ms(1));
    assert_eq!(h.join().unwrap().unwrap(), 1);
    k.advance_clock(ms(10));
    assert_eq!(stats(&k, fd)[0], 0);
    k.check().unwrap();
}

#[test]
fn drain_at_unload_leaves_nothing_behind() {
    let (k, fd, id) = setup();
    int_ioctl(&k, fd, iow(b'C', 1, 4).unwrap(), 5).unwrap();
    int_ioctl(&k, fd, iow(b'C', 5, 4).unwrap(), 50).unwrap();
    k.advance_clock(ms(20));
    assert_eq!(stats(&k, fd)[0], 4);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert_eq!(k.pending_callouts(), 0);
    k.advance_clock(ms(100));
    k.check().unwrap();
}

#[test]
fn a_callout_left_pending_at_unload_is_reported() {
    let (k, fd, id) = setup();
    int_ioctl(&k, fd, iow(b'C', 1, 4).unwrap(), 5).unwrap();
    k.ioctl_raw(fd, io(b'C', 9), 0).unwrap();
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    let m = only_violation(&k);
    assert!(
        m.contains("still pending when its module was unloaded (missing callout_drain)"),
        "{m}"
    );
    assert_eq!(
        k.pending_callouts(),
        0,
        "it will not fire into the unloaded module"
    );
    k.advance_clock(ms(100));
    k.check().unwrap();
}

#[test]
fn callout_drain_returns_after_stopping() {
    let (k, fd, _) = setup();
    int_ioctl(&k, fd, iow(b'C', 1, 4).unwrap(), 5).unwrap();
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 3, 4).unwrap(), 0).unwrap(), 1);
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 3, 4).unwrap(), 0).unwrap(), -1);
    k.check().unwrap();
}

#[test]
fn sleeping_in_a_callout_handler_panics() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'C', 20), 0).unwrap();
    k.advance_clock(ms(1));
    let m = only_violation(&k);
    assert!(
        m.starts_with("sleepq_add:")
            && m.contains("with sleeping prohibited")
            && m.contains("callout handler"),
        "{m}"
    );
    k.expect_panic();
}

#[test]
fn callout_stop_without_the_callouts_mutex_panics() {
    let (k, fd, _) = setup();
    assert!(k.ioctl_raw(fd, io(b'C', 21), 0).is_err());
    assert!(only_violation(&k).contains("_callout_stop_safe of callout"));
    k.expect_panic();
}

#[test]
fn callout_reset_of_an_uninitialised_callout_is_reported() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'C', 22), 0).unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Sleep);
    assert!(v[0].message.contains("was never initialised"), "{v:?}");
    assert_eq!(k.pending_callouts(), 0);
}

#[test]
fn callout_reset_without_its_mutex_is_reported() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'C', 24), 0).unwrap();
    assert!(only_violation(&k).contains("changed without holding its lock"));
    assert_eq!(int_ioctl(&k, fd, ior(b'C', 3, 4).unwrap(), 0).unwrap(), 1);
}

#[test]
fn callout_drain_with_a_mutex_held_is_reported() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'C', 23), 0).unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].message
            .starts_with("calling _callout_stop_safe with the following non-sleepable locks held:")
            && v[0].message.contains("kldtest_callout other"),
        "{v:?}"
    );
}

#[test]
fn freeing_a_pending_callout_is_reported() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'C', 25), 0).unwrap();
    let m = only_violation(&k);
    assert!(m.contains("still pending when its memory was freed"), "{m}");
    assert_eq!(
        k.pending_callouts(),
        0,
        "it will not fire from freed memory"
    );
    k.advance_clock(ms(20));
    assert_eq!(stats(&k, fd)[2], 0);
    k.check().unwrap();
}
