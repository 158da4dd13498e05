//! The short lock under which knot's primitives keep their own state.
//!
//! A primitive's bookkeeping (a channel's queues, a mutex's holder, a
//! task's result) stays locked for a few instructions, never across a wait,
//! and under the checker, where one task runs at a time, it is never
//! contended at all. A spin lock suits that best: its unlock is a plain
//! store, where `std::sync::Mutex` needs a read-modify-write to learn
//! whether anyone sleeps on it, and a check takes such locks dozens of times
//! per execution. A locker that finds the lock taken yields its thread
//! rather than spinning hot, so that a holder whose thread lost its
//! processor gets it back.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};

/// A lock for a primitive's own state; see the [module docs](self).
pub(crate) struct Lock<T: ?Sized>(spin::mutex::SpinMutex<T, spin::relax::Yield>);

/// The guard of a [`Lock`]: the lock is held until it is dropped.
pub(crate) type LockGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

impl<T> Lock<T> {
    /// An unlocked lock around `value`.
    pub(crate) const fn new(value: T) -> Lock<T> {
        Lock(spin::mutex::SpinMutex::new(value))
    }

    /// The value, out of the lock.
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> Lock<T> {
    /// Takes the lock, yielding the thread while another holds it.
    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        self.0.lock()
    }

    /// The value, through the exclusive borrow that makes locking needless.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

// As the standard mutex is, and as knot used it (its poison ignored): a
// panic while the lock is held releases it. The bookkeeping under knot's
// locks runs no user code, so no panic leaves it half-changed; the data of
// a `sync::Mutex`, which user code does change under one, is not poisoned
// either, as that module's docs say.
impl<T: ?Sized> UnwindSafe for Lock<T> {}
impl<T: ?Sized> RefUnwindSafe for Lock<T> {}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Lock;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn a_panic_while_the_lock_is_held_releases_it() {
        let lock = Lock::new(0);
        let result = std::panic::catch_unwind(|| {
            let _held = lock.lock();
            panic!("a panic under the lock");
        });
        assert!(result.is_err());
        *lock.lock() += 1;
        assert_eq!(*lock.lock(), 1);
    }

    #[test]
    fn threads_that_contend_for_the_lock_lose_no_update() {
        let lock = Arc::new(Lock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    for _ in 0..10_000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(Arc::try_unwrap(lock).ok().unwrap().into_inner(), 40_000);
    }
}
