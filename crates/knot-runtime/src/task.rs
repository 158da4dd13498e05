//! A live task as the whole runtime shares it: its identity for the
//! registry, what it is doing, and the small state machine that lets any
//! thread wake it without losing a wake-up.

use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_utils::atomic::AtomicCell;
use knot_core::clock::VectorClock;
use knot_core::executor::{BlockedOn, Unpark};
use knot_core::live_clock;
use knot_core::object::Object;
use knot_core::task::{HoldsResult, JoinError, ResultSlot, TaskConfig, TaskId};

use crate::registry::TaskState;
use crate::scheduler::Start;

/// A task together with the closure it runs and the slot its result goes
/// to, in one allocation: what the registry, the queues, the workers, the
/// wakers and the join handle share.
///
/// It dereferences to the [`Task`], so `task.id` reads through it.
pub(crate) type TaskRef = Arc<dyn Runnable>;

/// A [`Task`] with a closure to run once.
pub(crate) trait Runnable: Send + Sync {
    /// The task.
    fn task(&self) -> &Task;

    /// Runs the closure (or tells its join handle the task cannot start);
    /// later calls do nothing.
    fn run(&self, start: Start);

    /// The task as a waker's handle.
    fn unparker(self: Arc<Self>) -> Arc<dyn Unpark>;
}

impl std::ops::Deref for dyn Runnable {
    type Target = Task;

    fn deref(&self) -> &Task {
        self.task()
    }
}

impl std::fmt::Debug for dyn Runnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.task().fmt(f)
    }
}

/// A task, the closure it runs and the slot its result goes to.
pub(crate) struct Spawned<F, T> {
    task: Task,
    result: ResultSlot<T>,
    body: Mutex<Option<F>>,
}

impl<F, T> Spawned<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(task: Task, body: F) -> Spawned<F, T> {
        Spawned {
            result: ResultSlot::new(task.id, task.site),
            task,
            body: Mutex::new(Some(body)),
        }
    }

    fn take_body(&self) -> Option<F> {
        self.body
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl<F, T> Runnable for Spawned<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn task(&self) -> &Task {
        &self.task
    }

    fn run(&self, start: Start) {
        let Some(body) = self.take_body() else {
            return;
        };
        match start {
            Start::Run => {
                self.result.run(move || {
                    // Marked finished before the joiner can see the result,
                    // so a joined task is never counted as leaked.
                    let _finished = Finished(&self.task);
                    body()
                });
            }
            Start::Fail(error) => {
                self.result
                    .complete(Err(JoinError::start_failed(self.task.id, error)));
            }
        }
    }

    fn unparker(self: Arc<Self>) -> Arc<dyn Unpark> {
        self
    }
}

impl<F, T> HoldsResult<T> for Spawned<F, T>
where
    F: Send,
    T: Send,
{
    fn result_slot(&self) -> &ResultSlot<T> {
        &self.result
    }
}

impl<F: Send, T: Send> Unpark for Spawned<F, T> {
    fn unpark(&self) {
        self.task.unpark();
    }
}

/// Marks its task finished in the registry when dropped: when the task's
/// closure returns or unwinds.
struct Finished<'a>(&'a Task);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        crate::registry::finished(self.0);
    }
}

/// Everything about one task that outlives a single worker's view of it.
///
/// The coroutine itself is not here: it never leaves the worker that
/// started it, which keeps it in a slot of its own (see `scheduler`). This
/// record is what wakers, the registry and the monitor hold.
///
/// It is kept small: a program may hold many thousands of records at once,
/// and each byte of them is memory the spawning thread must first fault in.
/// What few tasks have is out of line, in [`Extra`].
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) id: TaskId,
    pub(crate) site: &'static Location<'static>,
    /// The name, stack size, leak guards and inherited clock of the tasks
    /// that have any.
    extra: Option<Box<Extra>>,
    /// The spawning task's number, if a task spawned it (live numbers start
    /// at 1).
    parent: Option<NonZeroU64>,
    pub(crate) origin: Option<Origin>,
    pub(crate) daemon: bool,
    run: AtomicU8,
    /// Set when its closure has returned or unwound: from then on the
    /// registry shows it finished, whatever `status` says, so that a
    /// finishing task takes no lock to say so.
    finished: AtomicBool,
    pub(crate) spawned: Instant,
    status: Mutex<Status>,
    /// The worker that started the task and the slot of its coroutine there
    /// (see [`pack`]); set once, when it starts. Until then, `u32::MAX`: the
    /// task is queued.
    home: AtomicU32,
    /// Where the registry keeps it (see `registry::insert`); `u32::MAX`
    /// when it is not there.
    pub(crate) registry_slot: AtomicU32,
}

/// The name of the plain thread that started a tree of tasks, interned (see
/// `registry::describe`): a thin reference, one word in each record.
pub(crate) type Origin = &'static String;

/// What a task's [`TaskConfig`] and its spawner gave it beyond the
/// defaults: most spawns give none of it.
#[derive(Debug)]
struct Extra {
    name: Option<String>,
    /// The size of stack it asked for; `None` for the default.
    stack_size: Option<usize>,
    /// The leak guards that watch this task (those of the thread its tree
    /// started on).
    scopes: Option<Arc<[u64]>>,
    /// The spawner's clock, when live race detection is on.
    inherited: Inherited,
}

/// The spawner's clock, handed to the worker that starts the task: boxed
/// so that the cell is a word wide and lock-free.
struct Inherited(AtomicCell<Option<Box<VectorClock>>>);

impl std::fmt::Debug for Inherited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inherited")
    }
}

/// What the registry shows of a task, as its own transitions set it; see
/// [`Task::status`] for the whole picture.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub(crate) state: TaskState,
    /// When it entered `state`, in nanoseconds after its spawn: half the
    /// size of an `Instant`, and none to compute for the first state.
    pub(crate) since: u64,
    pub(crate) blocked: Option<BlockedOn>,
    /// The knot locks it holds, oldest first. Boxed, since most tasks never
    /// hold one: an empty `Option<Box<_>>` is one word, an empty `Vec`
    /// three.
    #[allow(clippy::box_collection)]
    pub(crate) holds: Option<Box<Vec<Object>>>,
}

// The scheduling states. A task is RUNNING from the moment it is queued to
// the moment it parks; a wake-up that arrives while it runs leaves it
// NOTIFIED, and its next park returns at once, as `std::thread::park` does.
const RUNNING: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED: u8 = 2;
const DONE: u8 = 3;

/// What the worker must do after a task suspended itself to park.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// It sleeps until a wake-up queues it again.
    Asleep,
    /// A wake-up came in between: run it again.
    Woken,
}

impl Task {
    /// The record of task `id`, being spawned now as `config` says at
    /// `site`, by `parent` (`None` for a plain thread) from the tree of
    /// tasks that thread `origin` started, watched by the leak guards
    /// `scopes`.
    pub(crate) fn new(
        id: TaskId,
        config: &TaskConfig,
        site: &'static Location<'static>,
        parent: Option<TaskId>,
        origin: Option<Origin>,
        scopes: Option<Arc<[u64]>>,
    ) -> Task {
        let inherited = live_clock::fork();
        let extra = (config.name.is_some()
            || config.stack_size.is_some()
            || scopes.is_some()
            || inherited.is_some())
        .then(|| {
            Box::new(Extra {
                name: config.name.clone(),
                stack_size: config.stack_size,
                scopes,
                inherited: Inherited(AtomicCell::new(inherited.map(Box::new))),
            })
        });
        Task {
            id,
            site,
            extra,
            parent: parent.and_then(|p| NonZeroU64::new(p.as_u64())),
            origin,
            daemon: config.daemon,
            run: AtomicU8::new(RUNNING),
            finished: AtomicBool::new(false),
            spawned: Instant::now(),
            status: Mutex::new(Status {
                state: TaskState::Queued,
                since: 0,
                blocked: None,
                holds: None,
            }),
            home: AtomicU32::new(u32::MAX),
            registry_slot: AtomicU32::new(u32::MAX),
        }
    }

    /// The name it was given, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        self.extra.as_ref()?.name.as_deref()
    }

    /// The size of stack it asked for; `None` for the default.
    pub(crate) fn stack_size(&self) -> Option<usize> {
        self.extra.as_ref()?.stack_size
    }

    /// The leak guards that watch it.
    pub(crate) fn scopes(&self) -> Option<&Arc<[u64]>> {
        self.extra.as_ref()?.scopes.as_ref()
    }

    /// The task that spawned it, if a task did.
    pub(crate) fn parent(&self) -> Option<TaskId> {
        self.parent.map(|p| TaskId::new(p.get()))
    }

    /// The moment `since` of its status stands for.
    pub(crate) fn since(&self, status: &Status) -> Instant {
        self.spawned + Duration::from_nanos(status.since)
    }

    /// Now, as its status counts time.
    fn now_since_spawn(&self) -> u64 {
        let nanos = self.spawned.elapsed().as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    /// The spawner's clock when it spawned the task, if live race
    /// detection was on; taken by the worker that starts it.
    pub(crate) fn take_inherited(&self) -> Option<VectorClock> {
        self.extra.as_ref()?.inherited.0.take().map(|clock| *clock)
    }

    /// The task's name in reports: its own, or `task-N`.
    pub(crate) fn display_name(&self) -> String {
        self.name()
            .map(String::from)
            .unwrap_or_else(|| format!("task-{}", self.id.as_u64()))
    }

    /// What the registry shows of it now.
    ///
    /// Starting and finishing change no field of the status, which would
    /// take its lock twice for every task: a task whose status still says
    /// queued has started once it has a home, and one whose closure ended
    /// is finished, since when its status last changed.
    pub(crate) fn status(&self) -> Status {
        let mut status = self.lock_status().clone();
        if self.finished.load(Ordering::Acquire) {
            status.state = TaskState::Finished;
            status.blocked = None;
        } else if status.state == TaskState::Queued && self.home.load(Ordering::Acquire) != u32::MAX
        {
            status.state = TaskState::Running;
        }
        status
    }

    fn lock_status(&self) -> MutexGuard<'_, Status> {
        // Every update writes whole fields, so a poisoned status is whole.
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_state(&self, state: TaskState, blocked: Option<BlockedOn>) {
        let now = self.now_since_spawn();
        let mut status = self.lock_status();
        status.state = state;
        status.blocked = blocked;
        status.since = now;
    }

    /// Notes that it now holds the knot lock `object`.
    pub(crate) fn acquired(&self, object: &Object) {
        self.lock_status()
            .holds
            .get_or_insert_with(Box::default)
            .push(*object);
    }

    /// Notes that it no longer holds the knot lock `object`.
    pub(crate) fn released(&self, object: &Object) {
        if let Some(holds) = &mut self.lock_status().holds {
            if let Some(at) = holds.iter().rposition(|o| o.id() == object.id()) {
                holds.remove(at);
            }
        }
    }

    /// Marks its closure ended: it returned or unwound.
    pub(crate) fn set_finished(&self) {
        self.finished.store(true, Ordering::Release);
    }

    pub(crate) fn fail_to_start(&self) {
        let now = self.now_since_spawn();
        let mut status = self.lock_status();
        status.state = TaskState::FailedToStart;
        status.since = now;
        self.run.store(DONE, Ordering::Release);
    }

    /// Records where the task's coroutine lives, as it starts.
    pub(crate) fn set_home(&self, worker: usize, slot: usize) {
        self.home.store(pack(worker, slot), Ordering::Release);
    }

    /// Consumes a pending wake-up, if there is one; called before parking.
    pub(crate) fn take_notification(&self) -> bool {
        self.run
            .compare_exchange(NOTIFIED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Called by the worker once the task's coroutine has suspended to park.
    pub(crate) fn park(&self) -> Parked {
        match self
            .run
            .compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Parked::Asleep,
            Err(_) => {
                // NOTIFIED: the wake-up is consumed by running it again.
                self.run.store(RUNNING, Ordering::Release);
                Parked::Woken
            }
        }
    }

    pub(crate) fn finish(&self) {
        self.run.store(DONE, Ordering::Release);
    }

    /// Whether its coroutine has ended (or it never started).
    pub(crate) fn has_ended(&self) -> bool {
        self.run.load(Ordering::Acquire) == DONE
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        crate::registry::forget(self);
    }
}

impl Unpark for Task {
    fn unpark(&self) {
        let mut current = self.run.load(Ordering::Acquire);
        loop {
            let next = match current {
                RUNNING => NOTIFIED,
                PARKED => RUNNING,
                _ => return,
            };
            match self
                .run
                .compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        tracing::trace!(target: "knot", task = self.id.as_u64(), "wake");
        if current == PARKED {
            let (worker, slot) = unpack(self.home.load(Ordering::Acquire));
            crate::scheduler::runtime().wake(worker, slot);
        }
    }
}

/// A task's home in a word of 32 bits: the worker in the low 8 (there are
/// at most [`MAX_WORKERS`]), the slot above them.
///
/// # Panics
///
/// If the slot needs more than 24 bits: a worker cannot have 16 million
/// coroutines, since each takes a stack of two memory mappings.
fn pack(worker: usize, slot: usize) -> u32 {
    u32::try_from((slot << 8) | worker)
        .ok()
        .filter(|home| *home != u32::MAX)
        .expect("knot: a worker has more coroutines than a task's home can name")
}

fn unpack(home: u32) -> (usize, usize) {
    let home = home as usize;
    (home & 0xff, home >> 8)
}

/// The most workers a runtime can have: the worker's number shares a word
/// with the task's slot.
pub(crate) const MAX_WORKERS: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task::new(
            TaskId::new(1),
            &TaskConfig::default(),
            Location::caller(),
            None,
            None,
            None,
        )
    }

    #[test]
    fn a_wake_up_before_the_wait_is_kept_for_it() {
        let t = task();
        assert!(!t.take_notification());
        t.unpark();
        t.unpark();
        // Two wake-ups before a wait are one.
        assert!(t.take_notification());
        assert!(!t.take_notification());
    }

    #[test]
    fn a_wake_up_while_suspending_runs_the_task_again() {
        let t = task();
        t.unpark();
        assert_eq!(t.park(), Parked::Woken);
        // Consumed: the next park sleeps.
        assert_eq!(t.park(), Parked::Asleep);
    }

    #[test]
    fn a_finished_task_ignores_wake_ups() {
        let t = task();
        t.finish();
        t.unpark();
        assert!(!t.take_notification());
    }

    #[test]
    fn an_unnamed_task_is_called_after_its_number() {
        assert_eq!(task().display_name(), "task-1");
    }
}
