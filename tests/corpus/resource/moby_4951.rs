//! moby-4951: two deleters of one device take the device-set lock and the
//! device lock in opposite orders.
//!
//! A deleter locks the device set, looks the device up, locks the device,
//! then briefly releases the device-set lock while it waits for the removal
//! and takes it again. Meanwhile the other deleter takes the device-set lock
//! and waits for the device, so the first waits for the device-set lock while
//! holding the device: AB-BA. The fix gives the device table its own lock for
//! lookups and always takes the device lock before the device-set lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use knot::sync::{Mutex, MutexGuard};
use knot::ReportKind;

/// One device of the set.
struct DevInfo {
    /// Whether the device has been removed.
    lock: Mutex<bool>,
}

impl DevInfo {
    #[track_caller]
    fn new() -> Arc<DevInfo> {
        Arc::new(DevInfo {
            lock: Mutex::new(false),
        })
    }
}

/// The devices, by hash.
type Table = HashMap<&'static str, Arc<DevInfo>>;

/// The two devices of the test.
fn two_devices() -> Table {
    HashMap::from([("info1", DevInfo::new()), ("info2", DevInfo::new())])
}

/// Waits for a device to go away, releasing `held` meanwhile, and returns
/// the lock taken again.
fn remove_and_wait<'a, T>(lock: &'a Mutex<T>, held: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    drop(held);
    knot::time::sleep(Duration::from_micros(1));
    lock.lock()
}

/// The device set as it was: one global lock over the device table.
struct DeviceSet {
    global: Mutex<Table>,
}

impl DeviceSet {
    fn delete_device(&self, hash: &str) {
        let devices = self.global.lock();
        let Some(info) = devices.get(hash).map(Arc::clone) else {
            return;
        };
        let mut removed = info.lock.lock();
        // BUG: waits for the global lock while holding the device lock, the
        // reverse of the order above.
        let devices = remove_and_wait(&self.global, devices);
        *removed = true;
        drop(removed);
        drop(devices);
    }
}

/// The device set fixed: the table has its own lock, and the device lock
/// always comes before the global lock.
struct SplitDeviceSet {
    /// Guards device-mapper operations.
    global: Mutex<()>,
    infos: Mutex<Table>,
}

impl SplitDeviceSet {
    fn delete_device(&self, hash: &str) {
        let Some(info) = self.infos.lock().get(hash).map(Arc::clone) else {
            return;
        };
        let mut removed = info.lock.lock();
        let global = self.global.lock();
        let global = remove_and_wait(&self.global, global);
        *removed = true;
        drop(global);
        drop(removed);
    }
}

/// main starts two deleters of "info1", which delete it with `delete`, and
/// joins both.
fn delete_concurrently<S: Send + Sync + 'static>(set: S, delete: fn(&S, &str)) {
    let set = Arc::new(set);
    let deleters = ["deleter-1", "deleter-2"].map(|name| {
        let set = Arc::clone(&set);
        knot::task::Builder::new()
            .name(name)
            .spawn(move || delete(&set, "info1"))
    });
    for deleter in deleters {
        deleter.join().expect("a deleter does not panic");
    }
}

/// The program with the bug: the global lock is taken again under the
/// device lock.
pub fn buggy() {
    delete_concurrently(
        DeviceSet {
            global: Mutex::new(two_devices()),
        },
        DeviceSet::delete_device,
    );
}

/// The program with the fix: one lock order, device before global.
pub fn fixed() {
    delete_concurrently(
        SplitDeviceSet {
            global: Mutex::new(()),
            infos: Mutex::new(two_devices()),
        },
        SplitDeviceSet::delete_device,
    );
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "moby-4951",
    subtype: "resource deadlock: AB-BA",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
