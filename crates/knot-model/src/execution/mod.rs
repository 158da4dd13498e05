//! One execution of a program under the checker: its tasks as coroutines,
//! the scheduling loop, and the executor that primitives talk to.
//!
//! Everything runs on the calling OS thread. The state of the running
//! execution sits in a thread-local; the scheduling loop borrows it between
//! coroutine switches, and the primitives borrow it through the executor in
//! [`model`] for the length of one call, never across a switch.

use std::cell::RefCell;
use std::mem;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::time::Duration;

use backtrace::Backtrace;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use knot_core::clock::VectorClock;
use knot_core::executor::{self, BlockedOn, Failure, Resume, TaskKey, Teardown};
use knot_core::object::Object;
use knot_core::op::Op;
use knot_core::task::{self, JoinHandle, TaskConfig, TaskEnd, TaskId};

use crate::dpor::Access;
use crate::panics;
use crate::schedule::Schedule;
use crate::strategy::{Scheduler, TIMER};
use crate::trace::{Event, Trace};

mod model;

use model::Model;

/// Stack size of a task that asks for none.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;

type Task = Coroutine<Resume, Suspend, TaskEnd, DefaultStack>;

/// Why a task's coroutine gave control back to the scheduling loop, and
/// what the loop does next.
///
/// A task that stops running decides what runs after it in the same borrow
/// of the state in which it stops, so that the loop only has to switch
/// coroutines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// Resume this task: the state is ready for it (see
    /// [`Execution::enter`]).
    Resume(usize),
    /// Fire the earliest timer, then decide again.
    Timer,
    /// Nothing can run: judge how the execution ended.
    Judge,
    /// The execution ends now (a failure was recorded, or the task blocked
    /// while the execution is torn down).
    Abort,
}

/// What a task is doing, as the scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Runnable,
    /// Waiting; `ready` once an operation made its wait end.
    Blocked {
        on: BlockedOn,
        ready: bool,
    },
    Finished,
    Panicked,
}

/// A task's slot. Slots are reused from one execution to the next, so their
/// buffers are allocated once.
pub(crate) struct Slot {
    pub(crate) name: Option<String>,
    pub(crate) spawn_site: Option<&'static Location<'static>>,
    pub(crate) state: State,
    pub(crate) panic: Option<String>,
    pub(crate) daemon: bool,
    pub(crate) joined: bool,
    /// The first operation with an effect the task began after main returned.
    pub(crate) late_effect: Option<(Op, &'static Location<'static>)>,
    pub(crate) holds: Vec<Object>,
    /// Whether the task has reached its first operation.
    started: bool,
    /// Whether the task is suspended in [`Executor::block`]: when it is
    /// resumed, the scheduling loop notes that its wait ended.
    ///
    /// [`Executor::block`]: knot_core::executor::Executor::block
    pub(crate) in_block: bool,
    /// The operation the task is suspended at a scheduling point before:
    /// recorded when the scheduling loop resumes the task, as it then goes
    /// ahead (other tasks may have run since it asked).
    pending: Option<(Op, Option<Object>, &'static Location<'static>)>,
    /// Where it was spawned and where it last began to wait, captured only
    /// on the detailed replay that builds a report.
    pub(crate) spawn_stack: Option<Backtrace>,
    pub(crate) wait_stack: Option<Backtrace>,
    /// Happens-before: what this task has seen of the others.
    clock: VectorClock,
    yielder: *const Yielder<Resume, Suspend>,
}

/// A bug found during the execution, before it becomes a report.
#[derive(Debug, Clone)]
pub(crate) enum Finding {
    /// A primitive reported it while `task` ran.
    Primitive {
        task: usize,
        failure: Failure,
    },
    /// Main or a task nobody joined panicked.
    Panic {
        task: usize,
    },
    /// Nothing can run and main has not returned.
    Deadlock,
    /// Main returned; these are blocked forever (leaks) or did work after
    /// it (unjoined).
    Leak(Vec<usize>),
    Unjoined(Vec<usize>),
    /// The execution ran past the step limit.
    StepLimit {
        limit: u64,
    },
    /// A replayed schedule no longer fits the program.
    Diverged(String),
}

/// The state of the running execution.
pub(crate) struct Execution {
    pub(crate) tasks: Vec<Slot>,
    pub(crate) live: usize,
    generation: u32,
    pub(crate) current: usize,
    /// The task that spawned the one being started, to resume once the
    /// child reaches its first operation.
    parent: Option<usize>,
    pub(crate) steps: u64,
    /// Events recorded so far: the operations that went ahead.
    events: u64,
    max_steps: u64,
    pub(crate) main_returned: bool,
    teardown: bool,
    pub(crate) finding: Option<Finding>,
    next_object: u64,
    pub(crate) trace: Trace,
    pub(crate) schedule: Schedule,
    scheduler: Box<dyn Scheduler>,
    runnable: Vec<usize>,
    /// The tasks that can run ([`State::Runnable`], or blocked and ready):
    /// bit `i % 64` of word `i / 64` for task `i`, kept with every change
    /// of state so that choosing a task need not look at every slot.
    can_run: Vec<u64>,
    /// How many bits of `can_run` are set, kept with them: counting them
    /// at every choice would cost more (the baseline x86-64 has no
    /// instruction for it).
    can_run_count: usize,
    stacks: Vec<DefaultStack>,
    stack_size: usize,
    /// The coroutines of the running execution's tasks, by task: the
    /// scheduling loop owns them while it runs and resumes them where they
    /// are; this keeps the buffer from one execution to the next.
    coroutines: Vec<Option<Task>>,
    /// Coroutines of tasks spawned since the scheduling loop last looked,
    /// for it to take in.
    spawned: Vec<(usize, Task)>,
    /// Virtual time.
    now: Duration,
    timers: Vec<PendingTimer>,
    timer_seq: u64,
    /// Whether a task's coroutine is running (rather than the scheduling
    /// loop), so that it can be suspended.
    in_task: bool,
    /// Whether a timer's action is running: its channel operations are not
    /// scheduling points.
    firing: bool,
    /// Whether the scheduler wants every decision point and the objects each
    /// step touched (exhaustive search does; random walks do not pay for it).
    tracking: bool,
    /// Whether the scheduler picks uniformly among the candidates, so that
    /// [`Scheduler::choose_index`] with their number stands for
    /// [`Scheduler::choose`] and no list of them need be built.
    uniform: bool,
    /// The objects the current step touched.
    footprint: Vec<Access>,
    /// The task (or [`TIMER`]) running the current step.
    stepping: Option<usize>,
    /// Whether the scheduler cut the execution short: its rest repeats
    /// explored ones.
    pruned: bool,
    /// How often the scheduler switched away from a task that could go on.
    pub(crate) preemptions: u32,
    /// Whether this is the replay that builds a report: call stacks are
    /// captured and every event goes to `tracing`.
    detailed: bool,
    /// How often a waiting task was made ready.
    wakes: u64,
    pub(crate) races: Races,
    /// While a tick fires with every task waiting: the wake count and timer
    /// number before it, to tell whether it woke anyone.
    firing_stalled: Option<(u64, u64)>,
}

/// Whether this execution tracks happens-before.
///
/// Vector clocks cost work at every synchronising operation, and only
/// programs with a `RaceCell` or a `WaitGroup` need them. Tracking starts
/// with the first execution after one that created such an object; the
/// checker replays that one execution with tracking, so nothing is missed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Races {
    /// The program has created objects checked by happens-before.
    pub(crate) wanted: bool,
    /// This execution moves clocks and checks accesses.
    pub(crate) tracked: bool,
}

impl Races {
    /// Whether this execution needed tracking it did not have.
    pub(crate) fn missed(&self) -> bool {
        self.wanted && !self.tracked
    }
}

/// A timer that has not fired yet.
struct PendingTimer {
    deadline: Duration,
    seq: u64,
    /// One tick of a ticker, which arms the next when it fires.
    periodic: bool,
    /// The task that set the timer, named when it fires.
    owner: usize,
    /// A tick that follows one that woke nobody while no task could run:
    /// firing it would change nothing until some task runs again.
    idle: bool,
    fire: Box<dyn FnOnce() + Send>,
}

/// What runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Task(usize),
    /// The earliest timer fires first.
    Timer,
    /// Nothing can run (or a replay diverged).
    Nothing,
}

thread_local! {
    static EXECUTION: RefCell<Option<Execution>> = const { RefCell::new(None) };
}

/// Whether the calling code runs inside an execution of the checker.
pub(crate) fn is_active() -> bool {
    EXECUTION.with(|e| matches!(e.try_borrow().as_deref(), Ok(Some(_)) | Err(_)))
}

fn with<R>(f: impl FnOnce(&mut Execution) -> R) -> R {
    EXECUTION.with(|e| {
        let mut guard = e.borrow_mut();
        f(guard
            .as_mut()
            .expect("knot: no checker execution on this thread"))
    })
}

/// Holds the thread's execution state for the length of a check.
pub(crate) struct Session {
    _enter: executor::EnterGuard,
    _quiet: panics::Quiet,
}

impl Session {
    /// Installs a fresh execution state and the model executor on this
    /// thread.
    ///
    /// # Panics
    ///
    /// Panics if a check is already running on this thread: checks do not
    /// nest.
    pub(crate) fn start(scheduler: Box<dyn Scheduler>, max_steps: u64) -> Session {
        let tracking = scheduler.wants_every_step();
        let uniform = scheduler.uniform();
        EXECUTION.with(|e| {
            let mut slot = e.borrow_mut();
            assert!(
                slot.is_none(),
                "knot: a check cannot run inside another check"
            );
            *slot = Some(Execution {
                tasks: Vec::new(),
                live: 0,
                generation: 0,
                current: 0,
                parent: None,
                steps: 0,
                events: 0,
                max_steps,
                main_returned: false,
                teardown: false,
                finding: None,
                next_object: 0,
                trace: Trace::default(),
                schedule: Schedule::default(),
                scheduler,
                runnable: Vec::new(),
                can_run: Vec::new(),
                can_run_count: 0,
                stacks: Vec::new(),
                stack_size: DEFAULT_STACK_SIZE,
                coroutines: Vec::new(),
                spawned: Vec::new(),
                now: Duration::ZERO,
                timers: Vec::new(),
                timer_seq: 0,
                in_task: false,
                firing: false,
                tracking,
                uniform,
                footprint: Vec::new(),
                stepping: None,
                pruned: false,
                preemptions: 0,
                detailed: false,
                wakes: 0,
                firing_stalled: None,
                races: Races::default(),
            });
        });
        Session {
            _enter: executor::enter(&Model),
            _quiet: panics::quiet(),
        }
    }

    /// Prepares the scheduler's next execution; false when it has explored
    /// everything.
    pub(crate) fn next_execution(&self) -> bool {
        with(|ex| ex.scheduler.next_execution())
    }

    /// Makes the next executions detailed: call stacks and `tracing` events.
    pub(crate) fn set_detailed(&self) {
        with(|ex| {
            ex.detailed = true;
            ex.hint();
        });
    }

    /// Replaces the scheduler, for the next execution; returns the old one.
    pub(crate) fn set_scheduler(&self, scheduler: Box<dyn Scheduler>) -> Box<dyn Scheduler> {
        with(|ex| {
            ex.tracking = scheduler.wants_every_step();
            ex.uniform = scheduler.uniform();
            ex.hint();
            mem::replace(&mut ex.scheduler, scheduler)
        })
    }

    /// Makes every execution from the next one on track happens-before.
    pub(crate) fn want_races(&self) {
        with(|ex| ex.races.wanted = true);
    }

    /// How deep the scheduler's current path is.
    pub(crate) fn depth(&self) -> usize {
        with(|ex| ex.scheduler.depth())
    }

    /// Runs one execution of `main` to its end, lets `inspect` read its
    /// final state (before teardown releases what tasks hold), and tears it
    /// down.
    pub(crate) fn execute<R>(
        &self,
        main: &Rc<dyn Fn()>,
        inspect: impl FnOnce(&Execution) -> R,
    ) -> R {
        let main = Rc::clone(main);
        let (stack, mut coroutines) = with(|ex| {
            ex.reset();
            ex.new_task(TaskConfig::default(), None);
            (ex.take_stack(None), mem::take(&mut ex.coroutines))
        });
        let coroutine = stack.map(|stack| {
            Coroutine::with_stack(stack, move |yielder: &Yielder<Resume, Suspend>, input| {
                register(yielder);
                if input == Resume::Teardown {
                    return never_started(main);
                }
                match panic::catch_unwind(AssertUnwindSafe(|| main())) {
                    Ok(()) => TaskEnd::Returned,
                    Err(payload) if payload.is::<Teardown>() => TaskEnd::TornDown,
                    Err(payload) => TaskEnd::Panicked(task::panic_message(&*payload)),
                }
            })
        });
        match coroutine {
            Ok(coroutine) => match coroutines.first_mut() {
                Some(first) => *first = Some(coroutine),
                None => coroutines.push(Some(coroutine)),
            },
            Err(e) => panic!("knot: cannot allocate a task stack: {e}"),
        }
        run_loop(&mut coroutines);
        let result = with(|ex| {
            ex.end_steps();
            ex.schedule.steps = ex.steps;
            ex.scheduler.end(ex.steps);
            let result = inspect(ex);
            ex.teardown = true;
            ex.hint();
            take_spawned(ex, &mut coroutines);
            result
        });
        teardown(coroutines);
        result
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The state (stack pool included) is freed here; no coroutine is
        // alive, so no destructor can reach back into it.
        let state = EXECUTION.with(|e| e.borrow_mut().take());
        drop(state);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// Starts a task in the running execution.
pub(crate) fn spawn<F, T>(
    config: TaskConfig,
    f: F,
    site: &'static Location<'static>,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    executor::operation(Op::Spawn, None, site);
    let stack_size = config.stack_size;
    let (id, stack) = with(|ex| {
        let id = ex.new_task(config, Some(site));
        if ex.detailed {
            ex.tasks[id].spawn_stack = Some(Backtrace::new_unresolved());
            tracing::info!(target: "knot", task = id, name = %crate::report::task_name(ex, id), %site, "spawned");
        }
        (id, ex.take_stack(stack_size))
    });
    let stack = stack.unwrap_or_else(|e| panic!("knot: cannot allocate a task stack: {e}"));
    let (handle, completion) = task::result_slot(TaskId::new(id as u64), site);
    let mut coroutine =
        Coroutine::with_stack(stack, move |yielder: &Yielder<Resume, Suspend>, input| {
            register(yielder);
            if input == Resume::Teardown {
                return never_started((f, completion));
            }
            task::run_task(f, completion)
        });
    // The child's code up to its first operation touches nothing other tasks
    // can see, so it runs as part of this step: scheduling it separately
    // would only add interleavings that differ in invisible work.
    let start = with(|ex| {
        (ex.in_task && !ex.teardown).then(|| {
            let parent = ex.current;
            let yielder = ex.yielder();
            ex.parent = Some(parent);
            ex.enter(id);
            (parent, yielder)
        })
    });
    let Some((parent, yielder)) = start else {
        with(|ex| ex.spawned.push((id, coroutine)));
        return handle;
    };
    // The parent resumes the child itself, not through the scheduling
    // loop: from the parent to the child and back is then one switch of
    // stacks each way, where through the loop it was two.
    let next = match coroutine.resume(Resume::Run) {
        CoroutineResult::Yield(next) => {
            with(|ex| ex.spawned.push((id, coroutine)));
            next
        }
        CoroutineResult::Return(end) => with(|ex| ex.ended(id, end, Some(coroutine.into_stack()))),
    };
    // Normally the child stopped at its first operation, or ended, and
    // made the parent the running task again. Otherwise (the child failed
    // the execution) the loop takes it from here.
    if next != Suspend::Resume(parent) && yielder.suspend(next) == Resume::Teardown {
        panic::resume_unwind(Box::new(Teardown));
    }
    handle
}

/// Ends a task that never ran, dropping what its closure captured inside
/// its own coroutine, where knot operations in destructors are safe.
fn never_started<C>(captured: C) -> TaskEnd {
    // A destructor that fails a check during teardown unwinds with the
    // teardown payload; there is nothing left to report.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(captured)));
    TaskEnd::TornDown
}

/// Remembers the running coroutine's yielder so that operations deep in its
/// call stack can suspend it.
fn register(yielder: &Yielder<Resume, Suspend>) {
    with(|ex| {
        let current = ex.current;
        ex.tasks[current].yielder = yielder;
    });
}

/// Gives control back to the scheduling loop, which does `why` next.
fn suspend(why: Suspend) -> Resume {
    with(Execution::yielder).suspend(why)
}

/// The means to suspend the running task's coroutine, taken from the state
/// by [`Execution::yielder`] so that the suspension itself happens after the
/// borrow of the state ends.
#[derive(Clone, Copy)]
pub(crate) struct TaskYielder(*const Yielder<Resume, Suspend>);

impl TaskYielder {
    /// Gives control back to the scheduling loop.
    #[inline]
    pub(crate) fn suspend(self, why: Suspend) -> Resume {
        // SAFETY: `register` stored this pointer when the running coroutine
        // started, from the `&Yielder` its body received, and
        // `Execution::yielder` took it for the running task. A
        // `TaskYielder` is used at once by the task that took it (it
        // never outlives the call that made it), so that body is still on
        // the stack beneath this call, the yielder is alive, and only this
        // coroutine uses it.
        unsafe { (*self.0).suspend(why) }
    }
}

/// Moves the coroutines of newly spawned tasks to their places.
#[inline]
fn take_spawned(ex: &mut Execution, coroutines: &mut Vec<Option<Task>>) {
    if !ex.spawned.is_empty() {
        place_spawned(ex, coroutines);
    }
}

#[inline(never)]
fn place_spawned(ex: &mut Execution, coroutines: &mut Vec<Option<Task>>) {
    // Each goes to its own place: the order does not matter, and popping
    // costs less than draining.
    while let Some((id, coroutine)) = ex.spawned.pop() {
        if id >= coroutines.len() {
            coroutines.resize_with(id + 1, || None);
        }
        coroutines[id] = Some(coroutine);
    }
}

/// Resumes tasks until none can run or the execution fails.
fn run_loop(coroutines: &mut Vec<Option<Task>>) {
    let mut next = with(|ex| {
        ex.enter(0);
        Suspend::Resume(0)
    });
    loop {
        next = match next {
            Suspend::Resume(task) => {
                let coroutine = match coroutines.get_mut(task).and_then(Option::as_mut) {
                    Some(coroutine) => coroutine,
                    // A task spawned since the loop last looked.
                    None => {
                        with(|ex| take_spawned(ex, coroutines));
                        coroutines[task]
                            .as_mut()
                            .expect("knot: a runnable task has no coroutine")
                    }
                };
                match coroutine.resume(Resume::Run) {
                    // The task decided what runs next before it stopped.
                    CoroutineResult::Yield(next) => next,
                    CoroutineResult::Return(end) => with(|ex| {
                        take_spawned(ex, coroutines);
                        let stack = coroutines[task].take().map(Coroutine::into_stack);
                        ex.ended(task, end, stack)
                    }),
                }
            }
            Suspend::Timer => {
                if fire_timer() {
                    return;
                }
                with(Execution::after)
            }
            Suspend::Judge => break,
            Suspend::Abort => {
                with(|ex| ex.in_task = false);
                return;
            }
        };
    }
    with(Execution::judge_end);
}

/// Fires the earliest pending timer; returns true if that ran past the step
/// limit.
fn fire_timer() -> bool {
    let fire = with(|ex| {
        ex.steps += 1;
        if ex.steps > ex.max_steps {
            ex.finding = Some(Finding::StepLimit {
                limit: ex.max_steps,
            });
            return None;
        }
        let earliest =
            (0..ex.timers.len()).min_by_key(|&i| (ex.timers[i].deadline, ex.timers[i].seq))?;
        let timer = ex.timers.swap_remove(earliest);
        ex.now = ex.now.max(timer.deadline);
        // While every task waits, a tick that wakes nobody is followed by
        // ticks that would wake nobody either.
        let stalled = timer.periodic && ex.can_run.iter().all(|&bits| bits == 0);
        ex.firing_stalled = stalled.then_some((ex.wakes, ex.timer_seq));
        if ex.tracking {
            ex.footprint.push(Access::timers());
        }
        ex.firing = true;
        ex.hint();
        Some((timer.fire, timer.owner))
    });
    let Some((fire, owner)) = fire else {
        return true;
    };
    fire();
    with(|ex| {
        ex.firing = false;
        ex.hint();
        if let Some((wakes, seq)) = ex.firing_stalled.take() {
            if ex.wakes == wakes {
                for timer in ex.timers.iter_mut().filter(|t| t.periodic && t.seq > seq) {
                    timer.idle = true;
                }
            }
        }
        ex.count_event(owner, Op::Fire, None, None, false);
    });
    false
}

/// Ends every task that is still suspended, unwinding its stack while knot
/// operations do nothing, then drops the timers that did not fire.
///
/// The state is marked as torn down already. The list of coroutines goes
/// back to the state afterwards, empty but keeping its length for the next
/// execution.
fn teardown(mut coroutines: Vec<Option<Task>>) {
    // Only the tasks that still have a coroutine need anything: the others
    // finished. A destructor may spawn more, which join the list.
    let mut task = 0;
    while task < coroutines.len() {
        let Some(mut coroutine) = coroutines[task].take() else {
            task += 1;
            continue;
        };
        with(|ex| {
            ex.set_current(task);
            ex.in_task = true;
        });
        // A task that never started drops its closure in its own
        // coroutine; one that is suspended unwinds from where it waits.
        let stack = match coroutine.resume(Resume::Teardown) {
            CoroutineResult::Return(_) => Some(coroutine.into_stack()),
            // A destructor blocked during teardown. Its coroutine can
            // neither finish nor be dropped (dropping would unwind it once
            // more), so it is abandoned with its stack.
            CoroutineResult::Yield(_) => {
                mem::forget(coroutine);
                None
            }
        };
        with(|ex| {
            ex.stacks.extend(stack);
            ex.in_task = false;
            take_spawned(ex, &mut coroutines);
        });
        task += 1;
    }
    // Timers are dropped outside the state: their actions' captures may run
    // knot code.
    let timers = with(|ex| mem::take(&mut ex.timers));
    drop(timers);
    with(|ex| {
        ex.teardown = false;
        ex.hint();
        ex.coroutines = coroutines;
    });
}

impl Execution {
    fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.set_current(0);
        self.live = 0;
        self.parent = None;
        self.steps = 0;
        self.events = 0;
        self.main_returned = false;
        self.finding = None;
        self.next_object = 0;
        self.trace.clear();
        self.can_run.fill(0);
        self.can_run_count = 0;
        self.races.tracked = self.races.wanted;
        self.hint();
        self.now = Duration::ZERO;
        self.timer_seq = 0;
        self.schedule.steps = 0;
        self.schedule.choices.clear();
        self.footprint.clear();
        self.stepping = None;
        self.pruned = false;
        self.preemptions = 0;
        self.scheduler.begin();
    }

    /// Tells the primitives in advance what [`Model`]'s `tracks_races` and
    /// `touch` do, after a change to what they depend on.
    fn hint(&self) {
        executor::set_hints(executor::Hints {
            tracks_races: Some(self.races.tracked && !self.teardown && !self.firing),
            skip_touches: !self.tracking || self.teardown,
            // What tasks hold only goes into reports, which are built from
            // the detailed replay.
            skip_holds: !self.detailed,
            // The checker replays schedules exactly.
            shortcuts: Some(false),
        });
    }

    fn new_task(&mut self, config: TaskConfig, site: Option<&'static Location<'static>>) -> usize {
        let id = self.live;
        self.live += 1;
        if id < self.tasks.len() {
            // Reset in place, keeping the buffers.
            let old = &mut self.tasks[id];
            old.name = config.name;
            old.spawn_site = site;
            old.state = State::Runnable;
            old.panic = None;
            old.daemon = config.daemon;
            old.joined = false;
            old.late_effect = None;
            old.holds.clear();
            old.started = site.is_none();
            old.in_block = false;
            old.pending = None;
            // Stacks are taken only for a detailed replay: most slots have
            // none, and need no call to drop one.
            if old.spawn_stack.is_some() {
                old.spawn_stack = None;
            }
            if old.wait_stack.is_some() {
                old.wait_stack = None;
            }
            old.clock.clear();
            old.yielder = std::ptr::null();
        } else {
            self.tasks.push(Slot {
                name: config.name,
                spawn_site: site,
                state: State::Runnable,
                panic: None,
                daemon: config.daemon,
                joined: false,
                late_effect: None,
                holds: Vec::new(),
                started: site.is_none(),
                in_block: false,
                pending: None,
                spawn_stack: None,
                wait_stack: None,
                clock: VectorClock::new(),
                yielder: std::ptr::null(),
            });
        }
        if id / 64 >= self.can_run.len() {
            self.can_run.resize(id / 64 + 1, 0);
        }
        self.mark(id, true);
        // A spawned task starts with everything its parent did; both then
        // move on separately.
        if self.races.tracked {
            if id > 0 {
                let parent = self.current;
                let (before, after) = self.tasks.split_at_mut(id);
                after[0].clock.join(&before[parent].clock);
                before[parent].clock.tick(parent);
            }
            self.tasks[id].clock.tick(id);
        }
        self.scheduler.spawned(id);
        id
    }

    /// Notes that `task` ended, its coroutine having returned `end` and
    /// left `stack` for another, and decides what runs next.
    fn ended(&mut self, task: usize, end: TaskEnd, stack: Option<DefaultStack>) -> Suspend {
        self.in_task = false;
        self.stacks.extend(stack);
        self.finish(task, end);
        if self.finding.is_some() {
            return Suspend::Abort;
        }
        self.after()
    }

    /// Decides what runs now that the running task has stopped (it
    /// blocked, reached its first operation or finished) and prepares it:
    /// the task that spawned it if it was being started, otherwise the
    /// scheduler's choice.
    pub(crate) fn after(&mut self) -> Suspend {
        let task = match self.parent.take() {
            Some(parent) => parent,
            None => match self.pick(None) {
                Next::Task(task) => task,
                Next::Timer => {
                    self.in_task = false;
                    return Suspend::Timer;
                }
                Next::Nothing => {
                    self.in_task = false;
                    return Suspend::Judge;
                }
            },
        };
        self.enter(task);
        Suspend::Resume(task)
    }

    /// Prepares the state for `task` to run: it becomes the current task,
    /// the end of its wait is noted, and the operation it was suspended
    /// before is recorded, as it now goes ahead.
    #[inline]
    pub(crate) fn enter(&mut self, task: usize) {
        self.set_current(task);
        self.in_task = true;
        for timer in &mut self.timers {
            timer.idle = false;
        }
        // One look at the task's slot: whether it is resumed from a block,
        // whether it is runnable already, and whether it was about to do
        // something. What it waited on and what it was about to do are
        // copied out only where they are noted.
        let slot = &mut self.tasks[task];
        let woken = slot.in_block && matches!(slot.state, State::Blocked { .. });
        if woken {
            slot.in_block = false;
        }
        let runnable = matches!(slot.state, State::Runnable);
        let pending = slot.pending.is_some();
        let noted = self.main_returned || self.tracking;
        if woken && noted {
            self.note_wake(task);
        }
        if !runnable {
            self.set_state(task, State::Runnable);
        }
        if pending {
            if noted || self.detailed {
                self.record_pending(task);
            } else {
                self.tasks[task].pending = None;
                self.events += 1;
            }
        }
    }

    /// What [`enter`](Self::enter) notes of a wait that ended: the
    /// operation completes now, which may be after main returned even
    /// though it was asked for before.
    #[cold]
    #[inline(never)]
    fn note_wake(&mut self, task: usize) {
        let State::Blocked { on, .. } = self.tasks[task].state else {
            return;
        };
        self.note_effect(on.op, on.site);
        if self.tracking {
            self.footprint.push(Access::wake(&on.object, on.op));
        }
    }

    /// Records the operation `task` was suspended before, as it now goes
    /// ahead, where more than the count of events is kept.
    #[cold]
    #[inline(never)]
    fn record_pending(&mut self, task: usize) {
        if let Some((op, object, site)) = self.tasks[task].pending.take() {
            self.record(op, object.as_ref(), site);
        }
    }

    fn take_stack(&mut self, size: Option<usize>) -> std::io::Result<DefaultStack> {
        match size {
            Some(size) if size != self.stack_size => DefaultStack::new(size),
            _ => match self.stacks.pop() {
                Some(stack) => Ok(stack),
                None => DefaultStack::new(self.stack_size),
            },
        }
    }

    /// The yielder of the running task, to suspend it once the state is
    /// no longer borrowed.
    ///
    /// # Panics
    ///
    /// Panics if no task of the checker is running.
    #[inline(always)]
    pub(crate) fn yielder(&mut self) -> TaskYielder {
        assert!(
            self.in_task,
            "knot: a task operation wants to wait outside any task of the checker"
        );
        TaskYielder(self.tasks[self.current].yielder)
    }

    /// Makes `task` the current task, and tells the primitives in advance
    /// (see [`executor::set_current`]).
    #[inline]
    fn set_current(&mut self, task: usize) {
        self.current = task;
        executor::set_current(Some(self.key(task)));
    }

    fn key(&self, task: usize) -> TaskKey {
        TaskKey((u64::from(self.generation) << 32) | task as u64)
    }

    /// Sets a task's state, keeping [`can_run`](Self::can_run) current.
    #[inline(always)]
    pub(crate) fn set_state(&mut self, task: usize, state: State) {
        let can_run = matches!(state, State::Runnable | State::Blocked { ready: true, .. });
        self.tasks[task].state = state;
        self.mark(task, can_run);
    }

    /// Marks `task` as one that can run, or not.
    #[inline]
    pub(crate) fn mark(&mut self, task: usize, can_run: bool) {
        let (word, bit) = (task / 64, 1u64 << (task % 64));
        let bits = &mut self.can_run[word];
        let was = *bits & bit != 0;
        if can_run {
            *bits |= bit;
        } else {
            *bits &= !bit;
        }
        self.can_run_count = self.can_run_count + usize::from(can_run) - usize::from(was);
    }

    /// Whether `task` can run.
    fn can_run(&self, task: usize) -> bool {
        self.can_run
            .get(task / 64)
            .is_some_and(|bits| bits & (1u64 << (task % 64)) != 0)
    }

    /// Counts an event of `task` that no operation's path records, and
    /// keeps it in the detailed replay.
    fn count_event(
        &mut self,
        task: usize,
        op: Op,
        object: Option<Object>,
        site: Option<&'static Location<'static>>,
        blocks: bool,
    ) {
        self.events += 1;
        if self.detailed {
            self.trace.push(Event {
                step: self.events,
                task,
                op,
                object,
                site,
                blocks,
            });
        }
    }

    /// Records an operation that went ahead. Only the detailed replay that
    /// builds a report keeps the events; the others just count them.
    #[inline]
    fn record(&mut self, op: Op, object: Option<&Object>, site: &'static Location<'static>) {
        self.events += 1;
        if self.detailed || self.tracking {
            self.record_more(op, object, site);
        }
        if self.main_returned {
            self.note_effect(op, site);
        }
    }

    /// What [`record`](Self::record) does for the detailed replay and for
    /// schedulers that track every step.
    #[cold]
    #[inline(never)]
    fn record_more(&mut self, op: Op, object: Option<&Object>, site: &'static Location<'static>) {
        if self.detailed {
            self.trace_event(op, object, site, false);
            self.trace.push(Event {
                step: self.events,
                task: self.current,
                op,
                object: object.copied(),
                site: Some(site),
                blocks: false,
            });
        }
        if self.tracking {
            if let Some(object) = object {
                self.footprint.push(Access::of(object, op));
            }
        }
    }

    /// Records that the running task started waiting in `op`.
    #[inline]
    fn trace_wait(&mut self, op: Op, object: Option<&Object>, site: &'static Location<'static>) {
        if self.detailed {
            self.trace_wait_detailed(op, object, site);
        }
        self.events += 1;
    }

    /// What [`trace_wait`](Self::trace_wait) does for the detailed replay.
    #[cold]
    #[inline(never)]
    fn trace_wait_detailed(
        &mut self,
        op: Op,
        object: Option<&Object>,
        site: &'static Location<'static>,
    ) {
        self.trace_event(op, object, site, true);
        self.trace.push(Event {
            step: self.events + 1,
            task: self.current,
            op,
            object: object.copied(),
            site: Some(site),
            blocks: true,
        });
    }

    /// Sends one event of the detailed replay to `tracing`.
    fn trace_event(
        &self,
        op: Op,
        object: Option<&Object>,
        site: &'static Location<'static>,
        waits: bool,
    ) {
        let task = self.current;
        let name = crate::report::task_name(self, task);
        let object = object.map(ToString::to_string).unwrap_or_default();
        if waits {
            tracing::info!(target: "knot", step = self.events + 1, task, %name, op = op.name(), %object, %site, "waits");
        } else {
            tracing::info!(target: "knot", step = self.events + 1, task, %name, op = op.name(), %object, %site, "event");
        }
    }

    /// Remembers the first effect of the running task after main returned.
    #[inline]
    fn note_effect(&mut self, op: Op, site: &'static Location<'static>) {
        if !self.main_returned {
            return;
        }
        let slot = &mut self.tasks[self.current];
        if op.has_effect() && !slot.daemon && slot.late_effect.is_none() {
            slot.late_effect = Some((op, site));
        }
    }

    /// Chooses what runs next: a task that can run, or the earliest timer.
    /// `current` is the task at a scheduling point, which may go on.
    #[inline]
    fn pick(&mut self, current: Option<usize>) -> Next {
        // The commonest case first: a uniform choice among at most 64
        // tasks and no timer, with nothing to note but the choice.
        if let (false, None, false, true, &[bits]) = (
            self.tracking || !self.uniform,
            &self.finding,
            self.pruned,
            self.timers.is_empty(),
            &self.can_run[..],
        ) {
            debug_assert_eq!(self.can_run_count, bits.count_ones() as usize);
            let chosen = match self.can_run_count {
                0 => return Next::Nothing,
                1 => bits.trailing_zeros() as usize,
                count => {
                    let index = self.scheduler.choose_index(count).unwrap_or(0);
                    let mut bits = bits;
                    for _ in 0..index {
                        bits &= bits - 1;
                    }
                    let chosen = bits.trailing_zeros() as usize;
                    self.schedule.choices.push(chosen as u32);
                    chosen
                }
            };
            self.stepping = Some(chosen);
            if current.is_some_and(|c| c != chosen && bits & (1u64 << c) != 0) {
                self.preemptions += 1;
            }
            return Next::Task(chosen);
        }
        self.pick_any(current)
    }

    /// [`pick`](Self::pick) for every case.
    #[inline(never)]
    fn pick_any(&mut self, current: Option<usize>) -> Next {
        if self.finding.is_some() || self.pruned {
            return Next::Nothing;
        }
        let timer = !self.timers.is_empty() && self.timers.iter().any(|t| !t.idle);
        let chosen = match (self.tracking || !self.uniform, &self.can_run[..]) {
            // A uniform choice among at most 64 tasks needs only their
            // number and the one at the index drawn: no list is built.
            (false, &[bits]) => {
                let tasks = bits.count_ones() as usize;
                match tasks + usize::from(timer) {
                    0 => return Next::Nothing,
                    1 if tasks == 0 => TIMER,
                    1 => bits.trailing_zeros() as usize,
                    count => {
                        let index = self.scheduler.choose_index(count).unwrap_or(0);
                        let chosen = if index >= tasks {
                            TIMER
                        } else {
                            let mut bits = bits;
                            for _ in 0..index {
                                bits &= bits - 1;
                            }
                            bits.trailing_zeros() as usize
                        };
                        self.schedule.choices.push(if chosen == TIMER {
                            crate::schedule::TIMER
                        } else {
                            chosen as u32
                        });
                        chosen
                    }
                }
            }
            _ => match self.pick_listed(current, timer) {
                Some(chosen) => chosen,
                None => return Next::Nothing,
            },
        };
        self.stepping = Some(chosen);
        if current.is_some_and(|c| c != chosen && self.can_run(c)) {
            self.preemptions += 1;
        }
        if chosen == TIMER {
            Next::Timer
        } else {
            Next::Task(chosen)
        }
    }

    /// Chooses what runs next from the list of candidates, for schedulers
    /// that look at them all; `None` ends the execution.
    #[inline(never)]
    fn pick_listed(&mut self, current: Option<usize>, timer: bool) -> Option<usize> {
        self.runnable.clear();
        for (word, &bits) in self.can_run.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                self.runnable
                    .push(word * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        if timer {
            self.runnable.push(TIMER);
        }
        if self.tracking {
            self.scheduler.step(self.stepping, &self.footprint);
            self.footprint.clear();
        }
        let chosen = match self.runnable.len() {
            0 => return None,
            1 if !self.tracking => self.runnable[0],
            1 => match self.scheduler.choose(&self.runnable, current, self.steps) {
                Some(choice) => choice,
                None => {
                    self.stop_or_diverge("the exploration lost its way");
                    return None;
                }
            },
            count => match if self.uniform && !self.tracking {
                let index = self.scheduler.choose_index(count).unwrap_or(0);
                Some(self.runnable[index])
            } else {
                self.scheduler.choose(&self.runnable, current, self.steps)
            } {
                Some(choice) => {
                    self.schedule.choices.push(if choice == TIMER {
                        crate::schedule::TIMER
                    } else {
                        choice as u32
                    });
                    choice
                }
                None => {
                    self.stop_or_diverge("the schedule names a task that cannot run");
                    return None;
                }
            },
        };
        Some(chosen)
    }

    /// Tells the scheduler about the last step of the execution.
    fn end_steps(&mut self) {
        if self.tracking {
            self.scheduler.step(self.stepping.take(), &self.footprint);
            self.footprint.clear();
        }
    }

    /// Ends the execution without a finding if the scheduler pruned it, and
    /// as a divergence otherwise.
    fn stop_or_diverge(&mut self, what: &str) {
        if self.scheduler.pruned() {
            self.pruned = true;
        } else {
            self.diverged(what);
        }
    }

    fn diverged(&mut self, what: &str) {
        let runnable: Vec<String> = self
            .runnable
            .iter()
            .map(|&t| {
                if t == TIMER {
                    String::from("t")
                } else {
                    t.to_string()
                }
            })
            .collect();
        self.finding = Some(Finding::Diverged(format!(
            "at step {}, choice {}: {what} (the options were: {})",
            self.steps,
            self.schedule.choices.len() + 1,
            runnable.join(", ")
        )));
    }

    fn finish(&mut self, task: usize, end: TaskEnd) {
        let finished = match end {
            TaskEnd::Panicked(_) => State::Panicked,
            _ => State::Finished,
        };
        self.set_state(task, finished);
        let slot = &mut self.tasks[task];
        match end {
            TaskEnd::Returned | TaskEnd::TornDown => {}
            TaskEnd::Panicked(message) => {
                slot.panic = Some(match panics::take_site() {
                    Some(site) => format!("{message} (at {site})"),
                    None => message,
                });
            }
        }
        if task == 0 {
            self.main_returned = true;
            if slot.state == State::Panicked {
                self.finding = Some(Finding::Panic { task: 0 });
            }
        }
    }

    /// Decides what the end of an execution means once no task can run.
    fn judge_end(&mut self) {
        if self.finding.is_some() || self.pruned {
            return;
        }
        let tasks = &self.tasks[..self.live];
        if let Some(task) = tasks
            .iter()
            .position(|t| t.state == State::Panicked && !t.joined)
        {
            self.finding = Some(Finding::Panic { task });
            return;
        }
        if !self.main_returned {
            self.finding = Some(Finding::Deadlock);
            return;
        }
        let leaked = |t: &Slot| !t.daemon && matches!(t.state, State::Blocked { .. });
        let unjoined = |t: &Slot| !t.daemon && t.late_effect.is_some();
        // Most executions end clean: look before collecting.
        if tasks.iter().any(leaked) {
            let leaked = (0..self.live).filter(|&t| leaked(&tasks[t])).collect();
            self.finding = Some(Finding::Leak(leaked));
        } else if tasks.iter().any(unjoined) {
            let unjoined = (0..self.live).filter(|&t| unjoined(&tasks[t])).collect();
            self.finding = Some(Finding::Unjoined(unjoined));
        }
    }
}
