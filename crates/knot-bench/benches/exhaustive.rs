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
//! executions are counted by the program itself, which bumps a counter as
//! its first act. Each time is the median of [`REPEATS`] timed explorations
//! after a warm-up one; the counts must be the same every time.

use std::env;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// loom's executions of the program being measured: each loom program adds
/// one as its first act.
static LOOM_EXECUTIONS: StdAtomicUsize = StdAtomicUsize::new(0);

/// The items program 2 passes down its pipeline.
const ITEMS: u32 = 3;

/// One program, written once for each tool.
struct Program {
    name: &'static str,
    knot: fn(),
    loom: fn(),
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "1 mutex: 3 tasks x 2 increments",
        knot: knot_mutex_3x2,
        loom: loom_mutex_3x2,
    },
    Program {
        name: "2 pipeline: 2 channels, 3 items",
        knot: knot_pipeline,
        loom: loom_pipeline,
    },
    Program {
        name: "3 services: WaitGroup",
        knot: knot_services,
        loom: loom_services,
    },
    Program {
        name: "4 mutex: 2 tasks x 1 increment",
        knot: knot_mutex_2x1,
        loom: loom_mutex_2x1,
    },
    Program {
        name: "5 atomic: 2 tasks x 1 fetch_add",
        knot: knot_atomic,
        loom: loom_atomic,
    },
    Program {
        name: "6 locks: 2 tasks, same order",
        knot: knot_ordered_locks,
        loom: loom_ordered_locks,
    },
    Program {
        name: "7 condvar: handoff, flag loop",
        knot: knot_condvar,
        loom: loom_condvar,
    },
];

/// The two settings: no preemption bound, and a bound of 2.
const SETTINGS: [(&str, Option<usize>); 2] = [("unbounded", None), ("bound 2", Some(2))];

// ---------------------------------------------------------------- knot ---

/// Main spawns `tasks` tasks that each increment a shared counter under a
/// mutex `increments` times, joins them and checks the total.
fn knot_counter(tasks: usize, increments: usize) {
    let m = Arc::new(knot::sync::Mutex::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let m = Arc::clone(&m);
            knot::spawn(move || {
                for _ in 0..increments {
                    *m.lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), tasks * increments);
}

fn knot_mutex_3x2() {
    knot_counter(3, 2);
}

fn knot_mutex_2x1() {
    knot_counter(2, 1);
}

/// A producer sends three items to a worker, which passes each on, tenfold,
/// to main; both channels are rendezvous channels.
fn knot_pipeline() {
    let (to_worker, from_producer) = knot::chan::bounded::<u32>(0);
    let (to_main, from_worker) = knot::chan::bounded::<u32>(0);
    let producer = knot::spawn(move || {
        for item in 1..=ITEMS {
            to_worker.send(item).unwrap();
        }
    });
    let worker = knot::spawn(move || {
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

/// Three services fetched by three tasks, each storing its answer in a
/// shared list; main waits for them with a `WaitGroup`.
fn knot_services() {
    let wg = knot::sync::WaitGroup::new();
    let answers = Arc::new(knot::sync::Mutex::new(Vec::new()));
    for service in ["users", "orders", "inventory"] {
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

fn knot_atomic() {
    use knot::sync::atomic::{AtomicUsize, Ordering};
    let n = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let n = Arc::clone(&n);
            knot::spawn(move || {
                n.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

/// Two tasks each lock `a` then `b`, in the same order (the fixed AB-BA),
/// and bump both.
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

/// A waiter waits on a condition variable until a flag is set, checking
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

// ---------------------------------------------------------------- loom ---

/// The loom twin of [`knot_counter`].
fn loom_counter(tasks: usize, increments: usize) {
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
    let m = Arc::new(loom::sync::Mutex::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let m = Arc::clone(&m);
            loom::thread::spawn(move || {
                for _ in 0..increments {
                    *m.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock().unwrap(), tasks * increments);
}

fn loom_mutex_3x2() {
    loom_counter(3, 2);
}

fn loom_mutex_2x1() {
    loom_counter(2, 1);
}

/// The loom twin of [`knot_pipeline`]; loom's only channel is
/// `loom::sync::mpsc::channel`, which is unbounded.
fn loom_pipeline() {
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
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

/// Go's `sync.WaitGroup` built from a loom mutex and condition variable,
/// which is all loom offers for it.
#[derive(Default)]
struct LoomWaitGroup {
    count: loom::sync::Mutex<usize>,
    zero: loom::sync::Condvar,
}

impl LoomWaitGroup {
    fn add(&self, n: usize) {
        *self.count.lock().unwrap() += n;
    }

    fn done(&self) {
        let mut count = self.count.lock().unwrap();
        *count -= 1;
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    fn wait(&self) {
        let mut count = self.count.lock().unwrap();
        while *count > 0 {
            count = self.zero.wait(count).unwrap();
        }
    }
}

/// The loom twin of [`knot_services`]: the threads are not joined, as in
/// Go; the wait group is what main waits on.
fn loom_services() {
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
    let wg = Arc::new(LoomWaitGroup::default());
    let answers = Arc::new(loom::sync::Mutex::new(Vec::new()));
    for service in ["users", "orders", "inventory"] {
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

fn loom_atomic() {
    use loom::sync::atomic::{AtomicUsize, Ordering};
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
    let n = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let n = Arc::clone(&n);
            loom::thread::spawn(move || {
                n.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

/// The loom twin of [`knot_ordered_locks`].
fn loom_ordered_locks() {
    use loom::sync::Mutex;
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            loom::thread::spawn(move || {
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

/// The loom twin of [`knot_condvar`].
fn loom_condvar() {
    use loom::sync::{Condvar, Mutex};
    LOOM_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let theirs = Arc::clone(&pair);
    let waiter = loom::thread::spawn(move || {
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
    match bound {
        None => loom::model(program.loom),
        Some(bound) => {
            let mut builder = loom::model::Builder::new();
            builder.preemption_bound = Some(bound);
            builder.check(program.loom);
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
    let mut times: Vec<Duration> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            let again = explore();
            let time = start.elapsed();
            assert_eq!(again, executions, "the count changed between runs");
            time
        })
        .collect();
    times.sort();
    Measure {
        executions,
        time: times[times.len() / 2],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn main() {
    for variable in OVERRIDES {
        if env::var_os(variable).is_some() {
            panic!("{variable} is set: unset it, it changes what the bench measures");
        }
    }
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
                ms(knot.time),
                ms(loom.time)
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
                ms(knot.time),
                ms(loom.time)
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
