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
        knot: knot_atomic,
        shuttle: shuttle_atomic,
    },
    Program {
        name: "b locks: 2 tasks, same order",
        executions: 100_000,
        knot: knot_ordered_locks,
        shuttle: shuttle_ordered_locks,
    },
    Program {
        name: "c mutex: 3 tasks x 2 increments",
        executions: 60_000,
        knot: knot_mutex,
        shuttle: shuttle_mutex,
    },
    Program {
        name: "d pipeline: 2 channels, 3 items",
        executions: 100_000,
        knot: knot_pipeline,
        shuttle: shuttle_pipeline,
    },
    Program {
        name: "e condvar: handoff, flag loop",
        executions: 150_000,
        knot: knot_condvar,
        shuttle: shuttle_condvar,
    },
    Program {
        name: "f services: 3 fetches, joined",
        executions: 60_000,
        knot: knot_services,
        shuttle: shuttle_services,
    },
    Program {
        name: "g pool: 4 workers, 20 jobs",
        executions: 10_000,
        knot: knot_pool,
        shuttle: shuttle_pool,
    },
];

/// The items the pipeline passes, and what the consumer receives.
const ITEMS: u32 = 3;

/// The services of program f.
const SERVICES: [&str; 3] = ["users", "orders", "inventory"];

/// The workers and jobs of program g.
const WORKERS: usize = 4;
const JOBS: u64 = 20;

/// The sum of the squares of 1..=20, which the pool computes.
const SQUARES: u64 = 2_870;

// ---------------------------------------------------------------- knot ---

/// a: two tasks each add one to an atomic with `fetch_add`.
fn knot_atomic() {
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

/// b: two tasks each lock `a` then `b`, in the same order, and bump both.
fn knot_ordered_locks() {
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

/// c: three tasks each increment a mutex-protected counter twice.
fn knot_mutex() {
    let m = Arc::new(knot::sync::Mutex::new(0u32));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let m = Arc::clone(&m);
            knot::spawn(move || {
                *m.lock() += 1;
                *m.lock() += 1;
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 6);
}

/// d: a producer sends three items to a worker, which passes each on,
/// tenfold, to main, the consumer; both channels are rendezvous channels,
/// and each closes when its sender is dropped.
fn knot_pipeline() {
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

/// e: a waiter waits on a condition variable until a flag is set, checking
/// the flag in a loop; main sets it and notifies.
fn knot_condvar() {
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

/// f: three services fetched by three tasks, each storing its answer in a
/// shared list; main waits for them with a `WaitGroup`, Go style.
fn knot_services() {
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

/// g: four workers take jobs from one channel and send squares on another;
/// main sends twenty jobs, closes the jobs channel, and sums the results
/// until every worker has gone.
fn knot_pool() {
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

// ------------------------------------------------------------- shuttle ---

/// a, in shuttle.
fn shuttle_atomic() {
    use shuttle::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let hits = Arc::clone(&hits);
            shuttle::thread::spawn(move || {
                hits.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// b, in shuttle.
fn shuttle_ordered_locks() {
    use shuttle::sync::Mutex;
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            shuttle::thread::spawn(move || {
                let mut first = a.lock().unwrap();
                let mut second = b.lock().unwrap();
                *first += 1;
                *second += 1;
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!((*a.lock().unwrap(), *b.lock().unwrap()), (2, 2));
}

/// c, in shuttle.
fn shuttle_mutex() {
    let m = Arc::new(shuttle::sync::Mutex::new(0u32));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let m = Arc::clone(&m);
            shuttle::thread::spawn(move || {
                *m.lock().unwrap() += 1;
                *m.lock().unwrap() += 1;
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock().unwrap(), 6);
}

/// d, in shuttle: `sync_channel(0)` is std's rendezvous channel.
fn shuttle_pipeline() {
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

/// e, in shuttle.
fn shuttle_condvar() {
    use shuttle::sync::{Condvar, Mutex};
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let theirs = Arc::clone(&pair);
    let waiter = shuttle::thread::spawn(move || {
        let (ready, cv) = &*theirs;
        let mut ready = ready.lock().unwrap();
        while !*ready {
            ready = cv.wait(ready).unwrap();
        }
    });
    let (ready, cv) = &*pair;
    *ready.lock().unwrap() = true;
    cv.notify_one();
    waiter.join().unwrap();
}

/// f, in shuttle: Rust joins its threads' handles where Go uses a
/// `WaitGroup`.
fn shuttle_services() {
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

/// g, in shuttle: std's receiver has one owner, so the workers share it
/// behind a mutex, as in the thread pool of the Rust book.
fn shuttle_pool() {
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

/// The median of `rates`, which has [`REPEATS`] entries.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
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
    (median(knot), median(shuttle))
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
    for variable in OVERRIDES {
        if env::var_os(variable).is_some_and(|v| !v.is_empty()) {
            panic!("{variable} is set: unset it, it changes what the bench measures");
        }
    }
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
