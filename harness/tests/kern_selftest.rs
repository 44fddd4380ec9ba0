// SPDX-License-Identifier: BSD-2-Clause
//! `kselftest.ko`, kern's self-test module, on the built `.ko`: one test
//! per case of `/dev/kselftest`, so that each kern rule that `rustecho`
//! and `hello` do not reach is shown holding on the built `.ko`.
//!
//! A case runs inside the module with `KSELFTEST_RUN` and reports
//! `kc_result` (0 if the rule held, else an errno) and `kc_value`. Every
//! test ends with [`Fixture::finish`]: the file is closed, the module is
//! unloaded, its malloc type is gone without a leak, and the kernel
//! recorded no violation (in particular no lock violation). The kernel is
//! strict as well, so anything left over fails the test when it is dropped.

use harness::testing::{fail_each_load_allocation, module_path};
use harness::{Cred, Errno, Error, FailPolicy, Kernel, O_RDWR, SysResult, ViolationKind};
use std::thread;

const DEV: &str = "/dev/kselftest";
/// The module's malloc type (`MALLOC_DEFINE` under the module name).
const MALLOC_TYPE: &str = "kselftest";

/// `_IOWR('K', 1, struct kselftest_case)`.
const KSELFTEST_RUN: u64 = 0xc010_4b01;
/// `_IOWR('K', 2, uint32_t)`.
const KSELFTEST_SHORT: u64 = 0xc004_4b02;

// The case numbers of `selftest/src/abi.rs`.
const KC_PING: u32 = 0;
const KC_MALLOC_ALIGN: u32 = 1;
const KC_MALLOC_ALIGN_TOO_BIG: u32 = 2;
const KC_REALLOC_ZERO: u32 = 3;
const KC_VEC_FAULT: u32 = 4;
const KC_STRING_FAULT: u32 = 5;
const KC_ARC_FAULT: u32 = 6;
const KC_SX_HOLD: u32 = 7;
const KC_SX_WAIT: u32 = 8;
const KC_MTX_HOLD: u32 = 9;
const KC_MTX_WAIT: u32 = 10;
const KC_SX_CRIT: u32 = 11;
const KC_MTX_CRIT: u32 = 12;
const KC_REGISTER_DUP: u32 = 13;
const KC_IOCTL_SIZE: u32 = 14;
const KC_PANIC: u32 = 15;
const KC_PRINT_LONG: u32 = 16;

/// What `KC_PING` reports.
const PING_MAGIC: u64 = 0x6b73_656c_6674_7374;

/// `struct kselftest_case`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Case {
    case: u32,
    result: i32,
    value: u64,
}

impl Case {
    fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.case.to_ne_bytes());
        b[4..8].copy_from_slice(&self.result.to_ne_bytes());
        b[8..16].copy_from_slice(&self.value.to_ne_bytes());
        b
    }

    fn from_bytes(b: &[u8; 16]) -> Self {
        Case {
            case: u32::from_ne_bytes(b[0..4].try_into().unwrap()),
            result: i32::from_ne_bytes(b[4..8].try_into().unwrap()),
            value: u64::from_ne_bytes(b[8..16].try_into().unwrap()),
        }
    }
}

/// Runs case `case` with argument `arg` on `fd`; the ioctl's own error, or
/// what the case reported.
fn try_run(k: &Kernel, fd: i32, case: u32, arg: u64) -> SysResult<Case> {
    let mut buf = Case {
        case,
        result: -1,
        value: arg,
    }
    .to_bytes();
    k.ioctl(fd, KSELFTEST_RUN, &mut buf)?;
    let out = Case::from_bytes(&buf);
    assert_eq!(out.case, case, "kc_case is left as it was");
    Ok(out)
}

/// Runs a case that must pass; returns its value.
fn passes(k: &Kernel, fd: i32, case: u32, arg: u64) -> u64 {
    let out = try_run(k, fd, case, arg)
        .unwrap_or_else(|e| panic!("case {case}: ioctl failed: {e:?}\n{}", k.dmesg()));
    assert_eq!(
        out.result,
        0,
        "case {case} failed with {:?}\n{}",
        Errno(out.result),
        k.dmesg()
    );
    out.value
}

/// The errno of `e` as a `kc_value`.
fn errno_value(e: Errno) -> u64 {
    u64::try_from(e.0).unwrap()
}

/// A kernel with `kselftest.ko` loaded and `/dev/kselftest` open.
struct Fixture {
    k: Kernel,
    id: i32,
    fd: i32,
}

impl Fixture {
    fn new() -> Self {
        let k = Kernel::new();
        let id = k.kldload(module_path("kselftest")).unwrap();
        let fd = k.open(DEV, O_RDWR).unwrap();
        Fixture { k, id, fd }
    }

    fn passes(&self, case: u32, arg: u64) -> u64 {
        passes(&self.k, self.fd, case, arg)
    }

    fn try_run(&self, case: u32, arg: u64) -> SysResult<Case> {
        try_run(&self.k, self.fd, case, arg)
    }

    /// Closes the file, unloads the module and checks that nothing is
    /// left.
    fn finish(self) {
        self.k.close(self.fd).unwrap();
        self.k.kldunload(self.id, false).unwrap();
        assert_clean(&self.k);
    }
}

/// After unload: the module's malloc type is gone (its `malloc_uninit`
/// ran) with zero live allocations (no leak warning), and the kernel
/// recorded no violation, in particular no lock violation.
fn assert_clean(k: &Kernel) {
    if let Some(stats) = k.malloc_stats(MALLOC_TYPE) {
        assert_eq!(stats.live_allocs, 0, "{stats:?}");
    }
    let violations = k.violations();
    assert!(
        !violations.iter().any(|v| v.kind == ViolationKind::Lock),
        "lock violations: {violations:?}"
    );
    assert!(
        !violations.iter().any(|v| v.kind == ViolationKind::Leak),
        "leaks: {violations:?}"
    );
    assert!(!k.dmesg().contains("leaked memory"), "{}", k.dmesg());
    k.check().unwrap();
}

#[test]
fn command_numbers_match_the_c_macros() {
    assert_eq!(harness::ioccom::iowr(b'K', 1, 16), Some(KSELFTEST_RUN));
    assert_eq!(harness::ioccom::iowr(b'K', 2, 4), Some(KSELFTEST_SHORT));
}

// --- Module lifecycle (kern::module, kern::cdev::Registration) ---

#[test]
fn load_and_unload_print_their_lines_and_leave_nothing() {
    let k = Kernel::new();
    let id = k.kldload(module_path("kselftest")).unwrap();
    assert!(
        k.dmesg()
            .contains("kselftest: loaded, /dev/kselftest ready\n"),
        "{}",
        k.dmesg()
    );
    let dev = k
        .devices()
        .into_iter()
        .find(|d| d.name == "kselftest")
        .expect("/dev/kselftest");
    assert_eq!((dev.uid, dev.gid, dev.mode & 0o7777), (0, 0, 0o600));
    assert!(k.malloc_stats(MALLOC_TYPE).unwrap().live_allocs > 0);
    let fd = k.open(DEV, O_RDWR).unwrap();
    assert_eq!(passes(&k, fd, KC_PING, 0), PING_MAGIC);
    k.close(fd).unwrap();
    k.kldunload(id, false).unwrap();
    assert!(
        k.dmesg()
            .ends_with("kselftest: /dev/kselftest destroyed, unloaded\n"),
        "{}",
        k.dmesg()
    );
    assert!(!k.devices().iter().any(|d| d.name == "kselftest"));
    assert_eq!(k.open(DEV, O_RDWR).unwrap_err(), Errno::ENOENT);
    assert_clean(&k);
    // Nothing of the first load is left: it loads again.
    let id = k.kldload(module_path("kselftest")).unwrap();
    k.kldunload(id, false).unwrap();
    assert_clean(&k);
}

#[test]
fn only_root_may_open_the_device() {
    let f = Fixture::new();
    let user = f.k.with_cred(Cred::user(1001, 1001));
    assert_eq!(user.open(DEV, O_RDWR).unwrap_err(), Errno::EACCES);
    f.finish();
}

#[test]
fn quiesce_vetoes_unload_while_open_and_forced_unload_works() {
    let f = Fixture::new();
    assert_eq!(f.k.kldunload(f.id, false).unwrap_err(), Errno::EBUSY);
    // Still loaded and working.
    assert_eq!(f.passes(KC_PING, 0), PING_MAGIC);
    assert!(!f.k.dmesg().contains("unloaded"), "{}", f.k.dmesg());
    // kldunload -f goes past the veto; the open file's device is gone.
    f.k.kldunload(f.id, true).unwrap();
    assert!(
        f.k.dmesg()
            .contains("kselftest: /dev/kselftest destroyed, unloaded\n"),
        "{}",
        f.k.dmesg()
    );
    assert_eq!(f.try_run(KC_PING, 0).unwrap_err(), Errno::ENXIO);
    f.k.close(f.fd).unwrap();
    assert_clean(&f.k);
}

#[test]
fn unforced_unload_works_once_the_device_is_closed() {
    let f = Fixture::new();
    let second = f.k.open(DEV, O_RDWR).unwrap();
    f.k.close(f.fd).unwrap();
    assert_eq!(f.k.kldunload(f.id, false).unwrap_err(), Errno::EBUSY);
    f.k.close(second).unwrap();
    f.k.kldunload(f.id, false).unwrap();
    assert_clean(&f.k);
}

#[test]
fn load_never_fails_for_memory() {
    // The locks and the device are allocated with M_WAITOK, which FreeBSD
    // never fails (the harness neither): no M_NOWAIT allocation to fail.
    let failed = fail_each_load_allocation(
        "kselftest",
        |k, n, e| panic!("allocation {n} failed the load: {e:?}\n{}", k.dmesg()),
        |k, id| {
            assert!(k.devices().iter().any(|d| d.name == "kselftest"));
            k.kldunload(id, false).unwrap();
            assert_clean(k);
        },
    );
    assert_eq!(failed, 0, "no M_NOWAIT allocation at load");
}

#[test]
fn each_taken_name_fails_the_load_and_leaves_nothing() {
    // The load steps that can fail: hw.kselftest taken by a leaf of
    // another module, /dev/kselftest taken by another module's device.
    for (knob, name) in [("sysctl", "kselftest"), ("dev", "kselftest")] {
        let k = Kernel::new();
        let squat = k.kldload(module_path("namesquat")).unwrap();
        k.sysctl_set(&format!("debug.namesquat_{knob}"), name)
            .unwrap();
        assert_eq!(
            k.kldload(module_path("kselftest")).unwrap_err(),
            Errno::ENOEXEC,
            "{knob}"
        );
        assert!(
            k.dmesg().contains("MOD_LOAD (kselftest,") && k.dmesg().contains("error 17"),
            "{knob}: EEXIST from the module: {}",
            k.dmesg()
        );
        assert!(k.malloc_stats(MALLOC_TYPE).is_none(), "{knob}");
        k.kldunload(squat, false).unwrap();
        assert!(k.devices().is_empty(), "{knob}: {:?}", k.devices());
        assert_eq!(
            k.sysctl_get("hw.kselftest").unwrap_err(),
            Errno::ENOENT,
            "{knob}"
        );
        let id = k.kldload(module_path("kselftest")).unwrap();
        k.kldunload(id, false).unwrap();
        assert_clean(&k);
    }
}

// --- Malloc (kern::malloc) ---

#[test]
fn box_and_vec_honour_alignments_up_to_a_page() {
    let f = Fixture::new();
    assert_eq!(f.passes(KC_MALLOC_ALIGN, 0), 0, "address % align");
    f.finish();
}

#[test]
fn an_alignment_above_a_page_is_enomem_without_calling_malloc() {
    let f = Fixture::new();
    let before = f.k.malloc_count();
    assert_eq!(
        f.passes(KC_MALLOC_ALIGN_TOO_BIG, 0),
        errno_value(Errno::ENOMEM)
    );
    assert_eq!(
        f.k.malloc_count(),
        before,
        "kern refuses before asking malloc(9)"
    );
    f.finish();
}

#[test]
fn growing_with_m_zero_zeroes_the_tail_that_realloc_reused() {
    // The case grows a 20-byte Vec<u8> (0xa5) to 30 bytes with M_ZERO.
    // Both fit the 32-byte malloc bucket, so realloc(9) returns the same
    // block and does not zero it: the zeroes are kern's.
    let f = Fixture::new();
    let addr = f.passes(KC_REALLOC_ZERO, 0);
    assert_ne!(addr, 0);
    let bucket: Vec<u8> = {
        let p = usize::try_from(addr).unwrap() as *const u8;
        // SAFETY: `addr` is the buffer of a 32-byte malloc(9) block of the
        // module, which the open file keeps (nothing touches it until the
        // file is closed below); the harness's malloc is ordinary host
        // memory in this process.
        unsafe { std::slice::from_raw_parts(p, 32) }.to_vec()
    };
    assert_eq!(bucket[..20], [0xa5; 20], "the old bytes are kept");
    assert_eq!(bucket[20..30], [0; 10], "the grown tail is zeroed");
    // Past the capacity, the bucket still holds the junk that malloc(9)
    // without M_ZERO leaves (0xdeadc0de): the block was reused, not
    // allocated anew with M_ZERO.
    assert_eq!(
        bucket[30..32],
        0xdead_c0de_u32.to_le_bytes()[2..4],
        "realloc(9) reused the block"
    );
    // A second run replaces (frees) the kept buffer.
    f.passes(KC_REALLOC_ZERO, 0);
    f.finish();
}

// --- Collections under allocation failure (kern::alloc) ---

/// Runs a fault case with every `M_NOWAIT` allocation failing; returns its
/// value.
fn under_fault_injection(f: &Fixture, case: u32) -> u64 {
    let failures = f.k.malloc_stats(MALLOC_TYPE).unwrap().failures;
    f.k.set_malloc_failures(FailPolicy::All);
    let value = f.passes(case, 0);
    f.k.set_malloc_failures(FailPolicy::Never);
    assert!(
        f.k.malloc_stats(MALLOC_TYPE).unwrap().failures > failures,
        "malloc(9) failed allocations"
    );
    value
}

#[test]
fn vec_growth_failure_is_enomem_and_keeps_the_contents() {
    let f = Fixture::new();
    assert_eq!(
        under_fault_injection(&f, KC_VEC_FAULT),
        errno_value(Errno::ENOMEM)
    );
    f.finish();
}

#[test]
fn string_growth_and_formatting_fail_cleanly_without_memory() {
    let f = Fixture::new();
    assert_eq!(
        under_fault_injection(&f, KC_STRING_FAULT),
        errno_value(Errno::ENOMEM)
    );
    f.finish();
}

#[test]
fn arc_and_box_drop_the_value_once_when_allocation_fails() {
    let f = Fixture::new();
    assert_eq!(under_fault_injection(&f, KC_ARC_FAULT), 3, "drops");
    f.finish();
}

#[test]
fn fault_cases_see_their_allocations_succeed_without_injection() {
    // The control: without fault injection the M_NOWAIT allocations the
    // cases expect to fail succeed, and the cases say so (EAGAIN).
    let f = Fixture::new();
    for case in [KC_VEC_FAULT, KC_STRING_FAULT, KC_ARC_FAULT] {
        let out = f.try_run(case, 0).unwrap();
        assert_eq!(Errno(out.result), Errno::EAGAIN, "case {case}");
    }
    f.finish();
}

// --- Locks (kern::sync) ---

/// Runs `rounds` handoffs between a holder and a waiter thread.
fn handoffs(f: &Fixture, hold: u32, wait: u32, rounds: u64) {
    for round in 1..=rounds {
        let (held, waited) = thread::scope(|s| {
            // The waiter first: it waits for the holder of its round.
            let w = s.spawn(|| passes(&f.k, f.fd, wait, round));
            let h = s.spawn(|| passes(&f.k, f.fd, hold, round));
            (h.join().unwrap(), w.join().unwrap())
        });
        assert_eq!(held, 2 * round - 1, "round {round}");
        assert_eq!(waited, held + 1, "the waiter got in after the holder");
    }
}

#[test]
fn sx_lock_excludes_a_second_thread_until_released() {
    let f = Fixture::new();
    handoffs(&f, KC_SX_HOLD, KC_SX_WAIT, 10);
    f.finish();
}

#[test]
fn mutex_excludes_a_second_thread_until_released() {
    let f = Fixture::new();
    handoffs(&f, KC_MTX_HOLD, KC_MTX_WAIT, 10);
    f.finish();
}

/// `threads` threads pass `passes_each` times through a critical section
/// at once; no update may be lost.
fn contend(f: &Fixture, case: u32, threads: u64, passes_each: u64) {
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..passes_each {
                    passes(&f.k, f.fd, case, 0);
                }
            });
        }
    });
    assert_eq!(
        f.passes(case, 0),
        threads * passes_each + 1,
        "no update lost"
    );
}

#[test]
fn sx_critical_sections_from_four_threads_lose_no_update() {
    let f = Fixture::new();
    contend(&f, KC_SX_CRIT, 4, 200);
    f.finish();
}

#[test]
fn mutex_critical_sections_from_four_threads_lose_no_update() {
    let f = Fixture::new();
    contend(&f, KC_MTX_CRIT, 4, 200);
    f.finish();
}

// --- Character devices and ioctl data (kern::cdev, kern::ioctl) ---

#[test]
fn a_taken_device_name_is_eexist_and_the_first_device_keeps_working() {
    let f = Fixture::new();
    let allocs = f.k.malloc_stats(MALLOC_TYPE).unwrap().live_allocs;
    assert_eq!(f.passes(KC_REGISTER_DUP, 0), errno_value(Errno::EEXIST));
    assert_eq!(
        f.k.malloc_stats(MALLOC_TYPE).unwrap().live_allocs,
        allocs,
        "the failed registration freed its state"
    );
    let names: Vec<String> = f.k.devices().into_iter().map(|d| d.name).collect();
    // The module's two devices, and no second /dev/kselftest.
    assert_eq!(names, ["kselftest", "kselftest_null"], "{names:?}");
    assert_eq!(f.passes(KC_PING, 0), PING_MAGIC);
    let fd = f.k.open(DEV, O_RDWR).unwrap();
    assert_eq!(passes(&f.k, fd, KC_PING, 0), PING_MAGIC);
    f.k.close(fd).unwrap();
    f.finish();
}

#[test]
fn ioctl_data_of_the_wrong_size_is_einval() {
    let f = Fixture::new();
    // Inside the module: 4 accesses of the wrong size refused on the
    // 16-byte buffer of KSELFTEST_RUN.
    assert_eq!(f.passes(KC_IOCTL_SIZE, 0), 4);
    // A command with a 4-byte parameter whose handler reads 16 bytes.
    let mut short = 0x1234_5678_u32.to_ne_bytes();
    assert_eq!(
        f.k.ioctl(f.fd, KSELFTEST_SHORT, &mut short).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(short, 0x1234_5678_u32.to_ne_bytes(), "nothing copied out");
    f.finish();
}

#[test]
fn unknown_cases_and_commands_are_refused() {
    let f = Fixture::new();
    assert_eq!(f.try_run(999, 0).unwrap_err(), Errno::EINVAL);
    let mut buf = [0u8; 16];
    let unknown = harness::ioccom::iowr(b'K', 9, 16).unwrap();
    assert_eq!(
        f.k.ioctl(f.fd, unknown, &mut buf).unwrap_err(),
        Errno::ENOTTY
    );
    f.finish();
}

// --- Printing (kern::print) ---

/// The line `KC_PRINT_LONG` prints for `len`.
fn long_line(len: usize) -> String {
    let alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    let pattern: String = alphabet.chars().cycle().take(len).collect();
    format!("kselftest: long line of {len} bytes: {pattern}\n")
}

#[test]
fn a_line_longer_than_the_print_chunk_reaches_dmesg_intact() {
    let f = Fixture::new();
    for len in [600usize, 256, 257, 4096] {
        f.k.clear_dmesg();
        assert_eq!(
            f.passes(KC_PRINT_LONG, u64::try_from(len).unwrap()),
            u64::try_from(len).unwrap()
        );
        assert_eq!(f.k.dmesg(), long_line(len), "len {len}");
    }
    // The default is 600 bytes; more than 4096 is refused.
    f.k.clear_dmesg();
    assert_eq!(f.passes(KC_PRINT_LONG, 0), 600);
    assert_eq!(f.k.dmesg(), long_line(600));
    f.k.clear_dmesg();
    let out = f.try_run(KC_PRINT_LONG, 4097).unwrap();
    assert_eq!(Errno(out.result), Errno::EINVAL);
    // `println!`'s `{}` of a `&str` and a `u32`, and `{:?}` of an
    // `Error` (its name), formatted by kern's own code.
    assert_eq!(
        f.k.dmesg(),
        "kselftest: print_long: longer than 4096\n\
         kselftest: case 16 failed: EINVAL\n"
    );
    f.finish();
}

// --- The panic handler (kern's panic.rs) ---

#[test]
fn a_panic_is_a_kernel_panic_with_message_and_location() {
    let f = Fixture::new();
    let msg = match f.try_run(KC_PANIC, 0) {
        Err(Error::Panic(msg)) => msg,
        other => panic!("expected a kernel panic, got {other:?}"),
    };
    let prefix = "rust: kselftest: deliberate panic in case 15 at selftest/src/cases/panic.rs:";
    let location = msg.strip_prefix(prefix).unwrap_or_else(|| panic!("{msg}"));
    let (line, column) = location.split_once(':').expect("LINE:COL");
    assert!(line.parse::<u32>().unwrap() > 0, "{msg}");
    assert!(column.parse::<u32>().unwrap() > 0, "{msg}");
    assert!(
        f.k.dmesg().contains(&format!("panic: {msg}\n")),
        "{}",
        f.k.dmesg()
    );
    // The kernel is dead: every call fails with the same panic.
    assert_eq!(f.try_run(KC_PING, 0), Err(Error::Panic(msg.clone())));
    assert_eq!(f.k.kldunload(f.id, true), Err(Error::Panic(msg.clone())));
    assert_eq!(f.k.expect_panic(), Some(msg));
    // No unload is possible after a panic, so there is no leak check; the
    // lock checks still apply.
    assert!(
        !f.k.violations()
            .iter()
            .any(|v| v.kind == ViolationKind::Lock),
        "{:?}",
        f.k.violations()
    );
}

#[test]
fn a_static_tree_goes_under_each_parent() {
    let f = Fixture::new();
    assert_eq!(f.passes(KC_PING, 0), PING_MAGIC);
    // The same counter, under hw (a counted array) and under dev, kern,
    // debug and security (a slice, `kern::sysctl::Parent`).
    for parent in ["hw", "dev", "kern", "debug", "security"] {
        let name = format!("{parent}.kselftest.cases");
        assert_eq!(
            f.k.sysctl_get(&name).unwrap(),
            harness::SysctlValue::Uint(1),
            "{name}"
        );
    }
    f.k.close(f.fd).unwrap();
    f.k.kldunload(f.id, false).unwrap();
    for parent in ["dev", "kern", "debug", "security"] {
        assert_eq!(
            f.k.sysctl_get(&format!("{parent}.kselftest")).unwrap_err(),
            Errno::ENOENT,
            "{parent}.kselftest goes at unload"
        );
    }
    f.k.check().unwrap();
}

// --- Callouts and tasks (kern::callout, kern::taskqueue) ---

const KC_DEFER_DROP: u32 = 19;
const KC_CALLOUT_FORGET: u32 = 20;

#[test]
fn dropping_a_scheduled_callout_or_an_enqueued_task_drains_it() {
    let f = Fixture::new();
    // The task ran once before its drain returned; the callout, dropped
    // before its time, never runs and is not left on the wheel.
    assert_eq!(f.passes(KC_DEFER_DROP, 50), 1);
    f.k.advance_clock(std::time::Duration::from_millis(100));
    f.finish();
}

#[test]
fn a_forgotten_callout_is_reported_at_unload() {
    let f = Fixture::new();
    assert_eq!(f.passes(KC_CALLOUT_FORGET, 60_000), 0);
    f.k.close(f.fd).unwrap();
    f.k.kldunload(f.id, false).unwrap();
    let v = f.k.take_violations();
    assert!(
        v.iter().any(|v| v.message.contains("callout")
            && v.message.contains("still")
            && v.message.contains("unloaded")),
        "{v:?}"
    );
}

// --- Task queues of the module's own (kern::taskqueue::{TaskQueue, FastTask}) ---

const KC_QUEUES: u32 = 40;
const KC_QUEUE_FORGET: u32 = 41;

#[test]
fn tasks_on_own_and_fast_queues_run_and_the_queues_are_freed() {
    let f = Fixture::new();
    // Two QueueTasks whose handlers sleep (M_WAITOK), one on a fast
    // queue, and a FastTask: three runs, no violation.
    assert_eq!(f.passes(KC_QUEUES, 0), 3);
    let t = f.k.malloc_stats("taskqueue").unwrap();
    assert_eq!(t.total_allocs, 2, "two queues were made");
    assert_eq!(t.live_allocs, 0, "dropping the last task freed its queue");
    f.finish();
}

#[test]
fn a_forgotten_task_queue_is_reported_at_unload() {
    let f = Fixture::new();
    assert_eq!(f.passes(KC_QUEUE_FORGET, 0), 0);
    f.k.close(f.fd).unwrap();
    f.k.kldunload(f.id, false).unwrap();
    let v = f.k.take_violations();
    assert!(
        v.iter().any(|v| v.message
            == "taskqueue \"kselftest leak\" still exists after its module was unloaded (missing taskqueue_free)"),
        "{v:?}"
    );
}

// --- In-place initialisation (kern::init) ---

const KC_INIT_FAULT: u32 = 22;

#[test]
fn an_in_place_init_that_fails_part_way_destroys_what_it_initialised() {
    let f = Fixture::new();
    let before = f.k.malloc_stats(MALLOC_TYPE).unwrap();
    // Both locks' data dropped once; `finish` then finds no violation: a
    // lock freed while initialised would be one (and a task left queued).
    assert_eq!(under_fault_injection(&f, KC_INIT_FAULT), 2);
    let after = f.k.malloc_stats(MALLOC_TYPE).unwrap();
    // One block (the structure, M_WAITOK) allocated and freed.
    assert_eq!(after.total_allocs, before.total_allocs + 1, "{after:?}");
    assert_eq!(after.live_allocs, before.live_allocs, "{after:?}");
    // Without fault injection the last step succeeds.
    assert_eq!(
        Errno(f.try_run(KC_INIT_FAULT, 0).unwrap().result),
        Errno::EAGAIN
    );
    f.finish();
}

// --- Lock sites (kern::sync::LockSite) ---

const KC_MTX_LEAK: u32 = 21;

#[test]
fn a_leaked_guard_is_reported_at_the_modules_own_line() {
    let f = Fixture::new();
    assert_eq!(f.passes(KC_MTX_LEAK, 0), 0);
    // The line of selftest/src/cases/locks.rs that took the mutex, as the
    // module's source has it.
    let src = include_str!("../../selftest/src/cases/locks.rs");
    let line = src
        .lines()
        .position(|l| l.contains("let guard = dev.mtx.lock(cx);"))
        .unwrap()
        + 1;
    let v = f.k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Lock
            && v.message.contains(&format!(
                "Returning with 1 locks held: kselftest mtx locked @ selftest/src/cases/locks.rs:{line}"
            ))),
        "{v:?}"
    );
    f.finish();
}
