// SPDX-License-Identifier: BSD-2-Clause
//! `rustsequser.ko`: takes two numbers from `rustseq.ko` at load. The
//! example of a module that calls another module's exported functions
//! (`kern::import!`, with the dependency in `kern::module!`).
//!
//! ```text
//! # kldload ./build/rustsequser.ko     (loads rustseq.ko first)
//! rustsequser: tickets up to 2
//! ```
//!
//! Its test is `harness/tests/rustseq.rs`.
#![no_std]
#![deny(unsafe_code)]

use kern::prelude::*;

kern::import! {
    /// `rustseq.ko`'s next sequence number.
    fn rustseq_next() -> u64;
}

/// The module: the last ticket it took.
struct RustSeqUser;

impl Module for RustSeqUser {
    fn load(_cx: &mut Sleepable) -> Result<Self> {
        let _first = rustseq_next();
        print::println_u64("tickets up to ", rustseq_next(), "");
        Ok(Self)
    }
}

kern::module! {
    type: RustSeqUser,
    name: "rustsequser",
    version: 1,
    depends: [("rustseq", 1, 1, 1)],
}
