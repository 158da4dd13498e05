//! The checker of knot: a deterministic executor that runs a program's tasks
//! as coroutines on one OS thread, switches between them only at knot
//! operations, and explores the orders in which those operations can happen.
//!
//! Each execution runs the closure as the main task on fresh state. The
//! strategy ([`Strategy`]) decides at every scheduling point which task goes
//! next. An execution fails when no task can run before main returns (a
//! deadlock), when tasks are left blocked or still working after main
//! returns (a leak, an unjoined task), when a task panics unobserved, when a
//! primitive is misused, or when it runs past the step limit. The failure
//! becomes a [`Report`](knot_report::Report) whose schedule string replays it
//! exactly.
//!
//! Users reach this through the `knot` crate (`knot::check`,
//! `knot::Checker`, `#[knot::test]`).
//!
//! ```
//! use std::sync::Arc;
//! use knot_core::sync::Mutex;
//! use knot_model::{Checker, Strategy};
//! use knot_report::ReportKind;
//!
//! // Main locks a mutex it already holds.
//! let outcome = Checker::new().strategy(Strategy::Random).run(|| {
//!     let m = Arc::new(Mutex::new(()));
//!     let _a = m.lock();
//!     let _b = m.lock();
//! });
//! assert_eq!(outcome.report.unwrap().kind(), ReportKind::Deadlock);
//! ```

mod checker;
mod dpor;
mod execution;
mod panics;
mod report;
mod reports_dir;
mod schedule;
mod shrink;
mod strategy;
mod trace;

use std::panic::Location;

pub use checker::{
    check, Checker, Error, Outcome, DEFAULT_ITERATIONS, DEFAULT_MAX_STEPS, DEFAULT_SEED,
};
pub use schedule::ScheduleError;
pub use strategy::{ParseStrategyError, Strategy};

use knot_core::task::{JoinHandle, TaskConfig};

/// Whether the calling code runs inside an execution of the checker.
///
/// ```
/// assert!(!knot_model::is_active());
/// knot_model::check(|| assert!(knot_model::is_active()));
/// ```
pub fn is_active() -> bool {
    execution::is_active()
}

/// Starts a task in the running execution; `knot::spawn` calls this under
/// the checker.
///
/// # Panics
///
/// Panics if no execution runs on this thread, or if no stack can be
/// allocated for the task.
pub fn spawn<F, T>(config: TaskConfig, f: F, site: &'static Location<'static>) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    execution::spawn(config, f, site)
}
