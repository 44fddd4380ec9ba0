// SPDX-License-Identifier: BSD-2-Clause
//! taskqueue(9): tasks on taskqueue_thread, taskqueue_fast and a
//! module's own queue; enqueues coalescing into the pending count,
//! cancel, drain, free at unload; fast queues, which an interrupt
//! filter's context (a critical section) may enqueue on, and the
//! sleep-mutex queues, which it may not; and the rules, with
//! kldtest_task.

use harness::ioccom::{io, ior, iowr};
use harness::testing::module_path;
use harness::{Errno, Error, Kernel, O_RDWR, ViolationKind};
use std::thread;
use std::time::{Duration, Instant};

const DEV: &str = "/dev/kldtest_task";

fn setup() -> (Kernel, i32, i32) {
    let k = Kernel::new();
    let id = k.kldload(module_path("kldtest_task")).unwrap();
    let fd = k.open(DEV, O_RDWR).unwrap();
    (k, fd, id)
}

/// `struct tq_stats`: sys_runs, own_runs, own_pending, fast_runs,
/// fown_runs, tmp_runs.
fn stats(k: &Kernel, fd: i32) -> [i32; 6] {
    let mut b = [0u8; 24];
    k.ioctl(fd, ior(b'T', 8, 24).unwrap(), &mut b).unwrap();
    let mut s = [0i32; 6];
    for (i, v) in s.iter_mut().enumerate() {
        *v = i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap());
    }
    s
}

/// `TQ_OWN` with enqueue flags: the enqueue's result.
fn enqueue_own(k: &Kernel, fd: i32, flags: i32) -> i32 {
    let mut b = flags.to_le_bytes();
    k.ioctl(fd, iowr(b'T', 4, 4).unwrap(), &mut b).unwrap();
    i32::from_le_bytes(b)
}

/// A cancel ioctl: (error, pending).
fn cancel(k: &Kernel, fd: i32, num: u8) -> (i32, i32) {
    let mut b = [0u8; 8];
    k.ioctl(fd, ior(b'T', num, 8).unwrap(), &mut b).unwrap();
    (
        i32::from_le_bytes(b[..4].try_into().unwrap()),
        i32::from_le_bytes(b[4..].try_into().unwrap()),
    )
}

/// Polls `f` for up to ten seconds.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn a_task_on_taskqueue_thread_runs_and_may_sleep() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'T', 1), 0).unwrap();
    k.ioctl_raw(fd, io(b'T', 7), 0).unwrap();
    assert_eq!(stats(&k, fd)[0], 1);
    k.ioctl_raw(fd, io(b'T', 9), 0).unwrap();
    assert!(eventually(|| stats(&k, fd)[3] == 1));
    k.check().unwrap();
}

#[test]
fn enqueues_of_a_pending_task_coalesce_into_its_pending_count() {
    let (k, fd, _) = setup();
    // The gate task holds the module's only queue thread.
    k.ioctl_raw(fd, io(b'T', 2), 0).unwrap();
    assert_eq!(enqueue_own(&k, fd, 0), 0);
    assert_eq!(enqueue_own(&k, fd, 0), 0);
    assert_eq!(enqueue_own(&k, fd, 0), 0);
    // TASKQUEUE_FAIL_IF_PENDING: EEXIST, and the count stays.
    assert_eq!(enqueue_own(&k, fd, 1), Errno::EEXIST.0);
    k.ioctl_raw(fd, io(b'T', 3), 0).unwrap();
    k.ioctl_raw(fd, io(b'T', 6), 0).unwrap();
    let s = stats(&k, fd);
    assert_eq!((s[1], s[2]), (1, 3), "one run, with pending 3");
    k.check().unwrap();
}

#[test]
fn cancel_removes_a_pending_task_and_is_ebusy_for_a_running_one() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'T', 2), 0).unwrap();
    enqueue_own(&k, fd, 0);
    enqueue_own(&k, fd, 0);
    assert_eq!(cancel(&k, fd, 5), (0, 2));
    assert_eq!(cancel(&k, fd, 5), (0, 0));
    // The gate task is running.
    assert_eq!(cancel(&k, fd, 10), (Errno::EBUSY.0, 0));
    k.ioctl_raw(fd, io(b'T', 3), 0).unwrap();
    k.ioctl_raw(fd, io(b'T', 7), 0).unwrap();
    assert_eq!(stats(&k, fd)[1], 0, "the cancelled task never ran");
    k.check().unwrap();
}

#[test]
fn unload_drains_and_frees_the_queues() {
    let (k, fd, id) = setup();
    k.ioctl_raw(fd, io(b'T', 1), 0).unwrap();
    k.ioctl_raw(fd, io(b'T', 9), 0).unwrap();
    enqueue_own(&k, fd, 0);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    let t = k.malloc_stats("taskqueue").unwrap();
    assert_eq!(t.total_allocs, 2, "a sleep queue and a fast one");
    assert_eq!(t.live_allocs, 0, "taskqueue_free freed the queues");
    k.check().unwrap();
}

#[test]
fn a_queue_left_at_unload_is_reported() {
    let (k, fd, id) = setup();
    k.ioctl_raw(fd, io(b'T', 11), 0).unwrap();
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    let v = k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Sleep
            && v.message
                .contains("taskqueue \"kldtest_task\" still exists after its module was unloaded")),
        "{v:?}"
    );
}

#[test]
fn taskqueue_drain_with_a_mutex_held_is_reported() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'T', 20), 0).unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].message
            .starts_with("taskqueue_drain with the following non-sleepable locks held:"),
        "{v:?}"
    );
}

#[test]
fn sleeping_in_a_fast_task_panics() {
    let (k, fd, _) = setup();
    // The task may already have run (and panicked the kernel) by the
    // time the ioctl returns.
    let _ioctl = k.ioctl_raw(fd, io(b'T', 21), 0);
    assert!(eventually(|| k.panicked().is_some()));
    let m = k.expect_panic().unwrap();
    assert!(
        m.contains("with sleeping prohibited") && m.contains("fast taskqueue task"),
        "{m}"
    );
    let v = k.take_violations();
    assert!(v.iter().any(|v| v.kind == ViolationKind::Sleep), "{v:?}");
    assert!(matches!(
        k.ioctl_raw(fd, io(b'T', 1), 0),
        Err(Error::Panic(_))
    ));
}

#[test]
fn a_filter_context_may_enqueue_on_fast_queues_whose_own_threads_may_sleep() {
    let (k, fd, id) = setup();
    // In a critical section: taskqueue_fast and a taskqueue_create_fast
    // queue (spin mutexes).
    k.ioctl_raw(fd, io(b'T', 12), 0).unwrap();
    k.ioctl_raw(fd, io(b'T', 13), 0).unwrap();
    let s = stats(&k, fd);
    assert_eq!((s[3], s[4]), (1, 1), "both fast tasks ran once");
    // The fast queue's task slept (pause) in its kernel thread: allowed.
    k.check().unwrap();
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

/// The panic a sleep-mutex acquisition in a critical section makes.
fn expect_sleep_lock_panic(k: &Kernel, lock: &str) {
    let m = k.expect_panic().unwrap();
    assert!(
        m.starts_with(
            "acquiring blockable sleep lock with spinlock or critical section held (sleep mutex)"
        ) && m.contains(lock),
        "{m}"
    );
    let v = k.take_violations();
    assert!(v.iter().any(|v| v.kind == ViolationKind::Lock), "{v:?}");
}

#[test]
fn a_filter_context_enqueueing_on_taskqueue_thread_panics() {
    let (k, fd, _) = setup();
    assert!(matches!(
        k.ioctl_raw(fd, io(b'T', 22), 0),
        Err(Error::Panic(_))
    ));
    expect_sleep_lock_panic(&k, ") thread @ taskqueue_enqueue");
}

#[test]
fn a_filter_context_enqueueing_on_a_taskqueue_create_queue_panics() {
    let (k, fd, _) = setup();
    assert!(matches!(
        k.ioctl_raw(fd, io(b'T', 23), 0),
        Err(Error::Panic(_))
    ));
    expect_sleep_lock_panic(&k, ") kldtest_task @ taskqueue_enqueue");
}

#[test]
fn mtx_lock_in_a_critical_section_panics() {
    let (k, fd, _) = setup();
    assert!(matches!(
        k.ioctl_raw(fd, io(b'T', 24), 0),
        Err(Error::Panic(_))
    ));
    expect_sleep_lock_panic(&k, ") kldtest_task @ ");
}

#[test]
fn taskqueue_free_runs_the_tasks_still_queued() {
    let (k, fd, _) = setup();
    k.ioctl_raw(fd, io(b'T', 14), 0).unwrap();
    assert_eq!(
        stats(&k, fd)[5],
        1,
        "the queued task ran before the free returned"
    );
    assert!(k.dmesg().contains("kldtest_task: queued task ran\n"));
    let t = k.malloc_stats("taskqueue").unwrap();
    assert_eq!(t.live_allocs, 2, "only the module's two queues are left");
    k.check().unwrap();
}
