//! A live AB-BA deadlock: the runtime's monitor reports it instead of
//! hanging, with each task's wait and the locks it holds, which is the
//! wait-for cycle.
//!
//! A binary of its own: the deadlocked tasks stay blocked until the process
//! ends, and the runtime is configured with a short deadlock timeout.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use knot::sync::{Mutex, WaitGroup};

/// Starts the runtime with a short deadlock timeout, once.
fn setup() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        knot::runtime::Builder::new()
            .deadlock_timeout(Some(Duration::from_millis(300)))
            .start()
            .expect("nothing else starts the runtime in this binary");
    });
}

#[test]
fn two_tasks_taking_two_locks_in_the_same_order_finish() {
    setup();
    let first = Arc::new(Mutex::new(0));
    let second = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (a, b) = (Arc::clone(&first), Arc::clone(&second));
            knot::spawn(move || {
                for _ in 0..100 {
                    let mut a = a.lock();
                    let mut b = b.lock();
                    *a += 1;
                    *b += 1;
                    // Hold both for a while, so that the other task waits.
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!((*first.lock(), *second.lock()), (200, 200));
}

#[test]
fn two_tasks_taking_two_locks_in_opposite_orders_are_reported_with_what_they_hold() {
    setup();
    let first = Arc::new(Mutex::new("first"));
    let second = Arc::new(Mutex::new("second"));
    // Both take their first lock before either asks for its second.
    let both_hold_one = WaitGroup::new();
    both_hold_one.add(2);
    let transfer = |name: &str, a: &Arc<Mutex<&'static str>>, b: &Arc<Mutex<&'static str>>| {
        let (a, b, both) = (Arc::clone(a), Arc::clone(b), both_hold_one.clone());
        knot::task::Builder::new().name(name).spawn(move || {
            let _a = a.lock();
            both.done();
            both.wait();
            let _b = b.lock();
        })
    };
    let alice = transfer("alice pays bob", &first, &second);
    let bob = transfer("bob pays alice", &second, &first);

    let result = panic::catch_unwind(AssertUnwindSafe(|| alice.join()));
    let payload = result.expect_err("the deadlock must be reported");
    let report = payload.downcast::<String>().expect("a text report");
    assert!(report.starts_with("knot: deadlock:"), "{report}");
    for line in ["alice pays bob (task#", "bob pays alice (task#"] {
        let task = report
            .lines()
            .find(|l| l.contains(line))
            .unwrap_or_else(|| panic!("{line} missing from:\n{report}"));
        assert!(task.contains("on lock on Mutex#"), "{task}");
        assert!(task.contains(", holding Mutex#"), "{task}");
    }
    assert!(report.contains("wait-for graph:"), "{report}");
    assert!(
        report.contains(") -> Mutex#") && report.contains("-> held by bob pays alice (task#"),
        "{report}"
    );
    drop(bob);
}
