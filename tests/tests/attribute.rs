//! `#[knot::test]` turns a test function into a check: a correct body passes,
//! the arguments configure the checker, and a buggy body fails the test with
//! the text of the report.

use std::sync::Arc;

use knot::sync::atomic::{AtomicUsize, Ordering};
use knot::sync::{Mutex, WaitGroup};
use knot::task::Builder;

/// Three tasks add to a mutex-protected counter.
fn counter() {
    let m = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let m = Arc::clone(&m);
            knot::spawn(move || *m.lock() += 1)
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 3);
}

#[knot::test]
fn plain_attribute_passes() {
    counter();
}

#[knot::test(iterations = 50, seed = 3, strategy = "pct:2")]
fn attribute_with_arguments_passes() {
    let wg = WaitGroup::new();
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        wg.add(1);
        let (wg, n) = (wg.clone(), Arc::clone(&n));
        knot::go(move || {
            n.fetch_add(1, Ordering::SeqCst);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[knot::test(iterations = 10, max_steps = 1_000, strategy = "random")]
fn attribute_runs_the_body_under_the_checker() {
    // Tasks are coroutines of the checker here, not threads.
    let t = knot::spawn(|| std::thread::current().id());
    assert_eq!(t.join().unwrap(), std::thread::current().id());
}

#[knot::test(iterations = 1_000, seed = 11)]
#[should_panic(expected = "knot found a deadlock")]
fn buggy_attribute_test_fails_with_the_report() {
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

#[knot::test(iterations = 1_000, seed = 11)]
#[should_panic(expected = "cargo test buggy_attribute_test_prints_the_replay_command")]
fn buggy_attribute_test_prints_the_replay_command() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    drop(Builder::new().name("stuck").spawn(move || w.wait()));
}

#[knot::test(seed = 5)]
#[should_panic(expected = "\"stuck\" stays blocked forever")]
fn buggy_attribute_test_names_the_leaked_task() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    drop(Builder::new().name("stuck").spawn(move || w.wait()));
}

/// The attribute accepts `strategy = "dfs"`, documented as a checked
/// strategy, but the checker has no such strategy: the test panics at run
/// time instead of exploring.
#[knot::test(iterations = 10, strategy = "dfs")]
fn attribute_dfs_strategy_runs() {
    counter();
}
