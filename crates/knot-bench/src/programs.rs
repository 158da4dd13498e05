//! The programs the benchmarks run, written with knot's primitives.
//!
//! The benches in `benches/` write each program's twin for shuttle or loom
//! next to these, as that tool's users would write it. The programs here
//! are correct; the buggy ones are in [`buggy`].

use std::sync::Arc;

pub mod buggy;

/// The items a pipeline passes from its producer to main.
pub const ITEMS: u32 = 3;

/// The services fetched by the services programs.
pub const SERVICES: [&str; 3] = ["users", "orders", "inventory"];

/// The workers of the pool.
pub const WORKERS: usize = 4;

/// The jobs the pool's workers square.
pub const JOBS: u64 = 20;

/// The sum of the squares of `1..=JOBS`, which the pool computes.
pub const SQUARES: u64 = 2_870;

/// Two tasks each add one to an atomic with `fetch_add`; main joins them
/// and checks 2.
pub fn atomic() {
    use knot::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let hits = Arc::clone(&hits);
            knot::spawn(move || {
                hits.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// Two tasks each lock `a` then `b`, in the same order (the fixed AB-BA),
/// and bump both.
pub fn ordered_locks() {
    use knot::sync::Mutex;
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            knot::spawn(move || {
                let mut first = a.lock();
                let mut second = b.lock();
                *first += 1;
                *second += 1;
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!((*a.lock(), *b.lock()), (2, 2));
}

/// Main spawns `tasks` tasks that each increment a shared counter under a
/// mutex `increments` times, joins them and checks the total.
pub fn counter(tasks: usize, increments: usize) {
    let m = Arc::new(knot::sync::Mutex::new(0));
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

/// A producer sends [`ITEMS`] items to a worker, which passes each on,
/// tenfold, to main, the consumer; both channels are rendezvous channels,
/// and each closes when its sender is dropped.
pub fn pipeline() {
    let (to_worker, from_producer) = knot::chan::bounded::<u32>(0);
    let (to_consumer, from_worker) = knot::chan::bounded::<u32>(0);
    let producer = knot::spawn(move || {
        for item in 1..=ITEMS {
            to_worker.send(item).unwrap();
        }
    });
    let worker = knot::spawn(move || {
        for item in &from_producer {
            to_consumer.send(item * 10).unwrap();
        }
    });
    let got: Vec<u32> = from_worker.iter().collect();
    producer.join().unwrap();
    worker.join().unwrap();
    assert_eq!(got, [10, 20, 30]);
}

/// [`pipeline`] with every stage receiving exactly [`ITEMS`] items instead
/// of until its channel closes, as a loom version must.
pub fn pipeline_counted() {
    let (to_worker, from_producer) = knot::chan::bounded::<u32>(0);
    let (to_main, from_worker) = knot::chan::bounded::<u32>(0);
    let producer = knot::spawn(move || {
        for item in 1..=ITEMS {
            to_worker.send(item).unwrap();
        }
    });
    let worker = knot::spawn(move || {
        for _ in 0..ITEMS {
            let item = from_producer.recv().unwrap();
            to_main.send(item * 10).unwrap();
        }
    });
    let got: Vec<u32> = (0..ITEMS).map(|_| from_worker.recv().unwrap()).collect();
    producer.join().unwrap();
    worker.join().unwrap();
    assert_eq!(got, [10, 20, 30]);
}

/// A waiter waits on a condition variable until a flag is set, checking
/// the flag in a loop; main sets it and notifies.
pub fn condvar() {
    use knot::sync::{Condvar, Mutex};
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let theirs = Arc::clone(&pair);
    let waiter = knot::spawn(move || {
        let (ready, cv) = &*theirs;
        let mut ready = ready.lock();
        while !*ready {
            ready = cv.wait(ready);
        }
    });
    let (ready, cv) = &*pair;
    *ready.lock() = true;
    cv.notify_one();
    waiter.join().unwrap();
}

/// The [`SERVICES`] fetched by three tasks, each storing its answer in a
/// shared list; main waits for them with a `WaitGroup`, Go style.
pub fn services() {
    let wg = knot::sync::WaitGroup::new();
    let answers = Arc::new(knot::sync::Mutex::new(Vec::new()));
    for service in SERVICES {
        wg.add(1);
        let (wg, answers) = (wg.clone(), Arc::clone(&answers));
        knot::go(move || {
            answers.lock().push(service);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(answers.lock().len(), 3);
}

/// [`WORKERS`] workers take jobs from one channel and send squares on
/// another; main sends [`JOBS`] jobs, closes the jobs channel, and sums the
/// results until every worker has gone.
pub fn pool() {
    let (jobs_tx, jobs_rx) = knot::chan::bounded::<u64>(JOBS as usize);
    let (results_tx, results_rx) = knot::chan::bounded::<u64>(JOBS as usize);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (jobs, results) = (jobs_rx.clone(), results_tx.clone());
            knot::spawn(move || {
                for job in &jobs {
                    results.send(job * job).unwrap();
                }
            })
        })
        .collect();
    drop((jobs_rx, results_tx));
    for job in 1..=JOBS {
        jobs_tx.send(job).unwrap();
    }
    drop(jobs_tx);
    let total: u64 = results_rx.iter().sum();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(total, SQUARES);
}
