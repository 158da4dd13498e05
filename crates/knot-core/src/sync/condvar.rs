use std::fmt;
use std::panic::Location;

use super::{state, MutexGuard};
use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::waiters::WaitList;

/// A condition variable: tasks wait on it until another task signals that
/// the state they wait for may have changed.
///
/// It pairs with a [`Mutex`](super::Mutex), as in the standard library and
/// Go's `sync.Cond`. Waiters are woken in the order they started waiting.
/// A signal that arrives while nobody waits is lost, which is exactly the
/// "lost wake-up" bug the checker looks for: always wait in a loop that
/// checks the condition, or use [`Condvar::wait_while`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use knot_core::sync::{Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = Arc::clone(&pair);
/// let t = std::thread::spawn(move || {
///     let (ready, cv) = &*pair2;
///     *ready.lock() = true;
///     cv.notify_one();
/// });
/// let (ready, cv) = &*pair;
/// let guard = cv.wait_while(ready.lock(), |ready| !*ready);
/// assert!(*guard);
/// drop(guard);
/// t.join().unwrap();
/// ```
pub struct Condvar {
    object: Object,
    state: Lock<WaitList<bool>>,
    /// Released by notifications, acquired by the waiters they wake.
    clock: Lock<VectorClock>,
}

impl Condvar {
    /// Creates a condition variable with no waiters; the caller is remembered
    /// as its creation site for reports.
    #[track_caller]
    pub fn new() -> Condvar {
        Condvar {
            object: Object::new(ObjectKind::Condvar),
            state: Lock::new(WaitList::new()),
            clock: Lock::new(VectorClock::new()),
        }
    }

    /// Releases `guard`'s mutex, waits until notified, then locks the mutex
    /// again and returns the new guard.
    ///
    /// The task is registered as a waiter before the mutex is released, so a
    /// notification sent after the release is never missed.
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_at(guard, Location::caller())
    }

    /// Waits while `condition` holds, re-checking it after every wake-up.
    ///
    /// ```
    /// use knot_core::sync::{Condvar, Mutex};
    ///
    /// let m = Mutex::new(3);
    /// let cv = Condvar::new();
    /// // The condition is already false: no wait.
    /// let guard = cv.wait_while(m.lock(), |n| *n == 0);
    /// assert_eq!(*guard, 3);
    /// ```
    #[track_caller]
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        let site = Location::caller();
        while condition(&mut *guard) {
            guard = self.wait_at(guard, site);
        }
        guard
    }

    /// Wakes the task that has waited longest, if any.
    #[track_caller]
    pub fn notify_one(&self) {
        executor::operation(Op::NotifyOne, Some(&self.object), Location::caller());
        executor::release(&mut state(&self.clock));
        let mut waiters = state(&self.state);
        if let Some(notified) = waiters.data_mut().find(|notified| !**notified) {
            *notified = true;
        }
        waiters.refresh(|notified| *notified);
    }

    /// Wakes every waiting task.
    #[track_caller]
    pub fn notify_all(&self) {
        executor::operation(Op::NotifyAll, Some(&self.object), Location::caller());
        executor::release(&mut state(&self.clock));
        let mut waiters = state(&self.state);
        waiters.data_mut().for_each(|notified| *notified = true);
        waiters.refresh(|notified| *notified);
    }
    fn wait_at<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        site: &'static Location<'static>,
    ) -> MutexGuard<'a, T> {
        let me = executor::current();
        state(&self.state).register(&me, false);
        // Registering decides who a later notify wakes: an access, made
        // before the mutex is released so that no notification is missed.
        executor::touch(&self.object, Op::Register);
        let mutex = guard.mutex();
        drop(guard);
        let blocked = BlockedOn {
            object: self.object,
            op: Op::CondWait,
            site,
        };
        let ready = state(&self.state).get(me.key()) == Some(&true);
        executor::wait_point(blocked, ready);
        loop {
            let mut waiters = state(&self.state);
            if waiters.get(me.key()) == Some(&true) {
                waiters.remove(me.key());
                executor::acquire(&state(&self.clock));
                break;
            }
            drop(waiters);
            executor::block(blocked);
        }
        mutex.lock_at(site)
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar")
            .field("object", &self.object.to_string())
            .finish_non_exhaustive()
    }
}
