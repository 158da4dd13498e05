//! How many executions knot's exhaustive search and loom need to cover every
//! interleaving of the same small programs, and how long each takes,
//! measured side by side in one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench exhaustive
//! ```
//!
//! Each program is written twice, once with knot's primitives and once with
//! loom's. knot explores with `Strategy::Dfs` (unbounded, then with a
//! preemption bound of 2) and must say it finished (`complete`) without a
//! report; loom explores with `loom::model` (its defaults) and with
//! `loom::model::Builder` and `preemption_bound = Some(2)`. loom's
//! executions are counted by the closure loom runs, which bumps a counter
//! before it runs the program. Each time is the median of [`REPEATS`] timed explorations
//! after a warm-up one; the counts must be the same every time.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::time::{Duration, Instant};

use knot_bench::programs;

mod common;
#[macro_use]
#[path = "common/wait_group.rs"]
mod wait_group;
#[macro_use]
#[path = "common/correct.rs"]
mod correct;

/// Timed explorations per program, setting and tool; the median is shown.
const REPEATS: usize = 3;

/// knot's budget of executions: far more than any program here needs, so
/// that an exploration stops only when it is complete.
const KNOT_BUDGET: u64 = 10_000_000;

/// The variables that would change what either tool explores.
const OVERRIDES: &[&str] = &[
    "KNOT_ITERATIONS",
    "KNOT_STRATEGY",
    "KNOT_MAX_STEPS",
    "KNOT_REPLAY",
    "LOOM_MAX_PREEMPTIONS",
    "LOOM_MAX_BRANCHES",
    "LOOM_MAX_PERMUTATIONS",
    "LOOM_MAX_DURATION",
    "LOOM_CHECKPOINT_FILE",
];

/// loom's executions of the program being measured: the closure loom runs
/// adds one before it runs the program.
static LOOM_EXECUTIONS: StdAtomicUsize = StdAtomicUsize::new(0);

/// One program, written once for each tool.
struct Program {
    name: &'static str,
    knot: fn(),
    loom: fn(),
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "1 mutex: 3 tasks x 2 increments",
        knot: || programs::counter(3, 2),
        loom: || loom_programs::counter(3, 2),
    },
    Program {
        name: "2 pipeline: 2 channels, 3 items",
        knot: programs::pipeline_counted,
        loom: loom_programs::pipeline,
    },
    Program {
        name: "3 services: WaitGroup",
        knot: programs::services,
        loom: loom_programs::services,
    },
    Program {
        name: "4 mutex: 2 tasks x 1 increment",
        knot: || programs::counter(2, 1),
        loom: || loom_programs::counter(2, 1),
    },
    Program {
        name: "5 atomic: 2 tasks x 1 fetch_add",
        knot: programs::atomic,
        loom: loom_programs::atomic,
    },
    Program {
        name: "6 locks: 2 tasks, same order",
        knot: programs::ordered_locks,
        loom: loom_programs::ordered_locks,
    },
    Program {
        name: "7 condvar: handoff, flag loop",
        knot: programs::condvar,
        loom: loom_programs::condvar,
    },
];

/// The two settings: no preemption bound, and a bound of 2.
const SETTINGS: [(&str, Option<usize>); 2] = [("unbounded", None), ("bound 2", Some(2))];

correct_twins!(loom_programs, loom {
    use knot_bench::programs::{ITEMS, SERVICES};

    wait_group!(loom);

    /// 2: loom's only channel is `loom::sync::mpsc::channel`, which is
    /// unbounded.
    pub(crate) fn pipeline() {
        let (to_worker, from_producer) = loom::sync::mpsc::channel::<u32>();
        let (to_main, from_worker) = loom::sync::mpsc::channel::<u32>();
        let producer = loom::thread::spawn(move || {
            for item in 1..=ITEMS {
                to_worker.send(item).unwrap();
            }
        });
        let worker = loom::thread::spawn(move || {
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

    /// 3: the threads are not joined, as in Go; the wait group, built from
    /// a loom mutex and condition variable, is what main waits on.
    pub(crate) fn services() {
        let wg = Arc::new(WaitGroup::default());
        let answers = Arc::new(loom::sync::Mutex::new(Vec::new()));
        for service in SERVICES {
            wg.add(1);
            let (wg, answers) = (Arc::clone(&wg), Arc::clone(&answers));
            drop(loom::thread::spawn(move || {
                answers.lock().unwrap().push(service);
                wg.done();
            }));
        }
        wg.wait();
        assert_eq!(answers.lock().unwrap().len(), 3);
    }
});

// ----------------------------------------------------------- measuring ---

/// One exploration by knot: its executions, after checking it finished
/// clean.
fn explore_knot(program: &Program, bound: Option<usize>) -> u64 {
    let outcome = knot::Checker::new()
        .strategy(knot::Strategy::Dfs {
            preemption_bound: bound,
        })
        .iterations(KNOT_BUDGET)
        .run(program.knot);
    if let Some(report) = &outcome.report {
        panic!(
            "knot reported a correct program, {}:\n{report}",
            program.name
        );
    }
    assert!(
        outcome.complete,
        "knot did not finish exploring {} in {} executions",
        program.name, outcome.executions
    );
    outcome.executions
}

/// One exploration by loom: its executions, as counted by the program.
fn explore_loom(program: &Program, bound: Option<usize>) -> u64 {
    LOOM_EXECUTIONS.store(0, StdOrdering::Relaxed);
    let loom = program.loom;
    let counted = move || {
        LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
        loom();
    };
    match bound {
        None => loom::model(counted),
        Some(bound) => {
            let mut builder = loom::model::Builder::new();
            builder.preemption_bound = Some(bound);
            builder.check(counted);
        }
    }
    LOOM_EXECUTIONS.load(StdOrdering::Relaxed) as u64
}

/// What one tool did on one program and setting.
#[derive(Clone, Copy)]
struct Measure {
    executions: u64,
    time: Duration,
}

/// Explores once to warm up, then [`REPEATS`] times; the count must not
/// change, and the time is the median.
fn measure(explore: impl Fn() -> u64) -> Measure {
    let executions = explore();
    let times: Vec<Duration> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            let again = explore();
            let time = start.elapsed();
            assert_eq!(again, executions, "the count changed between runs");
            time
        })
        .collect();
    Measure {
        executions,
        time: common::median(times),
    }
}

fn main() {
    common::refuse_overrides(OVERRIDES);
    println!(
        "executions to exhaust each program, and the median wall time of {REPEATS} explorations"
    );
    println!();
    println!(
        "{:<33}  {:<9}  {:>10}  {:>10}  {:>9}  {:>9}  {:>9}",
        "program", "setting", "knot exec", "loom exec", "knot/loom", "knot ms", "loom ms"
    );
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for program in PROGRAMS {
        let mut more = Vec::new();
        for (setting, bound) in SETTINGS {
            let knot = measure(|| explore_knot(program, bound));
            let loom = measure(|| explore_loom(program, bound));
            println!(
                "{:<33}  {:<9}  {:>10}  {:>10}  {:>9.2}  {:>9.2}  {:>9.2}",
                program.name,
                setting,
                knot.executions,
                loom.executions,
                knot.executions as f64 / loom.executions as f64,
                common::ms(knot.time),
                common::ms(loom.time)
            );
            if knot.executions > loom.executions {
                more.push(setting);
            }
            rows.push(format!(
                "ROW {} {} {} {} {:.3} {:.3}",
                program
                    .name
                    .split(':')
                    .next()
                    .unwrap_or(program.name)
                    .replace(' ', "_"),
                setting.replace(' ', "_"),
                knot.executions,
                loom.executions,
                common::ms(knot.time),
                common::ms(loom.time)
            ));
        }
        verdicts.push(if more.is_empty() {
            format!("{}: knot needs no more executions than loom", program.name)
        } else {
            format!(
                "{}: knot needs more executions than loom ({})",
                program.name,
                more.join(", ")
            )
        });
    }
    println!();
    println!("notes:");
    println!("  knot: Strategy::Dfs, complete and no report; loom: loom::model and");
    println!("    model::Builder with preemption_bound = Some(2), counted by the program.");
    println!("  2: knot's channels are rendezvous channels (bounded(0)); loom's only");
    println!("    channel, loom::sync::mpsc::channel, is unbounded. Each side receives");
    println!("    exactly 3 items (loom's recv is not woken when the senders go).");
    println!("  3: loom has no WaitGroup: it is built from a loom Mutex<usize> and a");
    println!("    Condvar, as Go builds one; the threads are not joined.");
    println!("  Both use std::sync::Arc for sharing, so neither counts reference changes.");
    println!();
    for verdict in &verdicts {
        println!("{verdict}");
    }
    println!();
    for row in &rows {
        println!("{row}");
    }
}
