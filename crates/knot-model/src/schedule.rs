//! Schedule strings: one execution's scheduling decisions, written down so
//! that they replay exactly.
//!
//! The form is `1:STEPS:CHOICES`: the format version, the number of steps
//! the execution took, and the choice made at every point where there was
//! more than one option (the task to run, `t` for "the earliest timer fires
//! now", or the index of a ready `select!` arm), separated by `.`, where
//! `N*K` stands for `K` choices of `N` in a row. Points with a single runnable task are not
//! written: replaying the same program reaches them by itself.

use std::fmt;

/// The schedule format this version of knot writes and reads.
pub(crate) const VERSION: u32 = 1;

/// How a timer firing is written among the choices.
pub(crate) const TIMER: u32 = u32::MAX;

/// More choices than any execution the checker would run; a bound that keeps
/// a hostile schedule string from exhausting memory.
const MAX_CHOICES: usize = 1 << 24;

/// One execution's decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Schedule {
    pub(crate) steps: u64,
    pub(crate) choices: Vec<u32>,
}

/// Why a schedule string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    message: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (a schedule looks like `1:42:0.1*3.2`, as printed in a knot report)",
            self.message
        )
    }
}

impl std::error::Error for ScheduleError {}

impl Schedule {
    pub(crate) fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let fail = |message: String| ScheduleError { message };
        let text = text.trim();
        let mut parts = text.splitn(3, ':');
        let (Some(version), Some(steps), Some(choices)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(fail(format!(
                "`{text}` is not a schedule: expected three parts separated by `:`"
            )));
        };
        match version.parse::<u32>() {
            Ok(VERSION) => {}
            Ok(other) => {
                return Err(fail(format!(
                    "schedule format version {other} is not supported; this knot reads version {VERSION}"
                )))
            }
            Err(_) => return Err(fail(format!("`{version}` is not a schedule format version"))),
        }
        let steps = steps
            .parse::<u64>()
            .map_err(|_| fail(format!("`{steps}` is not a step count")))?;
        let mut out = Vec::new();
        for token in choices.split('.').filter(|t| !t.is_empty()) {
            let (value, count) = match token.split_once('*') {
                Some((value, count)) => (value, count),
                None => (token, "1"),
            };
            let value = match value {
                "t" => TIMER,
                value => value
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v != TIMER)
                    .ok_or_else(|| {
                        fail(format!("`{token}` is not a choice: expected N, t or N*K"))
                    })?,
            };
            let count = count
                .parse::<usize>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    fail(format!(
                        "`{token}` repeats a choice an invalid number of times"
                    ))
                })?;
            if out.len() + count > MAX_CHOICES {
                return Err(fail(format!(
                    "the schedule has more than {MAX_CHOICES} choices"
                )));
            }
            out.extend(std::iter::repeat(value).take(count));
        }
        Ok(Schedule {
            steps,
            choices: out,
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION}:{}:", self.steps)?;
        let mut first = true;
        let mut rest = &self.choices[..];
        while let Some(&value) = rest.first() {
            let run = rest.iter().take_while(|c| **c == value).count();
            if !first {
                f.write_str(".")?;
            }
            first = false;
            if value == TIMER {
                f.write_str("t")?;
            } else {
                write!(f, "{value}")?;
            }
            if run > 1 {
                write!(f, "*{run}")?;
            }
            rest = &rest[run..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_runs() {
        let s = Schedule {
            steps: 12,
            choices: vec![0, 1, 1, 1, 2, 0, TIMER, TIMER],
        };
        assert_eq!(s.to_string(), "1:12:0.1*3.2.0.t*2");
        assert_eq!(Schedule::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn empty_choices_round_trip() {
        let s = Schedule {
            steps: 3,
            choices: vec![],
        };
        assert_eq!(s.to_string(), "1:3:");
        assert_eq!(Schedule::parse("1:3:").unwrap(), s);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "hello",
            "1:x:0",
            "2:3:0",
            "1:3:a",
            "1:3:1*0",
            "1:3:1*999999999999",
            "::",
            "1:3:*",
            "1:18446744073709551615:0*18446744073709551615",
            "1:3:0*99999999999",
        ] {
            let err = Schedule::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("schedule looks like"), "{err}");
        }
    }
}
