//! kubernetes-81091: filter plugins run in parallel and share a counter.
//!
//! The scheduler checks nodes by parallelizing check-node over two workers,
//! which take pieces from a closed work queue; check-node runs every filter
//! plugin, and the fake plugin increments its call counter with a plain read
//! and write. When each worker takes one piece, nothing orders the two
//! increments. The fix increments the counter atomically.

use std::sync::Arc;

use knot::cell::RaceCell;
use knot::chan;
use knot::sync::atomic::{AtomicU32, Ordering};
use knot::sync::WaitGroup;
use knot::task::Builder;

/// A filter plugin of the scheduling framework.
trait FilterPlugin: Send + Sync {
    /// Decides whether the node fits.
    fn filter(&self, node: usize) -> bool;
}

/// The fake plugin: counts its calls in plain memory.
#[derive(Default)]
struct FakeFilterPlugin {
    calls: RaceCell<u32>,
}

impl FilterPlugin for FakeFilterPlugin {
    fn filter(&self, _node: usize) -> bool {
        // BUG: filters run in parallel, and this read-then-write of the
        // counter is not synchronised.
        let calls = self.calls.get();
        self.calls.set(calls + 1);
        true
    }
}

/// The fake plugin as fixed: counts its calls atomically.
#[derive(Default)]
struct AtomicFakeFilterPlugin {
    calls: AtomicU32,
}

impl FilterPlugin for AtomicFakeFilterPlugin {
    fn filter(&self, _node: usize) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// The scheduling framework: its filter plugins.
struct Framework {
    filters: Vec<Box<dyn FilterPlugin>>,
}

impl Framework {
    /// Runs every filter plugin on a node.
    fn run_filter_plugins(&self, node: usize) -> bool {
        self.filters.iter().all(|plugin| plugin.filter(node))
    }
}

/// Runs `do_piece` on each of `pieces` pieces with `workers` workers that
/// take them from a work queue, and waits for the workers.
fn parallelize_until(workers: u32, pieces: usize, do_piece: Arc<dyn Fn(usize) + Send + Sync>) {
    let (tx, rx) = chan::bounded(pieces);
    for piece in 0..pieces {
        tx.send(piece).unwrap();
    }
    tx.close();
    let wg = WaitGroup::new();
    wg.add(workers.into());
    for worker in 1..=workers {
        let (rx, wg, do_piece) = (rx.clone(), wg.clone(), Arc::clone(&do_piece));
        Builder::new().name(format!("worker {worker}")).go(move || {
            while let Ok(piece) = rx.recv() {
                // Go selects between a stop channel and a default arm;
                // stop is a nil channel that never fires, so only the
                // default arm remains.
                do_piece(piece);
            }
            wg.done();
        });
    }
    wg.wait();
}

/// Finds the nodes that fit: check-node on two pieces with two workers.
fn find_nodes_that_fit(framework: Arc<Framework>) {
    let check_node = move |node: usize| {
        let _fits = framework.run_filter_plugins(node);
    };
    parallelize_until(2, 2, Arc::new(check_node));
}

fn run(plugin: fn() -> Box<dyn FilterPlugin>) {
    let scheduler = Builder::new().name("scheduler").spawn(move || {
        let framework = Arc::new(Framework {
            filters: vec![plugin()],
        });
        find_nodes_that_fit(framework);
    });
    scheduler.join().unwrap();
}

/// The fake plugin's counter is incremented by both workers unsynchronised.
pub fn buggy() {
    run(|| Box::new(FakeFilterPlugin::default()));
}

/// The fake plugin's counter is atomic.
pub fn fixed() {
    run(|| Box::new(AtomicFakeFilterPlugin::default()));
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "kubernetes-81091",
    subtype: "non-blocking: data race",
    expected: knot::ReportKind::DataRace,
    buggy,
    fixed,
};
