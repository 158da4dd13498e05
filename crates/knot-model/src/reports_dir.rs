//! Where reports are written: one JSON file per failure, for CI to keep.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use knot_report::Report;

/// Writes `report` as JSON into the report directory: `KNOT_REPORT_DIR` if
/// set, else `knot/reports` inside the Cargo target directory of the running
/// test binary. The file is named after the test, so each test keeps its
/// latest failure; without a test name the process id keeps names apart.
///
/// # Errors
///
/// Returns the I/O error if the directory or the file cannot be written.
pub(crate) fn write(report: &Report) -> io::Result<PathBuf> {
    let dir = directory();
    fs::create_dir_all(&dir)?;
    let name = match report.test() {
        Some(test) => sanitise(test),
        None => format!("report-{}", std::process::id()),
    };
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, report.to_json())?;
    Ok(path)
}

fn directory() -> PathBuf {
    if let Some(dir) = std::env::var_os("KNOT_REPORT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    target_dir().join("knot").join("reports")
}

/// The Cargo target directory: the one the running binary was built into
/// (tests live in `target/<profile>/deps`), else `CARGO_TARGET_DIR`, else
/// the nearest `target` directory above the working directory (doctests run
/// from a temporary directory, in the crate's directory), else `./target`.
fn target_dir() -> PathBuf {
    let is_target = |dir: &Path| dir.join("CACHEDIR.TAG").is_file();
    let exe = std::env::current_exe().ok();
    let built_in = exe.as_deref().and_then(Path::parent).and_then(|dir| {
        dir.ancestors()
            .find(|a| is_target(a))
            .map(Path::to_path_buf)
    });
    built_in
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .or_else(|| {
            let cwd = std::env::current_dir().ok()?;
            cwd.ancestors()
                .map(|a| a.join("target"))
                .find(|t| is_target(t))
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// A file name from a test name: path separators and anything unusual
/// become `-`.
fn sanitise(test: &str) -> String {
    let name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.trim_matches('-').chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_become_file_names() {
        assert_eq!(
            sanitise("detectors::abba_is_caught"),
            "detectors--abba_is_caught"
        );
        assert_eq!(sanitise("a/b\\c d"), "a-b-c-d");
    }
}
