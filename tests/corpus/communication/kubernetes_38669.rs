//! kubernetes-38669 (Kubernetes): a cache watcher's processor first sends
//! its initial events on the rendezvous result channel, then reads its input
//! until the watcher is stopped. The caller stops the watcher without ever
//! reading the results, so the processor blocks forever on its first send.
//! The fix gives the watcher a `done` channel that stop closes, and every
//! send on result also gives up once `done` is closed.

use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::Mutex;
use knot::task::Builder;
use knot::{JoinHandle, ReportKind};

/// An event of the watch cache: its resource version.
type Event = u64;

/// The events the processor starts with.
const INITIAL_EVENTS: [Event; 2] = [1, 2];

/// A cache watcher, as in the buggy code: no way to tell the processor that
/// nobody reads the results any more.
struct CacheWatcher {
    stopped: Mutex<bool>,
    input: Sender<Event>,
    result: Sender<Event>,
    // The caller's end of the results, which it never reads.
    _result_rx: Receiver<Event>,
}

impl CacheWatcher {
    /// Creates the watcher and starts its processor.
    fn new(initial: Vec<Event>) -> (Arc<CacheWatcher>, JoinHandle<()>) {
        let (input, input_rx) = chan::bounded(0);
        let (result, result_rx) = chan::bounded(0);
        let watcher = Arc::new(CacheWatcher {
            stopped: Mutex::new(false),
            input,
            result,
            _result_rx: result_rx,
        });
        let w = Arc::clone(&watcher);
        let processor = Builder::new()
            .name("processor")
            .spawn(move || w.process(initial, &input_rx));
        (watcher, processor)
    }

    fn stop(&self) {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            *stopped = true;
            self.input.close();
        }
    }

    fn process(&self, initial: Vec<Event>, input: &Receiver<Event>) {
        for event in initial {
            // BUG: waits for a reader that never comes.
            let _ = self.result.send(event);
        }
        while input.recv().is_ok() {}
        self.stop();
        self.result.close();
    }
}

/// The program with the bug: the processor waits forever to hand over its
/// first initial event.
pub fn buggy() {
    // Not joined: as in Go, nothing waits for the processor.
    let (watcher, _processor) = CacheWatcher::new(INITIAL_EVENTS.to_vec());
    watcher.stop();
}

/// A cache watcher with the fix: stop also closes `done`, which every send
/// on result watches.
struct FixedCacheWatcher {
    stopped: Mutex<bool>,
    input: Sender<Event>,
    result: Sender<Event>,
    _result_rx: Receiver<Event>,
    done: Sender<()>,
    done_rx: Receiver<()>,
}

impl FixedCacheWatcher {
    fn new(initial: Vec<Event>) -> (Arc<FixedCacheWatcher>, JoinHandle<()>) {
        let (input, input_rx) = chan::bounded(0);
        let (result, result_rx) = chan::bounded(0);
        let (done, done_rx) = chan::bounded(0);
        let watcher = Arc::new(FixedCacheWatcher {
            stopped: Mutex::new(false),
            input,
            result,
            _result_rx: result_rx,
            done,
            done_rx,
        });
        let w = Arc::clone(&watcher);
        let processor = Builder::new()
            .name("processor")
            .spawn(move || w.process(initial, &input_rx));
        (watcher, processor)
    }

    fn stop(&self) {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            *stopped = true;
            self.done.close();
            self.input.close();
        }
    }

    /// Sends `event` on result, or drops it once the watcher is stopped.
    fn send_event(&self, event: Event) {
        knot::select! {
            send(self.result, event) -> _ => {}
            recv(self.done_rx) -> _ => {}
        }
    }

    fn process(&self, initial: Vec<Event>, input: &Receiver<Event>) {
        for event in initial {
            self.send_event(event);
        }
        while input.recv().is_ok() {}
        self.stop();
        self.result.close();
    }
}

/// The same program, fixed: the stopped watcher's processor drops its events
/// and ends, and main joins it.
pub fn fixed() {
    let (watcher, processor) = FixedCacheWatcher::new(INITIAL_EVENTS.to_vec());
    watcher.stop();
    processor.join().expect("the processor does not panic");
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "kubernetes-38669",
    subtype: "communication deadlock: channel",
    expected: ReportKind::Leak,
    buggy,
    fixed,
};
