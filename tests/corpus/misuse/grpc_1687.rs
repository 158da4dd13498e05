//! grpc-1687: a handler writes a status through the server transport, which
//! hands each write job to main's stream loop on a `writes` channel unless
//! the transport's `closed` signal has fired, and then closes `writes`;
//! its next write still finds the transport open and sends on the `writes`
//! channel it has itself closed, which panics in Go. The fix makes
//! write-status close the transport (once, under a status Mutex) before it
//! closes `writes`, so the later write sees the transport closed and gives
//! up.

use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::Mutex;
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it, reported as a panic rather than misuse:
/// knot does not report a send on a closed channel, it returns it as an
/// error value (`Err(SendError)`). The handler unwraps that error, as Go
/// panics, and main's join passes the handler's panic on.
pub const ENTRY: Entry = Entry {
    id: "grpc-1687",
    subtype: "non-blocking: channel misuse",
    expected: ReportKind::Panic,
    buggy,
    fixed,
};

/// A write job for the stream loop.
type Job = fn();

/// The server transport.
struct Transport {
    /// Closed when the transport closes.
    closed: (Sender<()>, Receiver<()>),
    /// Write jobs for the stream loop (rendezvous).
    writes: (Sender<Job>, Receiver<Job>),
    /// Serialises status writes; true once the transport is closed.
    status: Mutex<bool>,
}

impl Transport {
    fn new() -> Transport {
        Transport {
            closed: chan::bounded(0),
            writes: chan::bounded(0),
            status: Mutex::new(false),
        }
    }

    /// Hands `job` to the stream loop unless the transport is closed.
    fn submit(&self, job: Job) {
        knot::select! {
            recv(self.closed.1) -> _ => return,
            default => {},
        }
        knot::select! {
            // Go panics on a send on a closed channel; knot returns an error.
            send(self.writes.0, job) -> sent => sent.expect("send on closed channel"),
            recv(self.closed.1) -> _ => {},
        }
    }

    /// The buggy write-status: the job, then close `writes`, with the
    /// transport left open.
    fn write_status_buggy(&self) {
        self.submit(no_op);
        self.writes.0.close();
    }

    /// The fixed write-status: one at a time, the job, then close the
    /// transport (once), and only then `writes`.
    fn write_status_fixed(&self) {
        let mut closed = self.status.lock();
        self.submit(no_op);
        if !*closed {
            *closed = true;
            self.closed.0.close();
            self.writes.0.close();
        }
        drop(closed);
    }

    /// Writes data.
    fn write(&self) {
        self.submit(no_op);
    }

    /// The stream loop: runs write jobs until `writes` is closed or the
    /// transport closes.
    fn stream_loop(&self) {
        loop {
            knot::select! {
                recv(self.writes.1) -> job => match job {
                    Ok(job) => job(),
                    Err(_) => return,
                },
                recv(self.closed.1) -> _ => return,
            }
        }
    }
}

fn no_op() {}

/// The program with the bug: the handler's write after its status sends on
/// the closed `writes` channel.
pub fn buggy() {
    run(Transport::write_status_buggy);
}

/// The program with the fix: write-status closes the transport first.
pub fn fixed() {
    run(Transport::write_status_fixed);
}

fn run(write_status: fn(&Transport)) {
    let transport = Arc::new(Transport::new());
    let handler = {
        let transport = Arc::clone(&transport);
        knot::task::Builder::new().name("handler").spawn(move || {
            write_status(&transport);
            transport.write();
        })
    };
    transport.stream_loop();
    // A panic in Go's handler ends the program: pass it on.
    if let Err(panicked) = handler.join() {
        std::panic::resume_unwind(panicked.into_panic());
    }
}
