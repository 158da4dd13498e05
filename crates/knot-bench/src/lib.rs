//! Benchmarks of knot against the tools people use today.
//!
//! The crate has no code of its own: its benchmarks live in `benches/`, and
//! the tools compared with knot are dev-dependencies, so nothing else in the
//! workspace builds them.
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
