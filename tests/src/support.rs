//! Helpers shared by the integration tests in `tests/`.
//!
//! - Starting tasks: [`named`] gives a task a name that reports are matched
//!   by; [`pause`] gives the other tasks a chance to run.
//! - Checking outcomes: [`expect_report`] and [`expect_clean`] assert what
//!   the checker found, and [`task`], [`involved`] and [`blocked_on`] look
//!   into a report by task name.
//! - Running live: [`live`] runs a program on real threads and fails after
//!   [`PATIENCE`] instead of hanging; [`panic_text`] reads a caught panic;
//!   [`both!`](crate::both) turns one property into a live test and a
//!   checked one.
//!
//! Each test file keeps its own seed and budget and passes them in.

use std::any::Any;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use knot::report::{Blocked, Report, TaskReport, TaskState};
use knot::task::Builder;
use knot::{JoinHandle, Outcome, ReportKind};

/// How long a live test waits for something that should happen at once
/// before it calls it a failure rather than hang.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Starts a task with a name, so that reports can be matched by it.
///
/// The spawn site recorded for the task is the caller's.
#[track_caller]
pub fn named<T, F>(name: &str, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().name(name).spawn(f)
}

/// A short pause: a real millisecond live, a scheduling point and a virtual
/// millisecond under the checker. Gives the other tasks a chance to run.
pub fn pause() {
    knot::time::sleep(Duration::from_millis(1));
}

/// The report of an outcome that must have found a bug of `kind`; it must
/// carry a schedule.
pub fn expect_report(outcome: Outcome, kind: ReportKind) -> Report {
    let report = outcome
        .report
        .unwrap_or_else(|| panic!("expected a {kind} report, got none"));
    assert_eq!(report.kind(), kind, "wrong kind of report:\n{report}");
    assert!(
        !report.schedule().is_empty(),
        "a checker report carries a schedule:\n{report}"
    );
    report
}

/// Asserts that an outcome found nothing, showing the report if it did, and
/// that it ran all of its `iterations`.
pub fn expect_clean(outcome: &Outcome, iterations: u64) {
    if let Some(report) = &outcome.report {
        panic!("expected no report, got:\n{report}");
    }
    assert_eq!(outcome.executions, iterations);
}

/// The task of `report` named `name`.
pub fn task<'r>(report: &'r Report, name: &str) -> &'r TaskReport {
    report
        .tasks()
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no task named {name:?} in the report:\n{report}"))
}

/// The names of the tasks the report holds responsible, sorted.
pub fn involved(report: &Report) -> Vec<&str> {
    let mut names: Vec<&str> = report
        .tasks()
        .iter()
        .filter(|t| t.involved)
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    names
}

/// Asserts that the task named `name` is blocked in `operation` on an
/// object of kind `kind`, and returns what it is blocked on.
pub fn blocked_on<'r>(report: &'r Report, name: &str, operation: &str, kind: &str) -> &'r Blocked {
    let t = task(report, name);
    assert_eq!(t.state, TaskState::Blocked, "{name} state:\n{report}");
    let blocked = t
        .blocked_on
        .as_ref()
        .unwrap_or_else(|| panic!("{name} has no blocked_on:\n{report}"));
    assert_eq!(blocked.operation, operation, "{name} operation:\n{report}");
    assert_eq!(blocked.object.kind, kind, "{name} object kind:\n{report}");
    blocked
}

/// The message of a caught panic.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        String::from("<non-string panic>")
    }
}

/// Runs `body` live on a thread of its own, and fails instead of hanging if
/// it has not finished after [`PATIENCE`]. A panic in `body` fails the test
/// with its own message.
pub fn live<F: FnOnce() + Send + 'static>(body: F) {
    let (done, finished) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(String::from("live-body"))
        .spawn(move || {
            body();
            let _ = done.send(());
        })
        .expect("a thread for the live body");
    match finished.recv_timeout(PATIENCE) {
        Ok(()) => thread.join().expect("the live body finished"),
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(payload) = thread.join() {
                std::panic::resume_unwind(payload);
            }
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("the live program did not finish within {PATIENCE:?}: it hangs")
        }
    }
}

/// One property, run live and under the checker: `both!(prop)` makes the
/// tests `prop::live` and `prop::checked`.
///
/// They call `live` and `checked` of the module that invokes the macro, so
/// that each test file explores with its own seed and budget.
#[macro_export]
macro_rules! both {
    ($prop:ident) => {
        mod $prop {
            #[test]
            fn live() {
                super::live(super::$prop);
            }

            #[test]
            fn checked() {
                super::checked(super::$prop);
            }
        }
    };
}
