//! Two tasks count visits on a shared counter, and one visit disappears.
//!
//! Each visitor task adds one to a hit counter, main joins both and checks
//! that two visits were counted.
//!
//! # The bug
//!
//! [`buggy`] increments in two steps: it `load`s the counter, then `store`s
//! the value plus one. Each step is atomic; the pair is not. When both tasks
//! load before either stores, both read 0, both store 1, and one visit is
//! lost. The window is a few instructions wide, so the bug hides in almost
//! every run on a real machine and shows up under load in production.
//!
//! Every atomic access is a scheduling point for knot's checker, so it tries
//! the orders in which the two tasks' loads and stores interleave, and finds
//! the one that loses an update within a few executions. What fails is
//! main's own `assert_eq!`: the report is a panic of main, with the message
//! and the line of the assertion, and the schedule that leads there.
//!
//! # The fix
//!
//! [`fixed`] uses `fetch_add`, which reads and writes in one indivisible
//! step, so no other access can come between the two. (A
//! [`Mutex`](knot::sync::Mutex) held across the read and the write would do
//! too.)

use std::sync::Arc;

use knot::sync::atomic::{AtomicUsize, Ordering};
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str = "two tasks increment a counter with load-then-store and an update is lost";

/// What the checker reports for [`buggy`]: main's assertion fails.
pub const EXPECTED: ReportKind = ReportKind::Panic;

/// The program with the bug: an increment in two steps.
pub fn buggy() {
    visit_twice(|hits| {
        // BUG: another task can store between this load and this store.
        let seen = hits.load(Ordering::SeqCst);
        hits.store(seen + 1, Ordering::SeqCst);
    });
}

/// The same program, fixed: one indivisible `fetch_add`.
pub fn fixed() {
    visit_twice(|hits| {
        hits.fetch_add(1, Ordering::SeqCst);
    });
}

/// Two visitor tasks each count one visit with `count`; main joins them and
/// checks the total.
fn visit_twice(count: fn(&AtomicUsize)) {
    let hits = Arc::new(AtomicUsize::new(0));
    let visitors: Vec<_> = ["visitor 1", "visitor 2"]
        .into_iter()
        .map(|name| {
            let hits = Arc::clone(&hits);
            knot::task::Builder::new()
                .name(name)
                .spawn(move || count(&hits))
        })
        .collect();
    for visitor in visitors {
        visitor.join().expect("a visitor does not panic");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "a visit was not counted");
}
