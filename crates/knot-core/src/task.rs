//! Tasks as both executors see them: identities, configuration, join
//! handles and the wrapper that runs a task's closure.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::Arc;

use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Teardown, Waker};
use crate::lock::Lock;
use crate::object::Object;
use crate::op::Op;
use crate::sync::state;

/// The number of a task: under the checker 0 is main and spawned tasks count
/// up from 1 in each execution; live, numbers are unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// Wraps a task number.
    pub const fn new(id: u64) -> TaskId {
        TaskId(id)
    }

    /// The task number.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}

/// How a task should be started: what `knot::task::Builder` collects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskConfig {
    /// The task's name in reports; `None` names it after its number.
    pub name: Option<String>,
    /// The size of its stack in bytes; `None` takes the executor's default.
    pub stack_size: Option<usize>,
    /// Whether the task may outlive main without being reported.
    pub daemon: bool,
}

/// An owned permission to wait for a task and take its result.
///
/// Dropping the handle detaches the task: it keeps running. A panic in a task
/// that nobody joins is itself reported by the checker.
#[must_use = "dropping a JoinHandle detaches the task; call `join` to wait for it"]
pub struct JoinHandle<T> {
    /// The record that holds the slot: the slot itself (see
    /// [`result_slot`]) or an executor's record that embeds it. `None` once
    /// `join` has taken the result, so that dropping the handle has nothing
    /// left to do; an `Option` of it is as small as the pointer, so that a
    /// program holding many handles holds two words for each.
    slot: Option<Arc<dyn HoldsResult<T>>>,
}

/// Why [`JoinHandle::join`] has no value: the task panicked, or could not
/// start.
pub struct JoinError(Box<Failure>);

/// What a [`JoinError`] says, boxed so that a task's `Result<T, JoinError>`
/// is little bigger than its `T`: every result slot holds one.
struct Failure {
    task: TaskId,
    message: String,
    panicked: bool,
    payload: Box<dyn Any + Send + 'static>,
}

/// The half of a task's result slot that the task itself fills.
pub struct Completion<T> {
    slot: Arc<ResultSlot<T>>,
}

/// How a task's closure ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEnd {
    /// It returned a value.
    Returned,
    /// It panicked with this message.
    Panicked(String),
    /// Its execution was torn down while it was suspended.
    TornDown,
}

/// Where a task's outcome waits for its joiner.
///
/// [`result_slot`] makes one of its own for a task; an executor that keeps
/// a record per task can embed one in that record instead, implement
/// [`HoldsResult`] for it and hand out handles with
/// [`JoinHandle::from_holder`], so that a spawn allocates once.
///
/// ```
/// use std::panic::Location;
/// use std::sync::Arc;
/// use knot_core::task::{HoldsResult, JoinHandle, ResultSlot, TaskId};
///
/// struct Record {
///     name: &'static str,
///     result: ResultSlot<u32>,
/// }
///
/// impl HoldsResult<u32> for Record {
///     fn result_slot(&self) -> &ResultSlot<u32> {
///         &self.result
///     }
/// }
///
/// let record = Arc::new(Record {
///     name: "answer",
///     result: ResultSlot::new(TaskId::new(1), Location::caller()),
/// });
/// let handle = JoinHandle::from_holder(record.clone());
/// record.result.run(|| 42);
/// assert_eq!(handle.join().unwrap(), 42);
/// assert_eq!(record.name, "answer");
/// ```
pub struct ResultSlot<T> {
    task: TaskId,
    spawned: &'static Location<'static>,
    state: Lock<SlotState<T>>,
}

/// A record that embeds a task's [`ResultSlot`], so that a [`JoinHandle`]
/// can share it: see [`JoinHandle::from_holder`].
pub trait HoldsResult<T>: Send + Sync {
    /// The embedded slot.
    fn result_slot(&self) -> &ResultSlot<T>;
}

/// A slot of its own holds itself, as [`result_slot`] makes it.
impl<T: Send> HoldsResult<T> for ResultSlot<T> {
    fn result_slot(&self) -> &ResultSlot<T> {
        self
    }
}

struct SlotState<T> {
    outcome: Outcome<T>,
    /// What the executor asked the handle to keep; see
    /// [`JoinHandle::keep_alive`].
    kept: Option<Arc<dyn Any + Send + Sync>>,
    /// The joiner waiting for the result: there is one handle, so at most
    /// one.
    waiter: Option<Waker>,
    /// The task's clock when it ended: joining acquires it.
    clock: VectorClock,
}

/// Where a task's outcome is.
enum Outcome<T> {
    /// Not in yet, or taken by the join.
    Pending,
    /// In, for the join to take.
    Ready(Result<T, JoinError>),
    /// The handle is gone: the task drops its own outcome.
    Detached,
}

impl<T> SlotState<T> {
    /// Takes the outcome, if it is in.
    fn take(&mut self) -> Option<Result<T, JoinError>> {
        match std::mem::replace(&mut self.outcome, Outcome::Pending) {
            Outcome::Ready(result) => Some(result),
            other => {
                self.outcome = other;
                None
            }
        }
    }

    fn is_finished(&self) -> bool {
        matches!(self.outcome, Outcome::Ready(_))
    }
}

/// Creates the two halves of a task's result slot: the handle the spawner
/// keeps and the completion the task fills when it ends.
pub fn result_slot<T: Send + 'static>(
    task: TaskId,
    spawned: &'static Location<'static>,
) -> (JoinHandle<T>, Completion<T>) {
    let slot = Arc::new(ResultSlot::new(task, spawned));
    (JoinHandle::from_holder(slot.clone()), Completion { slot })
}

/// Runs a task's closure, catching its panic, and delivers the outcome to
/// its join handle.
///
/// A task torn down with its execution ends quietly without a result: its
/// joiner is torn down too.
pub fn run_task<T>(f: impl FnOnce() -> T, completion: Completion<T>) -> TaskEnd {
    completion.slot.run(f)
}

/// The message of a panic payload, as `std` prints it.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("Box<dyn Any>")
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the task to finish and returns its value, or the panic that
    /// ended it.
    ///
    /// # Errors
    ///
    /// Returns a [`JoinError`] carrying the panic message and payload if the
    /// task panicked.
    #[track_caller]
    pub fn join(mut self) -> Result<T, JoinError> {
        let result = self.wait(Location::caller());
        // Taken: the record goes now, and dropping the handle does nothing.
        self.slot = None;
        result
    }

    /// Waits for the task's outcome and takes it, for `join`, which was
    /// called at `site`.
    fn wait(&self, site: &'static Location<'static>) -> Result<T, JoinError> {
        let slot = self.slot();
        let blocked = BlockedOn {
            object: slot.object(),
            op: Op::Join,
            site,
        };
        let mut st = state(&slot.state);
        // Only this handle takes the result, so a finished task stays
        // finished: its result is taken at once, under the one lock, and
        // only a join that may have to wait registers.
        if let Some(result) = st.take() {
            executor::acquire(&st.clock);
            drop(st);
            executor::wait_point(blocked, true);
            executor::joined(slot.task.as_u64());
            return result;
        }
        st.waiter = Some(executor::current());
        drop(st);
        executor::wait_point(blocked, false);
        loop {
            let mut st = state(&slot.state);
            if let Some(result) = st.take() {
                st.waiter = None;
                executor::acquire(&st.clock);
                drop(st);
                executor::joined(slot.task.as_u64());
                return result;
            }
            drop(st);
            executor::block(blocked);
        }
    }

    /// Keeps `value` alive for as long as the handle (or the task's result)
    /// is: for executors, not programs.
    ///
    /// An executor can give the handle its own record of the task, so
    /// that the record is freed where the handle is dropped (on the
    /// spawner's thread, which allocated it) rather than on the worker that
    /// ran the task: memory freed on the thread that allocated it is much
    /// cheaper for the allocator. One that can embed the result slot in
    /// that record does better with [`JoinHandle::from_holder`], as the
    /// live runtime does.
    ///
    /// ```
    /// use std::panic::Location;
    /// use std::sync::Arc;
    /// use knot_core::task::{result_slot, TaskId};
    ///
    /// let (handle, completion) = result_slot::<u32>(TaskId::new(1), Location::caller());
    /// let record = Arc::new(String::from("kept"));
    /// handle.keep_alive(record.clone());
    /// assert_eq!(Arc::strong_count(&record), 2);
    /// completion.complete(Ok(1));
    /// assert_eq!(handle.join().unwrap(), 1);
    /// assert_eq!(Arc::strong_count(&record), 1);
    /// ```
    pub fn keep_alive(&self, value: Arc<dyn Any + Send + Sync>) {
        state(&self.slot().state).kept = Some(value);
    }

    /// A handle on the result slot that `holder` embeds: for executors that
    /// keep the slot in their own record of the task (see [`ResultSlot`]).
    ///
    /// The handle keeps the whole record alive until it is joined or
    /// dropped, so the record is freed on the joiner's thread, usually the
    /// spawner's, which allocated it: memory freed on the thread that
    /// allocated it is much cheaper for the allocator.
    pub fn from_holder(holder: Arc<dyn HoldsResult<T>>) -> JoinHandle<T> {
        JoinHandle { slot: Some(holder) }
    }

    /// The number of the task.
    pub fn id(&self) -> TaskId {
        self.slot().task
    }

    /// Whether the task has finished, so that `join` would not wait.
    pub fn is_finished(&self) -> bool {
        state(&self.slot().state).is_finished()
    }

    /// The task's result slot: a handle holds it until `join`, which
    /// consumes the handle, takes its result.
    fn slot(&self) -> &ResultSlot<T> {
        self.slot
            .as_ref()
            .expect("knot: a join handle lost its task before it was joined")
            .result_slot()
    }
}

/// Dropping the handle detaches the task. An outcome already in is
/// dropped here, on the handle's thread; one that comes later is dropped by
/// the task itself (see [`ResultSlot::complete`]): either way inside a
/// task or on a thread of the program, never on an executor's worker
/// outside any task, where a destructor that waits could not.
impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let Some(holder) = &self.slot else {
            return;
        };
        let outcome = {
            let mut st = state(&holder.result_slot().state);
            std::mem::replace(&mut st.outcome, Outcome::Detached)
        };
        drop(outcome);
    }
}

impl<T> Completion<T> {
    /// Stores the task's outcome and wakes its joiner.
    pub fn complete(self, result: Result<T, JoinError>) {
        self.slot.complete(result);
    }
}

impl<T> ResultSlot<T> {
    /// An empty slot for the outcome of task `task`, spawned at `spawned`.
    pub fn new(task: TaskId, spawned: &'static Location<'static>) -> ResultSlot<T> {
        ResultSlot {
            task,
            spawned,
            state: Lock::new(SlotState {
                outcome: Outcome::Pending,
                kept: None,
                waiter: None,
                clock: VectorClock::new(),
            }),
        }
    }

    /// The task as the object that a join waits on.
    fn object(&self) -> Object {
        Object::task(self.task.as_u64(), self.spawned)
    }

    /// Runs a task's closure, catching its panic, and stores the outcome
    /// for the joiner, as [`run_task`] does.
    pub fn run(&self, f: impl FnOnce() -> T) -> TaskEnd {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => {
                self.complete(Ok(value));
                TaskEnd::Returned
            }
            Err(payload) if payload.is::<Teardown>() => TaskEnd::TornDown,
            Err(payload) => {
                let message = panic_message(&*payload);
                self.complete(Err(JoinError(Box::new(Failure {
                    task: self.task,
                    message: message.clone(),
                    panicked: true,
                    payload,
                }))));
                TaskEnd::Panicked(message)
            }
        }
    }

    /// Stores the task's outcome and wakes its joiner.
    ///
    /// An outcome stored earlier and not yet joined is replaced: a task
    /// completes once.
    ///
    /// If the handle is gone, the outcome is dropped here instead, by the
    /// task, where its destructor may still use knot's primitives.
    pub fn complete(&self, result: Result<T, JoinError>) {
        executor::touch(&self.object(), Op::Exit);
        let mut st = state(&self.state);
        executor::release(&mut st.clock);
        if let Outcome::Detached = st.outcome {
            drop(st);
            drop(result);
            return;
        }
        st.outcome = Outcome::Ready(result);
        if let Some(joiner) = &st.waiter {
            executor::wake(joiner);
        }
    }
}

impl<T> fmt::Debug for ResultSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultSlot")
            .field("task", &self.task)
            .field("finished", &state(&self.state).is_finished())
            .finish()
    }
}

impl JoinError {
    /// The error of a task that could not be started, such as when no stack
    /// or thread could be had for it.
    pub fn start_failed(task: TaskId, message: impl Into<String>) -> JoinError {
        let message = message.into();
        JoinError(Box::new(Failure {
            task,
            payload: Box::new(message.clone()),
            message,
            panicked: false,
        }))
    }

    /// The task that failed.
    pub fn task(&self) -> TaskId {
        self.0.task
    }

    /// The panic message, or why the task could not start.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether the task panicked (rather than failing to start).
    pub fn is_panic(&self) -> bool {
        self.0.panicked
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.0.payload
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failure = &self.0;
        if failure.panicked {
            write!(f, "{} panicked: {}", failure.task, failure.message)
        } else {
            write!(f, "{} could not start: {}", failure.task, failure.message)
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("task", &self.0.task)
            .field("message", &self.0.message)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for JoinError {}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("task", &self.slot.task)
            .finish()
    }
}
