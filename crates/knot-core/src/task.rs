//! Tasks as both executors see them: identities, configuration, join
//! handles and the wrapper that runs a task's closure.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Teardown};
use crate::object::Object;
use crate::op::Op;
use crate::sync::state;
use crate::waiters::WaitList;

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
    slot: Arc<Slot<T>>,
}

/// Why [`JoinHandle::join`] has no value: the task panicked, or could not
/// start.
pub struct JoinError {
    task: TaskId,
    message: String,
    panicked: bool,
    payload: Box<dyn Any + Send + 'static>,
}

/// The half of a task's result slot that the task itself fills.
pub struct Completion<T> {
    slot: Arc<Slot<T>>,
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

struct Slot<T> {
    task: Object,
    /// Whether the result is in, as `state` says: set once, under the lock,
    /// so that a join of a finished task learns it without the lock.
    finished: AtomicBool,
    state: StdMutex<SlotState<T>>,
}

struct SlotState<T> {
    result: Option<Result<T, JoinError>>,
    /// What the executor asked the handle to keep; see
    /// [`JoinHandle::keep_alive`].
    kept: Option<Arc<dyn Any + Send + Sync>>,
    waiters: WaitList<()>,
    /// The task's clock when it ended: joining acquires it.
    clock: VectorClock,
}

/// Creates the two halves of a task's result slot: the handle the spawner
/// keeps and the completion the task fills when it ends.
pub fn result_slot<T>(
    task: TaskId,
    spawned: &'static Location<'static>,
) -> (JoinHandle<T>, Completion<T>) {
    let slot = Arc::new(Slot {
        task: Object::task(task.as_u64(), spawned),
        finished: AtomicBool::new(false),
        state: StdMutex::new(SlotState {
            result: None,
            kept: None,
            waiters: WaitList::new(),
            clock: VectorClock::new(),
        }),
    });
    (
        JoinHandle {
            slot: Arc::clone(&slot),
        },
        Completion { slot },
    )
}

/// Runs a task's closure, catching its panic, and delivers the outcome to
/// its join handle.
///
/// A task torn down with its execution ends quietly without a result: its
/// joiner is torn down too.
pub fn run_task<T>(f: impl FnOnce() -> T, completion: Completion<T>) -> TaskEnd {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            completion.complete(Ok(value));
            TaskEnd::Returned
        }
        Err(payload) if payload.is::<Teardown>() => TaskEnd::TornDown,
        Err(payload) => {
            let message = panic_message(&*payload);
            let task = TaskId(completion.slot.task.id());
            completion.complete(Err(JoinError {
                task,
                message: message.clone(),
                panicked: true,
                payload,
            }));
            TaskEnd::Panicked(message)
        }
    }
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
    pub fn join(self) -> Result<T, JoinError> {
        let site = Location::caller();
        let slot = &*self.slot;
        let blocked = BlockedOn {
            object: slot.task,
            op: Op::Join,
            site,
        };
        // Only this handle takes the result, so a finished task stays
        // finished: only a join that may have to wait registers.
        let (ready, me) = if slot.finished.load(Ordering::Acquire) {
            (true, None)
        } else {
            let mut st = state(&slot.state);
            let ready = st.result.is_some();
            let me = (!ready).then(executor::current);
            if let Some(me) = &me {
                st.waiters.register(me, ());
            }
            (ready, me)
        };
        executor::wait_point(blocked, ready);
        loop {
            let mut st = state(&slot.state);
            if let Some(result) = st.result.take() {
                if let Some(me) = &me {
                    st.waiters.remove(me.key());
                }
                executor::acquire(&st.clock);
                drop(st);
                executor::joined(slot.task.id());
                return result;
            }
            drop(st);
            executor::block(blocked);
        }
    }

    /// Keeps `value` alive for as long as the handle (or the task's result)
    /// is: for executors, not programs.
    ///
    /// The live runtime gives the handle the task's own record, so that
    /// the record is freed where the handle is dropped (on the spawner's
    /// thread, which allocated it) rather than on the worker that ran the
    /// task: memory freed on the thread that allocated it is much cheaper
    /// for the allocator.
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
        state(&self.slot.state).kept = Some(value);
    }

    /// The number of the task.
    pub fn id(&self) -> TaskId {
        TaskId(self.slot.task.id())
    }

    /// Whether the task has finished, so that `join` would not wait.
    pub fn is_finished(&self) -> bool {
        self.slot.finished.load(Ordering::Acquire)
    }
}

impl<T> Completion<T> {
    /// Stores the task's outcome and wakes its joiner.
    pub fn complete(self, result: Result<T, JoinError>) {
        executor::touch(&self.slot.task, Op::Exit);
        let mut st = state(&self.slot.state);
        executor::release(&mut st.clock);
        st.result = Some(result);
        self.slot.finished.store(true, Ordering::Release);
        st.waiters.refresh(|_| true);
    }
}

impl JoinError {
    /// The error of a task that could not be started, such as when no stack
    /// or thread could be had for it.
    pub fn start_failed(task: TaskId, message: impl Into<String>) -> JoinError {
        let message = message.into();
        JoinError {
            task,
            payload: Box::new(message.clone()),
            message,
            panicked: false,
        }
    }

    /// The task that failed.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// The panic message, or why the task could not start.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the task panicked (rather than failing to start).
    pub fn is_panic(&self) -> bool {
        self.panicked
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.panicked {
            write!(f, "{} panicked: {}", self.task, self.message)
        } else {
            write!(f, "{} could not start: {}", self.task, self.message)
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("task", &self.task)
            .field("message", &self.message)
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
            .field("task", &TaskId(self.slot.task.id()))
            .finish()
    }
}
