//! How the runtime is set up: its number of workers and its monitors'
//! thresholds, from a [`Builder`] or from the environment.

use std::fmt;
use std::time::Duration;

use crate::task::MAX_WORKERS;

/// Sets up the live runtime before its first task: the number of worker
/// threads and the thresholds of its monitors.
///
/// The runtime starts by itself with the first spawn, configured from the
/// environment (see [`Builder::from_env`]); a program that wants other
/// settings calls [`start`](Builder::start) before it spawns anything.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let started = knot::runtime::Builder::from_env()
///     .workers(2)
///     .stall_threshold(Some(Duration::from_millis(500)))
///     .start();
/// // Only the first start of a process configures it.
/// assert!(started.is_ok());
/// assert!(knot::runtime::Builder::new().start().is_err());
/// assert_eq!(knot::spawn(|| 1 + 1).join().unwrap(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a Builder does nothing until `start` is called"]
pub struct Builder {
    config: Config,
}

/// The runtime's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) stall_threshold: Option<Duration>,
    pub(crate) deadlock_timeout: Option<Duration>,
}

/// The runtime had already started, so a [`Builder`] could not configure
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlreadyStarted;

impl fmt::Display for AlreadyStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the knot runtime had already started (a task was spawned before \
             Builder::start), so its settings stay as they were",
        )
    }
}

impl std::error::Error for AlreadyStarted {}

/// How long a task may keep its worker without reaching a knot operation
/// before the monitor names it: one second.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_secs(1);

/// How long every task must be asleep, with a thread waiting for them and
/// nothing else that could wake them, before the monitor calls it a
/// deadlock: two seconds.
pub const DEFAULT_DEADLOCK_TIMEOUT: Duration = Duration::from_secs(2);

impl Builder {
    /// The default settings: one worker per available core, and the default
    /// thresholds; the environment is not read.
    pub fn new() -> Builder {
        Builder {
            config: Config {
                workers: default_workers(),
                stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
                deadlock_timeout: Some(DEFAULT_DEADLOCK_TIMEOUT),
            },
        }
    }

    /// The settings the runtime starts with by itself: the defaults, changed
    /// by the environment.
    ///
    /// - `KNOT_WORKERS`: the number of worker threads, 1 to 256.
    /// - `KNOT_STALL_THRESHOLD`: how long a task may hold its worker without
    ///   a knot operation before it is named, such as `500ms` or `2s`; `off`
    ///   turns the check off.
    /// - `KNOT_DEADLOCK_TIMEOUT`: how long everything must stay asleep before
    ///   a deadlock is declared, in the same form; `off` turns it off.
    ///
    /// An empty value means the default; a value that cannot be read is
    /// reported on stderr and the default is kept.
    pub fn from_env() -> Builder {
        Builder {
            config: Config::from_env(),
        }
    }

    /// Sets the number of worker threads.
    ///
    /// # Panics
    ///
    /// If `workers` is 0 or more than 256.
    pub fn workers(mut self, workers: usize) -> Builder {
        assert!(
            (1..=MAX_WORKERS).contains(&workers),
            "knot: a runtime needs between 1 and {MAX_WORKERS} workers, not {workers}"
        );
        self.config.workers = workers;
        self
    }

    /// Sets how long a task may keep its worker without reaching a knot
    /// operation before the monitor names it as starving the others; `None`
    /// turns the check off. [`DEFAULT_STALL_THRESHOLD`] unless set.
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.config.stall_threshold = threshold;
        self
    }

    /// Sets how long every task must stay asleep, while a thread waits for
    /// them and no timer or blocking call could wake them, before the
    /// monitor declares a deadlock; `None` turns the check off.
    /// [`DEFAULT_DEADLOCK_TIMEOUT`] unless set.
    pub fn deadlock_timeout(mut self, timeout: Option<Duration>) -> Builder {
        self.config.deadlock_timeout = timeout;
        self
    }

    /// Starts the runtime with these settings.
    ///
    /// # Errors
    ///
    /// [`AlreadyStarted`] if the runtime was already running (a task was
    /// spawned, or `start` was called, before); it keeps its settings.
    pub fn start(self) -> Result<(), AlreadyStarted> {
        if crate::scheduler::start_with(self.config) {
            Ok(())
        } else {
            Err(AlreadyStarted)
        }
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Config {
    pub(crate) fn from_env() -> Config {
        let mut config = Builder::new().config;
        if let Some(workers) = read("KNOT_WORKERS", |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_WORKERS).contains(n))
                .ok_or_else(|| format!("expected a number of workers from 1 to {MAX_WORKERS}"))
        }) {
            config.workers = workers;
        }
        if let Some(threshold) = read("KNOT_STALL_THRESHOLD", parse_duration) {
            config.stall_threshold = threshold;
        }
        if let Some(timeout) = read("KNOT_DEADLOCK_TIMEOUT", parse_duration) {
            config.deadlock_timeout = timeout;
        }
        config
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_WORKERS)
}

/// Reads the variable `name` with `parse`; a bad value is reported on
/// stderr and ignored.
fn read<T>(name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
    let value = std::env::var(name).ok()?;
    if value.trim().is_empty() {
        return None;
    }
    match parse(value.trim()) {
        Ok(parsed) => Some(parsed),
        Err(expected) => {
            eprintln!("knot: {name}={value:?} is not valid: {expected}; the default is kept");
            None
        }
    }
}

/// Reads `250ms`, `2s` or `1.5s` as a duration, and `off` as none.
pub(crate) fn parse_duration(value: &str) -> Result<Option<Duration>, String> {
    const EXPECTED: &str = "expected a duration such as 500ms or 2s, or off";
    let value = value.to_ascii_lowercase();
    if value == "off" {
        return Ok(None);
    }
    let (number, unit) = if let Some(n) = value.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(String::from(EXPECTED));
    };
    let seconds: f64 = number.trim().parse().map_err(|_| String::from(EXPECTED))?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds * unit > 1e9 {
        return Err(String::from(EXPECTED));
    }
    Ok(Some(Duration::from_secs_f64(seconds * unit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_in_milliseconds_or_seconds() {
        assert_eq!(
            parse_duration("250ms"),
            Ok(Some(Duration::from_millis(250)))
        );
        assert_eq!(parse_duration("2s"), Ok(Some(Duration::from_secs(2))));
        assert_eq!(
            parse_duration("1.5s"),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(parse_duration("OFF"), Ok(None));
        assert_eq!(parse_duration("2S"), Ok(Some(Duration::from_secs(2))));
    }

    #[test]
    fn bad_durations_are_errors() {
        for bad in ["", "2", "ms", "-1s", "0s", "nans", "1e30s", "fast"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
