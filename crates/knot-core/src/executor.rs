//! The interface between primitives and the executor that runs tasks.
//!
//! Every primitive asks "which executor am I running under?" through a
//! thread-local that an executor sets while it runs tasks on this thread.
//! When none is set, the caller is a plain OS thread (a `#[test]` body,
//! `main`, a thread of the blocking pool): blocking parks the thread and
//! waking unparks it. The checker sets one while it runs an execution, and
//! the live runtime sets one on each of its worker threads.

use std::cell::Cell;
use std::fmt;
use std::panic::{self, Location};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, Thread};
use std::time::Duration;

use crate::clock::VectorClock;
use crate::object::Object;
use crate::op::Op;

/// An executor that runs knot tasks and decides what blocking means.
///
/// The checker implements it with coroutines switched at every operation;
/// code outside any executor gets OS-thread behaviour. Primitives never call
/// an executor directly: they use the free functions of this module.
pub trait Executor: Sync {
    /// The key of the running task.
    fn current(&self) -> TaskKey;

    /// A number for a newly created object.
    fn new_object_id(&self) -> u64;

    /// A number that changes with every execution of the checker, so that
    /// objects created before it (such as a `static` atomic) can tell
    /// whether the number they were given is still theirs.
    fn epoch(&self) -> u32;

    /// Announces a visible operation of the running task; under the checker
    /// this is a scheduling point.
    fn operation(
        &self,
        op: Op,
        object: Option<&Object>,
        site: &'static Location<'static>,
    ) -> Resume;

    /// A scheduling point for an operation that may have to wait. `ready`
    /// says whether it could complete now; the primitive has registered the
    /// task as a waiter, so [`set_ready`](Executor::set_ready) keeps that
    /// answer current while the task is suspended here.
    fn wait_point(&self, blocked: &BlockedOn, ready: bool) -> Resume;

    /// Records an access to `object` that has no scheduling point of its
    /// own, such as registering as a waiter or closing a channel on drop.
    fn touch(&self, object: &Object, op: Op);

    /// Suspends the running task until another operation makes it ready.
    fn block(&self, blocked: &BlockedOn) -> Resume;

    /// Marks a waiting task ready to retry its operation, or not ready any
    /// more because another task took what it waited for.
    fn set_ready(&self, task: TaskKey, ready: bool);

    /// Records that the running task now holds `object` (a lock).
    fn acquired(&self, object: &Object);

    /// Records that the running task no longer holds `object`.
    fn released(&self, object: &Object);

    /// Records that the running task observed the end of task `task` through
    /// its join handle.
    fn joined(&self, task: u64);

    /// Reports a bug found by a primitive and ends the execution.
    fn fail(&self, failure: Failure) -> Resume;

    /// The current time, as a duration since the executor's epoch; virtual
    /// under the checker.
    fn now(&self) -> Duration;

    /// Arranges for `fire` to run once the time reaches `deadline`.
    /// `periodic` marks one tick of a ticker, which arms the next tick when
    /// it fires: a tick that wakes nobody changes nothing, and the checker
    /// need not keep firing it while every task waits.
    fn add_timer(&self, deadline: Duration, periodic: bool, fire: Box<dyn FnOnce() + Send>);

    /// [`add_timer`](Self::add_timer) for a timer that is of no use once
    /// `wanted` returns false, such as the timeout of a receive that has
    /// completed: the executor may then drop it unfired. The default arms a
    /// plain timer.
    fn add_timer_while(
        &self,
        deadline: Duration,
        periodic: bool,
        fire: Box<dyn FnOnce() + Send>,
        wanted: Box<dyn Fn() -> bool + Send>,
    ) {
        let _ = wanted;
        self.add_timer(deadline, periodic, fire);
    }

    /// Picks one of `options` possibilities (at least one) for a choice that
    /// is not scheduling, such as which ready `select!` arm runs; the checker
    /// explores every one.
    fn choose(&self, options: usize) -> usize;

    /// Whether the executor tracks happens-before, so that primitives should
    /// move clocks and memory accesses should be checked for races.
    fn tracks_races(&self) -> bool;

    /// Says that the program has memory or counters whose accesses are
    /// checked by happens-before (a `RaceCell`, a `WaitGroup`): an executor
    /// may skip the clock work for programs that have none.
    fn want_races(&self);

    /// Releases the running task's clock into `clock` (an unlock, a send):
    /// whoever acquires `clock` later happens after everything the task did
    /// so far. Does nothing when races are not tracked.
    fn release(&self, clock: &mut VectorClock);

    /// Acquires `clock` into the running task's clock (a lock, a receive).
    /// Does nothing when races are not tracked.
    fn acquire(&self, clock: &VectorClock);

    /// Calls `f` with the running task's number and clock, when races are
    /// tracked.
    fn with_clock(&self, f: &mut dyn FnMut(usize, &VectorClock));

    /// A handle that wakes the running task from any thread, whether or
    /// not an executor runs there.
    ///
    /// The live runtime returns one, because its tasks are woken by timers,
    /// plain threads and other workers. The checker returns `None`: every
    /// wake-up happens inside the execution, so it goes through
    /// [`set_ready`](Executor::set_ready) of the waking thread's executor.
    fn unparker(&self) -> Option<Arc<dyn Unpark>> {
        None
    }

    /// Whether the executor replays schedules exactly (the checker), so
    /// that primitives must take the same steps whatever other threads do:
    /// no lock-free shortcuts whose outcome depends on timing.
    fn deterministic(&self) -> bool {
        false
    }
}

/// Wakes one task of an executor from any thread; see
/// [`Executor::unparker`].
///
/// Waking a task that is not blocked makes its next
/// [`block`](Executor::block) return at once, as `std::thread::park` does
/// with a pending `unpark`, so a wake-up that comes before the wait is never
/// lost.
pub trait Unpark: Send + Sync {
    /// Makes the task ready to retry the operation it waits for.
    fn unpark(&self);
}

/// Identifies a task to the executor that runs it.
///
/// Under the checker the key also carries the execution it belongs to, so a
/// waiter left behind by an earlier execution can never wake a task of a
/// later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskKey(pub u64);

/// How a suspended task is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Carry on.
    Run,
    /// The execution is over: unwind the task's stack, running destructors,
    /// while knot operations do nothing.
    Teardown,
}

/// What a blocked task waits for, and where it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockedOn {
    /// The object waited on.
    pub object: Object,
    /// The operation that blocked.
    pub op: Op,
    /// Where the operation was called.
    pub site: &'static Location<'static>,
}

impl fmt::Display for BlockedOn {
    /// Shows the wait as reports do: `recv on Chan#7 (created at
    /// src/lib.rs:3:14) at src/lib.rs:9:5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} (created at {}) at {}",
            self.op,
            self.object,
            self.object.created(),
            self.site
        )
    }
}

/// A bug a primitive detected by itself, such as a task locking a mutex it
/// already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of bug it is.
    pub kind: FailureKind,
    /// One sentence saying what happened.
    pub message: String,
    /// What the task was doing, when the failure is a wait that can never
    /// end.
    pub blocked: Option<BlockedOn>,
    /// Other tasks the failure involves (the other side of a data race).
    pub others: Vec<usize>,
}

/// The kinds of failure a primitive can detect by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A wait that can never end, such as locking a mutex one already holds.
    Deadlock,
    /// A use of a primitive that is always a bug.
    Misuse,
    /// Two accesses to the same memory, at least one a write, that
    /// happens-before does not order.
    DataRace,
}

/// A handle that wakes one waiting task, whichever executor runs it.
#[derive(Clone)]
pub struct Waker {
    key: TaskKey,
    target: Target,
}

/// How a [`Waker`] reaches its task.
#[derive(Clone)]
enum Target {
    /// Through the waking thread's executor (the checker).
    Executor,
    /// A plain OS thread, parked.
    Thread(Thread),
    /// A task of an executor that can be woken from anywhere (the live
    /// runtime).
    Task(Arc<dyn Unpark>),
}

impl Waker {
    /// The key of the task this waker wakes.
    pub fn key(&self) -> TaskKey {
        self.key
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker").field("key", &self.key).finish()
    }
}

/// The panic payload that unwinds a task's stack when its execution is torn
/// down. Task wrappers recognise it and finish quietly.
#[derive(Debug, Clone, Copy)]
pub struct Teardown;

/// Makes `executor` the executor of this thread until the returned guard is
/// dropped.
///
/// # Examples
///
/// Executors call this around the code they run; see `knot-model`.
pub fn enter(executor: &'static dyn Executor) -> EnterGuard {
    let previous = EXECUTOR.with(|e| e.replace(Some(executor)));
    HINTS.with(|h| h.set(Hints::of(Some(executor))));
    let previous_current = CURRENT.with(|c| c.replace(None));
    EnterGuard {
        previous,
        previous_current,
    }
}

/// Restores the previous executor of the thread when dropped.
#[must_use = "the executor is left as soon as the guard is dropped"]
pub struct EnterGuard {
    previous: Option<&'static dyn Executor>,
    previous_current: Option<TaskKey>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        EXECUTOR.with(|e| e.set(self.previous));
        HINTS.with(|h| h.set(Hints::of(self.previous)));
        CURRENT.with(|c| c.set(self.previous_current));
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// Whether an executor runs on this thread (otherwise operations act on the
/// OS thread).
pub fn is_entered() -> bool {
    executor().is_some()
}

/// Whether the checker runs the calling code: an executor that replays
/// schedules exactly (see [`Executor::deterministic`]), under which misuse
/// that live code tolerates is reported.
///
/// ```
/// // A plain thread has no executor, let alone the checker.
/// assert!(!knot_core::executor::is_checked());
/// ```
pub fn is_checked() -> bool {
    executor().is_some_and(|e| e.deterministic())
}

/// A waker for the running task.
#[inline]
pub fn current() -> Waker {
    if let Some(key) = CURRENT.with(Cell::get) {
        return Waker {
            key,
            target: Target::Executor,
        };
    }
    current_asked()
}

/// [`current`] where no hint says which task runs.
fn current_asked() -> Waker {
    match executor() {
        Some(e) => Waker {
            key: e.current(),
            target: match e.unparker() {
                Some(unparker) => Target::Task(unparker),
                None => Target::Executor,
            },
        },
        None => Waker {
            key: thread_key(),
            target: Target::Thread(thread::current()),
        },
    }
}

/// The key of the running task, without the means to wake it.
#[inline]
pub fn current_key() -> TaskKey {
    if let Some(key) = CURRENT.with(Cell::get) {
        return key;
    }
    match executor() {
        Some(e) => e.current(),
        None => thread_key(),
    }
}

/// Announces a visible operation; under the checker, other tasks may run
/// before this returns.
#[inline]
pub fn operation(op: Op, object: Option<&Object>, site: &'static Location<'static>) {
    if let Some(e) = executor() {
        unwind_if_torn_down(e.operation(op, object, site));
    }
}

/// A scheduling point for an operation that may have to wait; `ready` says
/// whether it could complete now.
///
/// The caller must have registered the running task as a waiter of the
/// primitive and keep its readiness current with [`wake`] and [`unready`].
/// Under the checker the task is then only scheduled once its operation can
/// complete, so no execution wastes a step on an attempt that blocks. Live
/// this does nothing: the caller's wait loop blocks if it must.
#[inline]
pub fn wait_point(blocked: BlockedOn, ready: bool) {
    if let Some(e) = executor() {
        unwind_if_torn_down(e.wait_point(&blocked, ready));
    }
}

/// Records an access to `object` that has no scheduling point of its own.
#[inline]
pub fn touch(object: &Object, op: Op) {
    if HINTS.with(Cell::get).skip_touches {
        return;
    }
    if let Some(e) = executor() {
        e.touch(object, op);
    }
}

/// Suspends the running task until it is made ready (possibly spuriously:
/// callers re-check their condition in a loop).
///
/// # Panics
///
/// On a plain thread, if a deadlock monitor declares that the wait can
/// never end (see [`crate::parked`]): the panic carries the monitor's
/// report.
#[inline]
pub fn block(blocked: BlockedOn) {
    match executor() {
        Some(e) => unwind_if_torn_down(e.block(&blocked)),
        None => crate::parked::park(thread_key(), blocked),
    }
}

/// Makes the task behind `waker` ready to retry its operation.
#[inline]
pub fn wake(waker: &Waker) {
    match &waker.target {
        Target::Thread(thread) => {
            crate::parked::progress();
            thread.unpark();
        }
        Target::Task(task) => task.unpark(),
        Target::Executor => {
            if let Some(e) = executor() {
                e.set_ready(waker.key, true);
            }
        }
    }
}

/// Tells the executor that the task behind `waker` cannot proceed after all,
/// because another task took what it waited for.
///
/// Live this does nothing: the woken thread re-checks and parks again. Under
/// the checker it keeps the set of runnable tasks exact.
pub fn unready(waker: &Waker) {
    if let Target::Executor = waker.target {
        if let Some(e) = executor() {
            e.set_ready(waker.key, false);
        }
    }
}

/// Records that the running task now holds `object`.
#[inline]
pub fn acquired(object: &Object) {
    if HINTS.with(Cell::get).skip_holds {
        return;
    }
    if let Some(e) = executor() {
        e.acquired(object);
    }
}

/// Records that the running task released `object`.
#[inline]
pub fn released(object: &Object) {
    if HINTS.with(Cell::get).skip_holds {
        return;
    }
    if let Some(e) = executor() {
        e.released(object);
    }
}

/// Records that the running task joined task `task`.
pub fn joined(task: u64) {
    if let Some(e) = executor() {
        e.joined(task);
    }
}

/// Reports a bug found by a primitive.
///
/// Under the checker the execution ends here and the failure becomes a
/// report. Live, the failure is a panic with its message.
///
/// # Panics
///
/// Always, live; under the checker the task's stack unwinds quietly.
pub fn fail(failure: Failure) -> ! {
    match executor() {
        Some(e) => {
            let blocked = failure.blocked;
            e.fail(failure);
            if !thread::panicking() {
                panic::resume_unwind(Box::new(Teardown));
            }
            // Already unwinding, inside a destructor: a second panic would
            // abort the process. Wait for good instead; the checker abandons
            // a task that blocks while its execution is torn down.
            let blocked = blocked.unwrap_or(BlockedOn {
                object: Object::task(u64::MAX, Location::caller()),
                op: Op::Exit,
                site: Location::caller(),
            });
            loop {
                e.block(&blocked);
            }
        }
        None => panic!("knot: {}", failure.message),
    }
}

/// The number of an object that cannot number itself at creation (an atomic
/// created by a `const fn`): `tag` caches it for the current execution.
pub fn lazy_object_id(tag: &std::sync::atomic::AtomicU64) -> u64 {
    let epoch = executor().map_or(0, |e| u64::from(e.epoch()));
    let cached = tag.load(Ordering::Relaxed);
    if cached != 0 && cached >> 32 == epoch {
        return cached & u64::from(u32::MAX);
    }
    let id = new_object_id() & u64::from(u32::MAX);
    tag.store((epoch << 32) | id, Ordering::Relaxed);
    id
}

/// Whether happens-before is tracked on this thread: always under the
/// checker, and live when race detection is switched on.
#[inline]
pub fn tracks_races() -> bool {
    if let Some(tracks) = HINTS.with(Cell::get).tracks_races {
        return tracks;
    }
    match executor() {
        Some(e) => e.tracks_races(),
        None => crate::live_clock::race_detection(),
    }
}

/// Says that the program has accesses checked by happens-before; see
/// [`Executor::want_races`].
pub fn want_races() {
    if let Some(e) = executor() {
        e.want_races();
    }
}

/// Releases the running task's clock into `clock`; see
/// [`Executor::release`]. Does nothing where races are not tracked.
#[inline]
pub fn release(clock: &mut VectorClock) {
    if untracked() {
        return;
    }
    match executor() {
        Some(e) => e.release(clock),
        None => crate::live_clock::release(clock),
    }
}

/// Acquires `clock` into the running task's clock; see
/// [`Executor::acquire`]. Does nothing where races are not tracked.
#[inline]
pub fn acquire(clock: &VectorClock) {
    if untracked() {
        return;
    }
    match executor() {
        Some(e) => e.acquire(clock),
        None => crate::live_clock::acquire(clock),
    }
}

/// Calls `f` with the running task's number and clock, where races are
/// tracked.
pub fn with_clock(f: &mut dyn FnMut(usize, &VectorClock)) {
    if untracked() {
        return;
    }
    match executor() {
        Some(e) => e.with_clock(f),
        None => crate::live_clock::with_clock(f),
    }
}

/// The current time as a duration since the executor's epoch: virtual time
/// under the checker, the process's monotonic clock live.
pub fn now() -> Duration {
    match executor() {
        Some(e) => e.now(),
        None => crate::time::live::now(),
    }
}

/// Runs `fire` once the time reaches `deadline` (see [`now`]); `periodic`
/// marks one tick of a ticker.
pub fn add_timer(deadline: Duration, periodic: bool, fire: Box<dyn FnOnce() + Send>) {
    match executor() {
        Some(e) => e.add_timer(deadline, periodic, fire),
        None => {
            let _ = periodic;
            crate::time::live::add_timer(deadline, fire)
        }
    }
}

/// [`add_timer`] for a timer that is of no use once `wanted` returns false;
/// see [`Executor::add_timer_while`].
pub fn add_timer_while(
    deadline: Duration,
    periodic: bool,
    fire: Box<dyn FnOnce() + Send>,
    wanted: Box<dyn Fn() -> bool + Send>,
) {
    match executor() {
        Some(e) => e.add_timer_while(deadline, periodic, fire, wanted),
        None => crate::time::live::add_timer_while(deadline, fire, wanted),
    }
}

/// Picks one of `options` possibilities: uniformly at random live, and as a
/// branch to explore under the checker.
///
/// # Panics
///
/// Panics if `options` is zero.
pub fn choose(options: usize) -> usize {
    assert!(options > 0, "knot: a choice needs at least one option");
    if options == 1 {
        return 0;
    }
    match executor() {
        Some(e) => e.choose(options),
        None => fastrand::usize(..options),
    }
}

/// Lets the other tasks of this thread run first (a plain thread yields to
/// the OS).
pub fn yield_now(site: &'static Location<'static>) {
    match executor() {
        Some(e) => unwind_if_torn_down(e.operation(Op::Yield, None, site)),
        None => thread::yield_now(),
    }
}

/// Whether primitives may take lock-free shortcuts here: everywhere but
/// under a [deterministic](Executor::deterministic) executor.
#[inline]
pub fn shortcuts() -> bool {
    if let Some(shortcuts) = HINTS.with(Cell::get).shortcuts {
        return shortcuts;
    }
    match executor() {
        Some(e) => !e.deterministic(),
        None => true,
    }
}

/// A number for a newly created object.
pub fn new_object_id() -> u64 {
    match executor() {
        Some(e) => e.new_object_id(),
        None => live_id(),
    }
}

/// A number for an object or a task outside the checker, unique in the
/// process and far above the checker's small per-execution numbers, so that
/// the two never look alike in a report.
pub fn live_id() -> u64 {
    NEXT_LIVE_ID.fetch_add(1, Ordering::Relaxed)
}

#[inline]
fn executor() -> Option<&'static dyn Executor> {
    EXECUTOR.with(Cell::get)
}

#[inline]
fn unwind_if_torn_down(resume: Resume) {
    if resume == Resume::Teardown {
        panic::resume_unwind(Box::new(Teardown));
    }
}

fn thread_key() -> TaskKey {
    THREAD_KEY.with(|k| *k)
}

// Live keys and object numbers start high so that they never look like the
// checker's small per-execution numbers in a report.
static NEXT_LIVE_ID: AtomicU64 = AtomicU64::new(LIVE_IDS);

/// The first number [`live_id`] hands out: live objects and keys are
/// numbered from here up, far above the checker's per-execution numbers.
pub const LIVE_IDS: u64 = 1 << 48;

/// Answers the executor entered on this thread gives in advance, so that
/// the commonest questions of primitives cost no call; see [`set_hints`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// What [`Executor::tracks_races`] answers until the hints change;
    /// `None` to ask it each time.
    pub tracks_races: Option<bool>,
    /// Whether [`Executor::touch`] does nothing until the hints change.
    pub skip_touches: bool,
    /// Whether [`Executor::acquired`] and [`Executor::released`] do
    /// nothing until the hints change.
    pub skip_holds: bool,
    /// What [`shortcuts`] answers until the hints change; `None` to ask
    /// the executor each time. [`enter`] sets it from
    /// [`Executor::deterministic`].
    pub shortcuts: Option<bool>,
}

impl Hints {
    /// The hints `executor` gives by being entered: whether it is
    /// deterministic never changes, so that, asked once, it costs the
    /// primitives no call on every operation.
    fn of(executor: Option<&'static dyn Executor>) -> Hints {
        Hints {
            shortcuts: executor.map(|e| !e.deterministic()),
            ..Hints::default()
        }
    }
}

/// Whether the hints say that races are not tracked, so that clock work
/// does nothing.
#[inline]
fn untracked() -> bool {
    HINTS.with(Cell::get).tracks_races == Some(false)
}

/// Sets the hints of the executor entered on this thread, until it sets
/// others or is left; entering an executor resets them to what it says of
/// itself (see [`Hints::shortcuts`]).
#[inline]
pub fn set_hints(hints: Hints) {
    HINTS.with(|h| h.set(hints));
}

/// Tells primitives in advance which task runs, so that [`current`] and
/// [`current_key`] cost no call: until it is called again or the executor
/// is left, they answer `key`; `None` makes them ask the executor.
///
/// Only an executor whose [`Executor::unparker`] is `None` may give the
/// hint: the wakers [`current`] makes from it go through
/// [`Executor::set_ready`]. Entering an executor clears it.
#[inline]
pub fn set_current(key: Option<TaskKey>) {
    CURRENT.with(|c| c.set(key));
}

thread_local! {
    static EXECUTOR: Cell<Option<&'static dyn Executor>> = const { Cell::new(None) };
    /// The running task's key, as [`set_current`] last gave it.
    static CURRENT: Cell<Option<TaskKey>> = const { Cell::new(None) };
    static HINTS: Cell<Hints> = const {
        Cell::new(Hints {
            tracks_races: None,
            skip_touches: false,
            skip_holds: false,
            shortcuts: None,
        })
    };
    static THREAD_KEY: TaskKey = TaskKey(NEXT_LIVE_ID.fetch_add(1, Ordering::Relaxed));
}
