//! A test harness that fails the suite when it leaves live tasks behind,
//! like Go's `goleak.VerifyTestMain`.
//!
//! Every `#[knot::test]` registers itself here, so a test target built with
//! `harness = false` can run its tests with [`main`] instead of libtest's.
//! It takes libtest's command line (filters, `--exact`, `--list`,
//! `--ignored`, ...), prints libtest's lines, and so works under
//! `cargo test` and `cargo nextest`. Then it does one thing more: once the
//! tests have run, it gives the live tasks they started
//! [`DEFAULT_LEAK_GRACE`] to finish, and
//! if any non-daemon task is still alive it lists each one (name, spawn site,
//! how long it has been alive) and exits with code 1, even if every test
//! passed.
//!
//! # Setting up a suite
//!
//! In `Cargo.toml`:
//!
//! ```toml
//! [[test]]
//! name = "suite"
//! harness = false
//! ```
//!
//! In `tests/suite.rs`:
//!
//! ```no_run
//! knot::test_main!();
//!
//! #[knot::test]
//! fn counter() {
//!     let wg = knot::sync::WaitGroup::new();
//!     wg.add(1);
//!     let done = wg.clone();
//!     knot::go(move || done.done());
//!     wg.wait();
//! }
//! ```
//!
//! A test that is not run under the checker is registered with
//! [`inventory::submit!`](https://docs.rs/inventory) and a [`TestCase`]
//! (add `inventory = "0.3"` to the dev-dependencies):
//!
//! ```
//! fn live_workers() {
//!     let handle = knot::spawn(|| 40 + 2);
//!     assert_eq!(handle.join().unwrap(), 42);
//! }
//!
//! inventory::submit! {
//!     knot::harness::TestCase::new(concat!(module_path!(), "::live_workers"), live_workers)
//! }
//! # fn main() {}
//! ```
//!
//! # Exit codes
//!
//! - 0: every test that ran passed and no task was left alive;
//! - 101: a test failed, or the command line could not be read (as libtest);
//! - 1: every test passed, but tasks were still alive after the suite.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::panic::{self, PanicHookInfo};
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

use knot_core::task::panic_message;

use crate::runtime::{describe_leaks, wait_for_leaks, DEFAULT_LEAK_GRACE};

/// A test the harness can run: its name and the function that runs it, and
/// whether it is ignored or should panic.
///
/// `#[knot::test]` builds one for each test and registers it with
/// `inventory::submit!`; [`tests`] collects them.
///
/// # Examples
///
/// ```
/// use knot::harness::TestCase;
///
/// fn boom() {
///     panic!("boom");
/// }
///
/// let case = TestCase::new("my_crate::tests::boom", boom).should_panic_with("boom");
/// assert_eq!(case.name(), "tests::boom");
/// assert_eq!(case.path(), "my_crate::tests::boom");
/// assert!(!case.is_ignored());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TestCase {
    path: &'static str,
    run: fn(),
    ignore: Option<Option<&'static str>>,
    should_panic: Option<Option<&'static str>>,
}

inventory::collect!(TestCase);

impl TestCase {
    /// A test named by `path`, the function's path with its crate name
    /// first (`concat!(module_path!(), "::", "name")`), run by calling
    /// `run`.
    pub const fn new(path: &'static str, run: fn()) -> TestCase {
        TestCase {
            path,
            run,
            ignore: None,
            should_panic: None,
        }
    }

    /// Marks the test ignored, as `#[ignore]` does: it runs only with
    /// `--ignored` or `--include-ignored`.
    ///
    /// ```
    /// # fn slow() {}
    /// let case = knot::harness::TestCase::new("suite::slow", slow).ignore();
    /// assert!(case.is_ignored());
    /// ```
    pub const fn ignore(self) -> TestCase {
        TestCase {
            ignore: Some(None),
            ..self
        }
    }

    /// Marks the test ignored with a reason, as `#[ignore = "reason"]`
    /// does; the harness shows the reason.
    ///
    /// ```
    /// # fn slow() {}
    /// let case = knot::harness::TestCase::new("suite::slow", slow).ignore_because("takes a minute");
    /// assert_eq!(case.ignore_reason(), Some("takes a minute"));
    /// ```
    pub const fn ignore_because(self, reason: &'static str) -> TestCase {
        TestCase {
            ignore: Some(Some(reason)),
            ..self
        }
    }

    /// Expects the test to panic, as `#[should_panic]` does: it passes if
    /// it panics and fails if it returns.
    ///
    /// ```
    /// let case = knot::harness::TestCase::new("suite::boom", || panic!()).should_panic();
    /// ```
    pub const fn should_panic(self) -> TestCase {
        TestCase {
            should_panic: Some(None),
            ..self
        }
    }

    /// Expects the test to panic with a message that contains `expected`,
    /// as `#[should_panic(expected = "...")]` does.
    ///
    /// ```
    /// let case = knot::harness::TestCase::new("suite::boom", || panic!("boom"))
    ///     .should_panic_with("boom");
    /// ```
    pub const fn should_panic_with(self, expected: &'static str) -> TestCase {
        TestCase {
            should_panic: Some(Some(expected)),
            ..self
        }
    }

    /// The test's name as libtest gives it: its path without the crate
    /// name, such as `tests::counter` (or `counter` at the root of an
    /// integration test).
    pub fn name(&self) -> &'static str {
        self.path
            .split_once("::")
            .map_or(self.path, |(_crate, rest)| rest)
    }

    /// The test's full path, crate name first.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// Whether it is ignored unless asked for.
    pub fn is_ignored(&self) -> bool {
        self.ignore.is_some()
    }

    /// Why it is ignored, if a reason was given.
    pub fn ignore_reason(&self) -> Option<&'static str> {
        self.ignore.flatten()
    }

    /// Whether it is expected to panic.
    pub fn expects_panic(&self) -> bool {
        self.should_panic.is_some()
    }

    /// Calls the test function on the calling thread.
    ///
    /// # Panics
    ///
    /// Panics if the test fails (or, for a test that should panic, when it
    /// passes).
    pub fn run(&self) {
        (self.run)();
    }
}

/// Every registered test, in name order.
///
/// ```
/// for case in knot::harness::tests() {
///     println!("{}", case.name());
/// }
/// ```
pub fn tests() -> Vec<&'static TestCase> {
    let mut tests: Vec<&'static TestCase> = inventory::iter::<TestCase>.into_iter().collect();
    tests.sort_by(|a, b| a.name().cmp(b.name()).then(a.path().cmp(b.path())));
    tests
}

/// Runs the registered tests as the command line asks, checks for leaked
/// tasks, and exits with the suite's verdict; what
/// [`test_main!`](crate::test_main) calls.
///
/// See the [module documentation](self) for the exit codes, and [`run`]
/// for the command line.
pub fn main() -> ! {
    let code = run(std::env::args().skip(1));
    let _ = io::stdout().flush();
    std::process::exit(code)
}

/// Runs the registered tests with the given command line (without the
/// program name) and returns the exit code that [`main`] exits with.
///
/// The command line is libtest's:
///
/// - `FILTER...`: run the tests whose names contain one of the filters;
/// - `--exact`: filters (and `--skip`) match whole names only;
/// - `--skip FILTER`: leave out the tests that match (may repeat);
/// - `--list`: list the tests as `name: test` lines instead of running
///   them; `--format terse` leaves out the count at the end, as nextest
///   expects;
/// - `--ignored` runs only the ignored tests, `--include-ignored` all;
/// - `--format pretty|terse`, `-q`/`--quiet` (terse);
/// - `--nocapture`: let panics print as they happen rather than with the
///   failures;
/// - `--test-threads N`, `--color WHEN`, `--show-output`: accepted; the
///   tests run one at a time, each on a thread named after it.
///
/// Any other option is an error that names it.
///
/// ```
/// // Lists the tests this doctest registered: none.
/// let code = knot::harness::run(["--list".to_string(), "--format=terse".to_string()]);
/// assert_eq!(code, 0);
/// ```
pub fn run<I>(args: I) -> i32
where
    I: IntoIterator<Item = String>,
{
    let options = match Options::parse(args) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 101;
        }
    };
    let all = tests();
    let total = all.len();
    let selected: Vec<&'static TestCase> = all.into_iter().filter(|t| options.selects(t)).collect();
    let filtered_out = total - selected.len();
    if options.list {
        list(&options, &selected);
        return 0;
    }
    run_suite(&options, &selected, filtered_out)
}

const USAGE: &str = "\
Usage: TEST-BINARY [OPTIONS] [FILTERS...]

Runs the knot tests of this target, then fails if live tasks are left alive.

Options:
    --exact             Filters match whole test names only
    --skip FILTER       Skip the tests whose names contain FILTER (repeatable)
    --list              List the tests instead of running them
    --format pretty|terse
                        How to print the results (and the list)
    -q, --quiet         The same as --format terse
    --ignored           Run only the ignored tests
    --include-ignored   Run the ignored tests too
    --nocapture         Print panics as they happen
    --test-threads N    Accepted; tests run one at a time
    --color WHEN        Accepted (auto, always, never)
    --show-output       Accepted
    -h, --help          Show this message";

/// The options [`run`] accepts.
const KNOWN_FLAGS: &[&str] = &[
    "--",
    "-h",
    "--help",
    "--exact",
    "--list",
    "--ignored",
    "--include-ignored",
    "--nocapture",
    "--no-capture",
    "--show-output",
    "--test",
    "-q",
    "--quiet",
    "--skip",
    "--format",
    "--test-threads",
    "--color",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pretty,
    Terse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunIgnored {
    No,
    Only,
    Include,
}

#[derive(Debug)]
struct Options {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    format: Format,
    ignored: RunIgnored,
    nocapture: bool,
}

#[derive(Debug)]
enum Command {
    Run(Options),
    Help,
}

/// A command line the harness cannot follow.
#[derive(Debug, PartialEq, Eq)]
struct ArgError(String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Options {
    fn parse<I>(args: I) -> Result<Command, ArgError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut options = Options {
            filters: Vec::new(),
            skip: Vec::new(),
            exact: false,
            list: false,
            format: Format::Pretty,
            ignored: RunIgnored::No,
            nocapture: false,
        };
        let mut args = args.into_iter();
        let mut only_filters = false;
        while let Some(arg) = args.next() {
            if only_filters || !arg.starts_with('-') || arg == "-" {
                options.filters.push(arg);
                continue;
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let name = flag.trim_start_matches('-').to_owned();
            if !KNOWN_FLAGS.contains(&flag.as_str()) {
                return Err(ArgError(format!("Unrecognized option: '{name}'")));
            }
            let takes_value = matches!(
                flag.as_str(),
                "--skip" | "--format" | "--test-threads" | "--color"
            );
            let value = if takes_value {
                match inline.or_else(|| args.next()) {
                    Some(value) => value,
                    None => return Err(ArgError(format!("Argument to option '{name}' missing"))),
                }
            } else if inline.is_some() {
                return Err(ArgError(format!(
                    "Option '{name}' does not take an argument"
                )));
            } else {
                String::new()
            };
            match flag.as_str() {
                "--" => only_filters = true,
                "-h" | "--help" => return Ok(Command::Help),
                "--exact" => options.exact = true,
                "--list" => options.list = true,
                "--ignored" => options.ignored = RunIgnored::Only,
                "--include-ignored" => options.ignored = RunIgnored::Include,
                "--nocapture" | "--no-capture" => options.nocapture = true,
                "--show-output" | "--test" => {}
                "-q" | "--quiet" => options.format = Format::Terse,
                "--skip" => options.skip.push(value),
                "--format" => {
                    options.format = match value.as_str() {
                        "pretty" => Format::Pretty,
                        "terse" => Format::Terse,
                        other => {
                            return Err(ArgError(format!(
                                "argument for --format must be pretty or terse (was {other})"
                            )))
                        }
                    }
                }
                "--test-threads" => {
                    if !value.parse::<usize>().is_ok_and(|n| n > 0) {
                        return Err(ArgError(format!(
                            "argument for --test-threads must be a number > 0 (was {value:?})"
                        )));
                    }
                }
                "--color" => {
                    if !matches!(value.as_str(), "auto" | "always" | "never") {
                        return Err(ArgError(format!(
                            "argument for --color must be auto, always, or never (was {value})"
                        )));
                    }
                }
                _ => unreachable!("{flag} is in KNOWN_FLAGS"),
            }
        }
        Ok(Command::Run(options))
    }

    fn matches(&self, name: &str, pattern: &str) -> bool {
        if self.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    }

    fn selects(&self, case: &TestCase) -> bool {
        let name = case.name();
        let wanted = self.filters.is_empty() || self.filters.iter().any(|f| self.matches(name, f));
        let skipped = self.skip.iter().any(|s| self.matches(name, s));
        let by_ignore = match self.ignored {
            RunIgnored::No | RunIgnored::Include => true,
            RunIgnored::Only => case.is_ignored(),
        };
        wanted && !skipped && by_ignore
    }

    fn runs(&self, case: &TestCase) -> bool {
        !case.is_ignored() || self.ignored != RunIgnored::No
    }
}

fn list(options: &Options, tests: &[&'static TestCase]) {
    let mut out = io::stdout().lock();
    for case in tests {
        let _ = writeln!(out, "{}: test", case.name());
    }
    if options.format == Format::Pretty {
        let plural = if tests.len() == 1 { "" } else { "s" };
        let _ = writeln!(out, "\n{} test{plural}, 0 benchmarks", tests.len());
    }
}

/// How one test ended.
enum Verdict {
    Ok,
    Failed(String),
    Ignored(Option<&'static str>),
}

fn run_suite(options: &Options, tests: &[&'static TestCase], filtered_out: usize) -> i32 {
    install_panic_hook();
    let started = Instant::now();
    let plural = if tests.len() == 1 { "" } else { "s" };
    println!("\nrunning {} test{plural}", tests.len());

    let (mut passed, mut ignored) = (0, 0);
    let mut failures: Vec<(&'static TestCase, String)> = Vec::new();
    let mut terse_column = 0;
    for case in tests {
        let verdict = if options.runs(case) {
            run_one(case, options.nocapture)
        } else {
            Verdict::Ignored(case.ignore_reason())
        };
        let (pretty, terse) = match &verdict {
            Verdict::Ok => {
                passed += 1;
                (String::from("ok"), '.')
            }
            Verdict::Failed(output) => {
                failures.push((case, output.clone()));
                (String::from("FAILED"), 'F')
            }
            Verdict::Ignored(reason) => {
                ignored += 1;
                let pretty = match reason {
                    Some(reason) => format!("ignored, {reason}"),
                    None => String::from("ignored"),
                };
                (pretty, 'i')
            }
        };
        match options.format {
            // The whole line once the test is over, so that what the test
            // writes to stderr does not land in the middle of it.
            Format::Pretty => {
                let suffix = if case.expects_panic() {
                    " - should panic"
                } else {
                    ""
                };
                println!("test {}{suffix} ... {pretty}", case.name());
            }
            Format::Terse => {
                print!("{terse}");
                terse_column += 1;
                if terse_column % 88 == 0 {
                    println!(" {terse_column}/{}", tests.len());
                }
                let _ = io::stdout().flush();
            }
        }
    }
    if options.format == Format::Terse && terse_column % 88 != 0 {
        println!();
    }

    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (case, output) in &failures {
            println!("---- {} stdout ----", case.name());
            if !output.is_empty() {
                print!("{output}");
            }
            println!();
        }
        println!("\nfailures:");
        for (case, _) in &failures {
            println!("    {}", case.name());
        }
    }
    let result = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {result}. {passed} passed; {} failed; {ignored} ignored; 0 measured; \
         {filtered_out} filtered out; finished in {:.2}s\n",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = io::stdout().flush();

    let leaked = check_leaks(DEFAULT_LEAK_GRACE);
    if !failures.is_empty() {
        101
    } else if leaked {
        1
    } else {
        0
    }
}

/// Waits up to `grace` for the live tasks to finish and prints those that
/// do not; whether there were any.
fn check_leaks(grace: Duration) -> bool {
    let left = wait_for_leaks(grace);
    if left.is_empty() {
        return false;
    }
    print!("{}", describe_leaks(&left, "after the suite"));
    println!(
        "they were still running {grace:.2?} after the last test ended: join each one, stop it \
         (close its channel, cancel its context), or spawn it with \
         `knot::task::Builder::daemon(true)` if it is meant to run until the process exits\n"
    );
    let _ = io::stdout().flush();
    true
}

fn run_one(case: &'static TestCase, nocapture: bool) -> Verdict {
    let outcome = thread::Builder::new()
        .name(case.name().to_owned())
        .spawn(move || {
            if !nocapture {
                CAPTURED.with(|c| *c.borrow_mut() = Some(String::new()));
            }
            let result = panic::catch_unwind(|| case.run());
            let output = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
            (result, output)
        });
    let (result, output) = match outcome.map(|t| t.join()) {
        Ok(Ok(ran)) => ran,
        Ok(Err(_)) => (
            Err(Box::new("the test thread panicked") as _),
            String::new(),
        ),
        Err(e) => return Verdict::Failed(format!("could not start a thread for the test: {e}\n")),
    };
    match (result, case.should_panic) {
        (Ok(()), None) => Verdict::Ok,
        (Err(_), None) => Verdict::Failed(output),
        (Ok(()), Some(_)) => {
            Verdict::Failed(format!("{output}note: test did not panic as expected\n"))
        }
        (Err(_), Some(None)) => Verdict::Ok,
        (Err(payload), Some(Some(expected))) => {
            let message = panic_message(&*payload);
            if message.contains(expected) {
                Verdict::Ok
            } else {
                Verdict::Failed(format!(
                    "{output}note: panic did not contain expected string\n      \
                     panic message: {message:?}\n expected substring: {expected:?}\n"
                ))
            }
        }
    }
}

thread_local! {
    /// The panic messages of the test running on this thread, kept for the
    /// failures section; `None` when panics print as they happen.
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Routes the panics of test threads that capture to their buffer, and
/// every other panic to the hook that was installed before.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let captured = CAPTURED.with(|c| {
                let mut c = c.borrow_mut();
                let Some(buffer) = c.as_mut() else {
                    return false;
                };
                let thread = thread::current();
                let name = thread.name().unwrap_or("<unnamed>");
                let message = panic_message(info.payload());
                match info.location() {
                    Some(at) => buffer
                        .push_str(&format!("\nthread '{name}' panicked at {at}:\n{message}\n")),
                    None => buffer.push_str(&format!("\nthread '{name}' panicked:\n{message}\n")),
                }
                true
            });
            if !captured {
                previous(info);
            }
        }));
    });
}

/// Defines `main` for a test target built with `harness = false`, running
/// its `#[knot::test]`s through [`harness::main`](crate::harness::main): as
/// libtest would, then failing the suite if live tasks are left alive.
///
/// ```no_run
/// knot::test_main!();
///
/// #[knot::test]
/// fn nothing_leaks() {
///     knot::spawn(|| ()).join().unwrap();
/// }
/// ```
#[macro_export]
macro_rules! test_main {
    () => {
        fn main() {
            ::knot::harness::main()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, ArgError> {
        match Options::parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(options) => Ok(options),
            Command::Help => panic!("unexpected help"),
        }
    }

    fn case(path: &'static str) -> TestCase {
        TestCase::new(path, || {})
    }

    #[test]
    fn names_drop_the_crate() {
        assert_eq!(case("suite::counter").name(), "counter");
        assert_eq!(
            case("my_crate::tests::deep::counter").name(),
            "tests::deep::counter"
        );
        assert_eq!(case("bare").name(), "bare");
    }

    #[test]
    fn libtest_options_are_understood() {
        let o = parse(&[
            "foo",
            "--exact",
            "--skip",
            "bar",
            "--skip=baz",
            "--nocapture",
        ])
        .unwrap();
        assert_eq!(o.filters, ["foo"]);
        assert_eq!(o.skip, ["bar", "baz"]);
        assert!(o.exact && o.nocapture && !o.list);

        let o = parse(&["--list", "--format", "terse", "--ignored"]).unwrap();
        assert!(o.list);
        assert_eq!(o.format, Format::Terse);
        assert_eq!(o.ignored, RunIgnored::Only);

        let o = parse(&[
            "--include-ignored",
            "--test-threads=4",
            "--color",
            "never",
            "-q",
        ])
        .unwrap();
        assert_eq!(o.ignored, RunIgnored::Include);
        assert_eq!(o.format, Format::Terse);

        let o = parse(&["--", "--exact"]).unwrap();
        assert_eq!(o.filters, ["--exact"]);
        assert!(!o.exact);
    }

    #[test]
    fn bad_options_are_named() {
        let e = parse(&["--bogus"]).unwrap_err();
        assert_eq!(e.to_string(), "Unrecognized option: 'bogus'");
        let e = parse(&["--frobnicate=3"]).unwrap_err();
        assert_eq!(e.to_string(), "Unrecognized option: 'frobnicate'");
        let e = parse(&["--test-threads", "zero"]).unwrap_err();
        assert!(e.to_string().contains("--test-threads"), "{e}");
        let e = parse(&["--format", "json"]).unwrap_err();
        assert!(e.to_string().contains("--format"), "{e}");
        let e = parse(&["--skip"]).unwrap_err();
        assert!(e.to_string().contains("'skip'"), "{e}");
        let e = parse(&["--exact=yes"]).unwrap_err();
        assert!(e.to_string().contains("'exact'"), "{e}");
    }

    #[test]
    fn selection_follows_filters_skip_and_ignore() {
        let plain = case("c::alpha::one");
        let ignored = case("c::alpha::two").ignore();
        let o = parse(&["alpha"]).unwrap();
        assert!(o.selects(&plain) && o.selects(&ignored));
        assert!(o.runs(&plain) && !o.runs(&ignored));

        let o = parse(&["alpha::one", "--exact"]).unwrap();
        assert!(o.selects(&plain) && !o.selects(&ignored));
        let o = parse(&["one", "--exact"]).unwrap();
        assert!(!o.selects(&plain));

        let o = parse(&["--ignored"]).unwrap();
        assert!(!o.selects(&plain) && o.selects(&ignored) && o.runs(&ignored));

        let o = parse(&["--skip", "two"]).unwrap();
        assert!(o.selects(&plain) && !o.selects(&ignored));
    }

    #[test]
    fn verdicts_follow_should_panic() {
        static PASSES: TestCase = TestCase::new("c::passes", || {});
        static PANICS: TestCase = TestCase::new("c::panics", || panic!("boom")).should_panic();
        static WRONG: TestCase =
            TestCase::new("c::wrong", || panic!("boom")).should_panic_with("bang");
        static RIGHT: TestCase =
            TestCase::new("c::right", || panic!("big boom")).should_panic_with("boom");
        static MISSING: TestCase = TestCase::new("c::missing", || {}).should_panic();
        install_panic_hook();
        assert!(matches!(run_one(&PASSES, false), Verdict::Ok));
        assert!(matches!(run_one(&PANICS, false), Verdict::Ok));
        assert!(matches!(run_one(&RIGHT, false), Verdict::Ok));
        match run_one(&WRONG, false) {
            Verdict::Failed(out) => {
                assert!(out.contains("thread 'wrong' panicked at"), "{out}");
                assert!(out.contains("expected substring: \"bang\""), "{out}");
            }
            _ => panic!("a panic without the expected text fails"),
        }
        match run_one(&MISSING, false) {
            Verdict::Failed(out) => assert!(out.contains("did not panic"), "{out}"),
            _ => panic!("a should-panic test that returns fails"),
        }
    }
}
