//! Determinism and replay: the same seed explores the same schedules byte for
//! byte, a schedule from a report replays the same failure, and a schedule
//! that does not fit (another program, a garbled string) is a clear error,
//! never a panic or a different report.

use std::sync::Arc;

use knot::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use knot::sync::{Mutex, WaitGroup};
use knot::task::Builder;
use knot::{Checker, Error, Outcome, Report, ReportKind, Strategy};

const SEED: u64 = 0x5eed_0002;
const ITERATIONS: u64 = 1_000;

fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Two named tasks take two mutexes in opposite orders.
fn abba() {
    let a = Arc::new(Mutex::new(()));
    let b = Arc::new(Mutex::new(()));
    let (a1, b1) = (Arc::clone(&a), Arc::clone(&b));
    let t1 = Builder::new().name("ab").spawn(move || {
        let _a = a1.lock();
        let _b = b1.lock();
    });
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    let t2 = Builder::new().name("ba").spawn(move || {
        let _b = b2.lock();
        let _a = a2.lock();
    });
    t1.join().unwrap();
    t2.join().unwrap();
}

/// Two tasks increment a counter with a load and a store; main checks it.
fn lost_update() {
    let n = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = ["inc-1", "inc-2"]
        .into_iter()
        .map(|name| {
            let n = Arc::clone(&n);
            Builder::new().name(name).spawn(move || {
                let v = n.load(Ordering::SeqCst);
                n.store(v + 1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 2, "an increment was lost");
}

/// A task left blocked on a WaitGroup when main returns.
fn leak() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    drop(Builder::new().name("stuck").spawn(move || w.wait()));
}

/// A task that stores after main returned.
fn unjoined() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    drop(
        Builder::new()
            .name("late")
            .spawn(move || f.store(true, Ordering::SeqCst)),
    );
}

/// A WaitGroup that goes negative in a task.
fn misuse() {
    let wg = WaitGroup::new();
    let w = wg.clone();
    Builder::new()
        .name("over-done")
        .spawn(move || w.done())
        .join()
        .unwrap();
}

/// A task panics and nobody joins it.
fn unjoined_panic() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    drop(Builder::new().name("bomber").spawn(move || {
        w.done();
        panic!("boom");
    }));
    wg.wait();
}

/// Two tasks spin on a flag nobody sets.
fn livelock() {
    let flag = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = ["spin-a", "spin-b"]
        .into_iter()
        .map(|name| {
            let flag = Arc::clone(&flag);
            Builder::new().name(name).spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    knot::yield_now();
                }
            })
        })
        .collect();
    for s in spinners {
        s.join().unwrap();
    }
}

/// A correct program: three tasks increment a mutex-protected counter.
fn correct() {
    let m = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let m = Arc::clone(&m);
            knot::spawn(move || *m.lock() += 1)
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 3);
}

fn found(outcome: &Outcome) -> &Report {
    outcome
        .report
        .as_ref()
        .expect("the checker finds the bug within the budget")
}

/// The report's text without the line that says how it was found, which is
/// the one line a replay changes.
fn without_found_by(report: &Report) -> String {
    report
        .to_string()
        .lines()
        .filter(|line| !line.starts_with("found by "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_same_seed_explores_the_same_schedules() {
    for (program, kind) in [
        (abba as fn(), ReportKind::Deadlock),
        (lost_update, ReportKind::Panic),
    ] {
        for strategy in [Strategy::Random, Strategy::Pct { depth: 2 }] {
            let first = checker().strategy(strategy).run(program);
            let second = checker().strategy(strategy).run(program);
            let (r1, r2) = (found(&first), found(&second));
            assert_eq!(r1.kind(), kind, "{r1}");
            assert_eq!(first.executions, second.executions, "{strategy}");
            assert_eq!(r1.schedule(), r2.schedule(), "{strategy}");
            assert_eq!(r1.to_string(), r2.to_string(), "{strategy}");
            assert_eq!(first, second, "{strategy}");
            assert_eq!(r1.search.as_ref().map(|s| s.seed), Some(SEED));
            assert_eq!(
                r1.search.as_ref().map(|s| s.execution),
                Some(first.executions)
            );
        }
    }
}

#[test]
fn a_correct_program_runs_the_same_budget_every_time() {
    let first = checker().run(correct);
    let second = checker().run(correct);
    assert_eq!(first, second);
    assert_eq!(first.executions, ITERATIONS);
    assert!(first.report.is_none());
}

#[test]
fn another_seed_also_finds_the_bug() {
    // The schedules may differ from seed to seed; the bug is found all the
    // same, and each seed is itself reproducible.
    for seed in [1, 2, 3, 0xdead_beef] {
        let first = Checker::new().seed(seed).iterations(ITERATIONS).run(abba);
        let report = found(&first);
        assert_eq!(report.kind(), ReportKind::Deadlock, "{report}");
        assert_eq!(report.search.as_ref().map(|s| s.seed), Some(seed));
        let again = Checker::new().seed(seed).iterations(ITERATIONS).run(abba);
        assert_eq!(first, again, "seed {seed}");
    }
}

#[test]
fn a_reported_schedule_replays_the_same_failure() {
    let cases: [(fn(), ReportKind); 6] = [
        (abba, ReportKind::Deadlock),
        (lost_update, ReportKind::Panic),
        (leak, ReportKind::Leak),
        (unjoined, ReportKind::Unjoined),
        (misuse, ReportKind::Misuse),
        (unjoined_panic, ReportKind::Panic),
    ];
    for (program, kind) in cases {
        let outcome = checker().run(program);
        let report = found(&outcome);
        assert_eq!(report.kind(), kind, "{report}");

        let replayed = Checker::new().replay(report.schedule(), program);
        assert_eq!(replayed.executions, 1);
        let again = found(&replayed);
        assert_eq!(again.kind(), kind, "{again}");
        assert_eq!(again.schedule(), report.schedule());
        assert_eq!(again.tasks(), report.tasks());
        assert_eq!(again.wait_for, report.wait_for);
        assert_eq!(again.trace, report.trace);
        assert_eq!(without_found_by(again), without_found_by(report));
        let search = again.search.as_ref().expect("search info");
        assert_eq!(search.strategy, "replay");
        assert_eq!(search.execution, 1);
        assert!(
            again.to_string().contains("found by strategy replay"),
            "{again}"
        );

        // A replay is itself deterministic.
        assert_eq!(Checker::new().replay(report.schedule(), program), replayed);
    }
}

#[test]
fn try_replay_of_a_fitting_schedule_is_ok() {
    let outcome = checker().run(abba);
    let schedule = found(&outcome).schedule().to_owned();
    let replayed = Checker::new()
        .try_replay(&schedule, abba)
        .expect("the schedule fits the program it came from");
    assert_eq!(
        found(&replayed).kind(),
        ReportKind::Deadlock,
        "{replayed:?}"
    );
    // Surrounding whitespace, as pasted from a terminal, is fine.
    let padded = format!("  {schedule}\n");
    assert_eq!(Checker::new().try_replay(&padded, abba), Ok(replayed));
}

#[test]
fn a_passing_schedule_replays_without_a_report() {
    // A program without a single knot operation takes no steps and makes
    // no choices: the empty schedule fits it, and nothing fails.
    let outcome = Checker::new().replay("1:0:", || {});
    assert_eq!(outcome.executions, 1);
    assert!(outcome.report.is_none(), "{:?}", outcome.report);
}

/// A step-limit report carries a schedule like any other; replaying it with
/// the configuration that found it must give the same report.
#[test]
fn a_step_limit_schedule_replays() {
    let limited = Checker::new().seed(SEED).iterations(10).max_steps(500);
    let outcome = limited.run(livelock);
    let report = found(&outcome);
    assert_eq!(report.kind(), ReportKind::StepLimit, "{report}");
    let replayed = limited
        .try_replay(report.schedule(), livelock)
        .unwrap_or_else(|e| panic!("the step-limit schedule does not replay: {e}"));
    let again = found(&replayed);
    assert_eq!(again.kind(), ReportKind::StepLimit, "{again}");
    assert_eq!(without_found_by(again), without_found_by(report));
}

#[test]
fn replaying_on_another_program_diverges() {
    let outcome = checker().run(abba);
    let schedule = found(&outcome).schedule().to_owned();

    // A program with no tasks at all takes none of the recorded steps.
    let err = Checker::new()
        .try_replay(&schedule, || {})
        .expect_err("an empty program cannot take the AB-BA path");
    let Error::Diverged {
        schedule: s,
        detail,
    } = &err
    else {
        panic!("expected Diverged, got {err:?}");
    };
    assert_eq!(s, &schedule);
    assert!(detail.contains("steps"), "{detail}");
    let text = err.to_string();
    assert!(text.contains(&schedule), "{text}");
    assert!(text.contains("diverged"), "{text}");
    assert!(
        text.contains("nondeterministic") || text.contains("changed"),
        "{text}"
    );

    // A program with a different shape: the schedule names choices that
    // do not fit, or ends at the wrong step.
    for other in [correct as fn(), lost_update, leak] {
        match Checker::new().try_replay(&schedule, other) {
            Err(Error::Diverged { schedule: s, .. }) => assert_eq!(s, schedule),
            Err(e) => panic!("expected Diverged, got {e:?}"),
            Ok(outcome) => panic!("replay on another program succeeded: {outcome:?}"),
        }
    }
}

#[test]
fn a_schedule_naming_a_task_that_cannot_run_diverges() {
    // Main spawns one task and joins it: at the first choice point only
    // tasks 0 and 1 exist, so a choice of task 7 cannot be followed.
    let program = || {
        let t = knot::spawn(|| knot::yield_now());
        knot::yield_now();
        t.join().unwrap();
    };
    let err = Checker::new()
        .try_replay("1:4:7", program)
        .expect_err("task 7 does not exist");
    match &err {
        Error::Diverged { detail, .. } => {
            assert!(detail.contains("cannot run"), "{detail}");
        }
        other => panic!("expected Diverged, got {other:?}"),
    }
}

#[test]
fn a_garbled_schedule_is_an_error_not_a_panic() {
    for garbled in [
        "",
        "garbage",
        "1",
        "1:",
        "one:2:0",
        "1:x:0",
        "9:3:0",
        "1:3:a",
        "1:3:0*0",
        "1:3:-1",
        "1:3:0**2",
        "1:18446744073709551616:0",
    ] {
        let result = std::panic::catch_unwind(|| Checker::new().try_replay(garbled, abba));
        let result = result.unwrap_or_else(|_| panic!("try_replay({garbled:?}) panicked"));
        match result {
            Err(Error::Schedule(e)) => {
                let text = Error::Schedule(e.clone()).to_string();
                assert!(text.starts_with("cannot read the schedule"), "{text}");
                assert!(
                    text.contains("a schedule looks like `1:42:0.1*3.2`"),
                    "the error shows the expected form: {text}"
                );
                assert!(e.to_string().contains("schedule looks like"), "{e}");
            }
            other => panic!("try_replay({garbled:?}) gave {other:?}"),
        }
    }
}

#[test]
fn garbled_schedule_errors_say_what_is_wrong() {
    let message = |s: &str| match Checker::new().try_replay(s, abba) {
        Err(Error::Schedule(e)) => e.to_string(),
        other => panic!("try_replay({s:?}) gave {other:?}"),
    };
    assert!(
        message("hello").contains("three parts"),
        "{}",
        message("hello")
    );
    assert!(
        message("9:3:0").contains("version 9"),
        "{}",
        message("9:3:0")
    );
    assert!(message("1:x:0").contains("`x` is not a step count"));
    assert!(message("1:3:a").contains("`a` is not a choice"));
    assert!(message("1:3:0*0").contains("`0*0`"));
}

#[test]
fn a_schedule_that_does_not_fit_is_a_divergence() {
    match Checker::new().try_replay("1:2:0.0.0", abba) {
        Err(Error::Diverged { detail, .. }) => assert!(!detail.is_empty()),
        other => panic!("gave {other:?}"),
    }
}

#[test]
#[should_panic(expected = "knot: cannot read the schedule")]
fn replay_panics_with_the_error() {
    let _ = Checker::new().replay("not a schedule", abba);
}

#[test]
fn a_report_is_data_that_survives_json() {
    for program in [abba as fn(), leak, unjoined_panic] {
        let outcome = checker().run(program);
        let report = found(&outcome);
        let json = report.to_json();
        let back = Report::from_json(&json).expect("a report reads back from its JSON");
        assert_eq!(&back, report);
        assert_eq!(back.to_string(), report.to_string());
    }
}

#[test]
fn the_test_name_defaults_to_the_test_and_can_be_set() {
    let outcome = checker().run(abba);
    let report = found(&outcome);
    assert_eq!(
        report.test(),
        Some("the_test_name_defaults_to_the_test_and_can_be_set")
    );
    assert!(report
        .to_string()
        .ends_with("cargo test the_test_name_defaults_to_the_test_and_can_be_set"));

    let named = checker().name("suite::abba").run(abba);
    let report = found(&named);
    assert_eq!(report.test(), Some("suite::abba"));
    assert!(report.to_string().ends_with("cargo test suite::abba"));
    // The name is not part of the exploration.
    assert_eq!(named.executions, outcome.executions);
    assert_eq!(report.schedule(), found(&outcome).schedule());
}
