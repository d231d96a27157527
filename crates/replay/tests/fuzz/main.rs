//! Property fuzzing of every user-facing parser and validator: arbitrary bytes, arbitrary
//! JSON values and structure-aware mutations of valid inputs.
//!
//! Every property runs 10,000 cases from a fixed seed (`PROPTEST_CASES` raises or lowers the
//! count) and asserts what a user is promised: no panic, no hang, an error of one line that
//! says where, and valid inputs that survive a round trip. The time bound is a hang
//! detector with a wide margin, not a speed test.

mod configs;
mod json;
mod tables;
mod traces;

use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngSeed, TestCaseError};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 10_000;

/// One input taking longer than this is a hang (inputs are a few kilobytes).
const HANG: Duration = Duration::from_secs(5);

/// The configuration of every fuzz property: many cases, one fixed seed, no files written.
pub(crate) fn fuzz_config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5E7E_51A1),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `f`, failing the case if it takes longer than [`HANG`].
pub(crate) fn bounded<T>(f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    let start = Instant::now();
    let value = f();
    let elapsed = start.elapsed();
    if elapsed > HANG {
        return Err(TestCaseError::fail(format!(
            "one input took {elapsed:?} (hang bound {HANG:?})"
        )));
    }
    Ok(value)
}

/// An error message fit for a terminal: non-empty and on one line.
pub(crate) fn one_line(message: &str) -> Result<(), TestCaseError> {
    if message.trim().is_empty() || message.contains('\n') {
        return Err(TestCaseError::fail(format!(
            "error message is not one line: {message:?}"
        )));
    }
    Ok(())
}
