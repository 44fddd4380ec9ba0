// SPDX-License-Identifier: BSD-2-Clause
//! Commands that wait: `sleep` (`bin/sleep`: lets time pass, so callouts
//! fire), `timeout` (`usr.bin/timeout`: runs a command and, if it has not
//! finished in time, signals it; a read blocked in a module is
//! interrupted and the command ends with status 124, as a process
//! killed by timeout(1)'s default `SIGTERM`), and `poll`, which FreeBSD's
//! shell does not have: `poll [-t MS] [-r] [-w] /dev/X` calls `poll(2)`
//! on the device for reading (`-r`, the default), writing (`-w`) or both,
//! waits at most `MS` milliseconds (forever without `-t`) and prints the
//! events found, or `timeout`; its status is 0 if the device is ready, 1
//! otherwise.

use super::{Shell, errtext};
use crate::kernel::PollFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Names of `poll(2)` events (`sys/sys/poll.h`), in print order.
const EVENTS: [(i16, &str); 7] = [
    (0x0001, "POLLIN"),
    (0x0040, "POLLRDNORM"),
    (0x0004, "POLLOUT"),
    (0x0002, "POLLPRI"),
    (0x0008, "POLLERR"),
    (0x0010, "POLLHUP"),
    (0x0020, "POLLNVAL"),
];

/// A duration as `sleep(1)` and `timeout(1)` take it: seconds, possibly
/// fractional, with an optional `s`, `m`, `h` or `d` suffix.
fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1.0),
        (i, 'm') => (&s[..i], 60.0),
        (i, 'h') => (&s[..i], 3600.0),
        (i, 'd') => (&s[..i], 86400.0),
        _ => (s, 1.0),
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v * unit))
}

impl Shell<'_> {
    /// `sleep SECONDS`.
    pub(super) fn sleep(&mut self, args: &[String]) -> i32 {
        let Some(d) = args.first().and_then(|a| parse_duration(a)) else {
            self.warn("usage: sleep number[unit] [...]");
            return 1;
        };
        self.k.advance_clock(d);
        0
    }

    /// `poll [-t MS] [-r] [-w] /dev/X`.
    pub(super) fn poll(&mut self, args: &[String]) -> i32 {
        let mut timeout = None;
        let mut events = 0i16;
        let mut path = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-t" => match it.next().and_then(|v| v.parse::<u64>().ok()) {
                    Some(ms) => timeout = Some(Duration::from_millis(ms)),
                    None => return self.poll_usage(),
                },
                "-r" => events |= 0x0001 | 0x0040,
                "-w" => events |= 0x0004,
                p if !p.starts_with('-') && path.is_none() => path = Some(p.to_owned()),
                _ => return self.poll_usage(),
            }
        }
        let Some(path) = path else {
            return self.poll_usage();
        };
        if events == 0 {
            events = 0x0001 | 0x0040;
        }
        let flags = if events & 0x0004 != 0 {
            crate::O_RDWR
        } else {
            crate::O_RDONLY
        };
        let fd = match self.k.open(&path, flags) {
            Ok(fd) => fd,
            Err(e) => {
                self.warn(&format!("poll: {path}: {}", errtext(&e)));
                return 1;
            }
        };
        let mut fds = [PollFd {
            fd,
            events,
            revents: 0,
        }];
        let r = self.k.poll(&mut fds, timeout);
        drop(self.k.close(fd));
        match r {
            Ok(0) => {
                self.say(&format!("{path}: timeout\n"));
                1
            }
            Ok(_) => {
                let names: Vec<&str> = EVENTS
                    .iter()
                    .filter(|(b, _)| fds[0].revents & b != 0)
                    .map(|(_, n)| *n)
                    .collect();
                self.say(&format!("{path}: {}\n", names.join(" ")));
                0
            }
            Err(e) => {
                self.warn(&format!("poll: {}", errtext(&e)));
                1
            }
        }
    }

    fn poll_usage(&mut self) -> i32 {
        self.warn("usage: poll [-t ms] [-r] [-w] /dev/name");
        2
    }

    /// `timeout DURATION COMMAND [ARG...]`: the command runs on this
    /// thread; a watcher posts a signal to it when the time is up.
    pub(super) fn timeout(&mut self, args: &[String], capture: bool) -> (i32, Option<Vec<u8>>) {
        let Some(d) = args.first().and_then(|a| parse_duration(a)) else {
            self.warn("usage: timeout [-s signal] duration command [arg ...]");
            return (125, None);
        };
        let Some(cmd) = args.get(1..).filter(|c| !c.is_empty()) else {
            self.warn("usage: timeout [-s signal] duration command [arg ...]");
            return (125, None);
        };
        let fired = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let me = std::thread::current().id();
        let watcher = {
            let k = self.k.clone();
            let (fired, done) = (Arc::clone(&fired), Arc::clone(&done));
            std::thread::spawn(move || {
                let end = std::time::Instant::now() + d;
                while !done.load(Ordering::Acquire) {
                    if std::time::Instant::now() >= end {
                        fired.store(true, Ordering::Release);
                        // Until the command notices (it may not be
                        // blocked in the kernel yet).
                        k.post_signal(me, false);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        self.killed = Some(Arc::clone(&fired));
        let words: Vec<String> = cmd.to_vec();
        let (st, out) = self.run_words(&words, capture);
        done.store(true, Ordering::Release);
        drop(watcher.join());
        self.killed = None;
        if fired.load(Ordering::Acquire) {
            (124, out)
        } else {
            (st, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_as_sleep_takes_them() {
        assert_eq!(parse_duration("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
