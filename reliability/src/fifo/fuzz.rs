// SPDX-License-Identifier: BSD-2-Clause
//! Model-based fuzzing of `rustfifo.ko` with blocking in the model:
//! proptest generates sequences of writes and reads (blocking and not),
//! writes without memory, capacity changes, signals to the blocked
//! thread, poll/kevent readiness and idle periods; the [`Runner`] applies
//! each to the module and to the model, and a failing sequence is shrunk
//! to a minimal one. A few dozen cases in `make test`, thousands under
//! `make soak`.

use super::model::{Op, Runner};
use crate::tally::{Figures, Tally};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![3 => 0..40usize, 4 => 40..250usize, 1 => Just(0usize)];
    prop_oneof![
        5 => (len.clone(), any::<bool>()).prop_map(|(len, nonblock)| Op::Write { len, nonblock }),
        5 => (0..200usize, any::<bool>()).prop_map(|(len, nonblock)| Op::Read { len, nonblock }),
        1 => (0..120usize).prop_map(|len| Op::WriteNoMem { len }),
        1 => prop_oneof![
            6 => 1..300u64,
            1 => Just(0u64),
            1 => Just(super::CAPACITY_MAX + 1),
        ]
        .prop_map(Op::Capacity),
        2 => Just(Op::Signal),
        2 => Just(Op::Readiness),
        1 => Just(Op::Idle),
    ]
}

fn run_case(ops: &[Op], t: &Tally) -> Result<(), String> {
    let mut r = Runner::new(t)?;
    for (i, op) in ops.iter().enumerate() {
        r.step(op).map_err(|e| format!("step {i} ({op:?}): {e}"))?;
    }
    r.finish().map_err(|e| format!("at the end: {e}"))
}

/// A 32-byte proptest seed from a number.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let v = seed
            .wrapping_add(i as u64 + 0x5f)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// Runs `cases` sequences of up to `steps` operations from `seed`; a
/// failure is shrunk and returned with its minimal sequence. Returns the
/// steps run.
///
/// # Errors
/// The minimal failing sequence and why it fails.
pub fn fuzz(cases: u32, steps: usize, seed: u64, t: &Tally) -> Result<u64, String> {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 500,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let passed = std::sync::Mutex::new((0u64, Figures::default()));
    let strategy = prop::collection::vec(op(), 1..=steps);
    let result = runner.run(&strategy, |ops| {
        let local = Tally::new();
        run_case(&ops, &local).map_err(TestCaseError::fail)?;
        let mut p = passed.lock().unwrap_or_else(|e| e.into_inner());
        p.0 += ops.len() as u64;
        p.1.add(&local.figures());
        Ok(())
    });
    let (steps_run, figures) = passed.into_inner().unwrap_or_else(|e| e.into_inner());
    t.merge(&figures);
    match result {
        Ok(()) => Ok(steps_run),
        Err(TestError::Fail(why, minimal)) => Err(format!(
            "seed {seed}: minimal failing sequence ({} steps):\n{minimal:#?}\n{why}",
            minimal.len()
        )),
        Err(TestError::Abort(why)) => Err(format!("seed {seed}: proptest aborted: {why}")),
    }
}

/// The scenario: `params.fifo_fuzz_cases` sequences from `params.seed`.
///
/// # Panics
/// With the minimal failing sequence.
pub fn run(params: &crate::Params, t: &Tally) {
    let steps = params.fuzz_steps;
    match fuzz(params.fifo_fuzz_cases, steps, params.seed, t) {
        Ok(n) => t.note(format!(
            "fifo-fuzz: {} proptest cases, {n} steps (up to {steps} per case), seed {} \
             (RELIABILITY_SEED, RELIABILITY_FIFO_FUZZ_CASES)",
            params.fifo_fuzz_cases, params.seed
        )),
        Err(e) => panic!("{e}"),
    }
}
