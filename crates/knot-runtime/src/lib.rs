//! The live executor of knot: where tasks run when no checker is in charge.
//!
//! Tasks are stackful coroutines run by a few worker threads (one per core
//! unless [`Builder::workers`] or `KNOT_WORKERS` says otherwise). A spawned
//! task waits in a queue, holding no stack, until a worker starts it; idle
//! workers steal tasks that have not started. A started task stays on its
//! worker, so a thread-local it reads after a wait is the one it read
//! before (shared with the worker's other tasks, though). When a task
//! blocks on a knot primitive its coroutine is suspended and the worker
//! runs another; when it is woken it goes back to its worker's queue. See
//! the `scheduler` module for the details.
//!
//! Tasks are not preempted, and the tasks of a worker share its OS thread:
//!
//! - a task that computes for long without a knot operation, or blocks its
//!   thread in a call knot cannot see, holds up the others of its worker
//!   (call `knot::yield_now` in long loops, and
//!   [`blocking`] around blocking calls; the [monitor] names such tasks);
//! - a thread-local is shared by the tasks of a worker, so a `RefCell`
//!   borrow or a `std::sync::Mutex` guard held across a knot wait can be
//!   met by another task of the same worker: one that blocks on that std
//!   mutex blocks the worker's thread for good. Hold knot locks, not std
//!   ones, across waits.
//!
//! Around that core:
//!
//! - every task is in a [registry] of live tasks, with what it is blocked on,
//!   which [`tasks`], [`leaks`] and [`leak_guard`] read;
//! - [`blocking`] runs blocking calls on a pool of their own;
//! - a [monitor] reports a global deadlock instead of hanging, and
//!   names tasks that keep their worker without reaching a knot operation;
//! - events (spawn, start, block, wake, join, exit) go to `tracing` under the
//!   `knot` target, at the `trace` level.
//!
//! Code outside any task (`main`, a test) uses the same primitives and parks
//! its own thread.
//!
//! ```
//! use std::panic::Location;
//! use knot_core::task::TaskConfig;
//!
//! let handle = knot_runtime::spawn(TaskConfig::default(), || 6 * 7, Location::caller());
//! assert_eq!(handle.join().unwrap(), 42);
//! ```

mod blocking;
mod config;
mod counter;
mod live;
pub mod monitor;
mod overflow;
mod panic_hook;
pub mod registry;
mod scheduler;
mod stack;
mod task;

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use knot_core::task::{JoinHandle, TaskConfig, TaskId};

pub use blocking::blocking;
pub use config::{AlreadyStarted, Builder, DEFAULT_DEADLOCK_TIMEOUT, DEFAULT_STALL_THRESHOLD};
pub use monitor::{stalls, Stall};
pub use registry::{
    describe_leaks, leak_guard, leaks, tasks, wait_for_leaks, LeakGuard, TaskInfo, TaskState,
    DEFAULT_LEAK_GRACE,
};
pub use stack::DEFAULT_STACK_SIZE;

use crate::task::TaskRef;

/// Starts a task on the runtime's workers, starting the runtime first if
/// it is not running yet.
///
/// The task is in the [registry] from now until it ends. It gets its stack
/// when a worker starts it; if no stack can be had (the process holds as
/// many as the kernel's limit on memory mappings allows), the task never
/// runs and its handle returns a [`JoinError`](knot_core::task::JoinError) that says why, which the
/// registry shows too.
pub fn spawn<F, T>(config: TaskConfig, f: F, site: &'static Location<'static>) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let runtime = scheduler::runtime();
    let id = TaskId::new(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
    let described = registry::describe(id, &config, site);
    tracing::trace!(target: "knot", task = id.as_u64(), name = ?config.name, %site, "spawn");
    let task = Arc::new(task::Spawned::new(described, f));
    // The handle shares the task's allocation, so it is freed where the
    // handle is dropped: on this thread, which allocated it.
    let handle = JoinHandle::from_holder(task.clone());
    let task: TaskRef = task;
    registry::insert(&task);
    runtime.spawn(task);
    handle
}

/// How many task stacks the process holds now (those of running and parked
/// tasks, and those pooled for reuse), and how many it may hold at once
/// under the kernel's limit on memory mappings.
///
/// ```
/// let (held, limit) = knot::runtime::stacks();
/// assert!(held <= limit);
/// ```
pub fn stacks() -> (usize, usize) {
    (stack::live(), stack::limit())
}

static NEXT_TASK: AtomicU64 = AtomicU64::new(1);
