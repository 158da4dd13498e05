//! What the tests of the `knot` binary share: temporary directories, sample
//! reports, and running the binary.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use knot_report::{
    Blocked, ObjectRef, Report, ReportKind, SearchInfo, Site, TaskReport, TaskState, TraceEvent,
    WaitEdge,
};

/// A fresh directory under the system's temporary directory, removed when
/// dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("knot-cli-test-{}-{label}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the `knot` binary with `args`.
pub(crate) fn knot(args: &[&str]) -> Output {
    knot_command(args).output().expect("run knot")
}

/// The `knot` command with `args`, without `KNOT_REPORT_DIR` or `NO_COLOR`
/// from the environment of the test run.
pub(crate) fn knot_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_knot"));
    command
        .args(args)
        .env_remove("KNOT_REPORT_DIR")
        .env_remove("NO_COLOR");
    command
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Writes `report` as JSON to `dir/name`, modified `age` ago.
pub(crate) fn write_report(dir: &Path, name: &str, report: &Report, age: Duration) -> PathBuf {
    write_file(dir, name, &report.to_json(), age)
}

/// Writes `text` to `dir/name`, modified `age` ago.
pub(crate) fn write_file(dir: &Path, name: &str, text: &str, age: Duration) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test file");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open a test file");
    file.set_modified(SystemTime::now() - age)
        .expect("set a modification time");
    path
}

fn site(file: &str, line: u32, column: u32) -> Site {
    Site {
        file: file.to_string(),
        line,
        column,
    }
}

fn object(kind: &str, id: u64, created: Site) -> ObjectRef {
    ObjectRef {
        id,
        kind: kind.to_string(),
        created: Some(created),
    }
}

fn task(id: u64, name: &str, spawn_site: Option<Site>, state: TaskState) -> TaskReport {
    TaskReport {
        id,
        name: name.to_string(),
        spawn_site,
        state,
        blocked_on: None,
        holds: Vec::new(),
        daemon: false,
        involved: false,
    }
}

fn event(
    step: u64,
    task: u64,
    operation: &str,
    object: Option<&ObjectRef>,
    at: Site,
) -> TraceEvent {
    TraceEvent {
        step,
        task,
        operation: operation.to_string(),
        object: object.cloned(),
        site: Some(at),
    }
}

/// Two workers that take two mutexes in opposite orders, main joining the
/// first, a logger that finished and a metrics daemon that is still
/// sleeping.
pub(crate) fn deadlock() -> Report {
    let file = "tests/bank.rs";
    let accounts = object("Mutex", 1, site(file, 8, 19));
    let audit = object("Mutex", 2, site(file, 9, 16));
    let log = object("Channel", 3, site(file, 10, 24));
    // Joining a task waits on the task itself: `task#1` is task 1.
    let handle = object("task", 1, site(file, 14, 18));

    let mut report = Report::new(
        ReportKind::Deadlock,
        "every task is blocked and main has not returned",
    );
    report.test = Some("bank::transfer_and_audit".to_string());

    let mut main = task(0, "main", None, TaskState::Blocked);
    main.blocked_on = Some(Blocked {
        object: handle.clone(),
        operation: "join".to_string(),
        site: Some(site(file, 31, 14)),
    });

    let mut transfer = task(1, "transfer", Some(site(file, 14, 18)), TaskState::Blocked);
    transfer.blocked_on = Some(Blocked {
        object: audit.clone(),
        operation: "lock".to_string(),
        site: Some(site(file, 17, 30)),
    });
    transfer.holds = vec![accounts.clone()];
    transfer.involved = true;

    let mut auditor = task(2, "auditor", Some(site(file, 20, 18)), TaskState::Blocked);
    auditor.blocked_on = Some(Blocked {
        object: accounts.clone(),
        operation: "lock".to_string(),
        site: Some(site(file, 23, 30)),
    });
    auditor.holds = vec![audit.clone()];
    auditor.involved = true;

    let logger = task(3, "logger", Some(site(file, 26, 5)), TaskState::Finished);

    let mut metrics = task(4, "metrics", Some(site(file, 28, 5)), TaskState::Runnable);
    metrics.daemon = true;

    report.tasks = vec![main, transfer, auditor, logger, metrics];
    report.wait_for = vec![
        WaitEdge {
            task: 1,
            object: audit.clone(),
            holders: vec![2],
        },
        WaitEdge {
            task: 2,
            object: accounts.clone(),
            holders: vec![1],
        },
        WaitEdge {
            task: 0,
            object: handle.clone(),
            holders: vec![1],
        },
    ];
    report.trace = vec![
        event(0, 0, "spawn", None, site(file, 14, 18)),
        event(1, 0, "spawn", None, site(file, 20, 18)),
        event(2, 0, "spawn", None, site(file, 26, 5)),
        event(3, 0, "spawn", None, site(file, 28, 5)),
        event(4, 1, "lock", Some(&accounts), site(file, 16, 30)),
        event(5, 3, "recv", Some(&log), site(file, 27, 9)),
        event(6, 2, "lock", Some(&audit), site(file, 22, 30)),
        event(7, 1, "send", Some(&log), site(file, 18, 9)),
        event(8, 3, "recv", Some(&log), site(file, 27, 9)),
        event(9, 3, "exit", None, site(file, 27, 9)),
        event(10, 4, "sleep", None, site(file, 29, 9)),
        event(11, 1, "lock", Some(&audit), site(file, 17, 30)),
        event(12, 2, "lock", Some(&accounts), site(file, 23, 30)),
        event(13, 0, "join", Some(&handle), site(file, 31, 14)),
    ];
    report.schedule = "1:0.4*2.1.2".to_string();
    report.search = Some(SearchInfo {
        preemptions: 1,
        strategy: "pct".to_string(),
        seed: 7,
        execution: 312,
    });
    report
}

/// Main returned while a consumer waits on a channel nobody sends on and a
/// flusher waits on a wait group nobody finishes.
pub(crate) fn leak() -> Report {
    let file = "tests/pipeline.rs";
    let jobs = object("Channel", 1, site(file, 6, 26));
    let results = object("Channel", 2, site(file, 7, 29));
    let group = object("WaitGroup", 3, site(file, 8, 17));

    let mut report = Report::new(
        ReportKind::Leak,
        "2 tasks are blocked forever after main returned",
    );
    report.test = Some("pipeline::drops_the_sender_late".to_string());

    let main = task(0, "main", None, TaskState::Finished);
    let producer = task(1, "producer", Some(site(file, 10, 5)), TaskState::Finished);

    let mut consumer = task(2, "consumer", Some(site(file, 16, 5)), TaskState::Blocked);
    consumer.blocked_on = Some(Blocked {
        object: jobs.clone(),
        operation: "recv".to_string(),
        site: Some(site(file, 18, 28)),
    });
    consumer.involved = true;

    let mut flusher = task(3, "flusher", Some(site(file, 23, 5)), TaskState::Blocked);
    flusher.blocked_on = Some(Blocked {
        object: group.clone(),
        operation: "wait".to_string(),
        site: Some(site(file, 24, 15)),
    });
    flusher.involved = true;

    report.tasks = vec![main, producer, consumer, flusher];
    report.wait_for = vec![
        WaitEdge {
            task: 2,
            object: jobs.clone(),
            holders: Vec::new(),
        },
        WaitEdge {
            task: 3,
            object: group.clone(),
            holders: Vec::new(),
        },
    ];
    report.trace = vec![
        event(0, 0, "add", Some(&group), site(file, 9, 8)),
        event(1, 0, "spawn", None, site(file, 10, 5)),
        event(2, 0, "spawn", None, site(file, 16, 5)),
        event(3, 0, "spawn", None, site(file, 23, 5)),
        event(4, 1, "send", Some(&jobs), site(file, 12, 13)),
        event(5, 2, "recv", Some(&jobs), site(file, 18, 28)),
        event(6, 2, "send", Some(&results), site(file, 19, 17)),
        event(7, 3, "wait", Some(&group), site(file, 24, 15)),
        event(8, 1, "exit", None, site(file, 14, 5)),
        event(9, 0, "recv", Some(&results), site(file, 27, 20)),
        event(10, 2, "recv", Some(&jobs), site(file, 18, 28)),
        event(11, 0, "exit", None, site(file, 29, 1)),
    ];
    report.schedule = "1:0.2.1*3".to_string();
    report.search = Some(SearchInfo {
        preemptions: 1,
        strategy: "random".to_string(),
        seed: 42,
        execution: 5,
    });
    report
}

/// A panic with a long, multi-line message.
pub(crate) fn panic() -> Report {
    let mut report = Report::new(
        ReportKind::Panic,
        "task \"worker\" panicked: assertion `left == right` failed: the balance must never go \
         negative, whatever the order of the transfers\n  left: -5\n right: 0",
    );
    report.test = Some("bank::never_negative".to_string());
    let mut worker = task(
        1,
        "worker",
        Some(site("tests/bank.rs", 40, 5)),
        TaskState::Panicked("assertion failed\n  left: -5\n right: 0".to_string()),
    );
    worker.involved = true;
    report.tasks = vec![task(0, "main", None, TaskState::Finished), worker];
    report.schedule = "1:1.0".to_string();
    report
}
