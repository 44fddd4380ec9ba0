// SPDX-License-Identifier: BSD-2-Clause
//! Host crate (skeleton).
