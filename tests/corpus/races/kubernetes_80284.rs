//! kubernetes-80284: two updaters store a rotate callback with no lock.
//!
//! Two updater tasks each create a connection dialer and store its close-all
//! action in the authenticator's rotate-callback slot, without taking the
//! authenticator's Mutex, so nothing orders the two writes to the slot. The
//! fix makes the assignment while holding the authenticator's Mutex.

use std::sync::Arc;

use knot::cell::RaceCell;
use knot::sync::{Mutex, WaitGroup};
use knot::task::Builder;

/// A connection dialer; its number stands for its close-all action.
#[derive(Debug, Clone, Copy)]
struct Dialer {
    number: u32,
}

impl Dialer {
    fn new(number: u32) -> Dialer {
        Dialer { number }
    }

    /// What the authenticator calls on rotation: here, which dialer to
    /// close every connection of.
    fn close_all(self) -> u32 {
        self.number
    }
}

/// The exec authenticator: a Mutex and the rotate-callback slot.
struct Authenticator {
    mu: Mutex<()>,
    on_rotate: RaceCell<Option<u32>>,
}

impl Authenticator {
    fn new() -> Authenticator {
        Authenticator {
            mu: Mutex::new(()),
            on_rotate: RaceCell::new(None),
        }
    }

    /// Creates a new dialer and installs its close-all action as the
    /// rotate callback; `locked` says whether the slot is written under
    /// the authenticator's Mutex.
    fn update_transport_config(&self, number: u32, locked: bool) {
        let dialer = Dialer::new(number);
        if locked {
            let _guard = self.mu.lock();
            self.on_rotate.set(Some(dialer.close_all()));
        } else {
            // BUG: the slot is written with no lock held.
            self.on_rotate.set(Some(dialer.close_all()));
        }
    }
}

fn run(locked: bool) {
    let auth = Arc::new(Authenticator::new());
    let wg = WaitGroup::new();
    wg.add(2);
    let updaters: Vec<_> = [1, 2]
        .into_iter()
        .map(|number| {
            let (auth, wg) = (Arc::clone(&auth), wg.clone());
            Builder::new()
                .name(format!("updater {number}"))
                .spawn(move || {
                    auth.update_transport_config(number, locked);
                    wg.done();
                })
        })
        .collect();
    wg.wait();
    for updater in updaters {
        updater.join().unwrap();
    }
}

/// The two updaters write the rotate-callback slot with no lock.
pub fn buggy() {
    run(false);
}

/// Each updater writes the slot while holding the authenticator's Mutex.
pub fn fixed() {
    run(true);
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "kubernetes-80284",
    subtype: "non-blocking: data race",
    expected: knot::ReportKind::DataRace,
    buggy,
    fixed,
};
