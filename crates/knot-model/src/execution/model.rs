//! The executor the primitives talk to while a check runs: every visible
//! operation is a scheduling point here, and every wait, wake, clock and
//! timer goes through the running execution's state.

use std::panic::Location;
use std::thread;
use std::time::Duration;

use backtrace::Backtrace;
use knot_core::clock::VectorClock;
use knot_core::executor::{BlockedOn, Executor, Failure, FailureKind, Resume, TaskKey};
use knot_core::object::Object;
use knot_core::op::Op;

use super::{
    fire_timer, suspend, with, Execution, Finding, Next, PendingTimer, State, Suspend, TaskYielder,
};
use crate::dpor::Access;

/// What a scheduling point decides for the task that reached it.
enum Step {
    /// Not an event (teardown, a timer's action, unwinding): carry on.
    Inert,
    /// The task goes on at once (its operation is recorded already).
    Go,
    /// Another task, or nothing, runs now: the task suspends with this
    /// yielder.
    Suspend(Suspend, TaskYielder),
    /// The earliest timer fires first; then decide again.
    FireTimer,
}

/// A scheduling point before `op`: the scheduler picks what runs next, and
/// the operation is recorded when this task goes ahead. `wait` is set for an
/// operation that may have to wait, with whether it could complete now: the
/// task is then only picked once it can.
#[inline]
fn point(
    op: Op,
    object: Option<&Object>,
    site: &'static Location<'static>,
    wait: Option<(&BlockedOn, bool)>,
) -> Resume {
    match decide(op, object, site, wait, true) {
        Step::Inert | Step::Go => Resume::Run,
        // The scheduling loop records the operation when it resumes the
        // task to go ahead: not when it asked, as other tasks may run in
        // between.
        Step::Suspend(why, yielder) => yielder.suspend(why),
        Step::FireTimer => point_after_timers(op, object, site, wait),
    }
}

/// The rest of [`point`] once the scheduler chose to fire a timer: time
/// passes while the task works, so the timer fires, then the scheduler
/// decides again. Out of line, so that the common case stays small.
#[cold]
#[inline(never)]
fn point_after_timers(
    op: Op,
    object: Option<&Object>,
    site: &'static Location<'static>,
    wait: Option<(&BlockedOn, bool)>,
) -> Resume {
    loop {
        if fire_timer() {
            // The execution ends; the task is only resumed to be torn down.
            return suspend(Suspend::Abort);
        }
        with(|ex| ex.steps -= 1);
        match decide(op, object, site, wait, false) {
            Step::Inert | Step::Go => return Resume::Run,
            Step::Suspend(why, yielder) => return yielder.suspend(why),
            Step::FireTimer => {}
        }
    }
}

/// What a scheduling point decides, in one borrow of the state; `first` is
/// false when the task asks again after a timer fired.
#[inline]
fn decide(
    op: Op,
    object: Option<&Object>,
    site: &'static Location<'static>,
    wait: Option<(&BlockedOn, bool)>,
    first: bool,
) -> Step {
    with(move |ex| {
        if ex.firing && ex.tracking {
            if let Some(object) = object {
                ex.footprint.push(Access::of(object, op));
            }
        }
        if ex.teardown || ex.firing || !ex.in_task || thread::panicking() {
            return Step::Inert;
        }
        let task = ex.current;
        if !ex.tasks[task].started {
            // The end of the spawn that started it: the task now waits
            // to be scheduled like any other.
            ex.tasks[task].started = true;
            if let Some((&on, ready)) = wait {
                ex.set_state(task, State::Blocked { on, ready });
                if !ready {
                    ex.trace_wait(op, object, site);
                }
            }
            ex.tasks[task].pending = Some((op, object.copied(), site));
            let yielder = ex.yielder();
            return Step::Suspend(ex.after(), yielder);
        }
        ex.steps += 1;
        if ex.steps > ex.max_steps {
            ex.finding = Some(Finding::StepLimit {
                limit: ex.max_steps,
            });
            return Step::Suspend(Suspend::Abort, ex.yielder());
        }
        if let (Some((&on, ready)), true) = (wait, first) {
            ex.set_state(task, State::Blocked { on, ready });
            if ex.detailed {
                ex.tasks[task].wait_stack = Some(Backtrace::new_unresolved());
            }
        }
        if matches!(ex.tasks[task].state, State::Blocked { ready: false, .. }) {
            // It cannot go on; the scheduling loop picks who runs.
            if first {
                ex.trace_wait(op, object, site);
            }
            ex.tasks[task].pending = Some((op, object.copied(), site));
            let yielder = ex.yielder();
            return Step::Suspend(ex.after(), yielder);
        }
        match ex.pick(Some(task)) {
            Next::Task(next) if next == task => {
                // A task at a plain operation is runnable already.
                if !matches!(ex.tasks[task].state, State::Runnable) {
                    ex.set_state(task, State::Runnable);
                }
                // Recorded now: it goes ahead at once.
                ex.record(op, object, site);
                Step::Go
            }
            Next::Task(next) => {
                ex.tasks[task].pending = Some((op, object.copied(), site));
                let yielder = ex.yielder();
                ex.enter(next);
                Step::Suspend(Suspend::Resume(next), yielder)
            }
            Next::Timer => Step::FireTimer,
            Next::Nothing => Step::Suspend(Suspend::Abort, ex.yielder()),
        }
    })
}

/// The executor the primitives see while a check runs on this thread.
pub(super) struct Model;

impl Executor for Model {
    fn current(&self) -> TaskKey {
        with(|ex| ex.key(ex.current))
    }

    fn epoch(&self) -> u32 {
        with(|ex| ex.generation)
    }

    fn new_object_id(&self) -> u64 {
        with(|ex| {
            ex.next_object += 1;
            ex.next_object
        })
    }

    fn operation(
        &self,
        op: Op,
        object: Option<&Object>,
        site: &'static Location<'static>,
    ) -> Resume {
        point(op, object, site, None)
    }

    fn wait_point(&self, blocked: &BlockedOn, ready: bool) -> Resume {
        point(
            blocked.op,
            Some(&blocked.object),
            blocked.site,
            Some((blocked, ready)),
        )
    }

    fn touch(&self, object: &Object, op: Op) {
        with(|ex| {
            if ex.tracking && !ex.teardown {
                ex.footprint.push(Access::of(object, op));
            }
        });
    }

    fn block(&self, blocked: &BlockedOn) -> Resume {
        let (next, yielder) = with(|ex| {
            let yielder = ex.yielder();
            if ex.teardown {
                // Never resumed: the teardown abandons the task.
                return (Suspend::Abort, yielder);
            }
            let current = ex.current;
            let waiting = matches!(ex.tasks[current].state, State::Runnable);
            ex.set_state(
                current,
                State::Blocked {
                    on: *blocked,
                    ready: false,
                },
            );
            // The end of the wait is noted when the task is resumed.
            ex.tasks[current].in_block = true;
            if waiting && ex.in_task {
                ex.trace_wait(blocked.op, Some(&blocked.object), blocked.site);
            }
            if ex.detailed {
                ex.tasks[current].wait_stack = Some(Backtrace::new_unresolved());
            }
            (ex.after(), yielder)
        });
        yielder.suspend(next)
    }

    fn set_ready(&self, task: TaskKey, ready: bool) {
        with(|ex| ex.set_ready(task, ready));
    }

    fn acquired(&self, object: &Object) {
        with(|ex| {
            let current = ex.current;
            ex.tasks[current].holds.push(*object);
        });
    }

    fn released(&self, object: &Object) {
        with(|ex| {
            let current = ex.current;
            let holds = &mut ex.tasks[current].holds;
            if let Some(i) = holds.iter().rposition(|o| o.id() == object.id()) {
                holds.remove(i);
            }
        });
    }

    fn joined(&self, task: u64) {
        with(|ex| {
            if let Some(slot) = ex.tasks[..ex.live].get_mut(task as usize) {
                slot.joined = true;
            }
        });
    }

    fn now(&self) -> Duration {
        with(|ex| ex.now)
    }

    fn add_timer(&self, deadline: Duration, periodic: bool, fire: Box<dyn FnOnce() + Send>) {
        let dropped = with(|ex| {
            if ex.teardown {
                return Some(fire);
            }
            ex.timer_seq += 1;
            let seq = ex.timer_seq;
            let owner = ex.current;
            ex.timers.push(PendingTimer {
                deadline,
                seq,
                periodic,
                owner,
                idle: false,
                fire,
            });
            if ex.tracking {
                ex.footprint.push(Access::timers());
            }
            None
        });
        // Dropped outside the state: its captures may run knot code.
        drop(dropped);
    }

    fn choose(&self, options: usize) -> usize {
        with(|ex| {
            if ex.teardown || ex.firing || ex.finding.is_some() {
                return 0;
            }
            match ex.scheduler.choose_index(options) {
                Some(choice) => {
                    ex.schedule.choices.push(choice as u32);
                    choice
                }
                None => {
                    ex.runnable.clear();
                    ex.runnable.extend(0..options);
                    ex.diverged("the schedule picks a select arm that is not ready");
                    0
                }
            }
        })
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn tracks_races(&self) -> bool {
        with(|ex| ex.races.tracked && !ex.teardown && !ex.firing)
    }

    fn want_races(&self) {
        with(|ex| ex.races.wanted = true);
    }

    fn release(&self, clock: &mut VectorClock) {
        with(|ex| {
            if !ex.races.tracked || ex.teardown || ex.firing {
                return;
            }
            let task = ex.current;
            let own = &mut ex.tasks[task].clock;
            clock.join(own);
            own.tick(task);
        });
    }

    fn acquire(&self, clock: &VectorClock) {
        with(|ex| {
            if !ex.races.tracked || ex.teardown || ex.firing {
                return;
            }
            let task = ex.current;
            ex.tasks[task].clock.join(clock);
        });
    }

    fn with_clock(&self, f: &mut dyn FnMut(usize, &VectorClock)) {
        with(|ex| {
            if !ex.races.tracked || ex.teardown || ex.firing {
                return;
            }
            let task = ex.current;
            f(task, &ex.tasks[task].clock);
        });
    }

    fn fail(&self, failure: Failure) -> Resume {
        let teardown = with(|ex| {
            if ex.teardown {
                return true;
            }
            let task = ex.current;
            if let (FailureKind::Deadlock, Some(on)) = (failure.kind, failure.blocked) {
                ex.set_state(task, State::Blocked { on, ready: false });
                if ex.detailed {
                    ex.tasks[task].wait_stack = Some(Backtrace::new_unresolved());
                }
            }
            ex.finding = Some(Finding::Primitive { task, failure });
            false
        });
        if teardown {
            Resume::Teardown
        } else {
            suspend(Suspend::Abort)
        }
    }
}

impl Execution {
    /// [`Model::set_ready`] on the borrowed state: out of line, so that the
    /// borrow around it is small enough to be inlined.
    #[inline(never)]
    fn set_ready(&mut self, task: TaskKey, ready: bool) {
        let index = (task.0 & u64::from(u32::MAX)) as usize;
        if task != self.key(index) || index >= self.live {
            // A waiter left over from an earlier execution.
            return;
        }
        if let State::Blocked { on, ready: was } = &mut self.tasks[index].state {
            if ready == *was {
                return;
            }
            // Changed in place: only readiness changes.
            *was = ready;
            let unreadied = (!ready && !self.teardown).then_some(*on);
            self.mark(index, ready);
            if ready {
                self.wakes += 1;
            }
            if let Some(on) = unreadied {
                // It was about to go on; from here it waits.
                self.count_event(index, on.op, Some(on.object), Some(on.site), true);
            }
        }
    }
}
