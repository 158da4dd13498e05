//! grpc-1460: a client's keepalive task goes dormant when the client has no
//! active stream by taking the token out of the capacity-1 `awaken` channel
//! while holding the client Mutex, and a stream user that opens the first
//! stream wakes it with a non-blocking put. After one dormant cycle the
//! wake-up token has been consumed, so in its second cycle keepalive blocks
//! on the empty channel with the lock held, and the user's next open blocks
//! on that lock. The fix has the opener follow a successful wake-up with a
//! blocking put, so `awaken` is full whenever keepalive is awake.

use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::Mutex;
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it.
pub const ENTRY: Entry = Entry {
    id: "grpc-1460",
    subtype: "mixed deadlock: channel and lock",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};

/// Keepalive's check cycles (Go: until the transport closes).
const CYCLES: usize = 2;

/// The client transport.
struct Client {
    /// The number of active streams.
    active: Mutex<usize>,
    /// Holds a token while keepalive is awake; a put wakes a dormant
    /// keepalive.
    awaken: (Sender<()>, Receiver<()>),
    /// Whether an opener refills `awaken` after waking keepalive (the fix).
    refill: bool,
}

impl Client {
    fn new(refill: bool) -> Client {
        let awaken = chan::bounded(1);
        awaken.0.send(()).expect("awaken is open and empty");
        Client {
            active: Mutex::new(0),
            awaken,
            refill,
        }
    }

    /// Keepalive: with no active stream go dormant until an opener wakes
    /// it; otherwise it would send a ping.
    fn keepalive(&self) {
        for _ in 0..CYCLES {
            let active = self.active.lock();
            if *active == 0 {
                // Going dormant: take the token, with the lock held.
                self.awaken.1.recv().expect("awaken is never closed");
                drop(active);
                // Dormant: wait for an opener's wake-up token.
                self.awaken.1.recv().expect("awaken is never closed");
            } else {
                drop(active);
            }
        }
    }

    /// Opens a stream; the first active stream wakes keepalive.
    fn open(&self) {
        let mut active = self.active.lock();
        *active += 1;
        if *active == 1 {
            knot::select! {
                send(self.awaken.0, ()) -> woken => {
                    woken.expect("awaken is never closed");
                    if self.refill {
                        // Keep awaken full while keepalive is awake: this
                        // completes once keepalive has taken the first token.
                        self.awaken.0.send(()).expect("awaken is never closed");
                    }
                },
                default => {},
            }
        }
        drop(active);
    }

    /// Closes a stream.
    fn close(&self) {
        *self.active.lock() -= 1;
    }
}

/// The program with the bug: a woken keepalive leaves `awaken` empty.
pub fn buggy() {
    run(false);
}

/// The program with the fix: the opener refills `awaken` after a wake-up.
pub fn fixed() {
    run(true);
}

fn run(refill: bool) {
    let client = Arc::new(Client::new(refill));
    let keepalive = {
        let client = Arc::clone(&client);
        knot::task::Builder::new()
            .name("keepalive")
            .spawn(move || client.keepalive())
    };
    let user = {
        let client = Arc::clone(&client);
        knot::task::Builder::new()
            .name("stream user")
            .spawn(move || {
                client.open();
                client.close();
                client.open();
            })
    };
    keepalive.join().expect("keepalive does not panic");
    user.join().expect("the stream user does not panic");
}
