// SPDX-License-Identifier: BSD-2-Clause
//! `rustecho.ko`: the `/dev/rustmodule` echo device (being built; see
//! issue 7). Until then it only declares itself.
#![no_std]
#![no_builtins]
#![deny(unsafe_code)]

use kern::prelude::*;

/// The module's state.
struct RustEcho;

impl Module for RustEcho {
    fn load(_cx: &mut Sleepable) -> Result<Self> {
        Ok(RustEcho)
    }
}

kern::module! {
    type: RustEcho,
    name: "rustecho",
    version: 1,
}
