//! Three stages joined by channels, and a consumer that stops early.
//!
//! A pipeline splits work into stages that run concurrently, each a task
//! that receives from the stage before it and sends to the stage after it:
//! here `generate` sends 1, 2, 3, ... without end, `square` squares what it
//! receives, and main, the last stage, adds the squares up until the total
//! reaches [`LIMIT`]. The channels are unbuffered, so each value is handed
//! from stage to stage, and no stage runs ahead of the one after it.
//!
//! # The bug
//!
//! [`buggy`] has main stop reading as soon as it has what it needs, and
//! return. Nothing tells the stages. `square` has squared the next value and
//! waits in `send` for main to take it, and `generate` waits in `send` for
//! `square`: forever, since nobody will ever receive again. Dropping a
//! receiver does not close a channel (as in Go, only a sender closes), so
//! neither send fails. In a server each such request leaves two tasks and
//! their stacks behind, and memory grows until the process is restarted.
//!
//! The checker reports a leak: after main returned, `square` and
//! `generate` are blocked forever, each on its `send`, and the report names
//! each task, the channel and the line of the send.
//!
//! # The fix
//!
//! [`fixed`] gives every stage a way out, the pattern the Go blog calls
//! explicit cancellation: a `done` channel that nobody sends on, which main
//! closes when it stops reading. Every send in a stage is a `select!` with a
//! second arm, `recv(done)`, which becomes ready when `done` closes, and the
//! stage then returns. A stage that returns drops its sender, which closes
//! its output. Main closes `done` and then joins both stages, so none of
//! them outlives it. (A [`Context`](knot::context::Context) with `cancel`
//! does the same job, and is what `fan_out` uses.)

use knot::chan::{self, Receiver, Sender};
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str =
    "generate -> square -> sum; the bug: the consumer stops early and the stages wait forever";

/// What the checker reports for [`buggy`]: the upstream stages are blocked
/// forever after main returned.
pub const EXPECTED: ReportKind = ReportKind::Leak;

/// Main reads squares until their sum reaches this: 1 + 4 + 9 + 16 + 25.
pub const LIMIT: u64 = 50;

/// The program with the bug: main stops reading and nobody tells the stages.
pub fn buggy() {
    let (numbers_tx, numbers_rx) = chan::bounded(0);
    let (squares_tx, squares_rx) = chan::bounded(0);
    // Fire and forget: each stage is expected to end by itself.
    knot::task::Builder::new().name("generate").go(move || {
        for n in 1.. {
            if numbers_tx.send(n).is_err() {
                return;
            }
        }
    });
    knot::task::Builder::new().name("square").go(move || {
        for n in &numbers_rx {
            if squares_tx.send(n * n).is_err() {
                return;
            }
        }
    });

    let total = sum_until(&squares_rx, LIMIT);
    assert_eq!(total, 55);
    // BUG: main returns, and `square` and `generate` wait in `send` forever.
}

/// The same program, fixed: closing `done` cancels every stage, and main
/// joins them.
pub fn fixed() {
    let (done_tx, done_rx) = chan::bounded::<()>(0);
    let (numbers_tx, numbers_rx) = chan::bounded(0);
    let (squares_tx, squares_rx) = chan::bounded(0);
    let done = done_rx.clone();
    let generate = stage("generate", move || {
        for n in 1.. {
            if !send_or_done(&numbers_tx, n, &done) {
                return;
            }
        }
    });
    let done = done_rx;
    let square = stage("square", move || {
        for n in &numbers_rx {
            if !send_or_done(&squares_tx, n * n, &done) {
                return;
            }
        }
    });

    let total = sum_until(&squares_rx, LIMIT);
    // Cancels both stages: each `recv(done)` arm is now ready.
    done_tx.close();
    generate.join().expect("generate does not panic");
    square.join().expect("square does not panic");
    assert_eq!(total, 55);
}

/// Sends `value` on `out` unless `done` closes first; says whether the value
/// was sent.
fn send_or_done<T>(out: &Sender<T>, value: T, done: &Receiver<()>) -> bool {
    knot::select! {
        send(out, value) -> sent => sent.is_ok(),
        recv(done) -> _ => false,
    }
}

/// The last stage: adds up squares until the total reaches `limit`.
fn sum_until(squares: &Receiver<u64>, limit: u64) -> u64 {
    let mut total = 0;
    for square in squares {
        total += square;
        if total >= limit {
            break;
        }
    }
    total
}

/// Starts a named stage.
#[track_caller]
fn stage(name: &str, f: impl FnOnce() + Send + 'static) -> knot::JoinHandle<()> {
    knot::task::Builder::new().name(name).spawn(f)
}
