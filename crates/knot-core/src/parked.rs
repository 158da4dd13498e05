//! Plain OS threads waiting inside knot primitives.
//!
//! A `#[test]` body or `main` that joins a task, receives from a channel or
//! waits on a `WaitGroup` parks its thread. Those waits are listed here, so
//! that the live runtime's deadlock monitor can tell "every task is asleep
//! and `main` waits for one of them" (a deadlock, reported like Go's "all
//! goroutines are asleep") from "every task is asleep while `main` is busy"
//! (nothing wrong yet), and can show what each thread waits for.
//!
//! A monitor that finds such a deadlock [`interrupt`]s the waiting threads:
//! each wakes and panics with the monitor's report instead of hanging.
//!
//! ```
//! // No plain thread waits in a knot primitive right now.
//! assert!(knot_core::parked::waiting().is_empty());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::Instant;

use crate::executor::{BlockedOn, TaskKey};

/// A plain thread waiting in a knot primitive, as [`waiting`] saw it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ThreadWait {
    /// The thread's name, or its id when it has none.
    pub thread: String,
    /// What it waits for, and where it asked.
    pub blocked: BlockedOn,
    /// Since when it waits.
    pub since: Instant,
}

impl fmt::Display for ThreadWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread '{}' blocked on {}", self.thread, self.blocked)
    }
}

/// Every plain thread now waiting in a knot primitive.
///
/// ```
/// assert!(knot_core::parked::waiting().is_empty());
/// ```
pub fn waiting() -> Vec<ThreadWait> {
    table()
        .values()
        .map(|w| ThreadWait {
            thread: w.name.clone(),
            blocked: w.blocked,
            since: w.since,
        })
        .collect()
}

/// How many plain threads are waiting in a knot primitive now.
pub fn count() -> usize {
    table().len()
}

/// A number that grows whenever a waiting thread or task is woken; a
/// monitor that sees it unchanged over a while knows nothing moved.
pub fn progress_count() -> u64 {
    PROGRESS.load(Ordering::SeqCst)
}

/// Records that something was woken; see [`progress_count`].
pub fn progress() {
    PROGRESS.fetch_add(1, Ordering::SeqCst);
}

/// Wakes every plain thread waiting in a knot primitive and makes it panic
/// with `report`, because a monitor has found that none of their waits can
/// ever end; returns how many threads were interrupted.
///
/// `seen` is the [`progress_count`] the monitor based its verdict on: if a
/// thread was woken since, nothing is interrupted and 0 is returned.
pub fn interrupt(report: &str, seen: u64) -> usize {
    let report: Arc<str> = Arc::from(report);
    let mut table = table();
    // Wakers bump the count before they unpark, and a woken thread leaves
    // the table under its lock: checked under the lock, an unchanged count
    // means no waiting thread has been woken.
    if PROGRESS.load(Ordering::SeqCst) != seen {
        return 0;
    }
    for wait in table.values_mut() {
        wait.interrupted = Some(Arc::clone(&report));
        wait.thread.unpark();
    }
    table.len()
}

/// Parks the calling thread, entered in the table, until it is unparked.
///
/// # Panics
///
/// If [`interrupt`]ed, with the interrupting report.
pub(crate) fn park(key: TaskKey, blocked: BlockedOn) {
    let me = thread::current();
    let name = me
        .name()
        .map_or_else(|| format!("{:?}", me.id()), String::from);
    table().insert(
        key.0,
        Wait {
            name,
            blocked,
            since: Instant::now(),
            thread: me,
            interrupted: None,
        },
    );
    thread::park();
    let wait = table().remove(&key.0);
    if let Some(report) = wait.and_then(|w| w.interrupted) {
        panic!("{report}");
    }
}

struct Wait {
    name: String,
    blocked: BlockedOn,
    since: Instant,
    thread: Thread,
    interrupted: Option<Arc<str>>,
}

static PROGRESS: AtomicU64 = AtomicU64::new(0);

fn table() -> MutexGuard<'static, BTreeMap<u64, Wait>> {
    static TABLE: Mutex<BTreeMap<u64, Wait>> = Mutex::new(BTreeMap::new());
    // Entries are inserted and removed whole, so a poisoned table is
    // still consistent.
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}
