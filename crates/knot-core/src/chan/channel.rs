use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

use crossbeam_queue::{ArrayQueue, SegQueue};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};
use std::time::Duration;

use super::error::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use super::select::{select, select_waiting, RecvArm};
use crate::clock::VectorClock;
use crate::executor::{self, BlockedOn, Failure, FailureKind, Waker};
use crate::lock::{Lock, LockGuard};
use crate::object::{Object, ObjectKind};
use crate::op::Op;

/// Creates a channel that buffers up to `capacity` values; with a capacity of
/// zero every send waits for a receiver to take the value.
///
/// The caller is remembered as the channel's creation site for reports.
///
/// # Examples
///
/// ```
/// let (tx, rx) = knot_core::chan::bounded(1);
/// tx.send("hello").unwrap();
/// assert_eq!(rx.recv(), Ok("hello"));
/// ```
#[track_caller]
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    channel(capacity, Location::caller())
}

/// Creates a channel whose senders never wait.
///
/// # Examples
///
/// ```
/// let (tx, rx) = knot_core::chan::unbounded();
/// for i in 0..100 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.try_iter().count(), 100);
/// ```
#[track_caller]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    channel(usize::MAX, Location::caller())
}

pub(crate) fn channel<T>(
    capacity: usize,
    site: &'static Location<'static>,
) -> (Sender<T>, Receiver<T>) {
    let buffer = Buffer::new(capacity);
    let chan = Arc::new(Chan {
        object: Object::at(ObjectKind::Channel, site),
        buffer: buffer.clone(),
        lane: Lane::default(),
        closed: AtomicBool::new(false),
        receivers: AtomicUsize::new(1),
        state: Lock::new(State {
            capacity,
            buffer,
            closed: false,
            senders: 1,
            senders_waiting: Queue::new(),
            receivers_waiting: Queue::new(),
            selected: false,
            next_token: 0,
            drained: false,
            late: Vec::new(),
            clock: VectorClock::new(),
        }),
    });
    (
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    )
}

/// The sending end of a channel; clones share the channel.
///
/// When the last sender is dropped the channel closes.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

/// The receiving end of a channel; clones share the channel, and each value
/// goes to exactly one receiver.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

/// What the senders and receivers of a channel share.
///
/// The lane's flag shares its cache line with the lock: every operation
/// that writes the lock closes the lane too, so keeping them apart would
/// spare fast operations no miss, and would cost every channel the gap.
#[repr(C)]
pub(crate) struct Chan<T> {
    pub(crate) object: Object,
    /// The buffered values, also reachable without the lock (see [`Lane`]).
    buffer: Buffer<T>,
    /// Whether the channel is closed, as the state says, for plain senders
    /// to read without the lock (see [`Chan::wait_for`]).
    closed: AtomicBool,
    /// How many receivers are alive: only the timers of tickers read it, to
    /// know whether to tick on.
    receivers: AtomicUsize,
    lane: Lane,
    state: Lock<State<T>>,
}

/// The values a channel buffers: a lock-free queue, so that sends and
/// receives that neither wait nor wake anyone can skip the channel's lock.
///
/// The queues are aligned to cache lines, and so costly to allocate: each
/// is an allocation of its own, which a rendezvous channel does without.
enum Buffer<T> {
    /// A rendezvous channel buffers nothing.
    None,
    Bounded(Arc<ArrayQueue<Slot<T>>>),
    Unbounded(Arc<SegQueue<Slot<T>>>),
}

/// A buffered value, with the mark of the fast send that buffered it, by
/// which that send can find it again (see [`Lane`]); zero for a value
/// buffered under the lock.
struct Slot<T> {
    mark: usize,
    value: T,
}

impl<T> Clone for Buffer<T> {
    fn clone(&self) -> Buffer<T> {
        match self {
            Buffer::None => Buffer::None,
            Buffer::Bounded(q) => Buffer::Bounded(Arc::clone(q)),
            Buffer::Unbounded(q) => Buffer::Unbounded(Arc::clone(q)),
        }
    }
}

impl<T> Buffer<T> {
    fn new(capacity: usize) -> Buffer<T> {
        match capacity {
            0 => Buffer::None,
            usize::MAX => Buffer::Unbounded(Arc::new(SegQueue::new())),
            n => Buffer::Bounded(Arc::new(ArrayQueue::new(n))),
        }
    }

    fn push(&self, value: T) -> Result<(), T> {
        self.push_marked(0, value)
    }

    fn push_marked(&self, mark: usize, value: T) -> Result<(), T> {
        let slot = Slot { mark, value };
        match self {
            Buffer::None => Err(slot.value),
            Buffer::Bounded(q) => q.push(slot).map_err(|slot| slot.value),
            Buffer::Unbounded(q) => {
                q.push(slot);
                Ok(())
            }
        }
    }

    fn pop(&self) -> Option<T> {
        self.pop_marked().map(|slot| slot.value)
    }

    fn pop_marked(&self) -> Option<Slot<T>> {
        match self {
            Buffer::None => None,
            Buffer::Bounded(q) => q.pop(),
            Buffer::Unbounded(q) => q.pop(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Buffer::None => 0,
            Buffer::Bounded(q) => q.len(),
            Buffer::Unbounded(q) => q.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn has_room(&self) -> bool {
        match self {
            Buffer::None => false,
            Buffer::Bounded(q) => !q.is_full(),
            Buffer::Unbounded(_) => true,
        }
    }
}

/// How many times a fast receive that finds the buffer empty yields and
/// looks again before it takes the slow way.
const LOOKS: usize = 2;

/// The fast lane of a channel: while nobody waits on it and no `select!`
/// uses it, a send that finds room or a receive that finds a value goes
/// straight to the lock-free buffer, without the channel's lock. Two tasks
/// passing messages on two cores would otherwise hand that lock back and
/// forth on every message.
///
/// Only the lock's holder opens or closes the lane. A locked operation
/// closes it before it looks at the buffer (a `select!` closes it for good
/// when it first uses the channel), and the holder opens it again when it
/// lets go, if no task waits, no `select!` uses the channel and the channel
/// is open. A fast operation looks at the lane before it touches the
/// buffer and again after: if the lane closed meanwhile, a locked operation
/// may have looked at the buffer before this one changed it, and so the
/// fast operation *settles*: it takes the lock and serves the waiters its
/// change can serve (see [`State::settle`]). So a locked operation does not
/// wait for the fast ones in flight (beyond the buffer's own brief waits
/// for a slot being written), and a fast receive costs no atomic
/// read-modify-write besides the buffer's own.
///
/// Why no wake-up is lost: a task that is about to wait closes the lane (or
/// finds it closed, which happens-before its look) and then looks at the
/// buffer under the lock; a fast operation changes the buffer and then
/// looks at the lane. crossbeam-queue's pushes and pops are sequentially
/// consistent read-modify-writes, and a push that finds the queue full or a
/// pop that finds it empty decides so after a sequentially consistent
/// fence, so of the two, one sees the other: either the waiter sees the
/// change and does not wait, or the fast operation sees the lane closed and
/// settles. The lane stays closed while anyone waits.
///
/// Closing the channel needs one more step. A send that succeeds must
/// come before the close, or receivers that drain the channel until they
/// find it closed could miss its value; but a send in flight when the
/// channel closes may buffer its value after a receiver has found the
/// channel closed and empty, and a queue cannot take a value back. So the
/// first receiver that finds the channel closed and empty marks it
/// *drained*, and from then on receivers take nothing more from the
/// buffer under the lock: whatever is buffered since is a late send's.
/// Each late send settles, as its lane is closed; it finds the channel
/// drained, and takes its own value back by the mark it buffered it with
/// (see [`Slot`]) to fail with it, as a send on a closed channel does. A
/// fast receive in flight since before the close may still take a late
/// value first; that send then succeeds, both having begun before the
/// close. A close also serves waiting receivers from the buffer before it
/// wakes the rest with the news.
///
/// Under the checker the lane is never used (see [`executor::shortcuts`]),
/// so every execution takes the same steps.
#[derive(Default)]
struct Lane {
    open: AtomicBool,
}

impl Lane {
    /// Whether fast operations may use the buffer.
    #[inline]
    fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// Closes the lane. The caller holds the channel's lock, under which
    /// alone the lane opens or closes.
    #[inline]
    fn close(&self) {
        // Closed already, it stays so while the lock is held: a load says
        // so without a store.
        if self.open.load(Ordering::Relaxed) {
            self.open.store(false, Ordering::SeqCst);
        }
    }
}

/// A task waiting on a channel, possibly as one arm of a `select!`.
pub(crate) struct Entry<T> {
    pub(crate) wait: Wait,
    pub(crate) waker: Waker,
    /// A waiting sender's value until a receiver takes it; a waiting
    /// receiver's value once a sender delivers it.
    pub(crate) value: Option<T>,
}

/// How the end of a wait is decided and seen.
pub(crate) enum Wait {
    /// Arm `arm` of a `select!`, or a plain send or receive outside the
    /// checker: the wait ends when `selector` fires, which its owner can
    /// see without the channel's lock (a wake-up that comes before the
    /// task blocks then costs it no block).
    Select { selector: Arc<Selector>, arm: usize },
    /// A plain send or receive under a deterministic executor, where a
    /// task is only resumed once it is woken: the waiter's entry alone
    /// says, under the channel's lock, that its wait is over. It costs no
    /// selector, no reference count and no compare-and-swap, and the
    /// waiter looks at it under the lock it takes anyway to leave.
    Plain {
        /// Tells the waiter's entry from the others of its queue.
        token: u64,
        fired: bool,
    },
}

impl<T> Entry<T> {
    /// Whether the entry is an arm of the `select!` of `mine`.
    fn is(&self, mine: Option<&Arc<Selector>>) -> bool {
        match &self.wait {
            Wait::Select { selector, .. } => is(selector, mine),
            Wait::Plain { .. } => false,
        }
    }

    /// Whether the wait is over.
    fn fired(&self) -> bool {
        match &self.wait {
            Wait::Select { selector, .. } => selector.fired().is_some(),
            Wait::Plain { fired, .. } => *fired,
        }
    }

    /// Ends the wait, unless it is over already; true if this call ended
    /// it. The caller holds the channel's lock (and the protocol lock, if
    /// a `select!` uses the channel).
    fn try_fire(&mut self) -> bool {
        match &mut self.wait {
            Wait::Select { selector, arm } => selector.try_fire(*arm),
            Wait::Plain { fired, .. } => !mem::replace(fired, true),
        }
    }
}

/// The tasks waiting on one side of a channel, longest-waiting first. The
/// first is kept inline: a queue seldom holds more than one, and then it
/// allocates nothing.
pub(crate) struct Queue<T> {
    first: Option<Entry<T>>,
    /// The others; empty while `first` is.
    rest: VecDeque<Entry<T>>,
}

impl<T> Queue<T> {
    const fn new() -> Queue<T> {
        Queue {
            first: None,
            rest: VecDeque::new(),
        }
    }

    pub(crate) fn push_back(&mut self, entry: Entry<T>) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push_back(entry);
        }
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<T>> {
        self.first.iter_mut().chain(&mut self.rest)
    }

    /// The entry at `index`, counting from the longest-waiting.
    fn get_mut(&mut self, index: usize) -> Option<&mut Entry<T>> {
        match index {
            0 => self.first.as_mut(),
            i => self.rest.get_mut(i - 1),
        }
    }

    /// Takes out the entry at `index`, counting from the longest-waiting.
    fn remove_at(&mut self, index: usize) -> Option<Entry<T>> {
        match index {
            0 => {
                let next = self.rest.pop_front();
                mem::replace(&mut self.first, next)
            }
            i => self.rest.remove(i - 1),
        }
    }

    /// Takes out the first entry that `matches`.
    #[inline]
    fn remove_where(&mut self, matches: impl Fn(&Entry<T>) -> bool) -> Option<Entry<T>> {
        if self.first.as_ref().is_some_and(&matches) {
            let next = self.rest.pop_front();
            return mem::replace(&mut self.first, next);
        }
        let i = self.rest.iter().position(matches)?;
        self.rest.remove(i)
    }

    /// Takes out the entry of `selector`.
    fn remove(&mut self, selector: &Arc<Selector>) -> Option<Entry<T>> {
        self.remove_where(
            |e| matches!(&e.wait, Wait::Select { selector: s, .. } if Arc::ptr_eq(s, selector)),
        )
    }

    /// Takes out the entry of the plain wait `token` if its wait is over:
    /// `None` if it is still waiting, `Some(None)` if its entry is gone (a
    /// sender whose value was taken), and otherwise the entry's value.
    fn leave_plain(&mut self, token: u64) -> Option<Option<T>> {
        let mine = |e: &Entry<T>| matches!(e.wait, Wait::Plain { token: t, .. } if t == token);
        let index = match &self.first {
            Some(first) if mine(first) => 0,
            _ => match self.rest.iter().position(mine) {
                Some(i) => i + 1,
                None => return Some(None),
            },
        };
        if !self.get_mut(index).is_some_and(|entry| entry.fired()) {
            return None;
        }
        self.remove_at(index).map(|entry| entry.value)
    }
}

pub(crate) struct State<T> {
    capacity: usize,
    buffer: Buffer<T>,
    closed: bool,
    senders: usize,
    pub(crate) senders_waiting: Queue<T>,
    pub(crate) receivers_waiting: Queue<T>,
    /// Whether a `select!` has ever looked at the channel: from then on
    /// every operation on it takes the protocol lock (see [`Chan::lock`]).
    pub(crate) selected: bool,
    /// The token of the next plain wait (see [`Wait::Plain`]).
    next_token: u64,
    /// Whether a receiver has found the channel closed and empty: values
    /// buffered since are late sends' (see [`Lane`]).
    drained: bool,
    /// Late sends' values, taken out of the buffer for their senders to
    /// take back.
    late: Vec<Slot<T>>,
    /// Happens-before through the channel: every completed operation
    /// acquires it and releases into it, so a send happens before the
    /// receive of its value, and a close before the receive that sees it.
    /// (This orders all operations on one channel, a little more than Go
    /// promises: races between tasks that only share a channel may go
    /// unreported, never the other way round.)
    pub(crate) clock: VectorClock,
}

/// Decides which arm of a waiting `select!` (or plain send or receive) ran.
///
/// Firing is a compare-and-swap, so at most one operation completes for each
/// wait. Every firing happens under the protocol lock, so a selector never fires
/// while its owner is still deciding.
#[derive(Debug)]
pub struct Selector {
    fired: AtomicUsize,
}

const NOT_FIRED: usize = usize::MAX;

impl Selector {
    pub(crate) fn new() -> Selector {
        Selector {
            fired: AtomicUsize::new(NOT_FIRED),
        }
    }

    pub(crate) fn try_fire(&self, arm: usize) -> bool {
        // A fired selector stays in its queue until its owner wakes and
        // leaves; the load keeps operations that pass it meanwhile from
        // taking its cache line away from the owner, as a failing
        // compare-and-swap would.
        self.fired.load(Ordering::Relaxed) == NOT_FIRED
            && self
                .fired
                .compare_exchange(NOT_FIRED, arm, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    pub(crate) fn fired(&self) -> Option<usize> {
        match self.fired.load(Ordering::Acquire) {
            NOT_FIRED => None,
            arm => Some(arm),
        }
    }
}

/// Serialises every change to the queues of channels that a `select!` uses,
/// and so every firing of a `select!`'s selector.
///
/// A `select!` decides and registers on all its channels atomically with
/// respect to other operations on them, which is what keeps a waiting task
/// from being matched twice. It marks each of its channels `selected` (under
/// this lock) before it looks at them, and operations on a marked channel
/// take this lock first; a channel no `select!` has used needs only its own
/// lock, so unrelated channels do not contend. Under the checker only one
/// task runs at a time, so the lock is never contended.
pub(crate) fn protocol() -> StdMutexGuard<'static, ()> {
    static PROTOCOL: StdMutex<()> = StdMutex::new(());
    PROTOCOL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is(selector: &Arc<Selector>, mine: Option<&Arc<Selector>>) -> bool {
    mine.is_some_and(|m| Arc::ptr_eq(m, selector))
}

/// Finds the first waiter that is not `mine` and can still be matched,
/// fires it, and returns its place in `queue`.
#[inline]
fn claim_at<T>(queue: &mut Queue<T>, mine: Option<&Arc<Selector>>) -> Option<usize> {
    let claims = |e: &mut Entry<T>| !e.is(mine) && e.try_fire();
    // The first entry is the one that matters: the others seldom exist.
    if claims(queue.first.as_mut()?) {
        return Some(0);
    }
    queue.rest.iter_mut().position(claims).map(|i| i + 1)
}

/// Finds the first waiter that is not `mine` and can still be matched, and
/// fires it.
fn claim<'q, T>(queue: &'q mut Queue<T>, mine: Option<&Arc<Selector>>) -> Option<&'q mut Entry<T>> {
    let index = claim_at(queue, mine)?;
    queue.get_mut(index)
}

/// Claims the first waiting sender that is not `mine` (see [`claim`]) and
/// takes its value, waking it; `None` if no sender waits.
fn take_sender<T>(queue: &mut Queue<T>, mine: Option<&Arc<Selector>>) -> Option<Option<T>> {
    let index = claim_at(queue, mine)?;
    let entry = queue.get_mut(index)?;
    let value = entry.value.take();
    executor::wake(&entry.waker);
    if let Wait::Plain { .. } = entry.wait {
        // A plain sender whose value is taken has nothing left to learn:
        // its entry leaves now, and the sender goes on without the lock.
        queue.remove_at(index);
    }
    Some(value)
}

/// What a plain send or receive waits with; see [`Wait`].
enum Waiting {
    Selector(Arc<Selector>),
    Token(u64),
}

/// Puts the running task at the back of `queue`, a plain send with its
/// value or a plain receive, and returns what says when its wait ends.
/// The caller holds the channel's lock.
fn wait<T>(
    state: &mut State<T>,
    queue: impl Fn(&mut State<T>) -> &mut Queue<T>,
    value: Option<T>,
) -> Waiting {
    let waker = executor::current();
    if !executor::shortcuts() {
        let token = state.next_token;
        state.next_token += 1;
        queue(state).push_back(Entry {
            wait: Wait::Plain {
                token,
                fired: false,
            },
            waker,
            value,
        });
        return Waiting::Token(token);
    }
    let selector = SPARE_SELECTORS
        .try_with(|spares| spares.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::new(Selector::new()));
    queue(state).push_back(Entry {
        wait: Wait::Select {
            selector: Arc::clone(&selector),
            arm: 0,
        },
        waker,
        value,
    });
    Waiting::Selector(selector)
}

/// How many spare selectors a thread keeps at most.
const SPARES: usize = 8;

thread_local! {
    /// Selectors whose waits ended, kept for the next plain sends and
    /// receives on this thread to wait with: waits are frequent, and this
    /// saves an allocation each. There are several, as the tasks of one
    /// thread (a checker's, a worker's) wait side by side.
    static SPARE_SELECTORS: RefCell<Vec<Arc<Selector>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `selector`, whose wait is over, for [`wait`] to reuse, if nothing
/// else refers to it any more.
fn recycle(selector: Arc<Selector>) {
    // Selectors are never shared through a `Weak`: a strong count of one
    // means this is the only handle, and nothing else can reach it. A load
    // says so at less cost than `Arc::get_mut`'s read-modify-write.
    if Arc::strong_count(&selector) == 1 {
        // Whatever the last other holder did to it comes before the reset.
        fence(Ordering::Acquire);
        selector.fired.store(NOT_FIRED, Ordering::Relaxed);
        let _ = SPARE_SELECTORS.try_with(|spares| {
            let mut spares = spares.borrow_mut();
            if spares.len() < SPARES {
                spares.push(selector);
            }
        });
    }
}

/// Whether a task that is not `mine` waits in `queue`.
fn waiting<T>(queue: &Queue<T>, mine: Option<&Arc<Selector>>) -> bool {
    first_waiting(queue, mine).is_some()
}

/// The place in `queue` of the longest-waiting task that is not `mine` and
/// whose wait is not over. Waits end only under the channel's lock (and the
/// protocol lock, if a `select!` uses the channel), so for the caller, who
/// holds them, it stays so.
fn first_waiting<T>(queue: &Queue<T>, mine: Option<&Arc<Selector>>) -> Option<usize> {
    let waits = |e: &Entry<T>| !e.is(mine) && !e.fired();
    if waits(queue.first.as_ref()?) {
        return Some(0);
    }
    queue.rest.iter().position(waits).map(|i| i + 1)
}

/// A channel's state, locked for a change to its queues: with the protocol
/// lock too if a `select!` uses the channel.
pub(crate) struct Locked<'a, T> {
    state: LockGuard<'a, State<T>>,
    lane: &'a Lane,
    // Dropped after `state`, as it was taken before it.
    _protocol: Option<StdMutexGuard<'static, ()>>,
}

impl<T> Drop for Locked<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // A rendezvous channel has no buffer for fast operations to use,
        // and where primitives take no shortcuts (under the checker) the
        // lane stays closed.
        if !matches!(self.state.buffer, Buffer::None) && executor::shortcuts() {
            self.reopen();
        }
    }
}

impl<T> Locked<'_, T> {
    /// Opens the lane if nobody waits and no `select!` uses the channel.
    #[inline(never)]
    fn reopen(&self) {
        // Waiters already matched only have their entries left to take
        // out, which they do under the lock: the lane may open.
        let state = &self.state;
        if !state.selected
            && !state.closed
            && !waiting(&state.senders_waiting, None)
            && !waiting(&state.receivers_waiting, None)
        {
            self.lane.open.store(true, Ordering::SeqCst);
        }
    }
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        &self.state
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        &mut self.state
    }
}

impl<T> Chan<T> {
    #[inline]
    pub(crate) fn state(&self) -> LockGuard<'_, State<T>> {
        self.state.lock()
    }

    /// Locks the channel for a change to its queues; see [`protocol`].
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        let state = self.state();
        if state.selected {
            drop(state);
            return self.lock_selected();
        }
        self.lane.close();
        Locked {
            state,
            lane: &self.lane,
            _protocol: None,
        }
    }

    /// [`lock`](Self::lock) for a channel a `select!` uses.
    #[inline(never)]
    fn lock_selected(&self) -> Locked<'_, T> {
        // The protocol lock comes first: take both in order.
        let protocol = protocol();
        let state = self.state();
        self.lane.close();
        Locked {
            state,
            lane: &self.lane,
            _protocol: Some(protocol),
        }
    }

    /// Closes the channel and wakes every waiter; false if it was closed
    /// already.
    fn close(&self) -> bool {
        self.close_locked(&mut self.lock())
    }

    /// [`close`](Self::close), with the channel locked already.
    fn close_locked(&self, state: &mut State<T>) -> bool {
        if state.closed {
            return false;
        }
        if executor::shortcuts() {
            // Fast sends may have buffered values after the waiting
            // receivers last looked (see [`Lane`]).
            state.settle();
        }
        // Set before any waiter is woken, for plain senders to read.
        self.closed.store(true, Ordering::Release);
        state.close()
    }

    /// Marks the channel as used by a `select!`, which holds the protocol
    /// lock; returns its state. Its fast lane stays closed from now on.
    pub(crate) fn selected(&self) -> LockGuard<'_, State<T>> {
        let mut state = self.state();
        state.selected = true;
        self.lane.close();
        state
    }

    /// Sends through the fast lane, ordered with the channel's other
    /// operations (see [`synchronize`](Self::synchronize)); the value comes
    /// back if it is closed or the buffer is full, or if the channel closed
    /// under a send in flight.
    #[inline]
    fn send_fast(&self, value: T) -> Result<(), T> {
        // The lane first: under the checker it is closed, which a load
        // says at less cost than the executor's hints.
        if !self.lane.is_open() || !executor::shortcuts() {
            return Err(value);
        }
        // Where races are tracked, a receiver may take the value and
        // acquire the channel's clock before this send is done: release
        // into it first.
        let tracks = executor::tracks_races();
        if tracks {
            executor::release(&mut self.state().clock);
        }
        // No other send in flight runs on this frame, so its address tells
        // this send's value from the others (see [`Lane`]).
        let here = 0u8;
        let mark = std::ptr::addr_of!(here) as usize;
        self.buffer.push_marked(mark, value)?;
        if !self.lane.is_open() {
            self.settle_send(mark)?;
        }
        if tracks {
            self.move_clocks();
        }
        Ok(())
    }

    /// Settles a fast send whose lane closed while it buffered its value
    /// (see [`Lane`]); the value comes back if the channel closed and was
    /// drained before it.
    #[cold]
    #[inline(never)]
    fn settle_send(&self, mark: usize) -> Result<(), T> {
        let mut state = self.lock();
        if state.drained {
            return state.take_back(mark);
        }
        state.settle();
        Ok(())
    }

    /// Receives through the fast lane: `None` if it is closed, or if the
    /// buffer is still empty after the task has let the others of its
    /// thread run [`LOOKS`] times.
    ///
    /// Taking the slow way means registering as a waiter, which closes the
    /// lane, and being woken, which costs the sender the lock: on two cores
    /// the sender is usually about to send, and a yield or two gives it the
    /// time.
    #[inline]
    fn recv_fast(&self, site: &'static Location<'static>) -> Option<T> {
        // As in `send_fast`, the lane first.
        if !self.lane.is_open() || !executor::shortcuts() {
            return None;
        }
        for round in 0..=LOOKS {
            if !self.lane.is_open() {
                return None;
            }
            match self.buffer.pop() {
                Some(value) => {
                    if !self.lane.is_open() {
                        self.settle();
                    }
                    return Some(value);
                }
                None if round < LOOKS => executor::yield_now(site),
                None => return None,
            }
        }
        None
    }

    /// Settles a fast receive whose lane closed while it took its value
    /// (see [`Lane`]).
    #[cold]
    #[inline(never)]
    fn settle(&self) {
        self.lock().settle();
    }

    /// Waits until the wait registered by [`wait`] ends, then takes its
    /// entry out of `queue`: a plain send's or receive's wait. Returns the
    /// entry's value.
    fn wait_for(
        &self,
        waiting: Waiting,
        op: Op,
        site: &'static Location<'static>,
        queue: impl Fn(&mut State<T>) -> &mut Queue<T>,
    ) -> Option<T> {
        let blocked = BlockedOn {
            object: self.object,
            op,
            site,
        };
        let selector = match waiting {
            Waiting::Selector(selector) => selector,
            Waiting::Token(token) => loop {
                // Nothing ran since the task registered, so the wait
                // cannot be over yet: block first.
                executor::block(blocked);
                // Only a receiver taking its value or the channel closing
                // ends a plain sender's wait, and the executor resumes the
                // task only once it is woken: while the channel is open,
                // its value was taken, and its entry is gone.
                if op == Op::Send && !self.closed.load(Ordering::Acquire) {
                    return None;
                }
                // Plain waits are the checker's, where one task runs at a
                // time: the state's own lock is enough to take the entry
                // out, with no protocol lock and no lane to keep.
                if let Some(value) = queue(&mut self.state()).leave_plain(token) {
                    return value;
                }
            },
        };
        while selector.fired().is_none() {
            executor::block(blocked);
        }
        let entry = State::leave(queue(&mut self.lock()), &selector)
            .expect("knot: a channel waiter left its queue before its wait ended");
        let Entry { wait, value, .. } = entry;
        drop(wait);
        recycle(selector);
        value
    }

    /// Orders the running task's completed operation with every earlier
    /// one on the channel.
    #[inline]
    pub(crate) fn synchronize(&self) {
        if executor::tracks_races() {
            self.move_clocks();
        }
    }

    #[inline(never)]
    fn move_clocks(&self) {
        let mut state = self.state();
        executor::acquire(&state.clock);
        executor::release(&mut state.clock);
    }
}

impl<T> State<T> {
    /// Whether a receive would complete now.
    pub(crate) fn can_recv(&self, mine: Option<&Arc<Selector>>) -> bool {
        !self.buffer.is_empty() || self.closed || waiting(&self.senders_waiting, mine)
    }

    /// Whether a send would complete now (with success or an error).
    pub(crate) fn can_send(&self, mine: Option<&Arc<Selector>>) -> bool {
        self.closed || self.buffer.has_room() || waiting(&self.receivers_waiting, mine)
    }

    /// Receives without waiting: `None` if the receive would block.
    pub(crate) fn try_recv(
        &mut self,
        mine: Option<&Arc<Selector>>,
    ) -> Option<Result<T, RecvError>> {
        if self.drained {
            return Some(Err(RecvError));
        }
        if let Some(value) = self.buffer.pop() {
            // A slot is free: the longest-waiting sender's value moves in.
            self.admit_sender(mine);
            return Some(Ok(value));
        }
        if let Some(value) = take_sender(&mut self.senders_waiting, mine) {
            return value.map(Ok);
        }
        if self.closed {
            self.drained = true;
            return Some(Err(RecvError));
        }
        None
    }

    /// Sends without waiting: the value comes back if the send would block
    /// (`Full`) or the channel is closed.
    pub(crate) fn try_send(
        &mut self,
        value: T,
        mine: Option<&Arc<Selector>>,
    ) -> Result<(), TrySendError<T>> {
        if self.closed {
            return Err(TrySendError::Closed(value));
        }
        if let Some(entry) = claim(&mut self.receivers_waiting, mine) {
            entry.value = Some(value);
            executor::wake(&entry.waker);
            return Ok(());
        }
        match self.buffer.push(value) {
            Ok(()) => Ok(()),
            Err(value) => Err(TrySendError::Full(value)),
        }
    }

    /// Serves the waiters that the buffer can serve now: waiting receivers
    /// get buffered values, and waiting senders' values move into free
    /// slots. A fast operation that a locked one overtook calls it, as the
    /// locked one may have looked at the buffer before the fast one changed
    /// it (see [`Lane`]).
    fn settle(&mut self) {
        while self.feed_receiver() {}
        while self.admit_sender(None) {}
    }

    /// Hands the oldest buffered value to the longest-waiting receiver,
    /// waking it; false if no receiver waits or no value is buffered.
    fn feed_receiver(&mut self) -> bool {
        let Some(index) = first_waiting(&self.receivers_waiting, None) else {
            return false;
        };
        let Some(value) = self.buffer.pop() else {
            return false;
        };
        let Some(entry) = self.receivers_waiting.get_mut(index) else {
            unreachable!("knot: a channel waiter found under the lock is gone");
        };
        let fired = entry.try_fire();
        debug_assert!(fired, "knot: a wait ended while the channel was locked");
        entry.value = Some(value);
        executor::wake(&entry.waker);
        true
    }

    /// Moves the value of the longest-waiting sender that is not `mine`
    /// into a free slot of the buffer, waking the sender; false if no
    /// sender waits or no slot is free.
    fn admit_sender(&mut self, mine: Option<&Arc<Selector>>) -> bool {
        let Some(index) = first_waiting(&self.senders_waiting, mine) else {
            return false;
        };
        let Some(entry) = self.senders_waiting.get_mut(index) else {
            unreachable!("knot: a channel waiter found under the lock is gone");
        };
        if let Some(value) = entry.value.take() {
            if let Err(value) = self.buffer.push(value) {
                // A fast send in flight when the lane closed took the
                // slot: this sender waits on, with the lane closed, for
                // the next receive.
                entry.value = Some(value);
                return false;
            }
        }
        let fired = entry.try_fire();
        debug_assert!(fired, "knot: a wait ended while the channel was locked");
        executor::wake(&entry.waker);
        if let Wait::Plain { .. } = entry.wait {
            // As in `take_sender`: the sender has nothing left to learn.
            self.senders_waiting.remove_at(index);
        }
        true
    }

    /// Closes the channel and wakes every waiter; returns false if it was
    /// closed already.
    fn close(&mut self) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        for entry in self.senders_waiting.iter_mut() {
            if entry.try_fire() {
                executor::wake(&entry.waker);
            }
        }
        for entry in self.receivers_waiting.iter_mut() {
            if entry.try_fire() {
                executor::wake(&entry.waker);
                // It finds the channel closed and empty.
                self.drained = true;
            }
        }
        true
    }

    /// Takes back the value that the fast send of `mark` buffered, now that
    /// the channel is drained (see [`Lane`]); `Ok` if a receiver took it
    /// already. Every value buffered since the drain is a late send's, and
    /// goes to the side until its own sender comes for it.
    fn take_back(&mut self, mark: usize) -> Result<(), T> {
        while let Some(slot) = self.buffer.pop_marked() {
            self.late.push(slot);
        }
        match self.late.iter().position(|slot| slot.mark == mark) {
            Some(i) => Err(self.late.swap_remove(i).value),
            None => Ok(()),
        }
    }

    /// Removes the waiter of `selector` from `queue`.
    pub(crate) fn leave(queue: &mut Queue<T>, selector: &Arc<Selector>) -> Option<Entry<T>> {
        queue.remove(selector)
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for buffer space or, on a rendezvous channel,
    /// for a receiver to take it.
    ///
    /// # Errors
    ///
    /// Returns the value in a [`SendError`] if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = knot_core::chan::bounded(1);
    /// tx.send(5).unwrap();
    /// tx.close();
    /// assert_eq!(tx.send(6).unwrap_err().into_inner(), 6);
    /// # drop(rx);
    /// ```
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_at(value, Location::caller())
    }

    fn send_at(&self, value: T, site: &'static Location<'static>) -> Result<(), SendError<T>> {
        let chan = &*self.chan;
        executor::operation(Op::Send, Some(&chan.object), site);
        let value = match chan.send_fast(value) {
            Ok(()) => return Ok(()),
            Err(value) => value,
        };
        // A plain send is a select with one arm and no default, written out:
        // it completes at once if it can, and otherwise waits in the queue
        // until a receiver takes its value or the channel closes.
        let selector = {
            let mut state = chan.lock();
            match state.try_send(value, None) {
                Ok(()) => None,
                Err(TrySendError::Closed(value)) => Some(Err(SendError(value))),
                Err(TrySendError::Full(value)) => {
                    executor::touch(&chan.object, Op::Send);
                    // The receiver that takes the value acquires the
                    // channel's clock before this task runs again: what
                    // the task did before the send must be in it now.
                    executor::release(&mut state.clock);
                    Some(Ok(wait(
                        &mut state,
                        |state| &mut state.senders_waiting,
                        Some(value),
                    )))
                }
            }
        };
        let selector = match selector {
            None => {
                chan.synchronize();
                return Ok(());
            }
            Some(Err(closed)) => {
                chan.synchronize();
                return Err(closed);
            }
            Some(Ok(selector)) => selector,
        };
        let value = chan.wait_for(selector, Op::Send, site, |state| &mut state.senders_waiting);
        chan.synchronize();
        match value {
            None => Ok(()),
            Some(value) => Err(SendError(value)),
        }
    }

    /// Sends `value` if that needs no wait.
    ///
    /// # Errors
    ///
    /// Returns the value in [`TrySendError::Full`] if the send would wait,
    /// and in [`TrySendError::Closed`] if the channel is closed.
    ///
    /// ```
    /// use knot_core::chan::{self, TrySendError};
    ///
    /// let (tx, _rx) = chan::bounded(0);
    /// // Nobody waits to receive on this rendezvous channel.
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// ```
    #[track_caller]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        executor::operation(Op::TrySend, Some(&self.chan.object), Location::caller());
        let result = { self.chan.lock().try_send(value, None) };
        if !matches!(result, Err(TrySendError::Full(_))) {
            self.chan.synchronize();
        }
        result
    }

    /// Closes the channel: receivers drain what is buffered and then get an
    /// error, and waiting senders get their values back.
    ///
    /// # Panics
    ///
    /// Panics if the channel is already closed, as Go does; under the
    /// checker that is reported as misuse.
    ///
    /// ```
    /// let (tx, rx) = knot_core::chan::unbounded::<i32>();
    /// tx.close();
    /// assert!(rx.recv().is_err());
    /// ```
    #[track_caller]
    pub fn close(&self) {
        let site = Location::caller();
        executor::operation(Op::Close, Some(&self.chan.object), site);
        let closed = self.chan.close();
        self.chan.synchronize();
        if !closed {
            executor::fail(Failure {
                kind: FailureKind::Misuse,
                message: format!(
                    "{} (created at {}) is closed twice: close at {} finds it closed already",
                    self.chan.object,
                    self.chan.object.created(),
                    site
                ),
                blocked: None,
                others: Vec::new(),
            });
        }
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.state().closed
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.chan.buffer.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity; `None` for an unbounded channel.
    pub fn capacity(&self) -> Option<usize> {
        let capacity = self.chan.state().capacity;
        (capacity != usize::MAX).then_some(capacity)
    }

    /// Closes the channel without a scheduling point of its own, for a
    /// context being cancelled; closing twice does nothing.
    pub(crate) fn close_quietly(&self) {
        let closed = self.chan.close();
        if closed {
            executor::touch(&self.chan.object, Op::Close);
            self.chan.synchronize();
        }
    }

    /// Keeps the channel open when every sender is dropped: only
    /// [`close_quietly`](Self::close_quietly) closes it.
    pub(crate) fn keep_open(&self) {
        self.chan.state().senders += 1;
    }

    /// Whether any receiver of the channel is still alive.
    pub(crate) fn has_receivers(&self) -> bool {
        self.chan.receivers.load(Ordering::Acquire) > 0
    }

    /// What says, for a timer, whether any receiver of the channel is
    /// still alive, without keeping the channel open as a sender would.
    pub(crate) fn receivers_alive(&self) -> impl Fn() -> bool + Send + 'static
    where
        T: Send + 'static,
    {
        let chan = Arc::clone(&self.chan);
        move || chan.receivers.load(Ordering::Acquire) > 0
    }
}

impl<T> Receiver<T> {
    /// Receives a value, waiting until one is sent or the channel is closed
    /// and drained.
    ///
    /// # Errors
    ///
    /// Returns [`RecvError`] once the channel is closed and empty.
    ///
    /// ```
    /// let (tx, rx) = knot_core::chan::bounded(1);
    /// tx.send(3).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Ok(3));
    /// assert!(rx.recv().is_err());
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_at(Location::caller())
    }

    fn recv_at(&self, site: &'static Location<'static>) -> Result<T, RecvError> {
        let chan = &*self.chan;
        executor::operation(Op::Recv, Some(&chan.object), site);
        if let Some(value) = chan.recv_fast(site) {
            chan.synchronize();
            return Ok(value);
        }
        // A plain receive is a select with one arm and no default, written
        // out: it completes at once if it can, and otherwise waits in the
        // queue until a sender delivers a value or the channel closes.
        let selector = {
            let mut state = chan.lock();
            if let Some(result) = state.try_recv(None) {
                drop(state);
                chan.synchronize();
                return result;
            }
            executor::touch(&chan.object, Op::Recv);
            // The sender that delivers a value acquires the channel's
            // clock before this task runs again, and on a rendezvous
            // channel the receive comes before the send completes.
            executor::release(&mut state.clock);
            wait(&mut state, |state| &mut state.receivers_waiting, None)
        };
        let value = chan.wait_for(selector, Op::Recv, site, |state| {
            &mut state.receivers_waiting
        });
        chan.synchronize();
        value.ok_or(RecvError)
    }

    /// Receives a value if that needs no wait.
    ///
    /// # Errors
    ///
    /// Returns [`TryRecvError::Empty`] if the receive would wait and
    /// [`TryRecvError::Closed`] if the channel is closed and drained.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.try_recv_at(Location::caller())
    }

    fn try_recv_at(&self, site: &'static Location<'static>) -> Result<T, TryRecvError> {
        executor::operation(Op::TryRecv, Some(&self.chan.object), site);
        let result = { self.chan.lock().try_recv(None) };
        match result {
            Some(Ok(value)) => {
                self.chan.synchronize();
                Ok(value)
            }
            Some(Err(RecvError)) => {
                self.chan.synchronize();
                Err(TryRecvError::Closed)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Receives a value, waiting at most `timeout`.
    ///
    /// Under the checker the timeout is virtual time, and whether it fires
    /// before a value arrives is one more thing the checker explores.
    ///
    /// # Errors
    ///
    /// Returns [`RecvTimeoutError::Timeout`] if the time runs out first and
    /// [`RecvTimeoutError::Closed`] if the channel is closed and drained.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let site = Location::caller();
        let mut arm = RecvArm::new(self);
        // The timer starts only once the receive has to wait: a value that is
        // already there is taken, however short the timeout.
        if select(&mut [&mut arm], true, Op::Recv, site).is_some() {
            return arm.into_result().map_err(|_| RecvTimeoutError::Closed);
        }
        let timer = crate::time::after_at(timeout, site);
        let mut arm = RecvArm::new(self);
        let mut deadline = RecvArm::new(&timer);
        match select_waiting(&mut [&mut arm, &mut deadline], Op::Recv, site) {
            0 => arm.into_result().map_err(|_| RecvTimeoutError::Closed),
            _ => Err(RecvTimeoutError::Timeout),
        }
    }

    /// An iterator that receives until the channel is closed and drained.
    ///
    /// ```
    /// let (tx, rx) = knot_core::chan::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// drop(tx);
    /// let mut sum = 0;
    /// for v in &rx {
    ///     sum += v;
    /// }
    /// assert_eq!(sum, 3);
    /// ```
    #[track_caller]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            receiver: self,
            site: Location::caller(),
        }
    }

    /// An iterator over the values that can be received without waiting.
    #[track_caller]
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter {
            receiver: self,
            site: Location::caller(),
        }
    }

    /// Whether the channel is closed (values may still be buffered).
    pub fn is_closed(&self) -> bool {
        self.chan.state().closed
    }

    /// How many values are buffered.
    pub fn len(&self) -> usize {
        self.chan.buffer.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Receives until the channel is closed and drained; see [`Receiver::iter`].
///
/// Its receives are reported at the place the iterator was made (the `for`
/// loop, or the `iter()` call), not inside iterator adapters.
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
    site: &'static Location<'static>,
}

/// Receives what needs no wait; see [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
    site: &'static Location<'static>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv_at(self.site).ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv_at(self.site).ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    #[track_caller]
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.state().senders += 1;
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.senders -= 1;
        if state.senders == 0 {
            self.chan.close_locked(&mut state);
            drop(state);
            executor::touch(&self.chan.object, Op::Close);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.receivers.fetch_sub(1, Ordering::Release);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("channel", &self.chan.object.to_string())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("channel", &self.chan.object.to_string())
            .finish_non_exhaustive()
    }
}
