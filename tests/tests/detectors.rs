//! Every detector of the checker, each with a buggy program it must catch and
//! the fixed twin it must pass with the same seed and budget.
//!
//! A caught bug is checked in detail: the kind of the report, the tasks it
//! names (every task here has a name), their states, what they are blocked
//! on and which of them the report holds responsible.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::{Arc, Mutex as StdMutex};

use knot::report::{Report, TaskState};
use knot::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use knot::sync::{Condvar, Mutex, RwLock, WaitGroup};
use knot::task::Builder;
use knot::{Checker, Outcome, ReportKind};
use knot_tests::support::{self, expect_report, involved, named, task};

const SEED: u64 = 0x5eed_0001;
const ITERATIONS: u64 = 1_000;

/// The checker every test of this file uses: a fixed seed, a bounded budget.
fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Asserts that an outcome found nothing in all of [`ITERATIONS`], showing
/// the report if it did.
fn expect_clean(outcome: &Outcome) {
    support::expect_clean(outcome, ITERATIONS);
}

/// Asserts that the task named `name` is blocked in `operation` on an
/// object of kind `kind` created in this file, and returns the object's id.
fn assert_blocked(report: &Report, name: &str, operation: &str, kind: &str) -> u64 {
    let blocked = support::blocked_on(report, name, operation, kind);
    if kind != "task" {
        let created = blocked.object.created.as_ref().expect("a creation site");
        assert!(
            created.file.ends_with("detectors.rs"),
            "the object's creation site is in this file: {created}\n{report}"
        );
    }
    let site = blocked.site.as_ref().expect("a call site");
    assert!(
        site.file.ends_with("detectors.rs"),
        "the blocking call is in this file: {site}\n{report}"
    );
    blocked.object.id
}

/// The id of the task named `name`.
fn id_of(report: &Report, name: &str) -> u64 {
    task(report, name).id
}

// ---------------------------------------------------------------------------
// Deadlock: AB-BA
// ---------------------------------------------------------------------------

fn two_locks(consistent: bool) {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a1, b1) = (Arc::clone(&a), Arc::clone(&b));
    let first = named("ab", move || {
        let _a = a1.lock();
        let _b = b1.lock();
    });
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    let second = named("ba", move || {
        if consistent {
            let _a = a2.lock();
            let _b = b2.lock();
        } else {
            let _b = b2.lock();
            let _a = a2.lock();
        }
    });
    first.join().unwrap();
    second.join().unwrap();
}

#[test]
fn abba_deadlock_is_found_with_its_wait_for_graph() {
    let report = expect_report(checker().run(|| two_locks(false)), ReportKind::Deadlock);
    assert_eq!(involved(&report), ["ab", "ba"], "{report}");

    let ab = id_of(&report, "ab");
    let ba = id_of(&report, "ba");
    let ab_waits = assert_blocked(&report, "ab", "lock", "Mutex");
    let ba_waits = assert_blocked(&report, "ba", "lock", "Mutex");
    assert_ne!(ab_waits, ba_waits, "{report}");
    // Each holds the mutex the other waits for.
    let holds =
        |name: &str| -> Vec<u64> { task(&report, name).holds.iter().map(|o| o.id).collect() };
    assert_eq!(holds("ab"), [ba_waits], "{report}");
    assert_eq!(holds("ba"), [ab_waits], "{report}");

    // Main is a bystander, waiting to join.
    assert!(!task(&report, "main").involved, "{report}");
    assert_blocked(&report, "main", "join", "task");

    let edge = |from: u64| {
        report
            .wait_for
            .iter()
            .find(|e| e.task == from)
            .unwrap_or_else(|| panic!("no wait-for edge from task {from}:\n{report}"))
    };
    let e = edge(ab);
    assert_eq!((e.object.kind.as_str(), e.object.id), ("Mutex", ab_waits));
    assert_eq!(e.holders, [ba], "{report}");
    let e = edge(ba);
    assert_eq!((e.object.kind.as_str(), e.object.id), ("Mutex", ba_waits));
    assert_eq!(e.holders, [ab], "{report}");

    let text = report.to_string();
    assert!(
        text.contains(&format!("\"ab\" -> Mutex#{ab_waits} -> held by \"ba\"")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"ba\" -> Mutex#{ba_waits} -> held by \"ab\"")),
        "{text}"
    );
}

#[test]
fn same_lock_order_has_no_deadlock() {
    expect_clean(&checker().run(|| two_locks(true)));
}

fn three_locks(cycle: bool) {
    let locks: Vec<Arc<Mutex<u32>>> = (0..3).map(|_| Arc::new(Mutex::new(0))).collect();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            // Task i takes lock i then lock i+1: a cycle of three, unless
            // the last task takes its two locks lowest first.
            let (first, second) = if !cycle && i == 2 {
                (0, 2)
            } else {
                (i, (i + 1) % 3)
            };
            let (a, b) = (Arc::clone(&locks[first]), Arc::clone(&locks[second]));
            named(&format!("philosopher-{i}"), move || {
                let mut a = a.lock();
                let mut b = b.lock();
                *a += 1;
                *b += 1;
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn a_three_task_lock_cycle_is_a_deadlock() {
    let report = expect_report(checker().run(|| three_locks(true)), ReportKind::Deadlock);
    assert_eq!(
        involved(&report),
        ["philosopher-0", "philosopher-1", "philosopher-2"],
        "{report}"
    );
    for i in 0..3 {
        let name = format!("philosopher-{i}");
        let next = format!("philosopher-{}", (i + 1) % 3);
        let waits_on = assert_blocked(&report, &name, "lock", "Mutex");
        let edge = report
            .wait_for
            .iter()
            .find(|e| e.task == id_of(&report, &name))
            .expect("an edge");
        assert_eq!(edge.object.id, waits_on);
        assert_eq!(edge.holders, [id_of(&report, &next)], "{report}");
    }
}

#[test]
fn a_global_lock_order_breaks_the_cycle() {
    expect_clean(&checker().run(|| three_locks(false)));
}

fn join_while_holding(release_first: bool) {
    let m = Arc::new(Mutex::new(0));
    let m2 = Arc::clone(&m);
    let guard = m.lock();
    let child = named("child", move || *m2.lock() += 1);
    if release_first {
        drop(guard);
        child.join().unwrap();
    } else {
        child.join().unwrap();
        drop(guard);
    }
}

#[test]
fn joining_a_task_that_needs_a_held_lock_is_a_deadlock() {
    let report = expect_report(
        checker().run(|| join_while_holding(false)),
        ReportKind::Deadlock,
    );
    assert_eq!(involved(&report), ["child", "main"], "{report}");
    let mutex = assert_blocked(&report, "child", "lock", "Mutex");
    assert_blocked(&report, "main", "join", "task");
    let main_holds: Vec<u64> = task(&report, "main").holds.iter().map(|o| o.id).collect();
    assert_eq!(main_holds, [mutex], "{report}");
    let child = id_of(&report, "child");
    let edges: Vec<(u64, Vec<u64>)> = report
        .wait_for
        .iter()
        .map(|e| (e.task, e.holders.clone()))
        .collect();
    assert!(edges.contains(&(0, vec![child])), "{report}");
    assert!(edges.contains(&(child, vec![0])), "{report}");
}

#[test]
fn releasing_the_lock_before_joining_is_fine() {
    expect_clean(&checker().run(|| join_while_holding(true)));
}

#[test]
fn a_forgotten_guard_blocks_the_next_locker_forever() {
    let outcome = checker().run(|| {
        let m = Arc::new(Mutex::new(0));
        let m2 = Arc::clone(&m);
        named("forgetter", move || std::mem::forget(m2.lock()))
            .join()
            .unwrap();
        *m.lock() += 1;
    });
    let report = expect_report(outcome, ReportKind::Deadlock);
    let mutex = assert_blocked(&report, "main", "lock", "Mutex");
    let forgetter = task(&report, "forgetter");
    assert_eq!(forgetter.state, TaskState::Finished, "{report}");
    assert_eq!(
        forgetter.holds.iter().map(|o| o.id).collect::<Vec<_>>(),
        [mutex]
    );
    let edge = report
        .wait_for
        .iter()
        .find(|e| e.task == 0)
        .expect("an edge");
    assert_eq!(edge.holders, [forgetter.id], "{report}");
    assert!(
        report.to_string().contains(&format!(
            "\"main\" -> Mutex#{mutex} -> held by \"forgetter\""
        )),
        "{report}"
    );
}

#[test]
fn a_failed_try_lock_is_not_a_deadlock() {
    let outcome = checker().run(|| {
        let m = Arc::new(Mutex::new(0));
        let m2 = Arc::clone(&m);
        let g = m.lock();
        let t = named("trier", move || m2.try_lock().map(|g| *g));
        knot::yield_now();
        drop(g);
        let seen = t.join().unwrap();
        assert!(seen.is_none() || seen == Some(0));
    });
    expect_clean(&outcome);
}

// ---------------------------------------------------------------------------
// Deadlock: relocking what the task holds
// ---------------------------------------------------------------------------

fn relock_mutex(drop_first: bool) {
    let m = Arc::new(Mutex::new(1));
    let m2 = Arc::clone(&m);
    let t = named("relocker", move || {
        let first = m2.lock();
        let value = *first;
        if drop_first {
            drop(first);
            *m2.lock() += value;
        } else {
            *m2.lock() += value;
            drop(first);
        }
    });
    t.join().unwrap();
    assert_eq!(*m.lock(), 2);
}

#[test]
fn relocking_a_held_mutex_is_a_deadlock() {
    let report = expect_report(checker().run(|| relock_mutex(false)), ReportKind::Deadlock);
    assert!(report.message().contains("already holds"), "{report}");
    assert!(report.message().contains("\"relocker\""), "{report}");
    assert_eq!(involved(&report), ["relocker"], "{report}");
    let mutex = assert_blocked(&report, "relocker", "lock", "Mutex");
    let holds: Vec<u64> = task(&report, "relocker")
        .holds
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        holds,
        [mutex],
        "the task holds what it waits for:\n{report}"
    );
    // It is found in the first execution: no interleaving is needed.
    assert_eq!(report.search.as_ref().map(|s| s.execution), Some(1));
}

#[test]
fn dropping_the_guard_before_relocking_is_fine() {
    expect_clean(&checker().run(|| relock_mutex(true)));
}

fn rwlock_write_then_read(drop_first: bool) {
    let l = Arc::new(RwLock::new(1));
    let l2 = Arc::clone(&l);
    let t = named("writer", move || {
        let mut w = l2.write();
        *w += 1;
        if drop_first {
            drop(w);
            assert_eq!(*l2.read(), 2);
        } else {
            assert_eq!(*l2.read(), 2);
            drop(w);
        }
    });
    t.join().unwrap();
}

#[test]
fn reading_an_rwlock_held_for_writing_is_a_deadlock() {
    let report = expect_report(
        checker().run(|| rwlock_write_then_read(false)),
        ReportKind::Deadlock,
    );
    assert!(report.message().contains("already holds it"), "{report}");
    assert!(report.message().contains("read mode"), "{report}");
    assert!(report.message().contains("\"writer\""), "{report}");
    assert_eq!(involved(&report), ["writer"], "{report}");
    let lock = assert_blocked(&report, "writer", "read", "RwLock");
    let holds: Vec<u64> = task(&report, "writer").holds.iter().map(|o| o.id).collect();
    assert_eq!(holds, [lock], "{report}");
}

#[test]
fn releasing_the_write_lock_before_reading_is_fine() {
    expect_clean(&checker().run(|| rwlock_write_then_read(true)));
}

// ---------------------------------------------------------------------------
// Deadlock: recursive read with a waiting writer
// ---------------------------------------------------------------------------

fn recursive_read(relock: bool) {
    let l = Arc::new(RwLock::new(0));
    let la = Arc::clone(&l);
    let reader = named("reader", move || {
        let first = la.read();
        // The writer may queue up here: a writer-preferring lock then makes
        // every new read wait, this task's own included.
        knot::yield_now();
        if relock {
            let second = la.read();
            assert_eq!(*first, *second);
        } else {
            assert!(*first <= 1);
        }
    });
    let lb = Arc::clone(&l);
    let writer = named("writer", move || *lb.write() += 1);
    reader.join().unwrap();
    writer.join().unwrap();
    assert_eq!(*l.read(), 1);
}

#[test]
fn recursive_read_with_a_waiting_writer_is_a_deadlock() {
    let report = expect_report(checker().run(|| recursive_read(true)), ReportKind::Deadlock);
    assert_eq!(
        report.message(),
        "every task is blocked and main has not returned"
    );
    let lock = assert_blocked(&report, "reader", "read", "RwLock");
    assert_eq!(assert_blocked(&report, "writer", "write", "RwLock"), lock);
    let holds: Vec<u64> = task(&report, "reader").holds.iter().map(|o| o.id).collect();
    assert_eq!(holds, [lock], "the reader holds its first read:\n{report}");
    assert!(task(&report, "writer").holds.is_empty(), "{report}");
    assert!(task(&report, "reader").involved, "{report}");
    assert_blocked(&report, "main", "join", "task");
    // The writer waits for the reader's hold.
    let reader = id_of(&report, "reader");
    let writer_edge = report
        .wait_for
        .iter()
        .find(|e| e.task == id_of(&report, "writer"))
        .expect("an edge from the writer");
    assert_eq!(writer_edge.holders, [reader], "{report}");
}

/// The reader waits on the writer's queued request, not on itself: the
/// report should make the writer a culprit and say that the reader waits for
/// it.
#[test]
fn recursive_read_deadlock_blames_the_waiting_writer_too() {
    let report = expect_report(checker().run(|| recursive_read(true)), ReportKind::Deadlock);
    assert_eq!(involved(&report), ["reader", "writer"], "{report}");
    let writer = id_of(&report, "writer");
    let reader_edge = report
        .wait_for
        .iter()
        .find(|e| e.task == id_of(&report, "reader"))
        .expect("an edge from the reader");
    assert!(reader_edge.holders.contains(&writer), "{report}");
}

#[test]
fn a_reader_that_does_not_relock_is_fine() {
    expect_clean(&checker().run(|| recursive_read(false)));
}

// ---------------------------------------------------------------------------
// Deadlock: Condvar lost wake-up
// ---------------------------------------------------------------------------

fn condvar_handoff(check_flag: bool) {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = Arc::clone(&pair);
    let waiter = named("waiter", move || {
        let (ready, cv) = &*p;
        if check_flag {
            let guard = cv.wait_while(ready.lock(), |ready| !*ready);
            assert!(*guard);
        } else {
            // Waits without looking at the flag: if the notification came
            // first, it is lost.
            let guard = ready.lock();
            drop(cv.wait(guard));
        }
    });
    let p = Arc::clone(&pair);
    let notifier = named("notifier", move || {
        let (ready, cv) = &*p;
        *ready.lock() = true;
        cv.notify_one();
    });
    waiter.join().unwrap();
    notifier.join().unwrap();
}

#[test]
fn condvar_lost_wakeup_is_a_deadlock() {
    let report = expect_report(
        checker().run(|| condvar_handoff(false)),
        ReportKind::Deadlock,
    );
    let cv = assert_blocked(&report, "waiter", "wait", "Condvar");
    assert!(task(&report, "waiter").involved, "{report}");
    assert!(task(&report, "waiter").holds.is_empty(), "{report}");
    assert_eq!(
        task(&report, "notifier").state,
        TaskState::Finished,
        "{report}"
    );
    assert!(!task(&report, "notifier").involved, "{report}");
    assert_blocked(&report, "main", "join", "task");
    let edge = report
        .wait_for
        .iter()
        .find(|e| e.task == id_of(&report, "waiter"))
        .expect("an edge from the waiter");
    assert_eq!((edge.object.kind.as_str(), edge.object.id), ("Condvar", cv));
    assert!(edge.holders.is_empty(), "nobody can wake it:\n{report}");
    assert!(
        report.to_string().contains("nobody can wake it"),
        "{report}"
    );
}

#[test]
fn condvar_wait_while_on_a_flag_is_fine() {
    expect_clean(&checker().run(|| condvar_handoff(true)));
}

fn two_waiters(notify_all: bool) {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let waiters: Vec<_> = ["waiter-1", "waiter-2"]
        .into_iter()
        .map(|name| {
            let p = Arc::clone(&pair);
            named(name, move || {
                let (ready, cv) = &*p;
                drop(cv.wait_while(ready.lock(), |ready| !*ready));
            })
        })
        .collect();
    let (ready, cv) = &*pair;
    *ready.lock() = true;
    if notify_all {
        cv.notify_all();
    } else {
        // One wake-up for two waiters: if both already wait, one of them
        // waits forever.
        cv.notify_one();
    }
    for w in waiters {
        w.join().unwrap();
    }
}

#[test]
fn notify_one_for_two_waiters_is_a_deadlock() {
    let report = expect_report(checker().run(|| two_waiters(false)), ReportKind::Deadlock);
    // One waiter got the wake-up and finished; the other waits forever, and
    // main waits for it. With no lock cycle, every blocked task is a culprit.
    let (stuck, woken) = if task(&report, "waiter-1").state == TaskState::Finished {
        ("waiter-2", "waiter-1")
    } else {
        ("waiter-1", "waiter-2")
    };
    assert_eq!(task(&report, woken).state, TaskState::Finished, "{report}");
    assert_blocked(&report, stuck, "wait", "Condvar");
    assert_blocked(&report, "main", "join", "task");
    let mut expected = ["main", stuck];
    expected.sort_unstable();
    assert_eq!(involved(&report), expected, "{report}");
    let edge = report
        .wait_for
        .iter()
        .find(|e| e.task == id_of(&report, stuck))
        .expect("an edge from the stuck waiter");
    assert!(edge.holders.is_empty(), "{report}");
}

#[test]
fn notify_all_for_two_waiters_is_fine() {
    expect_clean(&checker().run(|| two_waiters(true)));
}

// ---------------------------------------------------------------------------
// Deadlock: a WaitGroup that never reaches zero
// ---------------------------------------------------------------------------

fn waitgroup_join_all(adds: i64) {
    let wg = WaitGroup::new();
    wg.add(adds);
    let w = wg.clone();
    let worker = named("worker", move || w.done());
    let w = wg.clone();
    let waiter = named("waiter", move || w.wait());
    worker.join().unwrap();
    waiter.join().unwrap();
}

#[test]
fn waitgroup_that_never_reaches_zero_is_a_deadlock() {
    let report = expect_report(
        checker().run(|| waitgroup_join_all(2)),
        ReportKind::Deadlock,
    );
    assert_blocked(&report, "waiter", "wait", "WaitGroup");
    assert_eq!(
        task(&report, "worker").state,
        TaskState::Finished,
        "{report}"
    );
    assert!(task(&report, "waiter").involved, "{report}");
    assert!(!task(&report, "worker").involved, "{report}");
    let waiter = id_of(&report, "waiter");
    let main_edge = report
        .wait_for
        .iter()
        .find(|e| e.task == 0)
        .expect("an edge from main");
    assert_eq!(main_edge.object.kind, "task");
    assert_eq!(main_edge.holders, [waiter], "main waits to join the waiter");
}

#[test]
fn waitgroup_with_the_right_count_is_fine() {
    expect_clean(&checker().run(|| waitgroup_join_all(1)));
}

// ---------------------------------------------------------------------------
// Leak
// ---------------------------------------------------------------------------

fn leak(daemon: bool, finish: bool) {
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    drop(
        Builder::new()
            .name("stuck")
            .daemon(daemon)
            .spawn(move || w.wait()),
    );
    if finish {
        wg.done();
    }
}

#[test]
fn a_task_blocked_when_main_returns_is_a_leak() {
    let report = expect_report(checker().run(|| leak(false, false)), ReportKind::Leak);
    assert!(report.message().contains("\"stuck\""), "{report}");
    assert_eq!(involved(&report), ["stuck"], "{report}");
    assert_blocked(&report, "stuck", "wait", "WaitGroup");
    assert!(!task(&report, "stuck").daemon);
    assert_eq!(task(&report, "main").state, TaskState::Finished, "{report}");
}

#[test]
fn a_go_task_blocked_when_main_returns_is_a_leak_named_after_its_number() {
    let outcome = checker().run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        knot::go(move || w.wait());
    });
    let report = expect_report(outcome, ReportKind::Leak);
    assert_eq!(involved(&report), ["task-1"], "{report}");
    assert_blocked(&report, "task-1", "wait", "WaitGroup");
}

#[test]
fn finishing_the_waitgroup_before_main_returns_is_fine() {
    expect_clean(&checker().run(|| leak(false, true)));
}

#[test]
fn a_daemon_blocked_when_main_returns_is_fine() {
    expect_clean(&checker().run(|| leak(true, false)));
}

/// Locks a mutex when dropped: a destructor that blocks if another task
/// holds the mutex.
struct LockOnDrop(Arc<Mutex<u32>>);

impl Drop for LockOnDrop {
    fn drop(&mut self) {
        *self.0.lock() += 1;
    }
}

/// Daemons left blocked at the end of every execution are torn down; a
/// destructor that locks (and would block) during the teardown must not
/// break the checker, nor turn into a report.
#[test]
fn tearing_down_daemons_whose_destructors_lock_is_quiet() {
    let outcome = checker().run(|| {
        let m = Arc::new(Mutex::new(0));
        let never = WaitGroup::new();
        never.add(1);
        let (m1, w1) = (Arc::clone(&m), never.clone());
        drop(Builder::new().name("dropper").daemon(true).spawn(move || {
            let _d = LockOnDrop(m1);
            w1.wait();
        }));
        let (m2, w2) = (Arc::clone(&m), never.clone());
        drop(Builder::new().name("holder").daemon(true).spawn(move || {
            let _g = m2.lock();
            w2.wait();
        }));
        knot::yield_now();
    });
    expect_clean(&outcome);
}

// ---------------------------------------------------------------------------
// Unjoined
// ---------------------------------------------------------------------------

fn late_store(join: bool) {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let t = named("storer", move || f.store(true, Ordering::SeqCst));
    if join {
        t.join().unwrap();
        assert!(flag.load(Ordering::SeqCst));
    } else {
        drop(t);
    }
}

#[test]
fn a_store_after_main_returned_is_unjoined_work() {
    let report = expect_report(checker().run(|| late_store(false)), ReportKind::Unjoined);
    assert_eq!(involved(&report), ["storer"], "{report}");
    assert!(
        report.message().contains("\"storer\" (store at "),
        "{report}"
    );
    assert!(report.message().contains("detectors.rs"), "{report}");
    assert_eq!(task(&report, "main").state, TaskState::Finished, "{report}");
}

#[test]
fn joining_the_storer_is_fine() {
    expect_clean(&checker().run(|| late_store(true)));
}

fn late_lock(join: bool) {
    let m = Arc::new(Mutex::new(0));
    let m2 = Arc::clone(&m);
    let t = named("locker", move || *m2.lock() += 1);
    if join {
        t.join().unwrap();
        assert_eq!(*m.lock(), 1);
    }
}

#[test]
fn a_lock_after_main_returned_is_unjoined_work() {
    let report = expect_report(checker().run(|| late_lock(false)), ReportKind::Unjoined);
    assert_eq!(involved(&report), ["locker"], "{report}");
    assert!(
        report.message().contains("\"locker\" (lock at "),
        "{report}"
    );
}

#[test]
fn joining_the_locker_is_fine() {
    expect_clean(&checker().run(|| late_lock(true)));
}

#[test]
fn a_daemon_working_after_main_returned_is_fine() {
    let outcome = checker().run(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = Arc::clone(&flag);
        drop(
            Builder::new()
                .name("background")
                .daemon(true)
                .spawn(move || f.store(true, Ordering::SeqCst)),
        );
    });
    expect_clean(&outcome);
}

/// A task that asked for a lock before main returned but got it only
/// afterwards takes the lock after main returned, just like one that asked
/// late: both lose the work they do under it. Each execution is checked on
/// its own (one execution per seed), so a report that only comes from other
/// executions does not count.
#[test]
fn a_lock_acquired_after_main_returned_is_unjoined_work_in_every_execution() {
    use std::sync::atomic::AtomicBool as StdAtomicBool;

    let mut missed = Vec::new();
    for seed in 0..50 {
        let late = Arc::new(StdAtomicBool::new(false));
        let l = Arc::clone(&late);
        let outcome = Checker::new().seed(seed).iterations(1).run(move || {
            l.store(false, StdOrdering::SeqCst);
            // Set by main as its very last statement, invisible to knot.
            let returned = Arc::new(StdAtomicBool::new(false));
            let m = Arc::new(Mutex::new(0));
            let held = m.lock();
            let (m1, r1, l1) = (Arc::clone(&m), Arc::clone(&returned), Arc::clone(&l));
            drop(named("worker", move || {
                let mut g = m1.lock();
                if r1.load(StdOrdering::SeqCst) {
                    l1.store(true, StdOrdering::SeqCst);
                }
                *g += 1;
            }));
            knot::yield_now();
            drop(held);
            returned.store(true, StdOrdering::SeqCst);
        });
        if late.load(StdOrdering::SeqCst) && outcome.report.is_none() {
            missed.push(seed);
        }
    }
    assert!(
        missed.is_empty(),
        "with these seeds the worker took the lock after main returned and nothing was \
         reported: {missed:?}"
    );
}

/// The Go pattern: every worker's last act is `done()`, main waits on the
/// group and returns without joining. Nothing is lost, so nothing is
/// reported.
#[test]
fn waitgroup_done_as_last_act_needs_no_join() {
    let outcome = checker().run(|| {
        let wg = WaitGroup::new();
        let total = Arc::new(AtomicUsize::new(0));
        let m = Arc::new(Mutex::new(0));
        for i in 0..3 {
            wg.add(1);
            let (wg, total, m) = (wg.clone(), Arc::clone(&total), Arc::clone(&m));
            drop(named(&format!("worker-{i}"), move || {
                total.fetch_add(1, Ordering::SeqCst);
                *m.lock() += 1;
                wg.done();
            }));
        }
        wg.wait();
        assert_eq!(total.load(Ordering::SeqCst), 3);
        assert_eq!(*m.lock(), 3);
    });
    expect_clean(&outcome);
}

// ---------------------------------------------------------------------------
// Panic
// ---------------------------------------------------------------------------

#[test]
fn a_panic_in_a_task_nobody_joins_is_reported() {
    let outcome = checker().run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        drop(named("bomber", move || {
            w.done();
            panic!("the bomber went off");
        }));
        wg.wait();
    });
    let report = expect_report(outcome, ReportKind::Panic);
    assert!(report.message().contains("\"bomber\""), "{report}");
    assert!(report.message().contains("nobody joined it"), "{report}");
    assert!(report.message().contains("the bomber went off"), "{report}");
    assert_eq!(involved(&report), ["bomber"], "{report}");
    match &task(&report, "bomber").state {
        TaskState::Panicked(message) => {
            assert!(message.contains("the bomber went off"), "{report}");
        }
        other => panic!("bomber is {other:?}, not panicked:\n{report}"),
    }
}

#[test]
fn a_panic_in_a_go_task_is_reported() {
    let outcome = checker().run(|| knot::go(|| panic!("go task exploded")));
    let report = expect_report(outcome, ReportKind::Panic);
    assert!(report.message().contains("go task exploded"), "{report}");
    assert_eq!(involved(&report), ["task-1"], "{report}");
}

#[test]
fn a_panic_in_a_joined_task_is_an_error_not_a_report() {
    let seen = Arc::new(StdMutex::new(Vec::<String>::new()));
    let s = Arc::clone(&seen);
    let outcome = checker().run(move || {
        let t = named("fragile", || -> u32 { panic!("fragile broke: {}", 42) });
        let err = t.join().expect_err("the task panicked");
        assert!(err.is_panic());
        s.lock().unwrap().push(err.message().to_owned());
    });
    expect_clean(&outcome);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len() as u64,
        ITERATIONS,
        "join returned Err every time"
    );
    assert!(seen.iter().all(|m| m == "fragile broke: 42"), "{seen:?}");
}

#[test]
fn a_panic_in_main_is_reported() {
    let outcome = checker().run(|| {
        let n = Arc::new(AtomicUsize::new(1));
        let m = Arc::clone(&n);
        named("helper", move || m.fetch_add(1, Ordering::SeqCst))
            .join()
            .unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 3, "main's own check failed");
    });
    let report = expect_report(outcome, ReportKind::Panic);
    assert!(report.message().starts_with("main panicked"), "{report}");
    assert!(
        report.message().contains("main's own check failed"),
        "{report}"
    );
    assert_eq!(involved(&report), ["main"], "{report}");
    assert!(
        matches!(&task(&report, "main").state, TaskState::Panicked(m) if m.contains("main's own check failed")),
        "{report}"
    );
    assert_eq!(task(&report, "helper").state, TaskState::Finished);
}

// ---------------------------------------------------------------------------
// Misuse
// ---------------------------------------------------------------------------

fn waitgroup_counter(adds: i64) {
    let wg = WaitGroup::new();
    wg.add(adds);
    let w = wg.clone();
    let t = named("finisher", move || w.done());
    t.join().unwrap();
    wg.wait();
}

#[test]
fn a_waitgroup_going_negative_is_misuse() {
    let report = expect_report(checker().run(|| waitgroup_counter(0)), ReportKind::Misuse);
    assert!(report.message().contains("\"finisher\""), "{report}");
    assert!(report.message().contains("WaitGroup"), "{report}");
    assert!(report.message().contains("went negative"), "{report}");
    assert!(report.message().contains("done at "), "{report}");
    assert!(report.message().contains("-1"), "{report}");
    assert_eq!(involved(&report), ["finisher"], "{report}");
}

#[test]
fn a_waitgroup_that_stays_non_negative_is_fine() {
    expect_clean(&checker().run(|| waitgroup_counter(1)));
}

// ---------------------------------------------------------------------------
// Step limit
// ---------------------------------------------------------------------------

fn spinners(set_flag: bool) {
    let flag = Arc::new(AtomicBool::new(false));
    let spin = |name: &str| {
        let flag = Arc::clone(&flag);
        named(name, move || {
            while !flag.load(Ordering::SeqCst) {
                knot::yield_now();
            }
        })
    };
    let a = spin("spinner-a");
    let b = spin("spinner-b");
    if set_flag {
        flag.store(true, Ordering::SeqCst);
    }
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn a_livelock_hits_the_step_limit() {
    let outcome = checker().max_steps(500).run(|| spinners(false));
    let report = expect_report(outcome, ReportKind::StepLimit);
    assert!(report.message().contains("more than 500 steps"), "{report}");
    let culprits = involved(&report);
    assert_eq!(culprits.len(), 1, "{report}");
    assert!(
        culprits[0] == "spinner-a" || culprits[0] == "spinner-b",
        "a spinner is the running task:\n{report}"
    );
    for name in ["spinner-a", "spinner-b"] {
        assert_ne!(task(&report, name).state, TaskState::Finished, "{report}");
        assert!(task(&report, name).blocked_on.is_none(), "{report}");
    }
    assert_blocked(&report, "main", "join", "task");
    assert_eq!(report.search.as_ref().map(|s| s.execution), Some(1));
}

#[test]
fn spinners_whose_flag_is_set_terminate() {
    expect_clean(&checker().max_steps(500).run(|| spinners(true)));
}

// ---------------------------------------------------------------------------
// No false alarms across many executions
// ---------------------------------------------------------------------------

#[test]
fn every_clean_execution_runs_the_program_to_its_end() {
    let runs = Arc::new(StdAtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let outcome = checker().run(move || {
        two_locks(true);
        r.fetch_add(1, StdOrdering::Relaxed);
    });
    expect_clean(&outcome);
    assert_eq!(runs.load(StdOrdering::Relaxed) as u64, ITERATIONS);
}

// ---------------------------------------------------------------------------
// Reports point at the program's own code
// ---------------------------------------------------------------------------

/// Every event of the trace carries the place in the program that caused
/// it, unlocks (guards dropped, explicitly or at the end of a scope)
/// included.
#[test]
fn every_trace_event_points_into_the_program() {
    let outcome = checker().run(|| {
        let m = Mutex::new(0);
        let l = RwLock::new(0);
        drop(m.lock());
        drop(l.read());
        drop(l.write());
        panic!("after the unlocks");
    });
    let report = expect_report(outcome, ReportKind::Panic);
    let operations: Vec<&str> = report.trace.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(
        operations,
        [
            "lock",
            "unlock",
            "read",
            "read_unlock",
            "write",
            "write_unlock"
        ],
        "{report}"
    );
    for event in &report.trace {
        let site = event.site.as_ref().expect("a site");
        assert!(
            site.file.ends_with("detectors.rs"),
            "{} at {site} is not in the program:\n{report}",
            event.operation
        );
    }
}

#[test]
fn trace_events_are_in_order_and_name_the_tasks() {
    let report = expect_report(checker().run(|| two_locks(false)), ReportKind::Deadlock);
    let steps: Vec<u64> = report.trace.iter().map(|e| e.step).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    // The trace holds what happened: the last lock each culprit took is the
    // one it holds, and the lock it waits for never happened.
    for name in ["ab", "ba"] {
        let t = task(&report, name);
        let last_lock = report
            .trace
            .iter()
            .rev()
            .find(|e| e.task == t.id && e.operation == "lock")
            .expect("the culprit locked");
        let blocked = t.blocked_on.as_ref().expect("blocked");
        assert_eq!(last_lock.object.as_ref(), t.holds.first(), "{report}");
        assert_ne!(last_lock.object.as_ref(), Some(&blocked.object), "{report}");
    }
    assert_eq!(
        report.test(),
        Some("trace_events_are_in_order_and_name_the_tasks")
    );
}
