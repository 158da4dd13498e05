//! The runtime's monitor: a thread that looks at the workers a few times a
//! second and speaks up about two things that would otherwise look like a
//! hang.
//!
//! - **Global deadlock.** Every task is asleep (at least one blocked in a
//!   knot operation), no timer is pending, no blocking call runs, a plain
//!   thread (`main`, a test) waits in a knot primitive, and nothing has
//!   been woken for the deadlock timeout. Like
//!   Go's "all goroutines are asleep", the waiting threads then panic with
//!   a report of every task and what it waits for, instead of hanging.
//! - **Stalls.** A task that keeps its worker longer than the stall
//!   threshold without reaching a knot operation starves the tasks queued
//!   behind it on that worker (tasks are not preempted). It is named, with
//!   the call site of its last knot operation, on stderr and as a
//!   `tracing` warning, and listed by [`stalls`].
//!
//! A thread that waits for something knot cannot see (a `std` thread that
//! computes for longer than the timeout before it sends) while every task
//! is blocked can make the deadlock check fire too early; raise the timeout
//! with
//! [`Builder::deadlock_timeout`](crate::Builder::deadlock_timeout) or
//! `KNOT_DEADLOCK_TIMEOUT`. The other way round, a deadlock goes
//! unreported while a timer is pending that someone may still wait for (a
//! `sleep`, an `after` whose receiver is alive); timers nobody can wait for
//! any more (the timeout of a receive that got its value, a dropped
//! `after`) are dropped and do not count.

use std::fmt::{self, Write as _};
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use knot_core::task::TaskId;

use crate::registry;
use crate::scheduler::Runtime;

/// A task the monitor caught keeping its worker without reaching a knot
/// operation.
///
/// ```
/// // Nothing has stalled in this program.
/// assert!(knot::runtime::stalls().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stall {
    /// The task.
    pub task: TaskId,
    /// Its name, or `task-N`.
    pub name: String,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// The worker it holds.
    pub worker: usize,
    /// How long it had held the worker when it was caught.
    pub held_for: Duration,
    /// The call site of its last knot operation before it stopped reaching
    /// them, if it reached one on this worker.
    pub last_site: Option<&'static Location<'static>>,
}

impl fmt::Display for Stall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "knot: task '{}' ({}) spawned at {} has kept worker {} for {:.2?} without \
             reaching a knot operation",
            self.name, self.task, self.spawned_at, self.worker, self.held_for
        )?;
        if let Some(site) = self.last_site {
            write!(f, " (its last one was at {site})")?;
        }
        f.write_str(
            "; the other tasks of that worker wait for it: run blocking calls through \
             knot::blocking, and call knot::yield_now in long loops",
        )
    }
}

/// The stalls the monitor has caught, oldest first (the last 64).
///
/// ```
/// for stall in knot::runtime::stalls() {
///     eprintln!("{stall}");
/// }
/// ```
pub fn stalls() -> Vec<Stall> {
    STALLS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Starts the monitor of `runtime`, unless both checks are off.
pub(crate) fn start(runtime: &'static Runtime) {
    let config = &runtime.config;
    let thresholds = [config.stall_threshold, config.deadlock_timeout];
    let Some(shortest) = thresholds.iter().flatten().min().copied() else {
        return;
    };
    let tick = (shortest / 4).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let started = thread::Builder::new()
        .name(String::from("knot-monitor"))
        .spawn(move || watch(runtime, tick));
    if let Err(error) = started {
        tracing::warn!(target: "knot", %error, "cannot start the runtime's monitor");
    }
}

const STALLS_KEPT: usize = 64;
static STALLS: Mutex<Vec<Stall>> = Mutex::new(Vec::new());

/// What the monitor last saw of one worker.
#[derive(Debug, Clone, Copy)]
struct Sample {
    running: u64,
    resumes: u64,
    ops: u64,
    since: Instant,
    reported: bool,
}

fn watch(runtime: &'static Runtime, tick: Duration) {
    let now = Instant::now();
    let mut samples = vec![
        Sample {
            running: 0,
            resumes: 0,
            ops: 0,
            since: now,
            reported: false,
        };
        runtime.workers.len()
    ];
    let mut quiet: Option<(u64, Instant)> = None;
    loop {
        thread::sleep(tick);
        if let Some(threshold) = runtime.config.stall_threshold {
            check_stalls(runtime, threshold, &mut samples);
        }
        if let Some(timeout) = runtime.config.deadlock_timeout {
            check_deadlock(runtime, timeout, &mut quiet);
        }
    }
}

fn check_stalls(runtime: &Runtime, threshold: Duration, samples: &mut [Sample]) {
    for (index, (worker, sample)) in runtime.workers.iter().zip(samples).enumerate() {
        let running = worker.running.load(Ordering::Relaxed);
        let resumes = worker.resumes.load(Ordering::Relaxed);
        let ops = worker.ops.load(Ordering::Relaxed);
        let same =
            running != 0 && (running, resumes, ops) == (sample.running, sample.resumes, sample.ops);
        if !same {
            *sample = Sample {
                running,
                resumes,
                ops,
                since: Instant::now(),
                reported: false,
            };
            continue;
        }
        let held_for = sample.since.elapsed();
        if sample.reported || held_for < threshold {
            continue;
        }
        sample.reported = true;
        let id = TaskId::new(running);
        let Some(task) = registry::find(id) else {
            continue;
        };
        let stall = Stall {
            task: id,
            name: task.display_name(),
            spawned_at: task.site,
            worker: index,
            held_for,
            last_site: worker.last_site.load(),
        };
        tracing::warn!(target: "knot", task = running, worker = index, "{stall}");
        eprintln!("{stall}");
        let mut stalls = STALLS.lock().unwrap_or_else(PoisonError::into_inner);
        if stalls.len() == STALLS_KEPT {
            stalls.remove(0);
        }
        stalls.push(stall);
    }
}

fn check_deadlock(runtime: &Runtime, timeout: Duration, quiet: &mut Option<(u64, Instant)>) {
    let asleep = runtime.active.sum() == 0
        && !runtime.has_queued()
        && crate::blocking::running() == 0
        && knot_core::time::pending_timers() == 0
        && knot_core::parked::count() > 0;
    if !asleep {
        *quiet = None;
        return;
    }
    // Every task woken from its sleep is resumed by a worker, and every
    // plain thread woken counts itself.
    let plain = knot_core::parked::progress_count();
    let progress = plain.wrapping_add(
        runtime
            .workers
            .iter()
            .map(|w| w.resumes.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add),
    );
    match *quiet {
        Some((seen, since)) if seen == progress => {
            if since.elapsed() >= timeout {
                *quiet = None;
                declare_deadlock(plain);
            }
        }
        _ => *quiet = Some((progress, Instant::now())),
    }
}

fn declare_deadlock(progress: u64) {
    let tasks: Vec<_> = crate::tasks()
        .into_iter()
        .filter(|t| t.state.is_alive())
        .collect();
    // Threads that wait while no task does are waiting for something knot
    // cannot see (a std thread, I/O): no verdict.
    if !tasks.iter().any(|t| t.state == crate::TaskState::Blocked) {
        return;
    }
    let threads = knot_core::parked::waiting();
    let mut report = format!(
        "knot: deadlock: every task is asleep, no timer or blocking call can wake one, \
         and {} thread{} wait{} for them:\n",
        threads.len(),
        if threads.len() == 1 { "" } else { "s" },
        if threads.len() == 1 { "s" } else { "" },
    );
    for thread in &threads {
        let _ = writeln!(report, "  {thread}");
    }
    let _ = writeln!(
        report,
        "{} task{} asleep:",
        tasks.len(),
        if tasks.len() == 1 { "" } else { "s" }
    );
    for task in &tasks {
        let _ = writeln!(report, "  {task}");
    }
    // Who waits for whom, where a lock says so.
    let edges: Vec<String> = tasks
        .iter()
        .filter_map(|waiter| {
            let wanted = waiter.blocked?.object;
            let holder = tasks
                .iter()
                .find(|t| t.holds.iter().any(|h| h.id() == wanted.id()))?;
            Some(format!(
                "  {} ({}) -> {wanted} -> held by {} ({})",
                waiter.name, waiter.id, holder.name, holder.id
            ))
        })
        .collect();
    if !edges.is_empty() {
        report.push_str("wait-for graph:\n");
        for edge in edges {
            report.push_str(&edge);
            report.push('\n');
        }
    }
    // Only once no thread has been woken since the verdict was reached.
    if knot_core::parked::interrupt(&report, progress) > 0 {
        tracing::error!(target: "knot", "{report}");
        eprint!("{report}");
    }
}
