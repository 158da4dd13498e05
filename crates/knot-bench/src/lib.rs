//! Benchmarks of knot against the tools people use today.
//!
//! The benchmarks live in `benches/`, and the tools compared with knot are
//! dev-dependencies, so nothing else in the workspace builds them. The
//! `knot-bench` binary reports on the bug corpus:
//!
//! ```text
//! cargo run --release -p knot-bench -- corpus [SEEDS]
//! ```
//!
//! runs every bug of the corpus under random, PCT (depth 3) and DFS, over
//! several seeds, and prints for each bug and strategy whether it was found
//! with the expected kind, the median executions and time to the first
//! report, and whether the fixed twin came back clean.
//!
//! # `live_races`
//!
//! The cost of live race detection (`KNOT_RACE=1`): four tasks incrementing
//! a `RaceCell` under a mutex, with detection off and on, in one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench live_races
//! ```
//!
//! # `executions`
//!
//! How many executions per second the checker runs, next to shuttle, on the
//! same programs, in one run on one machine:
//!
//! - **3 tasks x 2 mutex increments**: main spawns three tasks, each locks a
//!   shared mutex twice to increment a counter, main joins them and asserts
//!   the counter is 6;
//! - **2 tasks x 1 atomic fetch_add**: main spawns two tasks, each adds one
//!   to a shared atomic with `fetch_add`, main joins them and asserts 2.
//!
//! knot runs each with `Checker::new().strategy(Strategy::Random).seed(1)`,
//! shuttle with `shuttle::check_random`. Both programs are correct, so every
//! execution runs to its end and the figures measure the cost of one
//! execution: starting tasks, switching between them at every operation,
//! and resetting for the next. Each figure is the median of five timed runs
//! after a warm-up.
//!
//! ```text
//! cargo bench -p knot-bench --bench executions
//! ```
//!
//! Each timed run has 100,000 executions. A number after `--`, or the
//! variable `KNOT_BENCH_EXECUTIONS`, sets another count for a quicker look:
//!
//! ```text
//! cargo bench -p knot-bench --bench executions -- 10000
//! ```
//!
//! The output is a table of executions per second and the ratio
//! knot/shuttle, where more than 1 means knot is faster:
//!
//! ```text
//! program                          knot exec/s   shuttle exec/s   knot/shuttle
//! 3 tasks x 2 mutex increments         xxx,xxx           xx,xxx           x.xx
//! 2 tasks x 1 atomic fetch_add         xxx,xxx          xxx,xxx           x.xx
//! ```
//!
//! Leave the `KNOT_*` variables unset while benchmarking: `KNOT_ITERATIONS`
//! would change the number of executions knot runs (the bench stops with an
//! error when it does), and `KNOT_STRATEGY` the strategy it measures.
//!
//! # `exhaustive`
//!
//! How many executions an exhaustive search needs to cover every
//! interleaving of the same programs, knot's next to loom's, and how long it
//! takes, in one run on one machine. Each program is written once with
//! knot's primitives and once with loom's:
//!
//! 1. **mutex, 3 tasks x 2 increments**: main spawns three tasks, each
//!    increments a mutex-protected counter twice; main joins them and
//!    asserts 6;
//! 2. **pipeline, 2 channels, 3 items**: a producer sends three items to a
//!    worker, which passes each on to main; main receives three and joins
//!    both. knot's channels are rendezvous channels (`bounded(0)`); loom's
//!    only channel, `loom::sync::mpsc::channel`, is unbounded. Each side
//!    receives exactly three items, since a loom `recv` is not woken when the
//!    last sender goes;
//! 3. **services, WaitGroup**: three tasks each store an answer in a
//!    mutex-protected list and call `done`; main `add`s before each spawn,
//!    `wait`s, and asserts three answers. loom has no wait group: the loom
//!    version builds one from a loom `Mutex<usize>` and `Condvar`, as Go's
//!    is built, and does not join its threads either;
//! 4. **mutex, 2 tasks x 1 increment**, asserting 2;
//! 5. **atomic, 2 tasks x 1 `fetch_add`**, asserting 2.
//!
//! No program has more than four threads, main included, within loom's
//! limit. Both versions share with `std::sync::Arc`, so neither tool
//! explores the order of reference-count changes (`loom::sync::Arc` would
//! add those to loom's count).
//!
//! Each program runs in two settings: without a preemption bound (knot's
//! `Strategy::Dfs { preemption_bound: None }`, `loom::model`) and with a
//! bound of 2 (`Some(2)`, `loom::model::Builder` with `preemption_bound =
//! Some(2)`). knot must finish (`complete`) without a report; loom's
//! executions are counted by the program, which bumps a counter as its first
//! act. Counts are checked to be the same on every exploration; the time is
//! the median of three explorations after a warm-up.
//!
//! ```text
//! cargo bench -p knot-bench --bench exhaustive
//! ```
//!
//! The output is a table with, for each program and setting, the
//! executions to exhaust it and the wall time for each tool, and the ratio
//! of executions knot/loom, where less than 1 means knot needs fewer:
//!
//! ```text
//! program                            setting     knot exec   loom exec  knot/loom    knot ms    loom ms
//! 1 mutex: 3 tasks x 2 increments    unbounded          90        xxxx       x.xx       x.xx     xxx.xx
//! 1 mutex: 3 tasks x 2 increments    bound 2            57         xxx       x.xx       x.xx       x.xx
//! ...
//! ```
//!
//! then a verdict per program ("knot needs no more executions than loom", or
//! the opposite with the settings where it needs more), and one line per
//! row for scripts:
//!
//! ```text
//! ROW <program> <setting> <knot executions> <loom executions> <knot ms> <loom ms>
//! ```
//!
//! The bench stops with an error when a `KNOT_*` or `LOOM_*` variable that
//! changes what either tool explores is set.
