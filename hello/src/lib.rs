// SPDX-License-Identifier: BSD-2-Clause
//! `hello.ko`: a sysctl-only Rust kernel module. It greets on load, says
//! goodbye on unload as many times as a validated tunable says, and counts
//! the writes it refused in a per-CPU counter (counter(9)), which root
//! zeroes by writing to it.
//!
//! ```text
//! # kldload ./build/hello.ko
//! hello: Hello from Rust, FreeBSD 15
//! # sysctl hw.hello.repeat=3
//! hw.hello.repeat: 1 -> 3
//! # sysctl hw.hello.repeat=11
//! sysctl: hw.hello.repeat=11: Invalid argument
//! # sysctl hw.hello.rejected
//! hw.hello.rejected: 1
//! # sysctl hw.hello.rejected=0
//! hw.hello.rejected: 1 -> 0
//! # kldunload hello
//! hello: Goodbye (1/3)
//! hello: Goodbye (2/3)
//! hello: Goodbye (3/3)
//! ```
//!
//! Built on `kern`'s safe API only.
#![no_std]
#![deny(unsafe_code)]

use kern::alloc::Arc;
use kern::counter::Counter;
use kern::prelude::*;
use kern::sysctl::{SysctlCtx, Tunable};

/// The most goodbyes `hw.hello.repeat` allows.
const MAX_REPEAT: u64 = 10;

/// What the sysctl nodes show.
struct Settings {
    /// `hw.hello.repeat`: goodbye lines printed at unload, 1 to
    /// [`MAX_REPEAT`].
    repeat: Tunable,
    /// `hw.hello.rejected`: writes to `hw.hello.repeat` that were refused,
    /// a counter(9) counter.
    rejected: Counter,
}

/// Accepts 1 to [`MAX_REPEAT`]; counts what it refuses (`EINVAL`).
fn valid_repeat(settings: &Settings, value: u64, _cx: &mut Sleepable) -> Result {
    if (1..=MAX_REPEAT).contains(&value) {
        return Ok(());
    }
    settings.rejected.add(1);
    Err(EINVAL)
}

/// `hw.hello.repeat` at load: the loader tunable of that name
/// (`TUNABLE_QUAD_FETCH`), if it is set and valid, else 1.
fn initial_repeat(cx: &mut Sleepable) -> u64 {
    kern::tunable::fetch_quad(c"hw.hello.repeat", cx)
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| (1..=MAX_REPEAT).contains(v))
        .unwrap_or(1)
}

/// The module's state: its sysctl nodes (removed when it is dropped).
struct Hello {
    sysctl: SysctlCtx<Settings>,
}

impl Module for Hello {
    fn load(cx: &mut Sleepable) -> Result<Self> {
        let rejected = Counter::new(cx);
        let settings = Arc::new(
            Settings {
                repeat: Tunable::new(initial_repeat(cx)),
                rejected,
            },
            cx.waitok(),
        );
        let sysctl = SysctlCtx::builder(settings, cx)?;
        let node = sysctl.add_hw_node(c"hello", c"The hello Rust module")?;
        sysctl.add_tunable(
            &node,
            c"repeat",
            c"Goodbye lines printed at unload (1 to 10)",
            |s| &s.repeat,
            valid_repeat,
        )?;
        sysctl.add_counter(
            &node,
            c"rejected",
            c"Writes to hw.hello.repeat that were refused (root: write to zero)",
            true,
            |s| &s.rejected,
        )?;
        let sysctl = sysctl.finish();
        // The kernel formats the numbers: no `core::fmt` in the module.
        kern::println_ju!("Hello from Rust, FreeBSD %ju", 15);
        Ok(Hello { sysctl })
    }
}

impl Drop for Hello {
    fn drop(&mut self) {
        let n = self.sysctl.data().repeat.get();
        for i in 1..=n {
            print::println_u64_pair("Goodbye (", i, "/", n, ")");
        }
    }
}

kern::module! {
    type: Hello,
    name: "hello",
    version: 1,
}
