//! Synchronisation primitives that work under the checker and live alike.
//!
//! They mirror Go's `sync` package in Rust form: [`Mutex`] and [`RwLock`]
//! hand out guards, [`RwLock`] is writer-preferring like Go's `RWMutex`,
//! [`Condvar`] pairs with a [`Mutex`], and [`WaitGroup`] counts outstanding
//! work. None of them poisons: a panic while holding a lock releases it.

pub mod atomic;
mod condvar;
mod mutex;
mod rwlock;
mod waitgroup;

pub use condvar::Condvar;
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use waitgroup::WaitGroup;

use crate::lock::{Lock, LockGuard};

/// Locks a primitive's own bookkeeping; it is never held across a wait, so it
/// is never contended for long, and a panic cannot leave it inconsistent.
#[inline]
pub(crate) fn state<T>(m: &Lock<T>) -> LockGuard<'_, T> {
    m.lock()
}
