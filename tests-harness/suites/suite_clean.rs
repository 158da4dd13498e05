//! A suite that passes under knot's harness: checked tests, a test that
//! expects the checker to find a deadlock, an ignored test, and live tasks
//! that are all joined (or end on their own, or are daemons).
//!
//! `cargo test` and `cargo nextest run` run it through `knot::test_main!()`,
//! which ends with the leak check: this suite leaves nothing behind, so it
//! exits with 0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use knot::sync::{Mutex, WaitGroup};
use knot::task::Builder;

knot::test_main!();

#[knot::test(iterations = 100)]
fn counter_is_consistent() {
    let m = Arc::new(Mutex::new(0));
    let m2 = Arc::clone(&m);
    let t = knot::spawn(move || *m2.lock() += 1);
    *m.lock() += 1;
    t.join().unwrap();
    assert_eq!(*m.lock(), 2);
}

#[knot::test(iterations = 100)]
fn channel_round_trip() {
    let (tx, rx) = knot::chan::bounded::<u32>(0);
    let worker = knot::spawn(move || tx.send(42));
    assert_eq!(rx.recv(), Ok(42));
    worker.join().unwrap().unwrap();
}

mod checker {
    use super::*;

    #[knot::test(iterations = 1_000, seed = 11)]
    #[should_panic(expected = "knot found a deadlock")]
    fn finds_the_abba_deadlock() {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let (a1, b1) = (Arc::clone(&a), Arc::clone(&b));
        let t = Builder::new().name("ba").spawn(move || {
            let _b = b1.lock();
            let _a = a1.lock();
        });
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        t.join().unwrap();
    }

    #[knot::test(iterations = 5_000)]
    #[ignore = "a longer exploration, run with --ignored"]
    fn longer_exploration() {
        let wg = WaitGroup::new();
        wg.add(2);
        for _ in 0..2 {
            let done = wg.clone();
            knot::go(move || done.done());
        }
        wg.wait();
    }
}

/// Live tasks, outside the checker: real threads, all joined before the test
/// returns, under a leak guard of the test's own.
fn live_workers_are_joined() {
    let guard = knot::leak_guard();
    let total = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (1..=4)
        .map(|i| {
            let total = Arc::clone(&total);
            Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || total.fetch_add(i, Ordering::SeqCst))
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(total.load(Ordering::SeqCst), 10);
    // Only this test's tasks: the previous test's straggler may still run.
    assert!(guard.leaks().is_empty(), "{:?}", guard.leaks());
}

inventory::submit! {
    knot::harness::TestCase::new(concat!(module_path!(), "::live_workers_are_joined"), live_workers_are_joined)
}

/// A detached task that finishes shortly after its test returns, and a
/// daemon that never does: neither is a leak.
fn live_stragglers_and_daemons_are_fine() {
    let wg = WaitGroup::new();
    wg.add(1);
    let started = wg.clone();
    knot::go(move || {
        started.done();
        std::thread::sleep(Duration::from_millis(100));
    });
    wg.wait();

    let never = WaitGroup::new();
    never.add(1);
    Builder::new()
        .name("background")
        .daemon(true)
        .go(move || never.wait());
}

inventory::submit! {
    knot::harness::TestCase::new(
        concat!(module_path!(), "::live_stragglers_and_daemons_are_fine"),
        live_stragglers_and_daemons_are_fine,
    )
}
