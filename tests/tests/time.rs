//! Time and contexts: virtual under the checker (an hour passes in no real
//! time, and a sleep moves the clock by exactly its length), the monotonic
//! clock live; deadlines and cancellation flow from a context to its
//! children; and the race between a timeout and a slow reply is explored
//! both ways.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use knot::chan::{self, RecvError, TryRecvError};
use knot::context::{Context, ContextError};
use knot::time::{self, Instant};
use knot::{Checker, Outcome, ReportKind};
use knot_tests::both;
use knot_tests::support::{self, live, named};

const SEED: u64 = 0x5eed_71e5;
const ITERATIONS: u64 = 300;

const HOUR: Duration = Duration::from_secs(3600);

fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Asserts that an outcome found nothing, showing the report if it did.
fn expect_clean(outcome: &Outcome) {
    support::expect_clean(outcome, ITERATIONS);
}

/// Explores `program` and asserts that no execution fails.
fn checked<F: Fn() + 'static>(program: F) {
    expect_clean(&checker().run(program));
}

// ---------------------------------------------------------------------------
// Virtual time under the checker
// ---------------------------------------------------------------------------

/// Waiting for a context with a one-hour deadline takes no real time: the
/// clock jumps to the deadline once main is blocked.
#[test]
fn a_one_hour_deadline_is_checked_in_well_under_a_second() {
    let start = std::time::Instant::now();
    let outcome = checker().run(|| {
        let begin = Instant::now();
        let (ctx, cancel) = Context::background().with_timeout(HOUR);
        assert_eq!(ctx.deadline(), Some(begin + HOUR));
        assert_eq!(ctx.err(), None);
        // A worker that never answers: only the deadline ends the wait.
        let (_silent_tx, silent_rx) = chan::bounded::<u32>(0);
        knot::select! {
            recv(silent_rx) -> v => panic!("nobody sends, got {v:?}"),
            recv(ctx.done()) -> v => assert_eq!(v, Err(RecvError)),
        }
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(begin.elapsed(), HOUR, "the clock jumped to the deadline");
        cancel.cancel();
    });
    let elapsed = start.elapsed();
    expect_clean(&outcome);
    assert!(
        elapsed < Duration::from_secs(1),
        "{ITERATIONS} one-hour waits took {elapsed:?} of real time"
    );
}

/// A single task's clock moves by exactly the length of each sleep, and
/// starts at zero.
#[test]
fn the_virtual_clock_advances_exactly_by_each_sleep() {
    let start = std::time::Instant::now();
    checked(|| {
        assert_eq!(Instant::now().since_epoch(), Duration::ZERO);
        let begin = Instant::now();
        let mut total = Duration::ZERO;
        for d in [
            Duration::from_nanos(1),
            Duration::from_millis(1),
            Duration::from_millis(250),
            Duration::from_secs(2),
            HOUR,
        ] {
            let before = Instant::now();
            time::sleep(d);
            assert_eq!(Instant::now() - before, d);
            total += d;
        }
        assert_eq!(begin.elapsed(), total);
        assert_eq!(Instant::now().since_epoch(), total);
    });
    assert!(start.elapsed() < Duration::from_secs(5), "no real sleeping");
}

/// With several tasks, each sleep lasts at least its length, and the
/// clock never goes backwards.
#[test]
fn concurrent_sleeps_last_at_least_their_length() {
    checked(|| {
        let sleepers: Vec<_> = [3_u64, 1, 2]
            .into_iter()
            .map(|ms| {
                named(&format!("sleeper-{ms}"), move || {
                    let d = Duration::from_millis(ms);
                    let before = Instant::now();
                    time::sleep(d);
                    let after = Instant::now();
                    assert!(after - before >= d, "slept {:?} < {d:?}", after - before);
                    after
                })
            })
            .collect();
        let begin = Instant::now();
        let woke: Vec<Instant> = sleepers.into_iter().map(|s| s.join().unwrap()).collect();
        let end = Instant::now();
        assert!(end >= begin);
        assert!(woke.iter().all(|&t| t <= end));
        assert!(end.since_epoch() >= Duration::from_millis(3));
    });
}

/// `after` fires exactly at its time under the checker, and a ticker's
/// ticks are whole periods apart and strictly increasing.
#[test]
fn after_and_tick_on_the_virtual_clock() {
    checked(|| {
        let begin = Instant::now();
        let fired = time::after(Duration::from_millis(10)).recv();
        assert_eq!(fired, Ok(begin + Duration::from_millis(10)));

        let period = Duration::from_millis(5);
        let start = Instant::now();
        let ticks = time::tick(period);
        let mut last = start;
        for _ in 0..3 {
            let t = ticks.recv().expect("a ticker does not close");
            assert!(t > last, "{t} after {last}");
            let since = (t - start).as_nanos();
            assert_eq!(since % period.as_nanos(), 0, "{t} is off the beat");
            last = t;
        }
    });
}

// ---------------------------------------------------------------------------
// The live clock
// ---------------------------------------------------------------------------

#[test]
fn sleep_after_and_tick_live() {
    live(|| {
        let d = Duration::from_millis(10);

        let real = std::time::Instant::now();
        let begin = Instant::now();
        time::sleep(d);
        assert!(real.elapsed() >= d);
        assert!(begin.elapsed() >= d);

        let real = std::time::Instant::now();
        let begin = Instant::now();
        let fired = time::after(d).recv().expect("the timer sends the time");
        assert!(fired >= begin + d, "fired at {fired}, started at {begin}");
        assert!(real.elapsed() >= d);

        let period = Duration::from_millis(5);
        let real = std::time::Instant::now();
        let begin = Instant::now();
        let ticks = time::tick(period);
        let mut last = begin;
        for i in 1..=3 {
            let t = ticks.recv().expect("a ticker does not close");
            assert!(t > last, "tick {i} at {t}, the one before at {last}");
            assert!(
                t >= begin + period * i,
                "tick {i} at {t}, started at {begin}"
            );
            last = t;
        }
        assert!(real.elapsed() >= period * 3);
    });
}

#[test]
fn timers_that_nobody_waits_for_stop_counting_live() {
    live(|| {
        let before = time::pending_timers();
        let (tx, rx) = chan::bounded::<u32>(0);
        let producer = knot::spawn(move || {
            for i in 0..100 {
                time::sleep(Duration::from_millis(1));
                tx.send(i).unwrap();
            }
        });
        // Each receive waits, and so arms an hour-long timeout, which its
        // value makes useless.
        for i in 0..100 {
            assert_eq!(rx.recv_timeout(HOUR), Ok(i));
        }
        producer.join().unwrap();
        for _ in 0..100 {
            let (ctx, cancel) = Context::background().with_timeout(HOUR);
            drop((ctx, cancel));
        }
        // The other tests of this binary arm timers too, but not hundreds
        // of hour-long ones.
        let after = time::pending_timers();
        assert!(
            after < before + 50,
            "{} timers were pending before, {after} after",
            before
        );
    });
}

#[test]
fn instant_arithmetic() {
    let t = Instant::now();
    let later = t + Duration::from_millis(3);
    assert_eq!(later - t, Duration::from_millis(3));
    assert_eq!(later.duration_since(t), Duration::from_millis(3));
    assert_eq!(t.duration_since(later), Duration::ZERO, "saturates");
    assert!(later > t);
    assert!(later.to_string().starts_with("t+"), "{later}");
}

// ---------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------

/// Cancelling a parent cancels its children and grandchildren, wakes the
/// tasks waiting on them, and leaves unrelated contexts alone; cancelling a
/// child leaves its parent alone.
fn parent_cancel_cancels_children() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_cancel();
    let (grandchild, cancel_grandchild) = child.with_cancel();
    let (sibling, cancel_sibling) = parent.with_cancel();
    let (other, cancel_other) = Context::background().with_cancel();

    let g = grandchild.clone();
    let watcher = named("watcher", move || {
        assert_eq!(g.done().recv(), Err(RecvError));
        g.err()
    });

    // A child can be cancelled on its own.
    cancel_sibling.cancel();
    assert_eq!(sibling.err(), Some(ContextError::Canceled));
    assert_eq!(
        parent.err(),
        None,
        "a child's cancel does not reach its parent"
    );
    assert_eq!(child.err(), None);

    cancel_parent.cancel();
    assert_eq!(watcher.join().unwrap(), Some(ContextError::Canceled));
    for ctx in [&parent, &child, &grandchild] {
        assert_eq!(ctx.err(), Some(ContextError::Canceled), "{ctx:?}");
        assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Closed));
    }
    assert_eq!(other.err(), None, "an unrelated context is untouched");

    // Derived from a cancelled context: done at once.
    let (late, cancel_late) = child.with_cancel();
    assert_eq!(late.err(), Some(ContextError::Canceled));

    cancel_child.cancel();
    cancel_grandchild.cancel();
    cancel_late.cancel();
    cancel_other.cancel();
    assert_eq!(other.err(), Some(ContextError::Canceled));
}
both!(parent_cancel_cancels_children);

/// A deadline in the past, or a zero timeout, gives a context that is done
/// at once with `DeadlineExceeded`.
fn a_deadline_in_the_past_is_done_at_once() {
    let earlier = Instant::now();
    time::sleep(Duration::from_millis(1));
    let (ctx, cancel) = Context::background().with_deadline(earlier);
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(ctx.deadline(), Some(earlier));
    assert_eq!(ctx.done().try_recv(), Err(TryRecvError::Closed));
    knot::select! {
        recv(ctx.done()) -> v => assert_eq!(v, Err(RecvError)),
        default => panic!("the context should be done already"),
    }
    // Its children are born done.
    let (child, cancel_child) = ctx.with_timeout(HOUR);
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(child.deadline(), Some(earlier), "the earlier deadline wins");

    let (zero, cancel_zero) = Context::background().with_timeout(Duration::ZERO);
    assert_eq!(zero.err(), Some(ContextError::DeadlineExceeded));

    cancel.cancel();
    cancel_child.cancel();
    cancel_zero.cancel();
    // Cancelling later does not change why it ended.
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}
both!(a_deadline_in_the_past_is_done_at_once);

/// A child inherits its parent's earlier deadline, and expires with it.
fn a_child_expires_with_its_parent() {
    let (parent, cancel_parent) = Context::background().with_timeout(Duration::from_millis(10));
    let (child, cancel_child) = parent.with_timeout(HOUR);
    assert_eq!(child.deadline(), parent.deadline());
    assert_eq!(child.done().recv(), Err(RecvError));
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(parent.done().recv(), Err(RecvError));
    assert_eq!(parent.err(), Some(ContextError::DeadlineExceeded));
    let deadline = parent.deadline().expect("a deadline");
    assert!(Instant::now() >= deadline);
    cancel_child.cancel();
    cancel_parent.cancel();
}
both!(a_child_expires_with_its_parent);

/// Go's contexts keep their parents alive: cancelling a parent cancels a
/// child even when the child is all that is left of the parent's values.
/// Here the parent `Context` is dropped (only its `Cancel` handle is kept,
/// as a server keeps its shutdown handle); the child holds no reference to
/// its parent, the parent's state is freed, and the cancel reaches nobody.
fn cancelling_a_dropped_parent_cancels_its_child() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_cancel();
    drop(parent);
    cancel_parent.cancel();
    assert_eq!(
        child.err(),
        Some(ContextError::Canceled),
        "the parent was cancelled"
    );
    cancel_child.cancel();
}

#[test]
fn cancelling_a_dropped_parent_cancels_its_child_live() {
    live(cancelling_a_dropped_parent_cancels_its_child);
}

#[test]
fn cancelling_a_dropped_parent_cancels_its_child_checked() {
    checked(cancelling_a_dropped_parent_cancels_its_child);
}

/// A worker is often given only `ctx.done()`. That channel must close when
/// the context is cancelled or expires, not when the last `Context` value
/// is dropped: here it reports "done" although nobody cancelled.
fn a_done_channel_outlives_its_context() {
    let (ctx, cancel) = Context::background().with_cancel();
    let done = ctx.done();
    drop(ctx);
    assert_eq!(
        done.try_recv(),
        Err(TryRecvError::Empty),
        "nobody cancelled the context"
    );
    cancel.cancel();
}

#[test]
fn a_done_channel_outlives_its_context_live() {
    live(a_done_channel_outlives_its_context);
}

#[test]
fn a_done_channel_outlives_its_context_checked() {
    checked(a_done_channel_outlives_its_context);
}

// ---------------------------------------------------------------------------
// The race between a timeout and a slow reply
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Winner {
    Reply,
    Timeout,
}

/// Main waits 10 ms for a reply that takes 5 ms, and panics if `loser`
/// wins. Either can win under the checker: the worker's work before its
/// sleep takes an unknown time.
fn reply_or_timeout(loser: Winner) {
    let (tx, rx) = chan::bounded::<u32>(1);
    let worker = named("worker", move || {
        time::sleep(Duration::from_millis(5));
        tx.send(42).expect("main keeps the receiver");
    });
    let winner = knot::select! {
        recv(rx) -> v => { assert_eq!(v, Ok(42)); Winner::Reply }
        recv(time::after(Duration::from_millis(10))) -> _ => Winner::Timeout,
    };
    worker.join().unwrap();
    if winner == loser {
        panic!("the {winner:?} won");
    }
}

#[test]
fn the_race_between_timeout_and_reply_is_explored_both_ways() {
    for loser in [Winner::Reply, Winner::Timeout] {
        for seed in [SEED, 1, 2] {
            let outcome = Checker::new()
                .seed(seed)
                .iterations(ITERATIONS)
                .run(move || reply_or_timeout(loser));
            let report = outcome
                .report
                .unwrap_or_else(|| panic!("seed {seed}: no execution where the {loser:?} wins"));
            assert_eq!(report.kind(), ReportKind::Panic, "{report}");
            assert!(
                report.message().contains(&format!("the {loser:?} won")),
                "{report}"
            );
        }
    }
}

/// Across the executions of one check, both winners show up.
#[test]
fn both_winners_show_up_across_executions() {
    let seen = Arc::new(StdMutex::new([0_u64; 2]));
    let s = Arc::clone(&seen);
    checked(move || {
        let (tx, rx) = chan::bounded::<u32>(1);
        let worker = named("worker", move || {
            time::sleep(Duration::from_millis(5));
            tx.send(42).expect("main keeps the receiver");
        });
        let timed_out = knot::select! {
            recv(rx) -> v => { assert_eq!(v, Ok(42)); false }
            recv(time::after(Duration::from_millis(10))) -> _ => true,
        };
        s.lock().unwrap()[usize::from(timed_out)] += 1;
        worker.join().unwrap();
    });
    let seen = *seen.lock().unwrap();
    assert!(seen[0] > 0 && seen[1] > 0, "replies, timeouts: {seen:?}");
}
