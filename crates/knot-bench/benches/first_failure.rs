//! How soon each tool finds a bug: the executions and the time to the first
//! failure on the same buggy programs, knot next to shuttle and loom,
//! measured side by side in one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench first_failure         # 20 seeds
//! cargo bench -p knot-bench --bench first_failure -- 5    # 5 seeds, a quicker look
//! ```
//!
//! Three pairings, each search with a budget of [`BUDGET`] executions:
//!
//! - knot `Strategy::Random` against shuttle's random scheduler, over seeds
//!   1..=20 for each;
//! - knot `Strategy::Pct { depth: 3 }` against shuttle's PCT scheduler with
//!   depth 3, over the same seeds;
//! - knot `Strategy::Dfs { preemption_bound: None }` against `loom::model`,
//!   both deterministic: one search each, timed [`DFS_REPEATS`] times.
//!
//! knot runs with `.shrink(false)`: the time is to the first failing
//! execution plus the one detailed replay that builds the report. shuttle
//! runs `Runner` with the seeded `RandomScheduler` or `PctScheduler` (what
//! `check_random_with_seed` and `check_pct` use), which panics on a failure:
//! the bench catches it with `catch_unwind`, with a silent panic hook in
//! place for the search and the previous hook restored after it. loom runs
//! in a child process (this same binary, `--loom-child`), because a loom
//! deadlock can abort the process: a panic hook in the child prints the
//! count and the time at loom's first panic and exits. shuttle's and loom's
//! executions are counted by the program, which bumps a counter as its
//! first act.

use std::env;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering as StdOrdering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use knot::ReportKind;
use knot_bench::programs::buggy;

mod common;
#[macro_use]
#[path = "common/wait_group.rs"]
mod wait_group;
#[macro_use]
#[path = "common/buggy.rs"]
mod buggy_twins;

/// The most executions one search may take; a search that has not failed
/// by then did not find the bug.
const BUDGET: u64 = 10_000;

/// Seeds per randomised search (random, PCT) unless the command line says.
const DEFAULT_SEEDS: u64 = 20;

/// The bug depth given to both PCT schedulers.
const PCT_DEPTH: usize = 3;

/// Timed runs of each deterministic search (knot DFS, loom); the median
/// time is shown, and the count must be the same every time.
const DFS_REPEATS: usize = 3;

/// The variables that would change what any of the tools explores.
const OVERRIDES: &[&str] = &[
    "KNOT_ITERATIONS",
    "KNOT_STRATEGY",
    "KNOT_SEED",
    "KNOT_MAX_STEPS",
    "KNOT_REPLAY",
    "SHUTTLE_RANDOM_SEED",
    "LOOM_MAX_PREEMPTIONS",
    "LOOM_MAX_BRANCHES",
    "LOOM_MAX_PERMUTATIONS",
    "LOOM_MAX_DURATION",
    "LOOM_CHECKPOINT_FILE",
];

/// The argument that makes this binary a loom child: `--loom-child INDEX`.
const LOOM_CHILD: &str = "--loom-child";

/// Executions of the rival program being searched: each shuttle and loom
/// program adds one as its first act.
static RIVAL_EXECUTIONS: AtomicU64 = AtomicU64::new(0);

/// One buggy program, written for each tool that can express it.
struct Bug {
    name: &'static str,
    knot: fn(),
    /// The report kinds that count as knot finding this bug.
    expected: &'static [ReportKind],
    shuttle: Rival,
    loom: Rival,
}

/// A rival's version of a bug, or why it has none.
#[derive(Clone, Copy)]
enum Rival {
    Program(fn()),
    /// Written idiomatically, the program has no bug for this tool: it is
    /// searched anyway, and the note says why it comes back clean.
    Clean(fn(), &'static str),
    /// The tool cannot express the bug; the note says why.
    Cannot(&'static str),
}

const BUGS: &[Bug] = &[
    Bug {
        name: "a lost update",
        knot: buggy::lost_update,
        expected: &[ReportKind::Panic],
        shuttle: Rival::Program(shuttle_bugs::lost_update),
        loom: Rival::Program(loom_bugs::lost_update),
    },
    Bug {
        name: "b AB-BA deadlock",
        knot: buggy::abba,
        expected: &[ReportKind::Deadlock],
        shuttle: Rival::Program(shuttle_bugs::abba),
        loom: Rival::Program(loom_bugs::abba),
    },
    Bug {
        name: "e lost wake-up",
        knot: buggy::lost_wakeup,
        expected: &[ReportKind::Deadlock],
        shuttle: Rival::Program(shuttle_bugs::lost_wakeup),
        loom: Rival::Program(loom_bugs::lost_wakeup),
    },
    Bug {
        name: "d' pipeline leak",
        knot: buggy::pipeline_leak,
        expected: &[ReportKind::Leak],
        shuttle: Rival::Clean(
            shuttle_bugs::pipeline_leak,
            "std channels disconnect when the receiver is dropped, so the \
             stages' sends fail and they end: the Rust program does not leak",
        ),
        loom: Rival::Cannot(
            "loom's only channel is unbounded: no stage ever blocks, and the \
             endless producer would run into loom's branch limit",
        ),
    },
    Bug {
        name: "d' leak, receiver kept",
        knot: buggy::pipeline_leak,
        expected: &[ReportKind::Leak],
        shuttle: Rival::Program(shuttle_bugs::pipeline_leak_kept),
        loom: Rival::Cannot(
            "loom's only channel is unbounded: no stage ever blocks, and the \
             endless producer would run into loom's branch limit",
        ),
    },
    Bug {
        name: "f' services: add in task",
        knot: buggy::services_late_add,
        expected: &[ReportKind::Misuse, ReportKind::Panic],
        shuttle: Rival::Program(shuttle_bugs::services_late_add),
        loom: Rival::Program(loom_bugs::services_late_add),
    },
];

buggy_twins!(shuttle_bugs, shuttle {
    use knot_bench::programs::buggy::ENOUGH;

    /// d' with std's channels: once main returns and drops its receiver,
    /// the stages' sends fail and they end, so there is no leak to find.
    pub(crate) fn pipeline_leak() {
        pipeline_leak_keeping(false);
    }

    /// d' as Go's channels behave: main keeps its receiver alive (here by
    /// forgetting it), so the stages stay blocked in `send` after main
    /// returns.
    pub(crate) fn pipeline_leak_kept() {
        pipeline_leak_keeping(true);
    }

    /// generate -> square -> main over rendezvous channels; main stops
    /// after two squares, and forgets its receiver if `keep` is set.
    fn pipeline_leak_keeping(keep: bool) {
        use shuttle::sync::mpsc::sync_channel;
        let (numbers_tx, numbers_rx) = sync_channel::<u64>(0);
        let (squares_tx, squares_rx) = sync_channel::<u64>(0);
        shuttle::thread::spawn(move || {
            for n in 1.. {
                if numbers_tx.send(n).is_err() {
                    return;
                }
            }
        });
        shuttle::thread::spawn(move || {
            for n in numbers_rx.iter() {
                if squares_tx.send(n * n).is_err() {
                    return;
                }
            }
        });
        let mut total = 0;
        for square in squares_rx.iter() {
            total += square;
            if total >= ENOUGH {
                break;
            }
        }
        if keep {
            std::mem::forget(squares_rx);
        }
        assert_eq!(total, ENOUGH);
    }
});

buggy_twins!(loom_bugs, loom {});

// ------------------------------------------------------------ searches ---

/// One search: whether it failed within the budget, after how many
/// executions and how long, and what the tool said.
#[derive(Clone, Debug)]
struct Search {
    found: bool,
    executions: u64,
    /// Wall time of the whole call, as the caller waits for it.
    time: Duration,
    /// knot only: the exploration alone (`Outcome::elapsed`), without the
    /// detailed replay that builds the report.
    search: Option<Duration>,
    said: String,
}

#[derive(Clone, Copy)]
enum Randomised {
    Random,
    Pct,
}

fn knot_search(bug: &Bug, strategy: knot::Strategy, seed: u64) -> Search {
    let started = Instant::now();
    let outcome = knot::Checker::new()
        .seed(seed)
        .iterations(BUDGET)
        .strategy(strategy)
        .shrink(false)
        .run(bug.knot);
    let time = started.elapsed();
    let said = outcome
        .report
        .as_ref()
        .map_or_else(String::new, |r| r.kind().to_string());
    Search {
        found: outcome
            .report
            .is_some_and(|r| bug.expected.contains(&r.kind())),
        executions: outcome.executions,
        time,
        search: Some(outcome.elapsed),
        said,
    }
}

/// The first line of a panic payload, if it is a string.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(a panic)");
    text.lines().next().unwrap_or("").to_owned()
}

fn shuttle_search(program: fn(), strategy: Randomised, seed: u64) -> Search {
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    config.silence_warnings = true;
    let budget = usize::try_from(BUDGET).expect("the budget fits in usize");
    let counted = move || {
        RIVAL_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
        program();
    };
    RIVAL_EXECUTIONS.store(0, StdOrdering::Relaxed);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let muted = stderr::mute();
    let started = Instant::now();
    let result = panic::catch_unwind(AssertUnwindSafe(|| match strategy {
        Randomised::Random => {
            let scheduler = shuttle::scheduler::RandomScheduler::new_from_seed(seed, budget);
            shuttle::Runner::new(scheduler, config).run(counted);
        }
        Randomised::Pct => {
            let scheduler =
                shuttle::scheduler::PctScheduler::new_from_seed(seed, PCT_DEPTH, budget);
            shuttle::Runner::new(scheduler, config).run(counted);
        }
    }));
    let time = started.elapsed();
    drop(muted);
    if std::thread::panicking() {
        // The hook cannot be changed any more (std panics), so say why and
        // stop rather than run on with a silent hook.
        println!(
            "shuttle left this thread marked as panicking after a failed search \
             (seed {seed}: {:?}); the panic hook cannot be restored",
            result.as_ref().err().map(|p| message(&**p))
        );
        std::process::exit(1);
    }
    panic::set_hook(previous);
    Search {
        found: result.is_err(),
        executions: RIVAL_EXECUTIONS.load(StdOrdering::Relaxed),
        time,
        search: None,
        said: result.err().map_or_else(String::new, |p| message(&*p)),
    }
}

/// Runs loom on bug `index` in a child process and reads what it found.
fn loom_search(index: usize) -> Search {
    let output = Command::new(env::current_exe().expect("the bench knows its own path"))
        .args([LOOM_CHILD, &index.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("the loom child starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("LOOM "))
        .unwrap_or_else(|| panic!("the loom child said nothing useful: {stdout:?}"));
    let mut fields = line.splitn(5, ' ').skip(1);
    let verdict = fields.next().unwrap_or_default();
    let executions = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    let nanos: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    Search {
        found: verdict == "found",
        executions,
        time: Duration::from_nanos(nanos),
        search: None,
        said: fields.next().unwrap_or_default().to_owned(),
    }
}

/// When the loom child started exploring.
static LOOM_STARTED: OnceLock<Instant> = OnceLock::new();

/// The loom child: explores bug `index` with `loom::model`'s defaults and
/// a budget, and prints `LOOM found|clean EXECUTIONS NANOS MESSAGE`.
fn loom_child(index: usize) -> ! {
    let program = match BUGS.get(index).map(|b| b.loom) {
        Some(Rival::Program(p) | Rival::Clean(p, _)) => p,
        _ => panic!("bug {index} has no loom program"),
    };
    panic::set_hook(Box::new(|info| {
        let elapsed = LOOM_STARTED.get().map_or(Duration::ZERO, Instant::elapsed);
        let said = message(info.payload());
        println!(
            "LOOM found {} {} {said}",
            RIVAL_EXECUTIONS.load(StdOrdering::Relaxed),
            elapsed.as_nanos()
        );
        let _ = std::io::stdout().flush();
        std::process::exit(0);
    }));
    let mut builder = loom::model::Builder::new();
    builder.max_permutations = Some(usize::try_from(BUDGET).expect("the budget fits in usize"));
    let started = *LOOM_STARTED.get_or_init(Instant::now);
    builder.check(move || {
        RIVAL_EXECUTIONS.fetch_add(1, StdOrdering::Relaxed);
        program();
    });
    println!(
        "LOOM clean {} {} ",
        RIVAL_EXECUTIONS.load(StdOrdering::Relaxed),
        started.elapsed().as_nanos()
    );
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Keeps shuttle's own report of a failing seed off the terminal: its
/// random scheduler prints the seed to stderr when a failing search
/// unwinds, which no panic hook can silence.
mod stderr {
    /// Restores stderr when dropped.
    pub(crate) struct Muted {
        #[cfg(unix)]
        saved: i32,
    }

    #[cfg(unix)]
    mod sys {
        extern "C" {
            pub(crate) fn dup(fd: i32) -> i32;
            pub(crate) fn dup2(from: i32, to: i32) -> i32;
            pub(crate) fn close(fd: i32) -> i32;
        }
    }

    /// Points file descriptor 2 at `/dev/null` until the guard is dropped.
    #[cfg(unix)]
    pub(crate) fn mute() -> Muted {
        use std::os::fd::AsRawFd;
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("/dev/null opens");
        // SAFETY: `dup` and `dup2` only duplicate descriptors: 2 is open for
        // the whole process, and `null` is open until the end of this
        // function, after `dup2` has made 2 a copy of it.
        let saved = unsafe {
            let saved = sys::dup(2);
            if saved >= 0 {
                sys::dup2(null.as_raw_fd(), 2);
            }
            saved
        };
        Muted { saved }
    }

    #[cfg(not(unix))]
    pub(crate) fn mute() -> Muted {
        Muted {}
    }

    impl Drop for Muted {
        fn drop(&mut self) {
            #[cfg(unix)]
            if self.saved >= 0 {
                // SAFETY: `saved` is the descriptor `dup` returned in `mute`,
                // still open and owned by this guard alone.
                unsafe {
                    sys::dup2(self.saved, 2);
                    sys::close(self.saved);
                }
            }
        }
    }
}

// ------------------------------------------------------------- summary ---

/// Several searches of one tool and strategy.
struct Searches {
    runs: Vec<Search>,
}

/// The medians over the searches that found the bug.
#[derive(Clone, Copy)]
struct Medians {
    executions: u64,
    time: Duration,
    search: Option<Duration>,
}

impl Searches {
    fn found(&self) -> usize {
        self.runs.iter().filter(|s| s.found).count()
    }

    fn medians(&self) -> Option<Medians> {
        let found: Vec<&Search> = self.runs.iter().filter(|s| s.found).collect();
        if found.is_empty() {
            return None;
        }
        let searches: Option<Vec<Duration>> = found.iter().map(|s| s.search).collect();
        Some(Medians {
            executions: common::median(found.iter().map(|s| s.executions).collect()),
            time: common::median(found.iter().map(|s| s.time).collect()),
            search: searches.map(common::median),
        })
    }

    /// What the tool said, each distinct first line once.
    fn said(&self) -> Vec<String> {
        let mut said: Vec<String> = Vec::new();
        for s in &self.runs {
            if !s.said.is_empty() && !said.contains(&s.said) {
                said.push(s.said.clone());
            }
        }
        said
    }

    /// found/tried, median executions, median ms.
    fn cells(&self) -> [String; 3] {
        let found = format!("{}/{}", self.found(), self.runs.len());
        match self.medians() {
            Some(m) => [found, m.executions.to_string(), ms(m.time)],
            None => [found, dash(), dash()],
        }
    }
}

fn dash() -> String {
    String::from("-")
}

/// `d` in milliseconds, to two decimals below 10 and one above.
fn ms(d: Duration) -> String {
    let ms = common::ms(d);
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

/// knot's medians over the rival's: executions, wall time, and knot's
/// search alone against the rival's wall time; `-` when either found
/// nothing.
fn ratios(knot: &Searches, rival: &Searches) -> [String; 3] {
    match (knot.medians(), rival.medians()) {
        (Some(k), Some(r)) => {
            let per = |a: Duration| format!("{:.2}", a.as_secs_f64() / r.time.as_secs_f64());
            [
                format!("{:.2}", k.executions as f64 / r.executions as f64),
                per(k.time),
                k.search.map_or_else(dash, per),
            ]
        }
        _ => [dash(), dash(), dash()],
    }
}

/// The seeds for the randomised searches: the first numeric argument, else
/// [`DEFAULT_SEEDS`]. Other arguments (`--bench`, which cargo passes) are
/// ignored.
fn seeds() -> u64 {
    env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(DEFAULT_SEEDS)
        .max(1)
}

/// One row of the table.
struct Row {
    bug: &'static str,
    search: &'static str,
    knot: Searches,
    rival_name: &'static str,
    rival: Result<Searches, &'static str>,
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if let Some(at) = args.iter().position(|a| a == LOOM_CHILD) {
        let index = args
            .get(at + 1)
            .and_then(|i| i.parse().ok())
            .expect("--loom-child takes the index of a bug");
        loom_child(index);
    }
    common::refuse_overrides(OVERRIDES);
    let seeds = seeds();
    let started = Instant::now();
    let mut rows = Vec::new();
    for (index, bug) in BUGS.iter().enumerate() {
        for (search, knot_strategy, rival_strategy) in [
            ("random", knot::Strategy::Random, Randomised::Random),
            (
                "pct:3",
                knot::Strategy::Pct { depth: PCT_DEPTH },
                Randomised::Pct,
            ),
        ] {
            let knot = Searches {
                runs: (1..=seeds)
                    .map(|seed| knot_search(bug, knot_strategy, seed))
                    .collect(),
            };
            let rival = match bug.shuttle {
                Rival::Program(p) | Rival::Clean(p, _) => Ok(Searches {
                    runs: (1..=seeds)
                        .map(|seed| shuttle_search(p, rival_strategy, seed))
                        .collect(),
                }),
                Rival::Cannot(why) => Err(why),
            };
            rows.push(Row {
                bug: bug.name,
                search,
                knot,
                rival_name: "shuttle",
                rival,
            });
        }
        let dfs = knot::Strategy::Dfs {
            preemption_bound: None,
        };
        let knot = Searches {
            runs: deterministic(|| knot_search(bug, dfs, 1)),
        };
        let rival = match bug.loom {
            Rival::Program(_) | Rival::Clean(..) => Ok(Searches {
                runs: deterministic(|| loom_search(index)),
            }),
            Rival::Cannot(why) => Err(why),
        };
        rows.push(Row {
            bug: bug.name,
            search: "dfs",
            knot,
            rival_name: "loom",
            rival,
        });
    }
    print_table(&rows, seeds);
    println!();
    println!("bench time: {:.1}s", started.elapsed().as_secs_f64());
}

/// Runs a deterministic search [`DFS_REPEATS`] times and keeps the one
/// with the median time; the count must not change.
fn deterministic(search: impl Fn() -> Search) -> Vec<Search> {
    let mut runs: Vec<Search> = (0..DFS_REPEATS).map(|_| search()).collect();
    let first = runs[0].executions;
    assert!(
        runs.iter().all(|s| s.executions == first),
        "a deterministic search changed its count: {runs:?}"
    );
    runs.sort_by_key(|s| s.time);
    vec![runs.swap_remove(runs.len() / 2)]
}

const HEADER: [&str; 14] = [
    "bug", "search", "knot", "execs", "ms", "search", "rival", "found", "execs", "ms", "execs",
    "time", "search", "",
];

fn print_row(cells: &[String]) {
    println!(
        "{:<26} {:<6} {:>5} {:>6} {:>6} {:>6}   {:<7} {:>5} {:>6} {:>6}   {:>5} {:>5} {:>6}",
        cells[0],
        cells[1],
        cells[2],
        cells[3],
        cells[4],
        cells[5],
        cells[6],
        cells[7],
        cells[8],
        cells[9],
        cells[10],
        cells[11],
        cells[12]
    );
}

fn print_table(rows: &[Row], seeds: u64) {
    println!(
        "executions and time (ms) to the first failure, budget {BUDGET} executions per search;"
    );
    println!(
        "random and pct:3 over seeds 1..={seeds} (medians over the searches that found the bug),"
    );
    println!("dfs and loom deterministic (one search, median time of {DFS_REPEATS});");
    println!("knot ms: the whole call, report included; search: knot's exploration alone;");
    println!("ratios knot/rival (below 1: knot needs less): execs, time (ms), search (search/ms)");
    println!();
    print_row(&HEADER.map(String::from));
    let mut notes: Vec<String> = Vec::new();
    for row in rows {
        let [kf, ke, kt] = row.knot.cells();
        let ks = row
            .knot
            .medians()
            .and_then(|m| m.search)
            .map_or_else(dash, ms);
        let (rival, ratio) = match &row.rival {
            Ok(r) => (r.cells(), ratios(&row.knot, r)),
            Err(why) => {
                let note = format!("{} ({}): {why}", row.bug, row.rival_name);
                if !notes.contains(&note) {
                    notes.push(note);
                }
                (
                    [String::from("n/a"), dash(), dash()],
                    [dash(), dash(), dash()],
                )
            }
        };
        let [rf, re, rt] = rival;
        let [er, tr, sr] = ratio;
        print_row(&[
            row.bug.to_owned(),
            row.search.to_owned(),
            kf,
            ke,
            kt,
            ks,
            row.rival_name.to_owned(),
            rf,
            re,
            rt,
            er,
            tr,
            sr,
        ]);
    }
    println!();
    println!("what each tool reported (first line):");
    for row in rows {
        let knot = row.knot.said().join(" | ");
        let rival = match &row.rival {
            Ok(r) if r.said().is_empty() => String::from("nothing"),
            Ok(r) => r.said().join(" | "),
            Err(_) => String::from("n/a"),
        };
        println!(
            "  {:<26} {:<6} knot: {:<15} {}: {}",
            row.bug,
            row.search,
            if knot.is_empty() { "nothing" } else { &knot },
            row.rival_name,
            clip(&rival, 80)
        );
    }
    for bug in BUGS {
        if let Rival::Clean(_, why) = bug.shuttle {
            notes.push(format!("{} (shuttle): {why}", bug.name));
        }
    }
    if !notes.is_empty() {
        println!();
        println!("notes:");
        for note in notes {
            println!("  {note}");
        }
    }
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut clipped: String = s.chars().take(width - 3).collect();
        clipped.push_str("...");
        clipped
    }
}
