//! A count that many threads change often and one thread reads seldom.
//!
//! Every thread adds to a slot of its own (one of a few, each on a cache
//! line of its own), so that changes made on different cores never contend;
//! reading adds the slots up. A slot alone may go below zero (a task counted
//! in where it was spawned is counted out where it finished); only the sum
//! means anything, and it is exact whenever nobody is changing it.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

const SLOTS: usize = 16;

/// A sum of per-thread slots; see the module.
#[derive(Debug)]
pub(crate) struct Counter {
    slots: [CachePadded<AtomicI64>; SLOTS],
}

impl Counter {
    pub(crate) const fn new() -> Counter {
        Counter {
            slots: [const { CachePadded::new(AtomicI64::new(0)) }; SLOTS],
        }
    }

    /// Adds `n` (which may be negative) in the calling thread's slot.
    #[inline]
    pub(crate) fn add(&self, n: i64) {
        self.slots[slot()].fetch_add(n, Ordering::SeqCst);
    }

    /// The sum of every slot.
    pub(crate) fn sum(&self) -> i64 {
        self.slots.iter().map(|s| s.load(Ordering::SeqCst)).sum()
    }
}

/// The calling thread's slot, given out in turn as threads first count.
fn slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SLOT.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS);
        }
        s.get()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        static COUNT: Counter = Counter::new();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        COUNT.add(if i % 2 == 0 { 3 } else { -1 });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(COUNT.sum(), 4 * 3000 - 4 * 1000);
    }
}
