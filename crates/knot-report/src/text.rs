//! The text rendering of a report: what a person reads in a failing test.
//!
//! The layout is compact and stable, so that it can be matched in tests and
//! compared between runs: sections appear in a fixed order, empty sections
//! are left out, and nothing depends on the order tasks were listed in.

use std::fmt::{self, Display, Formatter, Write as _};

use crate::model::{Frame, ObjectRef, Report, ReportKind, Site, TaskReport, TaskState, TraceEvent};

/// How many trace events the text shows; the JSON keeps them all.
const TRACE_LINES: usize = 20;

impl Display for ReportKind {
    /// Writes the kind in lowercase words, such as `deadlock` or `data race`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportKind::Deadlock => "deadlock",
            ReportKind::Leak => "leak",
            ReportKind::Unjoined => "unjoined task",
            ReportKind::Panic => "panic",
            ReportKind::Misuse => "misuse",
            ReportKind::StepLimit => "step limit",
            ReportKind::DataRace => "data race",
        })
    }
}

impl Display for Site {
    /// Writes `file:line:column`, the form editors and terminals link.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Display for ObjectRef {
    /// Writes `Kind#id`, followed by ` (created at SITE)` when the creation
    /// site is known.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.kind, self.id)?;
        if let Some(site) = &self.created {
            write!(f, " (created at {site})")?;
        }
        Ok(())
    }
}

impl Display for TaskState {
    /// Writes the state in lowercase words; a panic includes its message.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TaskState::Runnable => f.write_str("runnable"),
            TaskState::Blocked => f.write_str("blocked"),
            TaskState::Finished => f.write_str("finished"),
            TaskState::Panicked(message) => write!(f, "panicked: {message}"),
            TaskState::NotStarted => f.write_str("not started"),
        }
    }
}

impl Display for Report {
    /// Writes the report as the text a person reads in a failing test.
    ///
    /// The layout, with every section optional but the first line:
    ///
    /// ```text
    /// knot found a deadlock: every task is blocked and main has not returned
    ///
    /// tasks:
    ///   task 1 "worker-a" (spawned at tests/abba.rs:12:5)
    ///     blocked in lock on Mutex#2 (created at tests/abba.rs:9:13) at tests/abba.rs:14:9
    ///     holds Mutex#1 (created at tests/abba.rs:8:13)
    ///   task 0 "main": blocked in join on task#1 at tests/abba.rs:20:5
    /// wait-for graph:
    ///   "worker-a" -> Mutex#2 -> held by "worker-b"
    ///   "main" -> task#1 -> only "worker-a" can wake it
    /// last events:
    ///   step 12  task 1 "worker-a"  lock Mutex#1  at tests/abba.rs:13:9
    /// found by strategy random, seed 42, execution 17
    /// schedule: 1:0.1*3.2
    /// replay: KNOT_REPLAY='1:0.1*3.2' cargo test abba
    /// ```
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_headline(self, f)?;
        let mut body = String::new();
        write_tasks(self, &mut body)?;
        write_wait_for(self, &mut body)?;
        write_trace(self, &mut body)?;
        write_replay(self, &mut body)?;
        if !body.is_empty() {
            // The body is built line by line with a newline after each; the
            // rendering itself ends without one, like any other Display.
            write!(f, "\n\n{}", body.trim_end_matches('\n'))?;
        }
        Ok(())
    }
}

fn write_headline(report: &Report, f: &mut Formatter<'_>) -> fmt::Result {
    match report.kind {
        // "found a step limit" reads as if the limit were the bug.
        ReportKind::StepLimit => f.write_str("knot hit the step limit")?,
        ReportKind::Unjoined => write!(f, "knot found an {}", report.kind)?,
        _ => write!(f, "knot found a {}", report.kind)?,
    }
    if !report.message.is_empty() {
        f.write_str(": ")?;
        write_indented(f, &report.message, "  ")?;
    }
    Ok(())
}

fn write_tasks(report: &Report, out: &mut String) -> fmt::Result {
    if report.tasks.is_empty() {
        return Ok(());
    }
    let mut tasks: Vec<&TaskReport> = report.tasks.iter().collect();
    tasks.sort_by_key(|task| (!task.involved, task.id));
    out.push_str("tasks:\n");
    for task in tasks {
        write!(out, "  task {} {:?}", task.id, task.name)?;
        if task.involved {
            match (&task.spawn_site, task.daemon) {
                (Some(site), false) => write!(out, " (spawned at {site})")?,
                (Some(site), true) => write!(out, " (daemon, spawned at {site})")?,
                (None, true) => out.push_str(" (daemon)"),
                (None, false) => {}
            }
            out.push_str("\n    ");
            write_state(task, out, "    ")?;
            out.push('\n');
            for object in &task.holds {
                writeln!(out, "    holds {object}")?;
            }
            if let Some(stacks) = report.backtraces.iter().find(|b| b.task == task.id) {
                write_frames(out, "waiting in", &stacks.waiting)?;
                write_frames(out, "spawned from", &stacks.spawned)?;
            }
        } else {
            // Bystanders get one line: enough to see where they ended up
            // without burying the culprits.
            if task.daemon {
                out.push_str(" (daemon)");
            }
            out.push_str(": ");
            write_state(task, out, "    ")?;
            out.push('\n');
        }
    }
    Ok(())
}

/// The innermost frames of a call stack, enough to find the way in.
fn write_frames(out: &mut String, title: &str, frames: &[Frame]) -> fmt::Result {
    const SHOWN: usize = 4;
    if frames.is_empty() {
        return Ok(());
    }
    writeln!(out, "    {title}:")?;
    for frame in frames.iter().take(SHOWN) {
        match &frame.site {
            Some(site) => writeln!(out, "      {} at {site}", frame.function)?,
            None => writeln!(out, "      {}", frame.function)?,
        }
    }
    if frames.len() > SHOWN {
        writeln!(out, "      ({} more frames)", frames.len() - SHOWN)?;
    }
    Ok(())
}

fn write_state(task: &TaskReport, out: &mut String, indent: &str) -> fmt::Result {
    match &task.blocked_on {
        Some(blocked) => {
            write!(
                out,
                "blocked in {} on {}",
                blocked.operation, blocked.object
            )?;
            if let Some(site) = &blocked.site {
                write!(out, " at {site}")?;
            }
            Ok(())
        }
        None => write_indented(out, &task.state.to_string(), indent),
    }
}

fn write_wait_for(report: &Report, out: &mut String) -> fmt::Result {
    if report.wait_for.is_empty() {
        return Ok(());
    }
    out.push_str("wait-for graph:\n");
    for edge in &report.wait_for {
        write!(out, "  ")?;
        write_task_name(report, edge.task, out)?;
        write!(out, " -> {}#{} -> ", edge.object.kind, edge.object.id)?;
        if edge.holders.is_empty() {
            out.push_str("nobody can wake it\n");
            continue;
        }
        // A lock has holders; a channel or a join has only the tasks that
        // could wake the waiter. Calling those "holders" would send the
        // reader looking for a lock that does not exist.
        let (holding, waking): (Vec<u64>, Vec<u64>) = edge.holders.iter().partition(|&&holder| {
            report.task(holder).is_some_and(|task| {
                task.holds
                    .iter()
                    .any(|held| held.id == edge.object.id && held.kind == edge.object.kind)
            })
        });
        if !holding.is_empty() {
            out.push_str("held by ");
            write_task_names(report, &holding, out)?;
        }
        if !waking.is_empty() {
            if !holding.is_empty() {
                out.push_str("; ");
            }
            out.push_str("only ");
            write_task_names(report, &waking, out)?;
            out.push_str(" can wake it");
        }
        out.push('\n');
    }
    Ok(())
}

fn write_task_names(report: &Report, ids: &[u64], out: &mut String) -> fmt::Result {
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_task_name(report, id, out)?;
    }
    Ok(())
}

fn write_task_name(report: &Report, id: u64, out: &mut String) -> fmt::Result {
    match report.task(id) {
        Some(task) => write!(out, "{:?}", task.name),
        None => write!(out, "task {id}"),
    }
}

fn task_label(report: &Report, id: u64) -> String {
    match report.task(id) {
        Some(task) => format!("task {id} {:?}", task.name),
        None => format!("task {id}"),
    }
}

fn write_trace(report: &Report, out: &mut String) -> fmt::Result {
    if report.trace.is_empty() {
        return Ok(());
    }
    out.push_str("last events:\n");
    let omitted = report.trace.len().saturating_sub(TRACE_LINES);
    if omitted > 0 {
        writeln!(out, "  ({omitted} earlier events omitted)")?;
    }
    let shown = &report.trace[omitted..];
    let rows: Vec<(String, String, String, Option<&Site>)> = shown
        .iter()
        .map(|event: &TraceEvent| {
            let action = match &event.object {
                Some(object) => format!("{} {}#{}", event.operation, object.kind, object.id),
                None => event.operation.clone(),
            };
            (
                event.step.to_string(),
                task_label(report, event.task),
                action,
                event.site.as_ref(),
            )
        })
        .collect();
    // Columns are aligned over the shown rows only, so that the same
    // events always render the same way.
    let step_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let task_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let action_width = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    for (step, task, action, site) in rows {
        let mut line =
            format!("  step {step:<step_width$}  {task:<task_width$}  {action:<action_width$}");
        if let Some(site) = site {
            write!(line, "  at {site}")?;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(())
}

fn write_replay(report: &Report, out: &mut String) -> fmt::Result {
    if let Some(search) = &report.search {
        writeln!(
            out,
            "found by strategy {}, seed {}, execution {}",
            search.strategy, search.seed, search.execution
        )?;
    }
    if report.schedule.is_empty() {
        return Ok(());
    }
    writeln!(out, "schedule: {}", report.schedule)?;
    writeln!(out, "replay: {}", report.replay_command())
}

impl Report {
    /// The shell command that replays the failing execution:
    /// `KNOT_REPLAY='SCHEDULE' cargo test TEST`, quoted so that it can be
    /// pasted as is.
    ///
    /// ```
    /// use knot_report::{Report, ReportKind};
    ///
    /// let mut report = Report::new(ReportKind::Deadlock, "every task is blocked");
    /// report.schedule = String::from("1:5:1.0.2");
    /// report.test = Some(String::from("abba::buggy"));
    /// assert_eq!(report.replay_command(), "KNOT_REPLAY='1:5:1.0.2' cargo test abba::buggy");
    /// ```
    pub fn replay_command(&self) -> String {
        let mut command = format!("KNOT_REPLAY={} cargo test", quote(&self.schedule));
        if let Some(test) = &self.test {
            command.push(' ');
            if is_shell_word(test) {
                command.push_str(test);
            } else {
                command.push_str(&quote(test));
            }
        }
        command
    }
}

/// Whether `text` means itself to a POSIX shell, unquoted.
fn is_shell_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '/' | '-'))
}

/// Quotes `text` for a POSIX shell, so the replay line can be pasted as is.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Writes `text`, starting every line after the first with `indent`, so that
/// a multi-line message stays inside the block it belongs to.
fn write_indented(out: &mut impl fmt::Write, text: &str, indent: &str) -> fmt::Result {
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            write!(out, "\n{indent}")?;
        }
        out.write_str(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Blocked, SearchInfo, WaitEdge};

    fn site(line: u32, column: u32) -> Site {
        Site {
            file: "tests/abba.rs".to_string(),
            line,
            column,
        }
    }

    fn object(kind: &str, id: u64, line: u32) -> ObjectRef {
        ObjectRef {
            id,
            kind: kind.to_string(),
            created: Some(site(line, 13)),
        }
    }

    fn task(id: u64, name: &str, involved: bool) -> TaskReport {
        TaskReport {
            id,
            name: name.to_string(),
            spawn_site: (id != 0).then(|| site(10 + id as u32, 5)),
            state: TaskState::Blocked,
            blocked_on: None,
            holds: Vec::new(),
            daemon: false,
            involved,
        }
    }

    fn blocked(operation: &str, object: ObjectRef, line: u32) -> Option<Blocked> {
        Some(Blocked {
            object,
            operation: operation.to_string(),
            site: Some(site(line, 9)),
        })
    }

    fn abba() -> Report {
        let mut report = Report::new(
            ReportKind::Deadlock,
            "every task is blocked and main has not returned",
        );
        report.test = Some("abba".to_string());
        let mut main = task(0, "main", false);
        main.blocked_on = blocked("join", object("task", 1, 11), 20);
        let mut a = task(1, "worker-a", true);
        a.blocked_on = blocked("lock", object("Mutex", 2, 9), 14);
        a.holds = vec![object("Mutex", 1, 8)];
        let mut b = task(2, "worker-b", true);
        b.blocked_on = blocked("lock", object("Mutex", 1, 8), 16);
        b.holds = vec![object("Mutex", 2, 9)];
        report.tasks = vec![main, a, b];
        report.wait_for = vec![
            WaitEdge {
                task: 1,
                object: object("Mutex", 2, 9),
                holders: vec![2],
            },
            WaitEdge {
                task: 2,
                object: object("Mutex", 1, 8),
                holders: vec![1],
            },
            WaitEdge {
                task: 0,
                object: object("task", 1, 11),
                holders: vec![1],
            },
        ];
        report.trace = vec![
            TraceEvent {
                step: 9,
                task: 1,
                operation: "lock".to_string(),
                object: Some(object("Mutex", 1, 8)),
                site: Some(site(13, 9)),
            },
            TraceEvent {
                step: 10,
                task: 2,
                operation: "lock".to_string(),
                object: Some(object("Mutex", 2, 9)),
                site: Some(site(15, 9)),
            },
            TraceEvent {
                step: 11,
                task: 0,
                operation: "yield".to_string(),
                object: None,
                site: None,
            },
        ];
        report.search = Some(SearchInfo {
            preemptions: 1,
            strategy: "random".to_string(),
            seed: 42,
            execution: 17,
        });
        report.schedule = "1:0.1*3.2".to_string();
        report
    }

    #[test]
    fn a_deadlock_renders_in_full() {
        let expected = r#"knot found a deadlock: every task is blocked and main has not returned

tasks:
  task 1 "worker-a" (spawned at tests/abba.rs:11:5)
    blocked in lock on Mutex#2 (created at tests/abba.rs:9:13) at tests/abba.rs:14:9
    holds Mutex#1 (created at tests/abba.rs:8:13)
  task 2 "worker-b" (spawned at tests/abba.rs:12:5)
    blocked in lock on Mutex#1 (created at tests/abba.rs:8:13) at tests/abba.rs:16:9
    holds Mutex#2 (created at tests/abba.rs:9:13)
  task 0 "main": blocked in join on task#1 (created at tests/abba.rs:11:13) at tests/abba.rs:20:9
wait-for graph:
  "worker-a" -> Mutex#2 -> held by "worker-b"
  "worker-b" -> Mutex#1 -> held by "worker-a"
  "main" -> task#1 -> only "worker-a" can wake it
last events:
  step 9   task 1 "worker-a"  lock Mutex#1  at tests/abba.rs:13:9
  step 10  task 2 "worker-b"  lock Mutex#2  at tests/abba.rs:15:9
  step 11  task 0 "main"      yield
found by strategy random, seed 42, execution 17
schedule: 1:0.1*3.2
replay: KNOT_REPLAY='1:0.1*3.2' cargo test abba"#;
        assert_eq!(abba().to_string(), expected);
    }

    #[test]
    fn a_deadlock_names_tasks_edges_and_replay() {
        let text = abba().to_string();
        assert!(text.contains("\"worker-a\""), "{text}");
        assert!(text.contains("\"worker-b\""), "{text}");
        assert!(
            text.contains("\"worker-a\" -> Mutex#2 -> held by \"worker-b\""),
            "{text}"
        );
        assert!(
            text.contains("\"worker-b\" -> Mutex#1 -> held by \"worker-a\""),
            "{text}"
        );
        assert!(
            text.contains("replay: KNOT_REPLAY='1:0.1*3.2' cargo test abba"),
            "{text}"
        );
    }

    #[test]
    fn an_uninvolved_task_takes_one_line() {
        let text = abba().to_string();
        let lines: Vec<&str> = text.lines().collect();
        let main = lines
            .iter()
            .position(|line| line.starts_with("  task 0 "))
            .expect("main is listed");
        assert_eq!(
            lines[main],
            "  task 0 \"main\": blocked in join on task#1 (created at tests/abba.rs:11:13) \
             at tests/abba.rs:20:9"
        );
        assert_eq!(lines[main + 1], "wait-for graph:");
    }

    #[test]
    fn involved_tasks_come_first_then_the_rest_by_id() {
        let mut report = Report::new(ReportKind::Leak, "tasks are blocked forever");
        for (id, involved) in [(3, false), (0, false), (2, true), (1, false), (4, true)] {
            let mut t = task(id, &format!("t{id}"), involved);
            t.state = TaskState::Finished;
            report.tasks.push(t);
        }
        let text = report.to_string();
        let order: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("  task "))
            .map(|rest| &rest[..1])
            .collect();
        assert_eq!(order, ["2", "4", "0", "1", "3"], "{text}");
    }

    #[test]
    fn a_long_trace_keeps_the_last_events() {
        let mut report = Report::new(ReportKind::StepLimit, "more than 25 steps");
        report.tasks.push(task(0, "main", true));
        report.trace = (0..25)
            .map(|step| TraceEvent {
                step,
                task: 0,
                operation: "yield".to_string(),
                object: None,
                site: None,
            })
            .collect();
        let text = report.to_string();
        let trace: Vec<&str> = text
            .lines()
            .skip_while(|line| *line != "last events:")
            .skip(1)
            .collect();
        assert_eq!(trace.len(), 21, "{text}");
        assert_eq!(trace[0], "  (5 earlier events omitted)");
        assert_eq!(trace[1], "  step 5   task 0 \"main\"  yield");
        assert_eq!(trace[20], "  step 24  task 0 \"main\"  yield");
        assert!(!text.contains("step 4 "), "{text}");
    }

    #[test]
    fn a_short_trace_is_not_cut() {
        let text = abba().to_string();
        assert!(!text.contains("omitted"), "{text}");
    }

    #[test]
    fn empty_sections_are_left_out() {
        let report = Report::new(
            ReportKind::Misuse,
            "Mutex unlocked by a task that does not hold it",
        );
        assert_eq!(
            report.to_string(),
            "knot found a misuse: Mutex unlocked by a task that does not hold it"
        );
    }

    #[test]
    fn a_report_without_a_test_name_replays_the_whole_suite() {
        let mut report = Report::new(ReportKind::DataRace, "two unordered writes");
        report.schedule = "1:0.1".to_string();
        assert_eq!(
            report.to_string(),
            "knot found a data race: two unordered writes\n\n\
             schedule: 1:0.1\n\
             replay: KNOT_REPLAY='1:0.1' cargo test"
        );
    }

    #[test]
    fn the_replay_line_survives_a_shell() {
        let mut report = Report::new(ReportKind::Panic, "boom");
        report.schedule = "it's".to_string();
        report.test = Some("my test".to_string());
        assert!(
            report
                .to_string()
                .ends_with(r"replay: KNOT_REPLAY='it'\''s' cargo test 'my test'"),
            "{report}"
        );
    }

    #[test]
    fn an_edge_nobody_can_release_says_so() {
        let mut report = abba();
        report.wait_for = vec![WaitEdge {
            task: 1,
            object: object("Channel", 5, 3),
            holders: Vec::new(),
        }];
        assert!(
            report
                .to_string()
                .contains("  \"worker-a\" -> Channel#5 -> nobody can wake it\n"),
            "{report}"
        );
    }

    #[test]
    fn several_holders_are_joined_with_commas() {
        let mut report = abba();
        report.tasks[0].holds.push(object("RwLock", 7, 2));
        report.tasks[2].holds.push(object("RwLock", 7, 2));
        report.wait_for = vec![WaitEdge {
            task: 1,
            object: object("RwLock", 7, 2),
            holders: vec![0, 2, 9],
        }];
        assert!(
            report.to_string().contains(
                "  \"worker-a\" -> RwLock#7 -> held by \"main\", \"worker-b\"; \
                 only task 9 can wake it\n"
            ),
            "{report}"
        );
    }

    #[test]
    fn a_panicked_task_keeps_its_message_inside_its_block() {
        let mut report = Report::new(ReportKind::Panic, "worker panicked");
        let mut worker = task(1, "worker", true);
        worker.state = TaskState::Panicked("assertion failed\n  left: 1".to_string());
        worker.daemon = true;
        report.tasks.push(worker);
        assert_eq!(
            report.to_string(),
            "knot found a panic: worker panicked\n\n\
             tasks:\n  \
             task 1 \"worker\" (daemon, spawned at tests/abba.rs:11:5)\n    \
             panicked: assertion failed\n      \
             left: 1"
        );
    }

    #[test]
    fn kinds_read_as_words() {
        let words: Vec<String> = [
            ReportKind::Deadlock,
            ReportKind::Leak,
            ReportKind::Unjoined,
            ReportKind::Panic,
            ReportKind::Misuse,
            ReportKind::StepLimit,
            ReportKind::DataRace,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            words,
            [
                "deadlock",
                "leak",
                "unjoined task",
                "panic",
                "misuse",
                "step limit",
                "data race"
            ]
        );
    }

    #[test]
    fn headlines_read_as_sentences() {
        assert!(Report::new(ReportKind::Unjoined, "x")
            .to_string()
            .starts_with("knot found an unjoined task: x"));
        assert!(Report::new(ReportKind::StepLimit, "x")
            .to_string()
            .starts_with("knot hit the step limit: x"));
        assert_eq!(
            Report::new(ReportKind::Leak, "").to_string(),
            "knot found a leak"
        );
    }

    #[test]
    fn states_and_objects_read_as_words() {
        assert_eq!(TaskState::NotStarted.to_string(), "not started");
        assert_eq!(
            TaskState::Panicked("boom".into()).to_string(),
            "panicked: boom"
        );
        assert_eq!(TaskState::Runnable.to_string(), "runnable");
        assert_eq!(
            object("Mutex", 3, 10).to_string(),
            "Mutex#3 (created at tests/abba.rs:10:13)"
        );
        let bare = ObjectRef {
            id: 3,
            kind: "Mutex".to_string(),
            created: None,
        };
        assert_eq!(bare.to_string(), "Mutex#3");
    }
}
