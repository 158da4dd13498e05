//! Blocking work, such as file I/O or a call into C, run on threads of its
//! own so that it does not hold a worker that other tasks need.

use std::collections::VecDeque;
use std::panic::{self, Location};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use knot_core::live_clock::{self, TaskClock};
use knot_core::task::{self, TaskId};

/// Runs `f`, which may block its thread for a long time, on the runtime's
/// blocking pool while the calling task waits, and returns its result.
///
/// A task that calls `std::fs::read` or sleeps with `std::thread::sleep`
/// directly keeps its worker, and every task queued behind it on that
/// worker waits too (the monitor names such a task). Through `blocking`,
/// the call runs on a pool thread and the task is parked like any other
/// waiting task, blocked on the call's site. Called outside a task (from
/// `main` or a test), `f` simply runs on the calling thread.
///
/// # Panics
///
/// If `f` panics, the panic resumes in the caller.
///
/// # Examples
///
/// ```
/// let handle = knot::spawn(|| {
///     knot::blocking(|| std::fs::read_to_string("Cargo.toml").map(|s| s.len()))
/// });
/// assert!(handle.join().unwrap().unwrap() > 0);
/// ```
#[track_caller]
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if crate::scheduler::current().is_none() {
        return f();
    }
    let site = Location::caller();
    let id = TaskId::new(knot_core::executor::live_id());
    let (handle, completion) = task::result_slot(id, site);
    // With live race detection on, the call happens after what the task
    // did so far, and its end before the task goes on (through the join).
    let mut clock = TaskClock::new(live_clock::fork());
    RUNNING.fetch_add(1, Ordering::SeqCst);
    submit(Box::new(move || {
        live_clock::swap(&mut clock);
        task::run_task(f, completion);
        live_clock::swap(&mut clock);
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }));
    match handle.join() {
        Ok(value) => value,
        Err(error) => panic::resume_unwind(error.into_panic()),
    }
}

/// Runs `job` on the pool without waiting for it.
pub(crate) fn detach(job: Job) {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    submit(Box::new(move || {
        // Its panic has been printed; the pool thread and the count live on.
        let _ = panic::catch_unwind(panic::AssertUnwindSafe(job));
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }));
}

/// How many blocking calls are running or queued now.
pub(crate) fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

type Job = Box<dyn FnOnce() + Send>;

/// How long an idle pool thread waits for more work before it ends.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

struct Pool {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job.
    idle: usize,
    /// Of those, how many were notified and have yet to wake: each queued
    /// job gets a thread of its own, woken or new.
    notified: usize,
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static POOL: Mutex<Pool> = Mutex::new(Pool {
    jobs: VecDeque::new(),
    idle: 0,
    notified: 0,
});
static READY: Condvar = Condvar::new();

fn lock_pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn submit(job: Job) {
    let mut pool = lock_pool();
    pool.jobs.push_back(job);
    if pool.idle > pool.notified {
        pool.notified += 1;
        READY.notify_one();
        return;
    }
    drop(pool);
    let started = thread::Builder::new()
        .name(String::from("knot-blocking"))
        .spawn(serve);
    if let Err(error) = started {
        // No new thread: the calls queue up for the threads that exist, or
        // one runs here (perhaps another caller's: they are all alike).
        tracing::warn!(target: "knot", %error, "cannot start a blocking-pool thread");
        let job = lock_pool().jobs.pop_back();
        if let Some(job) = job {
            job();
        }
    }
}

fn serve() {
    let mut pool = lock_pool();
    loop {
        if let Some(job) = pool.jobs.pop_front() {
            drop(pool);
            job();
            pool = lock_pool();
            continue;
        }
        pool.idle += 1;
        let (next, timeout) = READY
            .wait_timeout(pool, KEEP_ALIVE)
            .unwrap_or_else(PoisonError::into_inner);
        pool = next;
        pool.idle -= 1;
        pool.notified = pool.notified.saturating_sub(1);
        if timeout.timed_out() && pool.jobs.is_empty() {
            return;
        }
    }
}
