//! Reports people act on: shrunk to what the bug needs, bystanders in one
//! line, a deadlock's trace limited to what led to the cycle, and the same
//! text from the JSON file on disk as in the failing test.

use std::sync::Arc;

use knot::report::Report;
use knot::sync::Mutex;
use knot::task::Builder;
use knot::{Checker, ReportKind};

fn abba_with_bystanders(bystanders: usize) {
    let a = Arc::new(Mutex::new(()));
    let b = Arc::new(Mutex::new(()));
    let mut handles = Vec::new();
    for i in 0..bystanders {
        let own = Arc::new(Mutex::new(0));
        handles.push(
            Builder::new()
                .name(format!("bystander {i}"))
                .spawn(move || {
                    for _ in 0..3 {
                        *own.lock() += 1;
                    }
                }),
        );
    }
    let (a1, b1) = (Arc::clone(&a), Arc::clone(&b));
    handles.push(Builder::new().name("ab").spawn(move || {
        let _a = a1.lock();
        let _b = b1.lock();
    }));
    handles.push(Builder::new().name("ba").spawn(move || {
        let _b = b.lock();
        let _a = a.lock();
    }));
    for h in handles {
        h.join().unwrap();
    }
}

fn found(program: fn()) -> Report {
    let outcome = Checker::new().seed(3).iterations(1_000).run(program);
    outcome.report.expect("the deadlock is found")
}

#[test]
fn a_shrunk_abba_report_shows_two_tasks_and_one_preemption() {
    let report = found(knot_examples::abba::buggy);
    assert_eq!(report.kind(), ReportKind::Deadlock);
    let involved: Vec<&str> = report.involved().map(|t| t.name.as_str()).collect();
    assert_eq!(involved.len(), 2, "{report}");
    // The bug needs one switch: away from the first transfer between its two
    // locks.
    let search = report.search().expect("search info");
    assert_eq!(search.preemptions, 1, "{report}");
}

#[test]
fn bystanders_of_a_deadlock_take_one_line_each() {
    let report = found(|| abba_with_bystanders(3));
    assert_eq!(report.kind(), ReportKind::Deadlock, "{report}");
    let involved: Vec<&str> = report.involved().map(|t| t.name.as_str()).collect();
    assert_eq!(involved, ["ab", "ba"], "{report}");
    let text = report.to_string();
    for i in 0..3 {
        let name = format!("\"bystander {i}\"");
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(&name)).collect();
        assert_eq!(lines.len(), 1, "{name} takes one line:\n{text}");
    }
    // The trace shows the culprits' events, not every bystander's step.
    let culprits: Vec<u64> = report.involved().map(|t| t.id).collect();
    assert!(!report.trace().is_empty(), "{report}");
    for event in report.trace() {
        assert!(culprits.contains(&event.task), "{event:?} in\n{report}");
    }
}

#[test]
fn a_failing_check_writes_the_text_it_prints_as_json() {
    let dir = std::env::temp_dir().join(format!("knot-reports-{}", std::process::id()));
    // This file is its own test binary and this is its only test that sets
    // the variable, so no other test sees it.
    std::env::set_var("KNOT_REPORT_DIR", &dir);
    let printed = std::panic::catch_unwind(|| {
        Checker::new()
            .seed(3)
            .name("reports::abba")
            .check(knot_examples::abba::buggy)
    })
    .expect_err("the check fails");
    std::env::remove_var("KNOT_REPORT_DIR");
    let printed = printed
        .downcast_ref::<String>()
        .expect("the panic carries the report text")
        .clone();
    let file = dir.join("reports--abba.json");
    let json = std::fs::read_to_string(&file).expect("the report file is written");
    let saved = Report::from_json(&json).expect("the file is a report");
    assert_eq!(saved.to_string(), printed);
    assert_eq!(saved.test(), Some("reports::abba"));
    std::fs::remove_dir_all(&dir).ok();
}
