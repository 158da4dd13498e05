//! Nine classic concurrency bugs, written the goroutine way with knot, and
//! the checker catching each of them.
//!
//! Every example is a small program in two versions:
//!
//! - `buggy()` has a real, classic bug, the kind that passes code review and
//!   most test runs;
//! - `fixed()` is the same program with the bug fixed.
//!
//! Both are plain `fn()`s that build all their state inside, so either can be
//! handed to the checker as its main task. The checker runs `buggy` until one
//! interleaving of its tasks goes wrong, and reports the kind in the module's
//! `EXPECTED`; it runs `fixed` through the same schedules and reports nothing.
//!
//! | example | the bug | knot reports |
//! |---|---|---|
//! | [`services`] | `WaitGroup::add` inside the task it counts | an unjoined task |
//! | [`unjoined`] | main returns before its worker is done | an unjoined task |
//! | [`lost_update`] | load, then store, on a shared counter | a panic (main's assertion) |
//! | [`abba`] | two tasks take two locks in opposite orders | a deadlock |
//! | [`task_panic`] | a fire-and-forget task panics; nobody hears | a panic |
//! | [`classic_leak`] | a worker loops over a channel nobody closes | a leak |
//! | [`worker_pool`] | results closed after the loop that reads them | a deadlock |
//! | [`pipeline`] | the last stage stops early; the others wait forever | a leak |
//! | [`fan_out`] | a reply after the deadline waits forever to be read | a leak |
//!
//! `cargo run -p knot-examples` runs them all (the `tour` binary) and prints
//! every report. To check one yourself:
//!
//! ```
//! use knot_examples::abba;
//!
//! let outcome = knot::Checker::new()
//!     .iterations(knot_examples::ITERATIONS)
//!     .seed(knot_examples::SEED)
//!     .run(abba::buggy);
//! let report = outcome.report.expect("the deadlock is found");
//! assert_eq!(report.kind(), abba::EXPECTED);
//! println!("{report}");
//!
//! let clean = knot::Checker::new()
//!     .iterations(knot_examples::ITERATIONS)
//!     .seed(knot_examples::SEED)
//!     .run(abba::fixed);
//! assert!(clean.report.is_none());
//! ```
//!
//! The same functions run live too, outside the checker, on the runtime:
//! [`services::run_live`] fetches three slow services concurrently and
//! returns how long that took, and [`fan_out::run_live`] asks three services
//! under a 50 ms deadline and returns the page it got in that time.

pub mod abba;
pub mod classic_leak;
pub mod fan_out;
pub mod lost_update;
pub mod pipeline;
pub mod services;
pub mod task_panic;
pub mod unjoined;
pub mod worker_pool;

use knot::ReportKind;

/// The seed the tour and the tests give the checker, so that both explore
/// the same schedules and print the same reports on every machine.
pub const SEED: u64 = 42;

/// The most executions the tour and the tests let the checker run per
/// program: each buggy version is caught well within it, and each fixed
/// version must get through all of it without a report.
pub const ITERATIONS: u64 = 1_000;

/// One example: its name, what it shows, and its two versions.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The module's name, such as `"abba"`.
    pub name: &'static str,
    /// One line that says what the example shows.
    pub about: &'static str,
    /// The kind of report the checker must make for `buggy`.
    pub expected: ReportKind,
    /// The program with the bug.
    pub buggy: fn(),
    /// The same program, fixed: the checker reports nothing.
    pub fixed: fn(),
}

/// Every example, in the order the tour shows them.
pub const EXAMPLES: [Example; 9] = [
    Example {
        name: "services",
        about: services::ABOUT,
        expected: services::EXPECTED,
        buggy: services::buggy,
        fixed: services::fixed,
    },
    Example {
        name: "unjoined",
        about: unjoined::ABOUT,
        expected: unjoined::EXPECTED,
        buggy: unjoined::buggy,
        fixed: unjoined::fixed,
    },
    Example {
        name: "lost_update",
        about: lost_update::ABOUT,
        expected: lost_update::EXPECTED,
        buggy: lost_update::buggy,
        fixed: lost_update::fixed,
    },
    Example {
        name: "abba",
        about: abba::ABOUT,
        expected: abba::EXPECTED,
        buggy: abba::buggy,
        fixed: abba::fixed,
    },
    Example {
        name: "task_panic",
        about: task_panic::ABOUT,
        expected: task_panic::EXPECTED,
        buggy: task_panic::buggy,
        fixed: task_panic::fixed,
    },
    Example {
        name: "classic_leak",
        about: classic_leak::ABOUT,
        expected: classic_leak::EXPECTED,
        buggy: classic_leak::buggy,
        fixed: classic_leak::fixed,
    },
    Example {
        name: "worker_pool",
        about: worker_pool::ABOUT,
        expected: worker_pool::EXPECTED,
        buggy: worker_pool::buggy,
        fixed: worker_pool::fixed,
    },
    Example {
        name: "pipeline",
        about: pipeline::ABOUT,
        expected: pipeline::EXPECTED,
        buggy: pipeline::buggy,
        fixed: pipeline::fixed,
    },
    Example {
        name: "fan_out",
        about: fan_out::ABOUT,
        expected: fan_out::EXPECTED,
        buggy: fan_out::buggy,
        fixed: fan_out::fixed,
    },
];

/// The example called `name`, if there is one.
///
/// ```
/// assert_eq!(knot_examples::example("abba").unwrap().name, "abba");
/// assert!(knot_examples::example("abab").is_none());
/// ```
pub fn example(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.name == name)
}
