//! The JSON rendering of a report: what knot writes to disk and reads back.

use std::error::Error;
use std::fmt;

use crate::model::{Report, FORMAT_VERSION};

impl Report {
    /// Renders the report as pretty-printed JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// use knot_report::{Report, ReportKind};
    ///
    /// let json = Report::new(ReportKind::Deadlock, "every task is blocked").to_json();
    /// assert!(json.contains("\"kind\": \"deadlock\""));
    /// ```
    pub fn to_json(&self) -> String {
        // Every map in the model has string keys and every value is plain
        // data, so serialisation has no way to fail.
        serde_json::to_string_pretty(self).expect("a report always serialises to JSON")
    }

    /// Reads a report from the JSON that [`Report::to_json`] writes.
    ///
    /// The format version is checked before anything else, so a report
    /// written by another version of knot is refused with
    /// [`ParseError::UnsupportedVersion`] rather than with an error about
    /// whichever field changed.
    ///
    /// # Errors
    ///
    /// Returns [`ParseError::NotJson`] when `text` is not JSON,
    /// [`ParseError::NotAReport`] when it is JSON but not a knot report, and
    /// [`ParseError::UnsupportedVersion`] when it is a report of a format
    /// version this knot does not read.
    ///
    /// # Examples
    ///
    /// ```
    /// use knot_report::{ParseError, Report, ReportKind};
    ///
    /// let report = Report::new(ReportKind::Leak, "a task is blocked forever");
    /// assert_eq!(Report::from_json(&report.to_json()), Ok(report));
    ///
    /// let future = r#"{ "version": 99 }"#;
    /// assert!(matches!(
    ///     Report::from_json(future),
    ///     Err(ParseError::UnsupportedVersion { found: 99, .. })
    /// ));
    /// ```
    pub fn from_json(text: &str) -> Result<Report, ParseError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ParseError::NotJson(e.to_string()))?;
        let version = match value.get("version") {
            Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| {
                ParseError::NotAReport(format!(
                    "field `version` must be a non-negative integer, found {n}"
                ))
            })?,
            Some(other) => {
                return Err(ParseError::NotAReport(format!(
                    "field `version` must be a non-negative integer, found {other}"
                )))
            }
            None if value.is_object() => {
                return Err(ParseError::NotAReport(
                    "missing field `version`".to_string(),
                ))
            }
            None => {
                return Err(ParseError::NotAReport(format!(
                    "expected a JSON object, found {}",
                    json_type(&value)
                )))
            }
        };
        if version != u64::from(FORMAT_VERSION) {
            return Err(ParseError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        // Parsing the text again rather than converting `value` keeps the
        // line and column in serde's message, which is what a person needs
        // to find the broken field.
        serde_json::from_str(text).map_err(|e| ParseError::NotAReport(e.to_string()))
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The reason [`Report::from_json`] could not read a report.
///
/// The serde error is kept as text so that this type does not tie users to
/// the version of `serde_json` that knot uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not JSON; the payload is the JSON parser's message.
    NotJson(String),
    /// The text is JSON but not a knot report; the payload says which field
    /// is missing or wrong.
    NotAReport(String),
    /// The text is a knot report of a format version this knot does not
    /// read.
    UnsupportedVersion {
        /// The version written in the report.
        found: u64,
        /// The version this knot reads, [`FORMAT_VERSION`].
        supported: u32,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotJson(e) => write!(f, "not JSON: {e}"),
            ParseError::NotAReport(e) => write!(f, "not a knot report: {e}"),
            ParseError::UnsupportedVersion { found, supported } => {
                write!(
                    f,
                    "unsupported knot report version {found}: this knot reads version {supported}"
                )?;
                if *found > u64::from(*supported) {
                    write!(f, " (the report was written by a newer knot)")?;
                }
                Ok(())
            }
        }
    }
}

impl Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Blocked, ObjectRef, ReportKind, SearchInfo, Site, TaskReport, TaskState, TraceEvent,
        WaitEdge,
    };

    const KINDS: [ReportKind; 7] = [
        ReportKind::Deadlock,
        ReportKind::Leak,
        ReportKind::Unjoined,
        ReportKind::Panic,
        ReportKind::Misuse,
        ReportKind::StepLimit,
        ReportKind::DataRace,
    ];

    fn site(line: u32, column: u32) -> Site {
        Site {
            file: "tests/abba.rs".to_string(),
            line,
            column,
        }
    }

    fn mutex(id: u64, line: u32) -> ObjectRef {
        ObjectRef {
            id,
            kind: "Mutex".to_string(),
            created: Some(site(line, 13)),
        }
    }

    fn sample(kind: ReportKind) -> Report {
        let mut report = Report::new(kind, "every task is blocked and main has not returned");
        report.test = Some("abba".to_string());
        report.tasks = vec![
            TaskReport {
                id: 0,
                name: "main".to_string(),
                spawn_site: None,
                state: TaskState::Panicked("assertion failed\n  left: 1\n right: 2".to_string()),
                blocked_on: None,
                holds: Vec::new(),
                daemon: false,
                involved: false,
            },
            TaskReport {
                id: 1,
                name: "worker-a".to_string(),
                spawn_site: Some(site(12, 5)),
                state: TaskState::Blocked,
                blocked_on: Some(Blocked {
                    object: mutex(2, 9),
                    operation: "lock".to_string(),
                    site: Some(site(14, 9)),
                }),
                holds: vec![mutex(1, 8)],
                daemon: true,
                involved: true,
            },
            TaskReport {
                id: 2,
                name: "worker-b".to_string(),
                spawn_site: Some(site(18, 5)),
                state: TaskState::NotStarted,
                blocked_on: None,
                holds: Vec::new(),
                daemon: false,
                involved: true,
            },
        ];
        report.wait_for = vec![WaitEdge {
            task: 1,
            object: mutex(2, 9),
            holders: vec![2],
        }];
        report.schedule = "1:0.1*3.2".to_string();
        report.search = Some(SearchInfo {
            preemptions: 1,
            strategy: "random".to_string(),
            seed: 42,
            execution: 17,
        });
        report.trace = vec![
            TraceEvent {
                step: 0,
                task: 0,
                operation: "spawn".to_string(),
                object: None,
                site: Some(site(12, 5)),
            },
            TraceEvent {
                step: 1,
                task: 1,
                operation: "lock".to_string(),
                object: Some(mutex(1, 8)),
                site: None,
            },
        ];
        report
    }

    #[test]
    fn every_kind_round_trips() {
        for kind in KINDS {
            let report = sample(kind);
            let json = report.to_json();
            assert_eq!(Report::from_json(&json), Ok(report), "{json}");
        }
    }

    #[test]
    fn every_task_state_round_trips() {
        for state in [
            TaskState::Runnable,
            TaskState::Blocked,
            TaskState::Finished,
            TaskState::Panicked("boom".to_string()),
            TaskState::NotStarted,
        ] {
            let mut report = sample(ReportKind::Leak);
            report.tasks[0].state = state;
            assert_eq!(Report::from_json(&report.to_json()), Ok(report));
        }
    }

    #[test]
    fn kinds_are_written_in_snake_case() {
        let json = sample(ReportKind::StepLimit).to_json();
        assert!(json.contains("\"kind\": \"step_limit\""), "{json}");
        assert!(json.contains("\"version\": 1"), "{json}");
    }

    #[test]
    fn garbage_is_not_json() {
        let err = Report::from_json("knot found a deadlock").unwrap_err();
        assert!(matches!(err, ParseError::NotJson(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("not JSON: "), "{text}");
        assert!(text.contains("line 1"), "{text}");
    }

    #[test]
    fn an_object_without_version_is_not_a_report() {
        let err = Report::from_json(r#"{"name": "Cargo.toml"}"#).unwrap_err();
        assert!(matches!(err, ParseError::NotAReport(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "not a knot report: missing field `version`"
        );
    }

    #[test]
    fn a_json_array_is_not_a_report() {
        let err = Report::from_json("[1, 2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a knot report: expected a JSON object, found an array"
        );
    }

    #[test]
    fn a_bad_version_field_is_not_a_report() {
        let err = Report::from_json(r#"{"version": "one"}"#).unwrap_err();
        assert!(matches!(err, ParseError::NotAReport(_)), "{err:?}");
        assert!(err.to_string().contains("\"one\""), "{err}");
    }

    #[test]
    fn a_report_with_a_missing_field_names_it() {
        let mut value: serde_json::Value =
            serde_json::from_str(&sample(ReportKind::Deadlock).to_json()).unwrap();
        value.as_object_mut().unwrap().remove("schedule");
        let err = Report::from_json(&value.to_string()).unwrap_err();
        assert!(matches!(err, ParseError::NotAReport(_)), "{err:?}");
        assert!(err.to_string().contains("`schedule`"), "{err}");
    }

    #[test]
    fn a_future_version_is_refused_before_its_fields_are_read() {
        // Version 99 may have renamed every field: the version is what to
        // report, not the first field that no longer matches.
        let err = Report::from_json(r#"{"version": 99, "findings": []}"#).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnsupportedVersion {
                found: 99,
                supported: FORMAT_VERSION
            }
        );
        let text = err.to_string();
        assert!(text.contains("version 99"), "{text}");
        assert!(text.contains("reads version 1"), "{text}");
        assert!(text.contains("newer knot"), "{text}");
    }

    #[test]
    fn a_full_report_of_version_99_is_refused() {
        let mut report = sample(ReportKind::Deadlock);
        report.version = 99;
        let err = Report::from_json(&report.to_json()).unwrap_err();
        assert!(
            matches!(err, ParseError::UnsupportedVersion { found: 99, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn an_older_version_is_refused_without_calling_it_newer() {
        let err = Report::from_json(r#"{"version": 0}"#).unwrap_err();
        assert!(!err.to_string().contains("newer"), "{err}");
    }
}
