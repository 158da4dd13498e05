//! Vector clocks: the happens-before relation between tasks' operations.
//!
//! Every task carries a clock; every synchronising operation moves clocks
//! the way Go's memory model says it orders memory: an unlock *releases*
//! the task's clock into the mutex, the next lock *acquires* it. Two
//! accesses to the same memory, at least one a write, whose clocks do not
//! order them are a data race, whether or not they happened to run back to
//! back.

/// A vector clock: one counter per task of an execution.
///
/// # Examples
///
/// ```
/// use knot_core::clock::VectorClock;
///
/// let mut a = VectorClock::new();
/// a.tick(0);
/// let mut b = VectorClock::new();
/// b.tick(1);
/// assert!(!a.happens_before(&b));
/// b.join(&a);
/// assert!(a.happens_before(&b));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorClock(Vec<u32>);

impl VectorClock {
    /// A clock at zero for every task.
    pub const fn new() -> VectorClock {
        VectorClock(Vec::new())
    }

    /// Task `task`'s counter.
    pub fn get(&self, task: usize) -> u32 {
        self.0.get(task).copied().unwrap_or(0)
    }

    /// Advances task `task`'s counter and returns its new value.
    pub fn tick(&mut self, task: usize) -> u32 {
        if self.0.len() <= task {
            self.0.resize(task + 1, 0);
        }
        self.0[task] += 1;
        self.0[task]
    }

    /// Makes this clock the pointwise maximum of itself and `other`.
    pub fn join(&mut self, other: &VectorClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Whether everything this clock has seen, `other` has seen too.
    pub fn happens_before(&self, other: &VectorClock) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(task, &time)| time <= other.get(task))
    }

    /// Forgets everything: every counter back to zero, keeping the memory.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}
