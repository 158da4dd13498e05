//! The registry of live tasks: what is running right now, where it was
//! started, by whom, and for how long.
//!
//! Every task started by [`spawn`](crate::spawn) is entered here when it is
//! spawned and removed when its thread ends; tasks that run under the
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
//! println!("{info}"); // waiter (task#1) spawned at src/main.rs:8:6 from thread 'main', running for 12.00µs
//!
//! let id = handle.id();
//! release.done();
//! handle.join().unwrap();
//! // Joined, it is no longer alive.
//! assert!(knot::leaks().iter().all(|t| t.id != id));
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use knot_core::task::{TaskConfig, TaskId};

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
/// `worker (task#7) spawned at src/pool.rs:31:9 from thread 'tests::pool', running for 2.01s`.
///
/// # Examples
///
/// ```
/// for task in knot::runtime::tasks() {
///     println!("{task}");
///     assert!(task.blocked_on.is_none());
/// }
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
    /// What it waits for, such as "receive on a channel at src/lib.rs:9:5".
    ///
    /// Always `None` for now: the runtime gives every task a thread of its
    /// own and does not see where that thread blocks. The M:N scheduler
    /// fills it in.
    pub blocked_on: Option<String>,
}

/// What a live task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Its closure is running (or waiting in a blocking operation).
    Running,
    /// Its closure has returned or panicked; the task leaves the registry
    /// as soon as its thread has wound down.
    Finished,
}

impl TaskInfo {
    /// Whether its closure is still running.
    pub fn is_running(&self) -> bool {
        self.state == TaskState::Running
    }

    /// How long ago it was spawned.
    pub fn alive_for(&self) -> Duration {
        self.spawned.elapsed()
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::Finished => "finished",
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
            write!(f, ", blocked on {blocked}")?;
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
    registry().values().map(Entry::info).collect()
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
    collect(&registry(), |e| e.is_leak() && Some(e.id) != me)
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
    wait_until_gone(grace, |e| e.is_leak() && Some(e.id) != me)
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
        CONTEXT.with(|c| c.borrow_mut().scopes.push(scope));
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
        collect(&registry(), |e| e.is_leak() && e.scopes.contains(&scope))
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
        CONTEXT.with(|c| c.borrow_mut().scopes.retain(|s| *s != scope));
        if thread::panicking() {
            return;
        }
        let left = wait_until_gone(self.grace, |e| e.is_leak() && e.scopes.contains(&scope));
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
        out.push('\n');
    }
    out
}

/// A task's entry while it is registered.
#[derive(Debug)]
struct Entry {
    id: TaskId,
    name: String,
    site: &'static Location<'static>,
    parent: Option<TaskId>,
    origin: Option<Arc<str>>,
    scopes: Vec<u64>,
    daemon: bool,
    state: TaskState,
    since: Instant,
    spawned: Instant,
}

impl Entry {
    fn is_leak(&self) -> bool {
        !self.daemon && self.state == TaskState::Running
    }

    fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.clone(),
            site: self.site,
            parent: self.parent,
            origin: self.origin.as_deref().map(String::from),
            daemon: self.daemon,
            state: self.state,
            since: self.since,
            spawned: self.spawned,
            blocked_on: None,
        }
    }
}

/// What a thread knows about where it stands: the task it runs (if any),
/// the leak guards watching it, and the plain thread its tree started on.
#[derive(Debug, Clone, Default)]
struct Context {
    task: Option<TaskId>,
    scopes: Vec<u64>,
    origin: Option<Arc<str>>,
}

thread_local! {
    static CONTEXT: RefCell<Context> = RefCell::new(Context::default());
}

static REGISTRY: Mutex<BTreeMap<TaskId, Entry>> = Mutex::new(BTreeMap::new());

/// Notified whenever a task finishes or leaves the registry.
static CHANGED: Condvar = Condvar::new();

fn registry() -> MutexGuard<'static, BTreeMap<TaskId, Entry>> {
    // The registry's invariants hold between statements, so a panic while
    // it was locked leaves nothing half-done.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn collect(reg: &BTreeMap<TaskId, Entry>, mut keep: impl FnMut(&Entry) -> bool) -> Vec<TaskInfo> {
    reg.values().filter(|e| keep(e)).map(Entry::info).collect()
}

fn current_task() -> Option<TaskId> {
    CONTEXT.with(|c| c.borrow().task)
}

/// Waits, for at most `grace`, until no entry matches `alive`, and returns
/// the ones that still do.
fn wait_until_gone(grace: Duration, alive: impl Fn(&Entry) -> bool) -> Vec<TaskInfo> {
    let deadline = Instant::now() + grace;
    // Finishing tasks notify `CHANGED`, so the wait normally ends on a
    // notification; the growing step only bounds each wait.
    let mut step = Duration::from_millis(1);
    let mut reg = registry();
    loop {
        let left = collect(&reg, &alive);
        let now = Instant::now();
        if left.is_empty() || now >= deadline {
            return left;
        }
        let wait = step.min(deadline - now);
        reg = CHANGED
            .wait_timeout(reg, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        step = (step * 2).min(Duration::from_millis(100));
    }
}

/// A task's place in the registry, from its spawn to the end of its thread.
///
/// Created by the spawner, it moves to the task's thread, which
/// [`enter`](Self::enter)s it; dropping it removes the entry, whether the
/// thread ran or never started.
#[derive(Debug)]
pub(crate) struct Registration {
    id: TaskId,
    context: Context,
}

/// Registers a task that is being spawned from the calling thread.
pub(crate) fn register(
    id: TaskId,
    config: &TaskConfig,
    site: &'static Location<'static>,
) -> Registration {
    let spawner = CONTEXT.with(|c| c.borrow().clone());
    let origin = match spawner.task {
        Some(_) => spawner.origin,
        None => thread::current().name().map(Arc::from),
    };
    let now = Instant::now();
    let entry = Entry {
        id,
        name: config
            .name
            .clone()
            .unwrap_or_else(|| format!("task-{}", id.as_u64())),
        site,
        parent: spawner.task,
        origin: origin.clone(),
        scopes: spawner.scopes.clone(),
        daemon: config.daemon,
        state: TaskState::Running,
        since: now,
        spawned: now,
    };
    registry().insert(id, entry);
    Registration {
        id,
        context: Context {
            task: Some(id),
            scopes: spawner.scopes,
            origin,
        },
    }
}

impl Registration {
    /// Makes the calling thread the task's: tasks it spawns are its
    /// children and inherit its leak guards.
    pub(crate) fn enter(&self) {
        CONTEXT.with(|c| *c.borrow_mut() = self.context.clone());
    }

    /// A guard that marks the task finished when dropped: at the end of its
    /// closure, whether it returns or panics, and so before its joiner
    /// learns the result.
    pub(crate) fn finish_on_drop(&self) -> FinishOnDrop {
        FinishOnDrop { id: self.id }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        registry().remove(&self.id);
        CHANGED.notify_all();
    }
}

/// Marks a task finished when dropped; see [`Registration::finish_on_drop`].
#[derive(Debug)]
pub(crate) struct FinishOnDrop {
    id: TaskId,
}

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(entry) = registry().get_mut(&self.id) {
            entry.state = TaskState::Finished;
            entry.since = Instant::now();
        }
        CHANGED.notify_all();
    }
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
        assert_eq!(info.state, TaskState::Running);
        assert!(info.is_running());
        assert!(info.spawned >= before && info.since >= info.spawned);
        assert_eq!(info.blocked_on, None);
        assert!(leaks().iter().any(|t| t.id == id));

        let text = info.to_string();
        assert!(text.starts_with("registered (task#"), "{text}");
        assert!(
            text.contains(&format!("spawned at {}:{line}:", file!())),
            "{text}"
        );
        assert!(text.contains(", running for "), "{text}");

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
