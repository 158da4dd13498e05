//! How the checker picks the next task: the public [`Strategy`] and the
//! schedulers that carry it out.

mod dfs;
mod guided;
mod pct;
mod random;
mod replay;

pub(crate) use dfs::Dfs;
pub(crate) use guided::Guided;
pub(crate) use pct::Pct;
pub(crate) use random::RandomWalk;
pub(crate) use replay::Replay;

use std::fmt;
use std::str::FromStr;

/// A way of exploring a program's interleavings.
///
/// # Examples
///
/// ```
/// use knot_model::Strategy;
///
/// assert_eq!("pct:3".parse::<Strategy>().unwrap(), Strategy::Pct { depth: 3 });
/// assert_eq!(Strategy::Random.to_string(), "random");
/// assert!("sideways".parse::<Strategy>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// At every scheduling point, a task chosen uniformly at random among
    /// those that can run (seeded, so reproducible).
    #[default]
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010):
    /// tasks run by random priorities that change at `depth - 1` random
    /// points, which finds a bug of depth `depth` with a guaranteed
    /// probability in every execution.
    Pct {
        /// The number of ordering constraints the bug needs (at least 1).
        depth: usize,
    },
    /// Exhaustive depth-first exploration of every distinct interleaving,
    /// pruned by dynamic partial-order reduction: two orders of steps that
    /// commute are explored once. With a preemption bound, only executions
    /// that switch away from a task that could go on at most that many times
    /// are explored. When it finishes within its budget, the outcome says
    /// the exploration was complete.
    Dfs {
        /// The most preemptions an execution may have, or `None` for no
        /// bound.
        preemption_bound: Option<usize>,
    },
}

/// Why a strategy name could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStrategyError {
    input: String,
}

impl fmt::Display for ParseStrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown strategy `{}`: expected `random`, `pct`, `pct:N` (N a depth of at least 1), \
             `dfs` or `dfs:N` (N a preemption bound)",
            self.input
        )
    }
}

impl std::error::Error for ParseStrategyError {}

impl FromStr for Strategy {
    type Err = ParseStrategyError;

    fn from_str(s: &str) -> Result<Strategy, ParseStrategyError> {
        let err = || ParseStrategyError {
            input: s.to_owned(),
        };
        let (name, arg) = match s.trim().split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (s.trim(), None),
        };
        match (name.to_ascii_lowercase().as_str(), arg) {
            ("random", None) => Ok(Strategy::Random),
            ("pct", None) => Ok(Strategy::Pct { depth: 3 }),
            ("pct", Some(depth)) => match depth.parse::<usize>() {
                Ok(depth) if depth >= 1 => Ok(Strategy::Pct { depth }),
                _ => Err(err()),
            },
            ("dfs", None) => Ok(Strategy::Dfs {
                preemption_bound: None,
            }),
            ("dfs", Some(bound)) => match bound.parse::<usize>() {
                Ok(bound) => Ok(Strategy::Dfs {
                    preemption_bound: Some(bound),
                }),
                Err(_) => Err(err()),
            },
            _ => Err(err()),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Random => f.write_str("random"),
            Strategy::Pct { depth } => write!(f, "pct:{depth}"),
            Strategy::Dfs {
                preemption_bound: None,
            } => f.write_str("dfs"),
            Strategy::Dfs {
                preemption_bound: Some(bound),
            } => write!(f, "dfs:{bound}"),
        }
    }
}

/// The candidate that stands for firing the earliest pending timer.
pub(crate) const TIMER: usize = usize::MAX;

/// What a scheduler decides at each point where more than one task can run.
pub(crate) trait Scheduler {
    /// A new execution starts.
    fn begin(&mut self) {}

    /// Task `task` was created (main is task 0).
    fn spawned(&mut self, _task: usize) {}

    /// Picks one of `runnable` (sorted, at least two; [`TIMER`] stands for
    /// "the earliest timer fires now"), or `None` when a replay no longer
    /// fits the program. `current` is the task that reached the scheduling
    /// point, if it can go on; `step` counts scheduling points.
    fn choose(&mut self, runnable: &[usize], current: Option<usize>, step: u64) -> Option<usize>;

    /// Picks one of `options` (at least two) for a choice that is not
    /// scheduling, such as which ready `select!` arm runs.
    fn choose_index(&mut self, options: usize) -> Option<usize>;

    /// The execution ended after `steps` scheduling points.
    fn end(&mut self, _steps: u64) {}

    /// Whether [`choose`](Scheduler::choose) picks uniformly at random,
    /// drawing the index into `runnable` as
    /// [`choose_index`](Scheduler::choose_index) would with its length: the
    /// checker then calls `choose_index` and builds no list.
    fn uniform(&self) -> bool {
        false
    }

    /// Whether the scheduler wants [`choose`](Scheduler::choose) called at
    /// every decision, even forced ones, and [`step`](Scheduler::step) told
    /// what each step touched.
    fn wants_every_step(&self) -> bool {
        false
    }

    /// The step that `task` ran since the last decision touched `footprint`.
    fn step(&mut self, _task: Option<usize>, _footprint: &[crate::dpor::Access]) {}

    /// Whether the last `None` from [`choose`](Scheduler::choose) means
    /// "the rest of this execution repeats explored ones" rather than a
    /// divergence.
    fn pruned(&self) -> bool {
        false
    }

    /// How deep the current path is, for progress reports.
    fn depth(&self) -> usize {
        0
    }

    /// Prepares the next execution; false when there is nothing left to
    /// explore.
    fn next_execution(&mut self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        assert_eq!("random".parse::<Strategy>(), Ok(Strategy::Random));
        assert_eq!("RANDOM".parse::<Strategy>(), Ok(Strategy::Random));
        assert_eq!("pct".parse::<Strategy>(), Ok(Strategy::Pct { depth: 3 }));
        assert_eq!("pct:1".parse::<Strategy>(), Ok(Strategy::Pct { depth: 1 }));
        assert_eq!(
            "dfs:2".parse::<Strategy>(),
            Ok(Strategy::Dfs {
                preemption_bound: Some(2)
            })
        );
        for bad in ["", "pct:0", "pct:x", "random:2", "dfs:-1", "pct:", "bfs"] {
            let err = bad.parse::<Strategy>().unwrap_err();
            assert!(err.to_string().contains("expected `random`"), "{err}");
        }
    }

    #[test]
    fn display_parses_back() {
        for s in [
            Strategy::Random,
            Strategy::Pct { depth: 5 },
            Strategy::Dfs {
                preemption_bound: None,
            },
            Strategy::Dfs {
                preemption_bound: Some(0),
            },
        ] {
            assert_eq!(s.to_string().parse::<Strategy>(), Ok(s));
        }
    }
}
