//! Happens-before for code that runs outside the checker, when race
//! detection is switched on (`KNOT_RACE=1`, or
//! [`set_race_detection`]).
//!
//! Every thread that runs knot code gets a small dense number and a vector
//! clock; the primitives move clocks exactly as under the checker, so a
//! `RaceCell` accessed from two threads without synchronisation panics with
//! the same message the checker would report. It costs a lock and a clock
//! join per synchronising operation, so it is off unless asked for.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::clock::VectorClock;

/// Switches race detection for live code on or off, for the whole process.
///
/// It overrides `KNOT_RACE`. Tasks that were already running keep the
/// clocks they had; switch it on before starting the tasks to check.
///
/// ```
/// knot_core::live_clock::set_race_detection(true);
/// assert!(knot_core::live_clock::race_detection());
/// knot_core::live_clock::set_race_detection(false);
/// ```
pub fn set_race_detection(on: bool) {
    MODE.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether live race detection is on: [`set_race_detection`], else the
/// environment variable `KNOT_RACE` (`1`, `true` or `on`; `0`, `false`,
/// `off` or empty for off). An unknown value leaves it off and says so on
/// stderr once.
#[inline]
pub fn race_detection() -> bool {
    match MODE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => race_detection_from_env(),
    }
}

/// Reads `KNOT_RACE`, once: kept out of line so that the check above is a
/// load and a compare where it is inlined, on every spawn and wait.
#[cold]
#[inline(never)]
fn race_detection_from_env() -> bool {
    let on = match std::env::var("KNOT_RACE") {
        Err(_) => false,
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => true,
            "" | "0" | "false" | "off" | "no" => false,
            other => {
                eprintln!(
                    "knot: KNOT_RACE={other:?} is not valid: expected 1, true or on \
                     (or 0, false, off): race detection stays off"
                );
                false
            }
        },
    };
    // A racing `set_race_detection` wins.
    let _ = MODE.compare_exchange(
        UNKNOWN,
        if on { ON } else { OFF },
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    MODE.load(Ordering::Relaxed) == ON
}

/// The calling thread's clock, to hand to a task it starts: the task begins
/// with everything the thread did so far. `None` when detection is off.
#[inline]
pub fn fork() -> Option<VectorClock> {
    if !race_detection() {
        return None;
    }
    THREAD.with(|t| {
        let mut t = t.borrow_mut();
        let index = t.index;
        let clock = t.clock.clone();
        t.clock.tick(index);
        Some(clock)
    })
}

/// The clock of a task that shares its OS thread with other tasks, kept
/// while it is suspended.
///
/// An executor that runs many tasks on one thread (the live runtime's
/// workers) gives each task one, made from its spawner's [`fork`], and
/// [`swap`]s it in when the task resumes and out when it suspends, so that
/// each task keeps a clock of its own.
///
/// ```
/// use knot_core::live_clock::{self, TaskClock};
///
/// let mut clock = TaskClock::new(live_clock::fork());
/// live_clock::swap(&mut clock); // the task runs
/// live_clock::swap(&mut clock); // the task is suspended
/// ```
#[derive(Debug, Default)]
pub struct TaskClock(Option<Thread>);

impl TaskClock {
    /// A clock that starts from `inherited`; one that tracks nothing when
    /// `inherited` is `None` (detection was off when the task was spawned).
    #[inline]
    pub fn new(inherited: Option<VectorClock>) -> TaskClock {
        TaskClock(inherited.map(|inherited| {
            let mut thread = Thread::new();
            thread.clock.join(&inherited);
            thread
        }))
    }
}

/// Exchanges the calling thread's clock with `task`'s; see [`TaskClock`].
#[inline]
pub fn swap(task: &mut TaskClock) {
    if let Some(saved) = &mut task.0 {
        THREAD.with(|t| std::mem::swap(&mut *t.borrow_mut(), saved));
    }
}

/// Starts the calling thread's clock from `inherited` (see [`fork`]).
pub fn adopt(inherited: Option<VectorClock>) {
    if let Some(inherited) = inherited {
        THREAD.with(|t| t.borrow_mut().clock.join(&inherited));
    }
}

/// Releases the running thread's (or task's) clock into `clock`, as an
/// unlock or a send does; nothing when detection is off.
#[inline]
pub fn release(clock: &mut VectorClock) {
    if race_detection() {
        THREAD.with(|t| {
            let mut t = t.borrow_mut();
            let index = t.index;
            clock.join(&t.clock);
            t.clock.tick(index);
        });
    }
}

/// Acquires `clock` into the running thread's (or task's) clock, as a lock
/// or a receive does; nothing when detection is off.
#[inline]
pub fn acquire(clock: &VectorClock) {
    if race_detection() {
        THREAD.with(|t| t.borrow_mut().clock.join(clock));
    }
}

/// Calls `f` with the running thread's (or task's) number and clock when
/// detection is on.
pub fn with_clock(f: &mut dyn FnMut(usize, &VectorClock)) {
    if race_detection() {
        THREAD.with(|t| {
            let t = t.borrow();
            f(t.index, &t.clock);
        });
    }
}

#[derive(Debug)]
struct Thread {
    index: usize,
    clock: VectorClock,
}

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);
static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

impl Thread {
    fn new() -> Thread {
        let index = NEXT_INDEX.fetch_add(1, Ordering::Relaxed);
        let mut clock = VectorClock::new();
        clock.tick(index);
        Thread { index, clock }
    }
}

thread_local! {
    static THREAD: RefCell<Thread> = RefCell::new(Thread::new());
}
