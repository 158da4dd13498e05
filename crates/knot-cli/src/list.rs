//! `knot list`: the reports in a directory, newest first.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{read_report, Error, Failure, Outcome};

/// How many characters of a report's message the summary column shows.
const SUMMARY_WIDTH: usize = 60;
/// How many characters of a test name the test column shows.
const TEST_WIDTH: usize = 40;

/// One line of the listing.
#[derive(Debug)]
struct Row {
    test: String,
    kind: String,
    summary: String,
    file: String,
}

/// Lists the `*.json` files of `dir` as reports, newest first, and names on
/// standard error each file that is not a readable report.
pub(crate) fn run(dir: &Path) -> Result<Outcome, Error> {
    let files = json_files(dir)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for path in &files {
        match read_report(path) {
            Ok(report) => rows.push(Row {
                test: truncate(report.test().unwrap_or("-"), TEST_WIDTH),
                kind: report.kind().to_string(),
                summary: summary(report.message()),
                file: file_name(path),
            }),
            Err(failure) => problems.push(failure),
        }
    }

    let mut stdout = io::stdout().lock();
    if files.is_empty() {
        eprintln!("no reports in {}", dir.display());
    } else if !rows.is_empty() {
        write_table(&mut stdout, &rows)?;
    }
    stdout.flush()?;
    drop(stdout);
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    Ok(if problems.is_empty() {
        Outcome::Done
    } else {
        Outcome::Problems
    })
}

/// The `*.json` files of `dir`, newest first (by modification time, then
/// by name, so that the order is stable).
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::NotFound {
            " (no report has been written there; pass a directory or set KNOT_REPORT_DIR)"
        } else {
            ""
        };
        Failure(format!(
            "cannot read the report directory {}: {e}{hint}",
            dir.display()
        ))
    })?;
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Failure(format!(
                "cannot read the report directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = entry.path();
        let is_json = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
        if !is_json {
            continue;
        }
        // Follow symbolic links: a linked report is still a report. A file
        // whose metadata cannot be read is kept, so that reading it names
        // the problem.
        match std::fs::metadata(&path) {
            Ok(metadata) if !metadata.is_file() => continue,
            Ok(metadata) => {
                files.push((metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), path))
            }
            Err(_) => files.push((SystemTime::UNIX_EPOCH, path)),
        }
    }
    files.sort_by(|(a_time, a_path), (b_time, b_path)| {
        b_time.cmp(a_time).then_with(|| a_path.cmp(b_path))
    });
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

fn write_table(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let header = Row {
        test: "TEST".to_string(),
        kind: "KIND".to_string(),
        summary: "SUMMARY".to_string(),
        file: "FILE".to_string(),
    };
    let width = |column: fn(&Row) -> &str| {
        rows.iter()
            .chain([&header])
            .map(|row| column(row).chars().count())
            .max()
            .unwrap_or(0)
    };
    let test = width(|row| &row.test);
    let kind = width(|row| &row.kind);
    let summary = width(|row| &row.summary);
    for row in [&header].into_iter().chain(rows) {
        let line = format!(
            "{}  {}  {}  {}",
            pad(&row.test, test),
            pad(&row.kind, kind),
            pad(&row.summary, summary),
            row.file
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `text` followed by spaces up to `width` characters.
fn pad(text: &str, width: usize) -> String {
    let count = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(count)))
}

/// The first line of a message, cut to [`SUMMARY_WIDTH`] characters.
fn summary(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let mut summary = truncate(first, SUMMARY_WIDTH);
    if summary.is_empty() {
        summary.push('-');
    } else if message.trim_end().contains('\n') && !summary.ends_with('…') {
        // More lines follow: say so, as a cut line does.
        summary.push('…');
    }
    summary
}

/// `text` cut to `width` characters, ending in `…` when it was cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

fn file_name(path: &Path) -> String {
    match path.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_with_an_ellipsis() {
        let long = "x".repeat(100);
        let cut = truncate(&long, 10);
        assert_eq!(cut, "xxxxxxxxx…");
        assert_eq!(cut.chars().count(), 10);
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn a_summary_is_the_first_line() {
        assert_eq!(
            summary("a task is blocked\nmore detail"),
            "a task is blocked…"
        );
        assert_eq!(summary("one line"), "one line");
        assert_eq!(summary(""), "-");
        assert_eq!(summary(&"é".repeat(80)).chars().count(), SUMMARY_WIDTH);
    }

    #[test]
    fn the_table_is_aligned() {
        let rows = [
            Row {
                test: "abba".to_string(),
                kind: "deadlock".to_string(),
                summary: "every task is blocked".to_string(),
                file: "abba.json".to_string(),
            },
            Row {
                test: "leaky_worker".to_string(),
                kind: "leak".to_string(),
                summary: "-".to_string(),
                file: "leaky_worker.json".to_string(),
            },
        ];
        let mut out = Vec::new();
        write_table(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "TEST          KIND      SUMMARY                FILE\n\
             abba          deadlock  every task is blocked  abba.json\n\
             leaky_worker  leak      -                      leaky_worker.json\n"
        );
    }
}
