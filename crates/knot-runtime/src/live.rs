//! The executor the primitives see on a worker thread: blocking suspends
//! the task's coroutine, waking queues it on its worker again.
//!
//! Everything else is what a plain thread gets: real time, timers on the
//! timer thread, random choices, and live race detection when it is on.

use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use knot_core::clock::VectorClock;
use knot_core::executor::{BlockedOn, Executor, Failure, Resume, TaskKey, Unpark};
use knot_core::live_clock;
use knot_core::object::Object;
use knot_core::op::Op;
use knot_core::time::live as live_time;

use crate::registry::TaskState;
use crate::scheduler::{self, Suspend};

/// The live executor; worker threads enter it for their whole life.
pub(crate) static LIVE: Live = Live;

#[derive(Debug)]
pub(crate) struct Live;

impl Executor for Live {
    fn current(&self) -> TaskKey {
        match scheduler::current() {
            Some(task) => TaskKey(task.id.as_u64()),
            None => WORKER_KEY.with(|k| *k),
        }
    }

    fn new_object_id(&self) -> u64 {
        knot_core::executor::live_id()
    }

    fn epoch(&self) -> u32 {
        0
    }

    #[inline]
    fn operation(
        &self,
        op: Op,
        _object: Option<&Object>,
        site: &'static Location<'static>,
    ) -> Resume {
        if let Some(worker) = scheduler::worker() {
            // Only this worker writes these, so no read-modify-write is
            // needed; the monitor reads them to tell a task that keeps
            // reaching knot operations from one that never does.
            let ops = worker.ops.load(Ordering::Relaxed);
            worker.ops.store(ops.wrapping_add(1), Ordering::Relaxed);
            worker.last_site.store(Some(site));
        }
        if op == Op::Yield {
            scheduler::suspend(Suspend::Yield);
        }
        Resume::Run
    }

    fn wait_point(&self, _blocked: &BlockedOn, _ready: bool) -> Resume {
        Resume::Run
    }

    fn touch(&self, _object: &Object, _op: Op) {}

    fn block(&self, blocked: &BlockedOn) -> Resume {
        // Workers run nothing but tasks: what a task leaves behind when it
        // cannot start is dropped on the blocking pool.
        let task = scheduler::current().expect("knot: a worker thread blocked outside any task");
        if task.take_notification() {
            return Resume::Run;
        }
        if let Some(worker) = scheduler::worker() {
            worker.last_site.store(Some(blocked.site));
        }
        task.set_state(TaskState::Blocked, Some(*blocked));
        tracing::trace!(
            target: "knot",
            task = task.id.as_u64(),
            op = blocked.op.name(),
            object = %blocked.object,
            site = %blocked.site,
            "block"
        );
        scheduler::suspend(Suspend::Park);
        task.set_state(TaskState::Running, None);
        Resume::Run
    }

    fn set_ready(&self, _task: TaskKey, _ready: bool) {
        // Live wakers carry an unparker (see `unparker`), so wake-ups never
        // come through here.
    }

    fn acquired(&self, object: &Object) {
        scheduler::with_current(|task| task.acquired(object));
    }

    fn released(&self, object: &Object) {
        scheduler::with_current(|task| task.released(object));
    }

    fn joined(&self, task: u64) {
        tracing::trace!(target: "knot", task, "joined");
    }

    fn fail(&self, failure: Failure) -> Resume {
        if std::thread::panicking() {
            // A second panic would abort the process: say it, and let the
            // caller wait for good (the task stays blocked, a visible leak).
            eprintln!(
                "knot: {} (found while unwinding from another panic)",
                failure.message
            );
            return Resume::Run;
        }
        panic!("knot: {}", failure.message)
    }

    fn now(&self) -> Duration {
        live_time::now()
    }

    fn add_timer(&self, deadline: Duration, _periodic: bool, fire: Box<dyn FnOnce() + Send>) {
        live_time::add_timer(deadline, fire);
    }

    fn add_timer_while(
        &self,
        deadline: Duration,
        _periodic: bool,
        fire: Box<dyn FnOnce() + Send>,
        wanted: Box<dyn Fn() -> bool + Send>,
    ) {
        live_time::add_timer_while(deadline, fire, wanted);
    }

    fn choose(&self, options: usize) -> usize {
        fastrand::usize(..options)
    }

    fn tracks_races(&self) -> bool {
        live_clock::race_detection()
    }

    fn want_races(&self) {}

    fn release(&self, clock: &mut VectorClock) {
        live_clock::release(clock);
    }

    fn acquire(&self, clock: &VectorClock) {
        live_clock::acquire(clock);
    }

    fn with_clock(&self, f: &mut dyn FnMut(usize, &VectorClock)) {
        live_clock::with_clock(f);
    }

    fn unparker(&self) -> Option<Arc<dyn Unpark>> {
        scheduler::current().map(|task| task.unparker())
    }
}

thread_local! {
    /// A key for a worker thread itself, distinct from every task's.
    static WORKER_KEY: TaskKey = TaskKey(knot_core::executor::live_id());
}
