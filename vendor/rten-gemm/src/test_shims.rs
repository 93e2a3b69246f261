//! Stand-ins for rten's unpublished test crates (`rten-testing`, `rten-bench`), so that
//! upstream's unit tests in `tests.rs` build and run from this vendored copy, whose
//! dev-dependencies on those path crates cannot resolve outside rten's repository
//! (Focus Sentry's change, vendor/rten-gemm/README.md).

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Instant;

/// Runs a test body once per case and names the case that failed, as
/// `rten_testing::TestCases` does.
pub trait TestCases {
    type Case: Debug;

    /// Runs `f` on each case by reference.
    fn test_each(self, f: impl Fn(&Self::Case));

    /// Runs `f` on a clone of each case.
    fn test_each_clone(self, f: impl Fn(Self::Case))
    where
        Self::Case: Clone;
}

impl<I: IntoIterator> TestCases for I
where
    I::Item: Debug,
{
    type Case = I::Item;

    fn test_each(self, f: impl Fn(&Self::Case)) {
        for case in self {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(&case))) {
                eprintln!("test case failed: {case:?}");
                resume_unwind(panic);
            }
        }
    }

    fn test_each_clone(self, f: impl Fn(Self::Case))
    where
        Self::Case: Clone,
    {
        self.test_each(|case| f(case.clone()));
    }
}

/// Times `f` over `trials` runs and prints the fastest, as `rten_bench::run_bench` does (for
/// the `#[ignore]`d bench tests).
pub fn run_bench(trials: usize, description: Option<&str>, mut f: impl FnMut()) {
    let mut fastest = f64::INFINITY;
    for _ in 0..trials {
        let start = Instant::now();
        f();
        fastest = fastest.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{}: fastest of {trials}: {fastest:.3} ms",
        description.unwrap_or("bench")
    );
}
