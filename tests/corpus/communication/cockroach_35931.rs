//! cockroach-35931 (CockroachDB): cancelling a flow pushes a cancel marker
//! to each of its pending inbound streams in turn, waiting on each push. The
//! left stream's buffer is already full and its consumer only reads the
//! right stream until it sees a cancel marker there, so the push to left
//! blocks forever and the right marker is never sent. The fix pushes each
//! marker from its own task, so the right marker arrives, the consumer
//! drains left, and the left push completes.

use std::collections::BTreeMap;
use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::Mutex;
use knot::task::Builder;
use knot::ReportKind;

/// What flows on an inbound stream.
#[derive(Debug)]
enum Message {
    Row,
    Cancel,
}

/// The id of the flow being cancelled.
const FLOW: u32 = 1;

/// The flow registry: each flow's pending inbound streams.
type Registry = Mutex<BTreeMap<u32, Vec<Sender<Message>>>>;

/// Sets up the flow: the two streams, with one row already waiting in left,
/// the registry, and the consumer. Returns the registry and the consumer.
fn start_flow() -> (Arc<Registry>, knot::JoinHandle<()>) {
    let (left_tx, left_rx) = chan::bounded(1);
    let (right_tx, right_rx) = chan::bounded(1);
    left_tx.send(Message::Row).expect("left is open");
    let consumer = Builder::new()
        .name("consumer")
        .spawn(move || consume(&left_rx, &right_rx));
    let registry = Arc::new(Mutex::new(BTreeMap::new()));
    registry.lock().insert(FLOW, vec![left_tx, right_tx]);
    (registry, consumer)
}

/// The processor reading both inputs: waits for the cancel marker on right,
/// then drains left up to its cancel marker.
fn consume(left: &Receiver<Message>, right: &Receiver<Message>) {
    while let Ok(message) = right.recv() {
        if matches!(message, Message::Cancel) {
            break;
        }
    }
    while let Ok(message) = left.recv() {
        if matches!(message, Message::Cancel) {
            break;
        }
    }
}

/// Copies the flow's pending streams out of the registry.
fn pending(registry: &Registry) -> Vec<Sender<Message>> {
    registry.lock().get(&FLOW).cloned().unwrap_or_default()
}

/// The program with the bug: main pushes the markers one after the other
/// and blocks on the full left stream.
pub fn buggy() {
    let (registry, consumer) = start_flow();
    // BUG: each push waits, and the push to left waits for the consumer,
    // which waits for the push to right.
    for stream in pending(&registry) {
        let _ = stream.send(Message::Cancel);
    }
    consumer.join().expect("the consumer does not panic");
}

/// The same program, fixed: one pusher task per stream; main joins them all.
pub fn fixed() {
    let (registry, consumer) = start_flow();
    let pushers: Vec<_> = pending(&registry)
        .into_iter()
        .map(|stream| {
            Builder::new().name("pusher").spawn(move || {
                let _ = stream.send(Message::Cancel);
            })
        })
        .collect();
    for pusher in pushers {
        pusher.join().expect("a pusher does not panic");
    }
    consumer.join().expect("the consumer does not panic");
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "cockroach-35931",
    subtype: "communication deadlock: channel",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
