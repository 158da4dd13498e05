//! kubernetes-10182: two setters each take the status manager's statuses
//! lock and, still holding it, hand a pod status to the syncer over a
//! rendezvous channel; the syncer receives a status and then takes the
//! same lock to delete the pod's status. Once setter 1's status is through,
//! setter 2 can take the lock and block on its send while the syncer, which
//! would receive it next, blocks on that lock. The fix deletes in a task of
//! its own, so the syncer goes straight back to receiving.

use std::collections::BTreeMap;
use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::Mutex;
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it.
pub const ENTRY: Entry = Entry {
    id: "kubernetes-10182",
    subtype: "mixed deadlock: channel and lock",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};

/// The setters, one pod each; the syncer handles that many statuses.
const SETTERS: u32 = 2;

/// The status manager.
struct Manager {
    /// Pod statuses (pod to status); a Mutex here, an RWMutex used only in
    /// write mode upstream.
    statuses: Mutex<BTreeMap<u32, &'static str>>,
    /// Status updates for the syncer (rendezvous).
    updates: (Sender<u32>, Receiver<u32>),
}

impl Manager {
    fn new() -> Manager {
        Manager {
            statuses: Mutex::new(BTreeMap::new()),
            updates: chan::bounded(0),
        }
    }

    /// Records a pod's status and sends it to the syncer, with the lock held.
    fn set_status(&self, pod: u32) {
        let mut statuses = self.statuses.lock();
        statuses.insert(pod, "running");
        self.updates
            .0
            .send(pod)
            .expect("the update channel is never closed");
        drop(statuses);
    }

    /// Forgets a pod's status.
    fn delete_status(&self, pod: u32) {
        self.statuses.lock().remove(&pod);
    }
}

/// The program with the bug: the syncer deletes inline, between receives.
pub fn buggy() {
    run(false);
}

/// The program with the fix: the syncer deletes in a task of its own, and
/// joins those tasks after its loop.
pub fn fixed() {
    run(true);
}

/// Starts the syncer and the setters, and joins them all.
fn run(delete_in_task: bool) {
    let manager = Arc::new(Manager::new());
    let syncer = {
        let manager = Arc::clone(&manager);
        knot::task::Builder::new()
            .name("syncer")
            .spawn(move || sync(&manager, delete_in_task))
    };
    let setters: Vec<_> = (1..=SETTERS)
        .map(|pod| {
            let manager = Arc::clone(&manager);
            knot::task::Builder::new()
                .name(format!("setter {pod}"))
                .spawn(move || manager.set_status(pod))
        })
        .collect();
    syncer.join().expect("the syncer does not panic");
    for setter in setters {
        setter.join().expect("a setter does not panic");
    }
}

/// The syncer's loop: receive a status, then delete the pod's status.
fn sync(manager: &Arc<Manager>, delete_in_task: bool) {
    let mut deleters = Vec::new();
    for _ in 0..SETTERS {
        let pod = manager
            .updates
            .1
            .recv()
            .expect("the update channel is never closed");
        if delete_in_task {
            let manager = Arc::clone(manager);
            deleters.push(
                knot::task::Builder::new()
                    .name(format!("delete pod {pod}"))
                    .spawn(move || manager.delete_status(pod)),
            );
        } else {
            // BUG: a setter may hold the lock and wait for this very task
            // to receive its status.
            manager.delete_status(pod);
        }
    }
    for deleter in deleters {
        deleter.join().expect("a deleter does not panic");
    }
}
