// SPDX-License-Identifier: BSD-2-Clause
//! `rustseq.ko`: sequence numbers for other modules. The example of a
//! module that exports functions (`kern::export!`); `rustsequser.ko`
//! calls them.
//!
//! ```text
//! # kldload ./build/rustsequser.ko     (loads rustseq.ko first)
//! rustsequser: tickets up to 2
//! # kldunload rustsequser rustseq
//! rustseq: handed out 2 numbers
//! ```
//!
//! Its test is `harness/tests/rustseq.rs`.
#![no_std]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};
use kern::prelude::*;

/// The next number to hand out.
static NEXT: AtomicU64 = AtomicU64::new(1);

kern::export! {
    /// The next number of the sequence, from 1: never the same twice while
    /// the module is loaded.
    pub fn rustseq_next() -> u64 {
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// How many numbers were handed out.
    pub fn rustseq_count() -> u64 {
        NEXT.load(Ordering::Relaxed).wrapping_sub(1)
    }
}

/// The module: nothing to build at load, a report at unload.
struct RustSeq;

impl Module for RustSeq {
    fn load(_cx: &mut Sleepable) -> Result<Self> {
        Ok(Self)
    }
}

impl Drop for RustSeq {
    fn drop(&mut self) {
        print::println_u64("handed out ", rustseq_count(), " numbers");
    }
}

kern::module! {
    type: RustSeq,
    name: "rustseq",
    version: 1,
}
