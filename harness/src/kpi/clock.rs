// SPDX-License-Identifier: BSD-2-Clause
//! The kernel's clock: uptime and the wall clock, `hz`, `ticks` and the
//! other time variables, and letting time pass (`pause(9)`, and the
//! callouts that schedule on it).
//!
//! Followed (FreeBSD 15): `sys/kern/kern_tc.c` (`binuptime`,
//! `getbinuptime` and the other `[get]{bin,nano,micro}[up]time`,
//! `tc_windup`: uptime starts at 1 s, the `get*` variants and
//! `time_second`/`time_uptime` move only at a hardclock tick, and
//! `tc_adjprecision`'s `sbt_tickthreshold`), `sys/kern/kern_clock.c`
//! (`hardclock`: `ticks`, which on amd64 is the low half of `ticksl`),
//! `sys/kern/subr_param.c` (`hz` 1000, `tick`, `tick_sbt = SBT_1S / hz`),
//! `sys/kern/kern_timeout.c` (`callout_when`: when a relative timeout
//! expires) and `sys/sys/time.h` (the conversions, which truncate).
//!
//! Two sources of time:
//!
//! * **Virtual** (the default in tests): time stands still until someone
//!   lets it pass: [`Clock::advance_to`] (a test, through
//!   `Kernel::advance_clock`, through the kernel's `advance_to`, which also
//!   fires the callouts due on the way), or a sleep with a timeout such as
//!   `pause(9)`, which moves the clock to its deadline at once. Tests are
//!   then exact and fast: `pause("x", hz)` takes no real time and
//!   `ticks` grows by exactly `hz`.
//! * **Real** (`kldsim`): uptime follows the host's monotonic clock from
//!   the kernel's creation, and a sleep really sleeps.
//!
//! The kernel's data symbols (`ticks`/`ticksl`, `time_second`,
//! `time_uptime`) are memory a module reads directly, so they are
//! rewritten whenever the clock moves: on every [`Clock::advance_to`], and,
//! with the real clock, whenever the kernel is entered or asked the time
//! ([`Clock::sync`]). A module that spins reading `ticks` without calling
//! into the kernel sees it stand still (FreeBSD's hardclock interrupt
//! would move it).

use crate::state::{Core, DataSym};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `sbintime_t`: seconds in the high 32 bits, a binary fraction in the
/// low 32.
pub(crate) type Sbt = i64;

/// `SBT_1S`
pub(crate) const SBT_1S: Sbt = 1 << 32;

/// `SBT_MAX`
pub(crate) const SBT_MAX: Sbt = i64::MAX;

/// The uptime at which the clocks start: `th_offset` of the first
/// timehands in kern_tc.c is one second, as are `time_uptime` and
/// `time_second` before the wall clock is set.
pub(crate) const BOOT_UPTIME: Sbt = SBT_1S;

/// The limits of `hz` (`HZ_MINIMUM`, `HZ_MAXIMUM` in sys/time.h).
const HZ_RANGE: core::ops::RangeInclusive<i32> = 8..=(i32::MAX / (1_000_000 >> 6));

/// `struct bintime`: whole seconds and a 64-bit binary fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Bintime {
    pub(crate) sec: i64,
    pub(crate) frac: u64,
}

impl Bintime {
    /// `sbttobt`
    pub(crate) fn from_sbt(sbt: Sbt) -> Self {
        Bintime {
            sec: sbt >> 32,
            // CAST: the low 32 bits, moved up, as sbttobt does.
            frac: (sbt as u64) << 32,
        }
    }

    /// `bintime_add`
    fn add(self, other: Bintime) -> Self {
        let (frac, carry) = self.frac.overflowing_add(other.frac);
        Bintime {
            sec: self
                .sec
                .wrapping_add(other.sec)
                .wrapping_add(i64::from(carry)),
            frac,
        }
    }

    /// The fraction scaled to `units` per second, truncated
    /// (`__utime64_scale64_floor(frac, units, 1 << 32) >> 32`).
    fn frac_in(self, units: u64) -> i64 {
        let v = (u128::from(self.frac) * u128::from(units)) >> 64;
        // CAST: `v < units`, which fits.
        v as i64
    }

    /// `bintime2timeval`: (seconds, microseconds).
    pub(crate) fn to_timeval(self) -> (i64, i64) {
        (self.sec, self.frac_in(1_000_000))
    }

    /// `bintime2timespec`: (seconds, nanoseconds).
    pub(crate) fn to_timespec(self) -> (i64, i64) {
        (self.sec, self.frac_in(1_000_000_000))
    }
}

/// Where the time comes from.
enum Source {
    /// Uptime as an `sbintime_t`, moved only by [`Clock::advance_to`].
    Virtual(AtomicI64),
    /// The host's monotonic clock since `start`, which was uptime
    /// [`BOOT_UPTIME`].
    Real(Instant),
}

/// The clock of one kernel.
pub(crate) struct Clock {
    hz: i32,
    tick_sbt: Sbt,
    /// `sbt_tickthreshold`.
    tick_threshold: Sbt,
    /// The wall-clock time of boot (`boottimebin`).
    boottime: Bintime,
    source: Source,
}

impl Clock {
    /// A clock with `hz` ticks per second; `real` follows the host's
    /// time, otherwise it is virtual. The wall clock says the host's time
    /// at creation.
    ///
    /// # Panics
    /// If `hz` is outside FreeBSD's limits (8 to 137 kHz).
    pub(crate) fn new(hz: i32, real: bool) -> Self {
        assert!(HZ_RANGE.contains(&hz), "hz {hz} outside {HZ_RANGE:?}");
        let tick_sbt = SBT_1S / i64::from(hz);
        // tc_adjprecision with tc_timepercentage 5: tc_precexp is 4, and
        // bt_tickthreshold is FREQ2BT(hz) shifted left by it.
        let freq_frac = (0x8000_0000_0000_0000u64 / u64::from(hz.unsigned_abs())) << 1;
        let threshold = (u128::from(freq_frac) << 4) >> 32;
        // CAST: at most 16 s in 32.32 fixed point.
        let tick_threshold = threshold as i64;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let wall = Bintime {
            // CAST: seconds since 1970 fit an i64.
            sec: now.as_secs() as i64,
            frac: ns_to_frac(now.subsec_nanos()),
        };
        let boottime = Bintime {
            sec: wall.sec - (BOOT_UPTIME >> 32),
            frac: wall.frac,
        };
        let source = if real {
            Source::Real(Instant::now())
        } else {
            Source::Virtual(AtomicI64::new(BOOT_UPTIME))
        };
        Clock {
            hz,
            tick_sbt,
            tick_threshold,
            boottime,
            source,
        }
    }

    /// `hz`
    pub(crate) fn hz(&self) -> i32 {
        self.hz
    }

    /// `tick_sbt`: one tick.
    pub(crate) fn tick_sbt(&self) -> Sbt {
        self.tick_sbt
    }

    /// Whether the clock follows the host's time.
    pub(crate) fn is_real(&self) -> bool {
        matches!(self.source, Source::Real(_))
    }

    /// `sbinuptime()`: the uptime now, exactly.
    pub(crate) fn now(&self) -> Sbt {
        match &self.source {
            Source::Virtual(t) => t.load(Ordering::Acquire),
            Source::Real(start) => BOOT_UPTIME.saturating_add(duration_to_sbt(start.elapsed())),
        }
    }

    /// Hardclock ticks since the clocks started at `uptime`.
    fn ticks_at(&self, uptime: Sbt) -> i64 {
        (uptime - BOOT_UPTIME).max(0) / self.tick_sbt
    }

    /// The time of the last hardclock tick at or before `uptime`: what
    /// `tc_windup` last recorded, so what the `get*` functions return.
    pub(crate) fn hardclock_at(&self, uptime: Sbt) -> Sbt {
        BOOT_UPTIME + self.ticks_at(uptime) * self.tick_sbt
    }

    /// `binuptime` (`coarse`: `getbinuptime`, as of the last tick).
    pub(crate) fn uptime(&self, coarse: bool) -> Bintime {
        let now = self.now();
        let t = if coarse { self.hardclock_at(now) } else { now };
        Bintime::from_sbt(t)
    }

    /// `bintime` (`coarse`: `getbintime`): the wall clock, boot time plus
    /// uptime.
    pub(crate) fn wall(&self, coarse: bool) -> Bintime {
        self.boottime.add(self.uptime(coarse))
    }

    /// `getboottimebin`
    pub(crate) fn boottime(&self) -> Bintime {
        self.boottime
    }

    /// `callout_when` for a relative timeout `sbt` with callout flags
    /// `flags` (`C_HARDCLOCK`, `C_ABSOLUTE`): the uptime at which it
    /// expires (its precision is not modelled: the earliest moment is
    /// taken).
    pub(crate) fn when(&self, sbt: Sbt, flags: u32) -> Sbt {
        if flags & sys::C_ABSOLUTE != 0 {
            return sbt;
        }
        let hardclock = flags & sys::C_HARDCLOCK != 0;
        let sbt = if hardclock {
            sbt.max(self.tick_sbt)
        } else {
            sbt
        };
        let now = self.now();
        let base = if hardclock || sbt >= self.tick_threshold {
            let last = self.hardclock_at(now);
            if hardclock {
                last
            } else {
                last + self.tick_sbt
            }
        } else {
            now
        };
        base.checked_add(sbt).unwrap_or(SBT_MAX)
    }

    /// Lets time pass until uptime `deadline` (no-op if it has passed).
    /// Returns the uptime after.
    pub(crate) fn advance_to(&self, k: &Core, deadline: Sbt) -> Sbt {
        match &self.source {
            Source::Virtual(t) => {
                t.fetch_max(deadline, Ordering::AcqRel);
            }
            Source::Real(_) => loop {
                let now = self.now();
                if now >= deadline || k.is_dead() {
                    break;
                }
                let left = sbt_to_duration(deadline - now);
                std::thread::sleep(left.min(Duration::from_millis(50)));
                self.sync(k);
            },
        }
        self.sync(k);
        self.now()
    }

    /// Publishes the time in the kernel's data block: `hz`, `tick`,
    /// `tick_sbt` (constants) and the variables that move at each
    /// hardclock tick: `ticksl` (whose low half is `ticks`),
    /// `time_uptime` and `time_second`.
    pub(crate) fn sync(&self, k: &Core) {
        let now = self.now();
        let last = self.hardclock_at(now);
        let wall = self.boottime.add(Bintime::from_sbt(last));
        let tick_us = 1_000_000 / self.hz;
        for (sym, v) in [
            (DataSym::Ticksl, self.ticks_at(now)),
            (DataSym::TimeUptime, last >> 32),
            (DataSym::TimeSecond, wall.sec),
            (DataSym::TickSbt, self.tick_sbt),
        ] {
            let p = k.data_addr(sym).ptr::<i64>();
            // SAFETY: the data block holds an 8-byte aligned i64 at each of
            // these symbols for the kernel's lifetime (kdata.rs); modules
            // only read them, and atomic stores keep a concurrent read from
            // seeing a torn value.
            unsafe { AtomicI64::from_ptr(p) }.store(v, Ordering::Release);
        }
        for (sym, v) in [(DataSym::Hz, self.hz), (DataSym::Tick, tick_us)] {
            let p = k.data_addr(sym).ptr::<i32>();
            // SAFETY: as above, for the 4-byte aligned ints `hz` and `tick`.
            unsafe { core::sync::atomic::AtomicI32::from_ptr(p) }.store(v, Ordering::Release);
        }
    }
}

/// Nanoseconds as a 64-bit binary fraction of a second (truncated).
fn ns_to_frac(ns: u32) -> u64 {
    // CAST: `ns < 10^9`, so the quotient is below 2^64.
    ((u128::from(ns) << 64) / 1_000_000_000) as u64
}

/// A host duration as an `sbintime_t` (truncated; saturating).
pub(crate) fn duration_to_sbt(d: Duration) -> Sbt {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX >> 32);
    let frac = ns_to_frac(d.subsec_nanos()) >> 32;
    // CAST: `frac < 2^32`.
    (secs.min(i64::MAX >> 32) << 32) | frac as i64
}

/// An `sbintime_t` (non-negative) as a host duration, rounded up to the
/// nanosecond.
pub(crate) fn sbt_to_duration(sbt: Sbt) -> Duration {
    let sbt = sbt.max(0);
    // CAST: `sbt >= 0`.
    let secs = (sbt >> 32) as u64;
    let frac = u128::from(sbt.cast_unsigned() & 0xffff_ffff);
    // CAST: below 10^9.
    let ns = ((frac * 1_000_000_000).div_ceil(1 << 32)) as u64;
    Duration::from_secs(secs) + Duration::from_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_truncate_as_sys_time_h() {
        // 0.5 s and the smallest fraction.
        let half = Bintime::from_sbt(SBT_1S / 2);
        assert_eq!(half.to_timeval(), (0, 500_000));
        assert_eq!(half.to_timespec(), (0, 500_000_000));
        let tiny = Bintime::from_sbt(1);
        assert_eq!(tiny.to_timespec(), (0, 0));
        // One tick at hz 1000 is a hair under a millisecond.
        let tick = Bintime::from_sbt(SBT_1S / 1000);
        assert_eq!(tick.to_timeval(), (0, 999));
    }

    #[test]
    fn when_follows_callout_when() {
        let c = Clock::new(1000, false);
        let t = c.tick_sbt();
        // C_HARDCLOCK: from the last tick, at least one tick.
        assert_eq!(c.when(0, sys::C_HARDCLOCK), BOOT_UPTIME + t);
        assert_eq!(c.when(5 * t, sys::C_HARDCLOCK), BOOT_UPTIME + 5 * t);
        // Short and precise: from now.
        assert_eq!(c.when(3, 0), BOOT_UPTIME + 3);
        // Long (16 ticks or more): from the tick after the last.
        assert_eq!(c.when(SBT_1S, 0), BOOT_UPTIME + t + SBT_1S);
        assert_eq!(c.when(42, sys::C_ABSOLUTE), 42);
        assert_eq!(c.tick_threshold, 16 * SBT_1S / 1000);
    }

    #[test]
    fn durations_round_trip() {
        let d = Duration::from_millis(1500);
        assert_eq!(sbt_to_duration(duration_to_sbt(d)), d);
        assert_eq!(duration_to_sbt(Duration::from_secs(2)), 2 * SBT_1S);
    }
}
