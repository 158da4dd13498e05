//! Exhaustive exploration with dynamic partial-order reduction: the counts
//! of executions on programs whose interleavings are known, every bundled
//! bug found, every fixed twin proved clean.

use std::sync::Arc;
use std::time::Duration;

use knot::sync::atomic::{AtomicUsize, Ordering};
use knot::sync::{Mutex, RwLock, WaitGroup};
use knot::{Checker, Outcome, Strategy};
use knot_examples::EXAMPLES;

fn dfs() -> Checker {
    Checker::new()
        .strategy(Strategy::Dfs {
            preemption_bound: None,
        })
        .iterations(100_000)
}

fn bounded(bound: usize) -> Checker {
    Checker::new()
        .strategy(Strategy::Dfs {
            preemption_bound: Some(bound),
        })
        .iterations(100_000)
}

/// A clean outcome that covered every interleaving; returns its count.
fn complete(outcome: Outcome) -> u64 {
    if let Some(report) = &outcome.report {
        panic!("unexpected report:\n{report}");
    }
    assert!(outcome.complete, "the exploration did not finish");
    outcome.executions
}

fn counter_tasks(tasks: usize, increments: usize) {
    let m = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let m = Arc::clone(&m);
            knot::spawn(move || {
                for _ in 0..increments {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), tasks * increments);
}

#[test]
fn tasks_on_disjoint_objects_explore_one_execution() {
    let count = complete(dfs().run(|| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                knot::spawn(|| {
                    let own = Mutex::new(0);
                    *own.lock() += 1;
                    let flag = AtomicUsize::new(0);
                    flag.store(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }));
    assert_eq!(count, 1);
}

#[test]
fn two_increments_under_one_mutex_explore_two_executions() {
    assert_eq!(complete(dfs().run(|| counter_tasks(2, 1))), 2);
}

#[test]
fn three_tasks_incrementing_twice_explore_every_order_of_critical_sections() {
    // Six critical sections, two per task: 6! / (2! 2! 2!) = 90 orders.
    assert_eq!(complete(dfs().run(|| counter_tasks(3, 2))), 90);
}

#[test]
fn readers_commute() {
    let count = complete(dfs().run(|| {
        let l = Arc::new(RwLock::new(7));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let l = Arc::clone(&l);
                knot::spawn(move || assert_eq!(*l.read(), 7))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }));
    assert_eq!(count, 1);
}

#[test]
fn two_atomic_increments_explore_both_orders() {
    let count = complete(dfs().run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let n = Arc::clone(&n);
                knot::spawn(move || {
                    n.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }));
    assert_eq!(count, 2);
}

#[test]
fn a_lost_update_is_found() {
    let outcome = dfs().run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let n = Arc::clone(&n);
                knot::spawn(move || {
                    let v = n.load(Ordering::SeqCst);
                    n.store(v + 1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(n.load(Ordering::SeqCst), 2);
    });
    let report = outcome.report.expect("the lost update is found");
    assert_eq!(report.kind(), knot::ReportKind::Panic);
    assert!(!outcome.complete);
}

#[test]
fn services_joined_with_a_waitgroup_are_exhausted() {
    let count = complete(dfs().run(|| {
        let wg = WaitGroup::new();
        let results = Arc::new(Mutex::new(Vec::new()));
        for service in 0..3 {
            wg.add(1);
            let (wg, results) = (wg.clone(), Arc::clone(&results));
            knot::go(move || {
                results.lock().push(service);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(results.lock().len(), 3);
    }));
    assert!(count > 1 && count < 100, "{count}");
}

#[test]
fn a_preemption_bound_explores_fewer_and_is_complete_within_it() {
    let unbounded = complete(dfs().run(|| counter_tasks(3, 2)));
    let none = complete(bounded(0).run(|| counter_tasks(3, 2)));
    let one = complete(bounded(1).run(|| counter_tasks(3, 2)));
    assert!(none < one && one <= unbounded, "{none} {one} {unbounded}");
}

#[test]
fn every_bundled_bug_is_found_and_every_fix_is_clean() {
    // The larger channel programs have too many interleavings to exhaust in
    // a test; the others are proved clean.
    let exhaustible = [
        "services",
        "unjoined",
        "lost_update",
        "abba",
        "task_panic",
        "classic_leak",
        "pipeline",
    ];
    for example in EXAMPLES {
        let outcome = dfs().iterations(5_000).run(example.buggy);
        let report = outcome
            .report
            .unwrap_or_else(|| panic!("{}: the bug is not found", example.name));
        assert_eq!(
            report.kind(),
            example.expected,
            "{}:\n{report}",
            example.name
        );
        let fixed = dfs().iterations(5_000).run(example.fixed);
        if let Some(report) = &fixed.report {
            panic!("{}: the fixed version is reported:\n{report}", example.name);
        }
        if exhaustible.contains(&example.name) {
            assert!(
                fixed.complete,
                "{}: not exhausted in {}",
                example.name, fixed.executions
            );
        }
    }
}

#[test]
fn a_dfs_failure_replays() {
    let outcome = dfs().run(knot_examples::abba::buggy);
    let report = outcome.report.expect("found");
    let replayed = Checker::new()
        .replay(report.schedule(), knot_examples::abba::buggy)
        .report
        .expect("the replay fails too");
    assert_eq!(replayed.kind(), report.kind());
    assert_eq!(replayed.tasks(), report.tasks());
}

#[test]
fn a_time_limit_stops_the_exploration_incomplete() {
    let outcome = dfs().time_limit(Duration::ZERO).run(|| counter_tasks(3, 2));
    assert!(outcome.report.is_none());
    assert!(!outcome.complete);
    assert_eq!(outcome.executions, 1);
}

#[test]
fn the_iteration_budget_stops_the_exploration_incomplete() {
    let outcome = dfs().iterations(10).run(|| counter_tasks(3, 2));
    assert_eq!(outcome.executions, 10);
    assert!(!outcome.complete);
}

#[test]
fn a_recursive_read_behind_a_queued_writer_is_found() {
    // Readers do not order readers: the remover's read after the
    // reconciler's first read leaves its later write unordered with the
    // reconciler's nested read, and that order is explored.
    let outcome = dfs().run(|| {
        let l = Arc::new(RwLock::new(0));
        let (l1, l2) = (Arc::clone(&l), Arc::clone(&l));
        let a = knot::task::Builder::new()
            .name("reconciler")
            .spawn(move || {
                let _outer = l1.read();
                let _inner = l1.read();
            });
        let b = knot::task::Builder::new().name("remover").spawn(move || {
            drop(l2.read());
            *l2.write() += 1;
        });
        a.join().unwrap();
        b.join().unwrap();
    });
    let report = outcome.report.expect("the deadlock is found");
    assert_eq!(report.kind(), knot::ReportKind::Deadlock, "{report}");
}
