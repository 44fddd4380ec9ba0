// SPDX-License-Identifier: BSD-2-Clause
//! Fallible-only collections for kernel code (skeleton; see issue 4).
#![no_std]
