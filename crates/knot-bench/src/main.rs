//! `knot-bench`: reports on how well knot finds real bugs.
//!
//! ```text
//! cargo run --release -p knot-bench -- corpus [SEEDS]
//! cargo run --release -p knot-bench -- runtime
//! ```
//!
//! `corpus` runs every bug of the corpus (the `knot-tests` crate's
//! `corpus` module) under each strategy, random, PCT with depth 3 and DFS,
//! over several seeds (5 unless given; DFS is deterministic and runs once),
//! and prints for each bug and strategy whether it was found with the
//! expected kind, the median number of executions and time to the first
//! report, and whether the fixed twin came back clean.
//!
//! `runtime` measures knot's live runtime next to tokio and std threads on
//! the same work: spawning and joining tasks, the memory of parked tasks,
//! channel throughput and concurrent sleeps (see the `runtime` module).

mod runtime;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use knot::{Checker, Strategy};
use knot_tests::corpus::{entries, Entry};

/// The most executions one search may take.
const BUDGET: u64 = 10_000;

/// Executions the fixed twins are checked for.
const FIXED_BUDGET: u64 = 2_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("corpus") => {
            let seeds = match args.get(1).map(|s| s.parse::<u64>()) {
                None => 5,
                Some(Ok(n)) if n > 0 => n,
                Some(_) => {
                    eprintln!("knot-bench: SEEDS must be a whole number of at least 1");
                    return ExitCode::from(2);
                }
            };
            corpus(seeds)
        }
        Some("runtime") if args.len() == 1 => runtime::report(),
        // One measurement of `runtime`, run by it in a child process.
        Some("runtime-phase") if args.len() == 2 => runtime::phase(&args[1]),
        _ => {
            eprintln!("usage: knot-bench corpus [SEEDS] | knot-bench runtime");
            ExitCode::from(2)
        }
    }
}

/// One search of one strategy over several seeds.
struct Searches {
    found: u64,
    tried: u64,
    executions: Vec<u64>,
    times: Vec<Duration>,
}

fn corpus(seeds: u64) -> ExitCode {
    let strategies = [
        ("random", Strategy::Random),
        ("pct:3", Strategy::Pct { depth: 3 }),
        (
            "dfs",
            Strategy::Dfs {
                preemption_bound: None,
            },
        ),
    ];
    // Wide enough for the longest kind and expected report of the corpus.
    let kind = entries()
        .iter()
        .map(|e| e.subtype.len())
        .chain([4])
        .max()
        .unwrap_or(4);
    let expected = entries()
        .iter()
        .map(|e| e.expected.to_string().len())
        .chain([8])
        .max()
        .unwrap_or(8);
    println!(
        "{:<18} {:<kind$} {:>expected$}  {:>20}  {:>20}  {:>20}  {:>6}",
        "bug", "kind", "expected", "random", "pct:3", "dfs", "fixed"
    );
    println!(
        "{:<18} {:<kind$} {:>expected$}  {:>20}  {:>20}  {:>20}  {:>6}",
        "", "", "", "found execs ms", "found execs ms", "found execs ms", "clean"
    );
    let mut all_found = true;
    let mut all_clean = true;
    for entry in entries() {
        let mut cells = Vec::new();
        let mut any = false;
        for (_, strategy) in strategies {
            let runs = if matches!(strategy, Strategy::Dfs { .. }) {
                1
            } else {
                seeds
            };
            let searches = search(&entry, strategy, runs);
            any |= searches.found > 0;
            cells.push(cell(&searches));
        }
        let clean = strategies.iter().all(|(_, strategy)| {
            Checker::new()
                .seed(1)
                .iterations(FIXED_BUDGET)
                .strategy(*strategy)
                .run(entry.fixed)
                .report
                .is_none()
        });
        all_found &= any;
        all_clean &= clean;
        println!(
            "{:<18} {:<kind$} {:>expected$}  {:>20}  {:>20}  {:>20}  {:>6}",
            entry.id,
            entry.subtype,
            entry.expected.to_string(),
            cells[0],
            cells[1],
            cells[2],
            if clean { "yes" } else { "NO" }
        );
    }
    println!();
    println!(
        "{} bugs; found by at least one strategy: {}; every fixed twin clean: {}",
        entries().len(),
        if all_found { "all" } else { "NOT ALL" },
        if all_clean { "yes" } else { "NO" }
    );
    if all_found && all_clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn search(entry: &Entry, strategy: Strategy, runs: u64) -> Searches {
    let mut searches = Searches {
        found: 0,
        tried: runs,
        executions: Vec::new(),
        times: Vec::new(),
    };
    for seed in 1..=runs {
        let started = Instant::now();
        let outcome = Checker::new()
            .seed(seed)
            .iterations(BUDGET)
            .strategy(strategy)
            .shrink(false)
            .run(entry.buggy);
        let elapsed = started.elapsed();
        if outcome.report.is_some_and(|r| r.kind() == entry.expected) {
            searches.found += 1;
            searches.executions.push(outcome.executions);
            searches.times.push(elapsed);
        }
    }
    searches
}

/// "found/tried median-executions median-ms".
fn cell(searches: &Searches) -> String {
    if searches.found == 0 {
        return format!("0/{} - -", searches.tried);
    }
    let mut executions = searches.executions.clone();
    executions.sort_unstable();
    let mut times = searches.times.clone();
    times.sort_unstable();
    format!(
        "{}/{} {} {:.1}",
        searches.found,
        searches.tried,
        executions[executions.len() / 2],
        times[times.len() / 2].as_secs_f64() * 1000.0
    )
}
