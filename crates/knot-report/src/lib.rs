//! The reports knot makes when it finds a bug, with their text and JSON
//! renderings.
//!
//! # Examples
//!
//! ```
//! use knot_report::{Report, ReportKind, TaskReport, TaskState};
//!
//! let mut report = Report::new(ReportKind::Panic, "worker panicked: boom");
//! report.tasks.push(TaskReport {
//!     id: 1,
//!     name: "worker".to_string(),
//!     spawn_site: None,
//!     state: TaskState::Panicked("boom".to_string()),
//!     blocked_on: None,
//!     holds: Vec::new(),
//!     daemon: false,
//!     involved: true,
//! });
//! report.schedule = "1:0.1".to_string();
//!
//! let text = report.to_string();
//! assert!(text.starts_with("knot found a panic: worker panicked: boom"));
//! assert!(text.contains("KNOT_REPLAY='1:0.1' cargo test"));
//!
//! let json = report.to_json();
//! assert_eq!(Report::from_json(&json).unwrap(), report);
//! ```

mod html;
mod json;
mod model;
mod text;

pub use json::ParseError;
pub use model::{
    Blocked, Frame, ObjectRef, Report, ReportKind, SearchInfo, Site, TaskBacktrace, TaskReport,
    TaskState, TraceEvent, WaitEdge, FORMAT_VERSION,
};
