// SPDX-License-Identifier: BSD-2-Clause
//! Model-based fuzzing: proptest generates sequences of operations and
//! injected faults, [`model::Runner`](crate::model::Runner) applies each to the module and to the
//! model, and a failing sequence is shrunk to a minimal one.
//!
//! Also the "1 in N" allocation-failure workload of the allocation sweep:
//! the same steps, drawn from the same strategy with a fixed seed, with
//! every Nth allocation failing for the whole run.

use crate::model::{Access, Fault, Ioctl, Op, Runner, Step};
use crate::tally::{Figures, Tally};
use echo_testkit::{DEFAULT_MAXLEN, MAXLEN_MAX};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

fn file() -> impl Strategy<Value = usize> {
    0..4usize
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0..8usize, 4 => 8..300usize, 1 => Just(4096usize)]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0..300i64,
        2 => Just(0i64),
        1 => -3..0i64,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => (1i64 << 31)..(1i64 << 40),
    ]
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![
        Just(Access::Read),
        Just(Access::Write),
        Just(Access::ReadWrite),
        Just(Access::NonBlocking),
    ]
}

fn ioctl() -> impl Strategy<Value = Ioctl> {
    prop_oneof![
        3 => Just(Ioctl::Fionread),
        3 => Just(Ioctl::GetInfo),
        2 => Just(Ioctl::Clear),
        1 => any::<i32>().prop_map(Ioctl::Fionbio),
        1 => prop_oneof![Just(0i32), any::<i32>()].prop_map(Ioctl::Fioasync),
        1 => Just(Ioctl::Unknown),
    ]
}

fn maxlen() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 1..300u64,
        1 => Just(0u64),
        1 => Just(MAXLEN_MAX),
        1 => Just(MAXLEN_MAX + 1),
        1 => Just(u64::MAX),
        1 => Just(DEFAULT_MAXLEN),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => access().prop_map(Op::Open),
        1 => file().prop_map(|file| Op::Close { file }),
        3 => (file(), len()).prop_map(|(file, len)| Op::Read { file, len }),
        3 => (file(), offset(), len()).prop_map(|(file, offset, len)| Op::Pread { file, offset, len }),
        1 => (file(), prop::collection::vec(0..64usize, 0..5))
            .prop_map(|(file, lens)| Op::Readv { file, lens }),
        4 => (file(), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(file, data)| Op::Write { file, data }),
        2 => (file(), prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..5))
            .prop_map(|(file, chunks)| Op::Writev { file, chunks }),
        2 => (file(), offset()).prop_map(|(file, offset)| Op::Seek { file, offset }),
        3 => (file(), ioctl()).prop_map(|(file, cmd)| Op::Ioctl { file, cmd }),
        1 => maxlen().prop_map(Op::SetMaxlen),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        7 => Just(Fault::None),
        1 => Just(Fault::Enomem),
        2 => (0..320usize).prop_map(Fault::Efault),
    ]
}

/// One step: an operation and a fault (`EFAULT` only where the call has
/// user buffers).
pub fn step() -> impl Strategy<Value = Step> {
    (op(), fault()).prop_map(|(op, fault)| {
        let buffers = matches!(
            op,
            Op::Read { .. }
                | Op::Pread { .. }
                | Op::Readv { .. }
                | Op::Write { .. }
                | Op::Writev { .. }
                | Op::Ioctl { .. }
        );
        let fault = match fault {
            Fault::Efault(_) if !buffers => Fault::None,
            f => f,
        };
        Step { op, fault }
    })
}

/// A sequence of up to `max` steps.
pub fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..max)
}

/// Applies `steps` to a fresh kernel and the model; with `rate`, every
/// `rate`th allocation fails throughout.
///
/// # Errors
/// The first difference, with the step.
pub fn run_case(steps: &[Step], rate: Option<u64>, t: &Tally) -> Result<(), String> {
    let mut runner = Runner::new(t)?;
    runner.set_rate(rate);
    for (i, s) in steps.iter().enumerate() {
        if let Err(e) = runner.step(s) {
            crate::model::abandon(runner);
            return Err(format!("step {i}: {e}"));
        }
    }
    runner.set_rate(None);
    runner.finish()
}

/// A 32-byte proptest seed from a number.
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let v = seed
            .wrapping_add(i as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// What a fuzzing run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct FuzzRun {
    /// Cases run (sequences that passed).
    pub cases: u32,
    /// Steps in them.
    pub steps: u64,
}

/// Runs `cases` random sequences of up to `max_steps` steps from `seed`.
/// The figures of passing cases go to `t`; a failure is shrunk and
/// reported with its minimal sequence (and replayed once into `t`).
///
/// # Errors
/// The minimal failing sequence and why it fails.
pub fn fuzz(cases: u32, max_steps: usize, seed: u64, t: &Tally) -> Result<FuzzRun, String> {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 10_000,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let passed = std::sync::Mutex::new((FuzzRun::default(), Figures::default()));
    let result = runner.run(&steps(max_steps), |case| {
        let local = Tally::new();
        match run_case(&case, None, &local) {
            Ok(()) => {
                let mut p = passed.lock().unwrap_or_else(|e| e.into_inner());
                p.0.cases += 1;
                p.0.steps += case.len() as u64;
                p.1.add(&local.figures());
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(e)),
        }
    });
    let (run, figures) = passed.into_inner().unwrap_or_else(|e| e.into_inner());
    t.merge(&figures);
    match result {
        Ok(()) => Ok(run),
        Err(TestError::Fail(why, minimal)) => {
            let replay = run_case(&minimal, None, t);
            Err(format!(
                "seed {seed}: minimal failing sequence ({} steps, after shrinking):\n{minimal:#?}\n{why}\n(replayed: {replay:?})",
                minimal.len()
            ))
        }
        Err(TestError::Abort(why)) => Err(format!("seed {seed}: proptest aborted: {why}")),
    }
}

/// The "1 in N" workload: `len` steps drawn from the fuzzing strategy
/// with seed `seed`, every `n`th allocation failing throughout. Returns
/// the number of `ENOMEM` errors it saw.
///
/// # Errors
/// The first difference from the model.
pub fn rate_workload(n: u64, len: usize, seed: u64, t: &Tally) -> Result<u64, String> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut source = TestRunner::new_with_rng(Config::default(), rng);
    let mut all = Vec::with_capacity(len);
    while all.len() < len {
        let tree = step()
            .new_tree(&mut source)
            .map_err(|e| format!("strategy: {e}"))?;
        all.push(tree.current());
    }
    let enomem = |t: &Tally| t.figures().errors.get("ENOMEM").copied().unwrap_or(0);
    let before = enomem(t);
    run_case(&all, Some(n), t)?;
    Ok(enomem(t) - before)
}

/// The scenario: `params.fuzz_cases` sequences from `params.seed`.
///
/// # Panics
/// With the minimal failing sequence.
pub fn run(params: &crate::Params, t: &Tally) {
    match fuzz(params.fuzz_cases, params.fuzz_steps, params.seed, t) {
        Ok(run) => t.note(format!(
            "fuzz: {} proptest cases, {} steps (up to {} per case), seed {} \
             (RELIABILITY_SEED, RELIABILITY_FUZZ_CASES)",
            run.cases, run.steps, params.fuzz_steps, params.seed
        )),
        Err(e) => panic!("{e}"),
    }
}
