//! The live M:N runtime: stress tests that must lose nothing, and the
//! properties the scheduler promises (tasks stay on their worker, blocking
//! calls leave the workers free, yields let the others run, the registry
//! says what each task waits for).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use knot::chan;
use knot::runtime::TaskState;
use knot::sync::{Mutex, WaitGroup};

/// Sends `per_producer` numbered messages from each of `producers` tasks
/// through a channel of `capacity`, receives them in `consumers` tasks, and
/// checks that every message arrived exactly once.
fn pass_messages(capacity: usize, producers: usize, consumers: usize, per_producer: usize) {
    let (tx, rx) = chan::bounded::<usize>(capacity);
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            knot::spawn(move || {
                for i in 0..per_producer {
                    tx.send(p * per_producer + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            knot::spawn(move || {
                let mut got = Vec::new();
                while let Ok(message) = rx.recv() {
                    got.push(message);
                }
                got
            })
        })
        .collect();
    drop(rx);
    for s in senders {
        s.join().unwrap();
    }
    let total = producers * per_producer;
    let mut seen = vec![false; total];
    let mut count = 0;
    for r in receivers {
        for message in r.join().unwrap() {
            assert!(!seen[message], "message {message} was received twice");
            seen[message] = true;
            count += 1;
        }
    }
    assert_eq!(count, total, "messages were lost");
}

#[test]
fn a_million_messages_through_a_bounded_channel_arrive_once_each() {
    pass_messages(64, 8, 8, 125_000);
}

#[test]
fn a_million_messages_through_a_rendezvous_channel_arrive_once_each() {
    pass_messages(0, 4, 4, 250_000);
}

#[test]
fn messages_through_one_or_two_slots_arrive_once_each() {
    // Full and empty in turn on every message: most fast operations race
    // a waiter's lock, and settle up after it.
    pass_messages(1, 4, 4, 50_000);
    pass_messages(2, 8, 2, 25_000);
    pass_messages(2, 2, 8, 100_000);
}

#[test]
fn a_wait_group_over_a_hundred_thousand_tasks() {
    const TASKS: usize = 100_000;
    let wg = WaitGroup::new();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        wg.add(1);
        let (wg, done) = (wg.clone(), Arc::clone(&done));
        knot::go(move || {
            done.fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(done.load(Ordering::Relaxed), TASKS);
}

#[test]
fn a_mutex_counter_under_many_tasks_loses_no_increment() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let counter = Arc::clone(&counter);
            knot::spawn(move || {
                for _ in 0..1_000 {
                    *counter.lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock(), 64_000);
}

#[test]
fn a_task_stays_on_its_worker_across_waits() {
    let handles: Vec<_> = (0..32)
        .map(|_| {
            knot::spawn(|| {
                let first = thread::current().id();
                let mut threads = HashSet::new();
                for _ in 0..20 {
                    // Each sleep parks the task; it must come back on the
                    // same thread.
                    knot::time::sleep(Duration::from_micros(200));
                    knot::yield_now();
                    threads.insert(thread::current().id());
                }
                (first, threads)
            })
        })
        .collect();
    for h in handles {
        let (first, threads) = h.join().unwrap();
        assert_eq!(threads.len(), 1);
        assert!(threads.contains(&first));
    }
}

#[test]
fn tasks_run_on_a_few_worker_threads() {
    let handles: Vec<_> = (0..200)
        .map(|_| knot::spawn(|| thread::current().name().map(String::from)))
        .collect();
    let threads: HashSet<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let workers = thread::available_parallelism().map_or(1, usize::from);
    assert!(threads.len() <= workers.max(1), "{threads:?}");
    for name in threads {
        assert!(name.unwrap().starts_with("knot-worker-"));
    }
}

#[test]
fn blocking_calls_run_beside_the_workers() {
    // Six calls that can only finish together: more than there are workers,
    // so they must run on threads of their own.
    const CALLS: usize = 6;
    let barrier = Arc::new(Barrier::new(CALLS));
    let handles: Vec<_> = (0..CALLS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            knot::spawn(move || {
                knot::blocking(move || {
                    barrier.wait();
                    i * 2
                })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results, (0..CALLS).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn a_panic_in_a_blocking_call_resumes_in_its_task() {
    let handle = knot::spawn(|| knot::blocking(|| -> u32 { panic!("disk on fire") }));
    let error = handle.join().unwrap_err();
    assert!(error.is_panic());
    assert!(error.message().contains("disk on fire"), "{error}");
}

#[test]
fn blocking_outside_a_task_runs_in_place() {
    let me = thread::current().id();
    assert!(knot::blocking(move || thread::current().id() == me));
}

#[test]
fn a_blocked_task_shows_what_it_waits_for_and_where() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let line = line!() + 3;
    let handle = knot::task::Builder::new()
        .name("listener")
        .spawn(move || rx.recv());
    let deadline = Instant::now() + Duration::from_secs(10);
    let info = loop {
        let info = knot::runtime::tasks()
            .into_iter()
            .find(|t| t.id == handle.id())
            .expect("registered");
        if info.state == TaskState::Blocked || Instant::now() > deadline {
            break info;
        }
        thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(info.state, TaskState::Blocked, "{info}");
    let blocked = info.blocked.expect("blocked on something");
    assert_eq!(blocked.op.name(), "recv");
    assert_eq!(blocked.object.kind().to_string(), "Chan");
    assert_eq!(blocked.site.file(), file!());
    assert_eq!(blocked.site.line(), line);
    assert!(info.to_string().contains("blocked for"), "{info}");
    tx.send(9).unwrap();
    assert_eq!(handle.join().unwrap(), Ok(9));
}

#[test]
fn a_plain_thread_and_tasks_share_every_primitive() {
    // The test thread parks on the same primitives the tasks suspend on.
    let (tx, rx) = chan::bounded::<u32>(1);
    let wg = WaitGroup::new();
    wg.add(3);
    for i in 0..3 {
        let (tx, wg) = (tx.clone(), wg.clone());
        knot::go(move || {
            tx.send(i).unwrap();
            wg.done();
        });
    }
    let mut got: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
    wg.wait();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn three_services_called_at_once_take_as_long_as_one() {
    let start = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|i| {
            knot::spawn(move || {
                knot::time::sleep(Duration::from_millis(200));
                i
            })
        })
        .collect();
    let answers: Vec<_> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(answers, [0, 1, 2]);
    // Three sequential calls would take 600 ms: the sleeps overlap.
    assert!(
        start.elapsed() < Duration::from_millis(590),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_leak_guard_blames_only_the_test_that_leaked() {
    // Two "tests" on threads of their own, inside their guards at the same
    // time: one leaks a worker, the other joins everything it spawned.
    let both_inside = Arc::new(Barrier::new(2));
    let leaky = {
        let both_inside = Arc::clone(&both_inside);
        thread::Builder::new()
            .name(String::from("tests::leaky"))
            .spawn(move || {
                // The sender outlives the guard: the worker is still blocked
                // when the guard checks, and ends once the test is over.
                let (_keep, never) = chan::bounded::<()>(0);
                std::panic::catch_unwind(move || {
                    let _guard = knot::leak_guard().timeout(Duration::from_millis(200));
                    knot::task::Builder::new()
                        .name("leaked-worker")
                        .go(move || {
                            let _ = never.recv();
                        });
                    both_inside.wait();
                })
            })
            .unwrap()
    };
    let tidy = thread::Builder::new()
        .name(String::from("tests::tidy"))
        .spawn(move || {
            std::panic::catch_unwind(move || {
                let _guard = knot::leak_guard().timeout(Duration::from_millis(200));
                let workers: Vec<_> = (0..4).map(|i| knot::spawn(move || i)).collect();
                both_inside.wait();
                for w in workers {
                    w.join().unwrap();
                }
            })
        })
        .unwrap();
    assert!(tidy.join().unwrap().is_ok(), "the tidy test was blamed");
    let report = leaky.join().unwrap().expect_err("the leak is reported");
    let report = report.downcast::<String>().expect("a text report");
    assert!(report.starts_with("knot: 1 task still alive"), "{report}");
    assert!(report.contains("leaked-worker"), "{report}");
    assert!(report.contains("from thread 'tests::leaky'"), "{report}");
}

/// The example of the README's "Running live" section.
#[test]
fn the_worker_pool_leaves_nothing_behind() {
    let _guard = knot::leak_guard();
    let (jobs, queue) = knot::chan::bounded::<u32>(8);
    let worker = knot::task::Builder::new()
        .name("worker")
        .spawn(move || queue.iter().sum::<u32>());
    for job in 0..10 {
        jobs.send(job).unwrap();
    }
    for task in knot::runtime::tasks() {
        println!("{task}");
    }
    jobs.close();
    assert_eq!(worker.join().unwrap(), 45);
}

/// Waits on a channel when dropped.
struct WaitsWhenDropped(chan::Receiver<()>);

impl Drop for WaitsWhenDropped {
    fn drop(&mut self) {
        let _ = self.0.recv();
    }
}

#[test]
fn a_task_that_cannot_start_fails_and_its_worker_lives_on() {
    let (tx, rx) = chan::bounded::<()>(0);
    let waits = WaitsWhenDropped(rx);
    let refused = knot::task::Builder::new()
        .name("too big")
        .stack_size(usize::MAX)
        .spawn(move || {
            let _waits = &waits;
            1
        });
    let error = refused.join().unwrap_err();
    assert!(!error.is_panic());
    assert!(
        error.message().contains("more than a task may ask for"),
        "{error}"
    );
    // The unrun closure is dropped elsewhere than on a worker: its
    // destructor waits until this send.
    tx.send(()).unwrap();
    // Every worker still runs tasks.
    let handles: Vec<_> = (0..16).map(|i| knot::spawn(move || i)).collect();
    let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 120);
}

#[test]
fn the_checker_runs_inside_a_live_task() {
    // A check is ordinary code: a task may run one, and the checked
    // program's tasks belong to the checker, not to the runtime.
    let checking = knot::spawn(|| {
        let outcome = knot::Checker::new().iterations(50).seed(7).run(|| {
            let m = Arc::new(Mutex::new(0));
            let m2 = Arc::clone(&m);
            let t = knot::spawn(move || *m2.lock() += 1);
            *m.lock() += 1;
            t.join().unwrap();
            assert_eq!(*m.lock(), 2);
        });
        (outcome.executions, outcome.report.is_none())
    });
    let (executions, clean) = checking.join().unwrap();
    assert_eq!(executions, 50);
    assert!(clean);
}

#[test]
fn a_channel_that_a_select_starts_using_mid_stream_loses_nothing() {
    // Plain receives first, with sends going through the fast lane; then
    // the channel joins a select!, which closes the lane for good while
    // sends are in flight. Every value must arrive once, in order.
    const N: u32 = 100_000;
    let (tx, rx) = chan::bounded::<u32>(16);
    let (_stop_tx, stop) = chan::bounded::<()>(0);
    let producer = knot::spawn(move || {
        for i in 0..N {
            tx.send(i).unwrap();
        }
    });
    let consumer = knot::spawn(move || {
        let mut next = 0;
        while next < N / 2 {
            assert_eq!(rx.recv(), Ok(next));
            next += 1;
        }
        while next < N {
            knot::select! {
                recv(rx) -> got => assert_eq!(got, Ok(next)),
                recv(stop) -> _ => unreachable!("nobody stops"),
            }
            next += 1;
        }
        next
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), N);
}

#[test]
fn channels_that_selects_start_using_under_fire_lose_nothing() {
    // The moment a select! first uses a channel, its lane closes with fast
    // sends and receives in flight on other workers: many channels, each
    // switched while two producers and a plain receiver keep at it.
    const CHANNELS: u32 = 200;
    const N: u32 = 2_000;
    for _ in 0..CHANNELS {
        let (tx, rx) = chan::bounded::<u32>(4);
        let (_stop_tx, stop) = chan::bounded::<()>(0);
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let tx = tx.clone();
                knot::spawn(move || {
                    for i in 0..N {
                        tx.send(p * N + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let plain = {
            let rx = rx.clone();
            knot::spawn(move || {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv() {
                    got.push(v);
                }
                got
            })
        };
        let selecting = knot::spawn(move || {
            let mut got = Vec::new();
            loop {
                knot::select! {
                    recv(rx) -> v => match v {
                        Ok(v) => got.push(v),
                        Err(_) => return got,
                    },
                    recv(stop) -> _ => unreachable!("nobody stops"),
                }
            }
        });
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<u32> = plain.join().unwrap();
        all.extend(selecting.join().unwrap());
        all.sort_unstable();
        assert_eq!(
            all,
            (0..2 * N).collect::<Vec<_>>(),
            "a value was lost or doubled"
        );
    }
}

#[test]
fn every_send_that_succeeds_before_a_close_is_received_before_it() {
    // A producer sends until the channel closes under it: each value it
    // sent must reach the receiver before the receiver learns of the close.
    for round in 0..1_000u32 {
        let (tx, rx) = if round % 2 == 0 {
            chan::unbounded::<u32>()
        } else {
            chan::bounded::<u32>(4)
        };
        let closer = tx.clone();
        let producer = knot::spawn(move || {
            (0..1_000_000)
                .take_while(|&i| {
                    // A task that never waits keeps its worker; the closer
                    // may be waiting for it there.
                    if i % 1024 == 0 {
                        knot::yield_now();
                    }
                    tx.send(i).is_ok()
                })
                .count()
        });
        let close = knot::spawn(move || {
            for _ in 0..round % 64 {
                knot::yield_now();
            }
            closer.close();
        });
        let received = rx.iter().count();
        let sent = producer.join().unwrap();
        close.join().unwrap();
        let late = rx.try_iter().count();
        assert_eq!(
            (received, late),
            (sent, 0),
            "round {round}: {sent} sends succeeded, {received} values came before the \
             close and {late} after"
        );
    }
}

/// A value whose destructor uses a knot primitive, as a value holding a
/// channel end or a guard may, then says on which thread it ran.
struct YieldsOnDrop(chan::Sender<thread::ThreadId>);

impl Drop for YieldsOnDrop {
    fn drop(&mut self) {
        // Only a task or a plain thread may yield: on a worker outside any
        // task this panics, and nothing is sent.
        knot::yield_now();
        let _ = self.0.send(thread::current().id());
    }
}

#[test]
fn a_detached_tasks_result_is_dropped_by_the_task() {
    for _ in 0..20 {
        let (dropped_tx, dropped) = chan::bounded(1);
        let (go_tx, go) = chan::bounded::<()>(0);
        let handle = knot::spawn(move || {
            go.recv().unwrap();
            YieldsOnDrop(dropped_tx)
        });
        // Detached before the task ends: its result has no taker.
        drop(handle);
        go_tx.send(()).unwrap();
        dropped
            .recv_timeout(Duration::from_secs(5))
            .expect("the result's destructor ran to its end, inside the task");
    }
}

#[test]
fn a_finished_tasks_result_is_dropped_with_its_handle() {
    let (dropped_tx, dropped) = chan::bounded(1);
    let handle = knot::spawn(move || YieldsOnDrop(dropped_tx));
    while !handle.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    // Detached after the task ended: the handle's thread drops the result.
    drop(handle);
    let on = dropped
        .recv_timeout(Duration::from_secs(5))
        .expect("the result's destructor ran to its end");
    assert_eq!(on, thread::current().id());
}
