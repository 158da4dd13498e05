use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use super::state;
use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Failure, FailureKind};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::waiters::WaitList;

/// A counter of outstanding work that tasks can wait on, like Go's
/// `sync.WaitGroup`.
///
/// [`add`](WaitGroup::add) raises the counter before work starts,
/// [`done`](WaitGroup::done) lowers it when a piece finishes, and
/// [`wait`](WaitGroup::wait) blocks until it reaches zero. A `WaitGroup` is a
/// handle: clones share one counter, so each task can own its clone.
///
/// Letting the counter go below zero is a bug; the checker reports it as
/// misuse, and a live program panics.
///
/// # Examples
///
/// ```
/// use knot_core::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         wg.add(1);
///         let wg = wg.clone();
///         std::thread::spawn(move || wg.done())
///     })
///     .collect();
/// wg.wait();
/// # for w in workers { w.join().unwrap(); }
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    object: Object,
    state: Lock<Counter>,
}

#[derive(Debug)]
struct Counter {
    count: i64,
    // Bumped each time the counter reaches zero. A waiter is released by the
    // zero it waited for even if `add` raises the counter again before the
    // waiter runs, as in Go.
    generation: u64,
    waiters: WaitList<u64>,
    /// Released by `add` and `done`, acquired when `wait` returns.
    clock: VectorClock,
    /// The latest `add` that raised the counter from zero, and the latest
    /// `wait`: Go requires the first to happen before the second.
    raised: Option<Access>,
    waited: Option<Access>,
}

/// One access, for happens-before checks: the task, its own clock entry,
/// the call site.
#[derive(Debug, Clone, Copy)]
struct Access {
    task: usize,
    time: u32,
    site: &'static Location<'static>,
}

impl WaitGroup {
    /// Creates a wait group with a counter of zero; the caller is remembered
    /// as its creation site for reports.
    #[track_caller]
    pub fn new() -> WaitGroup {
        executor::want_races();
        WaitGroup {
            inner: Arc::new(Inner {
                object: Object::new(ObjectKind::WaitGroup),
                state: Lock::new(Counter {
                    count: 0,
                    generation: 0,
                    waiters: WaitList::new(),
                    clock: VectorClock::new(),
                    raised: None,
                    waited: None,
                }),
            }),
        }
    }

    /// Adds `delta`, which may be negative, to the counter; reaching zero
    /// releases every waiter.
    ///
    /// # Panics
    ///
    /// Live, panics if the counter goes below zero. Under the checker that is
    /// reported as misuse.
    #[track_caller]
    pub fn add(&self, delta: i64) {
        self.change(delta, Op::Add, Location::caller());
    }

    /// Subtracts one from the counter: one piece of work is finished.
    ///
    /// # Panics
    ///
    /// Live, panics if the counter goes below zero. Under the checker that is
    /// reported as misuse.
    #[track_caller]
    pub fn done(&self) {
        self.change(-1, Op::Done, Location::caller());
    }

    /// Blocks until the counter is zero.
    #[track_caller]
    pub fn wait(&self) {
        let site = Location::caller();
        let inner = &*self.inner;
        let blocked = BlockedOn {
            object: inner.object,
            op: Op::Wait,
            site,
        };
        // Starting to wait is an operation in its own right: a waiter is
        // released by the next time the counter reaches zero after it
        // started, even if the counter is raised again before it runs.
        executor::operation(Op::Wait, Some(&inner.object), site);
        self.check_order(false, site);
        let me = executor::current();
        let mut st = state(&inner.state);
        if st.count == 0 {
            executor::acquire(&st.clock);
            return;
        }
        let generation = st.generation;
        st.waiters.register(&me, generation);
        drop(st);
        loop {
            executor::block(blocked);
            let mut st = state(&inner.state);
            if st.generation != generation {
                st.waiters.remove(me.key());
                executor::acquire(&st.clock);
                return;
            }
        }
    }

    /// The counter's current value, for diagnostics.
    ///
    /// ```
    /// let wg = knot_core::sync::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn count(&self) -> i64 {
        state(&self.inner.state).count
    }

    fn change(&self, delta: i64, op: Op, site: &'static Location<'static>) {
        let inner = &*self.inner;
        executor::operation(op, Some(&inner.object), site);
        if delta > 0 && state(&inner.state).count == 0 {
            self.check_order(true, site);
        }
        let mut st = state(&inner.state);
        let count = st.count + delta;
        if count < 0 {
            drop(st);
            executor::fail(Failure {
                kind: FailureKind::Misuse,
                message: format!(
                    "{} (created at {}) went negative: {} at {} brought the counter to {}",
                    inner.object,
                    inner.object.created(),
                    op,
                    site,
                    count
                ),
                blocked: None,
                others: Vec::new(),
            });
        }
        st.count = count;
        executor::release(&mut st.clock);
        if count == 0 {
            st.generation += 1;
        }
        // A waiter goes on once the counter has been zero since it started
        // waiting.
        let generation = st.generation;
        st.waiters.refresh(|waited| *waited != generation);
    }
}

impl WaitGroup {
    /// Checks Go's rule that an `add` raising the counter from zero happens
    /// before any `wait` that could see that zero (`raise` for the add, else
    /// for the wait), and records the access.
    fn check_order(&self, raise: bool, site: &'static Location<'static>) {
        let inner = &*self.inner;
        let mut clash = None;
        executor::with_clock(&mut |task, clock| {
            let mut st = state(&inner.state);
            let now = Access {
                task,
                time: clock.get(task),
                site,
            };
            let other = if raise { st.waited } else { st.raised };
            if let Some(other) = other {
                if other.task != task && other.time > clock.get(other.task) {
                    clash = Some(other);
                }
            }
            if raise {
                st.raised = Some(now);
            } else {
                st.waited = Some(now);
            }
        });
        if let Some(other) = clash {
            let (add, wait) = if raise {
                (site, other.site)
            } else {
                (other.site, site)
            };
            executor::fail(Failure {
                kind: FailureKind::Misuse,
                message: format!(
                    "{} (created at {}): an add from zero at {} is not ordered before the wait at \
                     {} (task {} is the other side): the wait may return before the work it \
                     should wait for is counted",
                    inner.object,
                    inner.object.created(),
                    add,
                    wait,
                    other.task
                ),
                blocked: None,
                others: vec![other.task],
            });
        }
    }
}

impl Default for WaitGroup {
    #[track_caller]
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("object", &self.inner.object.to_string())
            .field("count", &self.count())
            .finish()
    }
}
