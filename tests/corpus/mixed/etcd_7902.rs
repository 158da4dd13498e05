//! etcd-7902: three round clients (client 0 leads) share a Mutex over the
//! current round channel, which is only ever closed, and a `validated`
//! token channel; in every round each client validates under the lock,
//! the leader collects the three tokens, and then each client takes the
//! lock again, the leader swaps in a new round, and every client waits for
//! its round to be closed while still holding the lock. A follower that
//! gets the lock first waits there on a round channel that only the leader
//! can close, and the leader (and the other follower) block on the lock.
//! The fix releases the lock before waiting: the leader still swaps the
//! round channel under the lock, but nobody waits while holding it.

use std::sync::Arc;

use knot::chan::{self, Receiver, Sender};
use knot::sync::{Mutex, WaitGroup};
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it.
pub const ENTRY: Entry = Entry {
    id: "etcd-7902",
    subtype: "mixed deadlock: channel and lock",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};

/// The clients; client 0 leads.
const CLIENTS: usize = 3;

/// The rounds each client runs (upstream: 100).
const ROUNDS: usize = 2;

/// A round: a channel that carries nothing and is closed to release every
/// client of the round at once.
struct Round {
    release: Sender<()>,
    released: Receiver<()>,
}

impl Round {
    fn new() -> Round {
        let (release, released) = chan::bounded(0);
        Round { release, released }
    }
}

/// What the clients share.
struct Barrier {
    /// The current round, behind the lock.
    current: Mutex<Round>,
    /// One token per validated client; never full, since the leader takes
    /// every round's tokens before the next round starts.
    validated: (Sender<()>, Receiver<()>),
}

/// The program with the bug: each client waits for its round to be
/// released while holding the lock the leader needs to release it.
pub fn buggy() {
    run(true);
}

/// The program with the fix: each client releases the lock before it
/// waits for its round.
pub fn fixed() {
    run(false);
}

fn run(wait_under_lock: bool) {
    let barrier = Arc::new(Barrier {
        current: Mutex::new(Round::new()),
        validated: chan::bounded(CLIENTS),
    });
    let wg = WaitGroup::new();
    wg.add(CLIENTS as i64);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (barrier, wg) = (Arc::clone(&barrier), wg.clone());
            let role = if id == 0 { "leader" } else { "follower" };
            knot::task::Builder::new()
                .name(format!("client {id} ({role})"))
                .spawn(move || {
                    client(id, &barrier, wait_under_lock);
                    wg.done();
                })
        })
        .collect();
    wg.wait();
    for client in clients {
        client.join().expect("a client does not panic");
    }
}

fn client(id: usize, barrier: &Barrier, wait_under_lock: bool) {
    let leader = id == 0;
    for _ in 0..ROUNDS {
        // Validate: remember this round and say so.
        let my_round = {
            let round = barrier.current.lock();
            barrier
                .validated
                .0
                .send(())
                .expect("validated is never closed");
            round.released.clone()
        };
        // The leader waits until every client has validated this round.
        if leader {
            for _ in 0..CLIENTS {
                barrier
                    .validated
                    .1
                    .recv()
                    .expect("validated is never closed");
            }
        }
        // Release: the leader ends the round and starts the next one.
        let mut round = barrier.current.lock();
        if leader {
            round.release.close();
            *round = Round::new();
        }
        if wait_under_lock {
            // BUG: a follower can get here first and wait with the lock held.
            wait_released(&my_round);
            drop(round);
        } else {
            drop(round);
            wait_released(&my_round);
        }
    }
}

/// Waits until the round is closed; a round channel carries no value.
fn wait_released(round: &Receiver<()>) {
    round
        .recv()
        .expect_err("a round channel is only ever closed");
}
