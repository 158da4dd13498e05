//! grpc-660 (gRPC-Go): a benchmark client loop starts a worker for each
//! call and waits in a select for either the call's result on a rendezvous
//! `done` channel or the stop signal. When the stopper closes `stop` while
//! the loop waits, the loop may take the stop arm and return before the
//! current worker has sent, and that worker then blocks forever sending on a
//! `done` channel nobody reads. The fix makes the worker's send a select
//! that also gives up once `stop` is closed; here the loop also joins its
//! workers before returning.

use knot::chan::{self, Receiver, Sender};
use knot::task::Builder;
use knot::ReportKind;

use super::either;

/// How many calls the loop makes (Go loops until stopped).
const CALLS: usize = 3;

/// The program with the bug: a worker whose result is no longer awaited
/// waits in `send` forever.
pub fn buggy() {
    let (stop_tx, stop_rx) = chan::bounded::<()>(0);
    let client = Builder::new().name("client").spawn(move || {
        for _ in 0..CALLS {
            let (done_tx, done_rx) = chan::bounded::<bool>(0);
            Builder::new().name("worker").go(move || {
                // BUG: nothing lets this send give up once the loop is gone.
                let _ = done_tx.send(either());
            });
            knot::select! {
                recv(stop_rx) -> _ => return,
                recv(done_rx) -> _ => {}
            }
        }
    });
    let stopper = Builder::new()
        .name("stopper")
        .spawn(move || stop_tx.close());
    client.join().expect("the client does not panic");
    stopper.join().expect("the stopper does not panic");
}

/// The same program, fixed: the worker's send also watches `stop`, and the
/// loop joins its workers.
pub fn fixed() {
    let (stop_tx, stop_rx) = chan::bounded::<()>(0);
    let client = Builder::new().name("client").spawn(move || {
        let mut workers = Vec::new();
        for _ in 0..CALLS {
            let (done_tx, done_rx) = chan::bounded::<bool>(0);
            let stop = stop_rx.clone();
            workers.push(
                Builder::new()
                    .name("worker")
                    .spawn(move || send_or_stop(&done_tx, either(), &stop)),
            );
            let stopped = knot::select! {
                recv(stop_rx) -> _ => true,
                recv(done_rx) -> _ => false,
            };
            if stopped {
                break;
            }
        }
        for worker in workers {
            worker.join().expect("a worker does not panic");
        }
    });
    let stopper = Builder::new()
        .name("stopper")
        .spawn(move || stop_tx.close());
    client.join().expect("the client does not panic");
    stopper.join().expect("the stopper does not panic");
}

/// Delivers the call's result, or gives up once the loop is stopped.
fn send_or_stop(done: &Sender<bool>, result: bool, stop: &Receiver<()>) {
    knot::select! {
        send(done, result) -> _ => {}
        recv(stop) -> _ => {}
    }
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "grpc-660",
    subtype: "communication deadlock: channel",
    expected: ReportKind::Leak,
    buggy,
    fixed,
};
