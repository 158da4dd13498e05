//! Runs the two suites of this package as programs and checks what knot's
//! harness makes of them: the leaky one fails with the leaked task listed,
//! the clean one lists its tests as nextest expects and runs one on demand.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The compiled `suite_leaky` binary.
const LEAKY: &str = env!("CARGO_BIN_EXE_suite_leaky");

/// The compiled `suite_clean` test target, next to this test's own binary:
/// `cargo test` and `cargo nextest run` build every test target of the
/// package before they run any. The newest build wins if there are several.
fn clean_suite() -> PathBuf {
    let me = std::env::current_exe().expect("the path of this test binary");
    let deps = me.parent().expect("the directory of the test binaries");
    let mut builds: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(deps)
        .expect("the directory of the test binaries can be read")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                return false;
            };
            let stem = name
                .strip_suffix(std::env::consts::EXE_SUFFIX)
                .unwrap_or(name);
            stem.strip_prefix("suite_clean-")
                .is_some_and(|hash| !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()))
                && (std::env::consts::EXE_SUFFIX.is_empty() || name.ends_with(".exe"))
        })
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .collect();
    builds.sort();
    builds.pop().map(|(_, path)| path).unwrap_or_else(|| {
        panic!(
            "no suite_clean test binary in {}: build it with \
                 `cargo test -p knot-tests-harness --no-run`",
            deps.display()
        )
    })
}

fn run(program: impl Into<PathBuf>, args: &[&str]) -> Output {
    let program = program.into();
    Command::new(&program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn both(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The line and column of the `go` call in `suite_leaky.rs` that starts the
/// task it leaks.
fn leaky_spawn_site() -> String {
    let source = include_str!("../suites/suite_leaky.rs");
    let (index, line) = source
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains("// the leaked task's spawn site"))
        .expect("the marked spawn site");
    let column = line.find(".go(").expect("the `go` call") + 2;
    format!("suite_leaky.rs:{}:{column}", index + 1)
}

#[test]
fn a_suite_that_leaks_a_task_fails_and_names_it() {
    let output = run(LEAKY, &[]);
    let text = both(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let out = stdout(&output);
    // The tests themselves passed, and libtest's summary line says so.
    assert!(out.contains("test checked_test_passes ... ok\n"), "{out}");
    assert!(
        out.contains("test leaves_a_worker_behind ... ok\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; \
             finished in "
        ),
        "{out}"
    );
    // Then the leak check: the task, where it was spawned, by which test,
    // and for how long it has been alive.
    let heading = out
        .find("knot: 1 task still alive after the suite:\n")
        .unwrap_or_else(|| panic!("no leak report in:\n{out}"));
    assert!(heading > out.find("test result:").unwrap(), "{out}");
    let listing = &out[heading..];
    let line = listing.lines().nth(1).expect("one line per task");
    assert!(line.starts_with("  stuck-worker (task#"), "{listing}");
    assert!(line.contains(&leaky_spawn_site()), "{listing}");
    assert!(
        line.contains(" from thread 'leaves_a_worker_behind'"),
        "{listing}"
    );
    assert!(line.contains(", alive for "), "{listing}");
}

#[test]
fn the_leak_check_runs_when_the_leaking_test_is_picked_alone() {
    let output = run(LEAKY, &["--exact", "leaves_a_worker_behind"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        out.contains("1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out"),
        "{out}"
    );
    assert!(out.contains("stuck-worker"), "{out}");

    let output = run(LEAKY, &["--exact", "checked_test_passes"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(!stdout(&output).contains("still alive"));
}

#[test]
fn the_clean_suite_lists_its_tests_for_nextest() {
    let suite = clean_suite();
    let output = run(&suite, &["--list", "--format", "terse"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert_eq!(
        stdout(&output),
        "channel_round_trip: test\n\
         checker::finds_the_abba_deadlock: test\n\
         checker::longer_exploration: test\n\
         counter_is_consistent: test\n\
         live_stragglers_and_daemons_are_fine: test\n\
         live_workers_are_joined: test\n"
    );

    let output = run(&suite, &["--list", "--format", "terse", "--ignored"]);
    assert_eq!(stdout(&output), "checker::longer_exploration: test\n");

    // Without `--format terse`, libtest's count follows the list.
    let output = run(&suite, &["--list", "live"]);
    assert_eq!(
        stdout(&output),
        "live_stragglers_and_daemons_are_fine: test\n\
         live_workers_are_joined: test\n\
         \n\
         2 tests, 0 benchmarks\n"
    );
}

#[test]
fn the_clean_suite_runs_one_test_by_its_exact_name() {
    let suite = clean_suite();
    let output = run(
        &suite,
        &["--exact", "live_workers_are_joined", "--nocapture"],
    );
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(out.contains("\nrunning 1 test\n"), "{out}");
    assert!(
        out.contains("test live_workers_are_joined ... ok\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out; \
             finished in "
        ),
        "{out}"
    );
    // `--exact` matches whole names only.
    let output = run(&suite, &["--exact", "live"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(stdout(&output).contains("\nrunning 0 tests\n"));
}

#[test]
fn the_clean_suite_passes_whole() {
    let output = run(clean_suite(), &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(
        out.contains("test checker::longer_exploration ... ignored, a longer exploration"),
        "{out}"
    );
    assert!(
        out.contains("test checker::finds_the_abba_deadlock - should panic ... ok\n"),
        "{out}"
    );
    assert!(
        out.contains("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out"),
        "{out}"
    );
    assert!(!out.contains("still alive"), "{out}");
}

#[test]
fn an_unknown_option_is_named() {
    let output = run(clean_suite(), &["--frobnicate"]);
    assert_eq!(output.status.code(), Some(101));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: Unrecognized option: 'frobnicate'\n"
    );
}
