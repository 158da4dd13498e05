//! Executions per second of knot's random strategy and of shuttle's random
//! scheduler on the same small programs, measured side by side in one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench executions            # 100,000 executions
//! cargo bench -p knot-bench --bench executions -- 10000   # fewer, for a quick look
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

/// Executions per timed run when neither the argument nor the variable says.
const DEFAULT_EXECUTIONS: u64 = 100_000;

/// Timed runs per program and tool; the median is reported.
const REPEATS: usize = 5;

/// The variable that sets the number of executions per timed run.
const EXECUTIONS_VAR: &str = "KNOT_BENCH_EXECUTIONS";

/// Counts the executions that reached the end of main, so that each tool is
/// seen to have run the program the number of times it was asked to.
static COMPLETED: AtomicU64 = AtomicU64::new(0);

/// One program, written once for each tool.
struct Program {
    name: &'static str,
    /// Runs `n` executions under knot's random strategy.
    knot: fn(u64),
    /// Runs `n` executions under shuttle's random scheduler.
    shuttle: fn(u64),
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "3 tasks x 2 mutex increments",
        knot: knot_mutex,
        shuttle: shuttle_mutex,
    },
    Program {
        name: "2 tasks x 1 atomic fetch_add",
        knot: knot_atomic,
        shuttle: shuttle_atomic,
    },
];

fn knot_mutex(n: u64) {
    run_knot(n, || {
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
        COMPLETED.fetch_add(1, StdOrdering::Relaxed);
    });
}

fn shuttle_mutex(n: u64) {
    run_shuttle(n, || {
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
        COMPLETED.fetch_add(1, StdOrdering::Relaxed);
    });
}

fn knot_atomic(n: u64) {
    use knot::sync::atomic::{AtomicUsize, Ordering};
    run_knot(n, || {
        let a = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let a = Arc::clone(&a);
                knot::spawn(move || {
                    a.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(a.load(Ordering::SeqCst), 2);
        COMPLETED.fetch_add(1, StdOrdering::Relaxed);
    });
}

fn shuttle_atomic(n: u64) {
    use shuttle::sync::atomic::{AtomicUsize, Ordering};
    run_shuttle(n, || {
        let a = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let a = Arc::clone(&a);
                shuttle::thread::spawn(move || {
                    a.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(a.load(Ordering::SeqCst), 2);
        COMPLETED.fetch_add(1, StdOrdering::Relaxed);
    });
}

fn run_knot(n: u64, program: impl Fn() + 'static) {
    let before = COMPLETED.load(StdOrdering::Relaxed);
    let outcome = knot::Checker::new()
        .iterations(n)
        .seed(1)
        .strategy(knot::Strategy::Random)
        .run(program);
    if let Some(report) = &outcome.report {
        panic!("knot found a bug in a correct program:\n{report}");
    }
    assert_eq!(
        outcome.executions, n,
        "knot ran {} executions instead of {n} (is KNOT_ITERATIONS set?)",
        outcome.executions
    );
    assert_eq!(COMPLETED.load(StdOrdering::Relaxed) - before, n);
}

fn run_shuttle(n: u64, program: impl Fn() + Send + Sync + 'static) {
    let before = COMPLETED.load(StdOrdering::Relaxed);
    shuttle::check_random(
        program,
        usize::try_from(n).expect("executions fit in usize"),
    );
    assert_eq!(COMPLETED.load(StdOrdering::Relaxed) - before, n);
}

/// Executions per second of one timed run of `n` executions.
fn rate(run: fn(u64), n: u64) -> f64 {
    let start = Instant::now();
    run(n);
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
    (program.knot)(warm_up);
    (program.shuttle)(warm_up);
    let mut knot = Vec::with_capacity(REPEATS);
    let mut shuttle = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        knot.push(rate(program.knot, n));
        shuttle.push(rate(program.shuttle, n));
    }
    (median(knot), median(shuttle))
}

/// The number of executions per timed run: the first numeric argument, else
/// the variable, else [`DEFAULT_EXECUTIONS`]. Other arguments (`--bench`,
/// which cargo passes) are ignored.
fn executions() -> u64 {
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
    from_args
        .or_else(from_env)
        .unwrap_or(DEFAULT_EXECUTIONS)
        .max(1)
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
    let n = executions();
    println!(
        "{} executions per run, median of {REPEATS} runs after a warm-up of {}",
        thousands(n as f64),
        thousands((n / 10).max(1) as f64)
    );
    println!();
    println!(
        "{:<30}  {:>12}  {:>15}  {:>13}",
        "program", "knot exec/s", "shuttle exec/s", "knot/shuttle"
    );
    for program in PROGRAMS {
        let (knot, shuttle) = measure(program, n);
        println!(
            "{:<30}  {:>12}  {:>15}  {:>13.2}",
            program.name,
            thousands(knot),
            thousands(shuttle),
            knot / shuttle
        );
    }
}
