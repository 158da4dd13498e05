//! Acceptance: the classic bugs are found by every strategy within a budget
//! of 1,000 executions from a fixed seed, and the correct versions of the
//! same programs are never reported.

use std::sync::Arc;

use knot::report::Report;
use knot::sync::atomic::{AtomicUsize, Ordering};
use knot::sync::Mutex;
use knot::task::Builder;
use knot::{Checker, Outcome, ReportKind, Strategy};
use knot_tests::support::involved;

const SEED: u64 = 0x5eed_0003;
const BUDGET: u64 = 1_000;

const STRATEGIES: [Strategy; 3] = [
    Strategy::Random,
    Strategy::Pct { depth: 2 },
    Strategy::Pct { depth: 3 },
];

fn checker(strategy: Strategy) -> Checker {
    Checker::new()
        .seed(SEED)
        .iterations(BUDGET)
        .strategy(strategy)
}

fn found(outcome: &Outcome, strategy: Strategy, kind: ReportKind) -> &Report {
    let report = outcome.report.as_ref().unwrap_or_else(|| {
        panic!(
            "{strategy} did not find the {kind} in {} executions",
            outcome.executions
        )
    });
    assert!(outcome.executions <= BUDGET, "{strategy}: {outcome:?}");
    assert_eq!(report.kind(), kind, "{strategy}:\n{report}");
    let search = report.search.as_ref().expect("search info");
    assert_eq!(search.strategy, strategy.to_string());
    assert_eq!(search.seed, SEED);
    assert_eq!(search.execution, outcome.executions);
    report
}

fn clean(outcome: &Outcome, strategy: Strategy) {
    if let Some(report) = &outcome.report {
        panic!("{strategy} reported a correct program:\n{report}");
    }
    assert_eq!(outcome.executions, BUDGET, "{strategy}");
}

/// Two tasks add one to a shared counter; main checks the total.
fn counter(atomic_increment: bool) {
    let n = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = ["inc-1", "inc-2"]
        .into_iter()
        .map(|name| {
            let n = Arc::clone(&n);
            Builder::new().name(name).spawn(move || {
                if atomic_increment {
                    n.fetch_add(1, Ordering::SeqCst);
                } else {
                    let v = n.load(Ordering::SeqCst);
                    n.store(v + 1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 2, "lost update");
}

#[test]
fn lost_update_is_found_by_every_strategy() {
    for strategy in STRATEGIES {
        let outcome = checker(strategy).run(|| counter(false));
        let report = found(&outcome, strategy, ReportKind::Panic);
        assert!(report.message().starts_with("main panicked"), "{report}");
        assert!(report.message().contains("lost update"), "{report}");
        assert!(report.message().contains("left: 1"), "{report}");
        let main = report.task(0).expect("main");
        assert!(main.involved, "{report}");
    }
}

#[test]
fn fetch_add_has_no_lost_update() {
    for strategy in STRATEGIES {
        clean(&checker(strategy).run(|| counter(true)), strategy);
    }
}

/// Two named tasks take two mutexes, in opposite orders unless `ordered`.
fn two_locks(ordered: bool) {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a1, b1) = (Arc::clone(&a), Arc::clone(&b));
    let t1 = Builder::new().name("ab").spawn(move || {
        let mut a = a1.lock();
        let mut b = b1.lock();
        *a += 1;
        *b += 1;
    });
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    let t2 = Builder::new().name("ba").spawn(move || {
        if ordered {
            let mut a = a2.lock();
            let mut b = b2.lock();
            *a += 1;
            *b += 1;
        } else {
            let mut b = b2.lock();
            let mut a = a2.lock();
            *a += 1;
            *b += 1;
        }
    });
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!((*a.lock(), *b.lock()), (2, 2));
}

#[test]
fn abba_deadlock_is_found_by_every_strategy() {
    for strategy in STRATEGIES {
        let outcome = checker(strategy).run(|| two_locks(false));
        let report = found(&outcome, strategy, ReportKind::Deadlock);
        assert_eq!(involved(report), ["ab", "ba"], "{strategy}:\n{report}");
        for name in ["ab", "ba"] {
            let t = report.tasks().iter().find(|t| t.name == name).unwrap();
            let blocked = t.blocked_on.as_ref().expect("blocked");
            assert_eq!(blocked.operation, "lock");
            assert_eq!(blocked.object.kind, "Mutex");
            assert_eq!(t.holds.len(), 1, "{report}");
        }
    }
}

#[test]
fn ordered_locks_never_deadlock() {
    for strategy in STRATEGIES {
        clean(&checker(strategy).run(|| two_locks(true)), strategy);
    }
}

#[test]
fn a_correct_mutex_counter_is_never_reported() {
    for strategy in STRATEGIES {
        let outcome = checker(strategy).run(|| {
            let m = Arc::new(Mutex::new(0));
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    let m = Arc::clone(&m);
                    Builder::new().name(format!("adder-{i}")).spawn(move || {
                        for _ in 0..2 {
                            let mut g = m.lock();
                            let v = *g;
                            knot::yield_now();
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(*m.lock(), 6);
        });
        clean(&outcome, strategy);
    }
}
