//! Dynamic partial-order reduction: which steps of an execution commute, and
//! which races call for another interleaving.
//!
//! A step is what one task does between two scheduling decisions: one
//! operation and the local code after it. Two steps of different tasks are
//! *dependent* when swapping them could change the outcome: they touch the
//! same object and at least one of them changes what the other sees. Steps
//! that are not dependent commute, and exploring both orders would be
//! wasted work.
//!
//! The dependency relation is used twice, in two forms:
//! - [`conflicts`] says whether two accesses *race*: both could be the next
//!   step at the same time and their order matters. An unlock and a later
//!   lock of the same mutex do not race (the lock could not be taken
//!   before), so no interleaving is explored for them; two locks do race.
//! - [`orders`] says whether an access is ordered after an earlier one for
//!   happens-before: the unlock does order the lock after it.
//!
//! Races are found with vector clocks, as in Flanagan and Godefroid's
//! dynamic partial-order reduction (POPL 2005): a step races with the latest
//! conflicting step of another task that does not happen before it.

use std::collections::HashMap;

use knot_core::object::{Object, ObjectKind};
use knot_core::op::Op;

/// One access of a step to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    kind: ObjectKind,
    id: u64,
    op: Op,
    /// The end of a wait: another task's step completed this one's
    /// operation, so it is ordered after that step but races with nothing.
    wake: bool,
}

impl Access {
    pub(crate) fn of(object: &Object, op: Op) -> Access {
        Access {
            kind: object.kind(),
            id: object.id(),
            op,
            wake: false,
        }
    }

    /// The end of a wait on `object` in `op`.
    pub(crate) fn wake(object: &Object, op: Op) -> Access {
        Access {
            wake: true,
            ..Access::of(object, op)
        }
    }

    /// An access to the queue of pending timers: adding a timer and firing
    /// the earliest one depend on each other.
    pub(crate) fn timers() -> Access {
        Access {
            kind: ObjectKind::Timer,
            id: u64::MAX,
            op: Op::Fire,
            wake: false,
        }
    }
}

/// Whether `op` only observes its object, so that two of them commute.
fn observes(kind: ObjectKind, op: Op) -> bool {
    matches!(
        (kind, op),
        (ObjectKind::RwLock, Op::Read)
            | (ObjectKind::Atomic, Op::Load)
            | (ObjectKind::Cell, Op::Load)
            | (ObjectKind::WaitGroup, Op::Wait)
            | (ObjectKind::Task, Op::Join)
    )
}

/// Whether two accesses to the same object race: their order matters and
/// both could be next at once.
pub(crate) fn conflicts(kind: ObjectKind, a: Op, b: Op) -> bool {
    let releases = |op| matches!(op, Op::Unlock | Op::ReadUnlock | Op::WriteUnlock);
    let tries = |op| matches!(op, Op::TryLock | Op::TryAcquire);
    match kind {
        // A join waits for the exit; spawning orders the child after it.
        ObjectKind::Task => false,
        ObjectKind::Mutex | ObjectKind::RwLock => {
            if releases(a) || releases(b) {
                // Only an attempt that does not wait can see the lock both
                // before and after a release.
                (releases(a) && tries(b)) || (tries(a) && releases(b))
            } else {
                !(observes(kind, a) && observes(kind, b))
            }
        }
        // A waiter resumes only after its notification: the wake-up itself
        // races with nothing. Registering to wait does race with notifies.
        ObjectKind::Condvar => !(a == Op::CondWait || b == Op::CondWait),
        // Counting up, or down, commutes; starting to wait before or after
        // the counter changes does not.
        ObjectKind::WaitGroup => !matches!(
            (a, b),
            (Op::Wait, Op::Wait) | (Op::Add, Op::Add) | (Op::Done, Op::Done)
        ),
        // A sleep resumes only after its timer fired.
        ObjectKind::Timer => !(a == Op::Sleep || b == Op::Sleep),
        ObjectKind::Atomic | ObjectKind::Cell => !(observes(kind, a) && observes(kind, b)),
        // A send and a receive meet, in either order, with the same
        // outcome; two sends decide the order of values, two receives who
        // gets which, and a close or an attempt that does not wait sees the
        // other side's state.
        ObjectKind::Channel => !matches!((a, b), (Op::Send, Op::Recv) | (Op::Recv, Op::Send)),
        _ => true,
    }
}

/// Whether two steps that touched `a` and `b` commute.
pub(crate) fn independent(a: &[Access], b: &[Access]) -> bool {
    !a.iter().any(|x| {
        b.iter().any(|y| {
            x.kind == y.kind
                && x.id == y.id
                && !x.wake
                && !y.wake
                && (conflicts(x.kind, x.op, y.op) || conflicts(x.kind, y.op, x.op))
        })
    })
}

/// Whether an access is ordered after an earlier one for happens-before:
/// they race (their order matters), or the earlier one is what made the
/// later one possible (an unlock and the next lock, a task's exit and its
/// join). Anything broader would order steps that commute, hide races
/// between what came before them, and leave interleavings unexplored.
pub(crate) fn orders(kind: ObjectKind, earlier: Op, later: Op) -> bool {
    conflicts(kind, earlier, later) || enables(kind, earlier, later)
}

/// Whether `later` could only happen after `earlier`: waiting operations and
/// what ends their wait.
fn enables(kind: ObjectKind, earlier: Op, later: Op) -> bool {
    match kind {
        ObjectKind::Mutex => matches!((earlier, later), (Op::Unlock, Op::Lock)),
        ObjectKind::RwLock => matches!(
            (earlier, later),
            (Op::WriteUnlock, Op::Read | Op::Write | Op::TryAcquire) | (Op::ReadUnlock, Op::Write)
        ),
        ObjectKind::Task => matches!((earlier, later), (Op::Exit, Op::Join)),
        ObjectKind::Condvar => {
            matches!(
                (earlier, later),
                (Op::NotifyOne | Op::NotifyAll, Op::CondWait)
            )
        }
        ObjectKind::WaitGroup => matches!((earlier, later), (Op::Add | Op::Done, Op::Wait)),
        ObjectKind::Timer => matches!((earlier, later), (Op::Fire, Op::Sleep)),
        ObjectKind::Channel => true,
        _ => false,
    }
}

/// A vector clock over the tasks of one execution; index 0 is the timer
/// queue, task `t` is index `t + 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Clock(Vec<u32>);

impl Clock {
    pub(crate) fn get(&self, i: usize) -> u32 {
        self.0.get(i).copied().unwrap_or(0)
    }

    pub(crate) fn tick(&mut self, i: usize) -> u32 {
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] += 1;
        self.0[i]
    }

    pub(crate) fn join(&mut self, other: &Clock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (*mine).max(*theirs);
        }
    }
}

/// A step of the current execution.
#[derive(Debug, Clone)]
struct Step {
    task: usize,
    local: u32,
    clock: Clock,
}

/// An access made during the current execution.
#[derive(Debug, Clone)]
struct Past {
    /// The DPOR index of the task (0 for the timer queue).
    task: usize,
    /// Its own clock entry at that step: it happens before a later step of
    /// task `u` iff `u`'s clock has at least this for `task`.
    local: u32,
    /// The decision point where the step began.
    point: usize,
    /// The step's index in the execution.
    step: usize,
    op: Op,
    wake: bool,
    /// The task's clock after the step.
    clock: Clock,
}

/// The accesses of the current execution, per object, and each task's
/// clock.
#[derive(Debug, Default)]
pub(crate) struct History {
    clocks: Vec<Clock>,
    objects: HashMap<(ObjectKind, u64), Vec<Past>>,
    steps: Vec<Step>,
}

/// A race found by [`History::step`]: to reverse it, one of `initials` must
/// run at decision point `point` instead of what ran there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Race {
    pub(crate) point: usize,
    /// The tasks (DPOR indices) that can start a reordering that puts the
    /// later step first: those whose first step after the earlier one does
    /// not wait for another step after it.
    pub(crate) initials: Vec<usize>,
}

impl History {
    pub(crate) fn clear(&mut self) {
        self.clocks.clear();
        self.objects.clear();
        self.steps.clear();
    }

    /// The tasks that could start the steps from `from + 1` on that do not
    /// happen after step `from`, followed by a step of `task` with clock
    /// `clock` (source sets, Abdulla et al., POPL 2014).
    fn initials(&self, from: usize, task: usize, clock: &Clock) -> Vec<usize> {
        let first = &self.steps[from];
        let after_first = |c: &Clock| c.get(first.task) >= first.local;
        let mut chosen: Vec<&Step> = Vec::new();
        let mut initials = Vec::new();
        let later = self.steps[from + 1..]
            .iter()
            .filter(|s| !after_first(&s.clock))
            .map(|s| (s.task, s.local, &s.clock));
        for (t, local, c) in later.chain(std::iter::once((task, u32::MAX, clock))) {
            let _ = local;
            let waits = chosen
                .iter()
                .any(|s| s.task != t && c.get(s.task) >= s.local);
            let seen = chosen.iter().any(|s| s.task == t) || initials.contains(&t);
            if !waits && !seen {
                initials.push(t);
            }
            if let Some(step) = self.steps[from + 1..]
                .iter()
                .find(|s| s.task == t && std::ptr::eq(&s.clock, c))
            {
                chosen.push(step);
            }
        }
        initials
    }

    fn clock(&mut self, task: usize) -> &mut Clock {
        if self.clocks.len() <= task {
            self.clocks.resize(task + 1, Clock::default());
        }
        &mut self.clocks[task]
    }

    /// Adds the step of `task` (a DPOR index) that began at decision `point`
    /// and touched `footprint`; returns the races found as (earlier point,
    /// task that should be tried there).
    pub(crate) fn step(&mut self, task: usize, point: usize, footprint: &[Access]) -> Vec<Race> {
        let mut races = Vec::new();
        let local = self.clock(task).tick(task);
        let before = self.clocks[task].clone();
        let index = self.steps.len();
        for access in footprint {
            let Some(past) = self.objects.get(&(access.kind, access.id)) else {
                continue;
            };
            if access.wake {
                continue;
            }
            let race = past.iter().rev().find(|p| {
                p.task != task
                    && !p.wake
                    && conflicts(access.kind, p.op, access.op)
                    && before.get(p.task) < p.local
            });
            if let Some(p) = race {
                let initials = self.initials(p.step, task, &before);
                races.push(Race {
                    point: p.point,
                    initials,
                });
            }
        }
        let mut after = before;
        for access in footprint {
            if let Some(past) = self.objects.get(&(access.kind, access.id)) {
                for p in past.iter().filter(|p| orders(access.kind, p.op, access.op)) {
                    after.join(&p.clock);
                }
            }
        }
        for access in footprint {
            if access.kind == ObjectKind::Task && access.op == Op::Spawn {
                // The child starts with everything its parent did.
                let child = access.id as usize + 1;
                *self.clock(child) = after.clone();
            }
            self.objects
                .entry((access.kind, access.id))
                .or_default()
                .push(Past {
                    task,
                    local,
                    point,
                    step: index,
                    op: access.op,
                    wake: access.wake,
                    clock: after.clone(),
                });
        }
        self.steps.push(Step {
            task,
            local,
            clock: after.clone(),
        });
        self.clocks[task] = after;
        races
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_race_but_an_unlock_does_not_race_a_lock() {
        assert!(conflicts(ObjectKind::Mutex, Op::Lock, Op::Lock));
        assert!(!conflicts(ObjectKind::Mutex, Op::Unlock, Op::Lock));
        assert!(conflicts(ObjectKind::Mutex, Op::Unlock, Op::TryLock));
        assert!(orders(ObjectKind::Mutex, Op::Unlock, Op::Lock));
    }

    #[test]
    fn readers_do_not_order_readers() {
        assert!(!orders(ObjectKind::RwLock, Op::ReadUnlock, Op::Read));
        assert!(!orders(ObjectKind::RwLock, Op::Read, Op::ReadUnlock));
        assert!(orders(ObjectKind::RwLock, Op::WriteUnlock, Op::Read));
        assert!(orders(ObjectKind::RwLock, Op::ReadUnlock, Op::Write));
    }

    #[test]
    fn readers_commute() {
        assert!(!conflicts(ObjectKind::RwLock, Op::Read, Op::Read));
        assert!(conflicts(ObjectKind::RwLock, Op::Read, Op::Write));
        assert!(!conflicts(ObjectKind::Atomic, Op::Load, Op::Load));
        assert!(conflicts(ObjectKind::Atomic, Op::Load, Op::Store));
        assert!(!orders(ObjectKind::Atomic, Op::Load, Op::Load));
    }

    #[test]
    fn a_later_unordered_conflict_is_a_race() {
        let mut history = History::default();
        let x = Access {
            kind: ObjectKind::Atomic,
            id: 1,
            op: Op::Store,
            wake: false,
        };
        assert!(history.step(1, 0, &[x]).is_empty());
        assert_eq!(
            history.step(2, 1, &[x]),
            vec![Race {
                point: 0,
                initials: vec![2]
            }]
        );
        // Task 2 now happens after task 1's store: no new race with it.
        assert!(history.step(2, 2, &[x]).is_empty());
    }
}
