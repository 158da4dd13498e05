//! The list of tasks waiting on a primitive.

use crate::executor::{self, TaskKey, Waker};

/// Tasks blocked on one primitive, each with what it waits for.
///
/// Primitives keep their waiters' readiness exact: after every change of
/// state they tell each waiter whether it could now proceed. Under the
/// checker this makes the set of runnable tasks exactly the set of tasks
/// whose next operation can complete; live it is just a wake-up.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    entries: Vec<(Waker, T)>,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            entries: Vec::new(),
        }
    }

    /// Adds `waker` with `data`, or updates its data if it waits already.
    pub(crate) fn register(&mut self, waker: &Waker, data: T) {
        match self
            .entries
            .iter_mut()
            .find(|(w, _)| w.key() == waker.key())
        {
            Some(entry) => entry.1 = data,
            None => self.entries.push((waker.clone(), data)),
        }
    }

    /// Removes the entry of `key`, returning its data.
    pub(crate) fn remove(&mut self, key: TaskKey) -> Option<T> {
        let index = self.entries.iter().position(|(w, _)| w.key() == key)?;
        Some(self.entries.remove(index).1)
    }

    /// The data of `key`'s entry.
    pub(crate) fn get(&self, key: TaskKey) -> Option<&T> {
        self.entries
            .iter()
            .find(|(w, _)| w.key() == key)
            .map(|(_, data)| data)
    }

    /// Tells every waiter whether it can proceed now.
    pub(crate) fn refresh(&self, mut ready: impl FnMut(&T) -> bool) {
        for (waker, data) in &self.entries {
            if ready(data) {
                executor::wake(waker);
            } else {
                executor::unready(waker);
            }
        }
    }

    /// Iterates over the waiters' data, mutably, in arrival order.
    pub(crate) fn data_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().map(|(_, data)| data)
    }

    /// Iterates over the waiters' data in arrival order.
    pub(crate) fn data(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, data)| data)
    }
}
