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
//! same correct programs, in one run on one machine. Each program is written
//! once with knot's primitives and once with shuttle's, each as that tool's
//! users would write it:
//!
//! - **a atomic**: main spawns two tasks, each adds one to a shared atomic
//!   with `fetch_add`; main joins them and asserts 2 (the fixed lost
//!   update);
//! - **b locks**: two tasks each lock mutex `a` then mutex `b`, the same
//!   order (the fixed AB-BA), and bump both; main joins and asserts;
//! - **c mutex**: three tasks each increment a mutex-protected counter
//!   twice; main joins and asserts 6;
//! - **d pipeline**: a producer sends three items to a worker, which passes
//!   each on to main, the consumer, through a second channel; each channel
//!   ends when its sender is dropped. knot uses `chan::bounded(0)`, shuttle
//!   `mpsc::sync_channel(0)`, both rendezvous channels;
//! - **e condvar**: a waiter loops on a flag under a mutex, waiting on a
//!   condition variable; main sets the flag and notifies (the hand-off done
//!   right);
//! - **f services**: three tasks each store an answer in a mutex-protected
//!   list; knot joins them with a `WaitGroup` (`add` before each spawn, as
//!   in Go), shuttle with the threads' join handles, as in Rust;
//! - **g pool**: four workers take twenty jobs from one channel and send the
//!   squares back on another; main sends the jobs, closes, sums and joins.
//!   knot's workers share the jobs receiver (`bounded(20)`, cloned), shuttle's
//!   share a `sync_channel(20)` receiver behind a `Mutex`, as in the Rust
//!   book's thread pool.
//!
//! knot runs each with `Checker::new().strategy(Strategy::Random).seed(1)`,
//! shuttle with `shuttle::check_random_with_seed(_, 1, _)`. All programs are
//! correct, so every execution runs to its end and the figures measure the
//! cost of one execution: starting tasks, switching between them at every
//! operation, and resetting for the next. Each figure is the median of five
//! timed runs after a warm-up of a tenth as many executions.
//!
//! ```text
//! cargo bench -p knot-bench --bench executions
//! ```
//!
//! Each program has its own count of executions per timed run (from 10,000
//! for the pool to 150,000 for the smallest), so that the whole bench takes
//! about a minute. A number after `--`, or the variable
//! `KNOT_BENCH_EXECUTIONS`, sets one count for every program instead, and
//! words pick programs by name:
//!
//! ```text
//! cargo bench -p knot-bench --bench executions -- 10000
//! cargo bench -p knot-bench --bench executions -- pipeline pool
//! ```
//!
//! The output is a table of executions per second and the ratio
//! knot/shuttle, where more than 1 means knot is faster, then the smallest
//! ratio:
//!
//! ```text
//! program                           executions   knot exec/s   shuttle exec/s   knot/shuttle
//! a atomic: 2 tasks x fetch_add        150,000       xxx,xxx          xxx,xxx           x.xx
//! ...
//! minimum knot/shuttle: x.xx (<program>)
//! ```
//!
//! The bench stops with an error when `KNOT_ITERATIONS`, `KNOT_STRATEGY`,
//! `KNOT_MAX_STEPS`, `KNOT_REPLAY` or `SHUTTLE_RANDOM_SEED` is set, since
//! each would change what one of the tools runs.
//!
//! # `first_failure`
//!
//! How soon each tool finds a bug: the executions and the time to the first
//! failure on the same buggy programs, in one run on one machine.
//!
//! - **a lost update**: two tasks increment an atomic with a load then a
//!   store; main joins them and asserts 2;
//! - **b AB-BA deadlock**: a task locks `b` then `a` while main locks `a`
//!   then `b`;
//! - **e lost wake-up**: main sets a flag and notifies a condition variable;
//!   the waiter waits without looking at the flag, so a notification sent
//!   before it waits is lost and main's `join` waits forever;
//! - **d' pipeline leak**: generate, square and main joined by two
//!   rendezvous channels; main stops after two squares and returns while
//!   the stages wait in `send` forever (a leak). With std's channels,
//!   written the same way, there is no bug: dropping the receiver makes
//!   the stages' sends fail and they end, so shuttle's searches come back
//!   clean. The row **d' leak, receiver kept** gives shuttle the Go
//!   behaviour (main forgets its receiver instead of dropping it), and
//!   shuttle reports the stages blocked after main as a deadlock. loom has
//!   only unbounded channels and cannot express this bug;
//! - **f' services: add in task**: three tasks each call `add` on the wait
//!   group themselves, so main's `wait` may return before they have, and
//!   main asserts three answers. knot reports the `add` that does not
//!   happen before `wait` as misuse (or the failed assertion, whichever
//!   comes first); shuttle and loom, whose wait group is built from a mutex
//!   and a condition variable, report the failed assertion.
//!
//! Three pairings, each search with a budget of 10,000 executions: knot
//! `Strategy::Random` against shuttle's `RandomScheduler`, and knot
//! `Strategy::Pct { depth: 3 }` against shuttle's `PctScheduler` with depth
//! 3, both over seeds 1 to 20; and knot `Strategy::Dfs { preemption_bound:
//! None }` against `loom::model`, both deterministic, searched once (the
//! time is the median of three). knot runs with `.shrink(false)`. shuttle
//! panics on a failure, which the bench catches with `catch_unwind` behind
//! a silent panic hook that it restores afterwards (shuttle's random
//! scheduler also prints the failing seed to stderr, which the bench mutes
//! for the search). loom runs in a child process, since a loom deadlock can
//! abort: a panic hook in the child reports loom's first panic. shuttle's
//! and loom's executions are counted by the program, which bumps a counter
//! as its first act.
//!
//! ```text
//! cargo bench -p knot-bench --bench first_failure
//! cargo bench -p knot-bench --bench first_failure -- 5   # 5 seeds
//! ```
//!
//! The output is one row per bug and pairing: found/tried, median
//! executions and median milliseconds to the first failure for each tool
//! (over the searches that found it), knot's time split into the whole call
//! (`ms`, which includes the detailed replay that builds the report and
//! writes its JSON file) and the exploration alone (`search`), and the
//! ratios knot/rival for executions, time, and knot's search time against
//! the rival's time. Below 1 means knot needs less. Then what each tool
//! reported, and notes for the rows a rival cannot express.
//!
//! ```text
//! bug                        search  knot  execs     ms search   rival   found  execs     ms   execs  time search
//! a lost update              random 20/20      x   x.xx   x.xx   shuttle 20/20      x   x.xx    x.xx  x.xx   x.xx
//! ...
//! ```
//!
//! The bench stops with an error when a `KNOT_*`, `SHUTTLE_RANDOM_SEED` or
//! `LOOM_*` variable that changes what a tool explores is set.
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
//! 5. **atomic, 2 tasks x 1 `fetch_add`**, asserting 2;
//! 6. **locks, 2 tasks, same order**: two tasks each lock mutex `a` then
//!    mutex `b` and bump both (the fixed AB-BA);
//! 7. **condvar hand-off**: a waiter loops on a flag, waiting on a condition
//!    variable; main sets the flag and notifies.
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

pub mod programs;
