//! cockroach-6181: a range-descriptor lookup logs the cache, and formatting
//! the cache read-locks it a second time.
//!
//! Three lookups share a cache behind a write-preferring RwLock. Each holds
//! the read lock while it logs a line showing the cache, whose `Display`
//! takes the read lock again, then takes the write lock. If one lookup asks
//! for the nested read lock after another has started waiting for the write
//! lock, the reader queues behind the writer, which waits for the reader.
//! The fix formats the cache with the variant that assumes the lock is
//! already held.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use knot::sync::{RwLock, WaitGroup};
use knot::ReportKind;

/// How many lookups run at once.
const LOOKUPS: usize = 3;

/// The cached range descriptors, by the end key of their range.
type Descriptors = BTreeMap<String, u64>;

/// The range descriptor cache.
struct RangeDescriptorCache {
    descriptors: RwLock<Descriptors>,
}

impl RangeDescriptorCache {
    fn new() -> RangeDescriptorCache {
        RangeDescriptorCache {
            descriptors: RwLock::new(BTreeMap::new()),
        }
    }

    /// Looks up a descriptor, logging the cache with the locking `Display`
    /// while the read lock is held.
    fn lookup_with_nested_read(&self) {
        let descriptors = self.descriptors.read();
        // BUG: formatting `self` read-locks the cache again.
        log(&format!("lookup range descriptor: {self}"));
        drop(descriptors);
        self.evict_and_insert();
    }

    /// Looks up a descriptor, logging the cache with the descriptors already
    /// read-locked.
    fn lookup(&self) {
        let descriptors = self.descriptors.read();
        log(&format!(
            "lookup range descriptor: {}",
            string_locked(&descriptors)
        ));
        drop(descriptors);
        self.evict_and_insert();
    }

    /// Replaces the looked-up descriptor under the write lock.
    fn evict_and_insert(&self) {
        let mut descriptors = self.descriptors.write();
        *descriptors.entry("/Max".to_owned()).or_default() += 1;
    }
}

impl fmt::Display for RangeDescriptorCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&string_locked(&self.descriptors.read()))
    }
}

/// The text form of the cache; the caller holds its lock.
fn string_locked(descriptors: &Descriptors) -> String {
    format!("{descriptors:?}")
}

/// Where a log line would go; the test keeps none.
fn log(_line: &str) {}

/// The coordinator starts the lookups, each looking up with `lookup`, and
/// waits for them; main runs the coordinator in a task and joins it.
fn coalesced_requests(lookup: fn(&RangeDescriptorCache)) {
    let coordinator = knot::task::Builder::new()
        .name("coordinator")
        .spawn(move || {
            let cache = Arc::new(RangeDescriptorCache::new());
            let wg = WaitGroup::new();
            for i in 1..=LOOKUPS {
                wg.add(1);
                let cache = Arc::clone(&cache);
                let wg = wg.clone();
                knot::task::Builder::new()
                    .name(format!("lookup-{i}"))
                    .go(move || {
                        lookup(&cache);
                        wg.done();
                    });
            }
            wg.wait();
        });
    coordinator.join().expect("the coordinator does not panic");
}

/// The program with the bug: the log line read-locks the cache again.
pub fn buggy() {
    coalesced_requests(RangeDescriptorCache::lookup_with_nested_read);
}

/// The program with the fix: the log line uses the held lock.
pub fn fixed() {
    coalesced_requests(RangeDescriptorCache::lookup);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "cockroach-6181",
    subtype: "resource deadlock: recursive read lock",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
