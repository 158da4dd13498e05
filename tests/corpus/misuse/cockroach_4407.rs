//! cockroach-4407: two gossip tasks each start a sender worker through the
//! stopper's run-worker, which adds 1 to the stopper's worker WaitGroup,
//! while main, after a short sleep, calls stop, which waits on that
//! WaitGroup. Nothing orders a gossip task's add from zero before stop's
//! wait, which Go forbids: the wait may return before a sender is counted.
//! The fix starts each worker from inside a stopper task, which stop drains
//! (and refuses new ones) before it waits, so every add happens before the
//! wait or the worker is never started.

use std::sync::Arc;
use std::time::Duration;

use knot::chan::{self, Receiver, Sender};
use knot::sync::{Condvar, Mutex, WaitGroup};
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it: knot checks Go's add-before-wait rule.
pub const ENTRY: Entry = Entry {
    id: "cockroach-4407",
    subtype: "non-blocking: WaitGroup misuse",
    expected: ReportKind::Misuse,
    buggy,
    fixed,
};

/// The gossip tasks.
const GOSSIPS: usize = 2;

/// The stopper's count of running tasks and whether it is draining.
struct Tasks {
    draining: bool,
    count: usize,
}

/// Starts workers and tasks, and stops them.
struct Stopper {
    /// Closed by `stop`.
    stop: (Sender<()>, Receiver<()>),
    /// Counts the running workers.
    workers: WaitGroup,
    tasks: Mutex<Tasks>,
    /// Signalled whenever a task finishes.
    task_done: Condvar,
    /// Whether `stop` drains the stopper's tasks first (the fix).
    drain: bool,
}

impl Stopper {
    fn new(drain: bool) -> Stopper {
        Stopper {
            stop: chan::bounded(0),
            workers: WaitGroup::new(),
            tasks: Mutex::new(Tasks {
                draining: false,
                count: 0,
            }),
            task_done: Condvar::new(),
            drain,
        }
    }

    /// Counts a worker and starts it; the worker says done as its last act.
    fn run_worker(&self, name: String, f: impl FnOnce() + Send + 'static) {
        self.workers.add(1);
        let workers = self.workers.clone();
        knot::task::Builder::new().name(name).go(move || {
            f();
            workers.done();
        });
    }

    /// Runs `f` as a task the stopper waits out; does nothing once the
    /// stopper is draining.
    fn run_task(&self, f: impl FnOnce()) {
        {
            let mut tasks = self.tasks.lock();
            if tasks.draining {
                return;
            }
            tasks.count += 1;
        }
        f();
        let mut tasks = self.tasks.lock();
        tasks.count -= 1;
        self.task_done.notify_all();
        drop(tasks);
    }

    fn stop(&self) {
        if self.drain {
            let mut tasks = self.tasks.lock();
            tasks.draining = true;
            drop(self.task_done.wait_while(tasks, |tasks| tasks.count > 0));
        }
        self.stop.0.close();
        self.workers.wait();
        drop(self.tasks.lock());
    }
}

/// The gossip server.
struct Server {
    mu: Mutex<()>,
}

/// Gossips once: with the server locked, starts a sender worker (inside a
/// stopper task when the stopper drains).
fn gossip(id: usize, server: &Arc<Server>, stopper: &Stopper) {
    let _server = server.mu.lock();
    let sender = Arc::clone(server);
    let start = || {
        stopper.run_worker(format!("sender {id}"), move || {
            drop(sender.mu.lock());
        })
    };
    if stopper.drain {
        stopper.run_task(start);
    } else {
        // BUG: nothing orders this add before stop's wait.
        start();
    }
}

/// The program with the bug: workers are added while stop may be waiting.
pub fn buggy() {
    run(false);
}

/// The program with the fix: workers start inside stopper tasks, which stop
/// drains before it waits.
pub fn fixed() {
    run(true);
}

fn run(drain: bool) {
    let stopper = Arc::new(Stopper::new(drain));
    let server = Arc::new(Server { mu: Mutex::new(()) });
    let gossips: Vec<_> = (1..=GOSSIPS)
        .map(|id| {
            let (server, stopper) = (Arc::clone(&server), Arc::clone(&stopper));
            knot::task::Builder::new()
                .name(format!("gossip {id}"))
                .spawn(move || gossip(id, &server, &stopper))
        })
        .collect();
    knot::time::sleep(Duration::from_millis(1));
    stopper.stop();
    for gossip in gossips {
        gossip.join().expect("a gossip task does not panic");
    }
}
