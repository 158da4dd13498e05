//! The `knot` binary, run on report files in temporary directories.

mod common;

use std::time::Duration;

use common::{knot, knot_command, stderr, stdout, write_file, write_report, TempDir};
use knot_report::Report;

const MINUTE: Duration = Duration::from_secs(60);

/// A directory with three reports written at different times.
fn three_reports() -> TempDir {
    let dir = TempDir::new("three");
    write_report(
        dir.path(),
        "bank__never_negative.json",
        &common::panic(),
        10 * MINUTE,
    );
    write_report(
        dir.path(),
        "bank__transfer_and_audit.json",
        &common::deadlock(),
        MINUTE,
    );
    write_report(
        dir.path(),
        "pipeline__drops_the_sender_late.json",
        &common::leak(),
        5 * MINUTE,
    );
    // Not reports, and not JSON: not listed.
    write_file(dir.path(), "README.txt", "not a report", Duration::ZERO);
    std::fs::create_dir(dir.path().join("old.json")).unwrap();
    dir
}

/// The data lines of a listing: everything after the header.
fn rows(listing: &str) -> Vec<&str> {
    let mut lines = listing.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("TEST "), "{listing}");
    assert!(header.contains(" KIND "), "{listing}");
    assert!(header.contains(" SUMMARY "), "{listing}");
    assert!(header.ends_with(" FILE"), "{listing}");
    lines.collect()
}

#[test]
fn list_shows_reports_newest_first() {
    let dir = three_reports();
    let output = knot(&["list", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let listing = stdout(&output);
    let rows = rows(&listing);
    assert_eq!(rows.len(), 3, "{listing}");

    assert!(
        rows[0].starts_with("bank::transfer_and_audit "),
        "{listing}"
    );
    assert!(rows[0].contains(" deadlock "), "{listing}");
    assert!(
        rows[0].contains(" every task is blocked and main has not returned "),
        "{listing}"
    );
    assert!(
        rows[0].ends_with(" bank__transfer_and_audit.json"),
        "{listing}"
    );

    assert!(
        rows[1].starts_with("pipeline::drops_the_sender_late "),
        "{listing}"
    );
    assert!(rows[1].contains(" leak "), "{listing}");
    assert!(
        rows[1].contains(" 2 tasks are blocked forever after main returned "),
        "{listing}"
    );
    assert!(
        rows[1].ends_with(" pipeline__drops_the_sender_late.json"),
        "{listing}"
    );

    assert!(rows[2].starts_with("bank::never_negative "), "{listing}");
    assert!(rows[2].contains(" panic "), "{listing}");
    assert!(rows[2].ends_with(" bank__never_negative.json"), "{listing}");
    assert!(!listing.contains("README"), "{listing}");
    assert!(!listing.contains("old.json"), "{listing}");
}

#[test]
fn list_cuts_a_long_message_to_its_first_line() {
    let dir = three_reports();
    let listing = stdout(&knot(&["list", dir.path().to_str().unwrap()]));
    let row = rows(&listing)[2];
    // The message starts `task "worker" panicked: assertion ...` and goes
    // on for lines.
    assert!(
        row.contains(" task \"worker\" panicked: assertion"),
        "{row}"
    );
    assert!(row.contains('…'), "{row}");
    assert!(!row.contains("left: -5"), "{row}");
    assert!(!row.contains("whatever the order"), "{row}");
}

#[test]
fn list_columns_line_up() {
    let dir = three_reports();
    let listing = stdout(&knot(&["list", dir.path().to_str().unwrap()]));
    let column = |line: &str, word: &str| line.find(word).map(|i| line[..i].chars().count());
    let lines: Vec<&str> = listing.lines().collect();
    let kind = column(lines[0], "KIND").unwrap();
    assert_eq!(column(lines[1], "deadlock"), Some(kind), "{listing}");
    assert_eq!(column(lines[2], "leak "), Some(kind), "{listing}");
    let file = column(lines[0], "FILE").unwrap();
    assert_eq!(column(lines[3], "bank__never"), Some(file), "{listing}");
}

#[test]
fn list_names_a_file_that_is_not_a_report_and_goes_on() {
    let dir = three_reports();
    write_file(
        dir.path(),
        "Cargo.json",
        r#"{"name": "knot"}"#,
        Duration::ZERO,
    );
    write_file(
        dir.path(),
        "truncated.json",
        "{\"version\": 1, \"ki",
        2 * MINUTE,
    );
    let output = knot(&["list", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let listing = stdout(&output);
    assert_eq!(rows(&listing).len(), 3, "{listing}");
    let errors = stderr(&output);
    assert!(
        errors.contains("Cargo.json: not a knot report: missing field `version`"),
        "{errors}"
    );
    assert!(errors.contains("truncated.json: not JSON: "), "{errors}");
    assert_eq!(errors.lines().count(), 2, "{errors}");
    assert!(
        errors.lines().all(|line| line.starts_with("error: ")),
        "{errors}"
    );
    assert!(!errors.contains("panicked"), "{errors}");
}

#[test]
fn list_reads_knot_report_dir() {
    let dir = three_reports();
    let output = knot_command(&["list"])
        .env("KNOT_REPORT_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(rows(&stdout(&output)).len(), 3);
}

#[test]
fn list_defaults_to_target_knot_reports() {
    let project = TempDir::new("project");
    let reports = project.path().join("target").join("knot").join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    write_report(&reports, "abba.json", &common::deadlock(), Duration::ZERO);
    let output = knot_command(&["list"])
        .current_dir(project.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    assert_eq!(rows(&listing).len(), 1, "{listing}");
    assert!(listing.contains("abba.json"), "{listing}");
}

#[test]
fn list_of_a_missing_directory_names_it() {
    let dir = TempDir::new("missing");
    let missing = dir.path().join("no-such-dir");
    let output = knot(&["list", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let errors = stderr(&output);
    assert!(
        errors.starts_with("error: cannot read the report directory "),
        "{errors}"
    );
    assert!(errors.contains("no-such-dir"), "{errors}");
    assert!(!errors.contains("panicked"), "{errors}");
}

#[test]
fn list_of_an_empty_directory_says_so() {
    let dir = TempDir::new("empty");
    let output = knot(&["list", dir.path().to_str().unwrap()]);
    assert!(output.status.success());
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("no reports in "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_empty_knot_report_dir_is_an_error() {
    let output = knot_command(&["list"])
        .env("KNOT_REPORT_DIR", "")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("KNOT_REPORT_DIR"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn show_prints_the_text_rendering() {
    let dir = TempDir::new("show");
    for report in [common::deadlock(), common::leak(), common::panic()] {
        let path = write_report(dir.path(), "report.json", &report, Duration::ZERO);
        let output = knot(&["show", path.to_str().unwrap(), "--color", "never"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), format!("{report}\n"));
        assert_eq!(stderr(&output), "");
    }
}

#[test]
fn show_into_a_pipe_has_no_colour() {
    let dir = TempDir::new("show-pipe");
    let report = common::deadlock();
    let path = write_report(dir.path(), "abba.json", &report, Duration::ZERO);
    let output = knot(&["show", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("{report}\n"));
}

#[test]
fn show_colours_when_asked() {
    let dir = TempDir::new("show-color");
    let report = common::deadlock();
    let path = write_report(dir.path(), "abba.json", &report, Duration::ZERO);
    let output = knot(&["show", "--color", "always", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let painted = stdout(&output);
    assert!(
        painted.starts_with("\x1b[1;31mknot found a deadlock\x1b[0m"),
        "{painted:?}"
    );
    assert!(painted.contains("\x1b[1;36mtasks:\x1b[0m"), "{painted:?}");
    assert!(painted.contains("\x1b[1;36mreplay:\x1b[0m"), "{painted:?}");
    assert_eq!(strip_ansi(&painted), format!("{report}\n"));
}

#[test]
fn show_rejects_a_bad_colour_choice() {
    let output = knot(&["show", "x.json", "--color", "sometimes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("sometimes"), "{}", stderr(&output));
}

#[test]
fn show_of_a_missing_file_names_it() {
    let dir = TempDir::new("show-missing");
    let path = dir.path().join("gone.json");
    let output = knot(&["show", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let errors = stderr(&output);
    assert!(errors.starts_with("error: cannot read "), "{errors}");
    assert!(errors.contains("gone.json"), "{errors}");
    assert!(!errors.contains("panicked"), "{errors}");
}

#[test]
fn show_of_a_corrupt_file_names_it() {
    let dir = TempDir::new("show-corrupt");
    let path = write_file(
        dir.path(),
        "corrupt.json",
        "{\"version\": 1,",
        Duration::ZERO,
    );
    let output = knot(&["show", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(errors.contains("corrupt.json: not JSON: "), "{errors}");
}

#[test]
fn show_of_a_foreign_file_names_it() {
    let dir = TempDir::new("show-foreign");
    let path = write_file(
        dir.path(),
        "package.json",
        r#"{"name": "web", "version": "1.0.0"}"#,
        Duration::ZERO,
    );
    let output = knot(&["show", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains("package.json: not a knot report: "),
        "{errors}"
    );
    assert!(errors.contains("version"), "{errors}");

    let binary = dir.path().join("binary.json");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    let output = knot(&["show", binary.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains("binary.json: not a knot report: "),
        "{errors}"
    );
}

#[test]
fn show_of_a_future_report_names_it() {
    let dir = TempDir::new("show-future");
    let mut report = common::leak();
    report.version = 2;
    let path = write_report(dir.path(), "future.json", &report, Duration::ZERO);
    let output = knot(&["show", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains("future.json: unsupported knot report version 2"),
        "{errors}"
    );
}

#[test]
fn html_writes_a_page_with_a_lane_per_task() {
    let dir = TempDir::new("html");
    let report = common::deadlock();
    let path = write_report(dir.path(), "abba.json", &report, Duration::ZERO);
    let page = dir.path().join("page.html");
    let output = knot(&["html", path.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("page.html"), "{}", stdout(&output));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html, report.to_html());
    assert!(html.starts_with("<!DOCTYPE html>"));
    for task in report.tasks() {
        assert!(
            html.contains(&format!("data-task=\"{}\"", task.id)),
            "no lane for task {}",
            task.id
        );
    }
    assert_eq!(html.matches("class=\"lane").count(), report.tasks().len());
}

#[test]
fn html_writes_next_to_the_report_by_default() {
    let dir = TempDir::new("html-default");
    let report = common::leak();
    let path = write_report(dir.path(), "leak.json", &report, Duration::ZERO);
    let output = knot(&["html", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(dir.path().join("leak.html")).unwrap();
    assert_eq!(html, report.to_html());
}

#[test]
fn html_to_standard_output() {
    let dir = TempDir::new("html-stdout");
    let report = common::leak();
    let path = write_report(dir.path(), "leak.json", &report, Duration::ZERO);
    let output = knot(&["html", path.to_str().unwrap(), "-o", "-"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), report.to_html());
}

#[test]
fn html_of_a_bad_report_names_it_and_writes_nothing() {
    let dir = TempDir::new("html-bad");
    let path = write_file(dir.path(), "junk.json", "[1, 2, 3]", Duration::ZERO);
    let page = dir.path().join("junk.html");
    let output = knot(&["html", path.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(
        errors.contains("junk.json: not a knot report: expected a JSON object, found an array"),
        "{errors}"
    );
    assert!(!page.exists());
}

#[test]
fn html_into_a_missing_directory_names_it() {
    let dir = TempDir::new("html-nowhere");
    let path = write_report(dir.path(), "leak.json", &common::leak(), Duration::ZERO);
    let page = dir.path().join("no-such-dir").join("leak.html");
    let output = knot(&["html", path.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr(&output);
    assert!(errors.starts_with("error: cannot write "), "{errors}");
    assert!(errors.contains("no-such-dir"), "{errors}");
}

#[test]
fn html_does_not_overwrite_the_report() {
    let dir = TempDir::new("html-self");
    let report = common::leak();
    let path = write_report(dir.path(), "leak.json", &report, Duration::ZERO);
    let output = knot(&["html", path.to_str().unwrap(), "-o", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("refusing to overwrite"),
        "{}",
        stderr(&output)
    );
    let kept = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Report::from_json(&kept), Ok(report));
}

#[test]
fn help_names_every_command() {
    let output = knot(&["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["list", "show", "html"] {
        assert!(help.contains(command), "{help}");
    }
}

/// `text` without its ANSI colour codes.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('m').expect("a colour code ends with m");
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}
