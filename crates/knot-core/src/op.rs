//! The visible operations of knot: every one is an event, and under the
//! checker a scheduling point.

use std::fmt;

/// A visible operation, as events and reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Starting a task.
    Spawn,
    /// Waiting for a task to finish.
    Join,
    /// Letting other tasks run.
    Yield,
    /// A task returning.
    Exit,
    /// Acquiring a `Mutex`.
    Lock,
    /// Trying to acquire a `Mutex` without waiting.
    TryLock,
    /// Releasing a `Mutex`.
    Unlock,
    /// Acquiring an `RwLock` shared.
    Read,
    /// Acquiring an `RwLock` exclusively.
    Write,
    /// Trying to acquire an `RwLock` without waiting.
    TryAcquire,
    /// Releasing a shared `RwLock` hold.
    ReadUnlock,
    /// Releasing an exclusive `RwLock` hold.
    WriteUnlock,
    /// Waiting on a `Condvar`.
    CondWait,
    /// Waking one waiter of a `Condvar`.
    NotifyOne,
    /// Waking every waiter of a `Condvar`.
    NotifyAll,
    /// Adding to a `WaitGroup` counter.
    Add,
    /// Subtracting one from a `WaitGroup` counter.
    Done,
    /// Waiting for a `WaitGroup` counter to reach zero.
    Wait,
    /// Reading an atomic.
    Load,
    /// Writing an atomic.
    Store,
    /// Reading and writing an atomic in one step.
    Rmw,
    /// Sending on a channel.
    Send,
    /// Sending on a channel without waiting.
    TrySend,
    /// Receiving from a channel.
    Recv,
    /// Receiving from a channel without waiting.
    TryRecv,
    /// Closing a channel.
    Close,
    /// Waiting for the first of several channel operations.
    Select,
    /// Waiting for time to pass.
    Sleep,
    /// Cancelling a context.
    Cancel,
    /// A timer firing (virtual time passing, under the checker).
    Fire,
    /// Joining the queue of a primitive's waiters, which changes who a later
    /// operation serves (a condition variable's notify, readers behind a
    /// queued writer).
    Register,
}

impl Op {
    /// The operation's name in reports, such as `lock`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Spawn => "spawn",
            Op::Join => "join",
            Op::Yield => "yield",
            Op::Exit => "exit",
            Op::Lock => "lock",
            Op::TryLock => "try_lock",
            Op::Unlock => "unlock",
            Op::Read => "read",
            Op::Write => "write",
            Op::TryAcquire => "try_acquire",
            Op::ReadUnlock => "read_unlock",
            Op::WriteUnlock => "write_unlock",
            Op::CondWait => "wait",
            Op::NotifyOne => "notify_one",
            Op::NotifyAll => "notify_all",
            Op::Add => "add",
            Op::Done => "done",
            Op::Wait => "wait",
            Op::Load => "load",
            Op::Store => "store",
            Op::Rmw => "read-modify-write",
            Op::Send => "send",
            Op::TrySend => "try_send",
            Op::Recv => "recv",
            Op::TryRecv => "try_recv",
            Op::Close => "close",
            Op::Select => "select",
            Op::Sleep => "sleep",
            Op::Cancel => "cancel",
            Op::Fire => "timer fires",
            Op::Register => "register",
        }
    }

    /// Whether the operation changes what other tasks can observe.
    ///
    /// A task that completes such an operation after main returned did work
    /// that a Go program would lose at exit. Releasing a lock, waiting and
    /// reading are not effects; taking a lock, signalling and writing are.
    pub fn has_effect(self) -> bool {
        matches!(
            self,
            Op::Spawn
                | Op::Lock
                | Op::TryLock
                | Op::Read
                | Op::Write
                | Op::TryAcquire
                | Op::NotifyOne
                | Op::NotifyAll
                | Op::Add
                | Op::Done
                | Op::Store
                | Op::Rmw
                | Op::Send
                | Op::TrySend
                | Op::Close
                | Op::Cancel
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
