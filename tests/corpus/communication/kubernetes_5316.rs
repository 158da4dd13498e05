//! kubernetes-5316 (Kubernetes): a requester starts a worker for a request
//! and waits for its success, its error or a 1 ms timeout, whichever comes
//! first. The request takes 2 ms, so the timeout wins, the requester
//! returns, and the worker's later send on the rendezvous success or error
//! channel has no receiver and blocks forever. The fix gives both channels
//! room for one value, so the worker's single send never waits.

use std::time::Duration;

use knot::chan::{self, Sender};
use knot::task::Builder;
use knot::{JoinHandle, ReportKind};

use super::either;

/// How long the requester waits for the request.
const TIMEOUT: Duration = Duration::from_millis(1);

/// How long the request takes.
const REQUEST: Duration = Duration::from_millis(2);

/// How long main stays after the requester returned: past the request.
const LINGER: Duration = Duration::from_millis(5);

/// Why a request failed.
#[derive(Debug)]
struct RequestError;

/// Runs the request on a worker and waits for its outcome or the timeout;
/// returns the worker's handle. `capacity` is the outcome channels'.
fn request(capacity: usize) -> JoinHandle<()> {
    let (success_tx, success_rx) = chan::bounded::<()>(capacity);
    let (error_tx, error_rx) = chan::bounded::<RequestError>(capacity);
    let worker = Builder::new()
        .name("worker")
        .spawn(move || run_request(&success_tx, &error_tx));
    knot::select! {
        recv(success_rx) -> _ => {}
        recv(error_rx) -> _ => {}
        recv(knot::time::after(TIMEOUT)) -> _ => {}
    }
    worker
}

/// The worker: runs the request, then reports its success or its error.
fn run_request(success: &Sender<()>, error: &Sender<RequestError>) {
    knot::time::sleep(REQUEST);
    if either() {
        let _ = error.send(RequestError);
    } else {
        let _ = success.send(());
    }
}

/// The program with the bug: rendezvous outcome channels, and a worker that
/// reports after the requester has given up.
pub fn buggy() {
    let requester = Builder::new().name("requester").spawn(|| {
        // BUG: after the timeout nobody receives the worker's outcome.
        // Not joined: as in Go, nothing waits for the worker.
        let _worker = request(0);
    });
    requester.join().expect("the requester does not panic");
    knot::time::sleep(LINGER);
}

/// The same program, fixed: the outcome channels hold one value each, so the
/// worker's send completes with nobody listening; main joins the worker.
pub fn fixed() {
    let requester = Builder::new().name("requester").spawn(|| request(1));
    let worker = requester.join().expect("the requester does not panic");
    knot::time::sleep(LINGER);
    worker.join().expect("the worker does not panic");
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "kubernetes-5316",
    subtype: "communication deadlock: channel",
    expected: ReportKind::Leak,
    buggy,
    fixed,
};
