//! The list of tasks waiting on a primitive.

use std::mem;

use crate::executor::{self, TaskKey, Waker};

/// Tasks blocked on one primitive, each with what it waits for.
///
/// Primitives keep their waiters' readiness exact: after every change of
/// state they tell each waiter whether it could now proceed. Under the
/// checker this makes the set of runnable tasks exactly the set of tasks
/// whose next operation can complete; live it is just a wake-up.
///
/// The first waiter is kept in place: most primitives have at most one at a
/// time, and registering it then allocates nothing.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    /// The longest-waiting entry; empty only when `rest` is.
    first: Option<(Waker, T)>,
    /// The others, in arrival order.
    rest: Vec<(Waker, T)>,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            first: None,
            rest: Vec::new(),
        }
    }

    fn entries(&self) -> impl Iterator<Item = &(Waker, T)> {
        self.first.iter().chain(&self.rest)
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = &mut (Waker, T)> {
        self.first.iter_mut().chain(&mut self.rest)
    }

    /// Adds `waker` with `data`, or updates its data if it waits already.
    pub(crate) fn register(&mut self, waker: &Waker, data: T) {
        let key = waker.key();
        match &mut self.first {
            None => self.first = Some((waker.clone(), data)),
            Some((w, entry)) if w.key() == key => *entry = data,
            Some(_) => match self.rest.iter_mut().find(|(w, _)| w.key() == key) {
                Some((_, entry)) => *entry = data,
                None => self.rest.push((waker.clone(), data)),
            },
        }
    }

    /// Removes the entry of `key`, returning its data.
    pub(crate) fn remove(&mut self, key: TaskKey) -> Option<T> {
        if self.first.as_ref().is_some_and(|(w, _)| w.key() == key) {
            let next = if self.rest.is_empty() {
                None
            } else {
                Some(self.rest.remove(0))
            };
            return mem::replace(&mut self.first, next).map(|(_, data)| data);
        }
        let index = self.rest.iter().position(|(w, _)| w.key() == key)?;
        Some(self.rest.remove(index).1)
    }

    /// The data of `key`'s entry.
    pub(crate) fn get(&self, key: TaskKey) -> Option<&T> {
        self.entries()
            .find(|(w, _)| w.key() == key)
            .map(|(_, data)| data)
    }

    /// Tells every waiter whether it can proceed now.
    pub(crate) fn refresh(&self, mut ready: impl FnMut(&T) -> bool) {
        for (waker, data) in self.entries() {
            if ready(data) {
                executor::wake(waker);
            } else {
                executor::unready(waker);
            }
        }
    }

    /// Iterates over the waiters' data, mutably, in arrival order.
    pub(crate) fn data_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries_mut().map(|(_, data)| data)
    }

    /// Iterates over the waiters' data in arrival order.
    pub(crate) fn data(&self) -> impl Iterator<Item = &T> {
        self.entries().map(|(_, data)| data)
    }
}
