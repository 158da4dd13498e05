//! Three workers share six jobs, and the results channel is closed one line
//! too late.
//!
//! A worker pool bounds how much runs at once: main puts six jobs on a
//! `jobs` channel, three worker tasks take them off it (each job goes to
//! exactly one worker), and each worker puts its answer on a `results`
//! channel. A [`WaitGroup`] counts the workers, and main adds up the results
//! with `for result in &results`, which ends when the channel is closed and
//! drained.
//!
//! Two channels need closing. `jobs` is easy: main is its only sender, and
//! closes it once the last job is sent, so each worker's `for job in &jobs`
//! ends when the queue is empty. `results` has four senders (main's and one
//! clone per worker) and must close only when all the workers are done,
//! which is what the `WaitGroup` is for: `wg.wait()`, then
//! `results_tx.close()`.
//!
//! # The bug
//!
//! [`buggy`] does exactly that, in main, after the loop that reads the
//! results. The loop ends only once `results` is closed, and `results` is
//! closed only after the loop: main waits for itself. The workers finish
//! their jobs and exit, main waits in `recv` forever, and nothing in the
//! program can wake it. In Go this is the `fatal error: all goroutines are
//! asleep - deadlock!` every Go programmer meets once; in a service, where
//! other goroutines are alive, nothing is printed and the request just
//! hangs.
//!
//! The checker reports a deadlock: the workers have finished, and main is
//! blocked in `recv` on the results channel, which the report names by the
//! line that created it; the wait-for graph says that nobody can wake it.
//!
//! # The fix
//!
//! [`fixed`] waits and closes in a task of its own, the "closer", started
//! before main begins to read: the closer waits for the workers while main
//! reads their results, and closes `results` once the last worker is done,
//! which ends main's loop. Main then joins the closer. (Moving `wait` and
//! `close` above the loop in main works here only because `results` has
//! room for every result; with a smaller buffer the workers would wait for
//! main to read and main would wait for the workers.)

use knot::chan::{self, Receiver, Sender};
use knot::sync::WaitGroup;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str = "a pool of three workers over six jobs; the bug: results are closed after the loop that reads them";

/// What the checker reports for [`buggy`]: main waits for a close that can
/// only come after it.
pub const EXPECTED: ReportKind = ReportKind::Deadlock;

/// How many workers run at once.
const WORKERS: usize = 3;

/// The jobs: numbers to square.
const JOBS: u64 = 6;

/// The sum of the squares of 1 to 6.
const TOTAL: u64 = 91;

/// The program with the bug: `results` is closed after the loop that waits
/// for it to close.
pub fn buggy() {
    let (jobs_tx, jobs_rx) = chan::bounded(2);
    let (results_tx, results_rx) = chan::bounded(JOBS as usize);
    let wg = WaitGroup::new();
    start_workers(&jobs_rx, &results_tx, &wg);
    send_jobs(&jobs_tx);

    let mut total = 0;
    for result in &results_rx {
        total += result;
    }
    // BUG: the loop above ends only once `results` is closed, and that
    // happens only here, after it.
    wg.wait();
    results_tx.close();
    assert_eq!(total, TOTAL);
}

/// The same program, fixed: a closer task waits for the workers and closes
/// `results` while main reads.
pub fn fixed() {
    let (jobs_tx, jobs_rx) = chan::bounded(2);
    let (results_tx, results_rx) = chan::bounded(JOBS as usize);
    let wg = WaitGroup::new();
    start_workers(&jobs_rx, &results_tx, &wg);

    let closer = knot::task::Builder::new().name("closer").spawn(move || {
        wg.wait();
        // Every worker is done: no result can follow.
        results_tx.close();
    });
    send_jobs(&jobs_tx);

    let mut total = 0;
    for result in &results_rx {
        total += result;
    }
    closer.join().expect("the closer does not panic");
    assert_eq!(total, TOTAL);
}

/// Starts the workers; each takes jobs until `jobs` is closed and drained,
/// then says `done`.
fn start_workers(jobs: &Receiver<u64>, results: &Sender<u64>, wg: &WaitGroup) {
    for id in 1..=WORKERS {
        // Raised before the worker starts, as `services` explains.
        wg.add(1);
        let (jobs, results, wg) = (jobs.clone(), results.clone(), wg.clone());
        // Fire and forget, Go style: the WaitGroup does the waiting.
        knot::task::Builder::new()
            .name(format!("worker {id}"))
            .go(move || {
                for job in &jobs {
                    let result = square(job);
                    results
                        .send(result)
                        .expect("results stay open while a worker runs");
                }
                wg.done();
            });
    }
}

/// Sends every job, then closes `jobs`: main is its only sender, so the
/// workers' loops end once the queue is empty.
fn send_jobs(jobs: &Sender<u64>) {
    for job in 1..=JOBS {
        jobs.send(job).expect("the workers never close jobs");
    }
    jobs.close();
}

/// The work.
fn square(job: u64) -> u64 {
    job * job
}
