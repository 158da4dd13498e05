//! The M:N scheduler: worker threads that run tasks as coroutines.
//!
//! Each worker owns two queues. Its *fresh* queue holds spawned tasks that
//! have not started; they hold no stack yet, and idle workers steal them
//! (as does everyone from the global queue that plain threads spawn into).
//! Its *pinned* queue holds tasks it started that were woken: a started
//! task never moves to another worker, so a thread-local it reads after a
//! wait is the one it read before. Woken tasks run before fresh ones, since they already
//! hold a stack.
//!
//! A worker with nothing to run enters the sleepers list, looks at every
//! queue once more, and parks; whoever queues work wakes one sleeper (or the
//! owner of a pinned queue), so idle workers cost nothing.

use std::cell::{Cell, OnceCell};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;

use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::atomic::AtomicCell;
use crossbeam_utils::sync::{Parker, Unparker};
use knot_core::live_clock::{self, TaskClock};

use crate::config::Config;
use crate::counter::Counter;
use crate::registry;
use crate::stack::StackPool;
use crate::task::{Parked, Task, TaskRef};

/// The runtime, started by the first spawn (or by
/// [`Builder::start`](crate::Builder::start)) and alive until the process
/// ends.
pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| Runtime::start(Config::from_env()))
}

/// Starts the runtime with `config`, unless it already runs; returns
/// whether this call started it.
pub(crate) fn start_with(config: Config) -> bool {
    let mut started = false;
    RUNTIME.get_or_init(|| {
        started = true;
        Runtime::start(config)
    });
    started
}

/// The task running on this thread, if it is a worker running one.
pub(crate) fn current() -> Option<TaskRef> {
    worker()?;
    CURRENT.with(|c| {
        let task = c.take();
        let copy = task.clone();
        c.set(task);
        copy
    })
}

/// Calls `f` with the task running on this thread, if it is a worker
/// running one, without taking a reference to it.
pub(crate) fn with_current<R>(f: impl FnOnce(&Task) -> R) -> Option<R> {
    // Plain threads, which spawn most tasks, skip the look-up.
    worker()?;
    CURRENT.with(|c| {
        let task = c.take();
        let result = task.as_deref().map(|t| f(t));
        c.set(task);
        result
    })
}

/// How a fresh task's body is called.
#[derive(Debug)]
pub(crate) enum Start {
    /// On its coroutine: run the closure.
    Run,
    /// It cannot start, for this reason: give its join handle the error.
    Fail(String),
}

/// Why a task's coroutine gave its worker back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// It waits for a wake-up.
    Park,
    /// It lets the other tasks of its worker run first.
    Yield,
}

/// The shared state of the runtime.
pub(crate) struct Runtime {
    pub(crate) workers: Box<[Shared]>,
    injector: Injector<TaskRef>,
    sleepers: Mutex<Vec<usize>>,
    sleeping: AtomicUsize,
    /// Idle workers looking for work before they sleep: while one is, a
    /// spawn wakes nobody, since that worker will find the task.
    searching: AtomicUsize,
    /// Tasks spawned and not finished, less those parked: zero means every
    /// task is asleep.
    pub(crate) active: Counter,
    pub(crate) config: Config,
}

/// What the runtime (and the monitor) can see of one worker.
pub(crate) struct Shared {
    pinned: Injector<usize>,
    stealer: Stealer<TaskRef>,
    unparker: Unparker,
    /// The number of the task it runs now, 0 when it runs none.
    pub(crate) running: AtomicU64,
    /// How many times it has resumed a task.
    pub(crate) resumes: AtomicU64,
    /// How many knot operations its tasks have reached.
    pub(crate) ops: AtomicU64,
    /// The call site of the last of those operations.
    pub(crate) last_site: AtomicCell<Option<&'static Location<'static>>>,
    /// The lowest address of the running task's stack mapping, where its
    /// guard page is; 0 when it runs none. For the overflow handler.
    pub(crate) stack_limit: AtomicUsize,
    /// Where the running task was spawned.
    pub(crate) running_site: AtomicCell<Option<&'static Location<'static>>>,
}

impl Runtime {
    fn start(config: Config) -> &'static Runtime {
        let count = config.workers;
        let mut locals = Vec::with_capacity(count);
        let mut shared = Vec::with_capacity(count);
        for index in 0..count {
            let fresh = Worker::new_fifo();
            let parker = Parker::new();
            shared.push(Shared {
                pinned: Injector::new(),
                stealer: fresh.stealer(),
                unparker: parker.unparker().clone(),
                running: AtomicU64::new(0),
                resumes: AtomicU64::new(0),
                ops: AtomicU64::new(0),
                last_site: AtomicCell::new(None),
                stack_limit: AtomicUsize::new(0),
                running_site: AtomicCell::new(None),
            });
            locals.push((index, fresh, parker));
        }
        let runtime: &'static Runtime = Box::leak(Box::new(Runtime {
            workers: shared.into_boxed_slice(),
            injector: Injector::new(),
            sleepers: Mutex::new(Vec::new()),
            sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            active: Counter::new(),
            config,
        }));
        for (index, fresh, parker) in locals {
            // Stacks cannot cross threads, so each worker makes its own
            // part of the state once it runs.
            let local = move || Local {
                index,
                fresh: Rc::new(fresh),
                parker,
                slots: Vec::new(),
                free: Vec::new(),
                stacks: StackPool::default(),
                yielded: VecDeque::new(),
            };
            thread::Builder::new()
                .name(format!("knot-worker-{index}"))
                .spawn(move || work(runtime, local()))
                .expect("knot: cannot start a worker thread of the runtime");
        }
        crate::overflow::watch(runtime);
        crate::overflow::install();
        crate::panic_hook::install();
        crate::monitor::start(runtime);
        tracing::debug!(target: "knot", workers = count, "runtime started");
        runtime
    }

    /// Queues a task to be started by some worker.
    pub(crate) fn spawn(&'static self, fresh: TaskRef) {
        self.active.add(1);
        // Plain threads, which spawn most tasks, skip the look-up.
        let fresh = match worker() {
            Some(_) => FRESH.with(|queue| match queue.get() {
                Some(queue) => {
                    queue.push(fresh);
                    None
                }
                None => Some(fresh),
            }),
            None => Some(fresh),
        };
        if let Some(fresh) = fresh {
            self.injector.push(fresh);
        }
        fence(Ordering::SeqCst);
        self.notify_one();
    }

    /// Queues the woken task in `slot` of `worker` again.
    ///
    /// The slot cannot be reused while it is queued: only a parked task is
    /// queued by a wake-up, and a task finishes only while it runs.
    pub(crate) fn wake(&self, worker: usize, slot: usize) {
        self.active.add(1);
        let shared = &self.workers[worker];
        shared.pinned.push(slot);
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) > 0 {
            // Out of the sleepers, so that a later spawn wakes another
            // worker rather than this one, which has its own work now.
            self.cancel_sleep(worker);
        }
        shared.unparker.unpark();
    }

    fn notify_one(&self) {
        // A worker that stops searching looks at the queues once more
        // before it sleeps (see `work`), so work queued before this check
        // is found either way.
        if self.searching.load(Ordering::SeqCst) > 0 || self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(worker) = sleepers.pop() {
            self.sleeping.store(sleepers.len(), Ordering::SeqCst);
            drop(sleepers);
            self.workers[worker].unparker.unpark();
        }
    }

    fn announce_sleep(&self, worker: usize) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
        sleepers.push(worker);
        self.sleeping.store(sleepers.len(), Ordering::SeqCst);
    }

    fn cancel_sleep(&self, worker: usize) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = sleepers.iter().position(|w| *w == worker) {
            sleepers.swap_remove(at);
        }
        self.sleeping.store(sleepers.len(), Ordering::SeqCst);
    }

    /// Whether any task waits to start.
    pub(crate) fn has_queued(&self) -> bool {
        !self.injector.is_empty() || self.workers.iter().any(|w| !w.stealer.is_empty())
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.workers.len())
            .field("active", &self.active.sum())
            .finish_non_exhaustive()
    }
}

/// Gives the worker back from inside the running task's coroutine.
///
/// # Panics
///
/// If no task's coroutine is running on this thread.
pub(crate) fn suspend(why: Suspend) {
    let yielder = YIELDER.with(Cell::get);
    assert!(
        !yielder.is_null(),
        "knot: a task operation wants to wait on a worker thread outside any task"
    );
    // SAFETY: the pointer was stored by the running coroutine, from the
    // `&Yielder` its body received, when it started or when it was last
    // resumed (just below). That body is on the stack beneath this call, so
    // the yielder is alive; the worker clears the pointer whenever no
    // coroutine runs, so a stale one is never used.
    unsafe { (*yielder).suspend(why) };
    YIELDER.with(|y| y.set(yielder));
}

/// The worker's own queues, stacks and started tasks: owned by its loop,
/// which lends it to each step, and never leaves the worker's thread.
struct Local {
    index: usize,
    /// Shared with [`FRESH`], where the worker's tasks spawn into.
    fresh: Rc<Worker<TaskRef>>,
    parker: Parker,
    /// The started tasks' coroutines; `None` while one runs (it is taken
    /// out) or when the slot is free.
    slots: Vec<Option<Started>>,
    free: Vec<usize>,
    stacks: StackPool,
    /// Tasks that yielded: they run once nothing else is waiting, so that a
    /// task that yields in a loop cannot keep fresh tasks from starting.
    yielded: VecDeque<usize>,
}

struct Started {
    coroutine: Coroutine<(), Suspend, (), DefaultStack>,
    /// The lowest address of its stack mapping: the guard page.
    stack_limit: usize,
    task: TaskRef,
    clock: TaskClock,
    /// The call site of its last knot operation when it last gave the
    /// worker back, for the stall monitor: only this worker ever runs it.
    last_site: Option<&'static Location<'static>>,
}

enum Job {
    Resume(usize),
    Start(TaskRef),
}

thread_local! {
    /// The worker's fresh queue, for the tasks its tasks spawn.
    static FRESH: OnceCell<Rc<Worker<TaskRef>>> = const { OnceCell::new() };
    static CURRENT: Cell<Option<TaskRef>> = const { Cell::new(None) };
    static YIELDER: Cell<*const Yielder<(), Suspend>> = const { Cell::new(std::ptr::null()) };
    static WORKER: Cell<Option<&'static Shared>> = const { Cell::new(None) };
}

/// The worker this thread is, if it is one.
pub(crate) fn worker() -> Option<&'static Shared> {
    WORKER.with(Cell::get)
}

fn work(runtime: &'static Runtime, mut local: Local) {
    let index = local.index;
    let shared = &runtime.workers[index];
    let _executor = knot_core::executor::enter(&crate::live::LIVE);
    WORKER.with(|w| w.set(Some(shared)));
    FRESH.with(|queue| {
        queue.get_or_init(|| Rc::clone(&local.fresh));
    });
    let local = &mut local;
    loop {
        match next_job(runtime, local).or_else(|| spin(runtime, local)) {
            Some(job) => run(runtime, local, job),
            None => {
                runtime.announce_sleep(index);
                fence(Ordering::SeqCst);
                if let Some(job) = next_job(runtime, local) {
                    runtime.cancel_sleep(index);
                    pass_on(runtime);
                    run(runtime, local, job);
                    continue;
                }
                local.parker.park();
                runtime.cancel_sleep(index);
                if let Some(job) = next_job(runtime, local) {
                    pass_on(runtime);
                    run(runtime, local, job);
                }
            }
        }
    }
}

/// Wakes another sleeping worker if tasks still wait to start: a worker
/// that was woken, or that found work as it went to sleep, may have taken
/// other work than the task it was woken for.
fn pass_on(runtime: &Runtime) {
    if runtime.has_queued() {
        runtime.notify_one();
    }
}

/// Runs one job; a panic that escapes it (a bug in knot, since tasks'
/// panics are caught where they run) is reported, and the worker lives on
/// for the other tasks.
fn run(runtime: &'static Runtime, local: &mut Local, job: Job) {
    let index = local.index;
    let result = panic::catch_unwind(AssertUnwindSafe(|| match job {
        Job::Resume(slot) => resume(runtime, local, slot),
        Job::Start(fresh) => start(runtime, local, fresh),
    }));
    if let Err(payload) = result {
        let message = knot_core::task::panic_message(&*payload);
        tracing::error!(target: "knot", worker = index, %message, "a worker caught a panic");
        eprintln!("knot: worker {index} caught a panic outside any task: {message}");
    }
}

/// Looks for work a little longer before the worker sleeps: work often
/// comes within microseconds (the other side of a channel, the next spawn),
/// and finding it awake spares both sides a futex call.
///
/// Meanwhile the worker counts as searching, so that spawners do not wake
/// sleeping workers for work it is about to take; if it finds work and
/// more is queued, it wakes one in their place.
fn spin(runtime: &Runtime, local: &mut Local) -> Option<Job> {
    runtime.searching.fetch_add(1, Ordering::SeqCst);
    let found = search(runtime, local);
    runtime.searching.fetch_sub(1, Ordering::SeqCst);
    if found.is_some() {
        // Ordered after the count, as a sleeping worker's last look is
        // after its announcement: a spawner that saw this worker searching
        // and woke nobody has its task seen here.
        fence(Ordering::SeqCst);
        pass_on(runtime);
    }
    found
}

fn search(runtime: &Runtime, local: &mut Local) -> Option<Job> {
    for round in 0..SPIN_ROUNDS {
        if round < SPIN_ROUNDS / 2 {
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        if let Some(job) = next_job(runtime, local) {
            return Some(job);
        }
    }
    None
}

/// How many more looks for work an idle worker takes before it sleeps.
///
/// Few: each look reads the queues that spawners and wakers write, and on
/// a machine with as many workers as cores an idle worker that keeps
/// looking takes a core from the thread that would give it work.
const SPIN_ROUNDS: usize = 8;

fn next_job(runtime: &Runtime, local: &mut Local) -> Option<Job> {
    let index = local.index;
    let shared = &runtime.workers[index];
    // Each queue is looked at before it is stolen from: most looks find
    // it empty, and saying so costs less than a steal that finds it empty
    // (two loads against a fence for the injectors, a fence against
    // pinning an epoch for the other workers' queues).
    if !shared.pinned.is_empty() {
        if let Some(slot) = steal(|| shared.pinned.steal()) {
            return Some(Job::Resume(slot));
        }
    }
    if let Some(fresh) = local.fresh.pop() {
        return Some(Job::Start(fresh));
    }
    if !runtime.injector.is_empty() {
        if let Some(fresh) = steal(|| runtime.injector.steal_batch_and_pop(&local.fresh)) {
            return Some(Job::Start(fresh));
        }
    }
    let count = runtime.workers.len();
    let first = fastrand::usize(..count);
    (0..count)
        .map(|i| (first + i) % count)
        .filter(|other| *other != index)
        .map(|other| &runtime.workers[other].stealer)
        .filter(|stealer| !stealer.is_empty())
        .find_map(|stealer| steal(|| stealer.steal()))
        .map(Job::Start)
        .or_else(|| local.yielded.pop_front().map(Job::Resume))
}

fn steal<T>(mut attempt: impl FnMut() -> Steal<T>) -> Option<T> {
    loop {
        match attempt() {
            Steal::Success(value) => return Some(value),
            Steal::Empty => return None,
            Steal::Retry => {}
        }
    }
}

fn start(runtime: &'static Runtime, local: &mut Local, task: TaskRef) {
    let index = local.index;
    let stack = match local.stacks.take(task.stack_size()) {
        Ok(stack) => stack,
        Err(error) => {
            tracing::warn!(target: "knot", task = task.id.as_u64(), %error, "task failed to start");
            registry::failed_to_start(&task, error.clone());
            runtime.active.add(-1);
            // The closure is dropped unrun, and its destructors may wait
            // on knot primitives: not here, on a worker outside any task,
            // but on a thread of the blocking pool.
            crate::blocking::detach(Box::new(move || task.run(Start::Fail(error))));
            return;
        }
    };
    let stack_limit = stack.limit().get();
    let runnable = Arc::clone(&task);
    let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Suspend>, ()| {
        YIELDER.with(|y| y.set(yielder));
        runnable.run(Start::Run);
    });
    // The clock is taken only if there can be one, since taking it is an
    // atomic swap.
    let inherited = live_clock::race_detection()
        .then(|| task.take_inherited())
        .flatten();
    let clock = TaskClock::new(inherited);
    let slot = local.free.pop().unwrap_or(local.slots.len());
    // Its home also tells the registry it has started (see `Task::status`).
    task.set_home(index, slot);
    tracing::trace!(target: "knot", task = task.id.as_u64(), worker = index, "start");
    let started = Some(Started {
        coroutine,
        stack_limit,
        task,
        clock,
        last_site: None,
    });
    match local.slots.get_mut(slot) {
        Some(free) => *free = started,
        None => local.slots.push(started),
    }
    resume(runtime, local, slot);
}

fn resume(runtime: &'static Runtime, local: &mut Local, slot: usize) {
    let shared = &runtime.workers[local.index];
    let mut started = local.slots[slot]
        .take()
        .expect("knot: a queued task's coroutine is missing from its worker");
    shared
        .running
        .store(started.task.id.as_u64(), Ordering::Relaxed);
    shared.running_site.store(Some(started.task.site));
    // Its own last knot operation, not the previous task's.
    shared.last_site.store(started.last_site);
    shared
        .stack_limit
        .store(started.stack_limit, Ordering::Relaxed);
    // Only this worker writes it, so no read-modify-write is needed.
    let resumes = shared.resumes.load(Ordering::Relaxed);
    shared.resumes.store(resumes + 1, Ordering::Relaxed);
    let task = started.task;
    // Moved, not cloned, into `CURRENT` while it runs: a reference count
    // change is an atomic read-modify-write.
    CURRENT.with(|c| c.set(Some(task)));
    live_clock::swap(&mut started.clock);
    let result = started.coroutine.resume(());
    live_clock::swap(&mut started.clock);
    YIELDER.with(|y| y.set(std::ptr::null()));
    started.task = CURRENT
        .with(Cell::take)
        .expect("knot: the running task's record left its worker");
    started.last_site = shared.last_site.load();
    shared.running.store(0, Ordering::Relaxed);
    shared.stack_limit.store(0, Ordering::Relaxed);
    match result {
        CoroutineResult::Yield(Suspend::Yield) => {
            local.slots[slot] = Some(started);
            local.yielded.push_back(slot);
        }
        CoroutineResult::Yield(Suspend::Park) => {
            let woken = started.task.park() == Parked::Woken;
            if !woken {
                runtime.active.add(-1);
            }
            local.slots[slot] = Some(started);
            if woken {
                shared.pinned.push(slot);
            }
        }
        CoroutineResult::Return(()) => {
            let Started {
                coroutine, task, ..
            } = started;
            let stack = coroutine.into_stack();
            local.stacks.give(stack, task.stack_size());
            local.free.push(slot);
            // Traced before it leaves the registry, so that whoever sees it
            // gone can find the event.
            tracing::trace!(target: "knot", task = task.id.as_u64(), "exit");
            registry::ended(&task);
            runtime.active.add(-1);
        }
    }
}

static RUNTIME: OnceLock<&'static Runtime> = OnceLock::new();
