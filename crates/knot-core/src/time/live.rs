//! Time and timers for code that runs outside the checker: one thread
//! that sleeps until the earliest deadline and runs what is due.
//!
//! Primitives reach it through [`executor::now`](crate::executor::now) and
//! [`executor::add_timer`](crate::executor::add_timer); the live runtime's
//! executor delegates to it.
//!
//! ```
//! use std::time::Duration;
//!
//! let (tx, rx) = std::sync::mpsc::channel();
//! let deadline = knot_core::time::live::now() + Duration::from_millis(5);
//! knot_core::time::live::add_timer(deadline, Box::new(move || tx.send(()).unwrap()));
//! rx.recv().unwrap();
//! assert!(knot_core::time::live::now() >= deadline);
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The callback of a timer.
pub type Fire = Box<dyn FnOnce() + Send>;

struct Timers {
    heap: Mutex<BinaryHeap<Reverse<Pending>>>,
    changed: Condvar,
    /// A timer popped from the heap whose callback is running: still
    /// pending to anyone who asks, so that it is never unseen in between.
    firing: std::sync::atomic::AtomicUsize,
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
pub fn now() -> Duration {
    epoch().elapsed()
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// How many timers are armed and not yet fired; see
/// [`pending_timers`](super::pending_timers).
pub fn pending() -> usize {
    match TIMERS.get() {
        Some(timers) => {
            let heap = timers.heap.lock().unwrap_or_else(PoisonError::into_inner);
            heap.len() + timers.firing.load(std::sync::atomic::Ordering::Relaxed)
        }
        None => 0,
    }
}

/// Runs `fire` on the timer thread once [`now`] reaches `deadline`.
///
/// # Panics
///
/// If the timer thread cannot be started, the first time a timer is armed.
pub fn add_timer(deadline: Duration, fire: Fire) {
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

static TIMERS: OnceLock<&'static Timers> = OnceLock::new();

fn timers() -> &'static Timers {
    TIMERS.get_or_init(|| {
        let timers: &'static Timers = Box::leak(Box::new(Timers {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
            firing: std::sync::atomic::AtomicUsize::new(0),
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
                timers
                    .firing
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                drop(heap);
                // A callback that panics must not take the timer thread,
                // and every later timer, with it; its panic has been
                // printed by the panic hook.
                let fire = due.fire;
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(fire));
                timers
                    .firing
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
