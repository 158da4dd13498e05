//! etcd-10492: the lessor calls its checkpoint callback while it holds its
//! own lock.
//!
//! The lessor keeps its leases and an optional checkpoint callback under one
//! RwLock, which it only ever takes for writing. Renew holds the write lock
//! for its whole run and invokes the callback, which calls the lessor's
//! checkpoint, which asks for the same write lock: main waits for a lock it
//! holds itself, with no interleaving needed. The fix releases the lock
//! before the callback runs and takes it again afterwards to refresh the
//! lease.

use std::sync::Arc;

use knot::sync::RwLock;
use knot::ReportKind;

/// The callback the lessor runs to checkpoint a lease; it is handed the
/// lessor, so the lessor holds no reference to itself.
type Checkpointer = Arc<dyn Fn(&Lessor) + Send + Sync>;

/// What the lessor's lock guards.
#[derive(Default)]
struct State {
    checkpointer: Option<Checkpointer>,
    renewals: u32,
    checkpoints: u32,
}

/// Grants and renews leases.
struct Lessor {
    state: RwLock<State>,
}

impl Lessor {
    fn new() -> Lessor {
        Lessor {
            state: RwLock::new(State::default()),
        }
    }

    fn set_checkpointer(&self, checkpointer: Checkpointer) {
        self.state.write().checkpointer = Some(checkpointer);
    }

    /// Records a checkpoint of the lease.
    fn checkpoint(&self) {
        self.state.write().checkpoints += 1;
    }

    /// Renews the lease, running the checkpoint callback under the lock.
    fn renew_holding_lock(&self) {
        let mut state = self.state.write();
        if let Some(checkpointer) = &state.checkpointer {
            // BUG: the callback takes the lock this renew still holds.
            checkpointer(self);
        }
        state.renewals += 1;
    }

    /// Renews the lease, running the checkpoint callback with no lock held.
    fn renew(&self) {
        let checkpointer = self.state.write().checkpointer.clone();
        if let Some(checkpointer) = checkpointer {
            checkpointer(self);
        }
        self.state.write().renewals += 1;
    }
}

/// main installs a callback that checkpoints, then renews a lease with
/// `renew`.
fn renew_a_lease(renew: fn(&Lessor)) {
    let lessor = Lessor::new();
    lessor.set_checkpointer(Arc::new(Lessor::checkpoint));
    // As in the Go test, the lock is taken and dropped once; this changes
    // nothing.
    drop(lessor.state.write());
    renew(&lessor);
    let state = lessor.state.write();
    assert_eq!((state.renewals, state.checkpoints), (1, 1));
}

/// The program with the bug: renew keeps the lock across the callback.
pub fn buggy() {
    renew_a_lease(Lessor::renew_holding_lock);
}

/// The program with the fix: renew drops the lock before the callback.
pub fn fixed() {
    renew_a_lease(Lessor::renew);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "etcd-10492",
    subtype: "resource deadlock: double locking",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
