// SPDX-License-Identifier: BSD-2-Clause
//! The safe layer for FreeBSD kernel modules (skeleton; see issue 6).
#![no_std]
