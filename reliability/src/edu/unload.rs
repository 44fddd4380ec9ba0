// SPDX-License-Identifier: BSD-2-Clause
//! TODO

use crate::Params;
use crate::tally::Tally;

/// The scenario.
pub fn run(_p: &Params, _t: &Tally) {}
