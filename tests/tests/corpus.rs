//! The bug corpus: every buggy program is reported with its stated kind
//! within a budget of at most 10,000 executions and a fixed seed, and no
//! fixed program gets a report.

use knot::{Checker, Strategy};
use knot_tests::corpus::entries;

const SEED: u64 = 0x60_be_2c;
const BUDGET: u64 = 10_000;

/// The strategies tried in order on a buggy program; the first that finds
/// the bug ends the search.
fn strategies() -> [Strategy; 3] {
    [
        Strategy::Random,
        Strategy::Pct { depth: 3 },
        Strategy::Dfs {
            preemption_bound: Some(2),
        },
    ]
}

#[test]
fn every_buggy_program_is_caught_with_its_kind() {
    for entry in entries() {
        let found = strategies().into_iter().find_map(|strategy| {
            Checker::new()
                .seed(SEED)
                .iterations(BUDGET)
                .strategy(strategy)
                .run(entry.buggy)
                .report
        });
        let report = found.unwrap_or_else(|| panic!("{}: the bug is not found", entry.id));
        assert_eq!(report.kind(), entry.expected, "{}:\n{report}", entry.id);
    }
}

#[test]
fn no_fixed_program_gets_a_report() {
    for entry in entries() {
        for strategy in strategies() {
            let outcome = Checker::new()
                .seed(SEED)
                .iterations(2_000)
                .strategy(strategy)
                .run(entry.fixed);
            if let Some(report) = outcome.report {
                panic!(
                    "{} ({strategy}): the fixed program is reported:\n{report}",
                    entry.id
                );
            }
        }
    }
}

#[test]
fn the_corpus_has_every_bug_of_the_notes() {
    let ids: Vec<&str> = entries().iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 25, "{ids:?}");
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 25, "ids are unique: {ids:?}");
}
