//! `knot`: list, show and render the reports knot writes.
//!
//! When knot finds a bug in a test, it writes the report as JSON, one file
//! per failing test, into `target/knot/reports/` (or the directory named by
//! `KNOT_REPORT_DIR`). This command reads those files:
//!
//! ```text
//! knot list [DIR]                      the reports in DIR, newest first
//! knot show REPORT [--color WHEN]      a report as text, as a failing test prints it
//! knot html REPORT [-o FILE]           a report as a self-contained HTML page
//! ```
//!
//! `DIR` defaults to `$KNOT_REPORT_DIR`, or `target/knot/reports` when the
//! variable is not set. `knot show` colours its output when standard output
//! is a terminal and `NO_COLOR` is not set; `--color always` or
//! `--color never` decide instead. `knot html` writes next to the report
//! (`abba.json` becomes `abba.html`) unless `-o` names another file, or `-`
//! for standard output.
//!
//! A file that is missing, is not JSON, is JSON but not a knot report, or
//! is a report of another format version is an error that names the file:
//! the command prints it on standard error and exits with status 1.
//! `knot list` lists every report it can read and names each file it
//! cannot, then exits with status 1 if there was any.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use knot_report::Report;

mod color;
mod list;

/// List, show and render the bug reports knot writes.
#[derive(Debug, Parser)]
#[command(name = "knot", version, propagate_version = true)]
#[command(
    after_help = "Reports are the JSON files knot writes for each failing test, \
into target/knot/reports/ or $KNOT_REPORT_DIR."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the reports in a directory, newest first.
    List {
        /// The directory to read [default: $KNOT_REPORT_DIR, or
        /// target/knot/reports]
        dir: Option<PathBuf>,
    },
    /// Print a report as text, as a failing test prints it.
    Show {
        /// The report: a JSON file written by knot.
        report: PathBuf,
        /// When to colour the output.
        #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
        color: ColorWhen,
    },
    /// Render a report as a self-contained HTML page with a timeline of its
    /// tasks.
    Html {
        /// The report: a JSON file written by knot.
        report: PathBuf,
        /// The file to write, or `-` for standard output [default: the
        /// report's path with the extension .html]
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// When `knot show` colours its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    /// When standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// What stops a command: a message for standard error.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a command ended without a [`Failure`].
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Everything went as asked.
    Done,
    /// The command did its work but met a problem it already reported.
    Problems,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::FAILURE,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<Outcome, Failure> {
    let result = match cli.command {
        Command::List { dir } => {
            let dir = match dir {
                Some(dir) => dir,
                None => default_dir()?,
            };
            list::run(&dir)
        }
        Command::Show { report, color } => show(&report, color),
        Command::Html { report, output } => html(&report, output.as_deref()),
    };
    match result {
        // Output cut short by a closed pipe (`knot list | head`) is what
        // the reader asked for, not an error.
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Outcome::Done),
        Err(Error::Output(e)) => Err(Failure(format!("cannot write the output: {e}"))),
        Err(Error::Failure(failure)) => Err(failure),
        Ok(outcome) => Ok(outcome),
    }
}

/// A failure, or an error writing to standard output.
#[derive(Debug)]
enum Error {
    Failure(Failure),
    Output(io::Error),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        Error::Failure(failure)
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Error {
        Error::Output(error)
    }
}

/// The directory `knot list` reads when none is given.
fn default_dir() -> Result<PathBuf, Failure> {
    match std::env::var_os("KNOT_REPORT_DIR") {
        Some(dir) if dir.is_empty() => Err(Failure(
            "KNOT_REPORT_DIR is set but empty: set it to the report directory, or unset it"
                .to_string(),
        )),
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(Path::new("target").join("knot").join("reports")),
    }
}

/// Reads and parses the report at `path`; the error names the file.
fn read_report(path: &Path) -> Result<Report, Failure> {
    let text =
        std::fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(text).map_err(|_| {
        Failure(format!(
            "{}: not a knot report: the file is not UTF-8 text",
            path.display()
        ))
    })?;
    Report::from_json(&text).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

fn show(path: &Path, color: ColorWhen) -> Result<Outcome, Error> {
    let report = read_report(path)?;
    let text = report.to_string();
    let mut stdout = io::stdout().lock();
    let colored = match color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => stdout.is_terminal() && color::wanted_by_environment(),
    };
    if colored {
        writeln!(stdout, "{}", color::paint(&text))?;
    } else {
        writeln!(stdout, "{text}")?;
    }
    stdout.flush()?;
    Ok(Outcome::Done)
}

fn html(path: &Path, output: Option<&Path>) -> Result<Outcome, Error> {
    let report = read_report(path)?;
    let page = report.to_html();
    if output == Some(Path::new("-")) {
        let mut stdout = io::stdout().lock();
        stdout.write_all(page.as_bytes())?;
        stdout.flush()?;
        return Ok(Outcome::Done);
    }
    let output = match output {
        Some(output) => output.to_path_buf(),
        None => path.with_extension("html"),
    };
    if is_same_file(path, &output) {
        return Err(Failure(format!(
            "refusing to overwrite the report {} with its HTML page",
            path.display()
        ))
        .into());
    }
    std::fs::write(&output, page)
        .map_err(|e| Failure(format!("cannot write {}: {e}", output.display())))?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "wrote {}", output.display())?;
    Ok(Outcome::Done)
}

/// Whether `a` and `b` name the same existing file.
fn is_same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
