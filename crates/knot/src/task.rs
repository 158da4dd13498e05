//! Starting tasks: [`spawn`], [`go`], [`yield_now`] and the [`Builder`] for
//! named, daemon or large-stack tasks.

use std::panic::Location;

use knot_core::executor;
use knot_core::op::Op;
use knot_core::task::TaskConfig;

pub use knot_core::task::{JoinError, JoinHandle, TaskId};

/// Starts a task running `f` and returns a handle to join it.
///
/// Under the checker the task is a coroutine of the current execution; live
/// it runs on the runtime. Its spawn site (the caller) names it in reports
/// until it is given a name with [`Builder::name`].
///
/// # Examples
///
/// ```
/// let handle = knot::spawn(|| 1 + 1);
/// assert_eq!(handle.join().unwrap(), 2);
/// ```
///
/// The closure must own what it uses, since the task may outlive the caller:
///
/// ```compile_fail
/// let local = String::from("borrowed");
/// let handle = knot::spawn(|| local.len());
/// # handle.join().unwrap();
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_with(TaskConfig::default(), f, Location::caller())
}

/// Starts a task and forgets its handle, like Go's `go` statement.
///
/// Nobody can join the task, so under the checker a panic in it is reported,
/// and so is its still running or blocked when main returns (unless it is a
/// daemon, see [`Builder::daemon`]).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use knot::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// wg.add(1);
/// let done = wg.clone();
/// knot::go(move || done.done());
/// wg.wait();
/// ```
#[track_caller]
pub fn go<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    drop(spawn_with(TaskConfig::default(), f, Location::caller()));
}

/// Lets other tasks run before the caller continues.
///
/// Under the checker this is a scheduling point with no effect of its own.
/// Live, a task goes behind the other tasks of its worker (tasks are not
/// preempted, so a long loop that waits for another task must yield), and
/// a plain thread yields to the OS.
///
/// ```
/// knot::yield_now();
/// ```
#[track_caller]
pub fn yield_now() {
    if executor::is_entered() {
        executor::operation(Op::Yield, None, Location::caller());
    } else {
        std::thread::yield_now();
    }
}

/// A task factory that sets a name, a stack size or daemon status, like
/// `std::thread::Builder`.
///
/// # Examples
///
/// ```
/// let handle = knot::task::Builder::new()
///     .name("fetcher")
///     .stack_size(128 * 1024)
///     .spawn(|| "fetched");
/// assert_eq!(handle.join().unwrap(), "fetched");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a Builder does nothing until `spawn` is called"]
pub struct Builder {
    config: TaskConfig,
}

impl Builder {
    /// A builder for an unnamed, non-daemon task with the default stack.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task; reports and the registry show this name.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.config.name = Some(name.into());
        self
    }

    /// Sets the size of the task's stack in bytes; 256 KiB
    /// ([`runtime::DEFAULT_STACK_SIZE`](crate::runtime::DEFAULT_STACK_SIZE))
    /// unless set.
    ///
    /// The size is address space: only the pages the task touches cost
    /// memory. A task that needs more than it has crashes the process with
    /// a message that names it (the stack ends in a guard page), so give
    /// deep recursion room here.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.config.stack_size = Some(size);
        self
    }

    /// Marks the task as a daemon, allowed to outlive main: it is never
    /// reported as leaked or unjoined.
    ///
    /// ```
    /// knot::check(|| {
    ///     // A background task that never ends is fine when it is a daemon.
    ///     let never = knot::sync::WaitGroup::new();
    ///     never.add(1);
    ///     let _ = knot::task::Builder::new()
    ///         .daemon(true)
    ///         .spawn(move || never.wait());
    /// });
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.config.daemon = daemon;
        self
    }

    /// Starts the task and forgets its handle; see [`go`].
    ///
    /// ```
    /// knot::task::Builder::new().name("logger").go(|| {});
    /// ```
    #[track_caller]
    pub fn go<F>(self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        drop(spawn_with(self.config, f, Location::caller()));
    }

    /// Starts the task; see [`spawn`].
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_with(self.config, f, Location::caller())
    }
}

fn spawn_with<F, T>(config: TaskConfig, f: F, site: &'static Location<'static>) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if knot_model::is_active() {
        knot_model::spawn(config, f, site)
    } else {
        knot_runtime::spawn(config, f, site)
    }
}
