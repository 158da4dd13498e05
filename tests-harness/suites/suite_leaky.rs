//! A suite whose tests pass but which leaves a live task blocked forever: a
//! worker waiting on a `WaitGroup` that never reaches zero. knot's harness
//! reports it after the suite and exits with code 1.
//!
//! It is a binary rather than a test target, so that `cargo test` does not
//! run it as a failing test; `tests/leak_check.rs` runs it and checks the
//! report.

use knot::sync::WaitGroup;
use knot::task::Builder;

knot::test_main!();

#[knot::test(iterations = 10)]
fn checked_test_passes() {
    let t = knot::spawn(|| 1 + 1);
    assert_eq!(t.join().unwrap(), 2);
}

/// Starts a worker that waits for a `done` nobody will call.
fn leaves_a_worker_behind() {
    let never = WaitGroup::new();
    never.add(1);
    Builder::new().name("stuck-worker").go(move || never.wait()); // the leaked task's spawn site
}

inventory::submit! {
    knot::harness::TestCase::new(
        concat!(module_path!(), "::leaves_a_worker_behind"),
        leaves_a_worker_behind,
    )
}
