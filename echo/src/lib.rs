// SPDX-License-Identifier: BSD-2-Clause
//! Kernel module (skeleton).
#![no_std]
