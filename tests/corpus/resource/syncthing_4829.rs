//! syncthing-4829: clearing a NAT port mapping notifies its subscribers
//! while it still holds the mapping's write lock.
//!
//! Removing a mapping from the NAT service clears its external addresses
//! under the mapping's write lock and, when some were removed, calls notify
//! before unlocking; notify takes the same mapping's read lock, so main waits
//! for itself. The fix decides under the lock whether anything was removed,
//! releases the write lock, and only then notifies.

use std::collections::HashMap;
use std::sync::Arc;

use knot::sync::RwLock;
use knot::ReportKind;

/// An external address of a port mapping, such as `"192.0.2.1:22000"`.
type Address = String;

/// Called with the addresses a mapping lost.
type Subscriber = fn(removed: &[Address]);

/// One port mapping: its external addresses, by name, and who to tell when
/// they change.
struct Mapping {
    ext_addresses: RwLock<HashMap<String, Address>>,
    subscribers: Vec<Subscriber>,
}

impl Mapping {
    fn new() -> Mapping {
        Mapping {
            ext_addresses: RwLock::new(HashMap::new()),
            subscribers: Vec::new(),
        }
    }

    /// Removes every external address and notifies while holding the lock.
    fn clear_addresses_holding_lock(&self) {
        let mut addresses = self.ext_addresses.write();
        let removed: Vec<Address> = addresses.drain().map(|(_, addr)| addr).collect();
        if !removed.is_empty() {
            // BUG: notify takes the read lock this task holds for writing.
            self.notify(&removed);
        }
        drop(addresses);
    }

    /// Removes every external address, then notifies with no lock held.
    fn clear_addresses(&self) {
        let removed: Vec<Address> = {
            let mut addresses = self.ext_addresses.write();
            addresses.drain().map(|(_, addr)| addr).collect()
        };
        if !removed.is_empty() {
            self.notify(&removed);
        }
    }

    /// Tells the subscribers which addresses went away; they are called
    /// under the read lock (this test registers none).
    fn notify(&self, removed: &[Address]) {
        let _addresses = self.ext_addresses.read();
        for subscriber in &self.subscribers {
            subscriber(removed);
        }
    }
}

/// The NAT service: its registered port mappings.
struct Service {
    mappings: RwLock<Vec<Arc<Mapping>>>,
}

impl Service {
    fn new() -> Service {
        Service {
            mappings: RwLock::new(Vec::new()),
        }
    }

    fn new_mapping(&self) -> Arc<Mapping> {
        let mapping = Arc::new(Mapping::new());
        self.mappings.write().push(Arc::clone(&mapping));
        mapping
    }

    /// Clears `mapping`, with `clear`, holding the service's write lock
    /// throughout.
    fn remove_mapping(&self, mapping: &Arc<Mapping>, clear: fn(&Mapping)) {
        let mappings = self.mappings.write();
        for existing in mappings.iter() {
            if Arc::ptr_eq(existing, mapping) {
                clear(existing);
            }
        }
    }
}

/// main registers a mapping with one address and removes it again, clearing
/// it with `clear`.
fn remove_a_mapping(clear: fn(&Mapping)) {
    let service = Service::new();
    let mapping = service.new_mapping();
    mapping
        .ext_addresses
        .write()
        .insert("test".to_owned(), "192.0.2.1:22000".to_owned());
    service.remove_mapping(&mapping, clear);
    assert!(mapping.ext_addresses.read().is_empty());
}

/// The program with the bug: notify runs under the mapping's write lock.
pub fn buggy() {
    remove_a_mapping(Mapping::clear_addresses_holding_lock);
}

/// The program with the fix: notify runs after the write lock is released.
pub fn fixed() {
    remove_a_mapping(Mapping::clear_addresses);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "syncthing-4829",
    subtype: "resource deadlock: double locking",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
