//! A worker waits for jobs on a channel that nobody will ever close.
//!
//! A mailer task sends the emails that main queues on an `outbox` channel,
//! with `for email in &outbox`, and confirms each one on a `sent` channel.
//! One address bounces the first time, so the mailer keeps a sender of the
//! outbox, `retry`, to queue a bounced email again. Main queues three
//! emails, waits for three confirmations, and returns.
//!
//! # The bug
//!
//! A loop over a channel ends only when the channel is closed, and a
//! channel closes when its *last* sender is dropped. [`buggy`] relies on
//! that: main's sender is dropped when main returns, and the mailer's loop
//! should end. But the mailer holds a sender too, its own `retry`, so the
//! last sender is never dropped: the mailer waits in `recv` for an email
//! that can only come from itself. It is the most common goroutine leak
//! there is (a receive on a channel nobody closes), in its Rust form, where
//! a forgotten clone keeps the channel open. In a server that starts a
//! mailer per batch, every batch leaves one behind.
//!
//! The checker reports a leak: after main returned, the task `mailer` is
//! blocked forever in `recv` on the outbox, and the report gives the line
//! that created the channel and the line of the loop.
//!
//! # The fix
//!
//! [`fixed`] closes the outbox when there is nothing more to send: once
//! every email is confirmed, main calls [`close`](knot::chan::Sender::close),
//! which closes the channel whatever senders are still alive, as Go's
//! `close` does. The mailer drains what is left, its loop ends, and it
//! returns. Main joins it, so it cannot outlive main, and the code says who
//! ends the mailer and when.

use std::time::Duration;

use knot::chan::{self, Receiver, Sender};
use knot::runtime::TaskInfo;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str =
    "a worker loops over a channel that never closes, since the worker itself holds a sender";

/// What the checker reports for [`buggy`]: the mailer is blocked forever
/// after main returned.
pub const EXPECTED: ReportKind = ReportKind::Leak;

/// The emails main queues; the second address bounces the first time.
const EMAILS: [&str; 3] = ["ana@example.com", "bo@example.org", "cy@example.net"];

/// The program with the bug: main counts on its dropped sender to close the
/// outbox.
pub fn buggy() {
    let (outbox, outbox_rx) = chan::unbounded();
    let (sent_tx, sent) = chan::unbounded();
    let retry = outbox.clone();
    // BUG: the mailer's `retry` keeps the outbox open, so its loop never
    // ends; and nobody waits for it.
    knot::task::Builder::new()
        .name("mailer")
        .go(move || mailer(&outbox_rx, &retry, &sent_tx));

    queue_and_confirm(&outbox, &sent);
    // Main returns: its sender is dropped, and the mailer's is not.
}

/// The same program, fixed: main closes the outbox and joins the mailer.
pub fn fixed() {
    let (outbox, outbox_rx) = chan::unbounded();
    let (sent_tx, sent) = chan::unbounded();
    let retry = outbox.clone();
    let mailer = knot::task::Builder::new()
        .name("mailer")
        .spawn(move || mailer(&outbox_rx, &retry, &sent_tx));

    queue_and_confirm(&outbox, &sent);
    // Nothing more to send: close the outbox for every sender, and wait for
    // the mailer to see that.
    outbox.close();
    mailer.join().expect("the mailer does not panic");
}

/// How long the live leak check gives tasks to finish before it lists them.
pub const LEAK_GRACE: Duration = Duration::from_millis(100);

/// Runs [`fixed`] and then [`buggy`] live, outside the checker, and returns
/// the tasks the live registry still sees alive after each, as Go's goleak
/// would: none after the fix, and the mailer, blocked in `recv` on the
/// outbox, after the bug.
///
/// The leaked mailer stays blocked until the process ends.
pub fn run_live() -> (Vec<TaskInfo>, Vec<TaskInfo>) {
    fixed();
    let after_fix = knot::runtime::wait_for_leaks(LEAK_GRACE);
    buggy();
    let after_bug = knot::runtime::wait_for_leaks(LEAK_GRACE);
    (after_fix, after_bug)
}

/// Queues every email, then waits until each one is confirmed sent.
fn queue_and_confirm(outbox: &Sender<String>, sent: &Receiver<String>) {
    for email in EMAILS {
        outbox.send(email.to_string()).expect("the outbox is open");
    }
    let mut confirmed = Vec::new();
    while confirmed.len() < EMAILS.len() {
        confirmed.push(sent.recv().expect("the mailer confirms every email"));
    }
    confirmed.sort();
    assert_eq!(confirmed, EMAILS);
}

/// Sends each email in `outbox`, queues a bounced one again on `retry`, and
/// confirms each sent one on `sent`. Returns when `outbox` is closed.
fn mailer(outbox: &Receiver<String>, retry: &Sender<String>, sent: &Sender<String>) {
    let mut bounced = false;
    for email in outbox {
        if email.starts_with("bo@") && !bounced {
            // Try again later: back in the queue.
            bounced = true;
            retry
                .send(email)
                .expect("the outbox is open while mail is due");
            continue;
        }
        sent.send(email).expect("main waits for every confirmation");
    }
}
