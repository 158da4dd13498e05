//! Time as the executor keeps it: virtual under the checker, the monotonic
//! clock live.
//!
//! Under the checker no task ever sleeps for real. Time passes when the
//! checker decides: at any scheduling point the earliest pending timer may
//! fire (a running task's work takes an unknown time), and when every task
//! is blocked while a timer is pending, time jumps to it. A 30-second timeout
//! takes microseconds to check, and the race between a timeout and a slow
//! reply is explored both ways.
//!
//! ```
//! use std::time::Duration;
//! use knot_core::time::{self, Instant};
//!
//! let start = Instant::now();
//! time::sleep(Duration::from_millis(1));
//! assert!(start.elapsed() >= Duration::from_millis(1));
//! ```

pub mod live;

use std::fmt;
use std::ops::{Add, Sub};
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::chan::{self, Receiver, Sender};
use crate::executor::{self, BlockedOn};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::sync::state;
use crate::waiters::WaitList;

/// A point in time on the executor's clock.
///
/// Under the checker it is virtual: the first execution step is at zero, and
/// it advances only when a timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The current time.
    pub fn now() -> Instant {
        Instant(executor::now())
    }

    /// The time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time since the executor's epoch.
    pub fn since_epoch(&self) -> Duration {
        self.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:?}", self.0)
    }
}

/// How many live timers are armed and have not fired yet: sleeps, `after`
/// channels, ticks and context deadlines of code that runs outside the
/// checker.
///
/// The live runtime's deadlock monitor reads it: while a timer is pending,
/// every task being asleep is not a deadlock, since the timer may wake one.
/// Timers are not cancelled: one nobody waits for any more (a dropped
/// `after` channel, the timeout of a `recv_timeout` that got its value)
/// counts until its deadline passes.
///
/// ```
/// let before = knot_core::time::pending_timers();
/// let _tick = knot_core::time::after(std::time::Duration::from_secs(60));
/// assert!(knot_core::time::pending_timers() > before);
/// ```
pub fn pending_timers() -> usize {
    live::pending()
}

/// Puts the running task to sleep for `duration`.
///
/// Live, this sleeps the thread; under the checker the task waits on a
/// virtual timer.
#[track_caller]
pub fn sleep(duration: Duration) {
    let site = Location::caller();
    if !executor::is_entered() {
        std::thread::sleep(duration);
        return;
    }
    let timer = Arc::new(Timer {
        object: Object::at(ObjectKind::Timer, site),
        state: Lock::new((false, WaitList::new())),
    });
    let fire = Arc::clone(&timer);
    executor::add_timer(
        executor::now().saturating_add(duration),
        false,
        Box::new(move || {
            let mut st = state(&fire.state);
            st.0 = true;
            st.1.refresh(|_| true);
        }),
    );
    let me = executor::current();
    state(&timer.state).1.register(&me, ());
    let blocked = BlockedOn {
        object: timer.object,
        op: Op::Sleep,
        site,
    };
    executor::wait_point(blocked, false);
    loop {
        let mut st = state(&timer.state);
        if st.0 {
            st.1.remove(me.key());
            return;
        }
        drop(st);
        executor::block(blocked);
    }
}

/// A channel that receives the time once, after `duration`: the timeout arm
/// of a `select!`.
///
/// ```
/// use std::time::Duration;
///
/// let timeout = knot_core::time::after(Duration::from_millis(1));
/// assert!(timeout.recv().is_ok());
/// ```
#[track_caller]
pub fn after(duration: Duration) -> Receiver<Instant> {
    after_at(duration, Location::caller())
}

/// A channel that receives the time every `period`, dropping ticks that
/// nobody has received yet. It stops once every receiver is dropped.
///
/// ```
/// use std::time::Duration;
///
/// let ticks = knot_core::time::tick(Duration::from_millis(1));
/// let first = ticks.recv().unwrap();
/// let second = ticks.recv().unwrap();
/// assert!(second > first);
/// ```
#[track_caller]
pub fn tick(period: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan::channel(1, Location::caller());
    arm_tick(tx, period, executor::now().saturating_add(period));
    rx
}

pub(crate) fn after_at(duration: Duration, site: &'static Location<'static>) -> Receiver<Instant> {
    let (tx, rx) = chan::channel(1, site);
    let wanted = tx.receivers_alive();
    executor::add_timer_while(
        executor::now().saturating_add(duration),
        false,
        Box::new(move || {
            let _ = tx.try_send(Instant::now());
        }),
        Box::new(wanted),
    );
    rx
}

fn arm_tick(tx: Sender<Instant>, period: Duration, at: Duration) {
    let wanted = tx.receivers_alive();
    executor::add_timer_while(
        at,
        true,
        Box::new(move || {
            if tx.has_receivers() {
                let _ = tx.try_send(Instant::now());
                arm_tick(
                    tx,
                    period,
                    at.saturating_add(period.max(Duration::from_nanos(1))),
                );
            }
        }),
        Box::new(wanted),
    );
}

struct Timer {
    object: Object,
    state: Lock<(bool, WaitList<()>)>,
}
