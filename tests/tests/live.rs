//! The same primitives outside the checker: tasks run concurrently for real
//! (coroutines on the runtime's workers), locks exclude, waits wake, and misuse that the
//! checker would report panics with the same message.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;
use std::time::Instant;

use knot::sync::atomic::{AtomicUsize, Ordering};
use knot::sync::{Condvar, Mutex, RwLock, WaitGroup};
use knot::task::Builder;
use knot_tests::support::{panic_text, PATIENCE};

#[test]
fn spawn_and_join_return_values() {
    let handles: Vec<_> = (0..4_u64).map(|i| knot::spawn(move || i * i)).collect();
    let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(squares, [0, 1, 4, 9]);

    let owned = String::from("moved in");
    let h = knot::spawn(move || owned.len());
    assert_eq!(h.join().unwrap(), 8);
}

#[test]
fn a_builder_names_the_task() {
    let (tx, rx) = knot::chan::bounded::<()>(0);
    let h = Builder::new()
        .name("fetcher")
        .stack_size(512 * 1024)
        .spawn(move || rx.recv());
    let name = knot::runtime::tasks()
        .into_iter()
        .find(|t| t.id == h.id())
        .map(|t| t.name);
    tx.send(()).unwrap();
    assert_eq!(h.join().unwrap(), Ok(()));
    assert_eq!(name.as_deref(), Some("fetcher"));
}

#[test]
fn tasks_run_concurrently() {
    // Both tasks must be inside at once: each yields until the other has
    // come in, on the same worker or on another.
    let inside = Arc::new(StdAtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let inside = Arc::clone(&inside);
            knot::spawn(move || {
                inside.fetch_add(1, StdOrdering::SeqCst);
                let start = Instant::now();
                while inside.load(StdOrdering::SeqCst) < 2 {
                    assert!(start.elapsed() < PATIENCE, "the other task never ran");
                    knot::yield_now();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn a_panicking_task_joins_as_an_error() {
    let h = Builder::new()
        .name("fragile")
        .spawn(|| -> u8 { panic!("fragile task broke: {}", 7) });
    let err = h.join().expect_err("the task panicked");
    assert!(err.is_panic());
    assert_eq!(err.message(), "fragile task broke: 7");
    assert!(
        err.to_string().contains("panicked: fragile task broke: 7"),
        "{err}"
    );
    let payload = err.into_panic();
    assert_eq!(panic_text(&*payload), "fragile task broke: 7");
}

#[test]
fn a_dropped_handle_detaches_the_task() {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    knot::go(move || w.done());
    wg.wait();
    assert_eq!(wg.count(), 0);
}

#[test]
fn mutex_counter_is_exact() {
    let counter = Arc::new(Mutex::new(0_u64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let counter = Arc::clone(&counter);
            knot::spawn(move || {
                for _ in 0..1_000 {
                    let mut g = counter.lock();
                    // A read and a write apart: only exclusion keeps them
                    // together.
                    let v = *g;
                    std::hint::black_box(&v);
                    *g = v + 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock(), 8_000);
    let counter = Arc::try_unwrap(counter).expect("every task is done");
    assert_eq!(counter.into_inner(), 8_000);
}

#[test]
fn try_lock_fails_while_held() {
    let m = Arc::new(Mutex::new(1));
    let g = m.lock();
    let m2 = Arc::clone(&m);
    let other = knot::spawn(move || m2.try_lock().map(|g| *g));
    assert_eq!(other.join().unwrap(), None);
    drop(g);
    let m2 = Arc::clone(&m);
    assert_eq!(
        knot::spawn(move || m2.try_lock().map(|g| *g))
            .join()
            .unwrap(),
        Some(1)
    );
}

#[test]
fn rwlock_readers_hold_it_together() {
    const READERS: usize = 4;
    let lock = Arc::new(RwLock::new(5));
    let inside = Arc::new(StdAtomicUsize::new(0));
    let handles: Vec<_> = (0..READERS)
        .map(|_| {
            let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
            knot::spawn(move || {
                let g = lock.read();
                inside.fetch_add(1, StdOrdering::SeqCst);
                // Every reader waits, holding its read lock, until all of
                // them are in: only shared access lets that happen.
                let start = Instant::now();
                while inside.load(StdOrdering::SeqCst) < READERS {
                    assert!(
                        start.elapsed() < PATIENCE,
                        "readers were not let in together"
                    );
                    // Tasks share workers: let the other readers run.
                    knot::yield_now();
                }
                assert!(lock.try_write().is_none(), "a writer got in beside readers");
                *g
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 5);
    }
    *lock.write() += 1;
    assert_eq!(*lock.read(), 6);
}

#[test]
fn rwlock_writer_excludes_readers() {
    let lock = Arc::new(RwLock::new(Vec::new()));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let lock = Arc::clone(&lock);
            knot::spawn(move || {
                for j in 0..250 {
                    if j % 5 == 0 {
                        let mut w = lock.write();
                        let len = w.len();
                        w.push(i);
                        assert_eq!(w.len(), len + 1);
                    } else {
                        let r = lock.read();
                        let len = r.len();
                        std::hint::black_box(&*r);
                        assert_eq!(r.len(), len, "a write happened under a read lock");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(lock.read().len(), 4 * 50);
}

#[test]
fn condvar_hands_values_over() {
    // A one-slot channel: the producer waits for the slot to empty, the
    // consumer for it to fill.
    let shared = Arc::new((Mutex::new(None::<u32>), Condvar::new(), Condvar::new()));
    let s = Arc::clone(&shared);
    let producer = Builder::new().name("producer").spawn(move || {
        let (slot, filled, emptied) = &*s;
        for i in 1..=100 {
            let mut g = emptied.wait_while(slot.lock(), |v| v.is_some());
            *g = Some(i);
            drop(g);
            filled.notify_one();
        }
    });
    let s = Arc::clone(&shared);
    let consumer = Builder::new().name("consumer").spawn(move || {
        let (slot, filled, emptied) = &*s;
        let mut received = Vec::new();
        while received.len() < 100 {
            let mut g = filled.wait_while(slot.lock(), |v| v.is_none());
            received.push(g.take().unwrap());
            drop(g);
            emptied.notify_all();
        }
        received
    });
    producer.join().unwrap();
    let received = consumer.join().unwrap();
    assert_eq!(received, (1..=100).collect::<Vec<u32>>());
}

#[test]
fn condvar_wait_returns_after_notify() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = Arc::clone(&pair);
    let waiter = knot::spawn(move || {
        let (ready, cv) = &*p;
        let mut g = ready.lock();
        while !*g {
            g = cv.wait(g);
        }
        *g
    });
    let (ready, cv) = &*pair;
    *ready.lock() = true;
    cv.notify_all();
    assert!(waiter.join().unwrap());
}

#[test]
fn waitgroup_waits_for_a_hundred_tasks() {
    let wg = WaitGroup::new();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        wg.add(1);
        let (wg, done) = (wg.clone(), Arc::clone(&done));
        knot::go(move || {
            done.fetch_add(1, Ordering::SeqCst);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(done.load(Ordering::SeqCst), 100);
    assert_eq!(wg.count(), 0);
    // A group at zero does not wait.
    wg.wait();
}

#[test]
fn waitgroup_wakes_several_waiters() {
    let wg = WaitGroup::new();
    wg.add(1);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let wg = wg.clone();
            knot::spawn(move || wg.wait())
        })
        .collect();
    wg.done();
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn relocking_a_mutex_panics_with_a_message() {
    let m = Mutex::new(0);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _first = m.lock();
        let _second = m.lock();
    }));
    let payload = result.expect_err("a relock panics instead of hanging");
    let text = panic_text(&*payload);
    assert!(text.starts_with("knot: "), "{text}");
    assert!(text.contains("already holds"), "{text}");
    assert!(text.contains("Mutex#"), "{text}");
    assert!(
        text.contains("live.rs"),
        "the message names the creation site: {text}"
    );
    // The panic released the first guard: the mutex is usable again.
    *m.lock() += 1;
    assert_eq!(*m.lock(), 1);
}

#[test]
fn reading_an_rwlock_held_for_writing_panics() {
    let l = RwLock::new(0);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let _w = l.write();
        let _r = l.read();
    }));
    let text = panic_text(&*result.expect_err("a self-deadlock panics"));
    assert!(text.contains("RwLock#"), "{text}");
    assert!(text.contains("already holds it"), "{text}");
    assert_eq!(*l.read(), 0);
}

#[test]
fn a_negative_waitgroup_panics() {
    let wg = WaitGroup::new();
    let result = panic::catch_unwind(AssertUnwindSafe(|| wg.done()));
    let text = panic_text(&*result.expect_err("going below zero panics"));
    assert!(text.contains("went negative"), "{text}");
    assert!(text.contains("WaitGroup#"), "{text}");
}
