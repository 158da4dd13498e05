//! The `KNOT_*` environment variables override the checker's configuration,
//! and a bad value is an error that names the variable and what it accepts.
//!
//! Environment variables are global to the process, so everything here runs
//! in one test function, one variable at a time, in this file's own test
//! binary.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;

use knot::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use knot::sync::Mutex;
use knot::task::Builder;
use knot::{Checker, Error, Outcome, ReportKind};

const SEED: u64 = 0x5eed_0004;
const ITERATIONS: u64 = 1_000;

const VARIABLES: [&str; 5] = [
    "KNOT_ITERATIONS",
    "KNOT_SEED",
    "KNOT_STRATEGY",
    "KNOT_MAX_STEPS",
    "KNOT_REPLAY",
];

fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Removes a variable when dropped, even if the code that set it panics.
struct Unset(&'static str);

impl Drop for Unset {
    fn drop(&mut self) {
        std::env::remove_var(self.0);
    }
}

/// Runs `f` with `variable` set to `value`, and removes it afterwards.
fn with_var<R>(variable: &'static str, value: &str, f: impl FnOnce() -> R) -> R {
    std::env::set_var(variable, value);
    let _unset = Unset(variable);
    f()
}

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

fn correct() {
    let n = Arc::new(AtomicUsize::new(0));
    let m = Arc::clone(&n);
    let t = knot::spawn(move || m.fetch_add(1, Ordering::SeqCst));
    n.fetch_add(1, Ordering::SeqCst);
    t.join().unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

fn livelock() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let spinner = Builder::new().name("spinner").spawn(move || {
        while !f.load(Ordering::SeqCst) {
            knot::yield_now();
        }
    });
    spinner.join().unwrap();
}

/// Asserts that `result` is an `Env` error for `variable` with `value`,
/// whose text names the variable and mentions every one of `accepted`.
fn assert_env_error(
    result: Result<Outcome, Error>,
    variable: &str,
    value: &str,
    accepted: &[&str],
) {
    let err = match result {
        Err(e) => e,
        Ok(outcome) => panic!("{variable}={value:?} was accepted: {outcome:?}"),
    };
    match &err {
        Error::Env {
            variable: v,
            value: got,
            expected,
        } => {
            assert_eq!(*v, variable, "{err}");
            assert_eq!(got, value, "{err}");
            assert!(!expected.is_empty(), "{err}");
        }
        other => panic!("expected an Env error for {variable}, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(variable),
        "the error names the variable: {text}"
    );
    assert!(text.contains(value), "the error shows the value: {text}");
    for form in accepted {
        assert!(text.contains(form), "the error mentions {form:?}: {text}");
    }
}

#[test]
fn environment_overrides() {
    for variable in VARIABLES {
        assert!(
            std::env::var_os(variable).is_none(),
            "{variable} must not be set when this test starts"
        );
    }

    // --- Bad values are errors that name the variable. -------------------

    for bad in ["sideways", "dfs:-1", "pct:0", "random:2"] {
        let result = with_var("KNOT_STRATEGY", bad, || checker().try_run(correct));
        assert_env_error(
            result,
            "KNOT_STRATEGY",
            bad,
            &["`random`", "`pct`", "`pct:N`"],
        );
    }
    for bad in ["abc", "-1", "1.5", "0xzz"] {
        let result = with_var("KNOT_SEED", bad, || checker().try_run(correct));
        assert_env_error(result, "KNOT_SEED", bad, &["unsigned 64-bit integer"]);
    }
    for bad in ["0", "many", "-3"] {
        let result = with_var("KNOT_ITERATIONS", bad, || checker().try_run(correct));
        assert_env_error(result, "KNOT_ITERATIONS", bad, &["at least 1"]);
    }
    let result = with_var("KNOT_MAX_STEPS", "0", || checker().try_run(livelock));
    assert_env_error(result, "KNOT_MAX_STEPS", "0", &["at least 1"]);

    // `run` and `check` panic with the same error.
    let panicked = with_var("KNOT_SEED", "abc", || {
        panic::catch_unwind(AssertUnwindSafe(|| checker().run(correct)))
    });
    let payload = panicked.expect_err("run panics on a bad variable");
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.starts_with("knot: KNOT_SEED=\"abc\" is not valid"),
        "{message}"
    );

    // --- A garbled replay schedule is a schedule error. -------------------

    match with_var("KNOT_REPLAY", "garbage", || checker().try_run(abba)) {
        Err(Error::Schedule(e)) => {
            let text = e.to_string();
            assert!(text.contains("garbage"), "{text}");
            assert!(text.contains("schedule looks like"), "{text}");
        }
        other => panic!("KNOT_REPLAY=garbage gave {other:?}"),
    }

    // --- Good values take effect. -----------------------------------------

    // KNOT_ITERATIONS sets the budget of a correct program exactly.
    let runs = Rc::new(Cell::new(0_u64));
    let r = Rc::clone(&runs);
    let outcome = with_var("KNOT_ITERATIONS", "3", || {
        checker().run(move || {
            r.set(r.get() + 1);
            correct();
        })
    });
    assert!(outcome.report.is_none(), "{:?}", outcome.report);
    assert_eq!(outcome.executions, 3);
    assert_eq!(runs.get(), 3, "the program ran exactly three times");

    // KNOT_SEED overrides the builder's seed: the result is the one the
    // builder gives with that seed, in decimal or hex.
    let by_builder = Checker::new().seed(77).iterations(ITERATIONS).run(abba);
    let report = by_builder.report.as_ref().expect("the deadlock is found");
    assert_eq!(report.kind(), ReportKind::Deadlock);
    assert_eq!(report.search.as_ref().map(|s| s.seed), Some(77));
    for spelling in ["77", "0x4d", "0X4D", "7_7"] {
        let by_env = with_var("KNOT_SEED", spelling, || checker().run(abba));
        assert_eq!(by_env, by_builder, "KNOT_SEED={spelling}");
    }
    let own_seed = checker().run(abba);
    assert_eq!(
        own_seed
            .report
            .as_ref()
            .and_then(|r| r.search.as_ref())
            .map(|s| s.seed),
        Some(SEED),
        "without the variable the builder's seed is used again"
    );

    // KNOT_STRATEGY picks the strategy.
    let by_env = with_var("KNOT_STRATEGY", "pct:2", || checker().run(abba));
    let by_builder = checker()
        .strategy(knot::Strategy::Pct { depth: 2 })
        .run(abba);
    assert_eq!(by_env, by_builder);
    let strategy = by_env
        .report
        .as_ref()
        .and_then(|r| r.search.as_ref())
        .map(|s| s.strategy.clone());
    assert_eq!(strategy.as_deref(), Some("pct:2"));

    // KNOT_MAX_STEPS sets the step limit.
    let outcome = with_var("KNOT_MAX_STEPS", "50", || checker().run(livelock));
    let report = outcome.report.expect("the livelock is caught");
    assert_eq!(report.kind(), ReportKind::StepLimit);
    assert!(report.message().contains("more than 50 steps"), "{report}");

    // An empty value means "not set".
    let outcome = with_var("KNOT_ITERATIONS", "", || checker().run(correct));
    assert_eq!(outcome.executions, ITERATIONS);

    // KNOT_REPLAY replays one execution of a schedule from a report.
    let found = checker().run(abba);
    let original = found.report.expect("the deadlock is found");
    let replayed = with_var("KNOT_REPLAY", original.schedule(), || {
        checker().try_run(abba)
    })
    .expect("the schedule fits its program");
    assert_eq!(replayed.executions, 1);
    let report = replayed.report.expect("the replay fails the same way");
    assert_eq!(report.kind(), ReportKind::Deadlock);
    assert_eq!(report.schedule(), original.schedule());
    assert_eq!(report.tasks(), original.tasks());
    assert_eq!(
        report.search.as_ref().map(|s| s.strategy.as_str()),
        Some("replay")
    );
    // The iteration budget does not matter to a replay.
    let replayed_once_more = with_var("KNOT_REPLAY", original.schedule(), || {
        with_var("KNOT_ITERATIONS", "500", || checker().try_run(abba))
    });
    assert_eq!(replayed_once_more.map(|o| o.executions), Ok(1));

    // A schedule that does not fit the program diverges.
    match with_var("KNOT_REPLAY", original.schedule(), || {
        checker().try_run(correct)
    }) {
        Err(Error::Diverged { schedule, .. }) => assert_eq!(schedule, original.schedule()),
        other => panic!("a replay on another program gave {other:?}"),
    }

    for variable in VARIABLES {
        assert!(
            std::env::var_os(variable).is_none(),
            "{variable} was left set"
        );
    }
}
