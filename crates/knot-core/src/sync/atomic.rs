//! Atomic types whose every access knot can see.
//!
//! They have the method set of `std::sync::atomic`, and behave like it live.
//! Under the checker each access is a scheduling point, so the checker
//! explores the orders in which tasks' accesses interleave (with sequentially
//! consistent semantics). That is what finds a lost update: two tasks that
//! `load` and then `store` instead of using `fetch_add`.
//!
//! ```
//! use knot_core::sync::atomic::{AtomicUsize, Ordering};
//!
//! static HITS: AtomicUsize = AtomicUsize::new(0);
//! HITS.fetch_add(1, Ordering::Relaxed);
//! assert_eq!(HITS.load(Ordering::Relaxed), 1);
//! ```

use std::fmt;
use std::panic::Location;
use std::sync::atomic as std_atomic;

pub use std::sync::atomic::Ordering;

use super::state;
use crate::clock::VectorClock;
use crate::executor;
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;

/// What knot keeps beside an atomic's value: its number and its
/// happens-before clock.
struct Sync {
    /// The atomic's number in the current execution. Atomics are `const` to
    /// create, so they get their number at their first access in each
    /// execution, which is also the place reports show as their creation
    /// site.
    tag: std_atomic::AtomicU64,
    /// Released by stores with `Release` (or stronger) ordering, acquired by
    /// loads with `Acquire` (or stronger) that read them.
    clock: Lock<VectorClock>,
}

impl Sync {
    const fn new() -> Sync {
        Sync {
            tag: std_atomic::AtomicU64::new(0),
            clock: Lock::new(VectorClock::new()),
        }
    }

    /// Announces an access: a scheduling point under the checker.
    #[inline]
    #[track_caller]
    fn access(&self, op: Op) {
        if executor::is_entered() {
            let site = Location::caller();
            let id = executor::lazy_object_id(&self.tag);
            let object = Object::with_id(ObjectKind::Atomic, id, site);
            executor::operation(op, Some(&object), site);
        }
    }

    /// A load with `order` read the value: it acquires what the store it
    /// read released, if the ordering says so.
    fn loaded(&self, order: Ordering) {
        if acquires(order) && executor::tracks_races() {
            executor::acquire(&state(&self.clock));
        }
    }

    /// A store with `order` wrote the value: a releasing store publishes
    /// the task's clock; a relaxed one publishes nothing.
    fn stored(&self, order: Ordering) {
        if executor::tracks_races() {
            let mut clock = state(&self.clock);
            clock.clear();
            if releases(order) {
                executor::release(&mut clock);
            }
        }
    }

    /// A read-modify-write with `order`: it continues the release sequence
    /// of the store it read, and adds to it if it releases.
    fn updated(&self, order: Ordering) {
        if executor::tracks_races() {
            let mut clock = state(&self.clock);
            if acquires(order) {
                executor::acquire(&clock);
            }
            if releases(order) {
                executor::release(&mut clock);
            }
        }
    }
}

fn acquires(order: Ordering) -> bool {
    matches!(
        order,
        Ordering::Acquire | Ordering::AcqRel | Ordering::SeqCst
    )
}

fn releases(order: Ordering) -> bool {
    matches!(
        order,
        Ordering::Release | Ordering::AcqRel | Ordering::SeqCst
    )
}

macro_rules! atomic_common {
    ($name:ident, $std:ident, $t:ty) => {
        impl $name {
            /// Creates a new atomic holding `value`.
            pub const fn new(value: $t) -> $name {
                $name {
                    inner: std_atomic::$std::new(value),
                    sync: Sync::new(),
                }
            }

            /// Loads the value.
            #[track_caller]
            pub fn load(&self, order: Ordering) -> $t {
                self.sync.access(Op::Load);
                let value = self.inner.load(order);
                self.sync.loaded(order);
                value
            }

            /// Stores `value`.
            #[track_caller]
            pub fn store(&self, value: $t, order: Ordering) {
                self.sync.access(Op::Store);
                self.sync.stored(order);
                self.inner.store(value, order)
            }

            /// Stores `value` and returns the previous value.
            #[track_caller]
            pub fn swap(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.swap(value, order);
                self.sync.updated(order);
                previous
            }

            /// Stores `new` if the value is `current`; returns the previous
            /// value, as `Ok` if it was `current`.
            #[track_caller]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                self.sync.access(Op::Rmw);
                let result = self.inner.compare_exchange(current, new, success, failure);
                match result {
                    Ok(_) => self.sync.updated(success),
                    Err(_) => self.sync.loaded(failure),
                }
                result
            }

            /// Like [`compare_exchange`](Self::compare_exchange); it never
            /// fails spuriously here, which the standard library allows.
            #[track_caller]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                self.sync.access(Op::Rmw);
                let result = self.inner.compare_exchange(current, new, success, failure);
                match result {
                    Ok(_) => self.sync.updated(success),
                    Err(_) => self.sync.loaded(failure),
                }
                result
            }

            /// Applies `f` to the value until the update succeeds; returns the
            /// previous value, or `Err` with the value `f` refused.
            #[track_caller]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                mut f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                self.sync.access(Op::Rmw);
                let result = self.inner.fetch_update(set_order, fetch_order, &mut f);
                match result {
                    Ok(_) => self.sync.updated(set_order),
                    Err(_) => self.sync.loaded(fetch_order),
                }
                result
            }

            /// Bitwise "and" with `value`; returns the previous value.
            #[track_caller]
            pub fn fetch_and(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_and(value, order);
                self.sync.updated(order);
                previous
            }

            /// Bitwise "nand" with `value`; returns the previous value.
            #[track_caller]
            pub fn fetch_nand(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_nand(value, order);
                self.sync.updated(order);
                previous
            }

            /// Bitwise "or" with `value`; returns the previous value.
            #[track_caller]
            pub fn fetch_or(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_or(value, order);
                self.sync.updated(order);
                previous
            }

            /// Bitwise "xor" with `value`; returns the previous value.
            #[track_caller]
            pub fn fetch_xor(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_xor(value, order);
                self.sync.updated(order);
                previous
            }

            /// Returns a mutable reference to the value; the borrow is
            /// exclusive, so this is not an access other tasks can race with.
            pub fn get_mut(&mut self) -> &mut $t {
                self.inner.get_mut()
            }

            /// Consumes the atomic and returns the value.
            pub fn into_inner(self) -> $t {
                self.inner.into_inner()
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::new(<$t>::default())
            }
        }

        impl From<$t> for $name {
            fn from(value: $t) -> $name {
                $name::new(value)
            }
        }

        impl fmt::Debug for $name {
            // Formatting is not a visible access: it must not become a
            // scheduling point inside a report.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.inner, f)
            }
        }
    };
}

macro_rules! atomic_int {
    ($(#[$doc:meta])* $name:ident, $std:ident, $t:ty) => {
        $(#[$doc])*
        pub struct $name {
            inner: std_atomic::$std,
            sync: Sync,
        }

        atomic_common!($name, $std, $t);

        impl $name {
            /// Adds `value`, wrapping on overflow; returns the previous value.
            #[track_caller]
            pub fn fetch_add(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_add(value, order);
                self.sync.updated(order);
                previous
            }

            /// Subtracts `value`, wrapping on overflow; returns the previous
            /// value.
            #[track_caller]
            pub fn fetch_sub(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_sub(value, order);
                self.sync.updated(order);
                previous
            }

            /// Stores the maximum of the value and `value`; returns the
            /// previous value.
            #[track_caller]
            pub fn fetch_max(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_max(value, order);
                self.sync.updated(order);
                previous
            }

            /// Stores the minimum of the value and `value`; returns the
            /// previous value.
            #[track_caller]
            pub fn fetch_min(&self, value: $t, order: Ordering) -> $t {
                self.sync.access(Op::Rmw);
                let previous = self.inner.fetch_min(value, order);
                self.sync.updated(order);
                previous
            }
        }
    };
}

/// A boolean shared between tasks.
///
/// ```
/// use knot_core::sync::atomic::{AtomicBool, Ordering};
///
/// let flag = AtomicBool::new(false);
/// assert!(!flag.swap(true, Ordering::AcqRel));
/// assert!(flag.load(Ordering::Acquire));
/// ```
pub struct AtomicBool {
    inner: std_atomic::AtomicBool,
    sync: Sync,
}

atomic_common!(AtomicBool, AtomicBool, bool);

impl AtomicBool {
    /// Logical negation; returns the previous value.
    #[track_caller]
    pub fn fetch_not(&self, order: Ordering) -> bool {
        self.sync.access(Op::Rmw);
        let previous = self.inner.fetch_xor(true, order);
        self.sync.updated(order);
        previous
    }
}

atomic_int!(
    /// A `usize` shared between tasks.
    ///
    /// ```
    /// use knot_core::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let n = AtomicUsize::new(1);
    /// assert_eq!(n.fetch_add(2, Ordering::SeqCst), 1);
    /// assert_eq!(n.load(Ordering::SeqCst), 3);
    /// ```
    AtomicUsize, AtomicUsize, usize
);
atomic_int!(
    /// A `u64` shared between tasks.
    ///
    /// ```
    /// use knot_core::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let n = AtomicU64::new(7);
    /// assert_eq!(n.fetch_max(9, Ordering::SeqCst), 7);
    /// assert_eq!(n.into_inner(), 9);
    /// ```
    AtomicU64, AtomicU64, u64
);
atomic_int!(
    /// An `i64` shared between tasks.
    ///
    /// ```
    /// use knot_core::sync::atomic::{AtomicI64, Ordering};
    ///
    /// let n = AtomicI64::new(0);
    /// n.fetch_sub(5, Ordering::SeqCst);
    /// assert_eq!(n.load(Ordering::SeqCst), -5);
    /// ```
    AtomicI64, AtomicI64, i64
);
atomic_int!(
    /// A `u32` shared between tasks.
    ///
    /// ```
    /// use knot_core::sync::atomic::{AtomicU32, Ordering};
    ///
    /// let n = AtomicU32::new(1);
    /// assert_eq!(n.compare_exchange(1, 2, Ordering::SeqCst, Ordering::SeqCst), Ok(1));
    /// ```
    AtomicU32, AtomicU32, u32
);
atomic_int!(
    /// An `i32` shared between tasks.
    ///
    /// ```
    /// use knot_core::sync::atomic::{AtomicI32, Ordering};
    ///
    /// let n = AtomicI32::new(-1);
    /// assert_eq!(n.fetch_min(-3, Ordering::SeqCst), -1);
    /// ```
    AtomicI32, AtomicI32, i32
);
