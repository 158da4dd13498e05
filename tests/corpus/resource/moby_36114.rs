//! moby-36114: hot-adding a disk to the service VM rolls back by calling
//! hot-remove, which locks the VM again.
//!
//! A worker hot-adds a VHD: it locks the service VM and, on the rollback
//! path, calls hot-remove while still holding the lock; hot-remove locks the
//! same mutex, so the worker waits for itself and main waits to join it. The
//! fix splits hot-remove into a wrapper that takes the lock and an inner
//! routine for callers that already hold it, which hot-add now calls.

use std::sync::Arc;

use knot::sync::Mutex;
use knot::ReportKind;

/// The utility VM that serves the container disks.
struct ServiceVm {
    /// The VHDs attached to the VM.
    attached: Mutex<Vec<&'static str>>,
}

impl ServiceVm {
    fn new() -> ServiceVm {
        ServiceVm {
            attached: Mutex::new(Vec::new()),
        }
    }

    /// Attaches `vhd`, then rolls the attach back as if it had failed,
    /// calling the locking hot-remove under the lock.
    fn hot_add_holding_lock(&self, vhd: &'static str) {
        let mut attached = self.attached.lock();
        attached.push(vhd);
        // BUG: the rollback locks the mutex this task holds.
        self.hot_remove(vhd);
    }

    /// Attaches `vhd`, then rolls the attach back with the inner routine.
    fn hot_add(&self, vhd: &'static str) {
        let mut attached = self.attached.lock();
        attached.push(vhd);
        hot_remove_locked(&mut attached, vhd);
    }

    /// Detaches `vhd`, taking the lock.
    fn hot_remove(&self, vhd: &'static str) {
        hot_remove_locked(&mut self.attached.lock(), vhd);
    }
}

/// Detaches `vhd`; the caller holds the service VM's lock.
fn hot_remove_locked(attached: &mut Vec<&'static str>, vhd: &'static str) {
    attached.retain(|&v| v != vhd);
}

/// main starts a worker that hot-adds a disk with `hot_add`, and joins it.
fn start_service_vm(hot_add: fn(&ServiceVm, &'static str)) {
    let svm = Arc::new(ServiceVm::new());
    let worker = {
        let svm = Arc::clone(&svm);
        knot::task::Builder::new()
            .name("hot-add")
            .spawn(move || hot_add(&svm, "sandbox.vhdx"))
    };
    worker.join().expect("hot-add does not panic");
    assert!(svm.attached.lock().is_empty());
}

/// The program with the bug: the rollback locks the VM a second time.
pub fn buggy() {
    start_service_vm(ServiceVm::hot_add_holding_lock);
}

/// The program with the fix: the rollback uses the caller's lock.
pub fn fixed() {
    start_service_vm(ServiceVm::hot_add);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "moby-36114",
    subtype: "resource deadlock: double locking",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
