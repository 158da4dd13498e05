//! Waiting for the first of several channel operations.
//!
//! Plain `send` and `recv` are selects of one arm, so there is one waiting
//! protocol for all of them.

use std::panic::Location;
use std::sync::Arc;

use super::channel::{protocol, Entry, Receiver, Selector, Sender, State, Wait};
use super::error::{RecvError, SendError, TrySendError};
use crate::executor::{self, BlockedOn, Waker};
use crate::object::Object;
use crate::op::Op;

/// One arm of a select: a send or a receive on one channel.
///
/// Every method is called with the protocol lock held.
pub trait Arm {
    /// The channel the arm operates on.
    fn object(&self) -> Object;

    /// Whether the operation would complete now.
    fn is_ready(&self) -> bool;

    /// Completes the operation if it can, without waiting.
    fn try_complete(&mut self) -> bool;

    /// Completes the operation at once if it can (firing `selector` for arm
    /// `index`); otherwise queues the waiting task on the channel.
    fn register(&mut self, selector: &Arc<Selector>, index: usize, waker: &Waker);

    /// Leaves the channel's queue; the arm that `won` collects its result.
    fn unregister(&mut self, selector: &Arc<Selector>, won: bool);

    /// Orders the completed operation with the channel's earlier ones, for
    /// happens-before.
    fn synchronize(&self);
}

/// A receive arm.
#[derive(Debug)]
pub struct RecvArm<'a, T> {
    receiver: &'a Receiver<T>,
    result: Option<Result<T, RecvError>>,
}

/// A send arm, holding the value until it is sent.
#[derive(Debug)]
pub struct SendArm<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
    result: Option<Result<(), SendError<T>>>,
}

/// Waits until one of `arms` completes and returns its index, or returns
/// `None` at once if none is ready and there is a `default` arm.
///
/// When several arms are ready, one is chosen uniformly at random live; the
/// checker explores each choice.
pub fn select(
    arms: &mut [&mut dyn Arm],
    default: bool,
    op: Op,
    site: &'static Location<'static>,
) -> Option<usize> {
    let object = arms.first().map(|arm| arm.object());
    executor::operation(op, object.as_ref(), site);
    for arm in arms.iter().skip(1) {
        executor::touch(&arm.object(), op);
    }
    decide(arms, default, op, site)
}

/// Continues an operation whose scheduling point has passed and that found
/// nothing ready: waits for the first of `arms`, with no new scheduling
/// point in between.
pub(crate) fn select_waiting(
    arms: &mut [&mut dyn Arm],
    op: Op,
    site: &'static Location<'static>,
) -> usize {
    for arm in arms.iter() {
        executor::touch(&arm.object(), op);
    }
    decide(arms, false, op, site).expect("knot: a select without default returns an arm")
}

fn decide(
    arms: &mut [&mut dyn Arm],
    default: bool,
    op: Op,
    site: &'static Location<'static>,
) -> Option<usize> {
    let won = wait_for_arm(arms, default, op, site)?;
    arms[won].synchronize();
    Some(won)
}

fn wait_for_arm(
    arms: &mut [&mut dyn Arm],
    default: bool,
    op: Op,
    site: &'static Location<'static>,
) -> Option<usize> {
    let object = arms.first().map(|arm| arm.object());
    loop {
        let lock = protocol();
        let ready = arms.iter().filter(|arm| arm.is_ready()).count();
        if ready > 0 {
            let pick = executor::choose(ready);
            // Live, a fast operation in flight when a channel's lane closed
            // may still change its buffer (see `Lane`), and with it which
            // arms are ready: then look again. Under the checker nothing
            // runs meanwhile.
            let Some(index) = (0..arms.len()).filter(|&i| arms[i].is_ready()).nth(pick) else {
                continue;
            };
            if arms[index].try_complete() {
                return Some(index);
            }
            continue;
        }
        if default {
            return None;
        }
        let selector = Arc::new(Selector::new());
        let me = executor::current();
        for (index, arm) in arms.iter_mut().enumerate() {
            arm.register(&selector, index, &me);
            if selector.fired().is_some() {
                break;
            }
        }
        drop(lock);
        let blocked = BlockedOn {
            object: object.expect("knot: a select with no arm and no default waits forever"),
            op,
            site,
        };
        let won = loop {
            if let Some(won) = selector.fired() {
                break won;
            }
            executor::block(blocked);
        };
        let _lock = protocol();
        for (index, arm) in arms.iter_mut().enumerate() {
            arm.unregister(&selector, index == won);
        }
        return Some(won);
    }
}

impl<'a, T> RecvArm<'a, T> {
    /// An arm that receives from `receiver`.
    pub fn new(receiver: &'a Receiver<T>) -> RecvArm<'a, T> {
        RecvArm {
            receiver,
            result: None,
        }
    }

    /// The outcome of the arm that won.
    ///
    /// # Panics
    ///
    /// Panics if the arm did not win.
    pub fn into_result(self) -> Result<T, RecvError> {
        self.result.expect("knot: this select arm did not run")
    }
}

impl<'a, T> SendArm<'a, T> {
    /// An arm that sends `value` on `sender`.
    pub fn new(sender: &'a Sender<T>, value: T) -> SendArm<'a, T> {
        SendArm {
            sender,
            value: Some(value),
            result: None,
        }
    }

    /// The outcome of the arm that won.
    ///
    /// # Panics
    ///
    /// Panics if the arm did not win.
    pub fn into_result(self) -> Result<(), SendError<T>> {
        self.result.expect("knot: this select arm did not run")
    }
}

impl<T> Arm for RecvArm<'_, T> {
    fn object(&self) -> Object {
        self.receiver.chan.object
    }

    fn is_ready(&self) -> bool {
        self.receiver.chan.selected().can_recv(None)
    }

    fn try_complete(&mut self) -> bool {
        self.result = self.receiver.chan.state().try_recv(None);
        self.result.is_some()
    }

    fn register(&mut self, selector: &Arc<Selector>, index: usize, waker: &Waker) {
        let mut state = self.receiver.chan.state();
        if let Some(result) = state.try_recv(Some(selector)) {
            fire(selector, index);
            self.result = Some(result);
            return;
        }
        // A sender may deliver before this task runs again (see
        // `Receiver::recv`).
        executor::release(&mut state.clock);
        state.receivers_waiting.push_back(Entry {
            wait: Wait::Select {
                selector: Arc::clone(selector),
                arm: index,
            },
            waker: waker.clone(),
            value: None,
        });
    }

    fn synchronize(&self) {
        self.receiver.chan.synchronize();
    }

    fn unregister(&mut self, selector: &Arc<Selector>, won: bool) {
        let entry = State::leave(&mut self.receiver.chan.state().receivers_waiting, selector);
        if let (true, None, Some(entry)) = (won, &self.result, entry) {
            // Delivered by a sender, or woken empty-handed by close.
            self.result = Some(entry.value.ok_or(RecvError));
        }
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn object(&self) -> Object {
        self.sender.chan.object
    }

    fn is_ready(&self) -> bool {
        self.sender.chan.selected().can_send(None)
    }

    fn try_complete(&mut self) -> bool {
        let Some(value) = self.value.take() else {
            return false;
        };
        match self.sender.chan.state().try_send(value, None) {
            Ok(()) => self.result = Some(Ok(())),
            Err(TrySendError::Closed(value)) => self.result = Some(Err(SendError(value))),
            Err(TrySendError::Full(value)) => self.value = Some(value),
        }
        self.result.is_some()
    }

    fn register(&mut self, selector: &Arc<Selector>, index: usize, waker: &Waker) {
        let mut state = self.sender.chan.state();
        let Some(value) = self.value.take() else {
            return;
        };
        let value = match state.try_send(value, Some(selector)) {
            Ok(()) => {
                fire(selector, index);
                self.result = Some(Ok(()));
                return;
            }
            Err(TrySendError::Closed(value)) => {
                fire(selector, index);
                self.result = Some(Err(SendError(value)));
                return;
            }
            Err(TrySendError::Full(value)) => value,
        };
        // A receiver may take the value before this task runs again (see
        // `Sender::send`).
        executor::release(&mut state.clock);
        state.senders_waiting.push_back(Entry {
            wait: Wait::Select {
                selector: Arc::clone(selector),
                arm: index,
            },
            waker: waker.clone(),
            value: Some(value),
        });
    }

    fn synchronize(&self) {
        self.sender.chan.synchronize();
    }

    fn unregister(&mut self, selector: &Arc<Selector>, won: bool) {
        let entry = State::leave(&mut self.sender.chan.state().senders_waiting, selector);
        let Some(entry) = entry else {
            return;
        };
        match (won, &self.result) {
            // Taken by a receiver (`None`), or handed back by close.
            (true, None) => {
                self.result = Some(match entry.value {
                    None => Ok(()),
                    Some(value) => Err(SendError(value)),
                })
            }
            // Another arm won: the value was never sent.
            _ => self.value = entry.value,
        }
    }
}

/// Fires the select's own `selector` for the arm `index`, which has just
/// completed while registering.
fn fire(selector: &Selector, index: usize) {
    // The select registers its arms until one fires, and every firing
    // happens under the protocol lock, which it holds: nothing can have
    // fired its selector meanwhile.
    let fired = selector.try_fire(index);
    debug_assert!(fired, "knot: a select's selector fired while it registered");
}
