//! Cancellation and deadlines that flow from a context to everything
//! derived from it, like Go's `context` package.
//!
//! A [`Context`] is cheap to clone and shared freely between tasks. Deriving
//! one with [`Context::with_cancel`], [`Context::with_timeout`] or
//! [`Context::with_deadline`] gives a child and a [`Cancel`] handle;
//! cancelling a context cancels every context derived from it. A task waits
//! for cancellation in a `select!` arm on [`Context::done`].
//!
//! # Examples
//!
//! ```
//! use knot_core::context::{Context, ContextError};
//!
//! let (ctx, cancel) = Context::background().with_cancel();
//! let (child, _cancel_child) = ctx.with_cancel();
//! assert_eq!(child.err(), None);
//! cancel.cancel();
//! assert!(child.done().recv().is_err()); // done reports closed
//! assert_eq!(child.err(), Some(ContextError::Canceled));
//! # _cancel_child.cancel();
//! ```

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use crate::chan::{self, Receiver, Sender};
use crate::executor::{self, Failure, FailureKind};
use crate::lock::Lock;
use crate::object::{Object, ObjectKind};
use crate::op::Op;
use crate::sync::state;
use crate::time::Instant;

/// A cancellation signal and an optional deadline, shared by the tasks that
/// work on one request.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

/// The handle that cancels a derived context.
///
/// Call [`cancel`](Cancel::cancel) when the work is done. Dropping the handle
/// without calling it while the context is still live leaks the context
/// until its parent ends; the checker reports that as misuse (Go's
/// `lostcancel`), and live the drop cancels it.
#[must_use = "a context is cancelled only through its Cancel handle; dropping it is reported as misuse"]
pub struct Cancel {
    // Strong, as in Go: the cancel function keeps its context (and so its
    // children) reachable even when every `Context` value is gone.
    inner: Arc<Inner>,
    site: &'static Location<'static>,
    called: AtomicBool,
}

/// Why a context is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Its [`Cancel`] handle, or an ancestor's, was called.
    Canceled,
    /// Its deadline, or an ancestor's, passed.
    DeadlineExceeded,
}

struct Inner {
    object: Object,
    deadline: Option<Instant>,
    done: Receiver<()>,
    state: Lock<State>,
}

struct State {
    err: Option<ContextError>,
    // Dropping the only sender closes `done`.
    done: Option<Sender<()>>,
    children: Vec<Weak<Inner>>,
}

impl Context {
    /// The root context: never cancelled, no deadline.
    #[track_caller]
    pub fn background() -> Context {
        Context::new(None, Location::caller())
    }

    /// A child that is cancelled by the returned handle, or with this
    /// context.
    #[track_caller]
    pub fn with_cancel(&self) -> (Context, Cancel) {
        self.child(self.deadline(), Location::caller())
    }

    /// A child that is cancelled after `timeout`, by the returned handle, or
    /// with this context.
    #[track_caller]
    pub fn with_timeout(&self, timeout: Duration) -> (Context, Cancel) {
        self.with_deadline_at(Instant::now() + timeout, Location::caller())
    }

    /// A child that is cancelled at `deadline`, by the returned handle, or
    /// with this context.
    #[track_caller]
    pub fn with_deadline(&self, deadline: Instant) -> (Context, Cancel) {
        self.with_deadline_at(deadline, Location::caller())
    }

    /// A channel that reports closed once the context is done; use it as a
    /// `select!` arm: `recv(ctx.done()) -> _ => ...`.
    pub fn done(&self) -> Receiver<()> {
        self.inner.done.clone()
    }

    /// `None` while the context is live; why it ended once it is done.
    pub fn err(&self) -> Option<ContextError> {
        state(&self.inner.state).err
    }

    /// The deadline, if this context or an ancestor has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    fn new(deadline: Option<Instant>, site: &'static Location<'static>) -> Context {
        let (tx, rx) = chan::channel(0, site);
        // `done` closes when the context is cancelled, never because the
        // last `Context` value went away.
        tx.keep_open();
        Context {
            inner: Arc::new(Inner {
                object: Object::at(ObjectKind::Context, site),
                deadline,
                done: rx,
                state: Lock::new(State {
                    err: None,
                    done: Some(tx),
                    children: Vec::new(),
                }),
            }),
        }
    }

    fn with_deadline_at(
        &self,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> (Context, Cancel) {
        let deadline = self.deadline().map_or(deadline, |d| d.min(deadline));
        let (child, handle) = self.child(Some(deadline), site);
        if child.err().is_none() {
            let weak = Arc::downgrade(&child.inner);
            let watched = Weak::clone(&weak);
            executor::add_timer_while(
                deadline.since_epoch(),
                false,
                Box::new(move || {
                    if let Some(inner) = weak.upgrade() {
                        cancel(&inner, ContextError::DeadlineExceeded);
                    }
                }),
                // A context nobody holds any more has nobody to tell.
                Box::new(move || watched.strong_count() > 0),
            );
        }
        (child, handle)
    }

    fn child(
        &self,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> (Context, Cancel) {
        let child = Context::new(deadline, site);
        let parent_err = {
            let mut st = state(&self.inner.state);
            st.children.retain(|c| c.strong_count() > 0);
            st.children.push(Arc::downgrade(&child.inner));
            st.err
        };
        if let Some(err) = parent_err {
            cancel(&child.inner, err);
        } else if deadline.is_some_and(|d| d <= Instant::now()) {
            cancel(&child.inner, ContextError::DeadlineExceeded);
        }
        let handle = Cancel {
            inner: Arc::clone(&child.inner),
            site,
            called: AtomicBool::new(false),
        };
        (child, handle)
    }
}

impl Cancel {
    /// Cancels the context and everything derived from it; later calls do
    /// nothing.
    #[track_caller]
    pub fn cancel(&self) {
        self.called.store(true, Ordering::Relaxed);
        executor::operation(Op::Cancel, Some(&self.inner.object), Location::caller());
        cancel(&self.inner, ContextError::Canceled);
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if self.called.load(Ordering::Relaxed) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        if state(&inner.state).err.is_some() {
            return;
        }
        // Live, on a plain thread or a worker alike, the drop just cancels.
        if executor::is_checked() && !thread::panicking() {
            executor::fail(Failure {
                kind: FailureKind::Misuse,
                message: format!(
                    "the Cancel handle of {} (created at {}) was dropped without being called \
                     while the context was live: call `cancel()` when the work is done \
                     (Go's lostcancel)",
                    inner.object, self.site
                ),
                blocked: None,
                others: Vec::new(),
            });
        }
        cancel(&inner, ContextError::Canceled);
    }
}

/// Marks `inner` done with `err`, closes its channel, and cancels its
/// descendants.
fn cancel(inner: &Arc<Inner>, err: ContextError) {
    let (sender, children) = {
        let mut st = state(&inner.state);
        if st.err.is_some() {
            return;
        }
        st.err = Some(err);
        (st.done.take(), std::mem::take(&mut st.children))
    };
    if let Some(sender) = sender {
        sender.close_quietly();
    }
    for child in children.iter().filter_map(Weak::upgrade) {
        cancel(&child, err);
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::Canceled => f.write_str("context canceled"),
            ContextError::DeadlineExceeded => f.write_str("context deadline exceeded"),
        }
    }
}

impl std::error::Error for ContextError {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("object", &self.inner.object.to_string())
            .field("deadline", &self.inner.deadline)
            .field("err", &self.err())
            .finish()
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel")
            .field("created", &self.site.to_string())
            .field("called", &self.called.load(Ordering::Relaxed))
            .finish()
    }
}
