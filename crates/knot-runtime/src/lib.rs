//! The live executor of knot: where tasks run when no checker is in charge.
//!
//! For now every task gets an OS thread of its own, and blocking parks that
//! thread; the primitives in `knot-core` already behave that way on any
//! thread no executor owns. The M:N scheduler of lightweight tasks replaces
//! this without changing the API.
//!
//! Every task started here is entered in a [registry] of live
//! tasks until it ends, which [`tasks`], [`leaks`] and [`leak_guard`] read.
//!
//! ```
//! use std::panic::Location;
//! use knot_core::task::TaskConfig;
//!
//! let handle = knot_runtime::spawn(TaskConfig::default(), || 6 * 7, Location::caller());
//! assert_eq!(handle.join().unwrap(), 42);
//! ```

pub mod registry;

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use knot_core::task::{self, JoinError, JoinHandle, TaskConfig, TaskId};

pub use registry::{
    describe_leaks, leak_guard, leaks, tasks, wait_for_leaks, LeakGuard, TaskInfo, TaskState,
    DEFAULT_LEAK_GRACE,
};

/// Starts a task on a thread of its own.
///
/// The task is in the [registry] from now until its thread ends.
/// If the thread cannot be created, the task's handle returns a
/// [`JoinError`] that says why.
pub fn spawn<F, T>(config: TaskConfig, f: F, site: &'static Location<'static>) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let id = TaskId::new(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
    let (handle, completion) = task::result_slot(id, site);
    let registration = registry::register(id, &config, site);
    let mut builder = thread::Builder::new().name(
        config
            .name
            .clone()
            .unwrap_or_else(|| format!("knot-task-{}", id.as_u64())),
    );
    if let Some(size) = config.stack_size {
        builder = builder.stack_size(size);
    }
    // The completion goes to the thread once it exists; if it cannot be
    // created, the spawner still has it and tells the handle why. The
    // registration moves into the thread and leaves the registry when the
    // thread ends, or at once if it never starts.
    let (tx, rx) = std::sync::mpsc::channel();
    // With live race detection on, the task starts with its spawner's clock.
    let inherited = knot_core::live_clock::fork();
    let started = builder.spawn(move || {
        knot_core::live_clock::adopt(inherited);
        let completion = rx.recv().expect("knot: the spawner vanished");
        registration.enter();
        let finished = registration.finish_on_drop();
        task::run_task(
            move || {
                // Marked finished before the joiner can see the result, so a
                // joined task is never counted as leaked.
                let _finished = finished;
                f()
            },
            completion,
        );
    });
    match started {
        Ok(_) => {
            let _ = tx.send(completion);
        }
        Err(e) => completion.complete(Err(JoinError::start_failed(
            id,
            format!("cannot start a thread for the task: {e}"),
        ))),
    }
    handle
}

static NEXT_TASK: AtomicU64 = AtomicU64::new(1);
