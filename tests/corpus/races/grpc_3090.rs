//! grpc-3090: a poller reads the resolver slot before the dialer stores it.
//!
//! While the dialer builds a resolver, the build reports state back to the
//! resolver wrapper, which starts a poller under its polling lock; the poller
//! reads the wrapper's resolver slot under that lock, but the dialer stores
//! the built resolver into the slot after releasing it, with no lock held.
//! The fix adds a resolver lock, held by the dialer across the build and the
//! store and by the poller while it reads the slot; polling keeps its own
//! lock, so the poll that the build triggers does not deadlock.

use std::sync::{Arc, Mutex as StdMutex, PoisonError, Weak};

use knot::cell::RaceCell;
use knot::sync::Mutex;
use knot::task::{Builder, JoinHandle};

/// A resolver; it remembers the wrapper it reports to.
struct Resolver {
    cc: Weak<ResolverWrapper>,
}

impl Resolver {
    /// Reports the resolver's state to the wrapper.
    fn update_state(&self) {
        if let Some(cc) = self.cc.upgrade() {
            cc.update_state();
        }
    }

    /// Asks the resolver to resolve again: nothing to do here.
    fn resolve_now(&self) {}
}

/// Builds resolvers; building reports an initial state.
struct ResolverBuilder;

impl ResolverBuilder {
    fn build(&self, cc: &Arc<ResolverWrapper>) -> Arc<Resolver> {
        let resolver = Arc::new(Resolver {
            cc: Arc::downgrade(cc),
        });
        resolver.update_state();
        resolver
    }
}

/// The client connection's resolver wrapper.
struct ResolverWrapper {
    /// Whether the fix is applied.
    fixed: bool,
    /// The polling lock.
    polling: Mutex<()>,
    /// The resolver lock that the fix adds.
    resolver_mu: Mutex<()>,
    /// The resolver slot, empty until the dialer stores the built resolver.
    resolver: RaceCell<Option<Arc<Resolver>>>,
    /// The poller's handle, for the dialer to join (the Go test sleeps
    /// instead); only the dialer touches it.
    poller: StdMutex<Option<JoinHandle<()>>>,
}

impl ResolverWrapper {
    fn new(fixed: bool) -> ResolverWrapper {
        ResolverWrapper {
            fixed,
            polling: Mutex::new(()),
            resolver_mu: Mutex::new(()),
            resolver: RaceCell::new(None),
            poller: StdMutex::new(None),
        }
    }

    /// The resolver reports state: the wrapper reacts by polling.
    fn update_state(self: &Arc<Self>) {
        self.poll();
    }

    /// Starts the poller under the polling lock.
    fn poll(self: &Arc<Self>) {
        let _polling = self.polling.lock();
        let cc = Arc::clone(self);
        let poller = Builder::new()
            .name("poller")
            .spawn(move || cc.resolve_now());
        *self.poller.lock().unwrap_or_else(PoisonError::into_inner) = Some(poller);
    }

    /// Asks the resolver in the slot, if any, to resolve again.
    fn resolve_now(&self) {
        let _guard = if self.fixed {
            self.resolver_mu.lock()
        } else {
            // BUG: the polling lock does not order this read after the
            // dialer's store into the slot.
            self.polling.lock()
        };
        self.resolver.with(|resolver| {
            if let Some(resolver) = resolver {
                resolver.resolve_now();
            }
        });
    }
}

fn dial(fixed: bool) {
    let cc = Arc::new(ResolverWrapper::new(fixed));
    let builder = ResolverBuilder;
    if fixed {
        let _resolver_mu = cc.resolver_mu.lock();
        let resolver = builder.build(&cc);
        cc.resolver.set(Some(resolver));
    } else {
        let resolver = builder.build(&cc);
        // BUG: stored with no lock held, after the poller has started.
        cc.resolver.set(Some(resolver));
    }
    let poller = cc
        .poller
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(poller) = poller {
        poller.join().unwrap();
    }
}

fn run(fixed: bool) {
    let dialer = Builder::new().name("dialer").spawn(move || dial(fixed));
    dialer.join().unwrap();
}

/// The dialer stores the resolver with no lock while the poller reads it.
pub fn buggy() {
    run(false);
}

/// A resolver lock orders the store before the poller's read.
pub fn fixed() {
    run(true);
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "grpc-3090",
    subtype: "non-blocking: data race",
    expected: knot::ReportKind::DataRace,
    buggy,
    fixed,
};
