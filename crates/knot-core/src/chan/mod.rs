//! Channels with close, in the style of Go's `chan` and crossbeam.
//!
//! [`bounded`] makes a channel with a buffer of `n` values; with `n = 0` it
//! is a rendezvous, where a send completes only when a receiver takes the
//! value. [`unbounded`] never makes a sender wait. Both ends clone: many
//! producers and many consumers share one channel, as in Go. Values arrive
//! in the order they were sent.
//!
//! A channel closes when a sender calls [`Sender::close`] or when the last
//! sender is dropped. Receivers then drain what is buffered and get
//! [`RecvError`]; senders get their value back in a [`SendError`]. Closing
//! twice is a bug: it panics live and is reported as misuse by the checker.
//! Dropping every receiver does not close a channel: as in Go, a sender with
//! no receiver left waits forever, and the checker reports that task as
//! leaked.
//!
//! `knot::select!` waits for the first of several operations.
//!
//! # Examples
//!
//! ```
//! use knot_core::chan;
//!
//! let (tx, rx) = chan::bounded(2);
//! tx.send(1).unwrap();
//! tx.send(2).unwrap();
//! drop(tx); // the last sender: the channel closes
//! assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
//! assert!(rx.recv().is_err());
//! ```

mod channel;
mod error;
mod select;

pub(crate) use channel::channel;
pub use channel::{bounded, unbounded, Iter, Receiver, Sender, TryIter};
pub use error::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// The machinery behind `knot::select!`; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use super::channel::Selector;
    pub use super::select::{select, Arm, RecvArm, SendArm};
}
