//! The live runtime's monitor: a global deadlock is reported instead of
//! hanging, and a task that keeps its worker without reaching a knot
//! operation is named.
//!
//! The runtime is configured once per process, so these tests live in a
//! binary of their own, with short thresholds; they run one at a time,
//! since a deadlock verdict concerns every waiting thread of the process.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use knot::chan;

const DEADLOCK_TIMEOUT: Duration = Duration::from_millis(300);
const STALL_THRESHOLD: Duration = Duration::from_millis(100);

/// Starts the runtime with short thresholds (once), and runs the tests of
/// this file one at a time.
fn setup() -> MutexGuard<'static, ()> {
    static START: Once = Once::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    START.call_once(|| {
        knot::runtime::Builder::new()
            .workers(2)
            .deadlock_timeout(Some(DEADLOCK_TIMEOUT))
            .stall_threshold(Some(STALL_THRESHOLD))
            .start()
            .expect("nothing else starts the runtime in this binary");
    });
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(String::new, |s| (*s).to_owned()),
    }
}

#[test]
fn main_joining_a_task_that_waits_forever_is_a_deadlock() {
    let _serial = setup();
    let (tx, rx) = chan::bounded::<u32>(0);
    let line = line!() + 3;
    let waiter = knot::task::Builder::new()
        .name("waiter")
        .spawn(move || rx.recv());
    // The sender is still alive but nobody sends: the task can never wake,
    // and this thread waits for it.
    let result = panic::catch_unwind(AssertUnwindSafe(|| waiter.join()));
    drop(tx);
    let report = panic_text(result.expect_err("the deadlock must be reported"));
    assert!(
        report.starts_with("knot: deadlock: every task is asleep"),
        "{report}"
    );
    assert!(report.contains("1 thread waits for them"), "{report}");
    assert!(report.contains("blocked on join"), "{report}");
    assert!(report.contains("waiter (task#"), "{report}");
    assert!(
        report.contains("on recv on Chan#") && report.contains(&format!("{}:{line}:", file!())),
        "{report}"
    );
}

#[test]
fn main_joining_a_task_that_is_sent_to_is_no_deadlock() {
    let _serial = setup();
    let (tx, rx) = chan::bounded::<u32>(0);
    let waiter = knot::task::Builder::new()
        .name("waiter")
        .spawn(move || rx.recv());
    // Everything is asleep for longer than the timeout, but a timer is
    // pending: it will wake the sender.
    let sender = knot::spawn(move || {
        knot::time::sleep(DEADLOCK_TIMEOUT * 3);
        tx.send(5).unwrap();
    });
    assert_eq!(waiter.join().unwrap(), Ok(5));
    sender.join().unwrap();
}

#[test]
fn a_task_that_never_reaches_a_knot_operation_is_named() {
    let _serial = setup();
    let line = line!() + 1;
    let hog = knot::task::Builder::new().name("hog").spawn(|| {
        knot::yield_now();
        // Holds its worker with a blocking call that knot cannot see.
        std::thread::sleep(STALL_THRESHOLD * 5);
    });
    let id = hog.id();
    hog.join().unwrap();
    let stall = knot::runtime::stalls()
        .into_iter()
        .find(|s| s.task == id)
        .expect("the hog is named");
    assert_eq!(stall.name, "hog");
    assert_eq!(stall.spawned_at.file(), file!());
    assert!(stall.held_for >= STALL_THRESHOLD);
    let last = stall.last_site.expect("its last knot operation is known");
    assert_eq!((last.file(), last.line()), (file!(), line + 1));
    assert!(stall.to_string().contains("knot::blocking"), "{stall}");
}

#[test]
fn a_task_that_waits_through_blocking_is_not_a_stall() {
    let _serial = setup();
    let polite = knot::task::Builder::new().name("polite").spawn(|| {
        knot::blocking(|| std::thread::sleep(STALL_THRESHOLD * 5));
    });
    let id = polite.id();
    polite.join().unwrap();
    assert!(knot::runtime::stalls().iter().all(|s| s.task != id));
}

#[test]
fn a_thread_waiting_for_a_std_thread_while_no_task_is_blocked_is_no_deadlock() {
    let _serial = setup();
    // Nothing knot can see will send for a while, but no task is blocked
    // either: the wait is not the runtime's to judge.
    let (tx, rx) = chan::bounded::<u32>(0);
    let sender = std::thread::spawn(move || {
        std::thread::sleep(DEADLOCK_TIMEOUT * 3);
        tx.send(3).unwrap();
    });
    assert_eq!(rx.recv(), Ok(3));
    sender.join().unwrap();
}
