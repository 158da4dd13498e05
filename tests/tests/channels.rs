//! Conformance of channels: every property is one program that asserts what
//! it expects, run twice, live (tasks on real threads) and under the checker
//! (every explored interleaving must pass without a report).
//!
//! The properties: values arrive in the order they were sent; a rendezvous
//! send completes only when a receiver takes the value; closing lets
//! receivers drain what is buffered and then fails; many senders and many
//! receivers deliver every value exactly once; iteration stops at close;
//! `try_send`, `try_recv` and `recv_timeout` report why they did not
//! complete; an unbounded channel never makes a sender wait.

use std::sync::Arc;
use std::time::Duration;

use knot::chan::{self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use knot::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use knot::{Checker, Outcome};
use knot_tests::both;
use knot_tests::support::{self, live, named, pause, PATIENCE};

const SEED: u64 = 0x5eed_c4a7;
const ITERATIONS: u64 = 300;

/// Explores `program` under the checker with a fixed seed and budget and
/// asserts that no execution fails.
fn checked<F: Fn() + 'static>(program: F) {
    let outcome: Outcome = Checker::new()
        .seed(SEED)
        .iterations(ITERATIONS)
        .run(program);
    support::expect_clean(&outcome, ITERATIONS);
}

// ---------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------

/// One producer: the receiver sees its values in the order they were sent,
/// whatever the capacity, and a bounded buffer never holds more than its
/// capacity.
fn buffered_fifo() {
    for capacity in [1, 3] {
        let (tx, rx) = chan::bounded::<u32>(capacity);
        assert_eq!(tx.capacity(), Some(capacity));
        let producer = named("producer", move || {
            for i in 0..6 {
                tx.send(i).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Ok(v) = rx.recv() {
            assert!(rx.len() <= capacity, "{} buffered", rx.len());
            got.push(v);
        }
        assert_eq!(got, [0, 1, 2, 3, 4, 5], "capacity {capacity}");
        producer.join().unwrap();
    }
    let (tx, rx) = chan::unbounded::<u32>();
    assert_eq!(tx.capacity(), None);
    let producer = named("producer", move || {
        for i in 0..6 {
            tx.send(i).unwrap();
        }
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    producer.join().unwrap();
}
both!(buffered_fifo);

/// Two producers on one channel: the values of each arrive in its own
/// order, however the two interleave.
fn fifo_per_sender() {
    let (tx, rx) = chan::bounded::<(u8, u32)>(2);
    let producers: Vec<_> = [0_u8, 1]
        .into_iter()
        .map(|who| {
            let tx = tx.clone();
            named(&format!("producer-{who}"), move || {
                for i in 0..4 {
                    tx.send((who, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0_u32; 2];
    for (who, i) in &rx {
        assert_eq!(i, next[usize::from(who)], "producer {who} out of order");
        next[usize::from(who)] += 1;
    }
    assert_eq!(next, [4, 4]);
    for p in producers {
        p.join().unwrap();
    }
}
both!(fifo_per_sender);

// ---------------------------------------------------------------------------
// Rendezvous
// ---------------------------------------------------------------------------

/// On a channel of capacity zero a send completes only when a receiver
/// takes the value: the sender raises a flag right after its send returns,
/// and the flag is never up before main receives, however long main waits.
/// The other way round, a receive returns only after the sender has started
/// sending.
fn rendezvous() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let sent = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&sent);
    let sender = named("sender", move || {
        tx.send(7).unwrap();
        s.store(true, Ordering::SeqCst);
    });
    for _ in 0..3 {
        pause();
        assert!(
            !sent.load(Ordering::SeqCst),
            "a rendezvous send completed before anyone received"
        );
        assert_eq!(rx.len(), 0, "a rendezvous channel buffers nothing");
    }
    assert_eq!(rx.recv(), Ok(7));
    sender.join().unwrap();
    assert!(sent.load(Ordering::SeqCst));

    let (tx, rx) = chan::bounded::<u32>(0);
    let sending = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&sending);
    let receiver = named("receiver", move || {
        let v = rx.recv();
        assert!(
            s.load(Ordering::SeqCst),
            "a receive returned before the sender sent"
        );
        v
    });
    for _ in 0..3 {
        pause();
    }
    sending.store(true, Ordering::SeqCst);
    tx.send(8).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(8));
}
both!(rendezvous);

// ---------------------------------------------------------------------------
// Close
// ---------------------------------------------------------------------------

/// Values buffered before a close are still delivered, in order; then every
/// receive fails at once, and a send gives its value back.
fn close_and_drain() {
    let (tx, rx) = chan::bounded::<u32>(4);
    let producer = named("producer", move || {
        for i in 1..=3 {
            tx.send(i).unwrap();
        }
        tx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(4), Err(SendError(4)));
        assert_eq!(tx.send(5).unwrap_err().into_inner(), 5);
    });
    // The receiver drains concurrently with the close.
    let mut got = Vec::new();
    while let Ok(v) = rx.recv() {
        got.push(v);
    }
    assert_eq!(got, [1, 2, 3]);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Err(RecvError), "closed and drained stays so");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    producer.join().unwrap();

    // Closed with values buffered: they come out first.
    let (tx, rx) = chan::bounded::<u32>(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
}
both!(close_and_drain);

/// Closing wakes every task waiting to receive, and a sender waiting for
/// room gets its value back, while what was buffered is still delivered.
fn close_wakes_waiters() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let receivers: Vec<_> = (0..3)
        .map(|i| {
            let rx = rx.clone();
            named(&format!("receiver-{i}"), move || rx.recv())
        })
        .collect();
    pause();
    tx.close();
    for r in receivers {
        assert_eq!(r.join().unwrap(), Err(RecvError));
    }

    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(1).unwrap();
    let closer = tx.clone();
    // The buffer is full and nobody receives: this send waits until the
    // close hands the value back.
    let sender = named("blocked-sender", move || tx.send(2));
    pause();
    closer.close();
    assert_eq!(sender.join().unwrap(), Err(SendError(2)));
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.recv(), Err(RecvError));
}
both!(close_wakes_waiters);

/// A sender whose value was taken has sent it, even when the channel
/// closes before the sender runs again; one whose value is still waiting
/// when the channel closes gets it back. Either way no value is lost or
/// delivered twice.
fn taken_then_closed() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let closer = tx.clone();
    let sender = named("sender", move || tx.send(7));
    assert_eq!(rx.recv(), Ok(7));
    closer.close();
    assert_eq!(sender.join().unwrap(), Ok(()));
    assert_eq!(rx.recv(), Err(RecvError));

    // A receive frees a slot, which the waiting sender's value fills.
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(1).unwrap();
    let closer = tx.clone();
    let sender = named("sender", move || tx.send(2));
    let first = rx.recv();
    closer.close();
    let sent = sender.join().unwrap();
    assert_eq!(first, Ok(1));
    match sent {
        Ok(()) => assert_eq!(rx.recv(), Ok(2)),
        Err(SendError(value)) => assert_eq!(value, 2),
    }
    assert_eq!(rx.recv(), Err(RecvError));
}
both!(taken_then_closed);

/// Dropping every receiver does not close the channel.
fn dropping_receivers_does_not_close() {
    let (tx, rx) = chan::bounded::<u32>(1);
    let rx2 = rx.clone();
    drop(rx);
    drop(rx2);
    assert!(!tx.is_closed());
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
}
both!(dropping_receivers_does_not_close);

// ---------------------------------------------------------------------------
// Many senders, many receivers
// ---------------------------------------------------------------------------

/// `senders` tasks each send `per_sender` distinct values and `receivers`
/// tasks receive until the channel closes: every value arrives exactly once.
fn many_to_many(capacity: usize, senders: u32, receivers: u32, per_sender: u32) {
    let (tx, rx) = chan::bounded::<u32>(capacity);
    let received = Arc::new(AtomicUsize::new(0));
    let sending: Vec<_> = (0..senders)
        .map(|s| {
            let tx = tx.clone();
            named(&format!("sender-{s}"), move || {
                for i in 0..per_sender {
                    tx.send(s * per_sender + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let receiving: Vec<_> = (0..receivers)
        .map(|r| {
            let rx = rx.clone();
            let received = Arc::clone(&received);
            named(&format!("receiver-{r}"), move || {
                let mut got = Vec::new();
                for v in &rx {
                    received.fetch_add(1, Ordering::SeqCst);
                    got.push(v);
                }
                got
            })
        })
        .collect();
    drop(rx);
    for s in sending {
        s.join().unwrap();
    }
    let mut all: Vec<u32> = receiving
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    all.sort_unstable();
    let expected: Vec<u32> = (0..senders * per_sender).collect();
    assert_eq!(all, expected, "every value exactly once");
    assert_eq!(
        received.load(Ordering::SeqCst),
        expected.len(),
        "the receivers' own count"
    );
}

#[test]
fn many_senders_many_receivers_live() {
    for capacity in [0, 1, 16] {
        live(move || many_to_many(capacity, 4, 4, 500));
    }
}

#[test]
fn many_senders_many_receivers_checked() {
    for capacity in [0, 1] {
        checked(move || many_to_many(capacity, 3, 3, 3));
    }
}

#[test]
fn many_senders_many_receivers_unbounded() {
    live(|| many_to_many(usize::MAX, 4, 4, 500));
    checked(|| many_to_many(usize::MAX, 3, 2, 3));
}

// ---------------------------------------------------------------------------
// Iteration
// ---------------------------------------------------------------------------

/// `rx.iter()` and `for v in &rx` end when the channel closes, whether it is
/// closed explicitly (while a sender is still alive) or by dropping the last
/// sender; `try_iter` takes only what is buffered.
fn iteration_stops_at_close() {
    let (tx, rx) = chan::bounded::<u32>(1);
    let producer = named("closer", move || {
        for i in 0..4 {
            tx.send(i).unwrap();
        }
        tx.close();
        // The sender outlives the iteration below: only close ends it.
        tx
    });
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    let tx = producer.join().unwrap();
    assert!(tx.is_closed());
    assert_eq!(rx.iter().next(), None, "a closed iterator stays empty");

    let (tx, rx) = chan::bounded::<u32>(0);
    let producer = named("dropper", move || {
        for i in 0..4 {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0;
    let mut count = 0;
    for v in &rx {
        sum += v;
        count += 1;
    }
    assert_eq!((count, sum), (4, 6));
    producer.join().unwrap();

    let (tx, rx) = chan::unbounded::<u32>();
    assert_eq!(rx.try_iter().count(), 0, "try_iter never waits");
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(rx.try_iter().count(), 0);
    drop(tx);
}
both!(iteration_stops_at_close);

// ---------------------------------------------------------------------------
// try_send, try_recv
// ---------------------------------------------------------------------------

/// `try_send` says Full or Closed and gives the value back; `try_recv` says
/// Empty or Closed.
fn try_operations() {
    let (tx, rx) = chan::bounded::<u32>(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_send(1), Ok(()));
    let full = tx.try_send(2).unwrap_err();
    assert!(full.is_full() && !full.is_closed());
    assert_eq!(full, TrySendError::Full(2));
    assert_eq!(full.into_inner(), 2);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.try_send(3), Ok(()));
    tx.close();
    let closed = tx.try_send(4).unwrap_err();
    assert!(closed.is_closed() && !closed.is_full());
    assert_eq!(closed, TrySendError::Closed(4));
    // Closed, but a value is still buffered: it comes first.
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    // A rendezvous channel: nothing is ever buffered, so a try succeeds only
    // against a peer that waits.
    let (tx, rx) = chan::bounded::<u32>(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let receiver = named("waiting-receiver", move || rx.recv());
    let mut value = 5;
    loop {
        match tx.try_send(value) {
            Ok(()) => break,
            Err(TrySendError::Full(v)) => {
                value = v;
                pause();
            }
            Err(TrySendError::Closed(_)) => panic!("nobody closed the channel"),
        }
    }
    assert_eq!(receiver.join().unwrap(), Ok(5));

    let (tx, rx) = chan::bounded::<u32>(0);
    let sender = named("waiting-sender", move || tx.send(6));
    let got = loop {
        match rx.try_recv() {
            Ok(v) => break v,
            Err(TryRecvError::Empty) => pause(),
            Err(TryRecvError::Closed) => panic!("closed before the value was taken"),
        }
    };
    assert_eq!(got, 6);
    assert_eq!(sender.join().unwrap(), Ok(()));
    // The sender is gone: the channel is closed.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}
both!(try_operations);

// ---------------------------------------------------------------------------
// recv_timeout
// ---------------------------------------------------------------------------

/// On a channel nobody sends to, `recv_timeout` gives up after the timeout
/// (of virtual time under the checker).
fn recv_timeout_on_a_silent_channel() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let start = knot::time::Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    drop(tx);
}
both!(recv_timeout_on_a_silent_channel);

/// On a closed and drained channel `recv_timeout` fails at once with
/// `Closed`, however long the timeout.
fn recv_timeout_on_a_closed_channel() {
    let (tx, rx) = chan::bounded::<u32>(0);
    tx.close();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(3600)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn recv_timeout_on_a_closed_channel_live() {
    live(recv_timeout_on_a_closed_channel);
}

/// Under the checker the one-hour timer armed by `recv_timeout` may fire at
/// the scheduling point of the call itself; the closed channel and the
/// timer are then both ready and the choice between them is explored, so
/// `Timeout` comes back for a channel that was closed before the call.
#[test]
fn recv_timeout_on_a_closed_channel_checked() {
    checked(recv_timeout_on_a_closed_channel);
}

/// A value sent while `recv_timeout` waits is received. Under the checker
/// the timeout may also win (the sender may take longer than any timeout);
/// then the value is not lost: it is still there for the next receive.
fn recv_timeout_gets_a_value_that_arrives() {
    let (tx, rx) = chan::bounded::<u32>(1);
    let sender = named("late-sender", move || {
        knot::time::sleep(Duration::from_millis(5));
        tx.send(9).unwrap();
    });
    match rx.recv_timeout(Duration::from_secs(3600)) {
        Ok(v) => assert_eq!(v, 9),
        Err(RecvTimeoutError::Timeout) => assert_eq!(rx.recv(), Ok(9), "the value was lost"),
        Err(RecvTimeoutError::Closed) => panic!("closed before the value came"),
    }
    sender.join().unwrap();
    assert_eq!(rx.recv(), Err(RecvError));
}
both!(recv_timeout_gets_a_value_that_arrives);

/// Live, a value arriving well within the timeout is always received.
#[test]
fn recv_timeout_live_receives_before_the_timeout() {
    live(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let sender = named("late-sender", move || {
            knot::time::sleep(Duration::from_millis(5));
            tx.send(9)
        });
        assert_eq!(rx.recv_timeout(PATIENCE), Ok(9));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

/// A value that is already buffered when `recv_timeout` is called needs no
/// wait, so it is returned, whatever the timeout.
fn recv_timeout_returns_a_buffered_value() {
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(3).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(3600)), Ok(3));
}

#[test]
fn recv_timeout_returns_a_buffered_value_live() {
    live(recv_timeout_returns_a_buffered_value);
}

/// The same cause as for a closed channel: the timer armed by the call
/// fires at the call's own scheduling point, and the select inside
/// `recv_timeout` then chooses between the buffered value and the timeout.
#[test]
fn recv_timeout_returns_a_buffered_value_checked() {
    checked(recv_timeout_returns_a_buffered_value);
}

// ---------------------------------------------------------------------------
// Unbounded
// ---------------------------------------------------------------------------

/// A sender on an unbounded channel never waits: a task sends everything
/// and finishes before anyone receives.
fn unbounded_never_blocks(count: u32) {
    let (tx, rx) = chan::unbounded::<u32>();
    let sender = named("flood", move || {
        for i in 0..count {
            tx.send(i).unwrap();
        }
        tx
    });
    // Joined before a single receive: had a send waited, this would hang
    // (live) or deadlock (checker).
    let tx = sender.join().unwrap();
    assert_eq!(rx.len(), count as usize);
    for i in 0..count {
        assert_eq!(tx.try_send(count + i), Ok(()));
    }
    drop(tx);
    assert!(rx.iter().eq(0..2 * count), "all values, in order");
}

#[test]
fn unbounded_never_blocks_live() {
    live(|| unbounded_never_blocks(10_000));
}

#[test]
fn unbounded_never_blocks_checked() {
    checked(|| unbounded_never_blocks(20));
}
