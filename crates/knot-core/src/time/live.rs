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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The callback of a timer.
pub type Fire = Box<dyn FnOnce() + Send>;

/// Says whether a timer is still of use: once it returns false, the timer
/// may be dropped unfired (see [`add_timer_while`]).
pub type Wanted = Box<dyn Fn() -> bool + Send>;

/// The current time, as a duration since the process's first use of knot's
/// clock.
///
/// ```
/// let a = knot_core::time::live::now();
/// let b = knot_core::time::live::now();
/// assert!(b >= a);
/// ```
pub fn now() -> Duration {
    epoch().elapsed()
}

/// How many timers are armed, not yet fired and still wanted; see
/// [`pending_timers`](super::pending_timers).
pub fn pending() -> usize {
    TIMERS.get().map_or(0, |timers| timers.pending())
}

/// Runs `fire` on the timer thread once [`now`] reaches `deadline`.
///
/// # Panics
///
/// If the timer thread cannot be started, the first time a timer is armed.
pub fn add_timer(deadline: Duration, fire: Fire) {
    timers().add(deadline, fire, None);
}

/// [`add_timer`] for a timer that is of no use once `wanted` returns false,
/// such as the timeout of a receive that has completed.
///
/// Such a timer is dropped unfired and no longer counts as pending, so that
/// a timer nobody waits for keeps neither its captures alive until its
/// deadline nor the runtime's deadlock monitor from seeing that every task
/// sleeps.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use knot_core::time::live;
///
/// let wanted = Arc::new(AtomicBool::new(true));
/// let still = Arc::clone(&wanted);
/// let deadline = live::now() + Duration::from_secs(3600);
/// let before = live::pending();
/// live::add_timer_while(deadline, Box::new(|| ()), Box::new(move || still.load(Ordering::Relaxed)));
/// assert_eq!(live::pending(), before + 1);
/// wanted.store(false, Ordering::Relaxed);
/// assert_eq!(live::pending(), before);
/// ```
///
/// # Panics
///
/// If the timer thread cannot be started, the first time a timer is armed.
pub fn add_timer_while(deadline: Duration, fire: Fire, wanted: Wanted) {
    timers().add(deadline, fire, Some(wanted));
}

/// The armed timers, earliest first, and the timer thread's signal.
struct Timers {
    heap: Mutex<Heap>,
    changed: Condvar,
    /// A timer popped from the heap whose callback is running: still
    /// pending to anyone who asks, so that it is never unseen in between.
    firing: AtomicUsize,
    seq: AtomicU64,
}

struct Heap {
    pending: BinaryHeap<Reverse<Pending>>,
    /// The size at which the next arming first drops the timers no longer
    /// wanted: twice what was left the last time, so that dropping them
    /// costs each arming a constant amount.
    prune_at: usize,
}

/// The fewest timers the heap prunes at.
const PRUNE_FLOOR: usize = 64;

struct Pending {
    deadline: Duration,
    seq: u64,
    fire: Fire,
    wanted: Option<Wanted>,
}

impl Pending {
    fn is_wanted(&self) -> bool {
        self.wanted.as_ref().map_or(true, |wanted| wanted())
    }
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

impl Timers {
    fn new() -> Timers {
        Timers {
            heap: Mutex::new(Heap {
                pending: BinaryHeap::new(),
                prune_at: PRUNE_FLOOR,
            }),
            changed: Condvar::new(),
            firing: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
        }
    }

    fn heap(&self) -> MutexGuard<'_, Heap> {
        self.heap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, deadline: Duration, fire: Fire, wanted: Option<Wanted>) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut heap = self.heap();
        let unwanted = if heap.pending.len() >= heap.prune_at {
            let unwanted = heap.prune();
            heap.prune_at = (2 * heap.pending.len()).max(PRUNE_FLOOR);
            unwanted
        } else {
            Vec::new()
        };
        heap.pending.push(Reverse(Pending {
            deadline,
            seq,
            fire,
            wanted,
        }));
        drop(heap);
        self.changed.notify_one();
        // Outside the lock: their captures' destructors may arm timers.
        drop(unwanted);
    }

    fn pending(&self) -> usize {
        let mut heap = self.heap();
        let unwanted = heap.prune();
        let pending = heap.pending.len() + self.firing.load(Ordering::Relaxed);
        drop(heap);
        drop(unwanted);
        pending
    }
}

impl Heap {
    /// Takes the timers no longer wanted out of the heap, for the caller to
    /// drop once it has let go of the lock.
    fn prune(&mut self) -> Vec<Pending> {
        if self.pending.iter().all(|Reverse(p)| p.is_wanted()) {
            return Vec::new();
        }
        let (kept, unwanted): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_vec()
            .into_iter()
            .map(|Reverse(p)| p)
            .partition(Pending::is_wanted);
        self.pending = kept.into_iter().map(Reverse).collect();
        unwanted
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

static TIMERS: OnceLock<&'static Timers> = OnceLock::new();

fn timers() -> &'static Timers {
    TIMERS.get_or_init(|| {
        let timers: &'static Timers = Box::leak(Box::new(Timers::new()));
        epoch();
        thread::Builder::new()
            .name(String::from("knot-timers"))
            .spawn(move || run(timers))
            .expect("knot: cannot start the timer thread");
        timers
    })
}

fn run(timers: &'static Timers) {
    let mut heap = timers.heap();
    loop {
        let now = now();
        match heap.pending.peek() {
            Some(Reverse(next)) if next.deadline <= now => {
                let Reverse(due) = heap.pending.pop().expect("peeked");
                timers.firing.fetch_add(1, Ordering::Relaxed);
                drop(heap);
                if due.is_wanted() {
                    // A callback that panics must not take the timer
                    // thread, and every later timer, with it; its panic has
                    // been printed by the panic hook.
                    let fire = due.fire;
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(fire));
                } else {
                    drop(due);
                }
                timers.firing.fetch_sub(1, Ordering::Relaxed);
                heap = timers.heap();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn flag(value: bool) -> (Arc<AtomicBool>, Wanted) {
        let flag = Arc::new(AtomicBool::new(value));
        let seen = Arc::clone(&flag);
        (flag, Box::new(move || seen.load(Ordering::Relaxed)))
    }

    #[test]
    fn a_timer_no_longer_wanted_stops_counting_and_is_dropped() {
        let timers = Timers::new();
        let (wanted, still) = flag(true);
        let captured = Arc::new(());
        let held = Arc::clone(&captured);
        timers.add(
            Duration::from_secs(60),
            Box::new(move || drop(held)),
            Some(still),
        );
        timers.add(Duration::from_secs(60), Box::new(|| ()), None);
        assert_eq!(timers.pending(), 2);
        wanted.store(false, Ordering::Relaxed);
        assert_eq!(timers.pending(), 1, "the unwanted timer still counts");
        assert_eq!(
            Arc::strong_count(&captured),
            1,
            "its captures are still held"
        );
    }

    #[test]
    fn arming_many_timers_nobody_wants_keeps_the_heap_small() {
        let timers = Timers::new();
        for _ in 0..10_000 {
            let (_, wanted) = flag(false);
            timers.add(Duration::from_secs(60), Box::new(|| ()), Some(wanted));
        }
        assert!(timers.heap().pending.len() <= 2 * PRUNE_FLOOR);
        assert_eq!(timers.pending(), 0);
    }
}
