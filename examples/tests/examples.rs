//! Every example behaves as its documentation says: the checker reports the
//! buggy version with the expected kind, and the fixed version not at all,
//! with the seed and budget the tour uses.
//!
//! The tests are named `<example>::buggy` and `<example>::fixed`, which is
//! also the name the tour gives each check, so the replay line of a report
//! printed by the tour (`KNOT_REPLAY='…' cargo test abba::buggy`) runs the
//! matching test here. Replaying a buggy version fails that test on purpose,
//! with the report of the replayed execution, as replaying any failing
//! `#[knot::test]` does.

use knot::{Checker, Outcome, ReportKind};
use knot_examples::{ITERATIONS, SEED};

/// Checks `program` the way the tour does.
fn check(program: fn()) -> Outcome {
    Checker::new()
        .iterations(ITERATIONS)
        .seed(SEED)
        .run(program)
}

/// The checker reports `buggy`, with `expected` as its kind.
fn reports(buggy: fn(), expected: ReportKind) {
    let outcome = check(buggy);
    let report = outcome.report.unwrap_or_else(|| {
        panic!(
            "no report in {} executions: expected a {expected} report",
            outcome.executions
        )
    });
    assert_eq!(
        report.kind(),
        expected,
        "the wrong kind of report:\n{report}"
    );
    assert!(!report.schedule().is_empty(), "no schedule:\n{report}");
    if std::env::var("KNOT_REPLAY").is_ok_and(|v| !v.trim().is_empty()) {
        panic!("replayed as KNOT_REPLAY asked; this is the execution:\n\n{report}");
    }
}

/// The checker runs `fixed` through its whole budget without a report.
fn clean(fixed: fn()) {
    let outcome = check(fixed);
    if let Some(report) = outcome.report {
        panic!("the fixed version was reported:\n{report}");
    }
}

mod services {
    use knot_examples::services;

    #[test]
    fn buggy() {
        super::reports(services::buggy, services::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(services::fixed);
    }

    /// Three services of 200 ms each finish in well under 600 ms only if
    /// they run concurrently. A sanity bound, not a benchmark.
    #[test]
    fn run_live_is_concurrent() {
        let elapsed = services::run_live();
        assert!(
            elapsed >= services::LATENCY,
            "the services answered in {elapsed:?}, faster than one of them takes"
        );
        assert!(
            elapsed.as_millis() < 450,
            "the services answered in {elapsed:?}: they did not run concurrently"
        );
    }
}

mod unjoined {
    use knot_examples::unjoined;

    #[test]
    fn buggy() {
        super::reports(unjoined::buggy, unjoined::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(unjoined::fixed);
    }
}

mod lost_update {
    use knot_examples::lost_update;

    #[test]
    fn buggy() {
        super::reports(lost_update::buggy, lost_update::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(lost_update::fixed);
    }
}

mod abba {
    use knot_examples::abba;

    #[test]
    fn buggy() {
        super::reports(abba::buggy, abba::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(abba::fixed);
    }
}

mod task_panic {
    use knot_examples::task_panic;

    #[test]
    fn buggy() {
        super::reports(task_panic::buggy, task_panic::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(task_panic::fixed);
    }
}

mod classic_leak {
    use knot_examples::classic_leak;

    #[test]
    fn buggy() {
        super::reports(classic_leak::buggy, classic_leak::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(classic_leak::fixed);
    }

    #[test]
    fn run_live_lists_only_the_blocked_mailer() {
        let (after_fix, after_bug) = classic_leak::run_live();
        assert!(after_fix.is_empty(), "{after_fix:?}");
        let mailer = after_bug
            .iter()
            .find(|t| t.name == "mailer")
            .expect("the mailer is left behind");
        let blocked = mailer.blocked.expect("blocked");
        assert_eq!(blocked.op.name(), "recv");
        assert!(blocked.site.file().ends_with("classic_leak.rs"));
    }
}

mod worker_pool {
    use knot_examples::worker_pool;

    #[test]
    fn buggy() {
        super::reports(worker_pool::buggy, worker_pool::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(worker_pool::fixed);
    }
}

mod pipeline {
    use knot_examples::pipeline;

    #[test]
    fn buggy() {
        super::reports(pipeline::buggy, pipeline::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(pipeline::fixed);
    }
}

mod fan_out {
    use knot_examples::fan_out;

    #[test]
    fn buggy() {
        super::reports(fan_out::buggy, fan_out::EXPECTED);
    }

    #[test]
    fn fixed() {
        super::clean(fan_out::fixed);
    }

    /// Live, the page waits for the deadline (`video` never beats it), and
    /// main returns soon after it: the cancelled `video` stops at once
    /// instead of working its 300 ms. A sanity bound, not a benchmark.
    #[test]
    fn run_live_keeps_the_deadline() {
        let (page, elapsed) = fan_out::run_live();
        assert!(
            page.iter().all(|answer| !answer.starts_with("video")),
            "video answered before the deadline: {page:?}"
        );
        assert!(
            elapsed >= fan_out::DEADLINE,
            "the page was ready in {elapsed:?}, before the deadline"
        );
        assert!(
            elapsed.as_millis() < 200,
            "the page took {elapsed:?}: main waited for video instead of cancelling it"
        );
    }
}

/// The list the tour walks is the nine modules, each once.
#[test]
fn the_tour_lists_every_example() {
    let names: Vec<&str> = knot_examples::EXAMPLES.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "services",
            "unjoined",
            "lost_update",
            "abba",
            "task_panic",
            "classic_leak",
            "worker_pool",
            "pipeline",
            "fan_out",
        ]
    );
    for example in &knot_examples::EXAMPLES {
        assert!(
            !example.about.is_empty(),
            "{} has no description",
            example.name
        );
    }
}
