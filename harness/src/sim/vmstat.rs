// SPDX-License-Identifier: BSD-2-Clause
//! `vmstat -m` (`usr.bin/vmstat/vmstat.c`, `domemstat_malloc`, FreeBSD
//! 15): one line per malloc type that was ever used, in the order
//! `memstat_sysctl_malloc(3)` lists them, from the kernel's malloc
//! statistics.
//!
//! The columns: the type's short description, "Use" (allocations not
//! freed), "Memory" (their bytes, counted by bucket size), "Req"
//! (allocations made) and "Size(s)" (the buckets the type ever used).
//! FreeBSD humanizes the numbers when its output is a terminal (`-h`);
//! kldsim prints them as FreeBSD does into a pipe or a file, or with
//! `-H`: exact, right-aligned in libxo's padding anchors (`{[:4}`,
//! `{[:5}`).

use super::Shell;

impl Shell<'_> {
    pub(super) fn vmstat(&mut self, args: &[String]) -> i32 {
        let mut memstat = false;
        for a in args {
            let Some(flags) = a.strip_prefix('-') else {
                return self.vmstat_unsupported();
            };
            for c in flags.chars() {
                match c {
                    'm' => memstat = true,
                    'H' => {}
                    _ => return self.vmstat_unsupported(),
                }
            }
        }
        if !memstat {
            return self.vmstat_unsupported();
        }
        let mut s = format!(
            "{:>16} {:>4} {:>5} {:>3} Size(s)\n",
            "Type", "Use", "Memory", "Req"
        );
        for t in self.k.memstat_malloc() {
            if t.total_allocs == 0 && t.live_allocs == 0 {
                continue;
            }
            let sizes: Vec<String> = t.sizes.iter().map(ToString::to_string).collect();
            s.push_str(&format!(
                "{:>16} {:>4} {:>5} {:>4} {}\n",
                t.name,
                t.live_allocs,
                t.live_bytes,
                t.total_allocs,
                sizes.join(",")
            ));
        }
        self.say(&s);
        0
    }

    fn vmstat_unsupported(&mut self) -> i32 {
        self.warn("kldsim: vmstat: only -m (with -H) is emulated");
        1
    }
}
