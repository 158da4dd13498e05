//! Turns the state of a failed execution into a [`Report`].

use std::panic::Location;

use backtrace::Backtrace;
use knot_core::executor::{BlockedOn, FailureKind};
use knot_core::object::{Object, ObjectKind};
use knot_core::op::Op;
use knot_report::{
    Blocked, Frame, ObjectRef, Report, ReportKind, SearchInfo, Site, TaskBacktrace, TaskReport,
    TaskState, TraceEvent, WaitEdge,
};

use crate::execution::{Execution, Finding, State};

/// Builds the report of `finding` from the execution that produced it.
pub(crate) fn build(
    ex: &Execution,
    finding: &Finding,
    search: SearchInfo,
    test: Option<String>,
) -> Report {
    let tasks = &ex.tasks[..ex.live];
    let name = |t: usize| task_name(ex, t);
    let edges = wait_edges(ex);
    let (kind, message, involved): (ReportKind, String, Vec<usize>) = match finding {
        Finding::Primitive { task, failure } => {
            let kind = kind(finding);
            let mut message = format!("task {} \"{}\": {}", task, name(*task), failure.message);
            for other in &failure.others {
                // Primitives know tasks by number; the report names them.
                message = message.replace(
                    &format!("task {other} "),
                    &format!("task {other} \"{}\" ", name(*other)),
                );
            }
            let mut involved = vec![*task];
            involved.extend(failure.others.iter().filter(|o| **o < ex.live));
            (kind, message, involved)
        }
        Finding::Panic { task } => {
            let what = tasks[*task].panic.as_deref().unwrap_or("");
            let message = if *task == 0 {
                format!("main panicked: {what}")
            } else {
                format!(
                    "task {task} \"{}\" panicked and nobody joined it: {what}",
                    name(*task)
                )
            };
            (ReportKind::Panic, message, vec![*task])
        }
        Finding::Deadlock => {
            let cycle = in_cycles(&edges, ex.live);
            let involved = if cycle.is_empty() {
                (0..ex.live)
                    .filter(|t| matches!(tasks[*t].state, State::Blocked { .. }))
                    .collect()
            } else {
                cycle
            };
            let message = String::from("every task is blocked and main has not returned");
            (ReportKind::Deadlock, message, involved)
        }
        Finding::Leak(leaked) => {
            let list: Vec<String> = leaked.iter().map(|t| format!("\"{}\"", name(*t))).collect();
            let message = format!(
                "main returned while {} {} blocked forever",
                list.join(", "),
                if leaked.len() == 1 { "stays" } else { "stay" }
            );
            (ReportKind::Leak, message, leaked.clone())
        }
        Finding::Unjoined(unjoined) => {
            let parts: Vec<String> = unjoined
                .iter()
                .map(|t| match tasks[*t].late_effect {
                    Some((op, site)) => format!("\"{}\" ({} at {})", name(*t), op, site),
                    None => format!("\"{}\"", name(*t)),
                })
                .collect();
            let message = format!(
                "main returned before {} finished: work done after that would be lost; \
                 join the task or wait for it before main returns",
                parts.join(", ")
            );
            (ReportKind::Unjoined, message, unjoined.clone())
        }
        Finding::StepLimit { limit } => (
            ReportKind::StepLimit,
            format!(
                "an execution took more than {limit} steps: a livelock or an endless loop \
                 (raise the limit with `max_steps` if the program is just long)"
            ),
            vec![ex.current],
        ),
        Finding::Diverged(message) => (ReportKind::Misuse, message.clone(), vec![]),
    };

    let mut report = Report::new(kind, message);
    report.test = test;
    report.tasks = (0..ex.live)
        .map(|t| {
            let slot = &tasks[t];
            let (state, blocked_on) = match slot.state {
                State::Runnable => (TaskState::Runnable, None),
                State::Blocked { on, .. } => (TaskState::Blocked, Some(blocked(&on))),
                State::Finished => (TaskState::Finished, None),
                State::Panicked => (
                    TaskState::Panicked(slot.panic.clone().unwrap_or_default()),
                    None,
                ),
            };
            TaskReport {
                id: t as u64,
                name: name(t),
                spawn_site: slot.spawn_site.map(site),
                state,
                blocked_on,
                holds: slot.holds.iter().map(object).collect(),
                daemon: slot.daemon,
                involved: involved.contains(&t),
            }
        })
        .collect();
    report.wait_for = edges
        .iter()
        .map(|(task, on, holders)| WaitEdge {
            task: *task as u64,
            object: object(&on.object),
            holders: holders.iter().map(|h| *h as u64).collect(),
        })
        .collect();
    report.schedule = ex.schedule.to_string();
    report.search = Some(search);
    // A deadlock's trace keeps what led to the cycle: the culprits' events,
    // and other tasks' events on the objects the culprits hold or wait for.
    let culprits: Vec<usize> = match finding {
        Finding::Deadlock => involved.clone(),
        _ => Vec::new(),
    };
    let objects: Vec<u64> = culprits
        .iter()
        .flat_map(|&t| {
            let slot = &tasks[t];
            let waits = match slot.state {
                State::Blocked { on, .. } => Some(on.object.id()),
                _ => None,
            };
            slot.holds.iter().map(|o| o.id()).chain(waits)
        })
        .collect();
    let relevant = |e: &&crate::trace::Event| {
        culprits.is_empty()
            || culprits.contains(&e.task)
            || e.object
                .is_some_and(|o| objects.contains(&o.id()) && o.kind() != ObjectKind::Task)
    };
    report.backtraces = involved
        .iter()
        .filter_map(|&t| {
            let slot = &tasks[t];
            let spawned = slot.spawn_stack.as_ref().map(frames).unwrap_or_default();
            let waiting = match slot.state {
                State::Blocked { .. } => slot.wait_stack.as_ref().map(frames).unwrap_or_default(),
                _ => Vec::new(),
            };
            (!spawned.is_empty() || !waiting.is_empty()).then_some(TaskBacktrace {
                task: t as u64,
                spawned,
                waiting,
            })
        })
        .collect();
    report.trace = ex
        .trace
        .iter()
        .filter(relevant)
        .map(|e| TraceEvent {
            step: e.step,
            task: e.task as u64,
            operation: if e.blocks {
                format!("blocks in {}", e.op.name())
            } else {
                e.op.name().to_owned()
            },
            object: e.object.as_ref().map(object),
            site: e.site.map(site),
        })
        .collect();
    report
}

/// The kind of report a finding makes.
pub(crate) fn kind(finding: &Finding) -> ReportKind {
    match finding {
        Finding::Primitive { failure, .. } => match failure.kind {
            FailureKind::Deadlock => ReportKind::Deadlock,
            FailureKind::DataRace => ReportKind::DataRace,
            _ => ReportKind::Misuse,
        },
        Finding::Panic { .. } => ReportKind::Panic,
        Finding::Deadlock => ReportKind::Deadlock,
        Finding::Leak(_) => ReportKind::Leak,
        Finding::Unjoined(_) => ReportKind::Unjoined,
        Finding::StepLimit { .. } => ReportKind::StepLimit,
        Finding::Diverged(_) => ReportKind::Misuse,
    }
}

/// The name a task goes by in reports.
pub(crate) fn task_name(ex: &Execution, task: usize) -> String {
    match &ex.tasks[task].name {
        Some(name) => name.clone(),
        None if task == 0 => String::from("main"),
        None => format!("task-{task}"),
    }
}

/// Every blocked task with the object it waits on and the tasks that hold
/// it (or, for a join, the task that could end the wait).
fn wait_edges(ex: &Execution) -> Vec<(usize, BlockedOn, Vec<usize>)> {
    let tasks = &ex.tasks[..ex.live];
    (0..ex.live)
        .filter_map(|t| match tasks[t].state {
            State::Blocked { on, .. } => {
                let holds = |h: usize| tasks[h].holds.iter().any(|o| o.id() == on.object.id());
                // A reader of a write-preferring lock also waits for the
                // writers queued ahead of it.
                let queued_writer = |h: usize| {
                    on.op == Op::Read
                        && matches!(tasks[h].state, State::Blocked { on: w, .. }
                            if w.op == Op::Write && w.object.id() == on.object.id())
                };
                let holders = if on.object.kind() == ObjectKind::Task {
                    vec![on.object.id() as usize]
                } else {
                    (0..ex.live)
                        .filter(|&h| holds(h) || (h != t && queued_writer(h)))
                        .collect()
                };
                Some((t, on, holders))
            }
            _ => None,
        })
        .collect()
}

/// The tasks that lie on a cycle of the wait-for graph.
fn in_cycles(edges: &[(usize, BlockedOn, Vec<usize>)], tasks: usize) -> Vec<usize> {
    let next = |t: usize| -> &[usize] {
        edges
            .iter()
            .find(|(w, _, _)| *w == t)
            .map(|(_, _, h)| h.as_slice())
            .unwrap_or(&[])
    };
    (0..tasks)
        .filter(|&start| {
            let mut seen = vec![false; tasks];
            let mut stack: Vec<usize> = next(start).to_vec();
            while let Some(t) = stack.pop() {
                if t == start {
                    return true;
                }
                if t < tasks && !seen[t] {
                    seen[t] = true;
                    stack.extend_from_slice(next(t));
                }
            }
            false
        })
        .collect()
}

/// The frames of a call stack that belong to the program: knot's own frames,
/// the standard library's and other crates' are left out.
fn frames(stack: &Backtrace) -> Vec<Frame> {
    const MOST: usize = 16;
    let mut stack = stack.clone();
    stack.resolve();
    let mut out = Vec::new();
    'frames: for frame in stack.frames() {
        for symbol in frame.symbols() {
            let function = symbol.name().map(|n| format!("{n:#}")).unwrap_or_default();
            if function.starts_with("corosensei") {
                // The root of the task's coroutine: what lies beyond is the
                // checker's own caller.
                break 'frames;
            }
            let Some(file) = symbol.filename().map(|f| f.to_string_lossy().into_owned()) else {
                continue;
            };
            let foreign = [
                "/rustc/",
                "/.cargo/registry/",
                "/.cargo/git/",
                "/crates/knot",
            ]
            .iter()
            .any(|p| file.contains(p))
                || [
                    "knot::",
                    "knot_core::",
                    "knot_model::",
                    "knot_runtime::",
                    "backtrace::",
                    "std::",
                    "core::",
                    "alloc::",
                    "<",
                ]
                .iter()
                .any(|p| function.starts_with(p));
            if foreign || out.len() >= MOST {
                continue;
            }
            out.push(Frame {
                function,
                site: Some(Site {
                    file: relative(&file),
                    line: symbol.lineno().unwrap_or(0),
                    column: symbol.colno().unwrap_or(0),
                }),
            });
        }
    }
    out
}

/// A source path relative to the working directory when it lies inside it,
/// as `#[track_caller]` sites are.
fn relative(file: &str) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|dir| {
            std::path::Path::new(file)
                .strip_prefix(&dir)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| file.to_owned())
}

fn blocked(on: &BlockedOn) -> Blocked {
    Blocked {
        object: object(&on.object),
        operation: on.op.name().to_owned(),
        site: Some(site(on.site)),
    }
}

fn object(object: &Object) -> ObjectRef {
    ObjectRef {
        id: object.id(),
        kind: object.kind().name().to_owned(),
        created: Some(site(object.created())),
    }
}

fn site(location: &'static Location<'static>) -> Site {
    Site {
        file: location.file().to_owned(),
        line: location.line(),
        column: location.column(),
    }
}
