//! Executions per second of knot's random strategy and of shuttle's random
//! scheduler on the same small, correct programs, measured side by side in
//! one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench executions            # each program's own count
//! cargo bench -p knot-bench --bench executions -- 10000   # 10,000 for every program
//! cargo bench -p knot-bench --bench executions -- pipeline # the programs named so
//! KNOT_BENCH_EXECUTIONS=10000 cargo bench -p knot-bench --bench executions
//! ```
//!
//! For each program both tools run a warm-up (a tenth of the executions),
//! then [`REPEATS`] timed runs each of the full count, knot's and shuttle's
//! in turn, timed with [`Instant`]; the table shows the medians.

use std::env;
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::sync::Arc;
use std::time::Instant;

use knot_bench::programs;

mod common;
#[macro_use]
#[path = "common/correct.rs"]
mod correct;

/// Timed runs per program and tool; the median is reported.
const REPEATS: usize = 5;

/// The variable that sets the number of executions per timed run.
const EXECUTIONS_VAR: &str = "KNOT_BENCH_EXECUTIONS";

/// The variables that would change what either tool runs.
const OVERRIDES: &[&str] = &[
    "KNOT_ITERATIONS",
    "KNOT_STRATEGY",
    "KNOT_MAX_STEPS",
    "KNOT_REPLAY",
    "SHUTTLE_RANDOM_SEED",
];

/// Counts the executions that reached the end of main, so that each tool is
/// seen to have run the program the number of times it was asked to.
static COMPLETED: AtomicU64 = AtomicU64::new(0);

/// One program, written once for each tool.
struct Program {
    name: &'static str,
    /// Executions per timed run unless the command line or
    /// [`EXECUTIONS_VAR`] says otherwise: about a second of shuttle's time.
    executions: u64,
    knot: fn(),
    shuttle: fn(),
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "a atomic: 2 tasks x fetch_add",
        executions: 150_000,
        knot: programs::atomic,
        shuttle: shuttle_programs::atomic,
    },
    Program {
        name: "b locks: 2 tasks, same order",
        executions: 100_000,
        knot: programs::ordered_locks,
        shuttle: shuttle_programs::ordered_locks,
    },
    Program {
        name: "c mutex: 3 tasks x 2 increments",
        executions: 60_000,
        knot: || programs::counter(3, 2),
        shuttle: || shuttle_programs::counter(3, 2),
    },
    Program {
        name: "d pipeline: 2 channels, 3 items",
        executions: 100_000,
        knot: programs::pipeline,
        shuttle: shuttle_programs::pipeline,
    },
    Program {
        name: "e condvar: handoff, flag loop",
        executions: 150_000,
        knot: programs::condvar,
        shuttle: shuttle_programs::condvar,
    },
    Program {
        name: "f services: 3 fetches, joined",
        executions: 60_000,
        knot: services_joined,
        shuttle: shuttle_programs::services,
    },
    Program {
        name: "g pool: 4 workers, 20 jobs",
        executions: 10_000,
        knot: programs::pool,
        shuttle: shuttle_programs::pool,
    },
];

/// f, knot's version: [`programs::services`] with main joining the tasks'
/// handles where that program waits with a `WaitGroup`, so that both tools
/// do the same work. (A `WaitGroup` has knot track happens-before for the
/// execution and run its first execution a second time, which a program
/// that joins its handles does not need.)
fn services_joined() {
    let answers = Arc::new(knot::sync::Mutex::new(Vec::new()));
    let handles: Vec<_> = programs::SERVICES
        .into_iter()
        .map(|service| {
            let answers = Arc::clone(&answers);
            knot::spawn(move || answers.lock().push(service))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(answers.lock().len(), 3);
}

correct_twins!(shuttle_programs, shuttle {
    use knot_bench::programs::{ITEMS, JOBS, SERVICES, SQUARES, WORKERS};

    /// d: `sync_channel(0)` is std's rendezvous channel.
    pub(crate) fn pipeline() {
        use shuttle::sync::mpsc::sync_channel;
        let (to_worker, from_producer) = sync_channel::<u32>(0);
        let (to_consumer, from_worker) = sync_channel::<u32>(0);
        let producer = shuttle::thread::spawn(move || {
            for item in 1..=ITEMS {
                to_worker.send(item).unwrap();
            }
        });
        let worker = shuttle::thread::spawn(move || {
            for item in from_producer.iter() {
                to_consumer.send(item * 10).unwrap();
            }
        });
        let got: Vec<u32> = from_worker.iter().collect();
        producer.join().unwrap();
        worker.join().unwrap();
        assert_eq!(got, [10, 20, 30]);
    }

    /// f: Rust joins its threads' handles where Go uses a `WaitGroup`.
    pub(crate) fn services() {
        let answers = Arc::new(shuttle::sync::Mutex::new(Vec::new()));
        let handles: Vec<_> = SERVICES
            .into_iter()
            .map(|service| {
                let answers = Arc::clone(&answers);
                shuttle::thread::spawn(move || answers.lock().unwrap().push(service))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(answers.lock().unwrap().len(), 3);
    }

    /// g: std's receiver has one owner, so the workers share it behind a
    /// mutex, as in the thread pool of the Rust book.
    pub(crate) fn pool() {
        use shuttle::sync::mpsc::sync_channel;
        use shuttle::sync::Mutex;
        let (jobs_tx, jobs_rx) = sync_channel::<u64>(JOBS as usize);
        let (results_tx, results_rx) = sync_channel::<u64>(JOBS as usize);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (jobs, results) = (Arc::clone(&jobs_rx), results_tx.clone());
                shuttle::thread::spawn(move || loop {
                    let job = jobs.lock().unwrap().recv();
                    match job {
                        Ok(job) => results.send(job * job).unwrap(),
                        Err(_) => break,
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
});

// ----------------------------------------------------------- measuring ---

fn run_knot(n: u64, program: fn()) {
    let before = COMPLETED.load(StdOrdering::Relaxed);
    let outcome = knot::Checker::new()
        .iterations(n)
        .seed(1)
        .strategy(knot::Strategy::Random)
        .run(move || {
            program();
            COMPLETED.fetch_add(1, StdOrdering::Relaxed);
        });
    if let Some(report) = &outcome.report {
        panic!("knot found a bug in a correct program:\n{report}");
    }
    assert_eq!(
        outcome.executions, n,
        "knot ran {} executions instead of {n}",
        outcome.executions
    );
    // A program with a `WaitGroup` or `RaceCell` has its first execution
    // run twice (again with happens-before tracking on), which
    // `outcome.executions` does not count: allow for it.
    let completed = COMPLETED.load(StdOrdering::Relaxed) - before;
    assert!(
        (n..=n + 1).contains(&completed),
        "knot reported {n} executions but ran {completed} to the end"
    );
}

fn run_shuttle(n: u64, program: fn()) {
    let before = COMPLETED.load(StdOrdering::Relaxed);
    shuttle::check_random_with_seed(
        move || {
            program();
            COMPLETED.fetch_add(1, StdOrdering::Relaxed);
        },
        1,
        usize::try_from(n).expect("executions fit in usize"),
    );
    assert_eq!(COMPLETED.load(StdOrdering::Relaxed) - before, n);
}

/// Executions per second of one timed run of `n` executions.
fn rate(run: fn(u64, fn()), program: fn(), n: u64) -> f64 {
    let start = Instant::now();
    run(n, program);
    n as f64 / start.elapsed().as_secs_f64()
}

/// The median executions per second of knot and of shuttle on `program`:
/// both warm up, then their timed runs alternate so that a change in the
/// machine's load weighs on both alike.
fn measure(program: &Program, n: u64) -> (f64, f64) {
    let warm_up = (n / 10).max(1);
    run_knot(warm_up, program.knot);
    run_shuttle(warm_up, program.shuttle);
    let mut knot = Vec::with_capacity(REPEATS);
    let mut shuttle = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        knot.push(rate(run_knot, program.knot, n));
        shuttle.push(rate(run_shuttle, program.shuttle, n));
    }
    (common::median(knot), common::median(shuttle))
}

/// The number of executions per timed run for every program, if the first
/// numeric argument or the variable sets one. Other arguments (`--bench`,
/// which cargo passes) are ignored.
fn executions() -> Option<u64> {
    let from_args = env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok());
    let from_env = || {
        env::var(EXECUTIONS_VAR).ok().map(|v| {
            v.trim().replace('_', "").parse().unwrap_or_else(|_| {
                panic!("{EXECUTIONS_VAR}={v:?} is not valid: expected a whole number")
            })
        })
    };
    from_args.or_else(from_env).map(|n: u64| n.max(1))
}

/// The words on the command line that pick programs: a program runs if its
/// name contains one of them, or if there are none. Numbers and `--` flags
/// (cargo passes `--bench`) are not words.
fn filters() -> Vec<String> {
    env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--") && a.replace('_', "").parse::<u64>().is_err())
        .collect()
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.round());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    common::refuse_overrides(OVERRIDES);
    let fixed = executions();
    match fixed {
        Some(n) => println!(
            "{} executions per run for every program, median of {REPEATS} runs after a warm-up of {}",
            thousands(n as f64),
            thousands((n / 10).max(1) as f64)
        ),
        None => println!(
            "executions per run as shown, median of {REPEATS} runs after a warm-up of a tenth"
        ),
    }
    println!("knot: Checker Strategy::Random, seed 1; shuttle: check_random_with_seed, seed 1");
    println!();
    println!(
        "{:<32}  {:>10}  {:>12}  {:>15}  {:>13}",
        "program", "executions", "knot exec/s", "shuttle exec/s", "knot/shuttle"
    );
    let mut lowest: Option<(f64, &str)> = None;
    let filters = filters();
    for program in PROGRAMS
        .iter()
        .filter(|p| filters.is_empty() || filters.iter().any(|f| p.name.contains(f.as_str())))
    {
        let n = fixed.unwrap_or(program.executions);
        let (knot, shuttle) = measure(program, n);
        let ratio = knot / shuttle;
        println!(
            "{:<32}  {:>10}  {:>12}  {:>15}  {:>13.2}",
            program.name,
            thousands(n as f64),
            thousands(knot),
            thousands(shuttle),
            ratio
        );
        match lowest {
            Some((low, _)) if low <= ratio => {}
            _ => lowest = Some((ratio, program.name)),
        }
    }
    if let Some((ratio, name)) = lowest {
        println!();
        println!("minimum knot/shuttle: {ratio:.2} ({name})");
    }
}
