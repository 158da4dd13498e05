//! The public face of the checker: configuration, running, replaying.

use std::fmt;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use knot_report::{Report, SearchInfo};

use crate::execution::{Finding, Session};
use crate::report;
use crate::reports_dir;
use crate::schedule::{Schedule, ScheduleError};
use crate::shrink::{self, Failing};
use crate::strategy::{Dfs, Pct, RandomWalk, Replay, Scheduler, Strategy};

/// The seed used when none is given: fixed, so that a check explores the
/// same schedules on every run and every machine.
pub const DEFAULT_SEED: u64 = 0x6b6e_6f74;

/// The number of executions when none is given.
pub const DEFAULT_ITERATIONS: u64 = 1_000;

/// The longest execution, in scheduling points, before it is reported as a
/// step-limit failure.
pub const DEFAULT_MAX_STEPS: u64 = 100_000;

/// Runs `f` under the checker with the default configuration, overridden by
/// the `KNOT_*` environment variables, and panics with the rendered report if
/// it finds a bug.
///
/// # Panics
///
/// Panics with the text of the report when a bug is found, or with the error
/// when a `KNOT_*` variable has a bad value or a replay does not fit.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use knot_core::sync::Mutex;
///
/// knot_model::check(|| {
///     let counter = Arc::new(Mutex::new(0));
///     *counter.lock() += 1;
///     assert_eq!(*counter.lock(), 1);
/// });
/// ```
pub fn check<F>(f: F)
where
    F: Fn() + 'static,
{
    Checker::new().check(f)
}

/// A configured checker: how many executions, which strategy, which seed.
///
/// Settings made here are overridden by the environment variables
/// `KNOT_ITERATIONS`, `KNOT_SEED`, `KNOT_STRATEGY` (`random`, `pct`,
/// `pct:N`), `KNOT_MAX_STEPS`, and `KNOT_REPLAY` (a schedule string from a
/// report, which replays that one execution), so CI can turn the dials
/// without a code change.
///
/// # Examples
///
/// ```
/// use knot_model::{Checker, Strategy};
///
/// let outcome = Checker::new()
///     .iterations(50)
///     .seed(7)
///     .strategy(Strategy::Pct { depth: 2 })
///     .run(|| {});
/// assert_eq!(outcome.executions, 50);
/// assert!(outcome.report.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    iterations: u64,
    seed: u64,
    strategy: Strategy,
    max_steps: u64,
    time_limit: Option<Duration>,
    shrink: bool,
    name: Option<String>,
}

/// What a run of the checker found.
///
/// Two outcomes are equal when they found the same thing in the same
/// executions; the time it took is not compared.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// How many executions ran, the failing one included.
    pub executions: u64,
    /// The first bug found, if any.
    pub report: Option<Report>,
    /// Whether every distinct interleaving was explored (within the
    /// preemption bound, if any): only an exhaustive strategy that finishes
    /// within its budget can say so.
    pub complete: bool,
    /// How many of the executions took a schedule no earlier one took.
    pub distinct: u64,
    /// How long the exploration took.
    pub elapsed: Duration,
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Outcome) -> bool {
        (self.executions, &self.report, self.complete, self.distinct)
            == (
                other.executions,
                &other.report,
                other.complete,
                other.distinct,
            )
    }
}

impl Eq for Outcome {}

impl Outcome {
    /// One line that says how hard the checker looked: strategy,
    /// executions, distinct schedules, time and verdict.
    fn summary(&self, config: &Checker) -> String {
        let verdict = match (&self.report, self.complete) {
            (Some(report), _) => format!("found a {}", report.kind()),
            (None, true) => String::from("no bug in any interleaving"),
            (None, false) => String::from("no bug found"),
        };
        format!(
            "knot: {} (seed {}): {} executions, {} distinct schedules, {:.2?}: {verdict}",
            config.strategy, config.seed, self.executions, self.distinct, self.elapsed
        )
    }
}

/// Why the checker could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable has a value the checker cannot use.
    Env {
        /// The variable, such as `KNOT_SEED`.
        variable: &'static str,
        /// The value it has.
        value: String,
        /// What it accepts.
        expected: String,
    },
    /// A schedule string cannot be read.
    Schedule(ScheduleError),
    /// A schedule does not fit the program: it changed, or it does something
    /// nondeterministic outside knot (real time, `HashMap` order, threads).
    Diverged {
        /// The schedule that was replayed.
        schedule: String,
        /// Where and how the replay left the schedule.
        detail: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Env {
                variable,
                value,
                expected,
            } => write!(f, "{variable}={value:?} is not valid: expected {expected}"),
            Error::Schedule(e) => write!(f, "cannot read the schedule: {e}"),
            Error::Diverged { schedule, detail } => write!(
                f,
                "the replay of schedule {schedule} diverged: {detail}. The program no longer \
                 takes that path: it changed since the schedule was recorded, or it depends on \
                 something knot does not control (real time, HashMap order, std threads)"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<ScheduleError> for Error {
    fn from(e: ScheduleError) -> Error {
        Error::Schedule(e)
    }
}

impl Default for Checker {
    fn default() -> Checker {
        Checker::new()
    }
}

impl Checker {
    /// A checker with the defaults: [`DEFAULT_ITERATIONS`] executions of
    /// [`Strategy::Random`] from [`DEFAULT_SEED`].
    pub fn new() -> Checker {
        Checker {
            iterations: DEFAULT_ITERATIONS,
            seed: DEFAULT_SEED,
            strategy: Strategy::Random,
            max_steps: DEFAULT_MAX_STEPS,
            time_limit: None,
            shrink: true,
            name: None,
        }
    }

    /// Sets how many executions to run at most (at least 1).
    pub fn iterations(mut self, iterations: u64) -> Checker {
        self.iterations = iterations.max(1);
        self
    }

    /// Sets the seed of the strategy's random choices.
    pub fn seed(mut self, seed: u64) -> Checker {
        self.seed = seed;
        self
    }

    /// Sets the exploration strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Checker {
        self.strategy = strategy;
        self
    }

    /// Sets the longest execution, in scheduling points, before it is
    /// reported as a livelock.
    pub fn max_steps(mut self, max_steps: u64) -> Checker {
        self.max_steps = max_steps.max(1);
        self
    }

    /// Stops exploring once `limit` of real time has passed (the execution
    /// under way finishes first); the outcome then is not complete.
    pub fn time_limit(mut self, limit: Duration) -> Checker {
        self.time_limit = Some(limit);
        self
    }

    /// Sets whether a failing schedule is shrunk (fewer preemptions, fewer
    /// steps, the same kind of failure) before it is reported; on by
    /// default. Off, the report shows the execution exactly as the strategy
    /// found it.
    pub fn shrink(mut self, shrink: bool) -> Checker {
        self.shrink = shrink;
        self
    }

    /// Names the test in reports and in the replay command they print; the
    /// default is the name of the test thread, which `cargo test` sets.
    pub fn name(mut self, name: impl Into<String>) -> Checker {
        self.name = Some(name.into());
        self
    }

    /// Explores `f` and returns what it found.
    ///
    /// # Panics
    ///
    /// Panics with the error if a `KNOT_*` variable has a bad value or a
    /// `KNOT_REPLAY` schedule does not fit; [`try_run`](Self::try_run)
    /// returns it instead.
    pub fn run<F>(&self, f: F) -> Outcome
    where
        F: Fn() + 'static,
    {
        self.try_run(f).unwrap_or_else(|e| panic!("knot: {e}"))
    }

    /// Explores `f`, returning what it found or why it could not run.
    ///
    /// # Errors
    ///
    /// Returns an error if a `KNOT_*` variable has a bad value, or if a
    /// `KNOT_REPLAY` schedule cannot be read or does not fit the program.
    pub fn try_run<F>(&self, f: F) -> Result<Outcome, Error>
    where
        F: Fn() + 'static,
    {
        self.explore_and_report(f, false)
    }

    /// Explores `f`; a failure is shrunk, replayed in detail (its events
    /// printed for the test output when `print_trace`), and written to the
    /// report directory.
    fn explore_and_report<F>(&self, f: F, print_trace: bool) -> Result<Outcome, Error>
    where
        F: Fn() + 'static,
    {
        let config = self.with_env()?;
        if let Some(schedule) = env("KNOT_REPLAY") {
            return config.try_replay(&schedule, f);
        }
        let main: Rc<dyn Fn()> = Rc::new(f);
        let (executions, complete, distinct, failing, elapsed) = config.explore(&main);
        let report = failing.map(|(execution, failing)| {
            let failing = if config.shrink {
                shrink::shrink(&main, failing, config.max_steps)
            } else {
                failing
            };
            let search = SearchInfo {
                preemptions: failing.preemptions,
                strategy: config.strategy.to_string(),
                seed: config.seed,
                execution,
            };
            let report = config.report(&main, &failing.schedule, search, print_trace);
            if let Err(e) = reports_dir::write(&report) {
                eprintln!("knot: could not write the report file: {e}");
            }
            report
        });
        Ok(Outcome {
            executions,
            complete: complete && report.is_none(),
            report,
            distinct,
            elapsed,
        })
    }

    /// Runs the executions of the configured strategy until one fails, the
    /// budget runs out, or (exhaustive search) nothing is left to explore.
    #[allow(clippy::type_complexity)]
    fn explore(&self, main: &Rc<dyn Fn()>) -> (u64, bool, u64, Option<(u64, Failing)>, Duration) {
        let scheduler: Box<dyn Scheduler> = match self.strategy {
            Strategy::Random => Box::new(RandomWalk::new(self.seed)),
            Strategy::Pct { depth } => Box::new(Pct::new(self.seed, depth)),
            Strategy::Dfs { preemption_bound } => Box::new(Dfs::new(preemption_bound)),
        };
        let session = Session::start(scheduler, self.max_steps);
        let mut progress = Progress::new(&self.strategy);
        let mut schedules = Distinct::default();
        let mut complete = false;
        let mut executions = 0;
        while executions < self.iterations {
            executions += 1;
            let (mut failing, missed) = session.execute(main, |ex| {
                schedules.insert(fingerprint(&ex.schedule.choices));
                let missed = ex.races.missed().then(|| ex.schedule.choices.clone());
                (failing_of(ex), missed)
            });
            if let (None, Some(choices)) = (&failing, missed) {
                // The first object checked by happens-before appeared in an
                // execution that did not track it: run that execution again,
                // tracked, before moving on.
                let explorer = session.set_scheduler(Box::new(Replay::new(choices)));
                failing = session.execute(main, failing_of);
                drop(session.set_scheduler(explorer));
            }
            if let Some(failing) = failing {
                let distinct = schedules.count();
                return (
                    executions,
                    false,
                    distinct,
                    Some((executions, failing)),
                    progress.elapsed(),
                );
            }
            if !session.next_execution() {
                complete = true;
                break;
            }
            progress.tick(executions, || session.depth());
            if self
                .time_limit
                .is_some_and(|limit| progress.elapsed() >= limit)
            {
                break;
            }
        }
        (
            executions,
            complete,
            schedules.count(),
            None,
            progress.elapsed(),
        )
    }

    /// Replays `schedule` once more, in detail, and builds the report from
    /// that replay.
    fn report(
        &self,
        main: &Rc<dyn Fn()>,
        schedule: &Schedule,
        search: SearchInfo,
        print_trace: bool,
    ) -> Report {
        let session = Session::start(
            Box::new(Replay::new(schedule.choices.clone())),
            self.max_steps,
        );
        session.set_detailed();
        session.want_races();
        let replay = || {
            session.execute(main, |ex| {
                let finding = ex
                    .finding
                    .as_ref()
                    .expect("knot: the replay of a failing schedule fails again");
                report::build(ex, finding, search, self.test_name())
            })
        };
        // The replay's events go to the program's subscriber if it has one;
        // a failing check prints them to the test's output, which
        // `cargo test` shows with the failure.
        if tracing::dispatcher::has_been_set() || !print_trace {
            replay()
        } else {
            let subscriber = tracing_subscriber::fmt()
                .with_test_writer()
                .with_target(true)
                .without_time()
                .finish();
            tracing::subscriber::with_default(subscriber, replay)
        }
    }

    /// Explores `f` and panics with the rendered report if it finds a bug.
    ///
    /// # Panics
    ///
    /// Panics with the text of the report when a bug is found, or with the
    /// error when a `KNOT_*` variable has a bad value or a replay does not
    /// fit.
    pub fn check<F>(&self, f: F)
    where
        F: Fn() + 'static,
    {
        match self.explore_and_report(f, true) {
            Ok(outcome) => {
                eprintln!(
                    "{}",
                    outcome.summary(&self.with_env().unwrap_or_else(|_| self.clone()))
                );
                if let Some(report) = outcome.report {
                    panic!("{report}");
                }
            }
            Err(e) => panic!("knot: {e}"),
        }
    }

    /// Replays the one execution that `schedule` (from a report) describes.
    ///
    /// # Panics
    ///
    /// Panics with the error if the schedule cannot be read or does not fit
    /// the program; [`try_replay`](Self::try_replay) returns it instead.
    pub fn replay<F>(&self, schedule: &str, f: F) -> Outcome
    where
        F: Fn() + 'static,
    {
        self.try_replay(schedule, f)
            .unwrap_or_else(|e| panic!("knot: {e}"))
    }

    /// Replays the one execution that `schedule` describes, returning its
    /// report, if it fails, or why it could not be replayed.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Schedule`] if the string cannot be read, and
    /// [`Error::Diverged`] if the program does not take the recorded path.
    pub fn try_replay<F>(&self, schedule: &str, f: F) -> Result<Outcome, Error>
    where
        F: Fn() + 'static,
    {
        let config = self.with_env()?;
        let expected = Schedule::parse(schedule)?;
        // The same step limit as the run that recorded the schedule, so a
        // step-limit failure replays to the same step.
        let session = Session::start(
            Box::new(Replay::new(expected.choices.clone())),
            config.max_steps,
        );
        session.set_detailed();
        session.want_races();
        session.execute(&(Rc::new(f) as Rc<dyn Fn()>), |ex| {
            let diverged = |detail: String| Error::Diverged {
                schedule: schedule.trim().to_owned(),
                detail,
            };
            if let Some(Finding::Diverged(detail)) = &ex.finding {
                return Err(diverged(detail.clone()));
            }
            if ex.schedule != expected {
                return Err(diverged(format!(
                    "the execution took {} steps and {} choices where the schedule has {} and {}",
                    ex.schedule.steps,
                    ex.schedule.choices.len(),
                    expected.steps,
                    expected.choices.len()
                )));
            }
            let report = ex.finding.as_ref().map(|finding| {
                let search = SearchInfo {
                    preemptions: ex.preemptions,
                    strategy: String::from("replay"),
                    seed: config.seed,
                    execution: 1,
                };
                report::build(ex, finding, search, config.test_name())
            });
            Ok(Outcome {
                executions: 1,
                report,
                complete: false,
                distinct: 1,
                elapsed: Duration::ZERO,
            })
        })
    }

    /// This configuration with the `KNOT_*` environment variables applied.
    fn with_env(&self) -> Result<Checker, Error> {
        let mut config = self.clone();
        if let Some(v) = env("KNOT_ITERATIONS") {
            config.iterations = parse_positive("KNOT_ITERATIONS", &v)?;
        }
        if let Some(v) = env("KNOT_SEED") {
            config.seed = parse_u64(&v).ok_or_else(|| Error::Env {
                variable: "KNOT_SEED",
                value: v.clone(),
                expected: String::from("an unsigned 64-bit integer, decimal or 0x-prefixed hex"),
            })?;
        }
        if let Some(v) = env("KNOT_STRATEGY") {
            config.strategy = v
                .parse()
                .map_err(|e: crate::ParseStrategyError| Error::Env {
                    variable: "KNOT_STRATEGY",
                    value: v.clone(),
                    expected: e
                        .to_string()
                        .split_once("expected ")
                        .map_or_else(String::new, |(_, rest)| rest.to_owned()),
                })?;
        }
        if let Some(v) = env("KNOT_MAX_STEPS") {
            config.max_steps = parse_positive("KNOT_MAX_STEPS", &v)?;
        }
        Ok(config)
    }

    fn test_name(&self) -> Option<String> {
        self.name.clone().or_else(|| {
            thread::current()
                .name()
                .filter(|name| *name != "main")
                .map(String::from)
        })
    }
}

/// The failure of an execution that just ended, if any.
fn failing_of(ex: &crate::execution::Execution) -> Option<Failing> {
    let finding = ex.finding.as_ref()?;
    Some(Failing {
        kind: report::kind(finding),
        schedule: ex.schedule.clone(),
        preemptions: ex.preemptions,
        races: ex.races.wanted,
    })
}

/// A hash of one execution's choices, to count distinct schedules (FNV-1a:
/// one multiply per choice, which matters at a million executions).
fn fingerprint(choices: &[u32]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &choice in choices {
        hash ^= u64::from(choice);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^ choices.len() as u64
}

/// The distinct schedule fingerprints seen so far.
///
/// Fingerprints are appended as they come and sorted and deduplicated
/// whenever their number has doubled since the last time: appending costs
/// no more than a copy, where a hash set of a hundred thousand entries
/// misses the cache on most inserts.
#[derive(Debug, Default)]
struct Distinct {
    seen: Vec<u64>,
    /// How many entries at the front are sorted and distinct.
    sorted: usize,
}

impl Distinct {
    fn insert(&mut self, fingerprint: u64) {
        self.seen.push(fingerprint);
        if self.seen.len() >= 4096 && self.seen.len() >= 2 * self.sorted {
            self.compact();
        }
    }

    fn compact(&mut self) {
        // The front is one sorted run already: a stable sort finds it,
        // sorts only what came since and merges the two.
        self.seen.sort();
        self.seen.dedup();
        self.sorted = self.seen.len();
    }

    fn count(&mut self) -> u64 {
        self.compact();
        self.seen.len() as u64
    }
}

/// Progress of a long exploration, on stderr at most once a second.
struct Progress {
    strategy: String,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(strategy: &Strategy) -> Progress {
        let now = Instant::now();
        Progress {
            strategy: strategy.to_string(),
            started: now,
            last: now,
        }
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reports progress if a second has passed since the last report;
    /// `depth` is asked only then.
    fn tick(&mut self, executions: u64, depth: impl FnOnce() -> usize) {
        // Reading the clock costs more than a short execution: look at it
        // every so often.
        if executions % 256 != 0 || self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last = Instant::now();
        let depth = depth();
        let rate = executions as f64 / self.elapsed().as_secs_f64();
        eprintln!(
            "knot: {}: {executions} executions, depth {depth}, {rate:.0} executions/s",
            self.strategy
        );
    }
}

/// A variable's value; unset and empty are the same, so `KNOT_SEED=` in a CI
/// file means "the default".
fn env(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

fn parse_u64(value: &str) -> Option<u64> {
    let value = value.trim().replace('_', "");
    match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

fn parse_positive(variable: &'static str, value: &str) -> Result<u64, Error> {
    parse_u64(value)
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::Env {
            variable,
            value: value.to_owned(),
            expected: String::from("a whole number of at least 1"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_in_decimal_and_hex() {
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("0x2A"), Some(42));
        assert_eq!(parse_u64("1_000"), Some(1000));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("ten"), None);
    }

    #[test]
    fn zero_is_not_a_count() {
        let err = parse_positive("KNOT_ITERATIONS", "0").unwrap_err();
        assert!(err.to_string().contains("KNOT_ITERATIONS"), "{err}");
        assert!(err.to_string().contains("at least 1"), "{err}");
    }
}
