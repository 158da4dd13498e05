//! The live executor of knot: where tasks run when no checker is in charge.
//!
//! For now every task gets an OS thread of its own, and blocking parks that
//! thread; the primitives in `knot-core` already behave that way on any
//! thread no executor owns. The M:N scheduler of lightweight tasks replaces
//! this without changing the API.
//!
//! ```
//! use std::panic::Location;
//! use knot_core::task::TaskConfig;
//!
//! let handle = knot_runtime::spawn(TaskConfig::default(), || 6 * 7, Location::caller());
//! assert_eq!(handle.join().unwrap(), 42);
//! ```

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use knot_core::task::{self, JoinError, JoinHandle, TaskConfig, TaskId};

/// Starts a task on a thread of its own.
///
/// If the thread cannot be created, the task's handle returns a
/// [`JoinError`] that says why.
pub fn spawn<F, T>(config: TaskConfig, f: F, site: &'static Location<'static>) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let id = TaskId::new(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
    let (handle, completion) = task::result_slot(id, site);
    let mut builder = thread::Builder::new().name(
        config
            .name
            .clone()
            .unwrap_or_else(|| format!("knot-task-{}", id.as_u64())),
    );
    if let Some(size) = config.stack_size {
        builder = builder.stack_size(size);
    }
    // The completion moves into the thread; if the thread never starts, the
    // closure (and it) come back in the error, so the handle can still be
    // told why.
    let (tx, rx) = std::sync::mpsc::channel();
    let started = builder.spawn(move || {
        let completion = rx.recv().expect("knot: the spawner vanished");
        task::run_task(f, completion);
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
