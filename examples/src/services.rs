//! Three slow services fetched concurrently, then joined with a
//! [`WaitGroup`]: the goroutine story in one screen.
//!
//! A page needs answers from three back ends (`users`, `orders`,
//! `inventory`), and each takes about 200 ms to answer. Asked one after
//! another they take 600 ms; asked from three tasks at once they take 200 ms.
//! Main starts one task per service, each task stores its answer in a shared
//! list and says `done`, and main `wait`s for all three before it renders the
//! page. [`run_live`] runs that for real and times it.
//!
//! # The bug
//!
//! [`buggy`] calls `wg.add(1)` at the top of each task instead of before
//! starting it. The counter is only raised once a task runs, so when main
//! reaches `wait` before the tasks have started (live, that is nearly always:
//! starting a thread is slower than the next line of main), the counter is
//! still zero and `wait` returns at once. Main renders a page from whatever
//! is in the list, often nothing, and returns, while the fetches carry on
//! with nobody waiting for them. In Go the process exits and they are
//! killed; their work is lost.
//!
//! Nothing panics and no assertion fails, yet knot reports it as misuse of
//! the wait group, the rule Go's race detector enforces: an `add` that
//! raises the counter from zero must happen before any `wait` that could
//! see that zero. Here nothing orders the task's `add` before main's `wait`;
//! the report names both places. (Were that rule not checked, the symptom
//! would still be caught: the fetches run on after main returned, work
//! nobody will see, which knot reports as unjoined tasks.)
//!
//! # The fix
//!
//! [`fixed`] follows the rule Go's documentation states for
//! `WaitGroup.Add`: add *before* starting the task, in the task that will
//! `wait`, and call `done` as the task's last act. Then the counter is three
//! before main can reach `wait`, and `wait` returns only after every answer
//! is in the list.

use std::sync::Arc;
use std::time::{Duration, Instant};

use knot::sync::{Mutex, WaitGroup};
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str =
    "three services fetched concurrently and joined with a WaitGroup; the bug: `add` inside the task";

/// What the checker reports for [`buggy`]: an `add` from zero that is not
/// ordered before the `wait`.
pub const EXPECTED: ReportKind = ReportKind::Misuse;

/// The services a page needs.
const SERVICES: [&str; 3] = ["users", "orders", "inventory"];

/// How long each service takes to answer, live.
pub const LATENCY: Duration = Duration::from_millis(200);

/// The program with the bug: each task raises the counter itself, too late.
pub fn buggy() {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let wg = WaitGroup::new();
    for service in SERVICES {
        let answers = Arc::clone(&answers);
        let wg = wg.clone();
        go_named(format!("fetch {service}"), move || {
            // BUG: main may already be past `wait` when this runs.
            wg.add(1);
            let answer = fetch(service, Duration::ZERO);
            answers.lock().push(answer);
            wg.done();
        });
    }
    wg.wait();
    // Renders whatever has arrived, which may be nothing; no error, just a
    // page with holes in it.
    let _page = render(&answers.lock());
}

/// The same program, fixed: `add` before each task starts, `done` as its
/// last act, `wait` for all of them.
pub fn fixed() {
    let page = program(Duration::ZERO);
    assert_eq!(page.len(), SERVICES.len(), "an answer is missing: {page:?}");
}

/// Runs [`fixed`] live, on the runtime's workers, with each service taking
/// [`LATENCY`] (200 ms) to answer, and returns how long the whole page took.
///
/// Since the three fetches run concurrently, that is about 200 ms, not
/// 600 ms. Under the checker the services answer at once instead: the
/// checker's time is virtual, and a check never sleeps for real.
///
/// # Panics
///
/// Panics if an answer is missing from the page, which the fixed program
/// rules out.
pub fn run_live() -> Duration {
    let start = Instant::now();
    let page = program(LATENCY);
    let elapsed = start.elapsed();
    assert_eq!(page.len(), SERVICES.len(), "an answer is missing: {page:?}");
    elapsed
}

/// The fixed program, with each service taking `latency` to answer; returns
/// the answers, sorted.
fn program(latency: Duration) -> Vec<String> {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let wg = WaitGroup::new();
    for service in SERVICES {
        // Raised here, by the task that will wait, before the fetch starts.
        wg.add(1);
        let answers = Arc::clone(&answers);
        let wg = wg.clone();
        go_named(format!("fetch {service}"), move || {
            let answer = fetch(service, latency);
            answers.lock().push(answer);
            // The last act: once the counter drops, main may read the list.
            wg.done();
        });
    }
    wg.wait();
    let mut page = answers.lock().clone();
    page.sort();
    page
}

/// Starts a named fire-and-forget task, like `knot::go` with a name: the
/// handle is dropped, and the `WaitGroup` does the waiting.
#[track_caller]
fn go_named(name: String, f: impl FnOnce() + Send + 'static) {
    drop(knot::task::Builder::new().name(name).spawn(f));
}

/// Asks `service` for its answer; live, it takes `latency`.
fn fetch(service: &str, latency: Duration) -> String {
    // Real time only live: under the checker `latency` is zero, since a
    // checked program must not depend on the clock.
    if !latency.is_zero() {
        // A knot sleep parks the task and frees its worker for the others.
        knot::time::sleep(latency);
    }
    format!("{service}: 200 OK")
}

fn render(answers: &[String]) -> String {
    answers.join("\n")
}
