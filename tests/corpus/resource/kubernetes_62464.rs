//! kubernetes-62464: the CPU manager's reconciler read-locks the CPU state
//! and then calls getters that read-lock it again.
//!
//! The reconciler holds the state's read lock while it asks for a
//! container's CPU set and, when there is none, for the default set; each
//! getter takes the read lock again. If the policy's remover asks for the
//! write lock in between, the write-preferring lock queues the nested read
//! behind it, and the remover waits for the reconciler's outer read lock.
//! The fix drops the outer lock: the reconciler calls the two getters, each
//! of which locks on its own.

use std::collections::HashMap;
use std::sync::Arc;

use knot::chan;
use knot::sync::RwLock;
use knot::ReportKind;

/// A set of CPUs, such as `"0-3"`.
type CpuSet = String;

/// Which CPUs each container is pinned to, and the shared pool.
struct Assignments {
    containers: HashMap<String, CpuSet>,
    default: CpuSet,
}

/// The CPU manager's state in memory.
struct CpuState {
    assignments: RwLock<Assignments>,
}

/// A choice the checker explores both ways: a select between two ready arms.
fn either() -> bool {
    let (yes_tx, yes) = chan::bounded(1);
    let (no_tx, no) = chan::bounded(1);
    yes_tx.send(()).expect("yes is open");
    no_tx.send(()).expect("no is open");
    knot::select! {
        recv(yes) -> _ => true,
        recv(no) -> _ => false,
    }
}

impl CpuState {
    fn new() -> CpuState {
        CpuState {
            assignments: RwLock::new(Assignments {
                containers: HashMap::from([("container-1".to_owned(), "0-1".to_owned())]),
                default: "0-3".to_owned(),
            }),
        }
    }

    /// The CPU set of `container`, if it has one. The Go test answers
    /// "found" or "not found" at random; the checker tries both.
    fn get_cpuset(&self, container: &str) -> Option<CpuSet> {
        let assignments = self.assignments.read();
        if either() {
            assignments.containers.get(container).cloned()
        } else {
            None
        }
    }

    fn get_default(&self) -> CpuSet {
        self.assignments.read().default.clone()
    }

    fn set_default(&self, cpus: CpuSet) {
        self.assignments.write().default = cpus;
    }

    /// The CPU set of `container`, or the default set, read under an outer
    /// read lock.
    fn get_cpuset_or_default_holding_lock(&self, container: &str) -> CpuSet {
        let assignments = self.assignments.read();
        // BUG: both getters read-lock again, behind any waiting writer.
        let cpus = self
            .get_cpuset(container)
            .unwrap_or_else(|| self.get_default());
        drop(assignments);
        cpus
    }

    /// The CPU set of `container`, or the default set; each getter locks on
    /// its own.
    fn get_cpuset_or_default(&self, container: &str) -> CpuSet {
        self.get_cpuset(container)
            .unwrap_or_else(|| self.get_default())
    }
}

/// main starts the manager's reconciler, which reads a container's CPUs with
/// `get_or_default`, and the static policy's container remover, and joins
/// both.
fn reconcile_while_removing(get_or_default: fn(&CpuState, &str) -> CpuSet) {
    let state = Arc::new(CpuState::new());
    let reconciler = {
        let state = Arc::clone(&state);
        knot::task::Builder::new()
            .name("reconciler")
            .spawn(move || get_or_default(&state, "container-1"))
    };
    let remover = {
        let state = Arc::clone(&state);
        knot::task::Builder::new().name("remover").spawn(move || {
            let mut cpus = state.get_default();
            cpus.push_str(",4");
            state.set_default(cpus);
        })
    };
    let cpus = reconciler.join().expect("the reconciler does not panic");
    remover.join().expect("the remover does not panic");
    assert!(["0-1", "0-3", "0-3,4"].contains(&cpus.as_str()), "{cpus}");
}

/// The program with the bug: the reconciler nests read locks.
pub fn buggy() {
    reconcile_while_removing(CpuState::get_cpuset_or_default_holding_lock);
}

/// The program with the fix: no task asks for a read lock it holds.
pub fn fixed() {
    reconcile_while_removing(CpuState::get_cpuset_or_default);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "kubernetes-62464",
    subtype: "resource deadlock: recursive read lock",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
