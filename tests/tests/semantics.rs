//! The primitives behave under the checker as their documentation says:
//! writer preference and reader admission of `RwLock`, wake-up order of
//! `Condvar`, the zero a `WaitGroup` waiter waits for.
//!
//! Where a property depends on how tasks happened to queue up, the program
//! ends with a panic on purpose, so that every execution yields a report
//! whose trace shows the order of events; each of a fixed range of seeds
//! explores one execution, and the property is checked against the trace of
//! each.

use std::sync::Arc;

use knot::report::Report;
use knot::sync::{Condvar, Mutex, RwLock, WaitGroup};
use knot::task::Builder;
use knot::{Checker, ReportKind};

const SEEDS: std::ops::Range<u64> = 0..200;

/// The report of one execution from `seed`, exactly as it ran (not
/// shrunk); `program` always panics.
fn one_execution(seed: u64, program: fn()) -> Report {
    let outcome = Checker::new()
        .seed(seed)
        .iterations(1)
        .shrink(false)
        .run(program);
    outcome.report.expect("the program always ends in a report")
}

/// The position in the trace of the first event of task `task` doing
/// `operation`.
/// Where `task` first asked for `operation`: when it started waiting for it,
/// or did it at once.
fn position(report: &Report, task: u64, operation: &str) -> Option<usize> {
    let waits = format!("blocks in {operation}");
    report
        .trace
        .iter()
        .position(|e| e.task == task && (e.operation == operation || e.operation == waits))
}

/// Main holds the write lock while a reader and then maybe a writer queue
/// up; the reader reports what it saw.
fn readers_after_a_writer() {
    let l = Arc::new(RwLock::new(0));
    let mut w = l.write();
    *w = 1;
    let l1 = Arc::clone(&l);
    let reader = Builder::new().name("reader").spawn(move || *l1.read());
    let l2 = Arc::clone(&l);
    let writer = Builder::new().name("writer").spawn(move || *l2.write() = 2);
    for _ in 0..4 {
        knot::yield_now();
    }
    drop(w);
    let seen = reader.join().unwrap();
    writer.join().unwrap();
    panic!("reader saw {seen}");
}

/// "When a writer unlocks, the readers that were waiting go ahead of the
/// next writer": a reader that waited while main held the write lock reads
/// main's value, even if another writer waited too.
#[test]
fn waiting_readers_go_ahead_of_the_next_writer() {
    let mut violations = Vec::new();
    for seed in SEEDS {
        let report = one_execution(seed, readers_after_a_writer);
        assert_eq!(report.kind(), ReportKind::Panic, "{report}");
        let unlock = position(&report, 0, "write_unlock").expect("main unlocks");
        let reader_waits = position(&report, 1, "read").is_some_and(|p| p < unlock);
        let writer_waits = position(&report, 2, "write").is_some_and(|p| p < unlock);
        if reader_waits && writer_waits && !report.message().contains("reader saw 1") {
            violations.push(seed);
        }
    }
    assert!(
        violations.is_empty(),
        "with these seeds the waiting writer went ahead of the waiting reader: {violations:?}"
    );
}

/// Main holds a read lock; a writer queues, then a second reader: the
/// writer goes first, so the reader sees its value.
fn reader_after_a_waiting_writer() {
    let l = Arc::new(RwLock::new(0));
    let r = l.read();
    let l1 = Arc::clone(&l);
    let writer = Builder::new().name("writer").spawn(move || *l1.write() = 1);
    let l2 = Arc::clone(&l);
    let reader = Builder::new().name("reader").spawn(move || *l2.read());
    for _ in 0..4 {
        knot::yield_now();
    }
    drop(r);
    writer.join().unwrap();
    let seen = reader.join().unwrap();
    panic!("reader saw {seen}");
}

#[test]
fn a_waiting_writer_goes_ahead_of_new_readers() {
    let mut checked = 0;
    for seed in SEEDS {
        let report = one_execution(seed, reader_after_a_waiting_writer);
        assert_eq!(report.kind(), ReportKind::Panic, "{report}");
        let unlock = position(&report, 0, "read_unlock").expect("main unlocks");
        let writer = position(&report, 1, "write").filter(|p| *p < unlock);
        let reader = position(&report, 2, "read").filter(|p| *p < unlock);
        if let (Some(writer), Some(reader)) = (writer, reader) {
            if writer < reader {
                checked += 1;
                assert!(
                    report.message().contains("reader saw 1"),
                    "seed {seed}: the reader got in before the waiting writer:\n{report}"
                );
            }
        }
    }
    assert!(checked > 0, "no seed queued the writer before the reader");
}

/// Several readers share the lock under the checker too: a reader holding
/// it does not stop another.
#[test]
fn readers_share_the_lock_under_the_checker() {
    let outcome = Checker::new().seed(6).iterations(1_000).run(|| {
        let l = Arc::new(RwLock::new(7));
        let held = l.read();
        let l1 = Arc::clone(&l);
        let other = knot::spawn(move || *l1.read());
        assert_eq!(other.join().unwrap(), 7);
        drop(held);
        assert!(l.try_write().is_some());
    });
    assert!(outcome.report.is_none(), "{:?}", outcome.report);
    assert_eq!(outcome.executions, 1_000);
}

/// Two waiters queue on a condition variable; `notify_one` wakes the one
/// that waited longest.
fn condvar_order() {
    #[derive(Default)]
    struct Log {
        queued: Vec<&'static str>,
        woken: Vec<&'static str>,
    }
    let shared = Arc::new((Mutex::new(Log::default()), Condvar::new()));
    let waiters: Vec<_> = ["first", "second"]
        .into_iter()
        .map(|name| {
            let s = Arc::clone(&shared);
            Builder::new().name(name).spawn(move || {
                let (log, cv) = &*s;
                let mut g = log.lock();
                // Pushed under the lock that `wait` releases only once the
                // task is registered: the queue order is the wait order.
                g.queued.push(name);
                let mut g = cv.wait(g);
                g.woken.push(name);
            })
        })
        .collect();
    let (log, cv) = &*shared;
    while log.lock().queued.len() < 2 {
        knot::yield_now();
    }
    cv.notify_one();
    while log.lock().woken.is_empty() {
        knot::yield_now();
    }
    {
        let g = log.lock();
        assert_eq!(g.woken, g.queued[..1], "notify_one woke the wrong waiter");
    }
    cv.notify_one();
    for w in waiters {
        w.join().unwrap();
    }
    let g = log.lock();
    assert_eq!(g.woken, g.queued);
}

#[test]
fn notify_one_wakes_the_longest_waiter() {
    let outcome = Checker::new().seed(7).iterations(1_000).run(condvar_order);
    assert!(outcome.report.is_none(), "{}", outcome.report.unwrap());
}

/// A wait group raised from zero again while a waiter may still be waiting
/// on it: Go's rule says an add from zero must happen before the wait that
/// could see the zero, and nothing orders main's second add with the
/// waiter's wait.
fn waitgroup_zero_then_add() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    let waiter = Builder::new().name("waiter").spawn(move || w.wait());
    for _ in 0..3 {
        knot::yield_now();
    }
    wg.done();
    wg.add(1);
    wg.done();
    waiter.join().unwrap();
}

#[test]
fn reusing_a_waitgroup_while_a_waiter_may_wait_is_misuse() {
    for seed in SEEDS.take(40) {
        let report = one_execution(seed, waitgroup_zero_then_add);
        assert_eq!(report.kind(), ReportKind::Misuse, "seed {seed}:\n{report}");
        assert!(report.message().contains("add from zero"), "{report}");
        assert!(report.involved().any(|t| t.name == "waiter"), "{report}");
    }
}

/// The same reuse, ordered: the waiter's wait returns before main adds
/// again (main joins it first), which Go allows.
#[test]
fn reusing_a_waitgroup_after_the_wait_returned_is_fine() {
    let outcome = Checker::new().seed(3).iterations(300).run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        let waiter = Builder::new().name("waiter").spawn(move || w.wait());
        wg.done();
        waiter.join().unwrap();
        wg.add(1);
        wg.done();
        wg.wait();
    });
    assert!(outcome.report.is_none(), "{}", outcome.report.unwrap());
}

/// Checks do not nest: a check inside a checked program is a panic of that
/// program's main, reported like any other.
#[test]
fn a_check_inside_a_check_is_a_reported_panic() {
    let outcome = Checker::new().seed(8).iterations(10).run(|| {
        knot::check(|| {});
    });
    let report = outcome.report.expect("the nested check panics");
    assert_eq!(report.kind(), ReportKind::Panic);
    assert!(
        report
            .message()
            .contains("a check cannot run inside another check"),
        "{report}"
    );
    assert_eq!(report.search.as_ref().map(|s| s.execution), Some(1));
    // The outer check is over and left nothing behind: checks run again.
    assert!(Checker::new().iterations(5).run(|| {}).report.is_none());
}
