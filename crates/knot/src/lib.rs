//! Goroutine-style concurrency for Rust, with a concurrency bug detector
//! built in.
//!
//! Write tasks ([`spawn`], [`go`]), connect them with channels ([`chan`],
//! [`select!`]), bound their work with a [`context::Context`] and
//! [`time`]outs, and synchronise them with the primitives in [`sync`]:
//! `Mutex`, `RwLock`, `Condvar`, `WaitGroup` and atomics. Run the same code
//! two ways:
//!
//! - **live**, where tasks run concurrently for real;
//! - **under the checker** ([`check`], [`Checker`], `#[knot::test]`), where a
//!   deterministic scheduler explores the orders in which the tasks'
//!   operations can interleave and reports deadlocks, leaked tasks, tasks
//!   still working when main returned, panics and misuse, each with a
//!   schedule string that replays it exactly.
//!
//! # Examples
//!
//! An AB-BA deadlock, found and explained:
//!
//! ```
//! use std::sync::Arc;
//! use knot::sync::Mutex;
//!
//! let outcome = knot::Checker::new().iterations(1_000).run(|| {
//!     let a = Arc::new(Mutex::new(()));
//!     let b = Arc::new(Mutex::new(()));
//!     let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
//!     let t = knot::spawn(move || {
//!         let _b = b2.lock();
//!         let _a = a2.lock();
//!     });
//!     {
//!         let _a = a.lock();
//!         let _b = b.lock();
//!     }
//!     t.join().unwrap();
//! });
//! let report = outcome.report.expect("the deadlock is found");
//! assert_eq!(report.kind(), knot::ReportKind::Deadlock);
//! println!("{report}");
//! ```
//!
//! In a test suite, the attribute does the same and fails the test with the
//! report:
//!
//! ```
//! #[knot::test(iterations = 100)]
//! fn counter_is_consistent() {
//!     let m = std::sync::Arc::new(knot::sync::Mutex::new(0));
//!     let m2 = m.clone();
//!     let t = knot::spawn(move || *m2.lock() += 1);
//!     *m.lock() += 1;
//!     t.join().unwrap();
//!     assert_eq!(*m.lock(), 2);
//! }
//! ```

pub mod harness;
pub mod task;

pub use knot_macros::{select, test};
pub use knot_model::{
    check, Checker, Error, Outcome, ParseStrategyError, ScheduleError, Strategy,
    DEFAULT_ITERATIONS, DEFAULT_MAX_STEPS, DEFAULT_SEED,
};
pub use knot_report::{Report, ReportKind};
pub use knot_runtime::{blocking, leak_guard, leaks, LeakGuard};
pub use task::{go, spawn, yield_now, JoinError, JoinHandle, TaskId};

/// Shared memory whose accesses the checker checks for data races.
pub mod cell {
    pub use knot_core::cell::*;
}

/// Synchronisation primitives that work under the checker and live alike.
pub mod sync {
    pub use knot_core::sync::*;
}

/// Channels with close, and the machinery of [`select!`](crate::select).
///
/// See [`bounded`](chan::bounded) and [`unbounded`](chan::unbounded).
///
/// ```
/// use std::time::Duration;
///
/// let (tx, rx) = knot::chan::bounded::<u32>(0);
/// let worker = knot::spawn(move || tx.send(42));
/// knot::select! {
///     recv(rx) -> reply => assert_eq!(reply, Ok(42)),
///     recv(knot::time::after(Duration::from_secs(5))) -> _ => panic!("too slow"),
/// }
/// worker.join().unwrap().unwrap();
/// ```
pub mod chan {
    pub use knot_core::chan::*;
}

/// Cancellation and deadlines, like Go's `context` package.
pub mod context {
    pub use knot_core::context::*;
}

/// Time on the executor's clock: `sleep`, `after`, `tick` and `Instant`,
/// virtual under the checker.
pub mod time {
    pub use knot_core::time::{after, pending_timers, sleep, tick, Instant};
}

/// What the macros expand to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use knot_core::op::Op;
}

/// The live runtime: its settings, and the registry of live tasks (what
/// runs now outside the checker, where it was spawned, what it waits for);
/// see [`tasks`](runtime::tasks), [`leaks`] and [`leak_guard`].
pub mod runtime {
    pub use knot_core::executor::BlockedOn;
    pub use knot_core::live_clock::{race_detection, set_race_detection};
    pub use knot_core::parked::{waiting as waiting_threads, ThreadWait};
    pub use knot_runtime::registry::*;
    pub use knot_runtime::{
        stacks, stalls, AlreadyStarted, Builder, Stall, DEFAULT_DEADLOCK_TIMEOUT,
        DEFAULT_STACK_SIZE, DEFAULT_STALL_THRESHOLD,
    };
}

/// The report model and its renderings: what a finding says, as data.
pub mod report {
    pub use knot_report::*;
}
