//! The registry of live tasks: what is running right now, where it was
//! started, by whom, and for how long.
//!
//! Every task started by [`spawn`](crate::spawn) is entered here when it is
//! spawned and leaves it when its coroutine ends; tasks that run under the
//! checker are not, since they live inside one execution of the checker and
//! the checker reports their leaks itself. The registry feeds [`tasks`],
//! [`leaks`], [`wait_for_leaks`] and the [`LeakGuard`] of a test.
//!
//! Users reach it through the `knot` crate, as `knot::runtime`:
//!
//! ```
//! use knot::sync::WaitGroup;
//!
//! let release = WaitGroup::new();
//! release.add(1);
//! let gate = release.clone();
//! let handle = knot::task::Builder::new()
//!     .name("waiter")
//!     .spawn(move || gate.wait());
//!
//! let info = knot::runtime::tasks()
//!     .into_iter()
//!     .find(|t| t.id == handle.id())
//!     .expect("a running task is registered");
//! assert_eq!(info.name, "waiter");
//! assert!(info.is_running());
//! assert_eq!(info.site.file(), file!());
//! println!("{info}"); // waiter (task#1) spawned at src/main.rs:8:6 from thread 'main', blocked for 12.00µs on wait on WaitGroup#… at …
//!
//! let id = handle.id();
//! release.done();
//! handle.join().unwrap();
//! // Joined, it is no longer alive.
//! assert!(knot::leaks().iter().all(|t| t.id != id));
//! ```

use std::cell::{OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use knot_core::executor::BlockedOn;
use knot_core::object::Object;
use knot_core::task::{TaskConfig, TaskId};

use crate::task::{Origin, Runnable, Status, Task, TaskRef};

/// How long a leak check waits, by default, for tasks to finish on their
/// own before it reports them: two seconds.
///
/// A task that is merely slow to wind down (it was told to stop, or it is
/// sending its last message) gets this long; one still alive after it is
/// reported.
pub const DEFAULT_LEAK_GRACE: Duration = Duration::from_secs(2);

/// A live task as the registry saw it when [`tasks`] or [`leaks`] was
/// called: a snapshot, not a handle.
///
/// `Display` shows it on one line, as leak reports list it:
/// `worker (task#7) spawned at src/pool.rs:31:9 from thread 'tests::pool', blocked for 2.01s
/// on recv on Chan#9 (created at src/pool.rs:12:5) at src/pool.rs:33:18`.
///
/// # Examples
///
/// ```
/// use knot::runtime::TaskState;
///
/// let (tx, rx) = knot::chan::bounded::<u32>(0);
/// let handle = knot::task::Builder::new()
///     .name("receiver")
///     .spawn(move || rx.recv());
/// // Wait until the task has started and blocked.
/// let info = loop {
///     let info = knot::runtime::tasks().into_iter().find(|t| t.id == handle.id()).unwrap();
///     if info.state == TaskState::Blocked {
///         break info;
///     }
///     std::thread::yield_now();
/// };
/// let blocked = info.blocked.unwrap();
/// assert_eq!(blocked.op.name(), "recv");
/// assert_eq!(blocked.site.file(), file!());
/// println!("{info}");
/// tx.send(7).unwrap();
/// assert_eq!(handle.join().unwrap(), Ok(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's number, unique in the process.
    pub id: TaskId,
    /// Its name: the one given when it was spawned (`Builder::name`), or
    /// `task-N` after its number.
    pub name: String,
    /// Where it was spawned: the caller of `spawn`, `go` or
    /// `Builder::spawn`.
    pub site: &'static Location<'static>,
    /// The task that spawned it, if it was spawned from a knot task; `None`
    /// when it was spawned from a plain thread such as `main` or a test.
    pub parent: Option<TaskId>,
    /// The name of the plain thread that started this tree of tasks: the
    /// spawning thread if it is not a task, else the origin of the parent.
    /// Test harnesses name each test's thread after the test, so this says
    /// which test a task comes from. `None` when that thread has no name.
    pub origin: Option<String>,
    /// Whether it is a daemon, allowed to outlive main and never reported
    /// as leaked.
    pub daemon: bool,
    /// What it is doing.
    pub state: TaskState,
    /// When it entered [`state`](Self::state).
    pub since: Instant,
    /// When it was spawned.
    pub spawned: Instant,
    /// What it waits for, in words, such as
    /// `recv on Chan#7 (created at src/lib.rs:3:14) at src/lib.rs:9:5`;
    /// `None` unless it is [`Blocked`](TaskState::Blocked).
    pub blocked_on: Option<String>,
    /// What it waits for: the object, the operation and the call site;
    /// `None` unless it is [`Blocked`](TaskState::Blocked).
    pub blocked: Option<BlockedOn>,
    /// Why it could not start, when it is
    /// [`FailedToStart`](TaskState::FailedToStart).
    pub error: Option<String>,
    /// The knot locks (`Mutex`, `RwLock`) it holds, oldest first: with
    /// [`blocked`](Self::blocked), what a deadlock report needs to show who
    /// waits for whom.
    pub holds: Vec<Object>,
}

/// What a live task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Spawned, and waiting in a queue for a worker to start it; it holds
    /// no stack yet.
    Queued,
    /// Its closure is running on a worker (or inside a call that blocks
    /// the worker's thread without going through knot).
    Running,
    /// Its closure waits in a knot operation; [`TaskInfo::blocked`] says
    /// which.
    Blocked,
    /// Its closure has returned or panicked; the task leaves the registry
    /// as soon as its coroutine has wound down.
    Finished,
    /// It could not start; [`TaskInfo::error`] says why, and its join
    /// handle returns that error.
    FailedToStart,
}

impl TaskState {
    /// Whether a task in this state has yet to finish: queued, running or
    /// blocked.
    pub fn is_alive(self) -> bool {
        matches!(
            self,
            TaskState::Queued | TaskState::Running | TaskState::Blocked
        )
    }
}

impl TaskInfo {
    /// Whether its closure has yet to finish: it is queued, running or
    /// blocked.
    pub fn is_running(&self) -> bool {
        self.state.is_alive()
    }

    /// How long ago it was spawned.
    pub fn alive_for(&self) -> Duration {
        self.spawned.elapsed()
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Blocked => "blocked",
            TaskState::Finished => "finished",
            TaskState::FailedToStart => "failed to start",
        })
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) spawned at {}", self.name, self.id, self.site)?;
        if let Some(parent) = self.parent {
            write!(f, " by {parent}")?;
        }
        if let Some(origin) = &self.origin {
            write!(f, " from thread '{origin}'")?;
        }
        if self.daemon {
            f.write_str(", daemon")?;
        }
        write!(f, ", {} for {:.2?}", self.state, self.since.elapsed())?;
        if let Some(blocked) = &self.blocked_on {
            write!(f, " on {blocked}")?;
        }
        for (i, held) in self.holds.iter().enumerate() {
            let joint = if i == 0 { ", holding" } else { "," };
            write!(f, "{joint} {held} (created at {})", held.created())?;
        }
        if let Some(error) = &self.error {
            write!(f, ": {error}")?;
        }
        Ok(())
    }
}

/// A snapshot of every live task in the registry, in the order they were
/// spawned.
///
/// Tasks that run under the checker are not in it.
///
/// ```
/// let handle = knot::spawn(|| std::thread::sleep(std::time::Duration::from_millis(50)));
/// assert!(knot::runtime::tasks().iter().any(|t| t.id == handle.id()));
/// handle.join().unwrap();
/// ```
pub fn tasks() -> Vec<TaskInfo> {
    collect(|_, _| true)
}

/// The tasks that are still alive and should not be: every non-daemon task
/// whose closure has not finished, in the order they were spawned.
///
/// Called from inside a task, the calling task itself is left out. A task
/// that was joined is never listed: it leaves the running state before its
/// handle's `join` returns.
///
/// ```
/// use std::time::Duration;
///
/// // Joined tasks do not count.
/// knot::spawn(|| ()).join().unwrap();
/// assert!(knot::leaks().is_empty());
///
/// // A task blocked forever does.
/// let never = knot::sync::WaitGroup::new();
/// never.add(1);
/// knot::task::Builder::new().name("stuck").go(move || never.wait());
/// let leaks = knot::leaks();
/// assert_eq!(leaks.len(), 1);
/// assert_eq!(leaks[0].name, "stuck");
/// ```
pub fn leaks() -> Vec<TaskInfo> {
    let me = current_task();
    collect(|t, s| is_leak(t, s) && Some(t.id) != me)
}

/// Waits up to `grace` for [`leaks`] to become empty, and returns the tasks
/// still alive when it is, or when the time is up.
///
/// It wakes as soon as a task finishes, so it takes no longer than the
/// slowest task needs. Test harnesses call it once the suite is over, with
/// [`DEFAULT_LEAK_GRACE`].
///
/// ```
/// use std::time::Duration;
///
/// knot::go(|| std::thread::sleep(Duration::from_millis(20)));
/// // Waits for the task to end, about 20 ms.
/// let left = knot::runtime::wait_for_leaks(Duration::from_secs(2));
/// assert!(left.is_empty());
/// ```
pub fn wait_for_leaks(grace: Duration) -> Vec<TaskInfo> {
    let me = current_task();
    wait_until_gone(grace, |t, s| is_leak(t, s) && Some(t.id) != me)
}

/// Starts checking the tasks that the current test leaves behind; see
/// [`LeakGuard`].
///
/// # Examples
///
/// ```
/// let _guard = knot::leak_guard();
/// let handle = knot::spawn(|| 2 + 2);
/// assert_eq!(handle.join().unwrap(), 4);
/// // `_guard` is dropped here: nothing was left behind, so it is quiet.
/// ```
pub fn leak_guard() -> LeakGuard {
    LeakGuard::new()
}

/// A guard that fails a test which leaves live tasks behind, like Go's
/// `goleak.VerifyNone`.
///
/// Created at the top of a test (`let _guard = knot::leak_guard();`), it
/// watches the tasks spawned from this thread while it exists, and the tasks
/// those tasks spawn, however deep. When it is dropped it gives them up to
/// [`DEFAULT_LEAK_GRACE`] (see [`timeout`](Self::timeout)) to finish, then
/// panics with a list of those still running. Daemon tasks are exempt.
///
/// Tasks spawned on other threads are not its concern, so tests that run in
/// parallel, each with a guard, blame only their own leaks. Tasks spawned
/// from a plain `std::thread` that the test starts are not tracked either:
/// only the test's own thread and its knot tasks are.
///
/// # Panics
///
/// Dropping the guard panics, listing each leaked task with its name, spawn
/// site and how long it has been alive, if any of the watched tasks is still
/// running after the grace period. If the thread is already panicking (the
/// test failed), the guard checks nothing, so that the first failure is the
/// one reported.
///
/// # Examples
///
/// ```
/// use std::panic;
/// use std::time::Duration;
/// use knot::sync::WaitGroup;
///
/// // A test that forgets a task:
/// let result = panic::catch_unwind(|| {
///     let _guard = knot::leak_guard().timeout(Duration::from_millis(50));
///     let never = WaitGroup::new();
///     never.add(1);
///     // Waits forever: nobody calls `done`.
///     knot::task::Builder::new().name("forgotten").go(move || never.wait());
/// });
/// let message = result.unwrap_err().downcast::<String>().unwrap();
/// assert!(message.starts_with("knot: 1 task still alive"), "{message}");
/// assert!(message.contains("forgotten (task#"), "{message}");
/// assert!(message.contains(file!()), "{message}");
/// ```
///
/// which panics with
///
/// ```text
/// knot: 1 task still alive after waiting 50.00ms for them to finish:
///   forgotten (task#1) spawned at src/lib.rs:12:46 from thread 'tests::forgets', alive for 50.31ms
/// ```
#[derive(Debug)]
#[must_use = "the guard checks for leaks when it is dropped; bind it with `let _guard = ...`"]
pub struct LeakGuard {
    scope: u64,
    grace: Duration,
    // The guard watches the thread that created it, so it stays there.
    _thread_bound: PhantomData<*const ()>,
}

impl LeakGuard {
    /// Starts watching the tasks spawned from this thread; the same as
    /// [`leak_guard`].
    pub fn new() -> LeakGuard {
        static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);
        let scope = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
        SCOPES.with(|s| {
            let mut scopes = s.borrow_mut();
            let more: Arc<[u64]> = scopes
                .iter()
                .flat_map(|s| s.iter().copied())
                .chain([scope])
                .collect();
            *scopes = Some(more);
        });
        LeakGuard {
            scope,
            grace: DEFAULT_LEAK_GRACE,
            _thread_bound: PhantomData,
        }
    }

    /// Sets how long the guard waits for the watched tasks to finish before
    /// it reports them; [`DEFAULT_LEAK_GRACE`] unless set.
    ///
    /// ```
    /// let _guard = knot::leak_guard().timeout(std::time::Duration::from_millis(100));
    /// ```
    pub fn timeout(mut self, grace: Duration) -> LeakGuard {
        self.grace = grace;
        self
    }

    /// The watched tasks that are running now, without waiting.
    ///
    /// ```
    /// let guard = knot::leak_guard();
    /// let never = knot::sync::WaitGroup::new();
    /// never.add(1);
    /// let waiting = never.clone();
    /// let handle = knot::spawn(move || waiting.wait());
    /// assert_eq!(guard.leaks().len(), 1);
    /// never.done();
    /// handle.join().unwrap();
    /// assert!(guard.leaks().is_empty());
    /// ```
    pub fn leaks(&self) -> Vec<TaskInfo> {
        let scope = self.scope;
        collect(|t, s| is_leak(t, s) && watched(t, scope))
    }
}

impl Default for LeakGuard {
    fn default() -> LeakGuard {
        LeakGuard::new()
    }
}

impl Drop for LeakGuard {
    fn drop(&mut self) {
        let scope = self.scope;
        SCOPES.with(|s| {
            let mut scopes = s.borrow_mut();
            let fewer: Arc<[u64]> = scopes
                .iter()
                .flat_map(|s| s.iter().copied())
                .filter(|s| *s != scope)
                .collect();
            *scopes = (!fewer.is_empty()).then_some(fewer);
        });
        if thread::panicking() {
            return;
        }
        let left = wait_until_gone(self.grace, |t, s| is_leak(t, s) && watched(t, scope));
        if !left.is_empty() {
            panic!(
                "{}",
                describe_leaks(
                    &left,
                    &format!("after waiting {:.2?} for them to finish", self.grace)
                )
            );
        }
    }
}

/// The text of a leak report: a heading that counts the tasks, then one
/// line per task with its name, spawn site and how long it has been alive.
///
/// ```
/// let text = knot::runtime::describe_leaks(&knot::leaks(), "at exit");
/// assert_eq!(text, "knot: 0 tasks still alive at exit:\n");
/// ```
pub fn describe_leaks(tasks: &[TaskInfo], when: &str) -> String {
    let plural = if tasks.len() == 1 { "" } else { "s" };
    let mut out = format!("knot: {} task{plural} still alive {when}:\n", tasks.len());
    for t in tasks {
        let _ = write!(out, "  {} ({}) spawned at {}", t.name, t.id, t.site);
        if let Some(parent) = t.parent {
            let _ = write!(out, " by {parent}");
        }
        if let Some(origin) = &t.origin {
            let _ = write!(out, " from thread '{origin}'");
        }
        let _ = write!(out, ", alive for {:.2?}", t.alive_for());
        if let Some(blocked) = &t.blocked_on {
            let _ = write!(out, ", blocked on {blocked}");
        }
        for held in &t.holds {
            let _ = write!(out, ", holding {held} (created at {})", held.created());
        }
        out.push('\n');
    }
    out
}

/// The process's live tasks, in shards. A task enters the shard of the
/// thread that spawns it and leaves it when its record is dropped, which
/// is normally on that same thread, once its handle is joined: so a
/// thread that spawns and joins many tasks finds its shard's lock and
/// slots in its own cache, and workers never touch them.
static SHARDS: [CachePadded<Mutex<Shard>>; SHARD_COUNT] =
    [const { CachePadded::new(Mutex::new(Shard::new())) }; SHARD_COUNT];
const SHARD_COUNT: usize = 16;

/// Tasks that could not start, with why, kept so that the registry can
/// show them; the oldest are forgotten past [`FAILED_KEPT`].
static FAILED: Mutex<VecDeque<(TaskRef, String)>> = Mutex::new(VecDeque::new());
const FAILED_KEPT: usize = 1024;

/// Notified whenever a task finishes, for the leak checks that wait.
static CHANGED: Condvar = Condvar::new();
static CHANGED_LOCK: Mutex<()> = Mutex::new(());
/// How many leak checks are waiting on `CHANGED`: finishing tasks notify
/// only when one is.
static WATCHERS: AtomicUsize = AtomicUsize::new(0);

/// One shard: a slab of tasks, so that entering and leaving it allocate
/// nothing once it has grown to the number of tasks alive.
///
/// It holds weak references: a task's record is kept alive by its handle,
/// its worker and its wakers, and takes itself out of the registry when
/// the last of them lets go (see [`forget`]).
#[derive(Debug)]
struct Shard {
    slots: Vec<Option<(TaskId, Weak<dyn Runnable>)>>,
    free: Vec<usize>,
}

impl Shard {
    const fn new() -> Shard {
        Shard {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    fn insert(&mut self, task: &TaskRef) -> usize {
        let entry = Some((task.id, Arc::downgrade(task)));
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = entry;
                slot
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        }
    }

    /// Takes out the entry in `slot` if it is `task`'s.
    fn remove(&mut self, slot: usize, task: TaskId) -> Option<Weak<dyn Runnable>> {
        let entry = self.slots.get_mut(slot)?;
        if entry.as_ref().is_some_and(|(id, _)| *id == task) {
            self.free.push(slot);
            return entry.take().map(|(_, weak)| weak);
        }
        None
    }

    /// The tasks whose records are still alive.
    fn upgrade(&self, into: &mut Vec<TaskRef>) {
        into.extend(
            self.slots
                .iter()
                .flatten()
                .filter_map(|(_, weak)| weak.upgrade()),
        );
    }
}

/// Locks shard `index`.
fn shard(index: usize) -> MutexGuard<'static, Shard> {
    // A shard's invariants hold between statements, so a panic while it
    // was locked leaves nothing half-done.
    SHARDS[index].lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every task whose record is alive, taken out of the shards first: a
/// reference taken under a shard's lock may turn out to be the last one,
/// and dropping it takes that lock again.
fn registered() -> Vec<TaskRef> {
    let mut tasks = Vec::new();
    for index in 0..SHARD_COUNT {
        shard(index).upgrade(&mut tasks);
    }
    tasks
}

fn failed() -> MutexGuard<'static, VecDeque<(TaskRef, String)>> {
    FAILED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every registered task that `keep` accepts, as snapshots in the order
/// they were spawned. A task whose coroutine has ended is left out: it is
/// gone but for its record, which its handle keeps.
fn collect(mut keep: impl FnMut(&Task, &Status) -> bool) -> Vec<TaskInfo> {
    let mut out = Vec::new();
    let mut add = |task: &TaskRef, error: Option<&String>| {
        let status = task.status();
        if keep(task, &status) {
            out.push(info(task, status, error.cloned()));
        }
    };
    registered()
        .iter()
        .filter(|task| !task.has_ended())
        .for_each(|task| add(task, None));
    failed()
        .iter()
        .for_each(|(task, error)| add(task, Some(error)));
    out.sort_by_key(|t| t.id);
    out
}

fn info(task: &Task, status: Status, error: Option<String>) -> TaskInfo {
    TaskInfo {
        id: task.id,
        name: task.display_name(),
        site: task.site,
        parent: task.parent(),
        origin: task.origin.cloned(),
        daemon: task.daemon,
        state: status.state,
        since: task.since(&status),
        spawned: task.spawned,
        blocked_on: status.blocked.map(|b| b.to_string()),
        blocked: status.blocked,
        error,
        holds: status.holds.map(|holds| *holds).unwrap_or_default(),
    }
}

fn is_leak(task: &Task, status: &Status) -> bool {
    !task.daemon && status.state.is_alive()
}

fn current_task() -> Option<TaskId> {
    crate::scheduler::current().map(|t| t.id)
}

/// Waits, for at most `grace`, until no task matches `alive`, and returns
/// the ones that still do.
fn wait_until_gone(grace: Duration, alive: impl Fn(&Task, &Status) -> bool) -> Vec<TaskInfo> {
    let deadline = Instant::now() + grace;
    // Finishing tasks notify `CHANGED` while someone watches, so the wait
    // normally ends on a notification; the growing step bounds each wait
    // and covers a task that finished between the check and the wait.
    let mut step = Duration::from_millis(1);
    loop {
        let left = collect(&alive);
        let now = Instant::now();
        if left.is_empty() || now >= deadline {
            return left;
        }
        let wait = step.min(deadline - now);
        WATCHERS.fetch_add(1, Ordering::SeqCst);
        let guard = CHANGED_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        drop(CHANGED.wait_timeout(guard, wait));
        WATCHERS.fetch_sub(1, Ordering::SeqCst);
        step = (step * 2).min(Duration::from_millis(100));
    }
}

/// What the registry will show of a task that is being spawned from the
/// calling thread (or task); [`insert`] enters it.
pub(crate) fn describe(id: TaskId, config: &TaskConfig, site: &'static Location<'static>) -> Task {
    let spawner = crate::scheduler::with_current(|spawner| {
        (Some(spawner.id), spawner.origin, spawner.scopes().cloned())
    });
    let (parent, origin, scopes) = spawner.unwrap_or_else(|| {
        (
            None,
            ORIGIN.with(|o| *o.get_or_init(|| thread::current().name().map(intern))),
            SCOPES.with(|s| s.borrow().clone()),
        )
    });
    Task::new(id, config, site, parent, origin, scopes)
}

/// Enters a spawned task in the registry, in the spawning thread's shard,
/// and takes out the entries this thread left there since (see
/// [`forget`]) under the same lock.
pub(crate) fn insert(task: &TaskRef) {
    let at = HOME.with(|home| {
        let mut shard = shard(home.index);
        home.take_out_gone(&mut shard);
        shard.insert(task) * SHARD_COUNT + home.index
    });
    // The record keeps the place in 32 bits: a shard would need hundreds
    // of millions of live tasks, and as many hundred bytes each, to pass it.
    let at = u32::try_from(at)
        .ok()
        .filter(|at| *at != u32::MAX)
        .expect("knot: more live tasks than the registry can number");
    task.registry_slot.store(at, Ordering::Relaxed);
}

/// Marks a task finished: its closure returned or panicked. Called before
/// its result reaches its join handle, so a joined task is never a leak.
pub(crate) fn finished(task: &Task) {
    task.set_finished();
    notify_watchers();
}

/// Marks a task whose coroutine has ended: it leaves every listing now,
/// though its record stays until its handle is dropped.
pub(crate) fn ended(task: &Task) {
    task.finish();
    notify_watchers();
}

/// Takes a task out of its shard; called as its record is dropped, and
/// when it could not start. Later calls do nothing.
///
/// A record dropped on the thread whose shard it is in (the usual case: a
/// thread spawns, joins, and drops the handle) leaves its entry behind for
/// a while: the thread takes such entries out under the lock of its next
/// spawn, or of every [`GONE_BATCH`]th such drop, rather than take the
/// lock for each. The entry's weak reference fails to upgrade meanwhile,
/// so no listing shows the task; it keeps only the record's memory, a few
/// hundred bytes, from being freed.
pub(crate) fn forget(task: &Task) {
    // Never called twice at once for one task (the record is dropped
    // once, and a task that could not start is forgotten while it is
    // held), so no read-modify-write is needed.
    let at = task.registry_slot.load(Ordering::Relaxed);
    if at == u32::MAX {
        return;
    }
    task.registry_slot.store(u32::MAX, Ordering::Relaxed);
    let at = at as usize;
    let (index, slot) = (at % SHARD_COUNT, at / SHARD_COUNT);
    // Not during the thread's exit, once its `HOME` is gone.
    let left = HOME
        .try_with(|home| home.index == index && home.leave(slot, task.id))
        .unwrap_or(false);
    if left {
        return;
    }
    let weak = shard(index).remove(slot, task.id);
    // Dropped outside the lock, though a weak reference runs no
    // destructor of the task.
    drop(weak);
}

/// Moves a task that could not start from the live tasks to the failed
/// ones, with the reason.
pub(crate) fn failed_to_start(task: &TaskRef, error: String) {
    task.fail_to_start();
    forget(task);
    let mut failed = failed();
    if failed.len() == FAILED_KEPT {
        failed.pop_front();
    }
    failed.push_back((Arc::clone(task), error));
    drop(failed);
    notify_watchers();
}

/// Looks a live task up by its number.
pub(crate) fn find(id: TaskId) -> Option<TaskRef> {
    registered().into_iter().find(|t| t.id == id)
}

/// Whether the leak guard `scope` watches `task`.
fn watched(task: &Task, scope: u64) -> bool {
    task.scopes().is_some_and(|s| s.contains(&scope))
}

/// The one copy of a thread's name that tasks refer to: names are few
/// (one per thread that spawns), and tasks spawned in a loop then share it
/// without counting references across threads.
fn intern(name: &str) -> Origin {
    static NAMES: Mutex<Vec<Origin>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.iter().find(|n| ***n == name) {
        return known;
    }
    let leaked: Origin = Box::leak(Box::new(name.to_owned()));
    names.push(leaked);
    leaked
}

fn notify_watchers() {
    if WATCHERS.load(Ordering::SeqCst) > 0 {
        let _guard = CHANGED_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        CHANGED.notify_all();
    }
}

/// How many entries a thread leaves in its shard (see [`forget`]) before
/// it takes them out.
const GONE_BATCH: usize = 32;

/// A thread's own shard, and the entries it left there.
struct Home {
    index: usize,
    /// The slots, and the tasks in them, of records dropped on this thread
    /// that are still in its shard.
    gone: RefCell<Vec<(usize, TaskId)>>,
}

impl Home {
    fn new() -> Home {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Home {
            index: NEXT.fetch_add(1, Ordering::Relaxed) % SHARD_COUNT,
            gone: RefCell::new(Vec::new()),
        }
    }

    /// Notes that the entry of `task` in `slot` of this thread's shard is
    /// to be taken out; false if it must be taken out now.
    fn leave(&self, slot: usize, task: TaskId) -> bool {
        let Ok(mut gone) = self.gone.try_borrow_mut() else {
            return false;
        };
        gone.push((slot, task));
        if gone.len() >= GONE_BATCH {
            drop(gone);
            self.take_out_gone(&mut shard(self.index));
        }
        true
    }

    /// Takes the entries left behind out of `shard`, which is this
    /// thread's, locked.
    fn take_out_gone(&self, shard: &mut Shard) {
        let mut gone = self.gone.borrow_mut();
        for (slot, task) in gone.drain(..) {
            // Only the records' memory is freed here: their tasks were
            // dropped with them.
            drop(shard.remove(slot, task));
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        self.take_out_gone(&mut shard(self.index));
    }
}

thread_local! {
    /// The shard that the tasks this thread spawns enter, and the entries
    /// it left there.
    static HOME: Home = Home::new();
    /// The leak guards alive on this plain thread, innermost last.
    static SCOPES: RefCell<Option<Arc<[u64]>>> = const { RefCell::new(None) };
    /// The name of this plain thread, for the tasks it spawns.
    static ORIGIN: OnceCell<Option<Origin>> = const { OnceCell::new() };
}

#[cfg(test)]
mod tests {
    use std::panic::{self, AssertUnwindSafe, Location};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use knot_core::sync::WaitGroup;
    use knot_core::task::{JoinHandle, TaskConfig, TaskId};

    use super::*;

    /// A gate that tasks wait on until the test opens it.
    fn gate() -> WaitGroup {
        let wg = WaitGroup::new();
        wg.add(1);
        wg
    }

    fn config(name: Option<&str>, daemon: bool) -> TaskConfig {
        let mut config = TaskConfig::default();
        config.name = name.map(String::from);
        config.daemon = daemon;
        config
    }

    #[track_caller]
    fn spawn_waiting(name: Option<&str>, daemon: bool, gate: &WaitGroup) -> JoinHandle<()> {
        let gate = gate.clone();
        crate::spawn(
            config(name, daemon),
            move || gate.wait(),
            Location::caller(),
        )
    }

    fn wait_for_state(id: TaskId, state: TaskState) -> TaskInfo {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let info = find(id).expect("still registered");
            if info.state == state || Instant::now() > deadline {
                assert_eq!(info.state, state, "{info}");
                return info;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    fn find(id: TaskId) -> Option<TaskInfo> {
        tasks().into_iter().find(|t| t.id == id)
    }

    /// Waits until the task has left the registry altogether.
    fn gone(id: TaskId) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if find(id).is_none() {
                return true;
            }
            thread::sleep(Duration::from_millis(1));
        }
        false
    }

    fn panic_text(result: thread::Result<()>) -> String {
        let payload = result.expect_err("the guard should have panicked");
        knot_core::task::panic_message(&*payload)
    }

    #[test]
    fn a_running_task_is_registered_with_what_it_is() {
        let open = gate();
        let before = Instant::now();
        let line = line!() + 1;
        let handle = spawn_waiting(Some("registered"), false, &open);
        let id = handle.id();
        let info = find(id).expect("registered at spawn");
        assert_eq!(info.name, "registered");
        assert_eq!(info.site.file(), file!());
        assert_eq!(info.site.line(), line);
        assert_eq!(info.parent, None);
        assert_eq!(
            info.origin.as_deref(),
            thread::current().name(),
            "origin is the test thread"
        );
        assert!(!info.daemon);
        assert!(info.is_running());
        assert!(info.spawned >= before && info.since >= info.spawned);
        assert!(leaks().iter().any(|t| t.id == id));

        // Once a worker has run it up to the gate, it shows where it waits.
        let info = wait_for_state(id, TaskState::Blocked);
        let blocked = info.blocked.expect("a blocked task says on what");
        assert_eq!(blocked.op, knot_core::op::Op::Wait);
        assert_eq!(blocked.site.file(), file!());
        assert_eq!(info.blocked_on, Some(blocked.to_string()));

        let text = info.to_string();
        assert!(text.starts_with("registered (task#"), "{text}");
        assert!(
            text.contains(&format!("spawned at {}:{line}:", file!())),
            "{text}"
        );
        assert!(text.contains(", blocked for "), "{text}");
        assert!(text.contains(" on wait on WaitGroup#"), "{text}");

        open.done();
        handle.join().unwrap();
        assert!(
            leaks().iter().all(|t| t.id != id),
            "a joined task is not a leak"
        );
        if let Some(info) = find(id) {
            assert_eq!(info.state, TaskState::Finished);
        }
        assert!(gone(id), "removed when its thread ends");
    }

    #[test]
    fn an_ended_task_leaves_the_listing_while_its_handle_lives() {
        let handle = crate::spawn(TaskConfig::default(), || 5, Location::caller());
        let id = handle.id();
        // The handle still holds the record, and the registry's entry for
        // it, but the task is gone.
        assert!(gone(id), "an ended task is not listed");
        let (index, at) = handle_slot(id).expect("in its shard while the handle lives");
        assert_eq!(handle.join().unwrap(), 5);
        // Dropping the record (here, or on the worker if it still held it)
        // takes its entry out of its shard: at once on another thread, by
        // this thread's next spawn if it was dropped here.
        let deadline = Instant::now() + Duration::from_secs(5);
        while shard(index).slots[at].as_ref().map(|(entry, _)| *entry) == Some(id) {
            assert!(Instant::now() < deadline, "the record never left its shard");
            thread::sleep(Duration::from_millis(1));
            drop(crate::spawn(
                TaskConfig::default(),
                || (),
                Location::caller(),
            ));
        }
    }

    /// Where the registry's shards hold task `id`, looked for among all
    /// entries, ended or not.
    fn handle_slot(id: TaskId) -> Option<(usize, usize)> {
        (0..SHARD_COUNT).find_map(|index| {
            shard(index)
                .slots
                .iter()
                .position(|entry| entry.as_ref().is_some_and(|(entry, _)| *entry == id))
                .map(|at| (index, at))
        })
    }

    #[test]
    fn an_unnamed_task_is_named_after_its_number() {
        let handle = crate::spawn(
            TaskConfig::default(),
            || find(current_task().unwrap()).unwrap().name,
            Location::caller(),
        );
        let id = handle.id();
        assert_eq!(handle.join().unwrap(), format!("task-{}", id.as_u64()));
    }

    #[test]
    fn a_task_spawned_by_a_task_has_it_as_parent() {
        let open = gate();
        let inner_gate = open.clone();
        let (tx, rx) = mpsc::channel();
        let outer = crate::spawn(
            config(Some("outer"), false),
            move || {
                let inner = spawn_waiting(Some("inner"), false, &inner_gate);
                tx.send(inner.id()).unwrap();
                inner.join().unwrap();
            },
            Location::caller(),
        );
        let inner = rx.recv().unwrap();
        let info = find(inner).unwrap();
        assert_eq!(info.parent, Some(outer.id()));
        assert_eq!(
            info.origin.as_deref(),
            thread::current().name(),
            "the origin is inherited from the parent"
        );
        assert!(info.to_string().contains(&format!(" by {}", outer.id())));
        open.done();
        outer.join().unwrap();
    }

    #[test]
    fn daemons_are_registered_but_never_leaks() {
        let open = gate();
        let handle = spawn_waiting(Some("daemon"), true, &open);
        let info = find(handle.id()).unwrap();
        assert!(info.daemon);
        assert!(info.to_string().contains(", daemon"));
        assert!(leaks().iter().all(|t| t.id != handle.id()));
        open.done();
        handle.join().unwrap();
    }

    #[test]
    fn a_panicking_task_finishes_and_leaves() {
        let handle = crate::spawn(
            TaskConfig::default(),
            || panic!("on purpose"),
            Location::caller(),
        );
        let id = handle.id();
        assert!(handle.join().unwrap_err().is_panic());
        assert!(leaks().iter().all(|t| t.id != id));
        assert!(gone(id));
    }

    #[test]
    fn leaks_leaves_out_the_calling_task() {
        let handle = crate::spawn(
            TaskConfig::default(),
            || {
                let me = current_task().unwrap();
                (me, leaks().iter().any(|t| t.id == me))
            },
            Location::caller(),
        );
        let (me, listed) = handle.join().unwrap();
        assert!(find(me).is_none() || !find(me).unwrap().is_running());
        assert!(!listed);
    }

    #[test]
    fn wait_for_leaks_waits_for_slow_tasks() {
        let handle = crate::spawn(
            TaskConfig::default(),
            || thread::sleep(Duration::from_millis(30)),
            Location::caller(),
        );
        let id = handle.id();
        let left = wait_for_leaks(Duration::from_secs(10));
        assert!(left.iter().all(|t| t.id != id));
        handle.join().unwrap();
    }

    #[test]
    fn the_guard_passes_a_clean_test() {
        let start = Instant::now();
        let guard = leak_guard();
        let handle = crate::spawn(TaskConfig::default(), || 1, Location::caller());
        assert_eq!(handle.join().unwrap(), 1);
        // A detached task that ends shortly after the test is given time.
        drop(crate::spawn(
            TaskConfig::default(),
            || thread::sleep(Duration::from_millis(20)),
            Location::caller(),
        ));
        drop(guard);
        assert!(start.elapsed() < DEFAULT_LEAK_GRACE);
    }

    #[test]
    fn the_guard_reports_a_leak_with_name_site_and_age() {
        let open = gate();
        let line = line!() + 3;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let _guard = leak_guard().timeout(Duration::from_millis(100));
            drop(spawn_waiting(Some("stuck-worker"), false, &open));
        }));
        let text = panic_text(result);
        open.done();
        assert!(
            text.starts_with("knot: 1 task still alive after waiting 100"),
            "{text}"
        );
        assert!(text.contains("stuck-worker (task#"), "{text}");
        assert!(
            text.contains(&format!("spawned at {}:{line}:", file!())),
            "{text}"
        );
        assert!(text.contains(", alive for "), "{text}");
    }

    #[test]
    fn the_guard_sees_the_tasks_of_its_tasks() {
        let open = gate();
        let inner_gate = open.clone();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let _guard = leak_guard().timeout(Duration::from_millis(100));
            crate::spawn(
                config(Some("parent"), false),
                move || drop(spawn_waiting(Some("grandchild"), false, &inner_gate)),
                Location::caller(),
            )
            .join()
            .unwrap();
        }));
        let text = panic_text(result);
        open.done();
        assert!(text.contains("grandchild"), "{text}");
        assert!(!text.contains("parent ("), "the parent was joined: {text}");
    }

    #[test]
    fn the_guard_ignores_daemons_and_older_tasks() {
        let open = gate();
        let older = spawn_waiting(Some("older"), false, &open);
        {
            let _guard = leak_guard().timeout(Duration::from_millis(50));
            drop(spawn_waiting(Some("daemon"), true, &open));
        }
        open.done();
        older.join().unwrap();
    }

    #[test]
    fn the_guard_checks_nothing_when_the_test_already_failed() {
        let open = gate();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let _guard = leak_guard();
            drop(spawn_waiting(None, false, &open));
            panic!("the test's own failure");
        }));
        assert_eq!(panic_text(result), "the test's own failure");
        open.done();
    }

    #[test]
    fn nested_guards_each_see_their_own() {
        let open = gate();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let outer = leak_guard().timeout(Duration::from_millis(50));
            let inner = leak_guard().timeout(Duration::from_millis(50));
            drop(spawn_waiting(Some("under-both"), false, &open));
            assert_eq!(inner.leaks().len(), 1);
            assert_eq!(outer.leaks().len(), 1);
            std::mem::forget(inner);
            drop(outer);
        }));
        let text = panic_text(result);
        open.done();
        assert!(text.contains("under-both"), "{text}");
    }

    #[test]
    fn parallel_guards_blame_only_their_own_test() {
        let never = gate();
        // Both tests have a task alive at the same moment; only one of them
        // leaves its task behind.
        let both_spawned = Arc::new(std::sync::Barrier::new(2));
        let run = |leak: bool| {
            let never = never.clone();
            let both_spawned = Arc::clone(&both_spawned);
            thread::Builder::new()
                .name(format!("guarded-{leak}"))
                .spawn(move || {
                    panic::catch_unwind(AssertUnwindSafe(|| {
                        let _guard = leak_guard().timeout(Duration::from_millis(200));
                        if leak {
                            drop(spawn_waiting(Some("leaked-here"), false, &never));
                            both_spawned.wait();
                        } else {
                            let release = gate();
                            let handle = spawn_waiting(Some("joined-here"), false, &release);
                            both_spawned.wait();
                            release.done();
                            handle.join().unwrap();
                        }
                    }))
                })
                .unwrap()
        };
        let clean = run(false);
        let leaky = run(true);
        let clean = clean.join().unwrap();
        let leaky = leaky.join().unwrap();
        never.done();
        assert!(clean.is_ok(), "the clean test is not blamed");
        let text = panic_text(leaky);
        assert!(text.contains("leaked-here"), "{text}");
        assert!(text.contains("from thread 'guarded-true'"), "{text}");
        assert!(!text.contains("joined-here"), "{text}");
    }
}
