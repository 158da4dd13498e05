use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{Location, RefUnwindSafe, UnwindSafe};

use super::state;
use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Failure, FailureKind, TaskKey};
use crate::lock::{Lock, LockGuard};
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::waiters::WaitList;

/// A mutual exclusion lock whose waits knot can see.
///
/// Like `std::sync::Mutex`, it protects its data and hands out a guard that
/// unlocks when dropped. It does not poison: a task that panics while holding
/// the lock releases it. A task that locks a mutex it already holds waits
/// forever; the checker reports that at once as a deadlock, and a live
/// program panics with the same message.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use knot_core::sync::Mutex;
///
/// let counter = Arc::new(Mutex::new(0));
/// let handles: Vec<_> = (0..2)
///     .map(|_| {
///         let counter = Arc::clone(&counter);
///         std::thread::spawn(move || *counter.lock() += 1)
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(*counter.lock(), 2);
/// ```
pub struct Mutex<T: ?Sized> {
    object: Object,
    state: Lock<LockState>,
    // The knot protocol above already makes access exclusive; this lock
    // only lets the guard reach the data without unsafe code, and is never
    // contended.
    data: Lock<T>,
}

/// Proof that the running task holds a [`Mutex`]; unlocks it when dropped.
///
/// Like the standard library's guard it is not `Send`: a lock is released by
/// the task that took it.
///
/// ```compile_fail
/// use knot_core::sync::Mutex;
/// fn assert_send<T: Send>(_: T) {}
/// let m = Mutex::new(0);
/// assert_send(m.lock());
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// `None` only while the guard is dropped: the data's guard goes first,
    /// so that the next holder never finds it taken.
    data: Option<LockGuard<'a, T>>,
    // Where the lock was taken: a guard's drop has no useful call site of
    // its own, so the unlock event points at the lock it ends.
    site: &'static Location<'static>,
    // Not `Send`, as the standard guard is not: the task that locked is the
    // holder the checker knows, and the one that must unlock. (Still `Sync`
    // where the data is.)
    _holder: PhantomData<std::sync::MutexGuard<'static, ()>>,
}

#[derive(Debug)]
struct LockState {
    holder: Option<TaskKey>,
    waiters: WaitList<()>,
    /// What the last holder did: an unlock releases into it, a lock
    /// acquires it.
    clock: VectorClock,
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`; the caller is remembered as
    /// its creation site for reports.
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            object: Object::new(ObjectKind::Mutex),
            state: Lock::new(LockState {
                holder: None,
                waiters: WaitList::new(),
                clock: VectorClock::new(),
            }),
            data: Lock::new(value),
        }
    }

    /// Consumes the mutex and returns its data.
    ///
    /// ```
    /// let m = knot_core::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the lock, waiting while another task holds it.
    ///
    /// # Panics
    ///
    /// Live, panics if the running task already holds the lock, which would
    /// otherwise wait forever. Under the checker that is reported as a
    /// deadlock instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = knot_core::sync::Mutex::new(vec![1]);
    /// m.lock().push(2);
    /// assert_eq!(*m.lock(), [1, 2]);
    /// ```
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.lock_at(Location::caller())
    }

    /// Acquires the lock if no task holds it, without waiting.
    ///
    /// ```
    /// let m = knot_core::sync::Mutex::new(0);
    /// let guard = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(guard);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        executor::operation(Op::TryLock, Some(&self.object), Location::caller());
        let me = executor::current_key();
        let mut st = state(&self.state);
        if st.holder.is_some() {
            return None;
        }
        st.holder = Some(me);
        st.waiters.refresh(|_| false);
        executor::acquire(&st.clock);
        drop(st);
        Some(self.guard(Location::caller()))
    }

    /// Returns a mutable reference to the data; no locking is needed since
    /// the borrow is exclusive.
    ///
    /// ```
    /// let mut m = knot_core::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    pub(crate) fn lock_at(&self, site: &'static Location<'static>) -> MutexGuard<'_, T> {
        let me = executor::current();
        let mut st = state(&self.state);
        if st.holder == Some(me.key()) {
            drop(st);
            executor::fail(Failure {
                kind: FailureKind::Deadlock,
                message: format!(
                    "a task locks {} (created at {}) that it already holds, \
                     and waits for itself forever",
                    self.object,
                    self.object.created()
                ),
                blocked: Some(self.blocked_on(site)),
                others: Vec::new(),
            });
        }
        let ready = st.holder.is_none();
        st.waiters.register(&me, ());
        drop(st);
        executor::wait_point(self.blocked_on(site), ready);
        loop {
            let mut st = state(&self.state);
            if st.holder.is_none() {
                st.holder = Some(me.key());
                st.waiters.remove(me.key());
                st.waiters.refresh(|_| false);
                executor::acquire(&st.clock);
                break;
            }
            st.waiters.register(&me, ());
            drop(st);
            executor::block(self.blocked_on(site));
        }
        self.guard(site)
    }

    fn guard(&self, site: &'static Location<'static>) -> MutexGuard<'_, T> {
        executor::acquired(&self.object);
        MutexGuard {
            mutex: self,
            data: Some(self.data.lock()),
            site,
            _holder: PhantomData,
        }
    }

    fn blocked_on(&self, site: &'static Location<'static>) -> BlockedOn {
        BlockedOn {
            object: self.object,
            op: Op::Lock,
            site,
        }
    }

    pub(crate) fn unlock(&self, site: &'static Location<'static>) {
        executor::operation(Op::Unlock, Some(&self.object), site);
        let mut st = state(&self.state);
        executor::release(&mut st.clock);
        st.holder = None;
        st.waiters.refresh(|_| true);
        drop(st);
        executor::released(&self.object);
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds, for a [`Condvar`](super::Condvar) to
    /// re-acquire after a wait.
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.data.as_deref().expect(DROPPED)
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data.as_deref_mut().expect(DROPPED)
    }
}

const DROPPED: &str = "knot: a mutex guard is used while it is dropped";

// Unwind-safe whatever the data, as the standard guard is: the mutex does
// not poison, so a panic while the guard is held is the holder's to weigh.
impl<T: ?Sized> UnwindSafe for MutexGuard<'_, T> {}
impl<T: ?Sized> RefUnwindSafe for MutexGuard<'_, T> {}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // Another task may lock the mutex as soon as it is unlocked, on
        // another worker: the data must be free by then.
        self.data = None;
        self.mutex.unlock(self.site);
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = state(&self.state);
        f.debug_struct("Mutex")
            .field("object", &self.object.to_string())
            .field("locked", &st.holder.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Mutex, MutexGuard};
    use std::cell::Cell;
    use std::panic::{RefUnwindSafe, UnwindSafe};

    /// As with the standard mutex, the mutex and its guard may cross a
    /// `catch_unwind` whatever they hold.
    #[test]
    fn the_mutex_and_its_guard_are_unwind_safe_whatever_the_data() {
        fn unwind_safe<T: UnwindSafe + RefUnwindSafe + ?Sized>() {}
        unwind_safe::<Mutex<Cell<i32>>>();
        unwind_safe::<MutexGuard<'static, Cell<i32>>>();
    }
}
