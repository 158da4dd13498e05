//! cockroach-1462: a stopper runs a producer and a consumer as workers
//! counted by a WaitGroup; the producer loops on a select whose default arm
//! sends an event on a rendezvous channel, and the consumer receives events
//! until the stopper's stop channel is closed. If the producer has taken
//! the default arm when stop closes that channel and the consumer then
//! leaves, the producer's send never completes and stop waits on the
//! WaitGroup forever. The fix sends each event inside a stopper task, which
//! stop's quiesce waits out before it closes the channel, and which is
//! refused once the stopper is draining.

use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::{Condvar, Mutex, WaitGroup};
use knot::task::JoinHandle;
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it.
pub const ENTRY: Entry = Entry {
    id: "cockroach-1462",
    subtype: "mixed deadlock: channel and WaitGroup",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};

/// The most events the producer sends (Go: until stopped).
const EVENTS: u32 = 2;

/// The stopper's count of running tasks and whether it is draining.
struct Tasks {
    draining: bool,
    count: usize,
}

/// Starts workers and tasks, and stops them.
struct Stopper {
    /// Closed by `stop`: every worker should return.
    stop: (Sender<()>, Receiver<()>),
    /// Closed once `stop` is finished.
    stopped: Sender<()>,
    /// Counts the running workers.
    workers: WaitGroup,
    tasks: Mutex<Tasks>,
    /// Signalled whenever a task finishes.
    task_done: Condvar,
}

impl Stopper {
    fn new() -> Stopper {
        Stopper {
            stop: chan::bounded(0),
            stopped: chan::bounded(0).0,
            workers: WaitGroup::new(),
            tasks: Mutex::new(Tasks {
                draining: false,
                count: 0,
            }),
            task_done: Condvar::new(),
        }
    }

    /// Counts a worker and starts it.
    #[track_caller]
    fn run_worker(&self, name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
        self.workers.add(1);
        let workers = self.workers.clone();
        knot::task::Builder::new().name(name).spawn(move || {
            f();
            workers.done();
        })
    }

    /// Runs `f` as a task the stopper waits out; returns false, without
    /// running it, once the stopper is draining.
    fn run_task(&self, f: impl FnOnce()) -> bool {
        {
            let mut tasks = self.tasks.lock();
            if tasks.draining {
                return false;
            }
            tasks.count += 1;
        }
        f();
        let mut tasks = self.tasks.lock();
        tasks.count -= 1;
        self.task_done.notify_all();
        drop(tasks);
        true
    }

    /// Refuses new tasks and waits for the running ones to finish.
    fn quiesce(&self) {
        let mut tasks = self.tasks.lock();
        tasks.draining = true;
        drop(self.task_done.wait_while(tasks, |tasks| tasks.count > 0));
    }

    fn stop(&self) {
        self.quiesce();
        self.stop.0.close();
        self.workers.wait();
        let tasks = self.tasks.lock();
        self.stopped.close();
        drop(tasks);
    }
}

/// The program with the bug: the producer's send is not a stopper task.
pub fn buggy() {
    run(false);
}

/// The program with the fix: each send runs as a stopper task.
pub fn fixed() {
    run(true);
}

fn run(send_in_task: bool) {
    let stopper = Arc::new(Stopper::new());
    let (events, inbox) = chan::bounded::<u32>(0);
    let producer = {
        let stopper2 = Arc::clone(&stopper);
        stopper.run_worker("producer", move || {
            produce(&stopper2, &events, send_in_task);
        })
    };
    let consumer = {
        let stop = stopper.stop.1.clone();
        stopper.run_worker("consumer", move || consume(&stop, &inbox))
    };
    stopper.stop();
    producer.join().expect("the producer does not panic");
    consumer.join().expect("the consumer does not panic");
}

/// The local transport: sends events until stopped.
fn produce(stopper: &Stopper, events: &Sender<u32>, send_in_task: bool) {
    for event in 0..EVENTS {
        knot::select! {
            recv(stopper.stop.1) -> _ => return,
            default => {
                let send = || events.send(event).expect("events stay open while the producer runs");
                if !send_in_task {
                    // BUG: stop may close the channel now, and the consumer
                    // leave before this send is received.
                    send();
                } else if !stopper.run_task(send) {
                    return;
                }
            },
        }
    }
}

/// Receives events until stopped, or until the producer is gone.
fn consume(stop: &Receiver<()>, inbox: &Receiver<u32>) {
    loop {
        knot::select! {
            recv(inbox) -> event => if event.is_err() { return },
            recv(stop) -> _ => return,
        }
    }
}
