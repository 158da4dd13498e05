//! Memory shared between tasks whose every access is checked for data
//! races.
//!
//! A [`RaceCell`] is how a program says "this is plain memory that several
//! tasks touch": a counter, a map, a slot a callback is stored in. Under the
//! checker every access is compared with the earlier ones by happens-before
//! (see [`crate::clock`]): a write and another access by a different task
//! that nothing orders are a data race, reported from the execution in which
//! both happened, whether or not they ran back to back. Live, the cell is a
//! plain mutex-protected value.

use std::fmt;
use std::panic::Location;
use std::sync::{Mutex as StdMutex, PoisonError};

use crate::executor::{self, Failure, FailureKind};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::sync::state;

/// Shared memory whose accesses the checker checks for data races.
///
/// # Examples
///
/// ```
/// use knot_core::cell::RaceCell;
///
/// let hits = RaceCell::new(0);
/// hits.set(hits.get() + 1);
/// hits.with_mut(|h| *h += 1);
/// assert_eq!(hits.with(|h| *h), 2);
/// ```
pub struct RaceCell<T> {
    object: Object,
    data: StdMutex<T>,
    accesses: Lock<Accesses>,
}

/// The accesses that later ones must be ordered after: the last write and
/// the reads since (FastTrack, Flanagan and Freund, PLDI 2009).
#[derive(Debug, Default)]
struct Accesses {
    write: Option<Access>,
    reads: Vec<Access>,
}

#[derive(Debug, Clone, Copy)]
struct Access {
    task: usize,
    /// The task's own clock entry at the access.
    time: u32,
    site: &'static Location<'static>,
}

impl<T> RaceCell<T> {
    /// Creates a cell holding `value`; the caller is remembered as its
    /// creation site for reports.
    #[track_caller]
    pub fn new(value: T) -> RaceCell<T> {
        executor::want_races();
        RaceCell {
            object: Object::new(ObjectKind::Cell),
            data: StdMutex::new(value),
            accesses: Lock::new(Accesses::default()),
        }
    }

    /// Reads the value through a shared reference.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.access(false, Location::caller());
        let data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        f(&data)
    }

    /// Changes the value through an exclusive reference: a write.
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.access(true, Location::caller());
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut data)
    }

    /// Replaces the value: a write.
    #[track_caller]
    pub fn set(&self, value: T) {
        self.access(true, Location::caller());
        *self.data.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    /// Returns a mutable reference; the borrow is exclusive, so it races
    /// with nothing.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Consumes the cell and returns the value.
    pub fn into_inner(self) -> T {
        self.data
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn access(&self, write: bool, site: &'static Location<'static>) {
        let op = if write { Op::Store } else { Op::Load };
        executor::operation(op, Some(&self.object), site);
        let mut race = None;
        executor::with_clock(&mut |task, clock| {
            let mut accesses = state(&self.accesses);
            let unordered = |a: &Access| a.task != task && a.time > clock.get(a.task);
            let earlier = accesses.write.filter(unordered).map(|a| (a, true));
            let earlier = earlier.or_else(|| {
                write
                    .then(|| accesses.reads.iter().copied().find(unordered))
                    .flatten()
                    .map(|a| (a, false))
            });
            if let Some(earlier) = earlier {
                race = Some(earlier);
                return;
            }
            let now = Access {
                task,
                time: clock.get(task),
                site,
            };
            if write {
                accesses.write = Some(now);
                accesses.reads.clear();
            } else {
                accesses.reads.retain(|r| r.task != task);
                accesses.reads.push(now);
            }
        });
        if let Some((earlier, earlier_write)) = race {
            executor::fail(Failure {
                kind: FailureKind::DataRace,
                message: format!(
                    "data race on {} (created at {}): this {} at {} and the {} by task {} at {} \
                     are not ordered by any synchronisation",
                    self.object,
                    self.object.created(),
                    if write { "write" } else { "read" },
                    site,
                    if earlier_write { "write" } else { "read" },
                    earlier.task,
                    earlier.site,
                ),
                blocked: None,
                others: vec![earlier.task],
            });
        }
    }
}

impl<T: Copy> RaceCell<T> {
    /// Reads a copy of the value.
    #[track_caller]
    pub fn get(&self) -> T {
        self.access(false, Location::caller());
        *self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Default> Default for RaceCell<T> {
    #[track_caller]
    fn default() -> RaceCell<T> {
        RaceCell::new(T::default())
    }
}

impl<T> fmt::Debug for RaceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaceCell")
            .field("object", &self.object.to_string())
            .finish_non_exhaustive()
    }
}
