//! hugo-3251: two downloaders of one URL deadlock on the URL lock table and
//! the per-URL lock.
//!
//! url-lock takes the per-URL lock while it still holds the table's write
//! lock, and url-unlock needs the table's read lock to release the per-URL
//! lock. When one downloader holds the per-URL lock and another has
//! write-locked the table and waits for it, the first cannot read-lock the
//! table to release it: AB-BA. The fix finds or creates the per-URL lock
//! under the table lock, releases the table, and only then acquires it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use knot::chan::{self, Receiver, Sender};
use knot::sync::{RwLock, WaitGroup};
use knot::ReportKind;

/// How many downloaders run, and how many fetches each makes.
const DOWNLOADERS: usize = 2;
const FETCHES: usize = 2;

/// The URL every downloader fetches.
const URL: &str = "http://Foo.Bar/foo_Bar-Foo";

/// A per-URL lock, released in a different call than the one that takes it:
/// a capacity-1 channel used as a binary semaphore.
#[derive(Clone)]
struct UrlLock {
    acquire: Sender<()>,
    release: Receiver<()>,
}

impl UrlLock {
    fn new() -> UrlLock {
        let (acquire, release) = chan::bounded(1);
        UrlLock { acquire, release }
    }

    fn lock(&self) {
        self.acquire
            .send(())
            .expect("the semaphore is never closed");
    }

    fn unlock(&self) {
        self.release.recv().expect("the semaphore is never closed");
    }
}

/// The global URL lock table: a lock per URL, created on first use.
struct RemoteLock {
    table: RwLock<HashMap<String, UrlLock>>,
}

impl RemoteLock {
    fn new() -> RemoteLock {
        RemoteLock {
            table: RwLock::new(HashMap::new()),
        }
    }

    /// Takes the lock of `url`, waiting for it with the table write-locked.
    fn url_lock_holding_table(&self, url: &str) {
        let mut table = self.table.write();
        let lock = table.entry(url.to_owned()).or_insert_with(UrlLock::new);
        // BUG: waits for the URL's holder, who needs the table to release it.
        lock.lock();
        drop(table);
    }

    /// Takes the lock of `url`, waiting for it after releasing the table.
    fn url_lock(&self, url: &str) {
        let lock = {
            let mut table = self.table.write();
            table
                .entry(url.to_owned())
                .or_insert_with(UrlLock::new)
                .clone()
        };
        lock.lock();
    }

    /// Releases the lock of `url`.
    fn url_unlock(&self, url: &str) {
        let table = self.table.read();
        if let Some(lock) = table.get(url) {
            lock.unlock();
        }
    }
}

/// Downloads a remote resource under its URL lock (the download itself is
/// left out).
fn get_remote(locks: &RemoteLock, url: &str, url_lock: fn(&RemoteLock, &str)) {
    url_lock(locks, url);
    locks.url_unlock(url);
}

/// main starts the downloaders, which fetch the same URL locking it with
/// `url_lock`, and waits for them.
fn download_concurrently(url_lock: fn(&RemoteLock, &str)) {
    let locks = Arc::new(RemoteLock::new());
    let wg = WaitGroup::new();
    wg.add(DOWNLOADERS as i64);
    for i in 1..=DOWNLOADERS {
        let locks = Arc::clone(&locks);
        let wg = wg.clone();
        knot::task::Builder::new()
            .name(format!("downloader-{i}"))
            .go(move || {
                for _ in 0..FETCHES {
                    get_remote(&locks, URL, url_lock);
                    knot::time::sleep(Duration::from_millis(1));
                }
                wg.done();
            });
    }
    wg.wait();
}

/// The program with the bug: the per-URL lock is taken under the table lock.
pub fn buggy() {
    download_concurrently(RemoteLock::url_lock_holding_table);
}

/// The program with the fix: the table lock is released first.
pub fn fixed() {
    download_concurrently(RemoteLock::url_lock);
}

/// This bug in the corpus.
pub const ENTRY: super::super::Entry = super::super::Entry {
    id: "hugo-3251",
    subtype: "resource deadlock: AB-BA",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
