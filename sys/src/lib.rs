// SPDX-License-Identifier: BSD-2-Clause
//! Raw FreeBSD kernel bindings (skeleton; see issue 3).
#![no_std]
