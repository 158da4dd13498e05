//! Buggy programs, each with the bug marked `BUG`.

use std::sync::Arc;

use super::SERVICES;

/// The sum at which the consumer of [`pipeline_leak`] stops: 1 + 4.
pub const ENOUGH: u64 = 5;

/// Two tasks increment a counter with a load then a store; main joins them
/// and checks 2.
pub fn lost_update() {
    use knot::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let hits = Arc::clone(&hits);
            knot::spawn(move || {
                // BUG: the other task can store between this load and store.
                let seen = hits.load(Ordering::SeqCst);
                hits.store(seen + 1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "an update was lost");
}

/// A task locks `b` then `a` while main locks `a` then `b`.
pub fn abba() {
    use knot::sync::Mutex;
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    let t = knot::spawn(move || {
        let mut second = b2.lock();
        let mut first = a2.lock();
        *first += 1;
        *second += 1;
    });
    {
        let mut first = a.lock();
        let mut second = b.lock();
        *first += 1;
        *second += 1;
    }
    t.join().unwrap();
}

/// Main sets a flag and notifies; the waiter waits without looking at the
/// flag, so a notification sent before it waits is lost.
pub fn lost_wakeup() {
    use knot::sync::{Condvar, Mutex};
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let theirs = Arc::clone(&pair);
    let waiter = knot::spawn(move || {
        let (ready, cv) = &*theirs;
        let ready = ready.lock();
        // BUG: waits even if the flag is already set.
        let _ready = cv.wait(ready);
    });
    let (ready, cv) = &*pair;
    *ready.lock() = true;
    cv.notify_one();
    waiter.join().unwrap();
}

/// generate -> square -> main over rendezvous channels; main stops after
/// two squares and returns, and the stages wait in `send` forever.
pub fn pipeline_leak() {
    let (numbers_tx, numbers_rx) = knot::chan::bounded::<u64>(0);
    let (squares_tx, squares_rx) = knot::chan::bounded::<u64>(0);
    knot::go(move || {
        for n in 1.. {
            if numbers_tx.send(n).is_err() {
                return;
            }
        }
    });
    knot::go(move || {
        for n in &numbers_rx {
            if squares_tx.send(n * n).is_err() {
                return;
            }
        }
    });
    let mut total = 0;
    for square in &squares_rx {
        total += square;
        // BUG: the stages are left blocked once main stops receiving.
        if total >= ENOUGH {
            break;
        }
    }
    assert_eq!(total, ENOUGH);
}

/// The [`SERVICES`] fetched by three tasks that each `add` to the wait
/// group themselves, so main's `wait` may come first and read a partial
/// list.
pub fn services_late_add() {
    let wg = knot::sync::WaitGroup::new();
    let answers = Arc::new(knot::sync::Mutex::new(Vec::new()));
    for service in SERVICES {
        let (wg, answers) = (wg.clone(), Arc::clone(&answers));
        knot::go(move || {
            // BUG: main may be past `wait` already.
            wg.add(1);
            answers.lock().push(service);
            wg.done();
        });
    }
    wg.wait();
    let got = answers.lock().len();
    assert_eq!(got, 3, "main read the answers too early");
}
