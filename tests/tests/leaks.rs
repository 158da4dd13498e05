//! The detectors on channels, `select!` and contexts: each buggy program is
//! caught with the right kind of report, naming the task and the object it
//! is stuck on; its fixed twin passes with the same seed and budget.
//!
//! The bugs: a worker whose reply nobody takes after a timeout, a select
//! whose only way out is a context nobody cancels, a channel closed twice, a
//! context whose cancel handle is dropped (Go's lostcancel), two tasks each
//! waiting to hear from the other, a consumer of a channel that never
//! closes, and a producer whose receiver is gone.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32 as StdAtomicU32, Ordering as StdOrdering};
use std::time::Duration;

use knot::chan::{self, SendError};
use knot::context::{Context, ContextError};
use knot::report::{Report, TaskState};
use knot::{Checker, Outcome, ReportKind};
use knot_tests::support::{self, expect_report, involved, named, panic_text, task};

const SEED: u64 = 0x5eed_1eac;
const ITERATIONS: u64 = 500;

/// The checker every test of this file uses: a fixed seed, a bounded budget.
fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Asserts that an outcome found nothing in all of [`ITERATIONS`], showing
/// the report if it did.
fn expect_clean(outcome: &Outcome) {
    support::expect_clean(outcome, ITERATIONS);
}

/// Asserts that the task named `name` is blocked in `operation` on an
/// object of kind `kind` created in this file, called from this file, and
/// returns the object's id and the line it was created on.
fn assert_blocked(report: &Report, name: &str, operation: &str, kind: &str) -> (u64, u32) {
    let blocked = support::blocked_on(report, name, operation, kind);
    let created = blocked.object.created.as_ref().expect("a creation site");
    assert!(
        created.file.ends_with("leaks.rs"),
        "the object's creation site is in this file: {created}\n{report}"
    );
    let site = blocked.site.as_ref().expect("a call site");
    assert!(
        site.file.ends_with("leaks.rs"),
        "the blocking call is in this file: {site}\n{report}"
    );
    (blocked.object.id, created.line)
}

// ---------------------------------------------------------------------------
// (a) The reply nobody takes after a timeout
// ---------------------------------------------------------------------------

/// The line the reply channel is created on, recorded by the program.
static REPLY_LINE: StdAtomicU32 = StdAtomicU32::new(0);

/// Main waits 10 ms for a reply; the worker needs 5 ms and then sends it on
/// a channel of `capacity`. When the timeout wins nobody receives: on a
/// rendezvous channel the worker's send waits forever.
fn reply_or_timeout(capacity: usize) {
    REPLY_LINE.store(line!() + 1, StdOrdering::Relaxed);
    let (tx, rx) = chan::bounded::<u32>(capacity);
    let worker = named("worker", move || {
        knot::time::sleep(Duration::from_millis(5));
        // Nobody may be listening any more; the result does not matter.
        let _ = tx.send(42);
    });
    knot::select! {
        recv(rx) -> reply => assert_eq!(reply, Ok(42)),
        recv(knot::time::after(Duration::from_millis(10))) -> _ => {}
    }
    drop(worker);
}

#[test]
fn a_reply_nobody_takes_after_a_timeout_is_a_leak() {
    let report = expect_report(checker().run(|| reply_or_timeout(0)), ReportKind::Leak);
    assert_eq!(involved(&report), ["worker"], "{report}");
    assert!(report.message().contains("\"worker\""), "{report}");
    let (_, line) = assert_blocked(&report, "worker", "send", "Chan");
    assert_eq!(
        line,
        REPLY_LINE.load(StdOrdering::Relaxed),
        "the reply channel:\n{report}"
    );
    assert_eq!(task(&report, "main").state, TaskState::Finished, "{report}");
    // The timeout fired: the report's trace shows it.
    assert!(
        report.trace.iter().any(|e| e.operation == "timer fires"),
        "{report}"
    );
}

/// A reply slot of one: the worker's send never waits, whoever wins. But
/// when the timeout wins, the worker sends after main returned, into a
/// buffer nobody will read: that reply is work lost at exit, so knot reports
/// the worker as unjoined until main joins it (the next test).
#[test]
fn a_reply_slot_of_one_without_a_join_is_unjoined_work() {
    let outcome = checker().run(|| reply_or_timeout(1));
    let report = outcome.report.expect("the late reply is found");
    assert_eq!(report.kind(), ReportKind::Unjoined, "{report}");
    assert!(report.message().contains("\"worker\" (send at"), "{report}");
}

/// The same fix, with the worker joined before main returns.
#[test]
fn a_reply_slot_of_one_with_a_join_is_fine() {
    expect_clean(&checker().run(|| {
        let (tx, rx) = chan::bounded::<u32>(1);
        let worker = named("worker", move || {
            knot::time::sleep(Duration::from_millis(5));
            tx.send(42).expect("the slot is free");
        });
        knot::select! {
            recv(rx) -> reply => assert_eq!(reply, Ok(42)),
            recv(knot::time::after(Duration::from_millis(10))) -> _ => {}
        }
        worker.join().unwrap();
    }));
}

/// The other fix: the worker offers its reply in a select that also
/// watches a done channel, which main closes when it gives up.
fn reply_or_timeout_with_done() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let (done_tx, done_rx) = chan::bounded::<()>(0);
    let worker = named("worker", move || {
        knot::time::sleep(Duration::from_millis(5));
        knot::select! {
            send(tx, 42) -> r => r.expect("main does not close the reply channel"),
            recv(done_rx) -> _ => {}
        }
    });
    knot::select! {
        recv(rx) -> reply => assert_eq!(reply, Ok(42)),
        recv(knot::time::after(Duration::from_millis(10))) -> _ => done_tx.close(),
    }
    drop(worker);
}

#[test]
fn a_worker_that_also_watches_a_done_channel_is_fine() {
    expect_clean(&checker().run(reply_or_timeout_with_done));
}

// ---------------------------------------------------------------------------
// (b) A select whose only way out is a context nobody cancels
// ---------------------------------------------------------------------------

/// A generator produces numbers until its context is done; main takes two.
/// With the background context, which is never cancelled, the generator
/// waits in its select forever once main stops taking.
fn generator(cancel_it: bool) {
    let (ctx, cancel) = if cancel_it {
        let (ctx, cancel) = Context::background().with_cancel();
        (ctx, Some(cancel))
    } else {
        (Context::background(), None)
    };
    let (tx, rx) = chan::bounded::<u32>(0);
    let gen_ctx = ctx.clone();
    let generator = named("generator", move || {
        let mut next = 0;
        loop {
            knot::select! {
                recv(gen_ctx.done()) -> _ => return next,
                send(tx, next) -> r => {
                    r.expect("main never closes the channel");
                    next += 1;
                }
            }
        }
    });
    assert_eq!(rx.recv(), Ok(0));
    assert_eq!(rx.recv(), Ok(1));
    if let Some(cancel) = cancel {
        cancel.cancel();
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    }
    drop(generator);
}

#[test]
fn a_select_on_a_context_nobody_cancels_is_a_leak() {
    let report = expect_report(checker().run(|| generator(false)), ReportKind::Leak);
    assert_eq!(involved(&report), ["generator"], "{report}");
    assert!(report.message().contains("\"generator\""), "{report}");
    // The select is reported by its first arm: the context's done channel,
    // created with the context in this file.
    assert_blocked(&report, "generator", "select", "Chan");
}

#[test]
fn cancelling_the_generators_context_is_fine() {
    expect_clean(&checker().run(|| generator(true)));
}

// ---------------------------------------------------------------------------
// (c) Closing twice
// ---------------------------------------------------------------------------

/// A closer task closes the jobs channel; with `twice`, main closes it too.
fn shutdown(twice: bool) {
    let (tx, rx) = chan::bounded::<u32>(1);
    let closer_tx = tx.clone();
    let closer = named("closer", move || {
        // Refused if main closed first.
        let _ = closer_tx.send(1);
        closer_tx.close();
    });
    let consumer = named("consumer", move || rx.iter().count());
    if twice {
        tx.close();
    } else {
        drop(tx);
    }
    closer.join().unwrap();
    assert!(consumer.join().unwrap() <= 1);
}

#[test]
fn closing_a_channel_twice_is_misuse() {
    let report = expect_report(checker().run(|| shutdown(true)), ReportKind::Misuse);
    let message = report.message();
    assert!(message.contains("closed twice"), "{report}");
    assert!(message.contains("Chan#"), "{report}");
    assert!(
        message.contains("leaks.rs"),
        "the channel's creation site and the second close are named:\n{report}"
    );
    // Whoever closed second is the culprit.
    let culprits = involved(&report);
    assert!(
        culprits == ["closer"] || culprits == ["main"],
        "{culprits:?}:\n{report}"
    );
    assert!(
        message.contains(&format!("\"{}\"", culprits[0])),
        "{report}"
    );
}

#[test]
fn closing_once_is_fine() {
    expect_clean(&checker().run(|| shutdown(false)));
}

#[test]
fn closing_twice_panics_live() {
    let (tx, rx) = chan::bounded::<u32>(0);
    tx.close();
    let result = panic::catch_unwind(AssertUnwindSafe(|| tx.close()));
    let text = panic_text(&*result.expect_err("a second close panics"));
    assert!(text.contains("closed twice"), "{text}");
    assert!(text.contains("Chan#"), "{text}");
    assert!(text.contains("leaks.rs"), "{text}");
    // The channel is still closed and usable.
    assert!(rx.recv().is_err());
    assert_eq!(tx.send(1), Err(SendError(1)));
}

// ---------------------------------------------------------------------------
// (d) lostcancel
// ---------------------------------------------------------------------------

/// A helper derives a context for a request; with `lose`, it drops the
/// cancel handle and returns only the context.
fn request(lose: bool) {
    let (ctx, cancel) = Context::background().with_cancel();
    let worker_ctx = ctx.clone();
    let worker = named("worker", move || worker_ctx.err());
    assert_eq!(worker.join().unwrap(), None);
    if lose {
        drop(cancel);
    } else {
        cancel.cancel();
    }
    drop(ctx);
}

#[test]
fn dropping_a_cancel_handle_uncalled_is_misuse() {
    let report = expect_report(checker().run(|| request(true)), ReportKind::Misuse);
    let message = report.message();
    assert!(message.contains("lostcancel"), "{report}");
    assert!(message.contains("without being called"), "{report}");
    assert!(message.contains("Context#"), "{report}");
    assert!(
        message.contains("leaks.rs"),
        "where the context was made:\n{report}"
    );
    assert_eq!(involved(&report), ["main"], "{report}");
}

#[test]
fn calling_cancel_is_fine() {
    expect_clean(&checker().run(|| request(false)));
}

/// Dropping the handle after the context ended on its own is fine.
#[test]
fn dropping_the_handle_of_an_expired_context_is_fine() {
    expect_clean(&checker().run(|| {
        let (ctx, cancel) = Context::background().with_timeout(Duration::from_millis(1));
        assert!(ctx.done().recv().is_err());
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        drop(cancel);
    }));
}

#[test]
fn dropping_a_cancel_handle_cancels_live() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (child, cancel_child) = ctx.with_cancel();
    drop(cancel);
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert!(child.done().recv().is_err());
    cancel_child.cancel();
}

/// Misuse in a task's first steps, before any operation of its own, fails
/// the execution as it does anywhere else, and names that task.
#[test]
fn dropping_a_cancel_handle_first_thing_in_a_task_is_misuse() {
    let outcome = checker().run(|| {
        let (_ctx, cancel) = Context::background().with_cancel();
        let task = knot::spawn(move || drop(cancel));
        let _ = task.join();
    });
    let report = expect_report(outcome, ReportKind::Misuse);
    assert!(report.message().contains("lostcancel"), "{report}");
    assert!(
        involved(&report).iter().any(|name| *name != "main"),
        "{report}"
    );
}

/// On a live runtime's worker too the drop cancels, rather than failing
/// the task.
#[test]
fn dropping_a_cancel_handle_in_a_live_task_cancels() {
    let (ctx, cancel) = Context::background().with_cancel();
    let task = knot::spawn(move || drop(cancel));
    assert!(task.join().is_ok(), "the task failed at the drop");
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
}

// ---------------------------------------------------------------------------
// (e) A deadlock on channels
// ---------------------------------------------------------------------------

/// The lines the two channels are created on, recorded by the program.
static LEFT_TO_RIGHT_LINE: StdAtomicU32 = StdAtomicU32::new(0);
static RIGHT_TO_LEFT_LINE: StdAtomicU32 = StdAtomicU32::new(0);

/// "left" and "right" exchange a value; unless `left_first`, each waits to
/// hear from the other before it speaks.
fn exchange(left_first: bool) {
    LEFT_TO_RIGHT_LINE.store(line!() + 1, StdOrdering::Relaxed);
    let (to_right, from_left) = chan::bounded::<u32>(0);
    RIGHT_TO_LEFT_LINE.store(line!() + 1, StdOrdering::Relaxed);
    let (to_left, from_right) = chan::bounded::<u32>(0);
    let left = named("left", move || {
        if left_first {
            to_right.send(1).unwrap();
            from_right.recv().unwrap()
        } else {
            let v = from_right.recv().unwrap();
            to_right.send(v + 1).unwrap();
            v
        }
    });
    let right = named("right", move || {
        let v = from_left.recv().unwrap();
        to_left.send(v + 1).unwrap();
        v
    });
    assert_eq!(left.join().unwrap(), 2);
    assert_eq!(right.join().unwrap(), 1);
}

#[test]
fn two_tasks_waiting_on_each_other_is_a_deadlock() {
    let report = expect_report(checker().run(|| exchange(false)), ReportKind::Deadlock);
    assert_eq!(
        report.message(),
        "every task is blocked and main has not returned"
    );
    let (left_waits, left_line) = assert_blocked(&report, "left", "recv", "Chan");
    let (right_waits, right_line) = assert_blocked(&report, "right", "recv", "Chan");
    assert_ne!(left_waits, right_waits, "{report}");
    assert_eq!(left_line, RIGHT_TO_LEFT_LINE.load(StdOrdering::Relaxed));
    assert_eq!(right_line, LEFT_TO_RIGHT_LINE.load(StdOrdering::Relaxed));
    let culprits = involved(&report);
    assert!(
        culprits.contains(&"left") && culprits.contains(&"right"),
        "{culprits:?}:\n{report}"
    );
    // The wait-for graph has an edge from each to its channel.
    for (name, chan) in [("left", left_waits), ("right", right_waits)] {
        let id = task(&report, name).id;
        let edge = report
            .wait_for
            .iter()
            .find(|e| e.task == id)
            .unwrap_or_else(|| panic!("no edge from {name}:\n{report}"));
        assert_eq!(
            (edge.object.kind.as_str(), edge.object.id),
            ("Chan", chan),
            "{report}"
        );
    }
    let text = report.to_string();
    for needle in [
        "\"left\"",
        "\"right\"",
        &format!("Chan#{left_waits}"),
        &format!("Chan#{right_waits}"),
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
}

#[test]
fn one_side_speaking_first_is_fine() {
    expect_clean(&checker().run(|| exchange(true)));
}

// ---------------------------------------------------------------------------
// (f) A consumer of a channel that never closes
// ---------------------------------------------------------------------------

/// The consumer keeps a sender of its own queue to retry a job, so dropping
/// main's sender does not close the queue: only an explicit close does.
fn retrying_consumer(close: bool) {
    let (tx, rx) = chan::bounded::<u32>(4);
    let retry = tx.clone();
    let consumer = named("consumer", move || {
        let mut handled = Vec::new();
        for job in &rx {
            if job == 1 {
                // Retried once, as job 101; after the close it is dropped.
                let _ = retry.try_send(job + 100);
            }
            handled.push(job);
        }
        handled
    });
    for job in 0..3 {
        tx.send(job).unwrap();
    }
    if close {
        tx.close();
        let mut handled = consumer.join().unwrap();
        handled.sort_unstable();
        // Job 101 is there if the retry came before the close.
        assert!(
            handled == [0, 1, 2] || handled == [0, 1, 2, 101],
            "{handled:?}"
        );
    } else {
        drop(tx);
        drop(consumer);
    }
}

#[test]
fn a_consumer_of_a_channel_that_never_closes_is_a_leak() {
    let report = expect_report(checker().run(|| retrying_consumer(false)), ReportKind::Leak);
    assert_eq!(involved(&report), ["consumer"], "{report}");
    assert!(report.message().contains("\"consumer\""), "{report}");
    assert_blocked(&report, "consumer", "recv", "Chan");
}

#[test]
fn closing_the_consumers_channel_is_fine() {
    expect_clean(&checker().run(|| retrying_consumer(true)));
}

/// A consumer that drains with an iterator adapter (`count`, `collect`,
/// `sum`) blocks inside the standard library's loop: the report should
/// still point at the consumer's own line, as it does for `for v in &rx`.
#[test]
fn a_consumer_blocked_in_an_iterator_adapter_is_located_in_the_program() {
    let outcome = checker().run(|| {
        let (tx, rx) = chan::bounded::<u32>(1);
        let own = tx.clone();
        drop(named("counter", move || {
            // Its own sender keeps the channel open.
            let _own = own;
            rx.iter().count()
        }));
        tx.send(1).unwrap();
    });
    let report = expect_report(outcome, ReportKind::Leak);
    assert_blocked(&report, "counter", "recv", "Chan");
}

// ---------------------------------------------------------------------------
// (g) A producer whose receiver is gone
// ---------------------------------------------------------------------------

/// Main takes the first result, and with `drain` the rest too. Dropping the
/// receiver does not close the channel, so without draining the producer's
/// next send waits forever.
fn first_result(drain: bool) {
    let (tx, rx) = chan::bounded::<u32>(1);
    let producer = named("producer", move || {
        for i in 0..3 {
            if tx.send(i).is_err() {
                break;
            }
        }
    });
    assert_eq!(rx.recv(), Ok(0));
    if drain {
        assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
        producer.join().unwrap();
    } else {
        drop(rx);
        drop(producer);
    }
}

#[test]
fn a_producer_whose_receiver_is_gone_is_a_leak() {
    let report = expect_report(checker().run(|| first_result(false)), ReportKind::Leak);
    assert_eq!(involved(&report), ["producer"], "{report}");
    assert_blocked(&report, "producer", "send", "Chan");
}

#[test]
fn draining_the_results_is_fine() {
    expect_clean(&checker().run(|| first_result(true)));
}

// ---------------------------------------------------------------------------
// A leak beside a ticker
// ---------------------------------------------------------------------------

/// A worker that owns a ticker but waits forever on a channel is as leaked
/// as one without: the ticks go to a channel nobody receives from and wake
/// nobody. The checker should say so instead of firing ticks until the
/// step limit and calling it a livelock.
#[test]
fn a_worker_owning_a_ticker_blocked_forever_is_a_leak() {
    let outcome = Checker::new().seed(SEED).iterations(10).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let own = tx.clone();
        drop(named("ticking", move || {
            let _ticks = knot::time::tick(Duration::from_secs(1));
            // Its own sender keeps the channel open.
            let _own = own;
            let _ = rx.recv();
            let _ = rx.recv();
        }));
        tx.send(1).unwrap();
    });
    let report = expect_report(outcome, ReportKind::Leak);
    assert_eq!(involved(&report), ["ticking"], "{report}");
    assert_blocked(&report, "ticking", "recv", "Chan");
}
