use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{
    PoisonError, RwLock as StdRwLock, RwLockReadGuard as StdReadGuard,
    RwLockWriteGuard as StdWriteGuard,
};

use super::state;
use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Failure, FailureKind, TaskKey};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::waiters::WaitList;

/// A reader-writer lock that prefers writers, as Go's `sync.RWMutex` does.
///
/// Many tasks may hold it for reading at once, or one for writing. A writer
/// that waits blocks new readers, even a task that already holds a read lock
/// and asks for another: that recursive read is a classic deadlock, and the
/// checker finds it. When a writer unlocks, the readers that were waiting go
/// ahead of the next writer.
///
/// # Examples
///
/// ```
/// use knot_core::sync::RwLock;
///
/// let config = RwLock::new(String::from("v1"));
/// {
///     let a = config.read();
///     let b = config.read();
///     assert_eq!(*a, *b);
/// }
/// config.write().push_str("-patched");
/// assert_eq!(*config.read(), "v1-patched");
/// ```
pub struct RwLock<T: ?Sized> {
    object: Object,
    state: Lock<RwState>,
    data: StdRwLock<T>,
}

/// Shared access to the data of an [`RwLock`]; releases it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `None` only while the guard is dropped (see [`RwLockWriteGuard`]).
    data: Option<StdReadGuard<'a, T>>,
    // Where the lock was taken; the release event points there.
    site: &'static Location<'static>,
}

/// Exclusive access to the data of an [`RwLock`]; releases it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `None` only while the guard is dropped: the data's guard goes first,
    /// so that the next holder never finds it taken.
    data: Option<StdWriteGuard<'a, T>>,
    site: &'static Location<'static>,
}

#[derive(Debug)]
struct RwState {
    writer: Option<TaskKey>,
    readers: Vec<TaskKey>,
    waiters: WaitList<Want>,
    /// Released by writers, acquired by everyone.
    clock: VectorClock,
    /// Released by readers, acquired by writers: readers do not order each
    /// other.
    read_clock: VectorClock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Write,
    // `admitted` readers were waiting when a writer unlocked: they go ahead of
    // writers that are still waiting, as in Go.
    Read { admitted: bool },
}

impl RwState {
    fn writers_waiting(&self) -> bool {
        self.waiters.data().any(|w| *w == Want::Write)
    }

    fn readers_admitted(&self) -> bool {
        self.waiters
            .data()
            .any(|w| *w == Want::Read { admitted: true })
    }

    fn can(&self, want: Want) -> bool {
        match want {
            Want::Write => {
                self.writer.is_none() && self.readers.is_empty() && !self.readers_admitted()
            }
            Want::Read { admitted } => {
                self.writer.is_none() && (admitted || !self.writers_waiting())
            }
        }
    }

    fn refresh(&self) {
        self.waiters.refresh(|want| self.can(*want));
    }
}

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`; the caller is remembered as
    /// its creation site for reports.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            object: Object::new(ObjectKind::RwLock),
            state: Lock::new(RwState {
                writer: None,
                readers: Vec::new(),
                waiters: WaitList::new(),
                clock: VectorClock::new(),
                read_clock: VectorClock::new(),
            }),
            data: StdRwLock::new(value),
        }
    }

    /// Consumes the lock and returns its data.
    ///
    /// ```
    /// assert_eq!(knot_core::sync::RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Acquires shared access, waiting while a writer holds the lock or waits
    /// for it.
    ///
    /// # Panics
    ///
    /// Live, panics if the running task holds the lock for writing. Under the
    /// checker that is reported as a deadlock.
    #[track_caller]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let site = Location::caller();
        self.acquire(Want::Read { admitted: false }, Op::Read, site);
        executor::acquired(&self.object);
        RwLockReadGuard {
            lock: self,
            data: Some(self.data.read().unwrap_or_else(PoisonError::into_inner)),
            site,
        }
    }

    /// Acquires exclusive access, waiting while any task holds the lock.
    ///
    /// # Panics
    ///
    /// Live, panics if the running task already holds the lock. Under the
    /// checker that is reported as a deadlock.
    #[track_caller]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let site = Location::caller();
        self.acquire(Want::Write, Op::Write, site);
        executor::acquired(&self.object);
        RwLockWriteGuard {
            lock: self,
            data: Some(self.data.write().unwrap_or_else(PoisonError::into_inner)),
            site,
        }
    }

    /// Acquires shared access if that needs no wait.
    ///
    /// ```
    /// let l = knot_core::sync::RwLock::new(0);
    /// let w = l.write();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert!(l.try_read().is_some());
    /// ```
    #[track_caller]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        if !self.try_acquire(Want::Read { admitted: false }) {
            return None;
        }
        executor::acquired(&self.object);
        Some(RwLockReadGuard {
            lock: self,
            data: Some(self.data.read().unwrap_or_else(PoisonError::into_inner)),
            site: Location::caller(),
        })
    }

    /// Acquires exclusive access if that needs no wait.
    ///
    /// ```
    /// let l = knot_core::sync::RwLock::new(0);
    /// let r = l.read();
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// assert!(l.try_write().is_some());
    /// ```
    #[track_caller]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if !self.try_acquire(Want::Write) {
            return None;
        }
        executor::acquired(&self.object);
        Some(RwLockWriteGuard {
            lock: self,
            data: Some(self.data.write().unwrap_or_else(PoisonError::into_inner)),
            site: Location::caller(),
        })
    }

    /// Returns a mutable reference to the data; the borrow is exclusive, so
    /// no locking is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    #[track_caller]
    fn try_acquire(&self, want: Want) -> bool {
        executor::operation(Op::TryAcquire, Some(&self.object), Location::caller());
        let me = executor::current_key();
        let mut st = state(&self.state);
        if !st.can(want) || st.writer == Some(me) {
            return false;
        }
        st.take(me, want);
        st.refresh();
        true
    }

    fn acquire(&self, want: Want, op: Op, site: &'static Location<'static>) {
        let me = executor::current();
        let blocked = BlockedOn {
            object: self.object,
            op,
            site,
        };
        let mut st = state(&self.state);
        let held_by_me =
            st.writer == Some(me.key()) || (want == Want::Write && st.readers.contains(&me.key()));
        if held_by_me {
            drop(st);
            executor::fail(Failure {
                kind: FailureKind::Deadlock,
                message: format!(
                    "a task asks for {} (created at {}) in {} mode while it already holds it, \
                     and waits for itself forever",
                    self.object,
                    self.object.created(),
                    op
                ),
                blocked: Some(blocked),
                others: Vec::new(),
            });
        }
        if want == Want::Write {
            // Queueing as a writer holds back new readers, so it is part of
            // the operation rather than of the wait: the writer joins the
            // queue when it is scheduled, and may then wait.
            drop(st);
            executor::operation(op, Some(&self.object), site);
        } else {
            // A waiting reader holds back nobody: it is simply not scheduled
            // until it can read.
            let ready = st.can(want);
            st.waiters.register(&me, want);
            drop(st);
            executor::wait_point(blocked, ready);
        }
        loop {
            let mut st = state(&self.state);
            let want = st.waiters.get(me.key()).copied().unwrap_or(want);
            if st.can(want) {
                st.waiters.remove(me.key());
                st.take(me.key(), want);
                st.refresh();
                return;
            }
            st.waiters.register(&me, want);
            st.refresh();
            drop(st);
            executor::block(blocked);
        }
    }

    fn release(&self, op: Op, site: &'static Location<'static>) {
        executor::operation(op, Some(&self.object), site);
        let me = executor::current_key();
        let mut st = state(&self.state);
        if op == Op::WriteUnlock {
            executor::release(&mut st.clock);
            st.writer = None;
            for want in st.waiters.data_mut() {
                if let Want::Read { admitted } = want {
                    *admitted = true;
                }
            }
        } else if let Some(i) = st.readers.iter().position(|r| *r == me) {
            executor::release(&mut st.read_clock);
            st.readers.swap_remove(i);
        } else {
            // A read guard released by another task than the one that took
            // it: forget any one reader.
            st.readers.pop();
        }
        st.refresh();
        drop(st);
        executor::released(&self.object);
    }
}

impl RwState {
    fn take(&mut self, me: TaskKey, want: Want) {
        executor::acquire(&self.clock);
        match want {
            Want::Write => {
                executor::acquire(&self.read_clock);
                self.writer = Some(me);
            }
            Want::Read { .. } => self.readers.push(me),
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data.as_deref().expect(DROPPED)
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data.as_deref().expect(DROPPED)
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data.as_deref_mut().expect(DROPPED)
    }
}

const DROPPED: &str = "knot: a lock guard is used while it is dropped";

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.data = None;
        self.lock.release(Op::ReadUnlock, self.site);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // Another task may take the lock as soon as it is released, on
        // another worker: the data must be free by then.
        self.data = None;
        self.lock.release(Op::WriteUnlock, self.site);
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = state(&self.state);
        f.debug_struct("RwLock")
            .field("object", &self.object.to_string())
            .field("readers", &st.readers.len())
            .field("writer", &st.writer.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
