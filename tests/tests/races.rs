//! Data races by happens-before: a race on a `RaceCell` is found from one
//! execution, whatever the schedule, and correct synchronisation through
//! any primitive is never reported.

use std::collections::HashMap;
use std::sync::Arc;

use knot::cell::RaceCell;
use knot::chan;
use knot::sync::atomic::{AtomicBool, Ordering};
use knot::sync::{Mutex, RwLock, WaitGroup};
use knot::task::Builder;
use knot::{Checker, Outcome, ReportKind};

fn checker() -> Checker {
    Checker::new().seed(11).iterations(300)
}

fn race(outcome: Outcome, tasks: [&str; 2]) {
    let report = outcome.report.expect("the race is found");
    assert_eq!(report.kind(), ReportKind::DataRace, "{report}");
    let mut involved: Vec<&str> = report.involved().map(|t| t.name.as_str()).collect();
    involved.sort_unstable();
    let mut expected = tasks.to_vec();
    expected.sort_unstable();
    assert_eq!(involved, expected, "{report}");
    assert!(report.message().contains("RaceCell#"), "{report}");
    assert!(
        report.message().contains("races.rs"),
        "both sites: {report}"
    );
}

fn clean(outcome: Outcome) {
    if let Some(report) = outcome.report {
        panic!("unexpected report:\n{report}");
    }
}

fn two_writers(lock: bool) {
    let counter = Arc::new(RaceCell::new(0));
    let m = Arc::new(Mutex::new(()));
    let handles: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let (counter, m) = (Arc::clone(&counter), Arc::clone(&m));
            Builder::new().name(name).spawn(move || {
                let _g = lock.then(|| m.lock());
                counter.with_mut(|c| *c += 1);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn two_unlocked_writers_race_in_every_single_execution() {
    // One execution, whatever the seed: the writes need not collide.
    for seed in 0..20 {
        let outcome = Checker::new()
            .seed(seed)
            .iterations(1)
            .run(|| two_writers(false));
        race(outcome, ["a", "b"]);
    }
}

#[test]
fn two_writers_under_a_mutex_do_not_race() {
    clean(checker().run(|| two_writers(true)));
}

#[test]
fn the_race_is_found_when_the_accesses_are_far_apart() {
    // The second write comes long after the first in program order and in
    // the schedule: other operations happen in between.
    let outcome = Checker::new().seed(1).iterations(1).shrink(false).run(|| {
        let cell = Arc::new(RaceCell::new(0));
        let other = Arc::new(Mutex::new(0));
        let (c1, o1) = (Arc::clone(&cell), Arc::clone(&other));
        let a = Builder::new().name("a").spawn(move || {
            c1.set(1);
            for _ in 0..5 {
                *o1.lock() += 1;
            }
        });
        a.join().unwrap_or(());
        let b = Builder::new().name("b").spawn(move || {
            for _ in 0..5 {
                *other.lock() += 1;
            }
            cell.set(2);
        });
        b.join().unwrap();
    });
    // `a` was joined before `b` was spawned: ordered, no race.
    clean(outcome);
    // Each task works on its own lock between the accesses: plenty of
    // events, none that orders one task after the other.
    for seed in 0..10 {
        let outcome = Checker::new()
            .seed(seed)
            .iterations(1)
            .shrink(false)
            .run(|| {
                let cell = Arc::new(RaceCell::new(0));
                let (c1, c2) = (Arc::clone(&cell), Arc::clone(&cell));
                let a = Builder::new().name("a").spawn(move || {
                    c1.set(1);
                    let own = Mutex::new(0);
                    for _ in 0..5 {
                        *own.lock() += 1;
                    }
                });
                let b = Builder::new().name("b").spawn(move || {
                    let own = Mutex::new(0);
                    for _ in 0..5 {
                        *own.lock() += 1;
                    }
                    c2.set(2);
                });
                a.join().unwrap();
                b.join().unwrap();
            });
        let report = outcome.report.expect("the race is found");
        assert_eq!(report.kind(), ReportKind::DataRace, "{report}");
        assert!(report.trace().len() > 4, "events came between:\n{report}");
    }
}

fn publish(through_channel: bool) {
    let data = Arc::new(RaceCell::new(0));
    let (tx, rx) = chan::bounded::<()>(1);
    let flag = Arc::new(AtomicBool::new(false));
    let (d, f) = (Arc::clone(&data), Arc::clone(&flag));
    let producer = Builder::new().name("producer").spawn(move || {
        d.set(42);
        if through_channel {
            tx.send(()).unwrap();
        } else {
            f.store(true, Ordering::Relaxed);
        }
    });
    let consumer = Builder::new().name("consumer").spawn(move || {
        if through_channel {
            rx.recv().unwrap();
            assert_eq!(data.get(), 42);
        } else {
            while !flag.load(Ordering::Relaxed) {
                knot::yield_now();
            }
            let _ = data.get();
        }
    });
    producer.join().unwrap();
    consumer.join().unwrap();
}

#[test]
fn a_flag_published_through_a_channel_is_ordered() {
    clean(checker().run(|| publish(true)));
}

#[test]
fn data_handed_over_a_rendezvous_channel_is_ordered() {
    // Whichever side comes first, the sender's writes happen before the
    // receiver's reads, the sender waiting or not.
    for capacity in [0, 1] {
        clean(checker().run(move || {
            let data = Arc::new(RaceCell::new(0));
            let (tx, rx) = chan::bounded::<()>(capacity);
            let d = Arc::clone(&data);
            let producer = Builder::new().name("producer").spawn(move || {
                d.set(42);
                tx.send(()).unwrap();
                tx.send(()).unwrap();
            });
            rx.recv().unwrap();
            assert_eq!(data.get(), 42);
            rx.recv().unwrap();
            producer.join().unwrap();
        }));
    }
}

#[test]
fn a_rendezvous_receive_comes_before_its_send_completes() {
    // The receiver's writes before it receives happen before what the
    // sender does after its send, whichever side waits.
    clean(checker().run(|| {
        let data = Arc::new(RaceCell::new(0));
        let (tx, rx) = chan::bounded::<()>(0);
        let d = Arc::clone(&data);
        let receiver = Builder::new().name("receiver").spawn(move || {
            d.set(7);
            rx.recv().unwrap();
        });
        tx.send(()).unwrap();
        assert_eq!(data.get(), 7);
        receiver.join().unwrap();
    }));
}

#[test]
fn a_flag_published_with_relaxed_atomics_is_a_race() {
    race(checker().run(|| publish(false)), ["producer", "consumer"]);
}

#[test]
fn release_and_acquire_atomics_order_the_data() {
    clean(checker().run(|| {
        let data = Arc::new(RaceCell::new(0));
        let flag = Arc::new(AtomicBool::new(false));
        let (d, f) = (Arc::clone(&data), Arc::clone(&flag));
        let producer = knot::spawn(move || {
            d.set(42);
            f.store(true, Ordering::Release);
        });
        while !flag.load(Ordering::Acquire) {
            knot::yield_now();
        }
        assert_eq!(data.get(), 42);
        producer.join().unwrap();
    }));
}

fn result_before_wait(wait_first: bool) {
    let result = Arc::new(RaceCell::new(None));
    let wg = WaitGroup::new();
    wg.add(1);
    let (r, w) = (Arc::clone(&result), wg.clone());
    Builder::new().name("worker").go(move || {
        r.set(Some(7));
        w.done();
    });
    if wait_first {
        wg.wait();
        assert_eq!(result.get(), Some(7));
    } else {
        let _early = result.get();
        wg.wait();
    }
}

#[test]
fn reading_a_result_before_wait_returns_is_a_race() {
    race(
        checker().run(|| result_before_wait(false)),
        ["worker", "main"],
    );
}

#[test]
fn reading_a_result_after_wait_returns_is_ordered() {
    clean(checker().run(|| result_before_wait(true)));
}

#[test]
fn concurrent_writes_to_a_map_race() {
    let outcome = checker().run(|| {
        let table = Arc::new(RaceCell::new(HashMap::new()));
        let handles: Vec<_> = ["w1", "w2"]
            .into_iter()
            .map(|name| {
                let table = Arc::clone(&table);
                Builder::new().name(name).spawn(move || {
                    table.with_mut(|t| t.insert(name, 1));
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    race(outcome, ["w1", "w2"]);
}

#[test]
fn readers_under_a_rwlock_and_a_writer_do_not_race() {
    clean(checker().run(|| {
        let cell = Arc::new(RaceCell::new(0));
        let lock = Arc::new(RwLock::new(()));
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (cell, lock) = (Arc::clone(&cell), Arc::clone(&lock));
            handles.push(knot::spawn(move || {
                let _r = lock.read();
                let _ = cell.get();
            }));
        }
        let (c, l) = (Arc::clone(&cell), Arc::clone(&lock));
        handles.push(knot::spawn(move || {
            let _w = l.write();
            c.set(1);
        }));
        for h in handles {
            h.join().unwrap();
        }
    }));
}

#[test]
fn the_examples_fixed_programs_have_no_races() {
    for example in knot_examples::EXAMPLES {
        clean(checker().run(example.fixed));
    }
}

fn add_inside_the_task(add_first: bool) {
    let wg = WaitGroup::new();
    let w = wg.clone();
    if add_first {
        wg.add(1);
    }
    Builder::new().name("worker").go(move || {
        if !add_first {
            w.add(1);
        }
        w.done();
    });
    wg.wait();
}

#[test]
fn an_add_from_zero_concurrent_with_wait_is_misuse() {
    let report = checker()
        .run(|| add_inside_the_task(false))
        .report
        .expect("found");
    assert_eq!(report.kind(), ReportKind::Misuse, "{report}");
    assert!(report.message().contains("add from zero"), "{report}");
    let mut involved: Vec<&str> = report.involved().map(|t| t.name.as_str()).collect();
    involved.sort_unstable();
    assert_eq!(involved, ["main", "worker"], "{report}");
}

#[test]
fn an_add_before_the_spawn_is_ordered_before_wait() {
    clean(checker().run(|| add_inside_the_task(true)));
}
