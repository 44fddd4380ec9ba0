// SPDX-License-Identifier: BSD-2-Clause
//! The model-based fuzzing on its own:
//! `cargo test -p reliability --test model`. `RELIABILITY_FUZZ_CASES`
//! sets the number of proptest cases (default 64 here; the `reliability`
//! binary runs more), `RELIABILITY_SEED` the seed (default 1, so a failure
//! in CI is reproducible). A failing sequence is shrunk to a minimal one,
//! printed with the reason.

use reliability::Tally;
use reliability::fuzz::fuzz;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_module_behaves_as_its_model() {
    let cases = u32::try_from(env("RELIABILITY_FUZZ_CASES", 64)).unwrap();
    let seed = env("RELIABILITY_SEED", 1);
    let t = Tally::new();
    let run = fuzz(cases, 48, seed, &t).unwrap_or_else(|e| panic!("{e}"));
    let f = t.figures();
    assert_eq!(run.cases, cases);
    assert_eq!(f.must_be_zero(), 0, "{f:?}");
    assert!(f.faults > 0, "no fault fired in {} steps", run.steps);
}

#[test]
fn a_rate_of_failing_allocations_is_handled() {
    let t = Tally::new();
    let enomem = reliability::fuzz::rate_workload(3, 300, 5, &t).unwrap_or_else(|e| panic!("{e}"));
    assert!(enomem > 0);
    assert_eq!(t.figures().must_be_zero(), 0);
}
