//! The knot tour: `cargo run -p knot-examples`.
//!
//! Runs each example's buggy version under the checker and prints the report
//! knot makes, checks that the fixed version gets through the same schedules
//! without one, then runs the services and fan_out examples live. It exits
//! with a non-zero status if any example does not behave as documented.
//!
//! `cargo run -p knot-examples -- abba lost_update` runs only the examples
//! named. The `KNOT_*` environment variables apply, as in any check; with
//! `KNOT_REPLAY` set, name the one example whose schedule it is, and the
//! tour replays that execution of its buggy version.

use std::process::ExitCode;
use std::time::Instant;

use knot::{Checker, Outcome, ReportKind};
use knot_examples::{classic_leak, fan_out, services, Example, EXAMPLES, ITERATIONS, SEED};

/// The width of the rule lines around each report.
const WIDTH: usize = 78;

fn main() -> ExitCode {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let mut chosen: Vec<&Example> = Vec::new();
    for name in &names {
        match knot_examples::example(name) {
            Some(example) => chosen.push(example),
            None => {
                let known: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
                eprintln!(
                    "tour: there is no example `{name}`; the examples are: {}",
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    let everything = chosen.is_empty();
    if everything {
        chosen = EXAMPLES.iter().collect();
    }
    let replay = std::env::var("KNOT_REPLAY").is_ok_and(|v| !v.trim().is_empty());
    if replay && chosen.len() != 1 {
        eprintln!(
            "tour: KNOT_REPLAY is set, and a schedule replays one program: name its example, \
             as in `cargo run -p knot-examples -- abba`"
        );
        return ExitCode::from(2);
    }

    let started = Instant::now();
    println!("knot tour: classic concurrency bugs, written with knot, caught by its checker");
    println!(
        "Each buggy program runs under knot::Checker::new().iterations({ITERATIONS}).seed({SEED}) \
         until\nan execution fails; the fixed version then runs through the same schedules."
    );
    let overrides: Vec<String> = std::env::vars()
        .filter(|(name, value)| name.starts_with("KNOT_") && !value.trim().is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if !overrides.is_empty() {
        println!("Overridden from the environment: {}.", overrides.join(" "));
    }

    let mut failures: Vec<String> = Vec::new();
    for (i, example) in chosen.iter().enumerate() {
        println!();
        println!(
            "{}",
            rule(&format!("{}/{} {}", i + 1, chosen.len(), example.name), '=')
        );
        println!("{}", example.about);
        println!();
        if let Err(problem) = show_buggy(example) {
            println!("!! {problem}");
            failures.push(format!("{}: {problem}", example.name));
        }
        if replay {
            println!("(KNOT_REPLAY is set: the fixed version is not run)");
            continue;
        }
        match check(example, "fixed", example.fixed) {
            Ok(Outcome {
                report: None,
                executions,
                ..
            }) => println!(
                "fixed version: no report in {}",
                count_executions(executions)
            ),
            Ok(Outcome {
                report: Some(report),
                ..
            }) => {
                let problem = "the fixed version was reported".to_string();
                println!("!! {problem}:\n{report}");
                failures.push(format!("{}: {problem}", example.name));
            }
            Err(e) => {
                println!("!! the fixed version could not be checked: {e}");
                failures.push(format!("{}: {e}", example.name));
            }
        }
    }

    if everything && !replay {
        println!();
        println!("{}", rule("services, live", '='));
        println!(
            "The fixed services program again, outside the checker: tasks on the runtime's\n\
             worker threads, and each service sleeps {} ms before it answers.",
            services::LATENCY.as_millis()
        );
        let elapsed = services::run_live();
        println!(
            "three services answered in {} ms: concurrently (one after another takes {} ms)",
            elapsed.as_millis(),
            3 * services::LATENCY.as_millis()
        );

        println!();
        println!("{}", rule("fan_out, live", '='));
        let latencies: Vec<String> = fan_out::SERVICES
            .iter()
            .map(|(name, latency)| format!("{name} {} ms", latency.as_millis()))
            .collect();
        println!(
            "The fixed fan_out program again, outside the checker: the services take\n\
             {}, and the page waits at most {} ms.",
            latencies.join(", "),
            fan_out::DEADLINE.as_millis()
        );
        let (page, elapsed) = fan_out::run_live();
        let (answered, missed): (Vec<&str>, Vec<&str>) = fan_out::SERVICES
            .iter()
            .map(|(name, _)| *name)
            .partition(|name| page.iter().any(|answer| answer.starts_with(name)));
        println!(
            "the page got {} in {} ms; {} gave up at the deadline, and main joined all three",
            list(&answered, "no answer"),
            elapsed.as_millis(),
            list(&missed, "no service")
        );
    }

    if everything && !replay {
        println!();
        println!("{}", rule("classic_leak, live", '='));
        println!(
            "The classic_leak programs again, outside the checker, each followed by knot's\n\
             live leak check (knot::runtime::wait_for_leaks, like Go's goleak), which lists\n\
             the tasks still alive {} ms after main returned and what each waits for.",
            classic_leak::LEAK_GRACE.as_millis()
        );
        let (after_fix, after_bug) = classic_leak::run_live();
        println!("fixed version: {} task(s) left behind", after_fix.len());
        print!(
            "{}",
            knot::runtime::describe_leaks(&after_bug, "after the buggy main returned")
        );
        let mailer_blocked = after_bug
            .iter()
            .any(|t| t.name == "mailer" && t.blocked.is_some_and(|b| b.op.name() == "recv"));
        if !after_fix.is_empty() || after_bug.len() != 1 || !mailer_blocked {
            failures.push(String::from(
                "classic_leak, live: the leak check did not list exactly the blocked mailer",
            ));
        }
    }

    println!();
    println!("{}", rule("summary", '='));
    let seconds = started.elapsed().as_secs_f64();
    if failures.is_empty() {
        println!(
            "{} of {} examples behaved as documented ({seconds:.1} s).",
            chosen.len(),
            chosen.len()
        );
        println!("Read the code: examples/src/<name>.rs; the tests: examples/tests/examples.rs.");
        ExitCode::SUCCESS
    } else {
        println!(
            "{} of {} examples did NOT behave as documented:",
            failures.len(),
            chosen.len()
        );
        for failure in &failures {
            println!("  {failure}");
        }
        ExitCode::FAILURE
    }
}

/// Checks the buggy version, prints its report between rules, and says
/// whether it is the report the example documents.
fn show_buggy(example: &Example) -> Result<(), String> {
    let outcome = check(example, "buggy", example.buggy)
        .map_err(|e| format!("the buggy version could not be checked: {e}"))?;
    let Some(report) = outcome.report else {
        return Err(format!(
            "no report in {}: expected {} report",
            count_executions(outcome.executions),
            a(example.expected)
        ));
    };
    println!(
        "buggy version: knot found {} in execution {} (of at most {ITERATIONS})",
        a(report.kind()),
        outcome.executions
    );
    println!("{}", rule("", '-'));
    println!("{report}");
    println!("{}", rule("", '-'));
    if report.kind() == example.expected {
        Ok(())
    } else {
        Err(format!(
            "expected {} report, got {}",
            a(example.expected),
            a(report.kind())
        ))
    }
}

/// Runs `program` under the checker the way the tour and the tests do.
///
/// The check is named after the test in `examples/tests/examples.rs` that
/// checks the same version (such as `abba::buggy`), so the replay line of a
/// report runs that test.
fn check(example: &Example, version: &str, program: fn()) -> Result<Outcome, knot::Error> {
    Checker::new()
        .iterations(ITERATIONS)
        .seed(SEED)
        .name(format!("{}::{version}", example.name))
        .try_run(program)
}

/// A line of `fill` characters with `title` in it.
fn rule(title: &str, fill: char) -> String {
    if title.is_empty() {
        return std::iter::repeat(fill).take(WIDTH).collect();
    }
    let head: String = std::iter::repeat(fill).take(3).collect();
    let used = title.chars().count() + 5;
    let tail: String = std::iter::repeat(fill)
        .take(WIDTH.saturating_sub(used))
        .collect();
    format!("{head} {title} {tail}")
}

/// The kind with its indefinite article: "a deadlock", "an unjoined task".
fn a(kind: ReportKind) -> String {
    let kind = kind.to_string();
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}

/// "a", "a and b", "a, b and c"; `none` if `names` is empty.
fn list(names: &[&str], none: &str) -> String {
    match names {
        [] => none.to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "1 execution", "1000 executions".
fn count_executions(n: u64) -> String {
    if n == 1 {
        String::from("1 execution")
    } else {
        format!("{n} executions")
    }
}
