//! etcd-9446: resetting a read buffer while another task ranges over it.
//!
//! A setup task fills a read transaction's buffer with bucket "1", then
//! starts a resetter, which removes every entry, and a ranger, which looks
//! the bucket up without any lock; nothing orders the removal and the
//! lookup. The fix guards the buffer with the read transaction's RwLock:
//! the lookup holds it shared and the reset holds it exclusively.

use std::collections::BTreeMap;
use std::sync::Arc;

use knot::cell::RaceCell;
use knot::sync::{RwLock, WaitGroup};
use knot::task::Builder;

/// A read transaction: its lock and its read buffer, a table from bucket
/// name to bucket contents.
struct ReadTx {
    mu: RwLock<()>,
    buf: RaceCell<BTreeMap<&'static str, ()>>,
}

impl ReadTx {
    fn new() -> ReadTx {
        ReadTx {
            mu: RwLock::new(()),
            buf: RaceCell::new(BTreeMap::new()),
        }
    }

    /// Removes every entry of the buffer; `locked` says whether it holds
    /// the lock exclusively meanwhile.
    fn reset(&self, locked: bool) {
        // BUG (when not locked): the removal races with the lookup.
        let _guard = locked.then(|| self.mu.write());
        self.buf.with_mut(BTreeMap::clear);
    }

    /// Looks a bucket up in the buffer; `locked` says whether it holds the
    /// lock shared meanwhile.
    fn range(&self, bucket: &str, locked: bool) -> bool {
        let _guard = locked.then(|| self.mu.read());
        self.buf.with(|buf| buf.contains_key(bucket))
    }
}

fn run(locked: bool) {
    let wg = WaitGroup::new();
    wg.add(3);
    let setup_wg = wg.clone();
    let setup = Builder::new().name("setup").spawn(move || {
        let wg = setup_wg;
        let tx = Arc::new(ReadTx::new());
        tx.buf.with_mut(|buf| buf.insert("1", ()));
        let (resetter_tx, resetter_wg) = (Arc::clone(&tx), wg.clone());
        Builder::new().name("resetter").go(move || {
            resetter_tx.reset(locked);
            resetter_wg.done();
        });
        let ranger_wg = wg.clone();
        Builder::new().name("ranger").go(move || {
            let _found = tx.range("1", locked);
            ranger_wg.done();
        });
        wg.done();
    });
    wg.wait();
    setup.join().unwrap();
}

/// The resetter clears the buffer while the ranger reads it, unlocked.
pub fn buggy() {
    run(false);
}

/// The reset holds the read transaction's lock exclusively and the lookup
/// holds it shared.
pub fn fixed() {
    run(true);
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "etcd-9446",
    subtype: "non-blocking: data race",
    expected: knot::ReportKind::DataRace,
    buggy,
    fixed,
};
