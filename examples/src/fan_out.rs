//! A request fanned out to three services under a deadline, and the replies
//! that come too late.
//!
//! A search page asks three back ends at once, `web`, `images` and
//! `video`, and shows whatever has answered within [`DEADLINE`] (50 ms): a
//! page with two of three results now is better than a complete page late.
//! Main derives a [`Context`] with that timeout, starts one task per
//! service, and collects replies in a `select!` with two arms: a reply, or
//! `ctx.done()`, which becomes ready when the deadline passes. `web` takes
//! 10 ms, `images` 30 ms and `video` 300 ms, so `video` always misses the
//! deadline.
//!
//! Under the checker the services' latencies are virtual time: the check
//! runs in microseconds, and the checker also tries what a loaded machine
//! does, where main is slow to start reading, or where the deadline passes
//! before a fast service, already done, gets to send its reply.
//!
//! # The bug
//!
//! [`buggy`] puts the replies on an unbuffered channel, where a send waits
//! until somebody receives. Main stops receiving at the deadline, so every
//! service that answers after it, `video` always, waits in `send` forever.
//! Nothing fails, and the page looks right; but every search leaves tasks
//! behind, and a service that handles many requests a second runs out of
//! memory in hours. This is the goroutine leak of Rob Pike's "Go Concurrency
//! Patterns" talk, and the reason its fix uses a buffered channel.
//!
//! The checker reports a leak: after main returned, the services that
//! missed the deadline are blocked forever in `send` on the replies channel,
//! with the line that created the channel and the line of the send. That is
//! always `video`, and `web` or `images` too in the executions where the
//! deadline passes before they reply (as when main is slow to start them).
//!
//! # The fix
//!
//! [`fixed`] makes room for every reply (a buffer of three), so no service
//! ever waits to reply. A buffer alone is not enough for knot, though, and
//! should not be: `video` would still work for 300 ms and send a reply
//! after main returned, work nobody will see, which knot reports as an
//! unjoined task. So the services also watch the context: each one does its
//! work in a `select!` against `ctx.done()` and gives up when the request
//! is over. Main calls `cancel` once it has what it needs (always call it:
//! it releases the context's timer, and knot reports a `Cancel` dropped
//! uncalled as misuse, like Go's `lostcancel` check), and then joins the
//! services, which return at once. [`run_live`] runs that for real.
//!
//! Which replies make it onto the page is up to timing, live and under the
//! checker alike: a reply that is ready when the deadline passes is taken
//! or not, as `select!` picks among ready arms at random. The fixed program
//! is correct either way; it just never leaves a task behind.

use std::time::{Duration, Instant};

use knot::chan::{self, Receiver, Sender};
use knot::context::Context;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str =
    "a search fanned out to three services under a 50 ms deadline; the bug: a late reply waits forever";

/// What the checker reports for [`buggy`]: the late services are blocked in
/// `send` forever.
pub const EXPECTED: ReportKind = ReportKind::Leak;

/// How long the page waits for the services.
pub const DEADLINE: Duration = Duration::from_millis(50);

/// The services, and how long each takes to answer.
pub const SERVICES: [(&str, Duration); 3] = [
    ("web", Duration::from_millis(10)),
    ("images", Duration::from_millis(30)),
    ("video", Duration::from_millis(300)),
];

/// The program with the bug: an unbuffered replies channel.
pub fn buggy() {
    let (ctx, cancel) = Context::background().with_timeout(DEADLINE);
    // BUG: a reply waits until main receives it, and main stops receiving
    // at the deadline.
    let (replies_tx, replies_rx) = chan::bounded(0);
    for (service, latency) in SERVICES {
        let replies = replies_tx.clone();
        knot::task::Builder::new().name(service).go(move || {
            knot::time::sleep(latency);
            let _ = replies.send(answer(service));
        });
    }
    drop(replies_tx);

    let _page = collect(&ctx, &replies_rx);
    cancel.cancel();
}

/// The same program, fixed: room for every reply, services that stop when
/// the request is over, and main joins them.
pub fn fixed() {
    let _page = search();
}

/// Runs [`fixed`] live, with real time: the services really take 10, 30 and
/// 300 ms. Returns the page, normally the answers of `web` and `images`,
/// and how long it took: about [`DEADLINE`], since `video` gives up at the
/// deadline instead of finishing its 300 ms.
pub fn run_live() -> (Vec<String>, Duration) {
    let start = Instant::now();
    let page = search();
    (page, start.elapsed())
}

/// The fixed program: asks every service, returns the answers that came
/// within the deadline.
fn search() -> Vec<String> {
    let (ctx, cancel) = Context::background().with_timeout(DEADLINE);
    // A buffer with room for every reply: no service waits to send.
    let (replies_tx, replies_rx) = chan::bounded(SERVICES.len());
    let services: Vec<_> = SERVICES
        .into_iter()
        .map(|(service, latency)| {
            let (ctx, replies) = (ctx.clone(), replies_tx.clone());
            knot::task::Builder::new()
                .name(service)
                .spawn(move || serve(&ctx, service, latency, &replies))
        })
        .collect();
    drop(replies_tx);

    let page = collect(&ctx, &replies_rx);
    // The request is over: the services still working can stop.
    cancel.cancel();
    for service in services {
        service.join().expect("a service does not panic");
    }
    page
}

/// One service: works for `latency` and replies, or stops as soon as the
/// request is over.
fn serve(ctx: &Context, service: &str, latency: Duration, replies: &Sender<String>) {
    knot::select! {
        recv(knot::time::after(latency)) -> _ => {
            // Never waits: there is room for every reply.
            let _ = replies.send(answer(service));
        }
        // Nobody will read the answer any more: stop working on it.
        recv(ctx.done()) -> _ => {}
    }
}

/// Collects replies until every service has answered or the deadline
/// passes, whichever comes first.
fn collect(ctx: &Context, replies: &Receiver<String>) -> Vec<String> {
    let done = ctx.done();
    let mut page = Vec::new();
    while page.len() < SERVICES.len() {
        knot::select! {
            recv(replies) -> reply => match reply {
                Ok(answer) => page.push(answer),
                // Every service has returned.
                Err(_) => break,
            },
            recv(done) -> _ => break,
        }
    }
    page.sort();
    page
}

/// A service's answer.
fn answer(service: &str) -> String {
    format!("{service}: 10 results")
}
