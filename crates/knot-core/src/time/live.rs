//! Timers for code that runs outside the checker: one thread that sleeps
//! until the earliest deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

type Fire = Box<dyn FnOnce() + Send>;

struct Timers {
    heap: Mutex<BinaryHeap<Reverse<Pending>>>,
    changed: Condvar,
}

struct Pending {
    deadline: Duration,
    seq: u64,
    fire: Fire,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Pending) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Pending) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Pending) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

/// The time since the process's first use of knot's clock.
pub(crate) fn now() -> Duration {
    epoch().elapsed()
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Runs `fire` on the timer thread once `deadline` has passed.
pub(crate) fn add_timer(deadline: Duration, fire: Fire) {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let timers = timers();
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    timers
        .heap
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Reverse(Pending {
            deadline,
            seq,
            fire,
        }));
    timers.changed.notify_one();
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<&'static Timers> = OnceLock::new();
    TIMERS.get_or_init(|| {
        let timers: &'static Timers = Box::leak(Box::new(Timers {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        epoch();
        thread::Builder::new()
            .name(String::from("knot-timers"))
            .spawn(move || run(timers))
            .expect("knot: cannot start the timer thread");
        timers
    })
}

fn run(timers: &'static Timers) {
    let mut heap = timers.heap.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = now();
        match heap.peek() {
            Some(Reverse(next)) if next.deadline <= now => {
                let Reverse(due) = heap.pop().expect("peeked");
                drop(heap);
                (due.fire)();
                heap = timers.heap.lock().unwrap_or_else(PoisonError::into_inner);
            }
            Some(Reverse(next)) => {
                let wait = next.deadline - now;
                heap = timers
                    .changed
                    .wait_timeout(heap, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            None => {
                heap = timers
                    .changed
                    .wait(heap)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}
