// SPDX-License-Identifier: BSD-2-Clause
//! The clock (`getmicrotime(9)` and family, `hz`, `ticks`, `tick_sbt`) and
//! `pause(9)`, with kldtest_clock. The test kernel's clock is virtual: it
//! moves only when the test or a sleep lets time pass, so every value
//! here is exact.

use harness::testing::module_path;
use harness::{Config, Kernel, SysctlValue, ViolationKind};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `struct kldtest_clock_now` of kldtest_clock.c, decoded.
#[derive(Debug)]
struct Now {
    getmicrotime: (i64, i64),
    microtime: (i64, i64),
    getmicrouptime: (i64, i64),
    microuptime: (i64, i64),
    getnanotime: (i64, i64),
    nanotime: (i64, i64),
    getnanouptime: (i64, i64),
    nanouptime: (i64, i64),
    getbinuptime: (i64, u64),
    binuptime: (i64, u64),
    boottime: (i64, i64),
    tick_sbt: i64,
    ticksl: i64,
    time_second: i64,
    time_uptime: i64,
    ticks: i32,
    hz: i32,
    tick: i32,
}

fn now(k: &Kernel) -> Now {
    let SysctlValue::Opaque(b) = k.sysctl_get("debug.kldtest_clock.now").unwrap() else {
        panic!("not opaque");
    };
    assert_eq!(b.len(), 224);
    let q = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    let pair = |i: usize| (q(i), q(i + 1));
    let w = |off: usize| i32::from_ne_bytes(b[off..off + 4].try_into().unwrap());
    Now {
        getmicrotime: pair(0),
        microtime: pair(2),
        getmicrouptime: pair(4),
        microuptime: pair(6),
        getnanotime: pair(8),
        nanotime: pair(10),
        getnanouptime: pair(12),
        nanouptime: pair(14),
        getbinuptime: (q(16), q(17).cast_unsigned()),
        binuptime: (q(18), q(19).cast_unsigned()),
        boottime: pair(20),
        tick_sbt: q(22),
        ticksl: q(23),
        time_second: q(24),
        time_uptime: q(25),
        ticks: w(208),
        hz: w(212),
        tick: w(216),
    }
}

fn loaded(cfg: Config) -> Kernel {
    let k = Kernel::with_config(cfg);
    k.kldload(module_path("kldtest_clock")).unwrap();
    k
}

#[test]
fn at_boot_uptime_is_one_second_and_ticks_zero() {
    let k = loaded(Config::default());
    let n = now(&k);
    // kern_tc.c starts uptime at 1 s; subr_param.c: hz 1000, tick 1000 us,
    // tick_sbt SBT_1S / hz, truncated.
    assert_eq!(n.binuptime, (1, 0));
    assert_eq!(n.getbinuptime, (1, 0));
    assert_eq!(n.microuptime, (1, 0));
    assert_eq!(n.nanouptime, (1, 0));
    assert_eq!((n.ticks, n.ticksl, n.time_uptime), (0, 0, 1));
    assert_eq!((n.hz, n.tick, n.tick_sbt), (1000, 1000, 4_294_967));
    // The wall clock is boot time plus uptime, and boot time is the host's
    // time at creation, less the second of uptime.
    assert_eq!(n.microtime, (n.boottime.0 + 1, n.boottime.1));
    assert_eq!(n.time_second, n.getmicrotime.0);
    let host = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let host = i64::try_from(host.as_secs()).unwrap();
    assert!((n.microtime.0 - host).abs() < 60, "{n:?}");
    k.check().unwrap();
}

#[test]
fn time_passes_only_when_let_and_get_variants_lag_to_the_tick() {
    let k = loaded(Config::default());
    let before = now(&k);
    assert_eq!(now(&k).binuptime, before.binuptime);
    let up = k.advance_clock(Duration::from_millis(1500));
    assert_eq!(up, Duration::from_millis(2500));
    let n = now(&k);
    assert_eq!(n.microuptime, (2, 500_000));
    assert_eq!(n.nanouptime, (2, 500_000_000));
    assert_eq!(n.binuptime, (2, 1 << 63));
    // 1500 hardclock ticks of 4294967/2^32 s: the last one was at
    // 1 s + 6442450500/2^32 s, which get* return (truncated).
    assert_eq!((n.ticks, n.ticksl), (1500, 1500));
    assert_eq!(n.getmicrouptime, (2, 499_999));
    assert_eq!(n.getnanouptime, (2, 499_999_896));
    assert_eq!(n.time_uptime, 2);
    // The wall clock moved as much (each reading truncated once).
    let us = |t: (i64, i64)| t.0 * 1_000_000 + t.1;
    assert!((us(n.microtime) - us(before.microtime) - 1_500_000).abs() <= 1);
    let ns = |t: (i64, i64)| t.0 * 1_000_000_000 + t.1;
    let boot_ns = us(n.boottime) * 1000;
    assert!(
        (ns(n.nanotime) - ns(n.nanouptime) - boot_ns).abs() < 1000,
        "{n:?}"
    );
    assert_eq!(n.getnanotime.0, n.time_second);
    assert_eq!(k.ticks(), 1500);
    k.check().unwrap();
}

#[test]
fn hz_is_a_kernel_setting() {
    let k = loaded(Config {
        hz: 100,
        ..Config::default()
    });
    let n = now(&k);
    assert_eq!((n.hz, n.tick, n.tick_sbt), (100, 10_000, 42_949_672));
    k.advance_clock(Duration::from_secs(1));
    assert_eq!(now(&k).ticks, 100);
    k.check().unwrap();
}

fn pause(k: &Kernel, timo: i32) -> String {
    k.sysctl_set("debug.kldtest_clock.pause", &timo.to_string())
        .unwrap();
    match k.sysctl_get("debug.kldtest_clock.pause_result").unwrap() {
        SysctlValue::String(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn pause_sleeps_its_ticks_and_returns_ewouldblock() {
    let k = loaded(Config::default());
    let up = k.uptime();
    // EWOULDBLOCK (35), and exactly the ticks asked for (C_HARDCLOCK: from
    // the last tick).
    assert_eq!(pause(&k, 100), "35 100");
    assert!(
        k.uptime() - up >= Duration::from_millis(99),
        "{:?}",
        k.uptime()
    );
    // A zero timeout is one tick (pause_sbt).
    assert_eq!(pause(&k, 0), "35 1");
    assert_eq!(k.ticks(), 101);
    k.check().unwrap();
}

#[test]
fn pause_with_a_mutex_held_is_reported() {
    let k = loaded(Config::default());
    k.sysctl_set("debug.kldtest_clock.pause_locked", "1")
        .unwrap();
    let v = k.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].kind, ViolationKind::Lock);
    assert!(
        v[0].message
            .starts_with("Sleeping on \"kldtest\" with the following non-sleepable locks held:"),
        "{}",
        v[0].message
    );
    assert!(v[0].message.contains("kldtest_clock"), "{}", v[0].message);
    k.check().unwrap();
}

#[test]
fn a_negative_pause_panics_as_invariants_does() {
    let k = loaded(Config::default());
    assert!(k.sysctl_set("debug.kldtest_clock.pause", "-1").is_err());
    assert_eq!(
        k.expect_panic().as_deref(),
        Some("pause_sbt: timeout must be >= 0")
    );
}

#[test]
fn a_real_time_clock_sleeps_for_real() {
    let k = loaded(Config {
        real_time_clock: true,
        ..Config::default()
    });
    let start = Instant::now();
    let r = pause(&k, 20);
    assert!(start.elapsed() >= Duration::from_millis(19), "{r}");
    let (err, ticks) = r.split_once(' ').unwrap();
    assert_eq!(err, "35");
    assert!(ticks.parse::<i32>().unwrap() >= 19, "{r}");
    k.check().unwrap();
}
