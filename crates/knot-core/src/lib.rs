//! The heart of knot shared by both executors: the task model, the
//! [`Executor`](executor::Executor) interface, and the synchronisation
//! primitives, each written once.
//!
//! A primitive is a small state machine plus a list of waiting tasks. An
//! operation either completes, or asks the running executor to block the
//! current task on the primitive until it may proceed. What blocking means
//! (suspending a coroutine, under the checker or on a live worker; parking
//! the thread, for code outside any task) is the
//! executor's business, never the primitive's.
//!
//! Users reach all of this through the `knot` crate; this crate is the
//! foundation that `knot-model` (the checker) and `knot-runtime` (the live
//! executor) build on.
//!
//! ```
//! use knot_core::sync::{Mutex, WaitGroup};
//!
//! // Outside any executor the primitives park OS threads.
//! let counter = Mutex::new(0);
//! *counter.lock() += 1;
//! assert_eq!(*counter.lock(), 1);
//!
//! let wg = WaitGroup::new();
//! wg.add(1);
//! wg.done();
//! wg.wait();
//! ```

pub mod cell;
pub mod chan;
pub mod clock;
pub mod context;
pub mod executor;
pub mod live_clock;
pub mod object;
pub mod op;
pub mod parked;
pub mod sync;
pub mod task;
pub mod time;

mod lock;
mod waiters;
