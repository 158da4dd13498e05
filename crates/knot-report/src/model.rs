//! The report model: plain data that every rendering reads.

use serde::{Deserialize, Serialize};

/// The version of the report format written into every [`Report`].
pub const FORMAT_VERSION: u32 = 1;

/// One finding of knot: what went wrong, the tasks involved and the schedule
/// that replays it.
///
/// # Examples
///
/// ```
/// use knot_report::{Report, ReportKind};
///
/// let report = Report::new(ReportKind::Deadlock, "every task is blocked");
/// assert_eq!(report.kind(), ReportKind::Deadlock);
/// assert!(report.to_string().contains("deadlock"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The report format version, [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// What kind of bug this is.
    pub kind: ReportKind,
    /// One sentence that says what went wrong.
    pub message: String,
    /// The test (or program) that produced the report, when known.
    pub test: Option<String>,
    /// Every task of the failing execution, main first.
    pub tasks: Vec<TaskReport>,
    /// The wait-for graph of the blocked tasks.
    pub wait_for: Vec<WaitEdge>,
    /// The schedule string that replays the failing execution.
    pub schedule: String,
    /// How the execution was found.
    pub search: Option<SearchInfo>,
    /// The last events of the failing execution, oldest first.
    pub trace: Vec<TraceEvent>,
    /// Call stacks of the involved tasks, from the replay that built the
    /// report: where each was spawned and where it waits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backtraces: Vec<TaskBacktrace>,
}

/// The call stacks of one task, innermost frame first, limited to the
/// program's own code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskBacktrace {
    /// The task's id.
    pub task: u64,
    /// Where the task was spawned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spawned: Vec<Frame>,
    /// Where the task waits (or where it last waited).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Frame>,
}

/// One frame of a call stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The function, demangled.
    pub function: String,
    /// Its place in the source, when known.
    pub site: Option<Site>,
}

/// The kinds of bug knot reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReportKind {
    /// No task can run and main has not returned.
    Deadlock,
    /// A task is blocked forever after main returned.
    Leak,
    /// A task still did work after main returned: that work would be lost.
    Unjoined,
    /// A task panicked and nobody joined it, or main panicked.
    Panic,
    /// A primitive was used in a way that is always a bug.
    Misuse,
    /// An execution ran longer than the step limit (a livelock guard).
    StepLimit,
    /// Two accesses to shared memory not ordered by happens-before.
    DataRace,
}

/// A place in the source code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Site {
    /// The source file, as the compiler names it.
    pub file: String,
    /// The 1-based line.
    pub line: u32,
    /// The 1-based column.
    pub column: u32,
}

/// An object that tasks synchronise on: a mutex, a channel, a task handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The object's number within the execution.
    pub id: u64,
    /// What it is: `Mutex`, `RwLock`, `Condvar`, `WaitGroup`, `task`, ...
    pub kind: String,
    /// Where it was created, when known.
    pub created: Option<Site>,
}

/// A task of the failing execution and its final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReport {
    /// The task's number: 0 is main, then in spawn order.
    pub id: u64,
    /// The task's name (`main`, a builder name, or `task-N`).
    pub name: String,
    /// Where it was spawned; `None` for main.
    pub spawn_site: Option<Site>,
    /// Its state when the report was made.
    pub state: TaskState,
    /// What it is blocked on, when its state is [`TaskState::Blocked`].
    pub blocked_on: Option<Blocked>,
    /// The objects it holds (locks), in the order it took them.
    pub holds: Vec<ObjectRef>,
    /// Whether the task is a daemon, allowed to outlive main.
    pub daemon: bool,
    /// Whether this task is one of the culprits of the report.
    pub involved: bool,
}

/// The state of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
#[non_exhaustive]
pub enum TaskState {
    /// Ready to run.
    Runnable,
    /// Waiting for an object.
    Blocked,
    /// Returned normally.
    Finished,
    /// Panicked, with the panic message.
    Panicked(String),
    /// Created but never started.
    NotStarted,
}

/// What a blocked task waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The object it waits on.
    pub object: ObjectRef,
    /// The operation it is in: `lock`, `read`, `write`, `wait`, `join`, ...
    pub operation: String,
    /// Where the operation was called.
    pub site: Option<Site>,
}

/// An edge of the wait-for graph: `task` waits on `object`, which `holders`
/// hold (or could release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitEdge {
    /// The waiting task's id.
    pub task: u64,
    /// The object it waits on.
    pub object: ObjectRef,
    /// The tasks that hold the object or are the only ones that could wake
    /// the waiter.
    pub holders: Vec<u64>,
}

/// How the failing execution was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchInfo {
    /// The strategy, as `KNOT_STRATEGY` spells it.
    pub strategy: String,
    /// The seed.
    pub seed: u64,
    /// The 1-based number of the failing execution.
    pub execution: u64,
    /// How often the reported execution switches away from a task that
    /// could have gone on: after shrinking, about what the bug needs.
    #[serde(default)]
    pub preemptions: u32,
}

/// One event of the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// The scheduling step at which the event happened.
    pub step: u64,
    /// The task that performed it.
    pub task: u64,
    /// The operation: `spawn`, `lock`, `unlock`, `send`, ...
    pub operation: String,
    /// The object it acted on, if any.
    pub object: Option<ObjectRef>,
    /// Where it was called.
    pub site: Option<Site>,
}

impl Report {
    /// Creates a report of `kind` that says `message`, with no tasks, graph,
    /// schedule, search information or trace yet.
    ///
    /// The other fields are public: whoever builds the report fills them in.
    ///
    /// # Examples
    ///
    /// ```
    /// use knot_report::{Report, ReportKind, FORMAT_VERSION};
    ///
    /// let mut report = Report::new(ReportKind::Leak, "a task is blocked forever");
    /// report.test = Some("leaky_worker".to_string());
    /// assert_eq!(report.version, FORMAT_VERSION);
    /// assert_eq!(report.test(), Some("leaky_worker"));
    /// assert!(report.tasks().is_empty());
    /// ```
    pub fn new(kind: ReportKind, message: impl Into<String>) -> Report {
        Report {
            version: FORMAT_VERSION,
            kind,
            message: message.into(),
            test: None,
            tasks: Vec::new(),
            wait_for: Vec::new(),
            schedule: String::new(),
            search: None,
            trace: Vec::new(),
            backtraces: Vec::new(),
        }
    }

    /// Returns what kind of bug this is.
    pub fn kind(&self) -> ReportKind {
        self.kind
    }

    /// Returns the sentence that says what went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the schedule string that replays the failing execution.
    ///
    /// It is empty when the report does not come from the checker (a live
    /// leak report, for example), since only checker executions replay.
    pub fn schedule(&self) -> &str {
        &self.schedule
    }

    /// Returns every task of the failing execution, main first.
    pub fn tasks(&self) -> &[TaskReport] {
        &self.tasks
    }

    /// Returns the test (or program) that produced the report, when known.
    pub fn test(&self) -> Option<&str> {
        self.test.as_deref()
    }

    /// Returns the task numbered `id`, if the report has it.
    ///
    /// # Examples
    ///
    /// ```
    /// use knot_report::{Report, ReportKind, TaskReport, TaskState};
    ///
    /// let mut report = Report::new(ReportKind::Deadlock, "every task is blocked");
    /// report.tasks.push(TaskReport {
    ///     id: 0,
    ///     name: "main".to_string(),
    ///     spawn_site: None,
    ///     state: TaskState::Blocked,
    ///     blocked_on: None,
    ///     holds: Vec::new(),
    ///     daemon: false,
    ///     involved: true,
    /// });
    /// assert_eq!(report.task(0).map(|t| t.name.as_str()), Some("main"));
    /// assert!(report.task(1).is_none());
    /// ```
    pub fn task(&self, id: u64) -> Option<&TaskReport> {
        self.tasks.iter().find(|task| task.id == id)
    }

    /// The first task called `name`, if any.
    ///
    /// ```
    /// use knot_report::{Report, ReportKind};
    ///
    /// let report = Report::new(ReportKind::Leak, "a task stays blocked");
    /// assert!(report.task_named("worker").is_none());
    /// ```
    pub fn task_named(&self, name: &str) -> Option<&TaskReport> {
        self.tasks.iter().find(|task| task.name == name)
    }

    /// The tasks the report blames: the deadlock cycle, the leaked or
    /// unjoined tasks, the task that panicked or misused a primitive.
    pub fn involved(&self) -> impl Iterator<Item = &TaskReport> {
        self.tasks.iter().filter(|task| task.involved)
    }

    /// The wait-for graph: which task waits on which object, held by whom.
    pub fn wait_for(&self) -> &[WaitEdge] {
        &self.wait_for
    }

    /// The last events of the failing execution, oldest first.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// How the failing execution was found, when known.
    pub fn search(&self) -> Option<&SearchInfo> {
        self.search.as_ref()
    }
}
